//! CAS from a service's side: registered services, `/cas/login` driven through the sign-in
//! pages, and the validation endpoints' answers read back from XML or JSON.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use guichet::domain::cas::{CasService, PatternKind};
use guichet::service::cas::registry::{ServiceSpec, register};
use quick_xml::Reader;
use quick_xml::events::Event;
use url::Url;

use super::browser::{is_login_form, location, post_login, query_param, set_cookie};
use super::{PASSWORD, TestApp};

/// The session cookie's name over http.
pub const SESSION_COOKIE: &str = "guichet_session";

/// The service URL most tests use (exact pattern).
pub const SERVICE: &str = "https://app.example/cas/callback";

/// An application with alice and `SERVICE` registered (exact pattern, no attributes).
pub async fn app_with_cas_service() -> TestApp {
    let app = super::spawn_app().await;
    app.create_user("alice").await;
    app.create_cas_service(SERVICE, |_| {}).await;
    app
}

impl TestApp {
    /// Registers a CAS service (exact pattern unless `f` changes it), cache refreshed.
    pub async fn create_cas_service(
        &self,
        pattern: &str,
        f: impl FnOnce(&mut ServiceSpec),
    ) -> CasService {
        let mut spec = ServiceSpec {
            name: format!("Service {pattern}"),
            pattern: pattern.into(),
            pattern_kind: PatternKind::Exact,
            attributes: vec![],
            allow_proxy: false,
            require_mfa: false,
            single_logout: true,
        };
        f(&mut spec);
        let s = register(&self.core.db, spec, self.clock.now())
            .await
            .unwrap();
        self.core.cas.invalidate();
        s
    }

    /// `GET /cas/login` with these parameters, from `http`.
    pub async fn cas_login(
        &self,
        http: &reqwest::Client,
        params: &[(&str, &str)],
    ) -> reqwest::Response {
        http.get(self.url("/cas/login"))
            .query(params)
            .send()
            .await
            .unwrap()
    }

    /// `/cas/login?service=…` from `http`, signing in as `login` if asked: the URL the browser
    /// is sent back to.
    pub async fn cas_through(
        &self,
        http: &reqwest::Client,
        params: &[(&str, &str)],
        login: &str,
    ) -> Url {
        let res = self.cas_login(http, params).await;
        if res.status().is_redirection() {
            return location(&res);
        }
        assert_eq!(res.status(), 200);
        let page = res.text().await.unwrap();
        assert!(is_login_form(&page), "not a login page: {page}");
        let res = post_login(self, http, &page, login, PASSWORD).await;
        assert!(res.status().is_redirection(), "sign-in did not finish");
        location(&res)
    }

    /// A service ticket for `service`, signing in as `login` if asked.
    pub async fn cas_ticket(&self, http: &reqwest::Client, service: &str, login: &str) -> String {
        let back = self.cas_through(http, &[("service", service)], login).await;
        query_param(&back, "ticket").expect("a ticket")
    }

    /// `/cas/login?service=…` from `http` without a session, then the login form posted with
    /// `login`'s password: the POST's response.
    pub async fn cas_sign_in(
        &self,
        http: &reqwest::Client,
        params: &[(&str, &str)],
        login: &str,
    ) -> reqwest::Response {
        let res = self.cas_login(http, params).await;
        assert_eq!(res.status(), 200, "the login form was expected");
        let page = res.text().await.unwrap();
        assert!(is_login_form(&page), "not a login page: {page}");
        post_login(self, http, &page, login, PASSWORD).await
    }

    /// A validation endpoint's XML answer for `ticket` and `service`.
    pub async fn cas_xml(&self, path: &str, service: &str, ticket: &str) -> CasXml {
        let (status, body) = self
            .cas_get(path, &[("service", service), ("ticket", ticket)])
            .await;
        assert_eq!(status, 200, "{body}");
        parse_xml(&body)
    }

    /// A validation endpoint (`/cas/serviceValidate`…) with these parameters: status, body.
    pub async fn cas_get(&self, path: &str, params: &[(&str, &str)]) -> (u16, String) {
        let res = reqwest::Client::new()
            .get(self.url(path))
            .query(params)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }
}

