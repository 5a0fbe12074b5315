//! `/healthz` (the process answers) and `/readyz` (the database and the store answer).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::http::state::AppState;
use crate::service::health;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health_get))
        .route("/readyz", get(ready_get))
}

async fn health_get() -> impl IntoResponse {
    "ok"
}

async fn ready_get(State(state): State<AppState>) -> impl IntoResponse {
    match health::ready(&state.core).await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "not ready")
        }
    }
}
