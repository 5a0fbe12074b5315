//! guichet: an identity provider speaking OpenID Connect, with SQLite or PostgreSQL for durable
//! data and an in-process store or Redis for short-lived state.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![forbid(unsafe_code)]

pub mod app;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod ephemeral;
pub mod http;
pub mod mail;
pub mod notify;
pub mod service;
pub mod store;
pub mod telemetry;

/// The injected clock, a plain type of `domain`.
pub use domain::clock;
