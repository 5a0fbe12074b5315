//! Dynamic client registration (RFC 7591 §3; OpenID Connect Registration 1.0 §3, §4): the
//! endpoint exists only when `GUICHET_REGISTRATION=on`; `service::registration` decides.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::no_store_json;
use super::userinfo::challenge;
use crate::http::state::AppState;
use crate::service::registration::{self, RegistrationError};

/// `Authorization: Bearer <token>` (RFC 6750 §2.1), if that is what came.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

fn refused(e: RegistrationError) -> Response {
    match e {
        RegistrationError::Off => StatusCode::NOT_FOUND.into_response(),
        RegistrationError::InvalidToken => {
            challenge(StatusCode::UNAUTHORIZED, Some("invalid_token"))
        }
        RegistrationError::Refused(e) => e.into_response(),
    }
}

/// RFC 7591 §3.1: a JSON object of client metadata; 201 with the client (§3.2.1).
#[tracing::instrument(skip_all)]
pub async fn register_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = state.core.now();
    match registration::register(&state.core, bearer(&headers), &body, now).await {
        Ok(client) => {
            let mut res = no_store_json(client.to_string());
            *res.status_mut() = StatusCode::CREATED;
            res
        }
        Err(e) => refused(e),
    }
}

/// RFC 7592 §2.1, Registration 1.0 §4.2: the client's registration, read with its
/// registration access token.
#[tracing::instrument(skip_all)]
pub async fn register_read_get(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match registration::read(&state.core, &client_id, bearer(&headers)).await {
        Ok(client) => no_store_json(client.to_string()),
        Err(e) => refused(e),
    }
}
