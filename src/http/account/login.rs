//! `GET /login` and `POST /login`: the sign-in flow's pages. Each POST advances the flow by one
//! step (`service::authn::advance`); at `Done` the protocol that asked resumes.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;

use super::views::{LoginView, login_page, signed_in_page};
use crate::http::error::{OrPage, PageError};
use crate::http::extract::{CsrfForm, CurrentSession, PageLocale, SessionCookie};
use crate::http::state::AppState;
use crate::http::{ClientIp, locale, removal_cookie, resume, session_cookie_name};
use crate::service::authn::{
    self, Attempt, Continuation, Denial, Display, Flow, Input, Outcome, Requirements, Step,
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
    let input = Input::Password {
        identifier: username,
        password: form.get("password").unwrap_or("").to_owned(),
    };
    let attempt = Attempt {
        ip: ip.0,
        previous_cookie: cookie.value(),
    };
    let outcome = authn::advance(core, flow.clone(), flow_id.as_deref(), input, attempt, now)
        .await
        .page(locale)?;
    let notice = match outcome {
        Outcome::Done(signed) => return Ok(resume::resume(&state, jar, locale, *signed).await),
        Outcome::Next {
            step: Step::Password,
            flow_id,
        } => {
            return Ok(step_page(
                &state, jar, locale, &flow, &flow_id, username, None,
            ));
        }
        Outcome::Denied(Denial::BadCredentials) => "login_failed",
        Outcome::Denied(Denial::WrongAccount) => "login_wrong_account",
        Outcome::Denied(Denial::Throttled(wait)) => {
            return Err(PageError::throttled(locale, wait));
        }
        Outcome::Denied(Denial::WrongStep) => return Err(PageError::bad_request(locale)),
    };
    // The same step again: a stored flow keeps its id, a first step is sealed afresh.
    let field = match flow_id {
        Some(id) => id,
        None => authn::seal(core, &flow).page(locale)?,
    };
    Ok(step_page(
        &state,
        jar,
        locale,
        &flow,
        &field,
        username,
        Some(notice),
    ))
}

fn step_page(
    state: &AppState,
    jar: CookieJar,
    locale: crate::http::i18n::Locale,
    flow: &Flow,
    field: &str,
    username: &str,
    notice: Option<&'static str>,
) -> Response {
    login_page(
        state,
        jar,
        locale,
        LoginView {
            flow: field,
            client_name: flow.display.client_name.as_deref(),
            username,
            notice,
        },
    )
    .into_response()
}
