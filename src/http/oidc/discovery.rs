//! OpenID Connect Discovery 1.0 and the JWKS: pre-serialised bytes, sent with
//! `Access-Control-Allow-Origin: *` and `Cache-Control: public, max-age=120`.
//!
//! Caches may keep them two minutes: less than the overlap of a key rotation (the old key stays
//! published at least the longest token lifetime, 300 s by default, after the new one signs),
//! and short enough that a relying party that does not refetch on an unknown `kid` sees a
//! rotated key within two minutes.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::http::state::AppState;

/// Two minutes (see above).
pub const CACHE_CONTROL: &str = "public, max-age=120";

fn json_bytes(body: impl IntoResponse) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(CACHE_CONTROL),
            ),
        ],
        body,
    )
        .into_response()
}

pub async fn discovery_get(State(state): State<AppState>) -> Response {
    json_bytes(Bytes::clone(&state.discovery.load()))
}

pub async fn jwks_get(State(state): State<AppState>) -> Response {
    json_bytes(state.core.keys.current().jwks_bytes())
}
