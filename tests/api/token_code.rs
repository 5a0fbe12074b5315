//! The token endpoint's authorization_code grant (RFC 6749 §3.2, §4.1.3; RFC 7636; RFC 9700
//! §4.14): client authentication, the code grant, PKCE and code replay.
//! CONFORMANCE.md rows C01–C11, C13, D01–D03, D05.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::Value;

use crate::helpers::*;

/// RFC 7636 Appendix B.
const RFC7636_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const RFC7636_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A code issued with this S256 challenge.
async fn challenged_code(app: &TestApp, client: &TestClient, challenge: &str) -> String {
    let pkce = [
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    code_with(app, client, &pkce).await
}

// ---- C: authorization code and client authentication -------------------------------------

#[tokio::test]
async fn a_code_redeemed_with_basic_authentication_returns_bearer_tokens_no_cache_may_keep() {
    let (app, c1) = app_with_alice_and("c1").await;
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
    assert_no_store_no_cache(&res);
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
    let (app, c1) = app_with_alice_and("c1").await;
    let (code, verifier) = pkce_code(&app, &c1, "openid").await;
    let form = secret_in_body(&c1, &code, &verifier);
    let res = app.post_form("/token", &form).await;
    assert_eq!(res.status(), 200);
    assert_no_store_no_cache(&res);
    let body: Value = res.json().await.unwrap();
    assert!(body["id_token"].is_string() && body["access_token"].is_string());
}

/// A code redemption with the client's id and secret in the body (client_secret_post).
fn secret_in_body<'a>(
    client: &'a TestClient,
    code: &'a str,
    verifier: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut form = code_form(client, code, Some(verifier));
    form.push(("client_id", &client.id));
    form.push(("client_secret", client.secret.as_deref().unwrap()));
    form
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
    let attempt = |header: String, code: &str, verifier: &str| {
        let form = code_form(&client, code, Some(verifier));
        send(app.post("/token").header(AUTHORIZATION, header).form(&form))
    };

    let (code, verifier) = pkce_code(&app, &client, "openid").await;
    let res = attempt(basic(&encoded_id, &secret), &code, &verifier).await;
    assert_eq!(res.status(), 200, "urlencoded Basic credentials refused");
    let body: Value = res.json().await.unwrap();
    assert_eq!(jwt_claims(str_of(&body, "id_token"))["aud"], "rp+1%/x");

    // Percent-encoding characters that need none is still the same credential.
    let (code, verifier) = pkce_code(&app, &client, "openid").await;
    let res = attempt(
        basic(&encode_all(&client.id), &encode_all(&secret)),
        &code,
        &verifier,
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
    let (app, c1) = app_with_alice_and("c1").await;
    let (code, verifier) = pkce_code(&app, &c1, "openid").await;
    let wrong_secret = format!("{}x", c1.secret.as_deref().unwrap());
    let wrong = c1.with_credentials(&c1.id, Some(&wrong_secret));
    assert_invalid_client(redeem(&app, &wrong, &code, Some(&verifier)).await).await;
    // Undecodable Basic credentials, and a scheme that is not Basic, fail the same way.
    let form = code_form(&c1, &code, Some(&verifier));
    for header in ["Basic !!!", "Basic YzE=", "Bearer abc"] {
        let res = send(app.post("/token").header(AUTHORIZATION, header).form(&form)).await;
        assert_invalid_client(res).await;
    }
    // A failed authentication does not burn the code.
    redeem_ok(&app, &c1, &code, &verifier).await;
}

#[tokio::test]
async fn a_wrong_body_secret_an_unknown_client_or_no_authentication_get_invalid_client() {
    let (app, c1) = app_with_alice_and("c1").await;
    let (code, verifier) = pkce_code(&app, &c1, "openid").await;
    let secret = c1.secret.as_deref().unwrap();
    let cases: Vec<Vec<(&str, &str)>> = vec![
        // Wrong body secret.
        vec![("client_id", "c1"), ("client_secret", "not-the-secret")],
        // Unknown client.
        vec![("client_id", "nobody"), ("client_secret", secret)],
        // A confidential client without its secret.
        vec![("client_id", "c1")],
        // No authentication at all.
        vec![],
    ];
    for extra in cases {
        let mut form = code_form(&c1, &code, Some(&verifier));
        form.extend(&extra);
        let res = app.post_form("/token", &form).await;
        let (status, _) = oauth_error(res, "invalid_client").await;
        assert!(status == 400 || status == 401, "{extra:?}: {status}");
    }
    // Unknown client through Basic: 401 with a challenge.
    let ghost = c1.with_credentials("nobody", Some(secret));
    assert_invalid_client(redeem(&app, &ghost, &code, Some(&verifier)).await).await;
    // None of these consumed the code.
    redeem_ok(&app, &c1, &code, &verifier).await;
}

#[tokio::test]
async fn basic_and_body_secrets_together_are_an_invalid_request() {
    let (app, c1) = app_with_alice_and("c1").await;
    let (code, verifier) = pkce_code(&app, &c1, "openid").await;
    let form = secret_in_body(&c1, &code, &verifier);
    // Basic credentials too.
    let (status, _) = oauth_error(app.token(&c1, &form).await, "invalid_request").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_code_redeemed_twice_fails_and_revokes_the_tokens_of_its_first_redemption() {
    let (app, c1) = app_with_alice_and("c1").await;
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
    let (app, c1) = app_with_alice_and("c1").await;
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
    let (app, c1) = app_with_alice_and("c1").await;
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
    let (app, c1) = app_with_alice_and("c1").await;
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
    let (app, c1) = app_with_alice_and("c1").await;
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
    let (app, c1) = app_with_alice_and("c1").await;
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
    let (app, c1) = app_with_alice_and("c1").await;
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
    let res = send(
        app.post("/token")
            .basic_auth("c1", c1.secret.as_deref())
            .json(&json),
    )
    .await;
    let (status, _) = oauth_error(res, "invalid_request").await;
    assert_eq!(status, 400, "JSON body");
    // None of the malformed requests consumed the code.
    redeem_ok(&app, &c1, &code, &verifier).await;
}

// ---- D: PKCE -------------------------------------------------------------------------------

#[tokio::test]
async fn the_rfc_7636_example_verifier_redeems_its_code() {
    let (app, c1) = app_with_alice_and("c1").await;
    assert_eq!(s256(RFC7636_VERIFIER), RFC7636_CHALLENGE);
    let code = challenged_code(&app, &c1, RFC7636_CHALLENGE).await;
    let body = redeem_ok(&app, &c1, &code, RFC7636_VERIFIER).await;
    assert!(body["id_token"].is_string());
}

#[tokio::test]
async fn a_wrong_or_missing_code_verifier_gets_invalid_grant() {
    let (app, c1) = app_with_alice_and("c1").await;
    let code = challenged_code(&app, &c1, RFC7636_CHALLENGE).await;
    // Well-formed, 43 characters, but not the one.
    let wrong = "eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    assert_invalid_grant(redeem(&app, &c1, &code, Some(wrong)).await).await;

    let code = challenged_code(&app, &c1, RFC7636_CHALLENGE).await;
    assert_invalid_grant(redeem(&app, &c1, &code, None).await).await;
    // Nor does an empty verifier count as one.
    let code = challenged_code(&app, &c1, RFC7636_CHALLENGE).await;
    assert_invalid_grant(redeem(&app, &c1, &code, Some("")).await).await;
}

#[tokio::test]
async fn a_code_verifier_for_a_code_issued_without_a_challenge_is_a_downgrade() {
    let (app, c1) = app_with_alice_and("c1").await;
    let code = code_with(&app, &c1, &[]).await;
    assert_invalid_grant(redeem(&app, &c1, &code, Some(RFC7636_VERIFIER)).await).await;
    // Without a verifier, a confidential client's code without a challenge works.
    let code = code_with(&app, &c1, &[]).await;
    assert_eq!(redeem(&app, &c1, &code, None).await.status(), 200);
}

#[tokio::test]
async fn code_verifiers_outside_rfc_7636_syntax_are_refused_even_when_their_hash_matches() {
    let (app, c1) = app_with_alice_and("c1").await;
    let too_short = "a".repeat(42);
    let too_long = "b".repeat(129);
    // base64 instead of base64url: '+' and '/' are outside [A-Za-z0-9-._~].
    let bad_chars = "dBjftJeZ4CVP+mB92K27uhbUJU1p1r/wW1gFWFOEjXk";
    let with_space = "dBjftJeZ4CVP mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    for verifier in [too_short.as_str(), too_long.as_str(), bad_chars, with_space] {
        let code = challenged_code(&app, &c1, &s256(verifier)).await;
        let (status, _) = oauth_error(
            redeem(&app, &c1, &code, Some(verifier)).await,
            "invalid_grant",
        )
        .await;
        assert_eq!(status, 400, "verifier {verifier:?} accepted");
    }
    // The bounds themselves are legal: 128 characters using every allowed symbol.
    let longest: String = "AZaz09-._~".chars().cycle().take(128).collect();
    let code = challenged_code(&app, &c1, &s256(&longest)).await;
    redeem_ok(&app, &c1, &code, &longest).await;
}

#[tokio::test]
async fn a_code_whose_tombstone_was_lost_still_cannot_be_redeemed_twice() {
    // Redis replicates asynchronously: a failover can lose the tombstone a redemption wrote,
    // and bring the code back. The grant the code creates is keyed in the database, so the
    // second redemption is still refused, as a replay.
    let (app, c1) = app_with_alice_and("c1").await;
    let (code, verifier) = pkce_code(&app, &c1, "openid").await;
    let key = guichet::service::authorize::code_key(&code);
    let now = app.clock.now();
    let stored = app
        .core
        .ephemeral
        .get(&key, now)
        .await
        .unwrap()
        .expect("the code is in the store");
    let first = redeem_ok(&app, &c1, &code, &verifier).await;
    let at = str_of(&first, "access_token");
    assert_token_alive(&app, at).await;

    // The lost write: the code is back as it was before its redemption.
    app.core
        .ephemeral
        .put(&key, &stored, now + 60)
        .await
        .unwrap();
    assert_invalid_grant(redeem(&app, &c1, &code, Some(&verifier)).await).await;
    // RFC 6749 §4.1.2: what the first redemption issued is revoked.
    assert_token_dead(&app, at).await;
}

#[tokio::test]
async fn a_code_replayed_after_the_store_lost_its_tombstone_still_revokes_what_it_issued() {
    // Redis restarted empty (or the in-process store with its node), or the tombstone's life
    // is over: neither the code nor its tombstone is left. The grant in the database still
    // says the code was redeemed.
    let (app, c1) = app_with_alice_and("c1").await;
    let (code, verifier) = pkce_code(&app, &c1, "openid").await;
    let first = redeem_ok(&app, &c1, &code, &verifier).await;
    let at = str_of(&first, "access_token");
    let rt = str_of(&first, "refresh_token");
    assert_token_alive(&app, at).await;

    app.core
        .ephemeral
        .delete(&guichet::service::authorize::code_key(&code))
        .await
        .unwrap();
    assert_invalid_grant(redeem(&app, &c1, &code, Some(&verifier)).await).await;
    // What the first redemption issued is revoked, refresh token included.
    assert_token_dead(&app, at).await;
    assert_invalid_grant(refresh_with(&app, &c1, rt, None).await).await;
    audit_kinds(&app, &["code.replayed"]).await;

    // A code that was never redeemed, once expired, is only invalid: nothing to revoke.
    let (other, other_verifier) = pkce_code(&app, &c1, "openid").await;
    app.clock.advance(61);
    assert_invalid_grant(redeem(&app, &c1, &other, Some(&other_verifier)).await).await;
}
