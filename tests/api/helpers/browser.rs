//! The browser's side: HTTP clients, pages and their forms, redirects, cookies, `prompt=none`
//! probes and logout.

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use scraper::{ElementRef, Html, Selector};
use url::Url;

use super::{PASSWORD, TestApp, TestClient};

/// The post-logout redirect URI every test client registers.
pub const BYE: &str = "https://rp.example/bye";
/// What `prompt_none` reports when the session is alive and a code was issued.
pub const SIGNED_IN: &str = "code";

/// A browser: cookie jar, no automatic redirects.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// A client without a cookie jar and without redirects: cookies go in by hand.
pub fn bare_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

// ---- Redirects and pages ----------------------------------------------------------------------

pub fn location(res: &reqwest::Response) -> Url {
    let l = res
        .headers()
        .get(LOCATION)
        .expect("Location header")
        .to_str()
        .unwrap();
    Url::parse(l).unwrap()
}

pub fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The value of the hidden input `name` in an HTML page.
pub fn hidden(page: &str, name: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(page);
    let sel = scraper::Selector::parse(&format!("input[name=\"{name}\"]")).ok()?;
    doc.select(&sel)
        .next()?
        .value()
        .attr("value")
        .map(str::to_owned)
}

/// Sends `req`: the response, whatever its status.
pub async fn send(req: reqwest::RequestBuilder) -> reqwest::Response {
    req.send().await.unwrap()
}

/// Sends `req` and reads the body as text, whatever the status.
pub async fn text_of(req: reqwest::RequestBuilder) -> String {
    req.send().await.unwrap().text().await.unwrap()
}

/// Sends `req` and reads the body as JSON, whatever the status.
pub async fn json_of(req: reqwest::RequestBuilder) -> serde_json::Value {
    req.send().await.unwrap().json().await.unwrap()
}

/// The first form of a page: its method, action, hidden fields, how many submit buttons it
/// has and which other controls (anything a user would fill in).
pub struct Form {
    pub method: String,
    pub action: String,
    pub hidden: Vec<(String, String)>,
    pub submits: usize,
    pub others: Vec<String>,
}

pub fn first_form(page: &str) -> Form {
    let doc = Html::parse_document(page);
    let sel = Selector::parse("form").unwrap();
    let form = doc.select(&sel).next().expect("a form");
    let mut out = Form {
        method: form
            .value()
            .attr("method")
            .unwrap_or("get")
            .to_ascii_lowercase(),
        action: form.value().attr("action").unwrap_or("").to_owned(),
        hidden: vec![],
        submits: 0,
        others: vec![],
    };
    for el in form.descendants().filter_map(ElementRef::wrap) {
        let attr = |n: &str| el.value().attr(n).map(str::to_ascii_lowercase);
        match el.value().name() {
            "input" => match attr("type").as_deref().unwrap_or("text") {
                "hidden" => out.hidden.push((
                    el.value().attr("name").unwrap_or("").to_owned(),
                    el.value().attr("value").unwrap_or("").to_owned(),
                )),
                "submit" => out.submits += 1,
                t => out.others.push(format!("input type={t}")),
            },
            "button" => match attr("type").as_deref().unwrap_or("submit") {
                "submit" => out.submits += 1,
                t => out.others.push(format!("button type={t}")),
            },
            n @ ("select" | "textarea") => out.others.push(n.to_owned()),
            _ => {}
        }
    }
    out
}

// ---- Cookies --------------------------------------------------------------------------------

/// The `Set-Cookie` header line that sets `name`, if any.
pub fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|l| l.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// The value part of a `Set-Cookie` line.
pub fn cookie_value(line: &str) -> String {
    let pair = line.split(';').next().unwrap();
    pair.split_once('=').unwrap().1.to_owned()
}

// ---- The authorization request, sign-in and consent ----------------------------------------

/// A code request for `client` (scope openid, state st1), then `extra`.
pub fn auth_params<'a>(
    client: &'a TestClient,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client.id.as_str()),
        ("redirect_uri", client.redirect_uri.as_str()),
        ("scope", "openid"),
        ("state", "st1"),
    ];
    params.extend_from_slice(extra);
    params
}

impl TestApp {
    /// GET /authorize with these parameters, as the browser.
    pub async fn authorize(&self, params: &[(&str, &str)]) -> reqwest::Response {
        self.browser
            .get(self.url("/authorize"))
            .query(params)
            .send()
            .await
            .unwrap()
    }

