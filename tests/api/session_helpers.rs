//! Helpers shared by the browser-side tests of the SSO session (`logout`, `session`):
//! `prompt=none` probes, `Set-Cookie` lines, the logout confirmation page and its form.

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use scraper::{ElementRef, Html, Selector};
use serde_json::Value;

use crate::helpers::*;

pub const BYE: &str = "https://rp.example/bye";
/// What `prompt_none` reports when the session is alive and a code was issued.
pub const SIGNED_IN: &str = "code";

/// A client without a cookie jar and without redirects: cookies go in by hand.
pub fn bare_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

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

/// The page is the logout confirmation: no redirect, HTML, and its first form is a POST made of
/// hidden fields and one submit button only.
pub async fn assert_confirmation_page(res: reqwest::Response) -> String {
    assert_eq!(res.status(), 200);
    assert!(res.headers().get(LOCATION).is_none(), "no redirect");
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = res.text().await.unwrap();
    let form = first_form(&page);
    assert_eq!(form.method, "post");
    assert!(form.others.is_empty(), "other controls: {:?}", form.others);
    assert_eq!(form.submits, 1);
    assert!(
        form.hidden
            .iter()
            .any(|(n, v)| n == "csrf" && !v.is_empty())
    );
    page
}

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

pub async fn refresh(app: &TestApp, client: &TestClient, token: &str) -> (StatusCode, Value) {
    let res = app
        .token(
            client,
            &[("grant_type", "refresh_token"), ("refresh_token", token)],
        )
        .await;
    let status = res.status();
    (status, res.json().await.unwrap())
}

pub fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} missing in {v}"))
}

/// An app with its first-party client and a user "alice".
pub async fn app_with_alice() -> (TestApp, TestClient) {
    let app = spawn_app().await;
    app.create_user("alice").await;
    let client = app.create_client("rp1", |_| {}).await;
    (app, client)
}
