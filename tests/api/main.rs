//! One integration-test binary: the real server on port 0, driven over HTTP.

mod audit;
mod authorize;
mod cli;
mod cluster;
mod helpers;
mod logout;
mod oidc_flow;
mod revocation;
mod session;
mod token_clients;
mod token_code;
mod token_refresh;
mod userinfo;