    /// Posts the login form found in `page` with these credentials, as the browser.
    pub async fn submit_login(
        &self,
        page: &str,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        post_login(self, &self.browser, page, username, password).await
    }

    /// Approves (or denies) the consent form found in `page`.
    pub async fn submit_consent(&self, page: &str, approve: bool) -> reqwest::Response {
        let csrf = hidden(page, "csrf").expect("csrf field");
        let request = hidden(page, "request").expect("request field");
        let binding = hidden(page, "binding").expect("binding field");
        let decision = if approve { "approve" } else { "deny" };
        self.browser
            .post(self.url("/consent"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("request", request.as_str()),
                ("binding", binding.as_str()),
                ("decision", decision),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Drives an authorization request to its redirect: signs in as `login` if asked, approves
    /// consent if asked. Returns the callback URL.
    pub async fn authorize_through(&self, params: &[(&str, &str)], login: &str) -> Url {
        let mut res = self.authorize(params).await;
        for _ in 0..3 {
            if res.status().is_redirection() {
                return location(&res);
            }
            assert_eq!(res.status(), 200, "unexpected status");
            let page = res.text().await.unwrap();
            res = if page.contains("name=\"password\"") {
                self.submit_login(&page, login, PASSWORD).await
            } else if page.contains("name=\"decision\"") {
                self.submit_consent(&page, true).await
            } else {
                panic!("unexpected page: {page}");
            };
        }
        panic!("no redirect after login and consent");
    }
}

/// Posts the login form found in `page` from `http` (its CSRF token and sealed flow, if any).
pub async fn post_login(
    app: &TestApp,
    http: &reqwest::Client,
    page: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    let mut form = vec![
        ("csrf", hidden(page, "csrf").expect("csrf field")),
        ("username", username.into()),
        ("password", password.into()),
    ];
    if let Some(f) = hidden(page, "flow") {
        form.push(("flow", f));
    }
    http.post(app.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// Opens the login page of an authorization request for `client` from `http`.
pub async fn login_page(
    app: &TestApp,
    http: &reqwest::Client,
    client: &TestClient,
    extra: &[(&str, &str)],
) -> String {
    let res = http
        .get(app.url("/authorize"))
        .query(&auth_params(client, extra))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("name=\"password\""),
        "not a login page: {page}"
    );
    page
}

/// Signs in from `http` through an authorization request; returns the login POST response.
pub async fn sign_in(
    app: &TestApp,
    http: &reqwest::Client,
    client: &TestClient,
    username: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let page = login_page(app, http, client, extra).await;
    post_login(app, http, &page, username, PASSWORD).await
}

/// A `prompt=none` request from `http` (with `cookie` as the Cookie header if given):
/// `SIGNED_IN` when a code came back, else the error code.
pub async fn prompt_none_with(
    app: &TestApp,
    http: &reqwest::Client,
    client: &TestClient,
    cookie: Option<&str>,
) -> String {
    let mut req = http
        .get(app.url("/authorize"))
        .query(&auth_params(client, &[("prompt", "none")]));
    if let Some(c) = cookie {
        req = req.header(COOKIE, c);
    }
    let res = req.send().await.unwrap();
    assert!(
        res.status().is_redirection(),
        "prompt=none must redirect, got {}",
        res.status()
    );
    let cb = location(&res);
    assert!(cb.as_str().starts_with(&client.redirect_uri));
    if query_param(&cb, "code").is_some() {
        SIGNED_IN.into()
    } else {
        query_param(&cb, "error").expect("a code or an error")
    }
}

/// `prompt=none` as the test's browser.
pub async fn prompt_none(app: &TestApp, client: &TestClient) -> String {
    prompt_none_with(app, &app.browser, client, None).await
}

// ---- Logout ---------------------------------------------------------------------------------

/// GET /logout from `http` with these parameters.
pub async fn end_session(
    http: &reqwest::Client,
    app: &TestApp,
    params: &[(&str, &str)],
) -> reqwest::Response {
    http.get(app.url("/logout"))
        .query(params)
        .send()
        .await
        .unwrap()
}

/// RP-initiated logout as the browser: GET /logout with `id_token` as the hint, `BYE` as the
/// post-logout redirect URI and `state` if given.
pub async fn logout_with_hint(
    app: &TestApp,
    id_token: &str,
    state: Option<&str>,
) -> reqwest::Response {
    let mut params = vec![
        ("id_token_hint", id_token),
        ("post_logout_redirect_uri", BYE),
    ];
    if let Some(s) = state {
        params.push(("state", s));
    }
    end_session(&app.browser, app, &params).await
}
