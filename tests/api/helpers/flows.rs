//! The protocol's requests: codes and their redemption (RFC 6749 §4.1, RFC 7636), refresh
//! (§6), client credentials (§4.4), revocation (RFC 7009), introspection (RFC 7662) and
//! userinfo (Core §5.3).

use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{
    TestApp, TestClient, assert_no_store, auth_params, authorize_through_from, b64, query_param,
    send,
};

/// A PKCE (challenge, verifier) pair, S256.
pub fn pkce_pair() -> (String, String) {
    let verifier = guichet::crypto::token::random_token();
    (s256(&verifier), verifier)
}

/// RFC 7636 §4.2: the S256 challenge of a verifier.
pub fn s256(verifier: &str) -> String {
    b64(&Sha256::digest(verifier.as_bytes()))
}

impl TestApp {
    /// A POST to `path` on this node from a fresh client, to finish and send.
    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new().post(self.url(path))
    }

    /// Posts `form` to `path` without any client authentication.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        send(self.post(path).form(form)).await
    }

    /// Posts `form` to `path` with `client`'s Basic credentials (its id and secret, if any).
    pub async fn post_as(
        &self,
        client: &TestClient,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        send(
            self.post(path)
                .basic_auth(&client.id, client.secret.as_deref())
                .form(form),
        )
        .await
    }

    /// Posts to the token endpoint with client_secret_basic (public clients send no header).
    pub async fn token(&self, client: &TestClient, form: &[(&str, &str)]) -> reqwest::Response {
        let mut req = self.post("/token").form(form);
        req = match &client.secret {
            Some(s) => req.basic_auth(&client.id, Some(s)),
            None => req,
        };
        send(req).await
    }

    /// Runs the code flow for `client` and redeems the code: the token response JSON.
    pub async fn code_flow_tokens(&self, client: &TestClient, login: &str, scope: &str) -> Value {
        let (challenge, verifier) = pkce_pair();
        let cb = self
            .authorize_through(
                &[
                    ("response_type", "code"),
                    ("client_id", &client.id),
                    ("redirect_uri", &client.redirect_uri),
                    ("scope", scope),
                    ("state", "s1"),
                    ("nonce", "n1"),
                    ("code_challenge", &challenge),
                    ("code_challenge_method", "S256"),
                ],
                login,
            )
            .await;
        let code = query_param(&cb, "code").expect("code in callback");
        redeem_ok(self, client, &code, &verifier).await
    }
}

// ---- Codes ----------------------------------------------------------------------------------

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

/// The code flow from `http` for `client` (S256 challenge), as `login`: the token response.
pub async fn tokens_from(
    app: &TestApp,
    http: &reqwest::Client,
    client: &TestClient,
    login: &str,
) -> Value {
    let (challenge, verifier) = pkce_pair();
    let params = auth_params(
        client,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let cb = authorize_through_from(app, http, &params, login).await;
    let code = query_param(&cb, "code").unwrap_or_else(|| panic!("no code in {cb}"));
    redeem_ok(app, client, &code, &verifier).await
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

/// The body of a code redemption for `client`, without any client authentication.
pub fn code_form<'a>(
    client: &'a TestClient,
    code: &'a str,
    verifier: Option<&'a str>,
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", client.redirect_uri.as_str()),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    form
}

/// Redeems a code as `client` (Basic for confidential clients, client_id in the body for
/// public ones).
pub async fn redeem(
    app: &TestApp,
    client: &TestClient,
    code: &str,
    verifier: Option<&str>,
) -> reqwest::Response {
    let mut form = code_form(client, code, verifier);
    if client.secret.is_none() {
        form.push(("client_id", client.id.as_str()));
    }
    app.token(client, &form).await
}

/// Redeems a code with its verifier and expects tokens: the token response JSON.
pub async fn redeem_ok(app: &TestApp, client: &TestClient, code: &str, verifier: &str) -> Value {
    let res = redeem(app, client, code, Some(verifier)).await;
    assert_eq!(res.status(), 200, "code redemption failed");
    res.json().await.unwrap()
}

// ---- Refresh --------------------------------------------------------------------------------

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

/// A refresh as `client`: the status and the JSON body.
pub async fn refresh(app: &TestApp, client: &TestClient, token: &str) -> (StatusCode, Value) {
    let res = refresh_with(app, client, token, None).await;
    let status = res.status();
    (status, res.json().await.unwrap())
}

/// `grant_type=client_credentials` with `scope` as `client`: the token response JSON.
pub async fn client_credentials(app: &TestApp, client: &TestClient, scope: &str) -> Value {
    let res = app
        .token(
            client,
            &[("grant_type", "client_credentials"), ("scope", scope)],
        )
        .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

// ---- Resource side --------------------------------------------------------------------------

/// RFC 7009: posts `form` to /revoke with `client`'s Basic credentials.
pub async fn revoke(
    app: &TestApp,
    client: &TestClient,
    form: &[(&str, &str)],
) -> reqwest::Response {
    app.post_as(client, "/revoke", form).await
}

/// GET /userinfo with the token in the Authorization header.
pub async fn userinfo_get(app: &TestApp, token: &str) -> reqwest::Response {
    send(
        reqwest::Client::new()
            .get(app.url("/userinfo"))
            .bearer_auth(token),
    )
    .await
}

/// RFC 7662: introspects `token` with `client`'s Basic credentials.
pub async fn introspect(app: &TestApp, client: &TestClient, token: &str) -> reqwest::Response {
    app.post_as(client, "/introspect", &[("token", token)])
        .await
}

/// Introspects and returns the JSON body, checking 200 and no-store.
pub async fn introspect_json(app: &TestApp, client: &TestClient, token: &str) -> Value {
    let res = introspect(app, client, token).await;
    assert_eq!(res.status(), 200);
    assert_no_store(&res);
    res.json().await.unwrap()
}
