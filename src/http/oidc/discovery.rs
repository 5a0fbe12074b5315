//! OpenID Connect Discovery 1.0 and the JWKS: pre-serialised bytes, sent with
//! `Access-Control-Allow-Origin: *`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::http::state::AppState;

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
