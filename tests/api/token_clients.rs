//! The token endpoint for public clients (RFC 6749 §2.1), the client_credentials grant (§4.4)
//! and CORS, per issue 2 points 6–7.

use reqwest::header::{ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_ORIGIN};
use serde_json::Value;

use crate::helpers::*;

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
    assert_no_store_no_cache(&res);
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
    let form = code_form(&p1, &code, Some(&verifier));
    let mut in_body = form.clone();
    in_body.extend([("client_id", "p1"), ("client_secret", "anything")]);
    let (status, _) = oauth_error(app.post_form("/token", &in_body).await, "invalid_client").await;
    assert!(status == 400 || status == 401, "{status}");
    let with_secret = p1.with_credentials("p1", Some("anything"));
    assert_invalid_client(app.token(&with_secret, &form).await).await;
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
    assert_no_store_no_cache(&res);
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
    let (app, c1) = app_with_alice_and("c1").await;
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
    let from = |origin: &str, form: &[(&str, &str)]| {
        let req = app.post("/token").basic_auth("svc", svc.secret.as_deref());
        send(req.header("Origin", origin).form(form))
    };
    let with_origin = |origin| from(origin, &[("grant_type", "client_credentials")]);
    let res = with_origin("https://rp.example").await;
    assert_eq!(res.status(), 200);
    assert_cors_echoes(&res, "https://rp.example");

    // Error responses are readable by the client's page too.
    let res = from(
        "https://rp.example",
        &[("grant_type", "client_credentials"), ("scope", "admin")],
    )
    .await;
    assert_eq!(allowed_origin(&res), Some("https://rp.example"));
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
        assert_eq!(allowed_origin(&res), None, "{origin} allowed");
    }
}

#[tokio::test]
async fn a_preflight_from_a_registered_origin_is_allowed_and_others_are_not() {
    let (app, _c1) = app_with_alice_and("c1").await;
    let preflight = |origin: &str| {
        send(
            reqwest::Client::new()
                .request(reqwest::Method::OPTIONS, app.url("/token"))
                .header("Origin", origin)
                .header("Access-Control-Request-Method", "POST")
                .header(
                    "Access-Control-Request-Headers",
                    "authorization, content-type",
                ),
        )
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
    assert_eq!(allowed_origin(&res), None);
}
