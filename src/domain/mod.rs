//! Plain types and rules: no axum, no sqlx.

pub mod acr;
pub mod admin;
pub mod alg;
pub mod audit;
pub mod cas;
pub mod client;
pub mod clock;
pub mod establishment;
pub mod grant;
pub mod invitation;
pub mod mfa;
pub mod password_policy;
pub mod scope;
pub mod self_service;
pub mod theme;
pub mod user;
