//! RP-Initiated Logout 1.0.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::Serialize;
use serde_json::json;

use crate::app::AppState;
use crate::audit::AuditEvent;
use crate::error::internal_page as internal;
use crate::http::{
    csrf_ok, csrf_token, form_pairs, locale, param, parse_pairs, removal_cookie, see_other,
    session_cookie_name,
};
use crate::service::authorize::verify_id_token_hint;
use crate::service::session;
use crate::service::tokens::mark_grants_revoked;
use crate::store::StoreError;

pub async fn end_session_get(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = parse_pairs(query.unwrap_or_default().as_bytes());
    end_session(state, jar, &headers, pairs, false).await
}

pub async fn end_session_post(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match form_pairs(&headers, &body) {
        Ok(pairs) => end_session(state, jar, &headers, pairs, true).await,
        Err(_) => state.pages.error(
            StatusCode::BAD_REQUEST,
            locale(&headers, None),
            "err_bad_request",
            None,
        ),
    }
}

/// Ends an SSO session on every node and revokes its session-bound grants (and their access
/// tokens); offline grants survive.
async fn end_sso(state: &AppState, sid: &str) -> Result<(), String> {
    session::end(state.store.as_ref(), sid)
        .await
        .map_err(|e| e.to_string())?;
    let now = state.now();
    let revoked = state
        .db
        .grants_revoke_for_session(sid, now)
        .await
        .map_err(|e| e.to_string())?;
    if !revoked.is_empty() {
        mark_grants_revoked(state, &revoked, state.settings.access_token_ttl)
            .await
            .map_err(|e| e.description.into_owned())?;
    }
    Ok(())
}

fn cookie_sid(state: &AppState, jar: &CookieJar) -> Option<String> {
    jar.get(session_cookie_name(state))
        .and_then(|c| c.value().split_once('.').map(|(sid, _)| sid.to_owned()))
}

/// The confirmation page. With a return address registered for `client_id`, the form carries
/// it back with `client_id` and `state`; `ui_locales` travels in any case.
#[derive(Serialize)]
struct Confirm<'a> {
    csrf: &'a str,
    bad_uri: bool,
    post_logout_redirect_uri: Option<&'a str>,
    client_id: Option<&'a str>,
    state: Option<&'a str>,
    ui_locales: Option<&'a str>,
}

#[derive(Serialize)]
struct LoggedOut {
    bad_uri: bool,
}

/// RP-Initiated Logout 1.0 §3: without a hint, `uri` is used only if it is registered for the
/// enabled client that `client_id` names.
async fn registered_return<'a>(
    state: &AppState,
    client_id: Option<&str>,
    uri: Option<&'a str>,
) -> Result<Option<&'a str>, StoreError> {
    let (Some(id), Some(uri)) = (client_id, uri) else {
        return Ok(None);
    };
    let client = state.clients.get(&state.db, id).await?;
    Ok(client
        .filter(|c| c.post_logout_uri_registered(uri))
        .map(|_| uri))
}

/// `uri` with `state` appended to its query, if there is one (§3).
fn with_state(uri: &str, state: Option<&str>) -> String {
    match state {
        Some(s) => {
            let sep = if uri.contains('?') { '&' } else { '?' };
            let q = form_urlencoded::Serializer::new(String::new())
                .append_pair("state", s)
                .finish();
            format!("{uri}{sep}{q}")
        }
        None => uri.to_owned(),
    }
}

