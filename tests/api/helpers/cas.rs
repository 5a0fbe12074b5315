//! CAS from a service's side: registered services, `/cas/login` driven through the sign-in
//! pages, and the validation endpoints' answers read back from XML or JSON.

use std::collections::BTreeMap;

use guichet::domain::cas::{CasService, PatternKind};
use guichet::service::cas::registry::{ServiceSpec, register};
use quick_xml::Reader;
use quick_xml::events::Event;
use url::Url;

use super::browser::{is_login_form, location, post_login, query_param};
use super::{PASSWORD, TestApp};

/// The service URL most tests use (exact pattern).
pub const SERVICE: &str = "https://app.example/cas/callback";

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