/// A CAS XML service response, read back: the outcome element (`authenticationSuccess`,
/// `authenticationFailure`, `proxySuccess`, `proxyFailure`), its `code`, and the text of
/// every element by local name (repeated elements in order).
#[derive(Debug, Default)]
pub struct CasXml {
    pub outcome: String,
    pub code: Option<String>,
    pub text: BTreeMap<String, Vec<String>>,
    /// The namespace of the root element.
    pub namespace: Option<String>,
}

impl CasXml {
    pub fn one(&self, name: &str) -> Option<&str> {
        self.text
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.text
            .get(name)
            .map(|v| v.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }
}

pub fn parse_xml(body: &str) -> CasXml {
    let mut reader = Reader::from_str(body);
    reader.config_mut().trim_text(true);
    let mut out = CasXml::default();
    let mut stack: Vec<String> = Vec::new();
    // The text of the innermost open element; entities arrive as their own events.
    let mut text = String::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_owned();
                for a in e.attributes().flatten() {
                    let key = a.key.as_ref().to_owned();
                    #[allow(deprecated)]
                    let value = a.unescape_value().unwrap().into_owned();
                    if key == "code" {
                        out.code = Some(value);
                    } else if key == "xmlns:cas" {
                        out.namespace = Some(value);
                    }
                }
                if stack.len() == 1 {
                    out.outcome = name.clone();
                }
                stack.push(name);
                text.clear();
            }
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let entity = format!("&{};", &*r);
                text.push_str(&quick_xml::escape::unescape(&entity).unwrap());
            }
            Event::End(_) => {
                if let Some(name) = stack.pop()
                    && !text.is_empty()
                {
                    out.text
                        .entry(name)
                        .or_default()
                        .push(std::mem::take(&mut text).trim().to_owned());
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

/// The session cookie's `Set-Cookie` line in a response, if any.
pub fn session_set_cookie(res: &reqwest::Response) -> Option<String> {
    set_cookie(res, SESSION_COOKIE)
}

/// The ticket in a redirect back to a service, if any.
pub fn ticket_of(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get(reqwest::header::LOCATION)
        .and_then(|l| Url::parse(l.to_str().ok()?).ok())
        .and_then(|u| query_param(&u, "ticket"))
}

/// One request a [`CasApp`] received.
#[derive(Debug, Clone)]
pub struct Hit {
    pub method: String,
    /// Path and query.
    pub uri: String,
    pub body: String,
}

impl Hit {
    /// A parameter of the query.
    pub fn query(&self, name: &str) -> Option<String> {
        let q = self.uri.split_once('?').map_or("", |(_, q)| q);
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// A field of the form body.
    pub fn form(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.body.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// A CAS application's own server on 127.0.0.1:0 (its proxy callback, its single-logout
/// endpoint): records every request and answers each with one status (200 unless told).
pub struct CasApp {
    pub port: u16,
    hits: Arc<Mutex<Vec<Hit>>>,
    status: Arc<AtomicU16>,
}

impl CasApp {
    pub async fn start() -> CasApp {
        use axum::extract::State;
        use axum::http::{Method, StatusCode, Uri};

        type Shared = (Arc<Mutex<Vec<Hit>>>, Arc<AtomicU16>);
        async fn record(
            State((hits, status)): State<Shared>,
            method: Method,
            uri: Uri,
            body: String,
        ) -> StatusCode {
            hits.lock().unwrap().push(Hit {
                method: method.to_string(),
                uri: uri.to_string(),
                body,
            });
            StatusCode::from_u16(status.load(Ordering::SeqCst)).unwrap()
        }

        let hits = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let router = axum::Router::new()
            .fallback(record)
            .with_state((hits.clone(), status.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, router).await });
        CasApp { port, hits, status }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Answers every later request with `status`.
    pub fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// The requests received once there are at least `n`, waiting up to `secs` seconds (what
    /// came by then otherwise).
    pub async fn wait_for(&self, n: usize, secs: u64) -> Vec<Hit> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let hits = self.hits();
            if hits.len() >= n || tokio::time::Instant::now() >= deadline {
                return hits;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}
