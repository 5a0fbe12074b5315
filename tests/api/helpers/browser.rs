//! The browser's side: HTTP clients, pages and their forms, redirects, cookies, `prompt=none`
//! probes and logout.

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use scraper::{ElementRef, Html, Selector};
use url::Url;

use super::{PASSWORD, TestApp, TestClient, assert_consent_page};

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
    // guichet's own pages are named by path ("/account"): read against a placeholder origin.
    Url::parse(l)
        .or_else(|_| Url::parse("http://guichet.invalid/").unwrap().join(l))
        .unwrap()
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

/// Submits `form` from `http` as a browser would: its hidden fields, posted to its action.
pub async fn submit_form(app: &TestApp, http: &reqwest::Client, form: &Form) -> reqwest::Response {
    http.post(app.url(&form.action))
        .form(&form.hidden)
        .send()
        .await
        .unwrap()
}

/// Posts `page`'s first form to `action` as a person fills it: its hidden fields (CSRF token,
/// flow or state id) and `fields`.
pub async fn fill_and_post(
    app: &TestApp,
    http: &reqwest::Client,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form: Vec<(String, String)> = first_form(page).hidden;
    form.extend(
        fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    http.post(app.url(action)).form(&form).send().await.unwrap()
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

pub fn is_login_form(page: &str) -> bool {
    page.contains("name=\"password\"")
}

pub fn is_consent_form(page: &str) -> bool {
    page.contains("name=\"decision\"")
}

impl TestApp {
    /// GET /authorize with these parameters, as the browser.
    pub async fn authorize(&self, params: &[(&str, &str)]) -> reqwest::Response {
        authorize_from(self, &self.browser, params).await
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

    /// Approves (or denies) the consent form found in `page`, as the browser.
    pub async fn submit_consent(&self, page: &str, approve: bool) -> reqwest::Response {
        answer_consent(self, &self.browser, page, approve).await
    }

    /// Drives an authorization request to its redirect as the browser: signs in as `login` if
    /// asked, approves consent if asked. Returns the callback URL.
    pub async fn authorize_through(&self, params: &[(&str, &str)], login: &str) -> Url {
        authorize_through_from(self, &self.browser, params, login).await
    }
}

/// `GET /authorize` from `http`.
pub async fn authorize_from(
    app: &TestApp,
    http: &reqwest::Client,
    params: &[(&str, &str)],
) -> reqwest::Response {
    http.get(app.url("/authorize"))
        .query(params)
        .send()
        .await
        .unwrap()
}

/// Drives an authorization request from `http` to its redirect: signs in as `login` if asked,
/// approves consent if asked. Returns the callback URL.
pub async fn authorize_through_from(
    app: &TestApp,
    http: &reqwest::Client,
    params: &[(&str, &str)],
    login: &str,
) -> Url {
    let mut res = authorize_from(app, http, params).await;
    for _ in 0..3 {
        if res.status().is_redirection() {
            return location(&res);
        }
        assert_eq!(res.status(), 200, "unexpected status");
        let page = res.text().await.unwrap();
        res = if is_login_form(&page) {
            post_login(app, http, &page, login, PASSWORD).await
        } else if is_consent_form(&page) {
            answer_consent(app, http, &page, true).await
        } else {
            panic!("unexpected page: {page}");
        };
    }
    panic!("no redirect after login and consent");
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

/// The login page of an authorization request from `http` (which must have no usable
/// session for it).
pub async fn login_page_from(
    app: &TestApp,
    http: &reqwest::Client,
    params: &[(&str, &str)],
) -> String {
    let res = authorize_from(app, http, params).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(is_login_form(&page), "not a login page: {page}");
    page
}

/// The page `GET /login` shows `http` (no authorization request): the login form, or the
/// signed-in page.
pub async fn get_login(app: &TestApp, http: &reqwest::Client) -> String {
    text_of(http.get(app.url("/login"))).await
}

/// Opens the login page of an authorization request for `client` from `http`.
pub async fn login_page(
    app: &TestApp,
    http: &reqwest::Client,
    client: &TestClient,
    extra: &[(&str, &str)],
) -> String {
    login_page_from(app, http, &auth_params(client, extra)).await
}

/// From `http` without a session: the login form, alice's password, then the consent page
/// (the client must ask consent).
pub async fn consent_page_from(
    app: &TestApp,
    http: &reqwest::Client,
    params: &[(&str, &str)],
) -> String {
    let page = login_page_from(app, http, params).await;
    let res = post_login(app, http, &page, "alice", PASSWORD).await;
    assert_consent_page(res).await
}

/// Approves (or denies) the consent form found in `page`, from `http`.
pub async fn answer_consent(
    app: &TestApp,
    http: &reqwest::Client,
    page: &str,
    approve: bool,
) -> reqwest::Response {
    let field = |name: &str| hidden(page, name).unwrap_or_else(|| panic!("no {name} field"));
    let decision = if approve { "approve" } else { "deny" };
    let fields = [field("csrf"), field("request"), field("binding")];
    consent_decision(app, http, &fields.each_ref().map(String::as_str), decision).await
}

/// Approves consent from `http` with these form fields, whichever page they come from.
pub async fn post_consent(
    app: &TestApp,
    http: &reqwest::Client,
    csrf: &str,
    request: &str,
    binding: &str,
) -> reqwest::Response {
    consent_decision(app, http, &[csrf, request, binding], "approve").await
}

/// Posts `decision` to /consent from `http` with the csrf, request and binding fields.
async fn consent_decision(
    app: &TestApp,
    http: &reqwest::Client,
    [csrf, request, binding]: &[&str; 3],
    decision: &str,
) -> reqwest::Response {
    http.post(app.url("/consent"))
        .form(&[
            ("csrf", *csrf),
            ("request", *request),
            ("binding", *binding),
            ("decision", decision),
        ])
        .send()
        .await
        .unwrap()
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
