//! The account page (`/account`) and what it leads to: enrolling an authenticator app
//! (`/account/mfa/totp`) or a phone (`/account/mfa/sms`), removing a factor and getting new
//! recovery codes (both after typing the password again). A signed-out visitor is sent
//! through sign-in and comes back here.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Serialize;

use super::through_login;
use super::views::{TotpView, render_with_csrf};
use crate::domain::mfa::{FactorKind, mask_phone};
use crate::http::error::{OrPage, PageError};
use crate::http::extract::{CsrfForm, CurrentSession, PageLocale};
use crate::http::i18n::Locale;
use crate::http::state::AppState;
use crate::http::{ClientIp, see_other};
use crate::service::account::{self, Reauth};
use crate::service::mfa::{self, Enrolled, SmsSent};
use crate::service::session::{Current, Lookup};

fn to_account(state: &AppState) -> Response {
    see_other(&format!("{}/account", state.core.urls.base_path))
}

/// The signed-in person, or a redirect through sign-in back to the account page.
macro_rules! signed_in_or_return {
    ($state:expr, $jar:expr, $current:expr) => {
        match $current.lookup {
            Lookup::Valid(current) => ($jar, *current),
            other => return Ok(through_login($state, $jar, &other)),
        }
    };
}

#[derive(Serialize)]
struct FactorLine {
    kind: &'static str,
    phone: Option<String>,
    created_at: i64,
    last_used_at: Option<i64>,
}

#[derive(Serialize)]
struct SignInLine {
    at: i64,
    ip: Option<String>,
    client: Option<String>,
}

#[derive(Serialize)]
struct Identifier {
    kind: String,
    value: String,
}

/// The account page, with `notice` (a strings-table key) on top.
async fn home(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    current: &Current,
    notice: Option<&'static str>,
) -> Result<Response, PageError> {
    home_with(state, jar, locale, current, notice, None).await
}

/// The account page; `changed`: just after a change (`password`, `question`).
async fn home_with(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    current: &Current,
    notice: Option<&'static str>,
    changed: Option<&str>,
) -> Result<Response, PageError> {
    #[derive(Serialize)]
    struct Page<'a> {
        login: &'a str,
        name: Option<&'a str>,
        email: Option<&'a str>,
        identifiers: Vec<Identifier>,
        factors: Vec<FactorLine>,
        has_totp: bool,
        has_sms: bool,
        recovery_left: i64,
        recovery_created: Option<i64>,
        recent: Vec<SignInLine>,
        notice: Option<&'static str>,
        changed: bool,
        has_question: bool,
        question_saved: bool,
    }
    let user = &current.user;
    let summary = account::summary(&state.core, user).await.page(locale)?;
    let page = Page {
        login: &user.login,
        name: user.name.as_deref(),
        email: user.email.as_deref(),
        identifiers: summary
            .identifiers
            .into_iter()
            .filter(|(kind, value)| kind != "login" && Some(value) != user.email.as_ref())
            .map(|(kind, value)| Identifier { kind, value })
            .collect(),
        has_totp: summary.mfa.has(FactorKind::Totp),
        has_sms: summary.mfa.has(FactorKind::Sms),
        factors: summary
            .mfa
            .factors
            .iter()
            .map(|f| FactorLine {
                kind: f.kind.as_str(),
                phone: f.phone.as_deref().map(mask_phone),
                created_at: f.created_at,
                last_used_at: f.last_used_at,
            })
            .collect(),
        recovery_left: summary.mfa.recovery_left,
        recovery_created: summary.mfa.recovery_created,
        recent: summary
            .recent
            .into_iter()
            .map(|e| SignInLine {
                at: e.at,
                ip: e.ip,
                client: e.application,
            })
            .collect(),
        notice,
        changed: changed == Some("password"),
        has_question: crate::service::recovery::question_of(&state.core, &user.id)
            .await
            .page(locale)?
            .is_some(),
        question_saved: changed == Some("question"),
    };
    Ok(render_with_csrf(
        state,
        jar,
        locale,
        "account/home.html",
        page,
    ))
}

/// `GET /account`.
#[derive(serde::Deserialize)]
pub struct AccountQuery {
    changed: Option<String>,
}

pub async fn account_get(
    State(state): State<AppState>,
    jar: CookieJar,
    current: CurrentSession,
    PageLocale(locale): PageLocale,
    Query(q): Query<AccountQuery>,
) -> Result<Response, PageError> {
    let (jar, current) = signed_in_or_return!(&state, jar, current);
    home_with(&state, jar, locale, &current, None, q.changed.as_deref()).await
}

/// The TOTP enrolment page.
fn totp_page(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    setup: &mfa::TotpSetup,
    needs_password: bool,
    notice: Option<&'static str>,
) -> Response {
    #[derive(Serialize)]
    struct Page<'a> {
        totp: TotpView<'a>,
        needs_password: bool,
        notice: Option<&'static str>,
    }
    render_with_csrf(
        state,
        jar,
        locale,
        "account/totp.html",
        Page {
            totp: setup.into(),
            needs_password,
            notice,
        },
    )
}

