//! Plain types and rules: no axum, no sqlx.

pub mod client;
pub mod scope;
pub mod user;
