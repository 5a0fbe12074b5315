//! What the system does, taking `now` and the stores as inputs.

pub mod audit;
pub mod authorize;
pub mod clients;
pub mod core;
pub mod discovery;
pub mod login;
pub mod oauth;
pub mod session;
pub mod tokens;
