//! Hardening: what an attacker can make the server store, how it stores it, and which redirect
//! URIs an administrator may register.

use guichet::crypto::keys::Alg;
use guichet::ephemeral::{Ephemeral, MemoryStore};
use guichet::service::authorize::code_key;
use guichet::service::clients::{ClientSpec, RegisterError, register};
use guichet::store::Db;

use crate::helpers::*;

#[tokio::test]
async fn unknown_codes_presented_to_the_token_endpoint_leave_nothing_in_the_store() {
    // A small in-process store (whatever the database): before, each unknown code left a
    // six-minute tombstone, and the 21st unknown code got a 500 from a full store.
    let store = MemoryStore::new(20);
    let (app, c1) = with_alice_and(spawn_with_store(store.clone()).await, "c1").await;
    let held = store.len();
    for i in 0..50 {
        let code = format!("made-up-code-{i}");
        assert_invalid_grant(redeem(&app, &c1, &code, None).await).await;
        let now = app.clock.now();
        assert_eq!(store.get(&code_key(&code), now).await.unwrap(), None);
    }
    assert_eq!(store.len(), held);
    // the store still has room for a real sign-in and its code
    let (code, verifier) = pkce_code(&app, &c1, "openid").await;
    let res = redeem(&app, &c1, &code, Some(&verifier)).await;
    assert_eq!(res.status(), 200);
}

fn spec(id: &str, redirect_uri: &str) -> ClientSpec {
    ClientSpec {
        client_id: id.into(),
        name: None,
        public: false,
        redirect_uris: vec![redirect_uri.into()],
        post_logout_redirect_uris: vec![],
        grant_types: vec![],
        scopes: vec![],
        first_party: false,
        introspect: false,
        require_mfa: false,
        id_token_alg: Alg::RS256,
        access_token_alg: Alg::ES256,
        lifetimes: Default::default(),
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
    }
}

#[tokio::test]
async fn a_full_short_lived_store_answers_503_with_retry_after_never_500() {
    let store = MemoryStore::new(4);
    let (app, c1) = with_alice_and(spawn_with_store(store.clone()).await, "c1").await;
    let (code, verifier) = pkce_code(&app, &c1, "openid offline_access").await;
    let res = redeem(&app, &c1, &code, Some(&verifier)).await;
    assert_eq!(res.status(), 200);
    let tokens: serde_json::Value = res.json().await.unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    // Fill what is left of the store.
    let now = app.clock.now();
    for i in 0..4 {
        let _ = store.put(&format!("filler:{i}"), b"x", now + 600).await;
    }
    // A sign-in (another browser) needs a counter and a session: a 503 page, not a 500.
    let other = browser();
    let (challenge, _) = pkce_pair();
    let params = auth_params(
        &c1,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let page = login_page_from(&app, &other, &params).await;
    let res = post_login(&app, &other, &page, "alice", PASSWORD).await;
    assert_eq!(res.status(), 503);
    assert!(res.headers().get("retry-after").is_some());
    // A refresh-token replay must write a revocation marker: temporarily_unavailable, 503.
    let res = app
        .token(
            &c1,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(
        res.status(),
        200,
        "the rotation itself writes nothing short-lived"
    );
    let res = app
        .token(
            &c1,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(res.status(), 503);
    assert!(res.headers().get("retry-after").is_some());
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
}

#[tokio::test]
async fn registration_refuses_redirect_uris_outside_rfc_8252_and_raw_characters() {
    // Through the service the CLI calls, on a database of its own.
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&fresh_database_url(dir.path()).await)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let now = 1_800_000_000;
    for (i, bad) in [
        "javascript:alert(1)",
        "myapp:/cb",
        "https://rp.example/c b",
        "https://rp.example/café",
        "https://rp.example/c\tb",
        "http://rp.example/cb",
    ]
    .into_iter()
    .enumerate()
    {
        let res = register(&db, spec(&format!("bad{i}"), bad), now).await;
        assert!(
            matches!(res, Err(RegisterError::Invalid(_))),
            "{bad:?} registered"
        );
        // nor as a post-logout redirect URI
        let mut s = spec(&format!("bye{i}"), "https://rp.example/cb");
        s.post_logout_redirect_uris = vec![bad.into()];
        let res = register(&db, s, now).await;
        assert!(
            matches!(res, Err(RegisterError::Invalid(_))),
            "{bad:?} registered"
        );
    }
    for (i, good) in [
        "com.example.app:/cb",
        "https://rp.example/caf%C3%A9",
        "http://127.0.0.1:8080/cb",
    ]
    .into_iter()
    .enumerate()
    {
        let (client, _) = register(&db, spec(&format!("good{i}"), good), now)
            .await
            .unwrap_or_else(|e| panic!("{good:?} refused: {e}"));
        assert_eq!(client.redirect_uris, vec![good.to_owned()]);
    }
}

#[tokio::test]
async fn an_explicit_default_port_names_the_same_redirect_uri_and_nothing_else_is_normalised() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    let c1 = app.create_client("c1", |_| {}).await; // https://rp.example/cb
    let lo = app
        .create_client("lo", |s| {
            s.redirect_uris = vec!["http://127.0.0.1:80/cb".into()];
        })
        .await;
    for (client, presented) in [
        (&c1, "https://rp.example:443/cb"),
        (&lo, "http://127.0.0.1/cb"),
    ] {
        let other = TestClient {
            id: client.id.clone(),
            secret: client.secret.clone(),
            redirect_uri: presented.into(),
        };
        // the code is issued for the URI as presented, and redeemed with that same string
        let (code, verifier) = pkce_code(&app, &other, "openid").await;
        let res = redeem(&app, &other, &code, Some(&verifier)).await;
        assert_eq!(res.status(), 200, "{presented}");
    }
    // a default port is not a free port, and case still counts
    for bad in ["https://rp.example:80/cb", "https://rp.example:443/CB"] {
        let res = app
            .authorize(&[
                ("response_type", "code"),
                ("client_id", "c1"),
                ("redirect_uri", bad),
                ("scope", "openid"),
                (
                    "code_challenge",
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                ),
                ("code_challenge_method", "S256"),
            ])
            .await;
        let status = res.status();
        assert!(status.is_client_error(), "{bad}: {status}");
        assert!(res.headers().get("location").is_none(), "{bad} redirected");
    }
}
