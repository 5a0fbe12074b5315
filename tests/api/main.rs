//! One integration-test binary: the real server on port 0, driven over HTTP.

mod authorize;
mod cli;
mod cluster;
mod helpers;
mod logout;
mod oidc_flow;
mod resource;
mod token;
