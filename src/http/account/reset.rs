//! `/reset` (a forgotten password: a link by e-mail), `/reset/login` (a forgotten login), and
//! `/account/password` (changing one's password). Each translates: the services in
//! `service::reset` and `service::account` decide.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::{Deserialize, Serialize};

use super::through_login;
use super::views::{PasswordRules, render_with_csrf};
use crate::domain::password_policy::Violation;
use crate::domain::self_service::SelfService;
use crate::http::error::{OrPage, PageError};
use crate::http::extract::{CsrfForm, CurrentSession, PageLocale};
use crate::http::i18n::Locale;
use crate::http::state::AppState;
use crate::http::{ClientIp, cookie, see_other, session_cookie_name};
use crate::service::account::{self, PasswordChange};
use crate::service::reset::{self, Completed};
use crate::service::session::Lookup;

/// The request form, or (`sent`) the answer that is the same for every identifier.
fn request_page(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    template: &str,
    sent: bool,
) -> Response {
    #[derive(Serialize)]
    struct Page {
        sent: bool,
    }
    render_with_csrf(state, jar, locale, template, Page { sent })
}

/// `GET /reset`.
pub async fn reset_get(
    State(state): State<AppState>,
    jar: CookieJar,
    PageLocale(locale): PageLocale,
) -> Response {
    request_page(&state, jar, locale, "account/reset.html", false)
}

/// `POST /reset`: `username` (a login or an e-mail address). The answer does not depend on it.
pub async fn reset_post(
    State(state): State<AppState>,
    jar: CookieJar,
    ip: ClientIp,
    PageLocale(locale): PageLocale,
    CsrfForm(form): CsrfForm,
) -> Response {
    let identifier = form.get("username").unwrap_or("").trim();
    if !identifier.is_empty() && identifier.len() <= 320 {
        reset::request_in_background(
            state.core.clone(),
            identifier.to_owned(),
            locale.tag().to_owned(),
            ip.0,
        );
    }
    request_page(&state, jar, locale, "account/reset.html", true)
}

/// `GET /reset/login`.
pub async fn forgot_login_get(
    State(state): State<AppState>,
    jar: CookieJar,
    PageLocale(locale): PageLocale,
) -> Response {
    request_page(&state, jar, locale, "account/forgot_login.html", false)
}

/// `POST /reset/login`: `email`; the login goes to that address if it is an account's.
pub async fn forgot_login_post(
    State(state): State<AppState>,
    jar: CookieJar,
    ip: ClientIp,
    PageLocale(locale): PageLocale,
    CsrfForm(form): CsrfForm,
) -> Response {
    let address = form.get("email").unwrap_or("").trim();
    if address.contains('@') && address.len() <= 320 {
        reset::forgot_login_in_background(
            state.core.clone(),
            address.to_owned(),
            locale.tag().to_owned(),
            ip.0,
        );
    }
    request_page(&state, jar, locale, "account/forgot_login.html", true)
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

/// The new-password form of a reset link.
#[derive(Serialize)]
struct NewPasswordPage<'a> {
    token: &'a str,
    login: &'a str,
    notice: Option<&'static str>,
    violation_keys: Vec<&'static str>,
    rules: PasswordRules,
}

fn new_password_page(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    token: &str,
    login: &str,
    notice: Option<&'static str>,
    violations: &[Violation],
) -> Response {
    render_with_csrf(
        state,
        jar,
        locale,
        "account/reset_new.html",
        NewPasswordPage {
            token,
            login,
            notice,
            violation_keys: violations.iter().map(|v| v.key()).collect(),
            rules: PasswordRules::of(&state.core.policy.password),
        },
    )
}

fn invalid_link(locale: Locale) -> PageError {
    PageError::new(StatusCode::BAD_REQUEST, "reset_link_invalid", locale)
}

/// `GET /reset/confirm?token=…`: the form, if the link is still good (it is not used yet).
pub async fn confirm_get(
    State(state): State<AppState>,
    jar: CookieJar,
    PageLocale(locale): PageLocale,
    Query(q): Query<TokenQuery>,
) -> Result<Response, PageError> {
    let core = &state.core;
    let token = q.token.unwrap_or_default();
    let user = reset::check(core, &token, core.now())
        .await
        .page(locale)?
        .ok_or_else(|| invalid_link(locale))?;
    Ok(new_password_page(
        &state,
        jar,
        locale,
        &token,
        &user.login,
        None,
        &[],
    ))
}

