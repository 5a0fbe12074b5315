//! The HTTP edge's last resort: unexpected errors are logged with an id and shown as that id
//! only. Protocol errors live with their protocol (`service::oauth`, the authorization
//! redirect, RFC 6750 challenges).

use axum::http::StatusCode;
use axum::response::Response;

use crate::http::i18n::Locale;
use crate::http::state::AppState;

/// Logs `e` with a fresh id and answers a 500 page in the user's language naming the id.
pub fn internal_page(state: &AppState, locale: Locale, e: impl std::fmt::Display) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    tracing::error!(error = %e, %id, "internal error");
    state.pages.error(
        StatusCode::INTERNAL_SERVER_ERROR,
        locale,
        "err_internal",
        Some(&id),
    )
}
