//! Sign-in as its own area: the login form and its steps, the consent page, the signed-in
//! page. Any protocol hands sign-in a continuation (`service::authn::Continuation`) and gets
//! control back, with a live session, through `http::resume`. URLs: `/login`, `/consent`.

pub mod consent;
pub mod login;
pub mod views;

use axum::Router;
use axum::routing::{get, post};

use crate::http::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login::login_get).post(login::login_post))
        .route("/consent", post(consent::consent_post))
}
