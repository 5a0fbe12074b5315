//! RP-Initiated Logout 1.0.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::Serialize;
use serde_json::json;

use crate::domain::audit::{AuditEvent, AuditKind};
use crate::http::error::internal_page as internal;
use crate::http::state::AppState;
use crate::http::{
    csrf_ok, csrf_token, form_pairs, locale, param, parse_pairs, removal_cookie, see_other,
    session_cookie_name,
};
use crate::service::authorize::verify_id_token_hint;
use crate::service::session;
use crate::service::tokens::mark_grants_revoked;

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
    session::end(state.core.ephemeral.as_ref(), sid)
        .await
        .map_err(|e| e.to_string())?;
    let now = state.core.now();
    let revoked = state
        .core
        .db
        .grants_revoke_for_session(sid, now)
        .await
        .map_err(|e| e.to_string())?;
    if !revoked.is_empty() {
        mark_grants_revoked(&state.core, &revoked, state.core.policy.access_token_ttl)
            .await
            .map_err(|e| e.description.into_owned())?;
    }
    Ok(())
}

fn cookie_sid(state: &AppState, jar: &CookieJar) -> Option<String> {
    jar.get(session_cookie_name(state))
        .and_then(|c| c.value().split_once('.').map(|(sid, _)| sid.to_owned()))
}

#[derive(Serialize)]
struct Confirm<'a> {
    csrf: &'a str,
    bad_uri: bool,
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
        .and_then(|h| verify_id_token_hint(&state.core, h))
        .filter(|h| client_id.is_none_or(|c| h.audience_contains(c)));
    let Some(hint) = hint else {
        let (jar, csrf) = csrf_token(&state, jar);
        let page = Confirm {
            csrf: &csrf,
            bad_uri: redirect.is_some(),
        };
        return (jar, state.pages.render(locale, "oidc/logout.html", &page)).into_response();
    };
    let client_of_hint = client_id.map(str::to_owned).or_else(|| match &hint.aud {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(a) => a.first().and_then(|v| v.as_str()).map(str::to_owned),
        _ => None,
    });
    let client = match &client_of_hint {
        Some(id) => state
            .core
            .clients
            .get(&state.core.db, id)
            .await
            .ok()
            .flatten(),
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
    state.core.audit.record(
        AuditEvent::new(state.core.now(), AuditKind::Logout)
            .user(&hint.sub)
            .detail(json!({"client_id": client_of_hint})),
    );
    match (redirect, client) {
        (Some(uri), Some(c)) if c.post_logout_uri_registered(uri) => {
            let location = match param(&pairs, "state") {
                Some(s) => {
                    let sep = if uri.contains('?') { '&' } else { '?' };
                    let q = form_urlencoded::Serializer::new(String::new())
                        .append_pair("state", s)
                        .finish();
                    format!("{uri}{sep}{q}")
                }
                None => uri.to_owned(),
            };
            let res = if via_post {
                see_other(&location)
            } else {
                Redirect::to(&location).into_response()
            };
            (jar, res).into_response()
        }
        (redirect, _) => {
            #[derive(Serialize)]
            struct LoggedOut {
                bad_uri: bool,
            }
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
    let locale = locale(&headers, None);
    let Ok(form) = form_pairs(&headers, &body) else {
        return state
            .pages
            .error(StatusCode::BAD_REQUEST, locale, "err_bad_request", None);
    };
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
        state
            .core
            .audit
            .record(AuditEvent::new(state.core.now(), AuditKind::Logout));
    }
    #[derive(Serialize)]
    struct LoggedOut {
        bad_uri: bool,
    }
    (
        jar,
        state.pages.render(
            locale,
            "oidc/logged_out.html",
            &LoggedOut { bad_uri: false },
        ),
    )
        .into_response()
}
