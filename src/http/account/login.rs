//! `GET /login` and `POST /login`: the sign-in flow's pages. Each POST advances the flow by one
//! step (`service::authn::advance`); at `Done` the protocol that asked resumes.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum_extra::extract::CookieJar;

use super::views::{
    LoginView, NewPasswordView, PasswordRules, SecondFactorView, enrol_step_page, login_page,
    new_password_step_page, recovery_codes_step_page, second_factor_page, signed_in_page,
};
use crate::domain::password_policy::Violation;
use crate::http::error::{OrPage, PageError};
use crate::http::extract::{CsrfForm, CurrentSession, PageLocale, SessionCookie};
use crate::http::i18n::Locale;
use crate::http::state::AppState;
use crate::http::{ClientIp, locale, removal_cookie, resume, session_cookie_name};
use crate::service::authn::{
    self, Attempt, Continuation, Denial, Display, Flow, Input, Offer, Outcome, Requirements, Step,
};
use crate::service::session::Lookup;

/// The form on its own (then the signed-in page is the continuation), or who is signed in.
/// A session whose user was disabled or changed password since is ended here too.
pub async fn login_get(
    State(state): State<AppState>,
    jar: CookieJar,
    current: CurrentSession,
    PageLocale(locale): PageLocale,
) -> Result<Response, PageError> {
    let core = &state.core;
    let now = core.now();
    let jar = match current.lookup {
        Lookup::Valid(cur) => return Ok(signed_in_page(&state, jar, locale, &cur.user.login)),
        Lookup::Ended => jar.add(removal_cookie(&state, session_cookie_name(&state))),
        Lookup::None => jar,
    };
    let flow = Flow::start(
        Continuation::Account,
        Requirements::default(),
        Display::default(),
        now,
    );
    let sealed = authn::seal(core, &flow).page(locale)?;
    Ok(login_page(
        &state,
        jar,
        locale,
        LoginView {
            flow: &sealed,
            client_name: None,
            username: "",
            notice: None,
        },
    ))
}

