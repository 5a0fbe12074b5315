//! What the HTTP edge holds: the service core, plus what only the edge needs (the pages, the
//! pre-serialised discovery document, the trusted proxies, the cookie settings).

use std::net::IpAddr;
use std::ops::Deref;
use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::body::Bytes;
use ipnet::IpNet;

use crate::http::pages::Pages;
use crate::http::theme::ThemeFiles;
use crate::service::core::Core;

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Edge>);

pub struct Edge {
    pub core: Arc<Core>,
    pub pages: Pages,
    /// The theme's style sheet and logo, served under `{base}/theme/`.
    pub theme_files: ThemeFiles,
    /// The discovery document, serialised once and again when the keys change.
    pub discovery: Arc<ArcSwap<Bytes>>,
    pub trusted_proxies: Vec<IpNet>,
    /// Over https: `Secure` and `__Host-` cookies, HSTS.
    pub secure_cookies: bool,
}

impl AppState {
    pub fn new(edge: Edge) -> AppState {
        AppState(Arc::new(edge))
    }

    pub fn is_trusted_proxy(&self, ip: &IpAddr) -> bool {
        self.trusted_proxies.iter().any(|n| n.contains(ip))
    }
}

impl Deref for AppState {
    type Target = Edge;
    fn deref(&self) -> &Edge {
        &self.0
    }
}
