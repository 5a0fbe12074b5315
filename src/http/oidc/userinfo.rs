//! UserInfo (OpenID Connect Core §5.3), bearer token per RFC 6750.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::{cors, no_store_json};
use crate::domain::scope;
use crate::http::state::AppState;
use crate::http::{form_pairs, param};
use crate::service::tokens::{BearerError, user_claims, verify_access_token};

pub async fn userinfo_get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    userinfo(state, headers, None).await
}

/// RFC 6750 §2.2: the token may come in a form body.
pub async fn userinfo_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let from_body = match form_pairs(&headers, &body) {
        Ok(pairs) => {
            if crate::http::repeated(&pairs, "access_token") {
                return bearer_error(StatusCode::BAD_REQUEST, Some("invalid_request"));
            }
            param(&pairs, "access_token").map(str::to_owned)
        }
        Err(_) => None,
    };
    userinfo(state, headers, from_body).await
}

/// RFC 6750 §3: no token → 401 with a bare challenge; a bad token → `invalid_token`.
fn bearer_error(status: StatusCode, error: Option<&str>) -> Response {
    let challenge = match error {
        Some(e) => format!("Bearer realm=\"guichet\", error=\"{e}\""),
        None => "Bearer realm=\"guichet\"".to_owned(),
    };
    let mut res = status.into_response();
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

async fn userinfo(state: AppState, headers: HeaderMap, from_body: Option<String>) -> Response {
    let from_header = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(v) => match v.to_str().ok().and_then(|v| v.split_once(' ')) {
            Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => Some(t.trim().to_owned()),
            _ => return bearer_error(StatusCode::UNAUTHORIZED, Some("invalid_token")),
        },
    };
    let token = match (from_header, from_body) {
        (Some(_), Some(_)) => {
            return bearer_error(StatusCode::BAD_REQUEST, Some("invalid_request"));
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => return bearer_error(StatusCode::UNAUTHORIZED, None),
    };
    let claims = match verify_access_token(&state.core, &token).await {
        Ok(c) => c,
        Err(BearerError::Invalid) => {
            return bearer_error(StatusCode::UNAUTHORIZED, Some("invalid_token"));
        }
        Err(BearerError::Internal(e)) => {
            tracing::error!(error = %e, "userinfo: store error");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    if !claims.has_scope("openid") {
        return bearer_error(StatusCode::FORBIDDEN, Some("insufficient_scope"));
    }
    let user = match state.core.db.user_by_id(&claims.sub).await {
        Ok(Some(u)) if !u.disabled => u,
        Ok(_) => return bearer_error(StatusCode::UNAUTHORIZED, Some("invalid_token")),
        Err(e) => {
            tracing::error!(error = %e, "userinfo: database error");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let scopes = scope::parse(&claims.scope).unwrap_or_default();
    let mut body = Map::new();
    body.insert("sub".into(), Value::String(user.id.clone()));
    user_claims(&user, &scopes, &mut body);
    let mut res = no_store_json(Value::Object(body).to_string());
    let client = state
        .core
        .clients
        .get(&state.core.db, &claims.client_id)
        .await
        .ok()
        .flatten();
    cors(&headers, client.as_deref(), &mut res);
    res
}
