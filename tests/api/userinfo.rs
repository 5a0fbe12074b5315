//! UserInfo (OpenID Connect Core §5.3, RFC 6750) and the access-token checks behind it
//! (RFC 9068), which introspection (RFC 7662) applies too.
//! CONFORMANCE rows E01–E05, L18 and the standard claims of B24.

use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

use crate::helpers::*;

const ALL_SCOPES: &str = "openid profile email phone address";

// ----- E01–E03: where the token may travel -----

#[tokio::test]
async fn userinfo_get_with_a_bearer_header_returns_the_id_token_subject() {
    let (app, user, _rp, tokens) = app_signed_in("openid").await;
    let id_sub = jwt_claims(tokens["id_token"].as_str().unwrap())["sub"].clone();
    assert_eq!(id_sub, user.as_str());

    let res = userinfo_get(&app, &at(&tokens)).await;
    assert_eq!(res.status(), 200);
    assert_no_store(&res);
    assert!(
        res.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["sub"], id_sub,
        "Core §5.3.2: sub equals the ID token's"
    );
}

#[tokio::test]
async fn userinfo_post_accepts_the_token_in_the_header_or_in_the_form_body() {
    let (app, user, _rp, tokens) = app_signed_in("openid").await;
    let token = at(&tokens);

    // E02: POST with the Authorization header (and an empty body).
    let res = send(app.post("/userinfo").bearer_auth(&token)).await;
    assert_eq!(res.status(), 200);
    assert_no_store(&res);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["sub"], user.as_str());

    // E03: RFC 6750 §2.2 form-encoded body parameter.
    let res = app
        .post_form("/userinfo", &[("access_token", token.as_str())])
        .await;
    assert_eq!(res.status(), 200);
    assert_no_store(&res);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["sub"], user.as_str());
}

// ----- E04, L18: missing and bad tokens -----

#[tokio::test]
async fn userinfo_without_a_token_answers_401_with_a_bare_bearer_challenge() {
    let app = spawn_app().await;
    for res in [
        send(reqwest::Client::new().get(app.url("/userinfo"))).await,
        send(app.post("/userinfo")).await,
        app.post_form("/userinfo", &[("other", "x")]).await,
    ] {
        assert_eq!(res.status(), 401);
        assert_no_store(&res);
        // RFC 6750 §3.1: a request without authentication gets no error code.
        assert_eq!(bearer_error(&res), None, "challenge: {}", challenge(&res));
    }
}

#[tokio::test]
async fn userinfo_refuses_garbage_tampered_and_unsigned_tokens_with_invalid_token() {
    let (app, _user, rp, tokens) = app_signed_in("openid profile").await;
    let token = at(&tokens);
    let (header, rest) = token.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();

    // One character of the payload flipped, signature kept.
    let mut flipped: Vec<char> = payload.chars().collect();
    let mid = flipped.len() / 2;
    flipped[mid] = if flipped[mid] == 'A' { 'B' } else { 'A' };
    let flipped: String = flipped.into_iter().collect();
    let flipped = format!("{header}.{flipped}.{signature}");

    // A well-formed payload claiming someone else, signature kept: only the signature can
    // tell.
    let mut claims = jwt_claims(&token);
    claims["sub"] = json!(uuid::Uuid::new_v4().to_string());
    claims["scope"] = json!("openid profile email phone address");
    let forged = format!(
        "{header}.{}.{signature}",
        b64(claims.to_string().as_bytes())
    );

    // alg none (RFC 8725 §3.1), with our kid and typ and the genuine claims.
    let mut none_header = jwt_header(&token);
    none_header["alg"] = json!("none");
    let unsigned = format!("{}.{payload}.", b64(none_header.to_string().as_bytes()));
    let bare_none = format!(
        "{}.{payload}.",
        b64(json!({"alg": "none", "typ": "at+jwt"})
            .to_string()
            .as_bytes())
    );

    // The genuine token still works: the refusals below are about the damage alone.
    assert_eq!(userinfo_get(&app, &token).await.status(), 200);
    for (what, bad) in [
        ("garbage", "not-a-token".to_owned()),
        ("two parts", format!("{header}.{payload}")),
        ("flipped payload character", flipped),
        ("forged claims", forged),
        ("alg none with our kid", unsigned),
        ("alg none", bare_none),
        ("signature stripped", format!("{header}.{payload}.")),
    ] {
        assert_invalid_token(userinfo_get(&app, &bad).await, what).await;
        // L18: introspection refuses them too.
        let body = introspect_json(&app, &rp, &bad).await;
        assert_eq!(body, json!({"active": false}), "{what} at introspection");
    }
}