/// One step of the flow named by the `flow` field (a sealed first step or a stored flow).
pub async fn login_post(
    State(state): State<AppState>,
    jar: CookieJar,
    ip: ClientIp,
    cookie: SessionCookie,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm,
) -> Result<Response, PageError> {
    let core = &state.core;
    let now = core.now();
    let fallback = locale(&headers, None);
    let (flow, flow_id) = match form.get("flow") {
        Some(field) => authn::resume(core, field, now)
            .await
            .page(fallback)?
            .ok_or_else(|| {
                PageError::new(StatusCode::BAD_REQUEST, "err_signin_expired", fallback)
            })?,
        // A form without a flow signs in to the signed-in page.
        None => (
            Flow::start(
                Continuation::Account,
                Requirements::default(),
                Display::default(),
                now,
            ),
            None,
        ),
    };
    let locale = locale(&headers, flow.display.ui_locales.as_deref());
    let username = form.get("username").unwrap_or("");
    let code = form.get("code").unwrap_or("");
    let enrolment = form.get("enrolment").unwrap_or("");
    // The flow's step says what the form brings; a field of another step is ignored.
    let input = match flow.current_step() {
        Some(Step::Password) | None => Input::Password {
            identifier: username,
            password: form.get("password").unwrap_or("").to_owned(),
        },
        Some(Step::SecondFactor) if form.get("action") == Some("sms") => Input::SendSms,
        Some(Step::SecondFactor) => Input::Code(code),
        Some(Step::Enrol) => Input::Enrol { enrolment, code },
        Some(Step::RecoveryCodes) => Input::Acknowledge,
        Some(Step::NewPassword) => Input::NewPassword {
            new: form.get("new_password").unwrap_or("").to_owned(),
            confirm: form.get("confirm_password").unwrap_or(""),
        },
    };
    let attempt = Attempt {
        ip: ip.0,
        previous_cookie: cookie.value(),
    };
    let outcome = authn::advance(core, flow.clone(), flow_id.as_deref(), input, attempt, now)
        .await
        .page(locale)?;
    let mut violations = Vec::new();
    let notice = match outcome {
        Outcome::Done(signed) => return Ok(resume::resume(&state, jar, locale, *signed).await),
        Outcome::Next {
            step,
            flow_id,
            shown,
            flow: next,
        } => {
            let page = StepPage {
                flow: &next,
                field: &flow_id,
                username,
                notice: None,
                offer: &next.offer,
                shown: &shown,
                enrolment: None,
                violations: &[],
            };
            return step_page(&state, jar, locale, step, page, now).await;
        }
        Outcome::Denied(Denial::BadCredentials) => "login_failed",
        Outcome::Denied(Denial::WrongAccount) => "login_wrong_account",
        Outcome::Denied(Denial::Locked(_)) => "login_locked",
        Outcome::Denied(Denial::BadCode) => "mfa_code_wrong",
        Outcome::Denied(Denial::BadEnrolmentCode) => "mfa_enrol_wrong",
        Outcome::Denied(Denial::SmsTooSoon(_)) => "mfa_sms_too_soon",
        Outcome::Denied(Denial::PasswordMismatch) => "pw_mismatch",
        Outcome::Denied(Denial::PasswordRules(v)) => {
            violations = v;
            "pw_refused"
        }
        Outcome::Denied(Denial::Throttled(wait)) => {
            return Err(PageError::throttled(locale, wait));
        }
        Outcome::Denied(Denial::WrongStep) => return Err(PageError::bad_request(locale)),
        Outcome::Denied(Denial::Replayed) => {
            return Err(PageError::new(
                StatusCode::BAD_REQUEST,
                "err_signin_expired",
                locale,
            ));
        }
    };
    // The same step again: a stored flow keeps its id, a first step is sealed afresh.
    let field = match flow_id {
        Some(id) => id,
        None => authn::seal(core, &flow).page(locale)?,
    };
    let step = flow.current_step().unwrap_or(Step::Password);
    let page = StepPage {
        flow: &flow,
        field: &field,
        username,
        notice: Some(notice),
        offer: &flow.offer,
        shown: &[],
        enrolment: Some(enrolment),
        violations: &violations,
    };
    step_page(&state, jar, locale, step, page, now).await
}

/// What a step's page shows.
struct StepPage<'a> {
    flow: &'a Flow,
    /// The flow's hidden field.
    field: &'a str,
    username: &'a str,
    notice: Option<&'static str>,
    offer: &'a Offer,
    /// Shown once: the recovery codes of a factor just enrolled.
    shown: &'a [String],
    /// The enrolment field of a page being shown again.
    enrolment: Option<&'a str>,
    /// The password rules a new password broke.
    violations: &'a [Violation],
}

async fn step_page(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    step: Step,
    page: StepPage<'_>,
    now: i64,
) -> Result<Response, PageError> {
    let client_name = page.flow.display.client_name.as_deref();
    Ok(match step {
        Step::Password => login_page(
            state,
            jar,
            locale,
            LoginView {
                flow: page.field,
                client_name,
                username: page.username,
                notice: page.notice,
            },
        ),
        Step::SecondFactor => second_factor_page(
            state,
            jar,
            locale,
            SecondFactorView {
                flow: page.field,
                client_name,
                notice: page.notice,
                totp: page.offer.totp,
                sms: page.offer.sms.as_deref(),
                sms_sent: page.offer.sms_sent,
            },
        ),
        Step::Enrol => {
            let setup = authn::enrol_setup(&state.core, page.flow, page.enrolment, now)
                .await
                .page(locale)?
                .ok_or_else(|| PageError::bad_request(locale))?;
            enrol_step_page(
                state,
                jar,
                locale,
                page.field,
                client_name,
                page.notice,
                &setup,
            )
        }
        Step::RecoveryCodes => {
            recovery_codes_step_page(state, jar, locale, page.field, client_name, page.shown)
        }
        Step::NewPassword => new_password_step_page(
            state,
            jar,
            locale,
            NewPasswordView {
                flow: page.field,
                client_name,
                notice: page.notice,
                violations: page.violations,
                rules: PasswordRules::of(&state.core.policy.password),
            },
        ),
    })
}
