//! OpenID Connect Discovery 1.0 and the JWKS: pre-serialised bytes, sent with
//! `Access-Control-Allow-Origin: *` and `Cache-Control: public, max-age=300`.
//!
//! Caches may keep them five minutes: less than a key's life in the JWKS before it is retired
//! (at least the longest token lifetime), and short enough that a relying party that does not
//! refetch on an unknown `kid` sees a rotated key within minutes.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::http::state::AppState;

/// Five minutes (see above).
pub const CACHE_CONTROL: &str = "public, max-age=300";

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
