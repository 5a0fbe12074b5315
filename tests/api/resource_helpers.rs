//! Helpers shared by the resource-side tests (`userinfo`, `revocation`): Bearer challenges,
//! the userinfo and introspection calls, and the tokens of a signed-in user.

use reqwest::header::{CACHE_CONTROL, WWW_AUTHENTICATE};
use serde_json::Value;

use crate::helpers::*;

/// Every response of these endpoints carries tokens or token metadata: never cached.
pub fn assert_no_store(res: &reqwest::Response) {
    assert_eq!(
        res.headers()
            .get(CACHE_CONTROL)
            .map(|v| v.to_str().unwrap()),
        Some("no-store"),
        "Cache-Control on {} {}",
        res.status(),
        res.url()
    );
}

/// The `WWW-Authenticate` challenge of a response.
pub fn challenge(res: &reqwest::Response) -> String {
    res.headers()
        .get(WWW_AUTHENTICATE)
        .expect("WWW-Authenticate header")
        .to_str()
        .unwrap()
        .to_owned()
}

/// The `error` attribute of a Bearer challenge (RFC 6750 §3), if any.
pub fn bearer_error(res: &reqwest::Response) -> Option<String> {
    let c = challenge(res);
    assert!(
        c.to_ascii_lowercase().starts_with("bearer"),
        "not a Bearer challenge: {c}"
    );
    let start = c.find("error=\"")? + "error=\"".len();
    let end = c[start..].find('"')? + start;
    Some(c[start..end].to_owned())
}

/// A 401 at userinfo with `error="invalid_token"`.
pub async fn assert_invalid_token(res: reqwest::Response, what: &str) {
    assert_eq!(res.status(), 401, "{what}");
    assert_eq!(
        bearer_error(&res).as_deref(),
        Some("invalid_token"),
        "{what}"
    );
    assert_no_store(&res);
    let body = res.text().await.unwrap();
    assert!(!body.contains("\"sub\""), "{what}: claims leaked: {body}");
}

pub async fn userinfo_get(app: &TestApp, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(app.url("/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

pub async fn introspect(app: &TestApp, client: &TestClient, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/introspect"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
}

/// Introspects and returns the JSON body, checking 200 and no-store.
pub async fn introspect_json(app: &TestApp, client: &TestClient, token: &str) -> Value {
    let res = introspect(app, client, token).await;
    assert_eq!(res.status(), 200);
    assert_no_store(&res);
    res.json().await.unwrap()
}

/// A signed-in user `alice`, a first-party confidential client `rp1` and the token response
/// of a code flow with `scope`.
pub async fn signed_in(app: &TestApp, scope: &str) -> (String, TestClient, Value) {
    let user = app.create_user("alice").await;
    let rp = app.create_client("rp1", |_| {}).await;
    let tokens = app.code_flow_tokens(&rp, "alice", scope).await;
    (user, rp, tokens)
}

pub fn at(tokens: &Value) -> String {
    tokens["access_token"].as_str().unwrap().to_owned()
}

pub fn rt(tokens: &Value) -> String {
    tokens["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned()
}
