//! One integration-test binary: the real server on port 0, driven over HTTP.

mod architecture;
mod audit;
mod authn;
mod authorize;
mod browser;
mod cli;
mod cluster;
mod factors;
mod hardening;
mod helpers;
mod lockout;
mod logout;
mod mail;
mod mfa;
mod oidc_flow;
mod outage;
mod passwords;
mod review_session;
mod review_tokens;
mod revocation;
mod session;
mod theme;
mod token_clients;
mod token_code;
mod token_refresh;
mod userinfo;