/// Whether the user has a factor already (adding another then asks for the password: a
/// borrowed session must not add a way in), and whether one of `kind`.
async fn factors_held(
    state: &AppState,
    current: &Current,
    kind: FactorKind,
    locale: Locale,
) -> Result<(bool, bool), PageError> {
    let overview = mfa::overview(&state.core, &current.user.id)
        .await
        .page(locale)?;
    Ok((!overview.factors.is_empty(), overview.has(kind)))
}

/// The password typed again: `None` if right, else the notice to show.
async fn password_again(
    state: &AppState,
    current: &Current,
    ip: &ClientIp,
    form: &crate::http::extract::Form,
    locale: Locale,
) -> Result<Option<&'static str>, PageError> {
    let core = &state.core;
    let password = form.get("password").unwrap_or("").to_owned();
    Ok(
        match account::check_password(core, &current.user, password, ip.0, core.now())
            .await
            .page(locale)?
        {
            Reauth::Ok => None,
            Reauth::Wrong => Some("account_wrong_password"),
            Reauth::Locked(_) => Some("login_locked"),
        },
    )
}

/// The page that shows new recovery codes, once.
fn codes_page(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    notice: &'static str,
    codes: &[String],
) -> Response {
    #[derive(Serialize)]
    struct Page<'a> {
        notice: &'static str,
        codes: &'a [String],
    }
    render_with_csrf(
        state,
        jar,
        locale,
        "account/codes.html",
        Page { notice, codes },
    )
}

/// `GET /account/mfa/totp`: a new secret to scan; nothing is stored until a code proves it.
pub async fn totp_get(
    State(state): State<AppState>,
    jar: CookieJar,
    current: CurrentSession,
    PageLocale(locale): PageLocale,
) -> Result<Response, PageError> {
    let (jar, current) = signed_in_or_return!(&state, jar, current);
    let (any, totp) = factors_held(&state, &current, FactorKind::Totp, locale).await?;
    if totp {
        return Ok((jar, to_account(&state)).into_response());
    }
    let setup = mfa::totp_setup(&state.core, &current.user, state.core.now()).page(locale)?;
    Ok(totp_page(&state, jar, locale, &setup, any, None))
}

/// `POST /account/mfa/totp`: the first code from the app completes the enrolment.
pub async fn totp_post(
    State(state): State<AppState>,
    jar: CookieJar,
    ip: ClientIp,
    current: CurrentSession,
    PageLocale(locale): PageLocale,
    CsrfForm(form): CsrfForm,
) -> Result<Response, PageError> {
    let (jar, current) = signed_in_or_return!(&state, jar, current);
    let core = &state.core;
    let now = core.now();
    let enrolment = form.get("enrolment").unwrap_or("");
    let code = form.get("code").unwrap_or("");
    let (any, _) = factors_held(&state, &current, FactorKind::Totp, locale).await?;
    if any && let Some(notice) = password_again(&state, &current, &ip, &form, locale).await? {
        let setup = match mfa::totp_setup_again(core, &current.user, enrolment, now) {
            Some(s) => s,
            None => mfa::totp_setup(core, &current.user, now).page(locale)?,
        };
        return Ok(totp_page(&state, jar, locale, &setup, any, Some(notice)));
    }
    let ip = ip.0.map(|i| i.to_string());
    match mfa::totp_enrol(core, &current.user, enrolment, code, ip, now)
        .await
        .page(locale)?
    {
        Enrolled::Done { recovery_codes } => Ok(enrolled(&state, jar, locale, recovery_codes)),
        Enrolled::WrongCode => {
            let setup = match mfa::totp_setup_again(core, &current.user, enrolment, now) {
                Some(s) => s,
                None => mfa::totp_setup(core, &current.user, now).page(locale)?,
            };
            Ok(totp_page(
                &state,
                jar,
                locale,
                &setup,
                any,
                Some("mfa_enrol_wrong"),
            ))
        }
        Enrolled::Expired => {
            let setup = mfa::totp_setup(core, &current.user, now).page(locale)?;
            Ok(totp_page(
                &state,
                jar,
                locale,
                &setup,
                any,
                Some("mfa_enrol_expired"),
            ))
        }
        Enrolled::AlreadyEnrolled => Ok((jar, to_account(&state)).into_response()),
    }
}

/// After an enrolment: the recovery codes if this was the first factor, else the account.
fn enrolled(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    recovery_codes: Option<Vec<String>>,
) -> Response {
    match recovery_codes {
        Some(codes) => codes_page(state, jar, locale, "mfa_enrolled", &codes),
        None => (jar, to_account(state)).into_response(),
    }
}

/// The phone enrolment page: the number (`stage` "phone"), then the code sent to it.
fn sms_page(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    masked: Option<&str>,
    needs_password: bool,
    notice: Option<&'static str>,
) -> Response {
    #[derive(Serialize)]
    struct Page<'a> {
        /// The number the code went to: the code stage.
        masked: Option<&'a str>,
        needs_password: bool,
        notice: Option<&'static str>,
    }
    render_with_csrf(
        state,
        jar,
        locale,
        "account/sms.html",
        Page {
            masked,
            needs_password,
            notice,
        },
    )
}

