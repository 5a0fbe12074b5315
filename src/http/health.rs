//! `/healthz` (the process answers) and `/readyz` (the database and the store answer).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::http::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health_get))
        .route("/readyz", get(ready_get))
}

async fn health_get() -> impl IntoResponse {
    "ok"
}

async fn ready_get(State(state): State<AppState>) -> impl IntoResponse {
    let db = state.core.db.ping().await;
    let store = state.core.ephemeral.ping().await;
    match (db, store) {
        (Ok(()), Ok(())) => (StatusCode::OK, "ready".to_owned()),
        (db, store) => {
            tracing::warn!(db = ?db.err(), store = ?store.err(), "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "not ready".to_owned())
        }
    }
}
