//! The token endpoint (RFC 6749 §3.2, §4.1.3, §4.4, §6; RFC 7636; RFC 9700 §4.14): client
//! authentication, the three grants, PKCE, code and refresh-token replay, and CORS.
//! CONFORMANCE.md rows C01–C11, C13, D01–D03, D05, F01–F06; public clients, client_credentials
//! and CORS per issue 2 points 6–7.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::StatusCode;
use reqwest::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_ORIGIN, AUTHORIZATION, CACHE_CONTROL,
    CONTENT_TYPE, HeaderMap, PRAGMA, VARY, WWW_AUTHENTICATE,
};
use serde_json::Value;
use sha2::Digest;

use crate::helpers::*;

/// RFC 7636 Appendix B.
const RFC7636_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const RFC7636_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// An application with alice and one confidential first-party client `c1`.
async fn setup() -> (TestApp, TestClient) {
    let app = spawn_app().await;
    app.create_user("alice").await;
    let c1 = app.create_client("c1", |_| {}).await;
    (app, c1)
}

/// A code for `client` (alice signs in or is already signed in), with these extra parameters.
async fn code_with(app: &TestApp, client: &TestClient, extra: &[(&str, &str)]) -> String {
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
async fn pkce_code(app: &TestApp, client: &TestClient, scope: &str) -> (String, String) {
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
async fn redeem(
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

async fn redeem_ok(app: &TestApp, client: &TestClient, code: &str, verifier: &str) -> Value {
    let res = redeem(app, client, code, Some(verifier)).await;
    assert_eq!(res.status(), 200, "code redemption failed");
    res.json().await.unwrap()
}

/// `grant_type=refresh_token` as `client`.
async fn refresh_with(
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

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} missing or not a string in {v}"))
}

/// RFC 6749 §5.2: a JSON body with `error` = `code` and an `error_description` in
/// %x20-21 / %x23-5B / %x5D-7E. Returns the status and headers for the caller to check.
async fn oauth_error(res: reqwest::Response, code: &str) -> (StatusCode, HeaderMap) {
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

async fn assert_invalid_grant(res: reqwest::Response) {
    let (status, _) = oauth_error(res, "invalid_grant").await;
    assert_eq!(status, 400);
}

/// RFC 6749 §5.2: 401 with a Basic challenge.
async fn assert_invalid_client(res: reqwest::Response) {
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

async fn userinfo(app: &TestApp, access_token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(app.url("/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
}

/// RFC 6750 §3.1: a dead token at userinfo is 401 `error="invalid_token"`.
async fn assert_token_dead(app: &TestApp, access_token: &str) {
    let res = userinfo(app, access_token).await;
    assert_eq!(res.status(), 401, "the access token still works");
    let challenge = res.headers()[WWW_AUTHENTICATE].to_str().unwrap();
    assert!(
        challenge.contains("error=\"invalid_token\""),
        "challenge {challenge:?}"
    );
}

async fn assert_token_alive(app: &TestApp, access_token: &str) {
    assert_eq!(userinfo(app, access_token).await.status(), 200);
}

fn is_base64url(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn assert_no_store(headers: &HeaderMap) {
    assert_eq!(headers[CACHE_CONTROL], "no-store");
    assert_eq!(headers[PRAGMA], "no-cache");
}

// ---- C: authorization code and client authentication -------------------------------------

#[tokio::test]
async fn a_code_redeemed_with_basic_authentication_returns_bearer_tokens_no_cache_may_keep() {
    let (app, c1) = setup().await;
    let (code, verifier) = pkce_code(&app, &c1, "openid email").await;
    // C13: the code itself is 256 bits of base64url.
    assert_eq!(code.len(), 43);
    assert!(is_base64url(&code));
    let res = redeem(&app, &c1, &code, Some(&verifier)).await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_no_store(res.headers());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_i64().is_some_and(|e| e > 0), "{body}");
    assert!(body["expires_in"].is_u64(), "expires_in is an integer");
    let at = str_of(&body, "access_token");
    let id_token = str_of(&body, "id_token");
    assert_eq!(jwt_claims(id_token)["aud"], "c1");
    assert_eq!(jwt_claims(at)["scope"], "openid email");
    // C13: the refresh token is 256-bit random, base64url; the access token's jti too.
    let rt = str_of(&body, "refresh_token");
    assert_eq!(rt.len(), 43);
    assert!(is_base64url(rt));
    let jti = jwt_claims(at)["jti"].as_str().unwrap().to_owned();
    assert!(jti.len() >= 22 && is_base64url(&jti), "jti {jti}");
    assert_token_alive(&app, at).await;

    // A second flow gives different tokens.
    let (code2, verifier2) = pkce_code(&app, &c1, "openid").await;
    let body2 = redeem_ok(&app, &c1, &code2, &verifier2).await;
    assert_ne!(str_of(&body2, "refresh_token"), rt);
    assert_ne!(
        jwt_claims(str_of(&body2, "access_token"))["jti"],
        jti.as_str()
    );
}

#[tokio::test]
async fn a_code_redeemed_with_the_secret_in_the_body_returns_tokens() {
    let (app, c1) = setup().await;
    let (code, verifier) = pkce_code(&app, &c1, "openid").await;
    let res = reqwest::Client::new()
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", c1.redirect_uri.as_str()),
            ("code_verifier", verifier.as_str()),
            ("client_id", "c1"),
            ("client_secret", c1.secret.as_deref().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_no_store(res.headers());
    let body: Value = res.json().await.unwrap();
    assert!(body["id_token"].is_string() && body["access_token"].is_string());
}

/// Form-urlencodes every byte, even those that need no encoding.
fn encode_all(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[tokio::test]
async fn basic_credentials_are_form_urlencoded_before_base64() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    // Registration refuses ':' and spaces in a client_id; '+', '%' and '/' are allowed and
    // change under form-urlencoding (RFC 6749 §2.3.1, Appendix B).
    let client = app.create_client("rp+1%/x", |_| {}).await;
    let secret = client.secret.clone().unwrap();
    let encoded_id: String =
        form_urlencoded::byte_serialize(client.id.as_bytes()).collect::<String>();
    assert_eq!(encoded_id, "rp%2B1%25%2Fx");

    let basic =
        |id: &str, secret: &str| format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
    let attempt = |header: String, code: String, verifier: String| {
        let app_url = app.url("/token");
        let redirect = client.redirect_uri.clone();
        async move {
            reqwest::Client::new()
                .post(app_url)
                .header(AUTHORIZATION, header)
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", redirect.as_str()),
                    ("code_verifier", verifier.as_str()),
                ])
                .send()
                .await
                .unwrap()
        }
    };

    let (code, verifier) = pkce_code(&app, &client, "openid").await;
    let res = attempt(basic(&encoded_id, &secret), code, verifier).await;
    assert_eq!(res.status(), 200, "urlencoded Basic credentials refused");
    let body: Value = res.json().await.unwrap();
    assert_eq!(jwt_claims(str_of(&body, "id_token"))["aud"], "rp+1%/x");

    // Percent-encoding characters that need none is still the same credential.
    let (code, verifier) = pkce_code(&app, &client, "openid").await;
    let res = attempt(
        basic(&encode_all(&client.id), &encode_all(&secret)),
        code,
        verifier,
    )
    .await;
    assert_eq!(
        res.status(),
        200,
        "fully percent-encoded credentials refused"
    );
}

#[tokio::test]
async fn a_wrong_basic_secret_gets_401_invalid_client_with_a_basic_challenge() {
    let (app, c1) = setup().await;
    let (code, verifier) = pkce_code(&app, &c1, "openid").await;
    let wrong = TestClient {
        id: c1.id.clone(),
        secret: Some(format!("{}x", c1.secret.as_deref().unwrap())),
        redirect_uri: c1.redirect_uri.clone(),
    };
    assert_invalid_client(redeem(&app, &wrong, &code, Some(&verifier)).await).await;
    // Undecodable Basic credentials, and a scheme that is not Basic, fail the same way.
    for header in ["Basic !!!", "Basic YzE=", "Bearer abc"] {
        let res = reqwest::Client::new()
            .post(app.url("/token"))
            .header(AUTHORIZATION, header)
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", c1.redirect_uri.as_str()),
                ("code_verifier", verifier.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_invalid_client(res).await;
    }
    // A failed authentication does not burn the code.
    let res = redeem(&app, &c1, &code, Some(&verifier)).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_wrong_body_secret_an_unknown_client_or_no_authentication_get_invalid_client() {
    let (app, c1) = setup().await;
    let (code, verifier) = pkce_code(&app, &c1, "openid").await;
    let base = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", c1.redirect_uri.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    let post = |extra: Vec<(&'static str, String)>| {
        let mut form: Vec<(&str, String)> =
            base.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        form.extend(extra);
        let url = app.url("/token");
        async move {
            reqwest::Client::new()
                .post(url)
                .form(&form)
                .send()
                .await
                .unwrap()
        }
    };
    let cases: Vec<Vec<(&'static str, String)>> = vec![
        // Wrong body secret.
        vec![
            ("client_id", "c1".into()),
            ("client_secret", "not-the-secret".into()),
        ],
        // Unknown client.
        vec![
            ("client_id", "nobody".into()),
            ("client_secret", c1.secret.clone().unwrap()),
        ],
        // A confidential client without its secret.
        vec![("client_id", "c1".into())],
        // No authentication at all.
        vec![],
    ];
    for extra in cases {
        let what = format!("{extra:?}");
        let (status, _) = oauth_error(post(extra).await, "invalid_client").await;
        assert!(status == 400 || status == 401, "{what}: {status}");
    }
    // Unknown client through Basic: 401 with a challenge.
    let ghost = TestClient {
        id: "nobody".into(),
        secret: c1.secret.clone(),
        redirect_uri: c1.redirect_uri.clone(),
    };
    assert_invalid_client(redeem(&app, &ghost, &code, Some(&verifier)).await).await;
    // None of these consumed the code.
    assert_eq!(
        redeem(&app, &c1, &code, Some(&verifier)).await.status(),
        200
    );
}

#[tokio::test]
async fn basic_and_body_secrets_together_are_an_invalid_request() {
    let (app, c1) = setup().await;
    let (code, verifier) = pkce_code(&app, &c1, "openid").await;
    let secret = c1.secret.as_deref().unwrap();
    let res = reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth("c1", Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", c1.redirect_uri.as_str()),
            ("code_verifier", verifier.as_str()),
            ("client_id", "c1"),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap();
    let (status, _) = oauth_error(res, "invalid_request").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_code_redeemed_twice_fails_and_revokes_the_tokens_of_its_first_redemption() {
    let (app, c1) = setup().await;
    let (code, verifier) = pkce_code(&app, &c1, "openid").await;
    let first = redeem_ok(&app, &c1, &code, &verifier).await;
    let at = str_of(&first, "access_token");
    let rt = str_of(&first, "refresh_token");
    assert_token_alive(&app, at).await;

    app.clock.advance(30);
    assert_invalid_grant(redeem(&app, &c1, &code, Some(&verifier)).await).await;

    // RFC 6749 §4.1.2, ASVS 10.4.2: what the first redemption issued is revoked.
    assert_token_dead(&app, at).await;
    assert_invalid_grant(refresh_with(&app, &c1, rt, None).await).await;
}

#[tokio::test]
async fn concurrent_redemptions_of_one_code_never_both_succeed() {
    let (app, c1) = setup().await;
    for _ in 0..3 {
        let (code, verifier) = pkce_code(&app, &c1, "openid").await;
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let url = app.url("/token");
            let (id, secret) = (c1.id.clone(), c1.secret.clone().unwrap());
            let form = vec![
                ("grant_type", "authorization_code".to_owned()),
                ("code", code.clone()),
                ("redirect_uri", c1.redirect_uri.clone()),
                ("code_verifier", verifier.clone()),
            ];
            tasks.spawn(async move {
                reqwest::Client::new()
                    .post(url)
                    .basic_auth(id, Some(secret))
                    .form(&form)
                    .send()
                    .await
                    .unwrap()
            });
        }
        let mut issued = Vec::new();
        let mut refused = 0;
        while let Some(res) = tasks.join_next().await {
            let res = res.unwrap();
            if res.status() == 200 {
                let body: Value = res.json().await.unwrap();
                issued.push((
                    str_of(&body, "access_token").to_owned(),
                    str_of(&body, "refresh_token").to_owned(),
                ));
            } else {
                assert_invalid_grant(res).await;
                refused += 1;
            }
        }
        assert!(
            issued.len() <= 1,
            "one code redeemed {} times",
            issued.len()
        );
        assert!(refused >= 3);
        // At most one: the replays may revoke the grant before the first redemption has
        // finished creating it, and then that one is refused too. Whatever it issued is dead.
        for (at, rt) in &issued {
            assert_token_dead(&app, at).await;
            assert_invalid_grant(refresh_with(&app, &c1, rt, None).await).await;
        }
    }
}

#[tokio::test]
async fn a_code_issued_to_one_client_cannot_be_redeemed_by_another() {
    let (app, c1) = setup().await;
    let c2 = app.create_client("c2", |_| {}).await;
    let (code, verifier) = pkce_code(&app, &c1, "openid").await;
    // Same redirect URI for both clients: only the binding to the client differs.
    assert_eq!(c1.redirect_uri, c2.redirect_uri);
    assert_invalid_grant(redeem(&app, &c2, &code, Some(&verifier)).await).await;
}

#[tokio::test]
async fn a_code_needs_the_redirect_uri_of_its_authorization_request() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    let c1 = app
        .create_client("c1", |s| {
            s.redirect_uris = vec![
                "https://rp.example/cb".into(),
                "https://rp.example/other".into(),
            ];
        })
        .await;
    for redirect in [Some("https://rp.example/other"), None] {
        let (code, verifier) = pkce_code(&app, &c1, "openid").await;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("code_verifier", verifier.as_str()),
        ];
        if let Some(r) = redirect {
            form.push(("redirect_uri", r));
        }
        assert_invalid_grant(app.token(&c1, &form).await).await;
    }
}

#[tokio::test]
async fn a_code_expires_sixty_seconds_after_it_was_issued() {
    let (app, c1) = setup().await;
    let (young, young_verifier) = pkce_code(&app, &c1, "openid").await;
    let (old, old_verifier) = pkce_code(&app, &c1, "openid").await;
    app.clock.advance(50);
    assert_eq!(
        redeem(&app, &c1, &young, Some(&young_verifier))
            .await
            .status(),
        200,
        "a 50 s old code is still valid"
    );
    app.clock.advance(11);
    assert_invalid_grant(redeem(&app, &c1, &old, Some(&old_verifier)).await).await;
}

#[tokio::test]
async fn unknown_and_password_grant_types_are_unsupported() {
    let (app, c1) = setup().await;
    for grant in [
        "foo",
        "password",
        "urn:ietf:params:oauth:grant-type:device_code",
    ] {
        let res = app
            .token(
                &c1,
                &[
                    ("grant_type", grant),
                    ("username", "alice"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        let (status, _) = oauth_error(res, "unsupported_grant_type").await;
        assert_eq!(status, 400, "{grant}");
    }
}

#[tokio::test]
async fn the_token_endpoint_refuses_get() {
    let (app, c1) = setup().await;
    let res = reqwest::Client::new()
        .get(app.url("/token"))
        .basic_auth("c1", c1.secret.as_deref())
        .query(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    let body = res.text().await.unwrap();
    assert!(!body.contains("access_token"));
}

#[tokio::test]
async fn malformed_token_requests_are_invalid_requests() {
    let (app, c1) = setup().await;
    let (code, verifier) = pkce_code(&app, &c1, "openid").await;
    let r = c1.redirect_uri.as_str();
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "no code",
            vec![
                ("grant_type", "authorization_code"),
                ("redirect_uri", r),
                ("code_verifier", &verifier),
            ],
        ),
        (
            "no grant_type",
            vec![
                ("code", &code),
                ("redirect_uri", r),
                ("code_verifier", &verifier),
            ],
        ),
        (
            "repeated code",
            vec![
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code", &code),
                ("redirect_uri", r),
                ("code_verifier", &verifier),
            ],
        ),
        (
            "repeated grant_type",
            vec![
                ("grant_type", "authorization_code"),
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", r),
                ("code_verifier", &verifier),
            ],
        ),
        (
            "repeated redirect_uri",
            vec![
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", r),
                ("redirect_uri", r),
                ("code_verifier", &verifier),
            ],
        ),
    ];
    for (what, form) in cases {
        let (status, _) = oauth_error(app.token(&c1, &form).await, "invalid_request").await;
        assert_eq!(status, 400, "{what}");
    }
    // RFC 6749 §3.2: the body is application/x-www-form-urlencoded, nothing else.
    let json = serde_json::json!({
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": r,
        "code_verifier": verifier,
    });
    let res = reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth("c1", c1.secret.as_deref())
        .json(&json)
        .send()
        .await
        .unwrap();
    let (status, _) = oauth_error(res, "invalid_request").await;
    assert_eq!(status, 400, "JSON body");
    // None of the malformed requests consumed the code.
    assert_eq!(
        redeem(&app, &c1, &code, Some(&verifier)).await.status(),
        200
    );
}

// ---- D: PKCE -------------------------------------------------------------------------------

#[tokio::test]
async fn the_rfc_7636_example_verifier_redeems_its_code() {
    let (app, c1) = setup().await;
    assert_eq!(s256(RFC7636_VERIFIER), RFC7636_CHALLENGE);
    let code = code_with(
        &app,
        &c1,
        &[
            ("code_challenge", RFC7636_CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let body = redeem_ok(&app, &c1, &code, RFC7636_VERIFIER).await;
    assert!(body["id_token"].is_string());
}

#[tokio::test]
async fn a_wrong_or_missing_code_verifier_gets_invalid_grant() {
    let (app, c1) = setup().await;
    let code = code_with(
        &app,
        &c1,
        &[
            ("code_challenge", RFC7636_CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    // Well-formed, 43 characters, but not the one.
    let wrong = "eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    assert_invalid_grant(redeem(&app, &c1, &code, Some(wrong)).await).await;

    let code = code_with(
        &app,
        &c1,
        &[
            ("code_challenge", RFC7636_CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    assert_invalid_grant(redeem(&app, &c1, &code, None).await).await;
    // Nor does an empty verifier count as one.
    let code = code_with(
        &app,
        &c1,
        &[
            ("code_challenge", RFC7636_CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    assert_invalid_grant(redeem(&app, &c1, &code, Some("")).await).await;
}

#[tokio::test]
async fn a_code_verifier_for_a_code_issued_without_a_challenge_is_a_downgrade() {
    let (app, c1) = setup().await;
    let code = code_with(&app, &c1, &[]).await;
    assert_invalid_grant(redeem(&app, &c1, &code, Some(RFC7636_VERIFIER)).await).await;
    // Without a verifier, a confidential client's code without a challenge works.
    let code = code_with(&app, &c1, &[]).await;
    assert_eq!(redeem(&app, &c1, &code, None).await.status(), 200);
}

#[tokio::test]
async fn code_verifiers_outside_rfc_7636_syntax_are_refused_even_when_their_hash_matches() {
    let (app, c1) = setup().await;
    let with_challenge = |verifier: &str| {
        let challenge = s256(verifier);
        let app = &app;
        let c1 = &c1;
        async move {
            code_with(
                app,
                c1,
                &[
                    ("code_challenge", &challenge),
                    ("code_challenge_method", "S256"),
                ],
            )
            .await
        }
    };
    let too_short = "a".repeat(42);
    let too_long = "b".repeat(129);
    // base64 instead of base64url: '+' and '/' are outside [A-Za-z0-9-._~].
    let bad_chars = "dBjftJeZ4CVP+mB92K27uhbUJU1p1r/wW1gFWFOEjXk";
    let with_space = "dBjftJeZ4CVP mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    for verifier in [too_short.as_str(), too_long.as_str(), bad_chars, with_space] {
        let code = with_challenge(verifier).await;
        let (status, _) = oauth_error(
            redeem(&app, &c1, &code, Some(verifier)).await,
            "invalid_grant",
        )
        .await;
        assert_eq!(status, 400, "verifier {verifier:?} accepted");
    }
    // The bounds themselves are legal: 128 characters using every allowed symbol.
    let longest: String = "AZaz09-._~".chars().cycle().take(128).collect();
    let code = with_challenge(&longest).await;
    redeem_ok(&app, &c1, &code, &longest).await;
}

// ---- F: refresh tokens ---------------------------------------------------------------------

#[tokio::test]
async fn a_refresh_token_returns_a_new_bearer_access_token_that_no_cache_may_keep() {
    let (app, c1) = setup().await;
    let tokens = app.code_flow_tokens(&c1, "alice", "openid email").await;
    let rt = str_of(&tokens, "refresh_token");
    let res = refresh_with(&app, &c1, rt, None).await;
    assert_eq!(res.status(), 200);
    assert_no_store(res.headers());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_i64().is_some_and(|e| e > 0));
    let at = str_of(&body, "access_token");
    assert_ne!(at, str_of(&tokens, "access_token"));
    assert_eq!(jwt_claims(at)["scope"], "openid email");
    let new_rt = str_of(&body, "refresh_token");
    assert_ne!(new_rt, rt, "the refresh token rotates");
    assert_eq!(new_rt.len(), 43);
    assert!(is_base64url(new_rt));
    assert_token_alive(&app, at).await;
}

#[tokio::test]
async fn a_refreshed_id_token_keeps_the_identity_claims_with_a_newer_iat() {
    let (app, c1) = setup().await;
    let tokens = app.code_flow_tokens(&c1, "alice", "openid").await;
    let before = jwt_claims(str_of(&tokens, "id_token"));
    app.clock.advance(10);
    let res = refresh_with(&app, &c1, str_of(&tokens, "refresh_token"), None).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let after = jwt_claims(str_of(&body, "id_token"));
    for claim in ["iss", "sub", "aud", "auth_time"] {
        assert!(!before[claim].is_null(), "{claim} missing");
        assert_eq!(after[claim], before[claim], "{claim} changed");
    }
    if !before["azp"].is_null() {
        assert_eq!(after["azp"], before["azp"]);
    }
    assert!(
        after["iat"].as_i64().unwrap() >= before["iat"].as_i64().unwrap() + 10,
        "iat {} after {}",
        after["iat"],
        before["iat"]
    );
    assert!(after["exp"].as_i64().unwrap() > after["iat"].as_i64().unwrap());
}

#[tokio::test]
async fn a_refresh_token_of_another_client_is_refused_and_stays_valid_for_its_owner() {
    let (app, c1) = setup().await;
    let c2 = app.create_client("c2", |_| {}).await;
    let tokens = app.code_flow_tokens(&c2, "alice", "openid").await;
    let rt = str_of(&tokens, "refresh_token");
    assert_invalid_grant(refresh_with(&app, &c1, rt, None).await).await;
    assert_token_alive(&app, str_of(&tokens, "access_token")).await;
    let res = refresh_with(&app, &c2, rt, None).await;
    assert_eq!(res.status(), 200, "the owner's token was burned");
}

/// RFC 6749 §6: the token is validated and bound to the authenticated client before its
/// scope is compared; a foreign or revoked token is `invalid_grant` whatever scope is asked.
#[tokio::test]
async fn a_foreign_or_revoked_refresh_token_is_an_invalid_grant_whatever_scope_it_asks_for() {
    let (app, c1) = setup().await;
    let c2 = app.create_client("c2", |_| {}).await;
    let foreign = app.code_flow_tokens(&c2, "alice", "openid").await;
    assert_invalid_grant(
        refresh_with(
            &app,
            &c1,
            str_of(&foreign, "refresh_token"),
            Some("openid phone"),
        )
        .await,
    )
    .await;

    let revoked = app.code_flow_tokens(&c1, "alice", "openid").await;
    let res = reqwest::Client::new()
        .post(app.url("/revoke"))
        .basic_auth("c1", c1.secret.as_deref())
        .form(&[("token", str_of(&revoked, "refresh_token"))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_invalid_grant(
        refresh_with(
            &app,
            &c1,
            str_of(&revoked, "refresh_token"),
            Some("openid phone"),
        )
        .await,
    )
    .await;
}

#[tokio::test]
async fn a_refresh_may_narrow_the_scope_but_never_widen_it() {
    let (app, c1) = setup().await;
    let tokens = app
        .code_flow_tokens(&c1, "alice", "openid email profile")
        .await;
    let rt = str_of(&tokens, "refresh_token");
    // phone is registered for the client but was not granted.
    for wider in ["openid email phone", "openid email profile offline_access"] {
        let (status, _) = oauth_error(
            refresh_with(&app, &c1, rt, Some(wider)).await,
            "invalid_scope",
        )
        .await;
        assert_eq!(status, 400, "{wider}");
    }
    // The refused requests did not burn the token.
    let res = refresh_with(&app, &c1, rt, Some("openid email")).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["scope"], "openid email");
    let at = str_of(&body, "access_token");
    assert_eq!(jwt_claims(at)["scope"], "openid email");
    let id = jwt_claims(str_of(&body, "id_token"));
    assert!(id.get("given_name").is_none(), "profile claims released");
    let info: Value = userinfo(&app, at).await.json().await.unwrap();
    assert_eq!(info["email"], "alice@example.org");
    assert!(info.get("family_name").is_none(), "profile claims released");
}

/// RT1 → RT2; replaying RT1 revokes the family, so RT2 and every access token die too.
async fn rotation_family_dies_on_replay(app: &TestApp, client: &TestClient) {
    let tokens = app.code_flow_tokens(client, "alice", "openid").await;
    let rt1 = str_of(&tokens, "refresh_token");
    let at1 = str_of(&tokens, "access_token");
    let res = refresh_with(app, client, rt1, None).await;
    assert_eq!(res.status(), 200);
    let second: Value = res.json().await.unwrap();
    let rt2 = str_of(&second, "refresh_token");
    let at2 = str_of(&second, "access_token");
    assert_token_alive(app, at2).await;

    assert_invalid_grant(refresh_with(app, client, rt1, None).await).await;
    assert_invalid_grant(refresh_with(app, client, rt2, None).await).await;
    assert_token_dead(app, at1).await;
    assert_token_dead(app, at2).await;
}

#[tokio::test]
async fn replaying_a_rotated_refresh_token_revokes_the_whole_family() {
    let (app, c1) = setup().await;
    rotation_family_dies_on_replay(&app, &c1).await;
    let p1 = app
        .create_client("p1", |s| {
            s.public = true;
        })
        .await;
    rotation_family_dies_on_replay(&app, &p1).await;
}

#[tokio::test]
async fn logout_ends_session_refresh_tokens_but_offline_ones_survive() {
    let (app, c1) = setup().await;
    let session_bound = app.code_flow_tokens(&c1, "alice", "openid").await;
    // Same SSO session, now with offline_access (first-party: consent is implied).
    let (challenge, verifier) = pkce_pair();
    let code = code_with(
        &app,
        &c1,
        &[
            ("scope", "openid offline_access"),
            ("prompt", "consent"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let offline = redeem_ok(&app, &c1, &code, &verifier).await;
    assert_eq!(offline["scope"], "openid offline_access");
    assert_eq!(
        jwt_claims(str_of(&offline, "id_token"))["sid"],
        jwt_claims(str_of(&session_bound, "id_token"))["sid"]
    );

    let res = app
        .browser
        .get(app.url("/logout"))
        .query(&[
            ("id_token_hint", str_of(&session_bound, "id_token")),
            ("post_logout_redirect_uri", "https://rp.example/bye"),
        ])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection(), "logout: {}", res.status());

    assert_invalid_grant(
        refresh_with(&app, &c1, str_of(&session_bound, "refresh_token"), None).await,
    )
    .await;
    assert_token_dead(&app, str_of(&session_bound, "access_token")).await;

    let res = refresh_with(&app, &c1, str_of(&offline, "refresh_token"), None).await;
    assert_eq!(res.status(), 200, "the offline grant died with the session");
    let body: Value = res.json().await.unwrap();
    assert_token_alive(&app, str_of(&body, "access_token")).await;
    // ...and keeps rotating.
    let res = refresh_with(&app, &c1, str_of(&body, "refresh_token"), None).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_never_both_succeed() {
    let (app, c1) = setup().await;
    let tokens = app.code_flow_tokens(&c1, "alice", "openid").await;
    let rt = str_of(&tokens, "refresh_token").to_owned();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let url = app.url("/token");
        let secret = c1.secret.clone();
        let rt = rt.clone();
        tasks.spawn(async move {
            reqwest::Client::new()
                .post(url)
                .basic_auth("c1", secret)
                .form(&[("grant_type", "refresh_token"), ("refresh_token", &rt)])
                .send()
                .await
                .unwrap()
        });
    }
    let mut rotated = Vec::new();
    while let Some(res) = tasks.join_next().await {
        let res = res.unwrap();
        if res.status() == 200 {
            let body: Value = res.json().await.unwrap();
            rotated.push(str_of(&body, "refresh_token").to_owned());
        } else {
            // Never a 500 from a lost race: the losers are replays.
            assert_invalid_grant(res).await;
        }
    }
    assert!(
        rotated.len() <= 1,
        "one refresh token rotated {} times",
        rotated.len()
    );
    // The replays revoked the family, including the token the winner got.
    for rt2 in &rotated {
        assert_invalid_grant(refresh_with(&app, &c1, rt2, None).await).await;
    }
}

#[tokio::test]
async fn session_refresh_tokens_die_at_the_session_limit_and_offline_ones_when_idle() {
    let (app, c1) = setup().await;
    let session_bound = app.code_flow_tokens(&c1, "alice", "openid").await;
    let offline = app
        .code_flow_tokens(&c1, "alice", "openid offline_access")
        .await;
    assert_eq!(offline["scope"], "openid offline_access");

    // GUICHET_SESSION_ABSOLUTE_TTL defaults to 36000 s.
    app.clock.advance(36_001);
    assert_invalid_grant(
        refresh_with(&app, &c1, str_of(&session_bound, "refresh_token"), None).await,
    )
    .await;
    let res = refresh_with(&app, &c1, str_of(&offline, "refresh_token"), None).await;
    assert_eq!(
        res.status(),
        200,
        "the offline grant ended with the session"
    );
    let mut body: Value = res.json().await.unwrap();

    // GUICHET_OFFLINE_TTL (idle) defaults to 2592000 s; each use restarts it, so two uses
    // 2000000 s apart take the grant beyond 2592000 s of age.
    for _ in 0..2 {
        app.clock.advance(2_000_000);
        let res = refresh_with(&app, &c1, str_of(&body, "refresh_token"), None).await;
        assert_eq!(
            res.status(),
            200,
            "an offline token used within its idle time"
        );
        body = res.json().await.unwrap();
    }
    app.clock.advance(2_592_001);
    assert_invalid_grant(refresh_with(&app, &c1, str_of(&body, "refresh_token"), None).await).await;
}

// ---- Public clients ------------------------------------------------------------------------

async fn public_setup() -> (TestApp, TestClient) {
    let app = spawn_app().await;
    app.create_user("alice").await;
    let p1 = app.create_client("p1", |s| s.public = true).await;
    assert!(p1.secret.is_none());
    (app, p1)
}

#[tokio::test]
async fn a_public_client_must_send_a_pkce_challenge_to_get_a_code() {
    let (app, p1) = public_setup().await;
    let cb = app
        .authorize_through(
            &[
                ("response_type", "code"),
                ("client_id", "p1"),
                ("redirect_uri", &p1.redirect_uri),
                ("scope", "openid"),
                ("state", "st"),
            ],
            "alice",
        )
        .await;
    assert!(cb.as_str().starts_with(&p1.redirect_uri));
    assert_eq!(
        query_param(&cb, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(query_param(&cb, "state").as_deref(), Some("st"));
    assert!(query_param(&cb, "code").is_none());
}

#[tokio::test]
async fn a_public_client_redeems_its_code_with_its_client_id_and_no_secret() {
    let (app, p1) = public_setup().await;
    let (code, verifier) = pkce_code(&app, &p1, "openid").await;
    // No Authorization header: client_id in the body only.
    let res = redeem(&app, &p1, &code, Some(&verifier)).await;
    assert_eq!(res.status(), 200);
    assert_no_store(res.headers());
    let body: Value = res.json().await.unwrap();
    assert_eq!(jwt_claims(str_of(&body, "id_token"))["aud"], "p1");
    assert!(body["refresh_token"].is_string());

    // Without its verifier, a public client's code is worthless.
    let (code, _) = pkce_code(&app, &p1, "openid").await;
    assert_invalid_grant(redeem(&app, &p1, &code, None).await).await;
}

#[tokio::test]
async fn a_public_client_presenting_a_secret_is_refused() {
    let (app, p1) = public_setup().await;
    let (code, verifier) = pkce_code(&app, &p1, "openid").await;
    let res = reqwest::Client::new()
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", p1.redirect_uri.as_str()),
            ("code_verifier", verifier.as_str()),
            ("client_id", "p1"),
            ("client_secret", "anything"),
        ])
        .send()
        .await
        .unwrap();
    let (status, _) = oauth_error(res, "invalid_client").await;
    assert!(status == 400 || status == 401, "{status}");
    let res = reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth("p1", Some("anything"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", p1.redirect_uri.as_str()),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_invalid_client(res).await;
}

#[tokio::test]
async fn public_clients_may_not_use_client_credentials() {
    let (app, p1) = public_setup().await;
    let res = app
        .token(
            &p1,
            &[("grant_type", "client_credentials"), ("client_id", "p1")],
        )
        .await;
    let (status, _) = oauth_error(res, "unauthorized_client").await;
    assert_eq!(status, 400);
}

// ---- client_credentials --------------------------------------------------------------------

async fn service_client(app: &TestApp) -> TestClient {
    app.create_client("svc", |s| {
        s.grant_types = vec!["client_credentials".into()];
        s.scopes = vec!["api".into(), "openid".into()];
    })
    .await
}

#[tokio::test]
async fn client_credentials_without_scope_gets_the_clients_api_scopes_and_no_user_tokens() {
    let app = spawn_app().await;
    let svc = service_client(&app).await;
    let res = app
        .token(&svc, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(res.status(), 200);
    assert_no_store(res.headers());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_i64().is_some_and(|e| e > 0));
    assert_eq!(body["scope"], "api");
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert!(body.get("id_token").is_none(), "{body}");
    let at = str_of(&body, "access_token");
    assert_eq!(jwt_header(at)["typ"], "at+jwt");
    let claims = jwt_claims(at);
    assert_eq!(claims["sub"], "svc");
    assert_eq!(claims["client_id"], "svc");
    assert_eq!(claims["scope"], "api");
    assert!(claims.get("gid").is_none() && claims.get("auth_time").is_none());

    // Asking for the registered API scope explicitly gives the same.
    let res = app
        .token(
            &svc,
            &[("grant_type", "client_credentials"), ("scope", "api")],
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["scope"], "api");
}

#[tokio::test]
async fn client_credentials_refuses_scopes_not_registered_for_the_client() {
    let app = spawn_app().await;
    let svc = service_client(&app).await;
    // openid is about a person: it has no meaning without one.
    for scope in ["admin", "api admin", "openid"] {
        let res = app
            .token(
                &svc,
                &[("grant_type", "client_credentials"), ("scope", scope)],
            )
            .await;
        let (status, _) = oauth_error(res, "invalid_scope").await;
        assert_eq!(status, 400, "{scope}");
    }
}

#[tokio::test]
async fn a_client_without_the_client_credentials_grant_is_unauthorized_for_it() {
    let (app, c1) = setup().await;
    let res = app
        .token(&c1, &[("grant_type", "client_credentials")])
        .await;
    let (status, _) = oauth_error(res, "unauthorized_client").await;
    assert_eq!(status, 400);
    // And the service client may not use the code grant.
    let svc = service_client(&app).await;
    let res = app
        .token(
            &svc,
            &[
                ("grant_type", "authorization_code"),
                ("code", "whatever"),
                ("redirect_uri", "https://rp.example/cb"),
            ],
        )
        .await;
    let (status, _) = oauth_error(res, "unauthorized_client").await;
    assert_eq!(status, 400);
}

// ---- CORS ----------------------------------------------------------------------------------

#[tokio::test]
async fn the_token_endpoint_echoes_only_the_origin_of_the_authenticating_clients_redirect_uris() {
    let app = spawn_app().await;
    let svc = app
        .create_client("svc", |s| {
            s.grant_types = vec!["client_credentials".into()];
            s.scopes = vec!["api".into()];
            s.redirect_uris = vec!["https://rp.example/cb".into()];
        })
        .await;
    // Another client's origin is registered, but not for svc.
    app.create_client("other", |s| {
        s.redirect_uris = vec!["https://other.example/cb".into()];
    })
    .await;
    let with_origin = |origin: &'static str| {
        let url = app.url("/token");
        let secret = svc.secret.clone();
        async move {
            reqwest::Client::new()
                .post(url)
                .basic_auth("svc", secret)
                .header("Origin", origin)
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap()
        }
    };
    let res = with_origin("https://rp.example").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()
            .get(ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|v| v.to_str().unwrap()),
        Some("https://rp.example")
    );
    let vary = res.headers().get_all(VARY);
    assert!(
        vary.iter()
            .any(|v| v.to_str().unwrap().to_ascii_lowercase().contains("origin")),
        "no Vary: Origin"
    );
    assert!(
        res.headers()
            .get(ACCESS_CONTROL_ALLOW_CREDENTIALS)
            .is_none()
    );

    // Error responses are readable by the client's page too.
    let res = reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth("svc", svc.secret.clone())
        .header("Origin", "https://rp.example")
        .form(&[("grant_type", "client_credentials"), ("scope", "admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()
            .get(ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|v| v.to_str().unwrap()),
        Some("https://rp.example")
    );
    oauth_error(res, "invalid_scope").await;

    for origin in [
        "https://evil.example",
        "https://other.example",
        "https://rp.example:8443",
        "http://rp.example",
        "null",
    ] {
        let res = with_origin(origin).await;
        assert_eq!(res.status(), 200);
        assert!(
            res.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none(),
            "{origin} allowed"
        );
    }
}

#[tokio::test]
async fn a_preflight_from_a_registered_origin_is_allowed_and_others_are_not() {
    let (app, _c1) = setup().await;
    let preflight = |origin: &'static str| {
        let url = app.url("/token");
        async move {
            reqwest::Client::new()
                .request(reqwest::Method::OPTIONS, url)
                .header("Origin", origin)
                .header("Access-Control-Request-Method", "POST")
                .header(
                    "Access-Control-Request-Headers",
                    "authorization, content-type",
                )
                .send()
                .await
                .unwrap()
        }
    };
    let res = preflight("https://rp.example").await;
    assert_eq!(res.status(), 204);
    let h = res.headers();
    assert_eq!(h[ACCESS_CONTROL_ALLOW_ORIGIN], "https://rp.example");
    assert!(
        h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    let allowed_headers = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed_headers.contains("authorization") && allowed_headers.contains("content-type"));
    assert!(h.get(ACCESS_CONTROL_ALLOW_CREDENTIALS).is_none());

    let res = preflight("https://evil.example").await;
    assert!(res.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}
