//! Helpers shared by the token endpoint tests (`token_code`, `token_refresh`, `token_clients`):
//! getting and redeeming codes, refreshing, and checking OAuth errors (RFC 6749 §5.2) and
//! access tokens.

use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderMap, PRAGMA, WWW_AUTHENTICATE};
use serde_json::Value;

use crate::helpers::*;

/// An application with alice and one confidential first-party client `c1`.
pub async fn setup() -> (TestApp, TestClient) {
    let app = spawn_app().await;
    app.create_user("alice").await;
    let c1 = app.create_client("c1", |_| {}).await;
    (app, c1)
}

/// A code for `client` (alice signs in or is already signed in), with these extra parameters.
pub async fn code_with(app: &TestApp, client: &TestClient, extra: &[(&str, &str)]) -> String {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client.id.as_str()),
        ("redirect_uri", client.redirect_uri.as_str()),
        ("state", "st"),
    ];
    if !extra.iter().any(|(k, _)| *k == "scope") {
        params.push(("scope", "openid"));
    }
    params.extend_from_slice(extra);
    let cb = app.authorize_through(&params, "alice").await;
    query_param(&cb, "code").unwrap_or_else(|| panic!("no code in {cb}"))
}

/// A code issued with a fresh S256 challenge, and its verifier.
pub async fn pkce_code(app: &TestApp, client: &TestClient, scope: &str) -> (String, String) {
    let (challenge, verifier) = pkce_pair();
    let code = code_with(
        app,
        client,
        &[
            ("scope", scope),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    (code, verifier)
}

/// Redeems a code as `client` (Basic for confidential clients, client_id in the body for
/// public ones).
pub async fn redeem(
    app: &TestApp,
    client: &TestClient,
    code: &str,
    verifier: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", client.redirect_uri.as_str()),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    if client.secret.is_none() {
        form.push(("client_id", client.id.as_str()));
    }
    app.token(client, &form).await
}

pub async fn redeem_ok(app: &TestApp, client: &TestClient, code: &str, verifier: &str) -> Value {
    let res = redeem(app, client, code, Some(verifier)).await;
    assert_eq!(res.status(), 200, "code redemption failed");
    res.json().await.unwrap()
}

/// `grant_type=refresh_token` as `client`.
pub async fn refresh_with(
    app: &TestApp,
    client: &TestClient,
    token: &str,
    scope: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    if client.secret.is_none() {
        form.push(("client_id", client.id.as_str()));
    }
    app.token(client, &form).await
}

pub fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} missing or not a string in {v}"))
}

/// RFC 6749 §5.2: a JSON body with `error` = `code` and an `error_description` in
/// %x20-21 / %x23-5B / %x5D-7E. Returns the status and headers for the caller to check.
pub async fn oauth_error(res: reqwest::Response, code: &str) -> (StatusCode, HeaderMap) {
    let status = res.status();
    let headers = res.headers().clone();
    let ct = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let text = res.text().await.unwrap();
    assert!(
        ct.starts_with("application/json"),
        "error with content type {ct:?}: {text}"
    );
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    assert_eq!(body["error"], code, "{status} {body}");
    let allowed = |s: &str| {
        s.bytes()
            .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
    };
    let description = str_of(&body, "error_description");
    assert!(!description.is_empty());
    assert!(
        allowed(description) && allowed(str_of(&body, "error")),
        "characters outside RFC 6749 §5.2: {body}"
    );
    (status, headers)
}

pub async fn assert_invalid_grant(res: reqwest::Response) {
    let (status, _) = oauth_error(res, "invalid_grant").await;
    assert_eq!(status, 400);
}

/// RFC 6749 §5.2: 401 with a Basic challenge.
pub async fn assert_invalid_client(res: reqwest::Response) {
    let (status, headers) = oauth_error(res, "invalid_client").await;
    assert_eq!(status, 401);
    let challenge = headers
        .get(WWW_AUTHENTICATE)
        .expect("WWW-Authenticate on invalid_client")
        .to_str()
        .unwrap();
    assert!(
        challenge.to_ascii_lowercase().starts_with("basic"),
        "challenge {challenge:?}"
    );
}

pub async fn userinfo(app: &TestApp, access_token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(app.url("/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
}

/// RFC 6750 §3.1: a dead token at userinfo is 401 `error="invalid_token"`.
pub async fn assert_token_dead(app: &TestApp, access_token: &str) {
    let res = userinfo(app, access_token).await;
    assert_eq!(res.status(), 401, "the access token still works");
    let challenge = res.headers()[WWW_AUTHENTICATE].to_str().unwrap();
    assert!(
        challenge.contains("error=\"invalid_token\""),
        "challenge {challenge:?}"
    );
}

pub async fn assert_token_alive(app: &TestApp, access_token: &str) {
    assert_eq!(userinfo(app, access_token).await.status(), 200);
}

pub fn is_base64url(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub fn assert_no_store(headers: &HeaderMap) {
    assert_eq!(headers[CACHE_CONTROL], "no-store");
    assert_eq!(headers[PRAGMA], "no-cache");
}