/// Signs `claims` with the server's own key, as the server would, with header `typ`.
fn sign_with_server_key(app: &TestApp, typ: Option<&str>, claims: &Value) -> String {
    app.core
        .keys
        .current()
        .sign(guichet::crypto::keys::Alg::ES256, typ, claims)
        .unwrap()
}

#[tokio::test]
async fn a_validly_signed_token_with_the_wrong_type_issuer_audience_or_expiry_is_refused() {
    let (app, user, rp, tokens) = app_signed_in("openid").await;
    let genuine = jwt_claims(&at(&tokens));

    // Control: the same claims re-signed as an at+jwt are accepted, so each refusal below is
    // due to the one thing changed.
    let control = sign_with_server_key(&app, Some("at+jwt"), &genuine);
    let res = userinfo_get(&app, &control).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["sub"], user.as_str());

    let with = |k: &str, v: Value| {
        let mut c = genuine.clone();
        c[k] = v;
        c
    };
    let now = app.clock.now();
    for (what, token) in [
        // RFC 9068 §4: typ at+jwt is what tells an access token from an ID token.
        ("typ JWT", sign_with_server_key(&app, Some("JWT"), &genuine)),
        ("no typ", sign_with_server_key(&app, None, &genuine)),
        (
            "another issuer",
            sign_with_server_key(
                &app,
                Some("at+jwt"),
                &with("iss", json!("https://evil.example")),
            ),
        ),
        (
            "another audience",
            sign_with_server_key(
                &app,
                Some("at+jwt"),
                &with("aud", json!("https://api.example")),
            ),
        ),
        (
            "exp now",
            sign_with_server_key(&app, Some("at+jwt"), &with("exp", json!(now))),
        ),
    ] {
        assert_invalid_token(userinfo_get(&app, &token).await, what).await;
        assert_eq!(
            introspect_json(&app, &rp, &token).await,
            json!({"active": false}),
            "{what} at introspection"
        );
    }
}

#[tokio::test]
async fn an_expired_access_token_is_invalid_at_userinfo_and_inactive_at_introspection() {
    let (app, _user, rp, tokens) = app_signed_in("openid").await;
    let token = at(&tokens);
    assert_eq!(tokens["expires_in"], 300);
    // A margin of a few seconds: real time passes between minting and this request.
    app.clock.advance(295);
    assert_eq!(userinfo_get(&app, &token).await.status(), 200);
    app.clock.advance(6);
    assert_invalid_token(userinfo_get(&app, &token).await, "expired").await;
    let body = introspect_json(&app, &rp, &token).await;
    assert_eq!(body, json!({"active": false}));
}

#[tokio::test]
async fn userinfo_refuses_a_token_sent_both_in_the_header_and_in_the_body() {
    let (app, _user, _rp, tokens) = app_signed_in("openid").await;
    let token = at(&tokens);
    let res = send(
        app.post("/userinfo")
            .bearer_auth(&token)
            .form(&[("access_token", token.as_str())]),
    )
    .await;
    // RFC 6750 §2: one method only.
    assert_eq!(res.status(), 400);
    assert_eq!(bearer_error(&res).as_deref(), Some("invalid_request"));
    assert_no_store(&res);
    assert!(!res.text().await.unwrap().contains("\"sub\""));
}

#[tokio::test]
async fn a_token_without_the_openid_scope_gets_403_insufficient_scope() {
    let app = spawn_app().await;
    let api = api_client(&app, "api1").await;
    let tokens = client_credentials(&app, &api, "api").await;
    assert_eq!(tokens["scope"], "api");
    let token = at(&tokens);

    for res in [
        userinfo_get(&app, &token).await,
        app.post_form("/userinfo", &[("access_token", token.as_str())])
            .await,
    ] {
        assert_eq!(res.status(), 403);
        assert_eq!(bearer_error(&res).as_deref(), Some("insufficient_scope"));
        assert_no_store(&res);
        assert!(!res.text().await.unwrap().contains("\"sub\""));
    }
}

#[tokio::test]
async fn an_id_token_presented_as_an_access_token_is_refused() {
    let (app, _user, rp, tokens) = app_signed_in("openid").await;
    let id_token = tokens["id_token"].as_str().unwrap();
    assert_ne!(jwt_header(id_token)["typ"], "at+jwt");
    // RFC 9068 §4: the typ must be at+jwt, so that an ID token is never taken for one.
    assert_invalid_token(userinfo_get(&app, id_token).await, "ID token").await;
    let body = introspect_json(&app, &rp, id_token).await;
    assert_eq!(body, json!({"active": false}));
}