async fn end_session(
    state: AppState,
    jar: CookieJar,
    headers: &HeaderMap,
    pairs: Vec<(String, String)>,
    via_post: bool,
) -> Response {
    let locale = locale(headers, param(&pairs, "ui_locales"));
    let client_id = param(&pairs, "client_id");
    let redirect = param(&pairs, "post_logout_redirect_uri").filter(|s| !s.is_empty());
    // The hint must be ours (signature, iss) and, with client_id, addressed to that client.
    let hint = param(&pairs, "id_token_hint")
        .and_then(|h| verify_id_token_hint(&state, h))
        .filter(|h| client_id.is_none_or(|c| h.audience_contains(c)));
    let Some(hint) = hint else {
        // §2: without a hint, client_id alone names the client whose registration the return
        // address is checked against; the check is made again when the person confirms.
        let back = match registered_return(&state, client_id, redirect).await {
            Ok(b) => b,
            Err(e) => return internal(&state, locale, e),
        };
        let (jar, csrf) = csrf_token(&state, jar);
        let page = Confirm {
            csrf: &csrf,
            bad_uri: redirect.is_some() && back.is_none(),
            post_logout_redirect_uri: back,
            client_id: back.and(client_id),
            state: back.and(param(&pairs, "state")),
            ui_locales: param(&pairs, "ui_locales"),
        };
        return (jar, state.pages.render(locale, "oidc/logout.html", &page)).into_response();
    };
    let client_of_hint = client_id.map(str::to_owned).or_else(|| match &hint.aud {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(a) => a.first().and_then(|v| v.as_str()).map(str::to_owned),
        _ => None,
    });
    let client = match &client_of_hint {
        Some(id) => state.clients.get(&state.db, id).await.ok().flatten(),
        None => None,
    };

    // The session the hint names ends even without its cookie: SameSite cookies are often
    // absent on cross-site posts.
    if let Some(sid) = &hint.sid
        && let Err(e) = end_sso(&state, sid).await
    {
        return internal(&state, locale, e);
    }
    let mut jar = jar;
    if let Some(sid) = cookie_sid(&state, &jar) {
        if let Err(e) = end_sso(&state, &sid).await {
            return internal(&state, locale, e);
        }
        jar = jar.add(removal_cookie(&state, session_cookie_name(&state)));
    }
    state.audit.record(
        AuditEvent::new(state.now(), "logout")
            .user(&hint.sub)
            .detail(json!({"client_id": client_of_hint})),
    );
    match (redirect, client) {
        (Some(uri), Some(c)) if c.post_logout_uri_registered(uri) => {
            let location = with_state(uri, param(&pairs, "state"));
            let res = if via_post {
                see_other(&location)
            } else {
                Redirect::to(&location).into_response()
            };
            (jar, res).into_response()
        }
        (redirect, _) => {
            let page = LoggedOut {
                bad_uri: redirect.is_some(),
            };
            (
                jar,
                state.pages.render(locale, "oidc/logged_out.html", &page),
            )
                .into_response()
        }
    }
}

/// The confirmation form of a logout that came without a valid hint.
pub async fn logout_confirm_post(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(form) = form_pairs(&headers, &body) else {
        return state.pages.error(
            StatusCode::BAD_REQUEST,
            locale(&headers, None),
            "err_bad_request",
            None,
        );
    };
    let locale = locale(&headers, param(&form, "ui_locales"));
    if !csrf_ok(&state, &jar, &headers, param(&form, "csrf")) {
        return state
            .pages
            .error(StatusCode::FORBIDDEN, locale, "err_csrf", None);
    }
    let mut jar = jar;
    if let Some(sid) = cookie_sid(&state, &jar) {
        if let Err(e) = end_sso(&state, &sid).await {
            return internal(&state, locale, e);
        }
        jar = jar.add(removal_cookie(&state, session_cookie_name(&state)));
        state.audit.record(AuditEvent::new(state.now(), "logout"));
    }
    // The hidden fields came back from the browser: the address is checked again, so that a
    // forged form cannot make an open redirect of this endpoint.
    let redirect = param(&form, "post_logout_redirect_uri").filter(|s| !s.is_empty());
    match registered_return(&state, param(&form, "client_id"), redirect).await {
        Ok(Some(uri)) => {
            let location = with_state(uri, param(&form, "state"));
            (jar, see_other(&location)).into_response()
        }
        Ok(None) => {
            let page = LoggedOut {
                bad_uri: redirect.is_some(),
            };
            (
                jar,
                state.pages.render(locale, "oidc/logged_out.html", &page),
            )
                .into_response()
        }
        Err(e) => internal(&state, locale, e),
    }
}
