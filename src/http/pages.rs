//! Server-rendered pages: tera templates compiled into the binary, one typed context per page.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;
use tera::{Context, Tera};

use super::i18n::{Locale, table};
use crate::domain::theme::Theme;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    (
        "theme_helpdesk.html",
        include_str!("../../templates/theme_helpdesk.html"),
    ),
    (
        "account/login.html",
        include_str!("../../templates/account/login.html"),
    ),
    (
        "account/consent.html",
        include_str!("../../templates/account/consent.html"),
    ),
    (
        "oidc/form_post.html",
        include_str!("../../templates/oidc/form_post.html"),
    ),
    (
        "cas/warn.html",
        include_str!("../../templates/cas/warn.html"),
    ),
    (
        "oidc/logout.html",
        include_str!("../../templates/oidc/logout.html"),
    ),
    (
        "oidc/logged_out.html",
        include_str!("../../templates/oidc/logged_out.html"),
    ),
    (
        "account/signed_in.html",
        include_str!("../../templates/account/signed_in.html"),
    ),
    (
        "account/second_factor.html",
        include_str!("../../templates/account/second_factor.html"),
    ),
    (
        "account/totp_setup.html",
        include_str!("../../templates/account/totp_setup.html"),
    ),
    (
        "account/enrol_step.html",
        include_str!("../../templates/account/enrol_step.html"),
    ),
    (
        "account/recovery_list.html",
        include_str!("../../templates/account/recovery_list.html"),
    ),
    (
        "account/recovery_codes_step.html",
        include_str!("../../templates/account/recovery_codes_step.html"),
    ),
    (
        "account/home.html",
        include_str!("../../templates/account/home.html"),
    ),
    (
        "account/totp.html",
        include_str!("../../templates/account/totp.html"),
    ),
    (
        "account/sms.html",
        include_str!("../../templates/account/sms.html"),
    ),
    (
        "account/codes.html",
        include_str!("../../templates/account/codes.html"),
    ),
    (
        "account/new_password.html",
        include_str!("../../templates/account/new_password.html"),
    ),
    (
        "account/password_rules.html",
        include_str!("../../templates/account/password_rules.html"),
    ),
    (
        "account/reset.html",
        include_str!("../../templates/account/reset.html"),
    ),
    (
        "account/forgot_login.html",
        include_str!("../../templates/account/forgot_login.html"),
    ),
    (
        "account/reset_new.html",
        include_str!("../../templates/account/reset_new.html"),
    ),
    (
        "account/reset_done.html",
        include_str!("../../templates/account/reset_done.html"),
    ),
    (
        "account/change_password.html",
        include_str!("../../templates/account/change_password.html"),
    ),
    (
        "account/activate_base.html",
        include_str!("../../templates/account/activate_base.html"),
    ),
    (
        "account/activate_identifier.html",
        include_str!("../../templates/account/activate_identifier.html"),
    ),
    (
        "account/activate_password.html",
        include_str!("../../templates/account/activate_password.html"),
    ),
    (
        "account/activate_backup.html",
        include_str!("../../templates/account/activate_backup.html"),
    ),
    (
        "account/activate_mailed.html",
        include_str!("../../templates/account/activate_mailed.html"),
    ),
    (
        "account/activate_charter.html",
        include_str!("../../templates/account/activate_charter.html"),
    ),
    (
        "account/activate_redirect.html",
        include_str!("../../templates/account/activate_redirect.html"),
    ),
    (
        "account/activate_new_password.html",
        include_str!("../../templates/account/activate_new_password.html"),
    ),
    (
        "account/activate_done.html",
        include_str!("../../templates/account/activate_done.html"),
    ),
    (
        "account/activate_denied.html",
        include_str!("../../templates/account/activate_denied.html"),
    ),
    (
        "account/recover_progress.html",
        include_str!("../../templates/account/recover_progress.html"),
    ),
    (
        "account/recover_details.html",
        include_str!("../../templates/account/recover_details.html"),
    ),
    (
        "account/recover_question.html",
        include_str!("../../templates/account/recover_question.html"),
    ),
    (
        "account/recover_password.html",
        include_str!("../../templates/account/recover_password.html"),
    ),
    (
        "account/recover_done.html",
        include_str!("../../templates/account/recover_done.html"),
    ),
    (
        "account/invitation.html",
        include_str!("../../templates/account/invitation.html"),
    ),
    (
        "account/invitation_done.html",
        include_str!("../../templates/account/invitation_done.html"),
    ),
    (
        "account/security_question.html",
        include_str!("../../templates/account/security_question.html"),
    ),
    (
        "admin/base.html",
        include_str!("../../templates/admin/base.html"),
    ),
    (
        "admin/pager.html",
        include_str!("../../templates/admin/pager.html"),
    ),
    (
        "admin/home.html",
        include_str!("../../templates/admin/home.html"),
    ),
    (
        "admin/invalid.html",
        include_str!("../../templates/admin/invalid.html"),
    ),
    (
        "admin/users.html",
        include_str!("../../templates/admin/users.html"),
    ),
    (
        "admin/user.html",
        include_str!("../../templates/admin/user.html"),
    ),
    (
        "admin/user_new.html",
        include_str!("../../templates/admin/user_new.html"),
    ),
    (
        "admin/user_delete.html",
        include_str!("../../templates/admin/user_delete.html"),
    ),
    (
        "admin/establishments.html",
        include_str!("../../templates/admin/establishments.html"),
    ),
    (
        "admin/establishment_new.html",
        include_str!("../../templates/admin/establishment_new.html"),
    ),
    (
        "admin/establishment.html",
        include_str!("../../templates/admin/establishment.html"),
    ),
    (
        "admin/administrators.html",
        include_str!("../../templates/admin/administrators.html"),
    ),
    (
        "admin/invitations.html",
        include_str!("../../templates/admin/invitations.html"),
    ),
    (
        "admin/clients.html",
        include_str!("../../templates/admin/clients.html"),
    ),
    (
        "admin/client.html",
        include_str!("../../templates/admin/client.html"),
    ),
    (
        "admin/client_secret.html",
        include_str!("../../templates/admin/client_secret.html"),
    ),
    (
        "admin/services.html",
        include_str!("../../templates/admin/services.html"),
    ),
    (
        "admin/service_fields.html",
        include_str!("../../templates/admin/service_fields.html"),
    ),
    (
        "admin/service.html",
        include_str!("../../templates/admin/service.html"),
    ),
    (
        "admin/audit.html",
        include_str!("../../templates/admin/audit.html"),
    ),
    (
        "errors/error.html",
        include_str!("../../templates/errors/error.html"),
    ),
];

