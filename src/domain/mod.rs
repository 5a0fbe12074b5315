//! Plain types and rules: no axum, no sqlx.

pub mod audit;
pub mod client;
pub mod grant;
pub mod scope;
pub mod user;
