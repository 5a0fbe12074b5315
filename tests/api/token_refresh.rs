//! The token endpoint's refresh_token grant (RFC 6749 §6; RFC 9700 §4.14): rotation, scope,
//! replay of a rotated token, and how refresh tokens end with the session or when idle.
//! CONFORMANCE.md rows F01–F06.

use serde_json::Value;

use crate::helpers::*;

// ---- F: refresh tokens ---------------------------------------------------------------------

#[tokio::test]
async fn a_refresh_token_returns_a_new_bearer_access_token_that_no_cache_may_keep() {
    let (app, c1) = app_with_alice_and("c1").await;
    let tokens = app.code_flow_tokens(&c1, "alice", "openid email").await;
    let rt = str_of(&tokens, "refresh_token");
    let res = refresh_with(&app, &c1, rt, None).await;
    assert_eq!(res.status(), 200);
    assert_no_store_no_cache(&res);
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
    let (app, c1) = app_with_alice_and("c1").await;
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
    let (app, c1) = app_with_alice_and("c1").await;
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
    let (app, c1) = app_with_alice_and("c1").await;
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
    let res = revoke(&app, &c1, &[("token", str_of(&revoked, "refresh_token"))]).await;
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
    let (app, c1) = app_with_alice_and("c1").await;
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
    let info: Value = userinfo_get(&app, at).await.json().await.unwrap();
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
    let (app, c1) = app_with_alice_and("c1").await;
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
    let (app, c1) = app_with_alice_and("c1").await;
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

    let res = logout_with_hint(&app, str_of(&session_bound, "id_token"), None).await;
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
    let (app, c1) = app_with_alice_and("c1").await;
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
    let (app, c1) = app_with_alice_and("c1").await;
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