#[tokio::test]
async fn a_disabled_user_s_tokens_stop_working_at_userinfo_and_introspection() {
    let (app, user, rp, tokens) = app_signed_in("openid").await;
    let token = at(&tokens);
    assert_eq!(userinfo_get(&app, &token).await.status(), 200);
    assert_eq!(introspect_json(&app, &rp, &token).await["active"], true);

    assert!(
        app.core
            .db
            .user_set_disabled(&user, true, app.clock.now())
            .await
            .unwrap()
    );
    assert_invalid_token(userinfo_get(&app, &token).await, "disabled user").await;
    assert_eq!(
        introspect_json(&app, &rp, &token).await,
        json!({"active": false})
    );
    assert_eq!(
        introspect_json(&app, &rp, &rt(&tokens)).await,
        json!({"active": false}),
        "the refresh token of a disabled user is not active"
    );
}

// ----- B24: standard claims per scope (Core §5.4) -----

/// Alice with a name, a verified email and a phone number.
fn alice_with_a_phone() -> guichet::domain::user::NewUser {
    guichet::domain::user::NewUser {
        login: "alice".into(),
        email: Some("alice@example.org".into()),
        email_verified: true,
        given_name: Some("Alice".into()),
        family_name: Some("Martin".into()),
        phone_number: Some("+33 1 23 45 67 89".into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn userinfo_releases_the_standard_claims_of_each_granted_scope() {
    let app = spawn_app().await;
    let user = app.create_user_with(alice_with_a_phone()).await;
    // NewUser has no address: the column holds the §5.1.1 object as JSON text.
    let address = json!({
        "street_address": "1 rue de la Paix",
        "locality": "Paris",
        "postal_code": "75002",
        "country": "FR"
    });
    sqlx::query("update users set address = $1 where id = $2")
        .bind(address.to_string())
        .bind(&user)
        .execute(app.core.db.pool())
        .await
        .unwrap();
    let rp = app.create_client("rp1", |_| {}).await;
    let tokens = app.code_flow_tokens(&rp, "alice", ALL_SCOPES).await;

    let res = userinfo_get(&app, &at(&tokens)).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["sub"], user.as_str());
    // profile
    assert_eq!(body["name"], "Alice Martin");
    assert_eq!(body["given_name"], "Alice");
    assert_eq!(body["family_name"], "Martin");
    assert_eq!(body["preferred_username"], "alice");
    assert!(
        body["updated_at"].is_i64(),
        "updated_at is a number of seconds: {}",
        body["updated_at"]
    );
    // email
    assert_eq!(body["email"], "alice@example.org");
    assert_eq!(body["email_verified"], json!(true));
    // phone
    assert_eq!(body["phone_number"], "+33 1 23 45 67 89");
    assert!(
        body["phone_number_verified"].is_boolean(),
        "phone_number_verified is a boolean: {}",
        body["phone_number_verified"]
    );
    assert_eq!(body["phone_number_verified"], json!(false));
    // address
    assert_eq!(body["address"], address);
}

#[tokio::test]
async fn userinfo_releases_no_claims_of_scopes_that_were_not_granted() {
    let app = spawn_app().await;
    app.create_user_with(alice_with_a_phone()).await;
    let rp = app.create_client("rp1", |_| {}).await;

    let tokens = app.code_flow_tokens(&rp, "alice", "openid").await;
    let body: Value = userinfo_get(&app, &at(&tokens)).await.json().await.unwrap();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["sub"], "openid alone releases only sub: {body}");

    let tokens = app.code_flow_tokens(&rp, "alice", "openid email").await;
    let body: Value = userinfo_get(&app, &at(&tokens)).await.json().await.unwrap();
    assert_eq!(body["email"], "alice@example.org");
    assert_eq!(body["email_verified"], json!(true));
    for profile in [
        "name",
        "given_name",
        "family_name",
        "preferred_username",
        "updated_at",
        "phone_number",
        "phone_number_verified",
        "address",
    ] {
        assert!(
            body.get(profile).is_none(),
            "{profile} released without its scope: {body}"
        );
    }
}

// ----- CORS -----

#[tokio::test]
async fn userinfo_echoes_only_the_origin_of_the_token_s_client() {
    let (app, _user, _rp, tokens) = app_signed_in("openid").await;
    let access = at(&tokens);
    // Another client's origin is registered too, but the token is not its.
    app.create_client("rp2", |s| {
        s.redirect_uris = vec!["https://other.example/cb".into()];
    })
    .await;
    let from = |origin: &str| {
        let req = reqwest::Client::new().get(app.url("/userinfo"));
        send(req.bearer_auth(&access).header("Origin", origin))
    };

    let res = from("https://rp.example").await;
    assert_eq!(res.status(), 200);
    assert_no_store(&res);
    assert_cors_echoes(&res, "https://rp.example");

    for origin in [
        "https://evil.example",
        "https://other.example",
        "http://rp.example",
        "https://rp.example:8443",
    ] {
        let res = from(origin).await;
        assert_eq!(res.status(), 200);
        assert_eq!(allowed_origin(&res), None, "ACAO for {origin}");
    }
}
