//! The sign-in pages, rendered for whichever area needs them: a protocol that needs a sign-in
//! or a consent renders these, and only these, of the account area.

use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Serialize;

use crate::domain::password_policy::{PasswordPolicy, Violation};
use crate::domain::scope::{OIDC_SCOPES, Scopes};
use crate::http::csrf_token;
use crate::http::i18n::Locale;
use crate::http::state::AppState;
use crate::service::mfa::TotpSetup;

/// The password step's page.
#[derive(Serialize)]
pub struct LoginView<'a> {
    /// The flow: a sealed first step, or a stored flow's id.
    pub flow: &'a str,
    pub client_name: Option<&'a str>,
    /// The identifier to show again (a failed attempt, a `login_hint`).
    pub username: &'a str,
    /// A strings-table key: why the form is shown again.
    pub notice: Option<&'static str>,
}

#[derive(Serialize)]
struct WithCsrf<'a, T: Serialize> {
    csrf: &'a str,
    #[serde(flatten)]
    page: T,
}

pub fn login_page(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    view: LoginView<'_>,
) -> Response {
    let (jar, csrf) = csrf_token(state, jar);
    // An identifier too long to be one is not echoed back.
    let view = LoginView {
        username: if view.username.len() > 256 {
            ""
        } else {
            view.username
        },
        ..view
    };
    let page = WithCsrf {
        csrf: &csrf,
        page: view,
    };
    (jar, state.pages.render(locale, "account/login.html", &page)).into_response()
}

/// The consent page of an OpenID Connect request.
pub struct ConsentView<'a> {
    /// The request, urlencoded, carried on by the form.
    pub request: &'a str,
    /// Binds the answer to this session, this request and this time.
    pub binding: &'a str,
    pub client_name: &'a str,
    pub scopes: &'a Scopes,
}

pub fn consent_page(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    view: ConsentView<'_>,
) -> Response {
    #[derive(Serialize)]
    struct ScopeLine<'a> {
        name: &'a str,
        key: String,
        known: bool,
    }
    #[derive(Serialize)]
    struct ConsentPage<'a> {
        request: &'a str,
        binding: &'a str,
        client_name: &'a str,
        scopes: Vec<ScopeLine<'a>>,
    }
    let (jar, csrf) = csrf_token(state, jar);
    let scopes = view
        .scopes
        .iter()
        .map(|s| ScopeLine {
            name: s,
            key: format!("scope_{s}"),
            known: OIDC_SCOPES.contains(&s),
        })
        .collect();
    let page = WithCsrf {
        csrf: &csrf,
        page: ConsentPage {
            request: view.request,
            binding: view.binding,
            client_name: view.client_name,
            scopes,
        },
    };
    (
        jar,
        state.pages.render(locale, "account/consent.html", &page),
    )
        .into_response()
}

/// Who is signed in, with a sign-out button.
pub fn signed_in_page(state: &AppState, jar: CookieJar, locale: Locale, login: &str) -> Response {
    #[derive(Serialize)]
    struct SignedIn<'a> {
        login: &'a str,
    }
    let (jar, csrf) = csrf_token(state, jar);
    let page = WithCsrf {
        csrf: &csrf,
        page: SignedIn { login },
    };
    (
        jar,
        state.pages.render(locale, "account/signed_in.html", &page),
    )
        .into_response()
}

/// The second-factor step's page.
#[derive(Serialize)]
pub struct SecondFactorView<'a> {
    pub flow: &'a str,
    pub client_name: Option<&'a str>,
    pub notice: Option<&'static str>,
    /// An authenticator app is enrolled.
    pub totp: bool,
    /// The enrolled number, masked.
    pub sms: Option<&'a str>,
    pub sms_sent: bool,
}

pub fn second_factor_page(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    view: SecondFactorView<'_>,
) -> Response {
    render_with_csrf(state, jar, locale, "account/second_factor.html", view)
}

/// A TOTP enrolment as a page shows it: the QR code, the secret, the URI and the sealed
/// pending secret for the form.
#[derive(Serialize)]
pub struct TotpView<'a> {
    pub enrolment: &'a str,
    pub secret: &'a str,
    pub uri: &'a str,
    pub qr_svg: &'a str,
}

impl<'a> From<&'a TotpSetup> for TotpView<'a> {
    fn from(s: &'a TotpSetup) -> TotpView<'a> {
        TotpView {
            enrolment: &s.enrolment,
            secret: &s.secret,
            uri: &s.uri,
            qr_svg: &s.qr_svg,
        }
    }
}

/// The forced enrolment step: a user who must have a second factor enrols an app.
pub fn enrol_step_page(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    flow: &str,
    client_name: Option<&str>,
    notice: Option<&'static str>,
    setup: &TotpSetup,
) -> Response {
    #[derive(Serialize)]
    struct Page<'a> {
        flow: &'a str,
        client_name: Option<&'a str>,
        notice: Option<&'static str>,
        totp: TotpView<'a>,
    }
    render_with_csrf(
        state,
        jar,
        locale,
        "account/enrol_step.html",
        Page {
            flow,
            client_name,
            notice,
            totp: setup.into(),
        },
    )
}

/// The recovery codes of a factor just enrolled during sign-in, shown once.
pub fn recovery_codes_step_page(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    flow: &str,
    client_name: Option<&str>,
    codes: &[String],
) -> Response {
    #[derive(Serialize)]
    struct Page<'a> {
        flow: &'a str,
        client_name: Option<&'a str>,
        codes: &'a [String],
    }
    render_with_csrf(
        state,
        jar,
        locale,
        "account/recovery_codes_step.html",
        Page {
            flow,
            client_name,
            codes,
        },
    )
}

/// Renders `template` with `page` and a fresh CSRF token.
pub fn render_with_csrf<T: Serialize>(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    template: &str,
    page: T,
) -> Response {
    let (jar, csrf) = csrf_token(state, jar);
    let page = WithCsrf { csrf: &csrf, page };
    (jar, state.pages.render(locale, template, &page)).into_response()
}

/// The password rules a page lists before the person types (and names after a refusal).
#[derive(Serialize)]
pub struct PasswordRules {
    pub min_length: usize,
    pub history: usize,
}

impl PasswordRules {
    pub fn of(policy: &PasswordPolicy) -> PasswordRules {
        PasswordRules {
            min_length: policy.min_length,
            history: policy.history,
        }
    }
}

/// The step that replaces a temporary password.
#[derive(Serialize)]
pub struct NewPasswordView<'a> {
    pub flow: &'a str,
    pub client_name: Option<&'a str>,
    pub notice: Option<&'static str>,
    pub violations: &'a [Violation],
    pub rules: PasswordRules,
}

pub fn new_password_step_page(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    view: NewPasswordView<'_>,
) -> Response {
    #[derive(Serialize)]
    struct Page<'a> {
        #[serde(flatten)]
        view: NewPasswordView<'a>,
        violation_keys: Vec<&'static str>,
    }
    let violation_keys = view.violations.iter().map(|v| v.key()).collect();
    render_with_csrf(
        state,
        jar,
        locale,
        "account/new_password.html",
        Page {
            view,
            violation_keys,
        },
    )
}
