//! An application's side of guichet's outbound calls: a small HTTP server on 127.0.0.1:0 that
//! records every POST (an OpenID Connect logout token, a CAS SAML `LogoutRequest`) and answers
//! a scripted status, and answers GETs with a page echoing the query (a CAS service landing
//! page with its `ticket`, a relying party's callback).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};

/// One POST as the receiver got it.
#[derive(Debug, Clone)]
pub struct Posted {
    pub path: String,
    pub query: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
    pub at: Instant,
}

impl Posted {
    /// The value of `name` in a form-encoded body.
    pub fn form(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.body.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

#[derive(Default)]
struct Inner {
    posts: Mutex<Vec<Posted>>,
    /// Statuses for the next POSTs, in order; 200 once they run out.
    script: Mutex<VecDeque<u16>>,
}

pub struct Receiver {
    pub port: u16,
    inner: Arc<Inner>,
}

impl Receiver {
    /// A receiver that answers every POST 200.
    pub async fn start() -> Receiver {
        Receiver::answering(&[]).await
    }

    /// A receiver that answers its first POSTs with `statuses`, in order, then 200.
    pub async fn answering(statuses: &[u16]) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let inner = Arc::new(Inner {
            posts: Mutex::default(),
            script: Mutex::new(statuses.iter().copied().collect()),
        });
        let router = Router::new().fallback(handle).with_state(inner.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Receiver { port, inner }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The POSTs so far.
    pub fn posts(&self) -> Vec<Posted> {
        self.inner.posts.lock().unwrap().clone()
    }

    /// Waits until `n` POSTs have come (at most `within`) and returns them all; fails naming
    /// what came if fewer did.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Posted> {
        let deadline = Instant::now() + within;
        loop {
            let posts = self.posts();
            if posts.len() >= n {
                return posts;
            }
            assert!(
                Instant::now() < deadline,
                "{n} POST(s) expected within {within:?}, got {}: {posts:?}",
                posts.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Checks that nothing more than `n` POSTs came within `during`.
    pub async fn assert_no_more_than(&self, n: usize, during: Duration) {
        tokio::time::sleep(during).await;
        let posts = self.posts();
        assert!(posts.len() <= n, "unexpected POSTs: {posts:?}");
    }
}

/// A URL on 127.0.0.1 where nothing listens (the port was free a moment ago).
pub fn closed_port_url(path: &str) -> String {
    format!("http://127.0.0.1:{}{path}", super::free_port())
}

async fn handle(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    if method != Method::POST {
        let query = uri.query().unwrap_or_default();
        let rows: String = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| {
                format!(
                    "<dt>{}</dt><dd id=\"{}\">{}</dd>",
                    esc(&k),
                    esc(&k),
                    esc(&v)
                )
            })
            .collect();
        return Html(format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Application</title>\
             </head><body><h1>Application: {}</h1><dl>{rows}</dl></body></html>",
            esc(uri.path())
        ))
        .into_response();
    }
    inner.posts.lock().unwrap().push(Posted {
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        content_type: headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body,
        at: Instant::now(),
    });
    let status = inner.script.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap().into_response()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
