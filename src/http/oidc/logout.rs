//! RP-Initiated Logout 1.0: the end-session endpoint, its confirmation form, and the
//! signed-out page. What ends and where the person goes is `service::logout`'s decision.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::Serialize;

use crate::http::error::{OrPage, PageError};
use crate::http::extract::{CsrfForm, PageLocale, SessionCookie};
use crate::http::i18n::Locale;
use crate::http::state::AppState;
use crate::http::{
    csrf_token, form_pairs, locale, param, parse_pairs, removal_cookie, see_other,
    session_cookie_name,
};
use crate::service::logout::{self, Logout, LogoutRequest, ReturnTo};

pub async fn end_session_get(
    State(state): State<AppState>,
    jar: CookieJar,
    cookie: SessionCookie,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let pairs = parse_pairs(query.unwrap_or_default().as_bytes());
    end_session(state, jar, cookie, &headers, pairs, false).await
}

pub async fn end_session_post(
    State(state): State<AppState>,
    jar: CookieJar,
    cookie: SessionCookie,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let pairs =
        form_pairs(&headers, &body).map_err(|_| PageError::bad_request(locale(&headers, None)))?;
    end_session(state, jar, cookie, &headers, pairs, true).await
}

#[derive(Serialize)]
struct Confirm<'a> {
    csrf: &'a str,
    bad_uri: bool,
    client_id: Option<&'a str>,
    post_logout_redirect_uri: Option<&'a str>,
    state: Option<&'a str>,
    ui_locales: Option<&'a str>,
}

#[derive(Serialize)]
struct LoggedOut {
    bad_uri: bool,
}

async fn end_session(
    state: AppState,
    jar: CookieJar,
    cookie: SessionCookie,
    headers: &HeaderMap,
    pairs: Vec<(String, String)>,
    via_post: bool,
) -> Result<Response, PageError> {
    let ui_locales = param(&pairs, "ui_locales");
    let locale = locale(headers, ui_locales);
    let req = LogoutRequest {
        id_token_hint: param(&pairs, "id_token_hint"),
        client_id: param(&pairs, "client_id").filter(|s| !s.is_empty()),
        post_logout_redirect_uri: param(&pairs, "post_logout_redirect_uri")
            .filter(|s| !s.is_empty()),
        state: param(&pairs, "state"),
        cookie: cookie.value(),
    };
    let core = &state.core;
    match logout::request(core, req, core.now()).await.page(locale)? {
        Logout::Confirm { return_to, bad_uri } => {
            let (jar, csrf) = csrf_token(&state, jar);
            let page = Confirm {
                csrf: &csrf,
                bad_uri,
                client_id: return_to.as_ref().map(|r| r.client_id.as_str()),
                post_logout_redirect_uri: return_to.as_ref().map(|r| r.uri.as_str()),
                state: return_to.as_ref().and_then(|r| r.state.as_deref()),
                ui_locales,
            };
            Ok((jar, state.pages.render(locale, "oidc/logout.html", &page)).into_response())
        }
        Logout::Done {
            return_to,
            browser_ended,
            bad_uri,
        } => {
            let jar = if browser_ended {
                jar.add(removal_cookie(&state, session_cookie_name(&state)))
            } else {
                jar
            };
            Ok((
                jar,
                signed_out(&state, locale, return_to, bad_uri, via_post),
            )
                .into_response())
        }
    }
}

/// The confirmation form: ends the browser's session, then returns to the client if the
/// request named a registered address.
pub async fn logout_confirm_post(
    State(state): State<AppState>,
    jar: CookieJar,
    cookie: SessionCookie,
    PageLocale(fallback): PageLocale,
    CsrfForm(form): CsrfForm,
) -> Result<Response, PageError> {
    let locale = form
        .get("ui_locales")
        .map_or(fallback, |u| Locale::negotiate(Some(u), None));
    let core = &state.core;
    let uri = form
        .get("post_logout_redirect_uri")
        .filter(|s| !s.is_empty());
    let return_to = logout::confirm(
        core,
        cookie.value(),
        form.get("client_id").filter(|s| !s.is_empty()),
        uri,
        form.get("state"),
        core.now(),
    )
    .await
    .page(locale)?;
    let bad_uri = uri.is_some() && return_to.is_none();
    let jar = match cookie.value() {
        Some(_) => jar.add(removal_cookie(&state, session_cookie_name(&state))),
        None => jar,
    };
    Ok((jar, signed_out(&state, locale, return_to, bad_uri, true)).into_response())
}

/// Back to the client (302 after a GET, 303 after a POST), or the signed-out page.
fn signed_out(
    state: &AppState,
    locale: Locale,
    return_to: Option<ReturnTo>,
    bad_uri: bool,
    via_post: bool,
) -> Response {
    match return_to {
        Some(r) if via_post => see_other(&r.location()),
        Some(r) => Redirect::to(&r.location()).into_response(),
        None => state
            .pages
            .render(locale, "oidc/logged_out.html", &LoggedOut { bad_uri }),
    }
}