/// `GET /account/mfa/sms`.
pub async fn sms_get(
    State(state): State<AppState>,
    jar: CookieJar,
    current: CurrentSession,
    PageLocale(locale): PageLocale,
) -> Result<Response, PageError> {
    let (jar, current) = signed_in_or_return!(&state, jar, current);
    let (any, sms) = factors_held(&state, &current, FactorKind::Sms, locale).await?;
    if sms {
        return Ok((jar, to_account(&state)).into_response());
    }
    Ok(sms_page(&state, jar, locale, None, any, None))
}

/// `POST /account/mfa/sms`: a `phone` sends a code to it; a `code` confirms the number.
pub async fn sms_post(
    State(state): State<AppState>,
    jar: CookieJar,
    ip: ClientIp,
    current: CurrentSession,
    PageLocale(locale): PageLocale,
    CsrfForm(form): CsrfForm,
) -> Result<Response, PageError> {
    let (jar, current) = signed_in_or_return!(&state, jar, current);
    let core = &state.core;
    let now = core.now();
    let (any, _) = factors_held(&state, &current, FactorKind::Sms, locale).await?;
    if let Some(code) = form.get("code") {
        let ip = ip.0.map(|i| i.to_string());
        return Ok(
            match mfa::sms_enrol_confirm(core, &current.user, code, ip, now)
                .await
                .page(locale)?
            {
                Enrolled::Done { recovery_codes } => enrolled(&state, jar, locale, recovery_codes),
                Enrolled::WrongCode | Enrolled::Expired => {
                    sms_page(&state, jar, locale, None, any, Some("mfa_sms_enrol_wrong"))
                }
                Enrolled::AlreadyEnrolled => (jar, to_account(&state)).into_response(),
            },
        );
    }
    // The number stage: with a factor already, the password first.
    if any && let Some(notice) = password_again(&state, &current, &ip, &form, locale).await? {
        return Ok(sms_page(&state, jar, locale, None, any, Some(notice)));
    }
    let phone = form.get("phone").unwrap_or("");
    let ip = ip.0.map(|i| i.to_string());
    let (masked, notice) = match mfa::sms_enrol_start(core, &current.user, phone, ip, now)
        .await
        .page(locale)?
    {
        SmsSent::Sent(masked) => (Some(masked), None),
        SmsSent::TooSoon(_) => (None, Some("mfa_sms_too_soon")),
        SmsSent::BadNumber => (None, Some("mfa_bad_phone")),
        SmsSent::AlreadyEnrolled => return Ok((jar, to_account(&state)).into_response()),
    };
    Ok(sms_page(
        &state,
        jar,
        locale,
        masked.as_deref(),
        any,
        notice,
    ))
}

/// `POST /account/mfa/remove`: `kind` (totp or sms) and the password.
pub async fn remove_post(
    State(state): State<AppState>,
    jar: CookieJar,
    ip: ClientIp,
    current: CurrentSession,
    PageLocale(locale): PageLocale,
    CsrfForm(form): CsrfForm,
) -> Result<Response, PageError> {
    let (jar, current) = signed_in_or_return!(&state, jar, current);
    let Some(kind) = form.get("kind").and_then(FactorKind::parse) else {
        return Err(PageError::bad_request(locale));
    };
    if let Some(notice) = password_again(&state, &current, &ip, &form, locale).await? {
        return home(&state, jar, locale, &current, Some(notice)).await;
    }
    let core = &state.core;
    let ip = ip.0.map(|i| i.to_string());
    mfa::remove(core, &current.user.id, kind, ip, core.now())
        .await
        .page(locale)?;
    Ok((jar, to_account(&state)).into_response())
}

/// `POST /account/recovery-codes`: a new set (the old one stops working), after the password.
pub async fn recovery_codes_post(
    State(state): State<AppState>,
    jar: CookieJar,
    ip: ClientIp,
    current: CurrentSession,
    PageLocale(locale): PageLocale,
    CsrfForm(form): CsrfForm,
) -> Result<Response, PageError> {
    let (jar, current) = signed_in_or_return!(&state, jar, current);
    if let Some(notice) = password_again(&state, &current, &ip, &form, locale).await? {
        return home(&state, jar, locale, &current, Some(notice)).await;
    }
    let core = &state.core;
    let summary = mfa::overview(core, &current.user.id).await.page(locale)?;
    if summary.factors.is_empty() {
        return Ok((jar, to_account(&state)).into_response());
    }
    let ip = ip.0.map(|i| i.to_string());
    let codes = mfa::new_recovery_codes(core, &current.user.id, ip, core.now())
        .await
        .page(locale)?;
    Ok(codes_page(
        &state,
        jar,
        locale,
        "recovery_regenerated",
        &codes,
    ))
}