pub const STYLE_CSS: &str = include_str!("../../static/style.css");

pub struct Pages {
    tera: Tera,
    fr: tera::Value,
    en: tera::Value,
    /// Prefix of every route (the issuer's path), for links and form actions.
    base: String,
    /// The institution's name, logo, help desk and footer links, on every page.
    pub theme: Theme,
}

impl Pages {
    pub fn new(base: &str, theme: Theme) -> Result<Pages, tera::Error> {
        let mut tera = Tera::default();
        tera.add_raw_templates(TEMPLATES.iter().copied())?;
        tera.autoescape_on(vec![".html"]);
        Ok(Pages {
            tera,
            fr: table(Locale::Fr),
            en: table(Locale::En),
            base: base.to_owned(),
            theme,
        })
    }

    /// Renders `template` with `page` as its context plus `t` (the strings), `lang`, `base`,
    /// `theme` and `theme_helpdesk` (the help-desk contact in the page's language).
    pub fn render<T: Serialize>(&self, locale: Locale, template: &str, page: &T) -> Response {
        self.render_status(StatusCode::OK, locale, template, page)
    }

    pub fn render_status<T: Serialize>(
        &self,
        status: StatusCode,
        locale: Locale,
        template: &str,
        page: &T,
    ) -> Response {
        let mut ctx = match Context::from_serialize(page) {
            Ok(c) => c,
            Err(e) => return render_failed(&e),
        };
        ctx.insert(
            "t",
            match locale {
                Locale::Fr => &self.fr,
                Locale::En => &self.en,
            },
        );
        ctx.insert("lang", locale.tag());
        ctx.insert("base", &self.base);
        ctx.insert("theme", &self.theme);
        ctx.insert("theme_helpdesk", self.theme.helpdesk(locale.tag()));
        match self.tera.render(template, &ctx) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => render_failed(&e),
        }
    }

    /// A 4xx/5xx page in the user's language: `message` is a key of the strings table.
    pub fn error(
        &self,
        status: StatusCode,
        locale: Locale,
        message: &str,
        reference: Option<&str>,
    ) -> Response {
        #[derive(Serialize)]
        struct ErrorPage<'a> {
            message: &'a str,
            reference: Option<&'a str>,
        }
        let mut r = self.render_status(
            status,
            locale,
            "errors/error.html",
            &ErrorPage { message, reference },
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        }
        r
    }
}

fn render_failed(e: &tera::Error) -> Response {
    let id = uuid::Uuid::new_v4();
    tracing::error!(error = ?e, %id, "template rendering failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("internal error {id}"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_and_the_error_page_renders_in_both_languages() {
        let pages = Pages::new("", Theme::default()).unwrap_or_else(|e| unreachable!("{e:?}"));
        for locale in [Locale::Fr, Locale::En] {
            let r = pages.error(StatusCode::BAD_REQUEST, locale, "err_unknown_client", None);
            assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        }
    }
}
