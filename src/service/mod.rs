//! What the system does, taking `now` and the stores as inputs.

pub mod account;
pub mod activation;
pub mod admin;
pub mod audit;
pub mod authn;
pub mod authorize;
pub mod backchannel;
pub mod cas;
pub mod clients;
pub mod core;
pub mod csrf;
pub mod discovery;
pub mod error;
pub mod health;
pub mod lockout;
pub mod login;
pub mod logout;
pub mod mailing;
pub mod mfa;
pub mod oauth;
pub mod password;
pub mod recovery;
pub mod reset;
pub mod resource;
pub mod session;
pub mod tokens;
