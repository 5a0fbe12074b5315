//! Revocation (RFC 7009) and introspection (RFC 7662) of access and refresh tokens.
//! CONFORMANCE rows G01–G05.

use serde_json::{Value, json};

use crate::helpers::*;

/// An OAuth JSON error body's `error`.
async fn error_of(res: reqwest::Response) -> String {
    let body: Value = res.json().await.unwrap();
    body["error"].as_str().unwrap_or_default().to_owned()
}

// ----- G01–G03: revocation -----

#[tokio::test]
async fn revoking_a_refresh_token_kills_it_and_the_access_tokens_of_its_grant() {
    let (app, _user, rp, tokens) = app_signed_in("openid").await;
    let access = at(&tokens);
    let refresh = rt(&tokens);
    assert_eq!(userinfo_get(&app, &access).await.status(), 200);

    let res = revoke(
        &app,
        &rp,
        &[
            ("token", refresh.as_str()),
            ("token_type_hint", "refresh_token"),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_no_store(&res);

    assert_refresh_refused(&app, &rp, &refresh).await;
    // RFC 7009 §2.1: the grant's access tokens die with it.
    assert_invalid_token(userinfo_get(&app, &access).await, "revoked grant").await;
    assert_eq!(
        introspect_json(&app, &rp, &access).await,
        json!({"active": false})
    );
    assert_eq!(
        introspect_json(&app, &rp, &refresh).await,
        json!({"active": false})
    );
}

#[tokio::test]
async fn revoking_an_access_token_kills_that_token_but_not_the_refresh_token() {
    let (app, user, rp, tokens) = app_signed_in("openid").await;
    let access = at(&tokens);

    let res = revoke(
        &app,
        &rp,
        &[
            ("token", access.as_str()),
            ("token_type_hint", "access_token"),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_no_store(&res);
    assert_invalid_token(userinfo_get(&app, &access).await, "revoked access token").await;
    assert_eq!(
        introspect_json(&app, &rp, &access).await,
        json!({"active": false})
    );

    let res = refresh_with(&app, &rp, &rt(&tokens), None).await;
    assert_eq!(res.status(), 200, "the refresh token survives");
    let fresh: Value = res.json().await.unwrap();
    let res = userinfo_get(&app, &at(&fresh)).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["sub"], user.as_str());
}

#[tokio::test]
async fn revoking_an_unknown_token_or_with_a_bogus_hint_answers_200() {
    let (app, _user, rp, tokens) = app_signed_in("openid").await;
    for form in [
        vec![("token", "no-such-token")],
        vec![
            ("token", "no-such-token"),
            ("token_type_hint", "refresh_token"),
        ],
        vec![("token", "no-such-token"), ("token_type_hint", "bogus")],
        vec![("token", "a.b.c"), ("token_type_hint", "access_token")],
    ] {
        let res = revoke(&app, &rp, &form).await;
        assert_eq!(res.status(), 200, "{form:?}");
        assert_no_store(&res);
    }
    // RFC 7009 §2.1: a wrong hint only changes where the server looks first.
    let refresh = rt(&tokens);
    let res = revoke(
        &app,
        &rp,
        &[("token", refresh.as_str()), ("token_type_hint", "bogus")],
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_refresh_refused(&app, &rp, &refresh).await;
}

#[tokio::test]
async fn another_client_cannot_revoke_a_client_s_tokens() {
    let (app, _user, rp, tokens) = app_signed_in("openid").await;
    let other = app.create_client("rp2", |_| {}).await;
    let access = at(&tokens);
    let refresh = rt(&tokens);

    for token in [&refresh, &access] {
        let res = revoke(&app, &other, &[("token", token.as_str())]).await;
        // RFC 7009 §2.1: 200, and nothing happens.
        assert_eq!(res.status(), 200);
        assert_no_store(&res);
    }
    assert_eq!(userinfo_get(&app, &access).await.status(), 200);
    assert_eq!(introspect_json(&app, &rp, &access).await["active"], true);
    let res = refresh_with(&app, &rp, &refresh, None).await;
    assert_eq!(res.status(), 200, "the refresh token still works");
}

#[tokio::test]
async fn revocation_with_bad_client_credentials_is_401_invalid_client() {
    let (app, _user, rp, tokens) = app_signed_in("openid").await;
    let refresh = rt(&tokens);
    let wrong_secret = rp.with_credentials(&rp.id, Some("wrong-secret"));
    let unknown = rp.with_credentials("nobody", Some("x"));
    let form = [("token", refresh.as_str())];
    for res in [
        revoke(&app, &wrong_secret, &form).await,
        revoke(&app, &unknown, &form).await,
        app.post_form("/revoke", &form).await,
    ] {
        assert_eq!(res.status(), 401);
        assert!(challenge(&res).starts_with("Basic"));
        assert_no_store(&res);
        assert_eq!(error_of(res).await, "invalid_client");
    }
    let res = refresh_with(&app, &rp, &refresh, None).await;
    assert_eq!(res.status(), 200, "nothing was revoked");
}

// ----- G04–G05: introspection -----

#[tokio::test]
async fn introspection_describes_a_live_access_token() {
    let (app, user, rp, tokens) = app_signed_in("openid email").await;
    let access = at(&tokens);
    let claims = jwt_claims(&access);

    let body = introspect_json(&app, &rp, &access).await;
    assert_eq!(body["active"], json!(true));
    assert_eq!(body["exp"], claims["exp"]);
    assert!(body["exp"].is_i64());
    assert_eq!(body["client_id"], "rp1");
    assert_eq!(body["scope"], "openid email");
    assert_eq!(body["sub"], user.as_str());
    assert_eq!(body["iss"], app.issuer.as_str());
    assert_eq!(body["token_type"], "Bearer");

    // A client_credentials token is about its client.
    let api = api_client(&app, "api1").await;
    let cc = client_credentials(&app, &api, "api").await;
    let body = introspect_json(&app, &api, &at(&cc)).await;
    assert_eq!(body["active"], json!(true));
    assert_eq!(body["client_id"], "api1");
    assert_eq!(body["sub"], "api1");
    assert_eq!(body["scope"], "api");
}

#[tokio::test]
async fn introspection_describes_a_live_refresh_token_to_its_client() {
    let (app, user, rp, tokens) = app_signed_in("openid email").await;
    let body = introspect_json(&app, &rp, &rt(&tokens)).await;
    assert_eq!(body["active"], json!(true));
    assert_eq!(body["client_id"], "rp1");
    assert_eq!(body["sub"], user.as_str());
    assert_eq!(body["scope"], "openid email");
    assert_eq!(body["iss"], app.issuer.as_str());
    assert!(body["exp"].is_i64());
    // RFC 7662 token_type names RFC 6749 §7.1 access-token types: none for a refresh token.
    assert!(body.get("token_type").is_none());
}

#[tokio::test]
async fn introspection_of_a_dead_or_garbage_token_is_exactly_active_false() {
    let (app, _user, rp, tokens) = app_signed_in("openid").await;
    let refresh = rt(&tokens);
    // A used (rotated) refresh token is dead.
    let res = refresh_with(&app, &rp, &refresh, None).await;
    assert_eq!(res.status(), 200);
    let fresh: Value = res.json().await.unwrap();
    for (what, token) in [
        ("garbage", "garbage".to_owned()),
        ("empty-looking JWT", "e30.e30.".to_owned()),
        ("used refresh token", refresh),
    ] {
        let res = introspect(&app, &rp, &token).await;
        assert_eq!(res.status(), 200, "{what}");
        assert_no_store(&res);
        // RFC 7662 §2.2: nothing beyond `active` about a token that is not active.
        let body: Value = res.json().await.unwrap();
        assert_eq!(body, json!({"active": false}), "{what}");
    }
    // A revoked access token is dead too.
    let access = at(&fresh);
    assert_eq!(introspect_json(&app, &rp, &access).await["active"], true);
    let res = revoke(&app, &rp, &[("token", access.as_str())]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        introspect_json(&app, &rp, &access).await,
        json!({"active": false})
    );
}

#[tokio::test]
async fn introspection_requires_an_authenticated_confidential_client() {
    let (app, _user, rp, tokens) = app_signed_in("openid").await;
    let access = at(&tokens);
    let public = app
        .create_client("spa", |s| {
            s.public = true;
            s.redirect_uris = vec!["https://spa.example/cb".into()];
        })
        .await;
    let wrong_secret = rp.with_credentials(&rp.id, Some("wrong-secret"));
    for (what, res) in [
        (
            "no credentials",
            app.post_form("/introspect", &[("token", access.as_str())])
                .await,
        ),
        (
            "wrong secret",
            introspect(&app, &wrong_secret, &access).await,
        ),
        (
            "public client",
            app.post_form(
                "/introspect",
                &[
                    ("token", access.as_str()),
                    ("client_id", public.id.as_str()),
                ],
            )
            .await,
        ),
    ] {
        assert_eq!(res.status(), 401, "{what}");
        assert_no_store(&res);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client", "{what}");
        assert!(body.get("active").is_none(), "{what}: {body}");
    }
}

#[tokio::test]
async fn a_missing_token_parameter_is_invalid_request_at_revocation_and_introspection() {
    let app = spawn_app().await;
    let rp = app.create_client("rp1", |_| {}).await;
    for path in ["/revoke", "/introspect"] {
        for form in [vec![], vec![("token", "")], vec![("token_type_hint", "x")]] {
            let res = app.post_as(&rp, path, &form).await;
            assert_eq!(res.status(), 400, "{path} {form:?}");
            assert_no_store(&res);
            assert_eq!(error_of(res).await, "invalid_request", "{path} {form:?}");
        }
    }
}

// ----- CORS -----

#[tokio::test]
async fn introspection_never_sends_cors_headers() {
    let (app, _user, rp, tokens) = app_signed_in("openid").await;
    let access = at(&tokens);
    for token in [access.as_str(), "garbage"] {
        let req = app
            .post("/introspect")
            .basic_auth(&rp.id, rp.secret.as_deref());
        let res = send(
            req.header("Origin", "https://rp.example")
                .form(&[("token", token)]),
        )
        .await;
        assert_eq!(res.status(), 200);
        assert_no_store(&res);
        assert_eq!(allowed_origin(&res), None);
    }
    let res = send(
        reqwest::Client::new()
            .request(reqwest::Method::OPTIONS, app.url("/introspect"))
            .header("Origin", "https://rp.example")
            .header("Access-Control-Request-Method", "POST"),
    )
    .await;
    assert_eq!(
        allowed_origin(&res),
        None,
        "no preflight approval for introspection"
    );
}