/// `POST /reset/confirm`: `token`, `new_password`, `confirm_password`.
pub async fn confirm_post(
    State(state): State<AppState>,
    jar: CookieJar,
    ip: ClientIp,
    PageLocale(locale): PageLocale,
    CsrfForm(form): CsrfForm,
) -> Result<Response, PageError> {
    let core = &state.core;
    let now = core.now();
    let token = form.get("token").unwrap_or("");
    let new = form.get("new_password").unwrap_or("").to_owned();
    let confirm = form.get("confirm_password").unwrap_or("");
    let outcome = reset::complete(core, token, new, confirm, locale.tag(), ip.0, now)
        .await
        .page(locale)?;
    let (notice, violations) = match outcome {
        Completed::Done { login } => {
            #[derive(Serialize)]
            struct Done<'a> {
                login: &'a str,
            }
            return Ok(state.pages.render(
                locale,
                "account/reset_done.html",
                &Done { login: &login },
            ));
        }
        Completed::Invalid => return Err(invalid_link(locale)),
        Completed::Mismatch => ("pw_mismatch", Vec::new()),
        Completed::Refused(v) => ("pw_refused", v),
    };
    let login = reset::check(core, token, now)
        .await
        .page(locale)?
        .map(|u| u.login)
        .unwrap_or_default();
    Ok(new_password_page(
        &state,
        jar,
        locale,
        token,
        &login,
        Some(notice),
        &violations,
    ))
}

/// The change-password form of the account page.
fn change_page(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    notice: Option<&'static str>,
    violations: &[Violation],
) -> Response {
    #[derive(Serialize)]
    struct Page {
        notice: Option<&'static str>,
        violation_keys: Vec<&'static str>,
        rules: PasswordRules,
    }
    render_with_csrf(
        state,
        jar,
        locale,
        "account/change_password.html",
        Page {
            notice,
            violation_keys: violations.iter().map(|v| v.key()).collect(),
            rules: PasswordRules::of(&state.core.policy.password),
        },
    )
}

/// `GET /account/password`.
pub async fn change_get(
    State(state): State<AppState>,
    jar: CookieJar,
    current: CurrentSession,
    PageLocale(locale): PageLocale,
) -> Response {
    match current.lookup {
        Lookup::Valid(c) if !may_change(&state, &c.user) => denied(locale).into_response(),
        Lookup::Valid(_) => change_page(&state, jar, locale, None, &[]),
        other => through_login(&state, jar, &other),
    }
}

/// Whether the user's category may change its password here (`GUICHET_SELF_SERVICE_DENIED`).
fn may_change(state: &AppState, user: &crate::domain::user::User) -> bool {
    state
        .core
        .policy
        .self_service
        .allows(user.category.as_deref(), SelfService::ChangePassword)
}

/// The help desk instead of a flow the user's category may not use.
fn denied(locale: Locale) -> PageError {
    PageError::new(StatusCode::FORBIDDEN, "self_service_denied", locale)
}

/// `POST /account/password`: `password` (the current one), `new_password`, `confirm_password`.
pub async fn change_post(
    State(state): State<AppState>,
    jar: CookieJar,
    ip: ClientIp,
    current: CurrentSession,
    PageLocale(locale): PageLocale,
    CsrfForm(form): CsrfForm,
) -> Result<Response, PageError> {
    let current = match current.lookup {
        Lookup::Valid(c) => *c,
        other => return Ok(through_login(&state, jar, &other)),
    };
    if !may_change(&state, &current.user) {
        return Err(denied(locale));
    }
    let core = &state.core;
    let outcome = account::change_password(
        core,
        &current,
        form.get("password").unwrap_or("").to_owned(),
        form.get("new_password").unwrap_or("").to_owned(),
        form.get("confirm_password").unwrap_or(""),
        locale.tag(),
        ip.0,
        core.now(),
    )
    .await
    .page(locale)?;
    let (notice, violations) = match outcome {
        PasswordChange::Done { cookie: value } => {
            let jar = jar.add(cookie(&state, session_cookie_name(&state), value));
            return Ok((
                jar,
                see_other(&format!("{}/account?changed=password", core.urls.base_path)),
            )
                .into_response());
        }
        PasswordChange::WrongCurrent => ("account_wrong_password", Vec::new()),
        PasswordChange::Locked(_) => ("login_locked", Vec::new()),
        PasswordChange::Mismatch => ("pw_mismatch", Vec::new()),
        PasswordChange::Refused(v) => ("pw_refused", v),
    };
    Ok(change_page(&state, jar, locale, Some(notice), &violations))
}
