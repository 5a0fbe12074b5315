//! Regression tests for the security review, token side: unknown and replayed codes,
//! revocation markers as long-lived as the tokens they revoke, what disabling a user or a
//! client ends, and who may introspect what.

use std::sync::Arc;
use std::time::Duration;

use guichet::crypto::token::random_token;
use guichet::ephemeral::MemoryStore;
use serde_json::{Value, json};

use crate::cli::Run;
use crate::cluster::two_nodes;
use crate::helpers::*;

/// Waits (up to ~2 s) for the audit writer to have written a row of `kind`; returns how many
/// rows of each kind of `count` there are then.
async fn audit_after(app: &TestApp, kind: &str, count: &str) -> usize {
    for _ in 0..40 {
        let rows = app.core.db.audit_recent(100).await.unwrap();
        if rows.iter().any(|r| r.1 == kind) {
            return rows.iter().filter(|r| r.1 == count).count();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {kind} row was written");
}

// ----- 2. Unknown and replayed codes -----

/// The application's short-lived store, counted from outside: the Redis keys under the
/// test's prefix when the suite runs on Redis, else an in-process store handed to the app.
enum Store {
    Memory(Arc<MemoryStore>),
    Redis { url: String, prefix: String },
}

impl Store {
    async fn spawn() -> (TestApp, Store) {
        match test_redis_url() {
            Some(url) => {
                let prefix = format!("guichet-test-{}:", uuid::Uuid::new_v4().simple());
                let app = spawn_with(Options {
                    redis_prefix: Some(prefix.clone()),
                    ..Options::default()
                })
                .await;
                (app, Store::Redis { url, prefix })
            }
            None => {
                let store = MemoryStore::new(10_000);
                (spawn_with_store(store.clone()).await, Store::Memory(store))
            }
        }
    }

    async fn len(&self) -> usize {
        match self {
            Store::Memory(m) => m.len(),
            Store::Redis { url, prefix } => {
                let client = redis::Client::open(url.as_str()).unwrap();
                let mut conn = client.get_multiplexed_async_connection().await.unwrap();
                redis::cmd("KEYS")
                    .arg(format!("{prefix}*"))
                    .query_async::<Vec<String>>(&mut conn)
                    .await
                    .unwrap()
                    .len()
            }
        }
    }
}

#[tokio::test]
async fn unknown_codes_at_the_token_endpoint_write_nothing_to_the_store() {
    let (app, store) = Store::spawn().await;
    let spa = app.create_client("spa", |s| s.public = true).await;
    let (_, verifier) = pkce_pair();
    let before = store.len().await;
    for _ in 0..50 {
        let code = random_token();
        let res = app
            .token(
                &spa,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", &spa.redirect_uri),
                    ("client_id", &spa.id),
                    ("code_verifier", &verifier),
                ],
            )
            .await;
        assert_invalid_grant(res).await;
    }
    assert_eq!(
        store.len().await,
        before,
        "unknown codes left items in the short-lived store"
    );
}

#[tokio::test]
async fn a_replayed_code_revokes_its_grant_and_is_audited_once() {
    let (app, c1) = app_with_alice_and("c1").await;
    let (code, verifier) = pkce_code(&app, &c1, "openid").await;
    let tokens = redeem_ok(&app, &c1, &code, &verifier).await;
    assert_invalid_grant(redeem(&app, &c1, &code, Some(&verifier)).await).await;
    assert_token_dead(&app, &at(&tokens)).await;
    assert_invalid_grant(refresh_with(&app, &c1, &rt(&tokens), None).await).await;
    assert_eq!(audit_after(&app, "code.replayed", "code.replayed").await, 1);

    for _ in 0..5 {
        assert_invalid_grant(redeem(&app, &c1, &code, Some(&verifier)).await).await;
    }
    // A failed sign-in queued after the replays: once it is written, so are they.
    let fresh = browser();
    let page = get_login(&app, &fresh).await;
    let res = post_login(&app, &fresh, &page, "alice", "wrong password").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        audit_after(&app, "login.failure", "code.replayed").await,
        1,
        "each replay of a revoked code wrote an audit row"
    );
}

// ----- 3. Revocation markers live as long as the client's access tokens -----

/// An application with alice and bob, and a first-party client whose access tokens live two
/// hours (the server's default is far shorter).
async fn app_with_long_tokens() -> (TestApp, TestClient) {
    let app = spawn_app().await;
    app.create_user("alice").await;
    app.create_user("bob").await;
    let long = app
        .create_client("long", |s| s.lifetimes.access_token = Some(7200))
        .await;
    (app, long)
}

/// Past the server's access-token lifetime (300 s by default), within the client's (7200 s).
const PAST_THE_DEFAULT_LIFETIME: i64 = 3700;

#[tokio::test]
async fn a_two_hour_access_token_stays_refused_after_logout_past_the_server_s_token_lifetime() {
    let (app, long) = app_with_long_tokens().await;
    assert!(app.core.policy.access_token_ttl < PAST_THE_DEFAULT_LIFETIME);
    let ended = app.code_flow_tokens(&long, "alice", "openid").await;
    assert_eq!(ended["expires_in"], 7200);
    // Another session of alice's stays: its token shows that 7200 s are honoured.
    let kept = tokens_from(&app, &browser(), &long, "alice").await;

    let res = end_session(&app.browser, &app, &[("id_token_hint", &id_token(&ended))]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(prompt_none(&app, &long).await, "login_required");
    app.clock.advance(PAST_THE_DEFAULT_LIFETIME);

    assert_invalid_token(userinfo_get(&app, &at(&ended)).await, "after logout").await;
    assert_eq!(
        introspect_json(&app, &long, &at(&ended)).await,
        json!({"active": false})
    );
    assert_eq!(userinfo_get(&app, &at(&kept)).await.status(), 200);
    assert_eq!(
        introspect_json(&app, &long, &at(&kept)).await["active"],
        true
    );
}

#[tokio::test]
async fn a_two_hour_access_token_stays_refused_after_a_password_change_past_the_server_s_token_lifetime()
 {
    let (app, long) = app_with_long_tokens().await;
    let alices = app.code_flow_tokens(&long, "alice", "openid").await;
    let bobs = tokens_from(&app, &browser(), &long, "bob").await;

    change_password(&app, "alice").await;
    app.clock.advance(PAST_THE_DEFAULT_LIFETIME);

    assert_invalid_token(
        userinfo_get(&app, &at(&alices)).await,
        "after a password change",
    )
    .await;
    assert_eq!(
        introspect_json(&app, &long, &at(&alices)).await,
        json!({"active": false})
    );
    assert_eq!(userinfo_get(&app, &at(&bobs)).await.status(), 200);
}

// ----- 6. What disabling ends -----

#[tokio::test]
async fn disabling_then_enabling_a_user_brings_back_neither_the_session_nor_the_refresh_token() {
    let (app, client) = app_with_alice().await;
    let tokens = app.code_flow_tokens(&client, "alice", "openid").await;
    assert_eq!(prompt_none(&app, &client).await, SIGNED_IN);

    set_disabled(&app, "alice", true).await;
    set_disabled(&app, "alice", false).await;

    assert_eq!(prompt_none(&app, &client).await, "login_required");
    assert_invalid_grant(refresh_with(&app, &client, &rt(&tokens), None).await).await;
    assert_token_dead(&app, &at(&tokens)).await;
    // Enabled again: alice signs in afresh.
    let cb = app
        .authorize_through(&auth_params(&client, &[]), "alice")
        .await;
    assert!(query_param(&cb, "code").is_some());
}

#[tokio::test]
async fn a_disabled_client_s_tokens_are_refused_on_every_node_and_enabling_it_revives_no_grant() {
    // Node B has never seen the client: its cache (10 s per node) cannot hide the disable.
    let (a, b) = two_nodes().await;
    a.create_user("alice").await;
    let rp = a
        .create_client("rp", |s| {
            s.grant_types = vec![
                "authorization_code".into(),
                "refresh_token".into(),
                "client_credentials".into(),
            ];
            s.scopes.push("api".into());
        })
        .await;
    let rs = a.create_client("rs", |s| s.introspect = true).await;
    let tokens = a.code_flow_tokens(&rp, "alice", "openid").await;
    let res = a.token(&rp, &[("grant_type", "client_credentials")]).await;
    assert_eq!(res.status(), 200);
    let machine = res.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(introspect_json(&a, &rs, &machine).await["active"], true);

    admin(&a)
        .set_client_disabled("rp", true, a.clock.now())
        .await
        .unwrap();
    assert_invalid_token(userinfo_get(&b, &at(&tokens)).await, "disabled client").await;
    for (what, token) in [
        ("access token", at(&tokens)),
        ("refresh token", rt(&tokens)),
        ("client_credentials token", machine),
    ] {
        assert_eq!(
            introspect_json(&b, &rs, &token).await,
            json!({"active": false}),
            "{what} of a disabled client"
        );
    }

    admin(&a)
        .set_client_disabled("rp", false, a.clock.now())
        .await
        .unwrap();
    assert_invalid_grant(refresh_with(&b, &rp, &rt(&tokens), None).await).await;
    assert_invalid_grant(refresh_with(&a, &rp, &rt(&tokens), None).await).await;
}

// ----- 7. Who may introspect what -----

#[tokio::test]
async fn a_client_introspects_only_its_own_tokens_and_a_resource_server_any_client_s() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    let c1 = app.create_client("c1", |_| {}).await;
    let c2 = app.create_client("c2", |_| {}).await;
    let rs = app.create_client("rs", |s| s.introspect = true).await;
    let t1 = app.code_flow_tokens(&c1, "alice", "openid").await;
    let t2 = app.code_flow_tokens(&c2, "alice", "openid").await;

    for token in [at(&t1), rt(&t1)] {
        assert_eq!(
            introspect_json(&app, &c2, &token).await,
            json!({"active": false}),
            "c2 learnt about c1's token"
        );
    }
    let own = introspect_json(&app, &c2, &at(&t2)).await;
    assert_eq!(own["active"], true);
    assert_eq!(own["client_id"], "c2");
    let any = introspect_json(&app, &rs, &at(&t1)).await;
    assert_eq!(any["active"], true);
    assert_eq!(any["client_id"], "c1");
}

#[tokio::test]
async fn a_client_added_with_the_introspect_flag_introspects_other_clients_tokens() {
    let run = Run::new().await;
    let (app, rp) = with_alice_and(spawn_on(&run.database_url).await, "rp").await;
    let tokens = app.code_flow_tokens(&rp, "alice", "openid").await;

    let added = |id: &'static str, flag: Option<&'static str>| {
        let mut args = vec!["--grant-type", "client_credentials"];
        args.extend(flag);
        let out = run.client_add(id, &args).json();
        TestClient {
            id: id.into(),
            secret: Some(out["client_secret"].as_str().unwrap().to_owned()),
            redirect_uri: String::new(),
        }
    };
    let rs = added("rs", Some("--introspect"));
    let plain = added("plain", None);

    let body = introspect_json(&app, &rs, &at(&tokens)).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], "rp");
    assert_eq!(
        introspect_json(&app, &plain, &at(&tokens)).await,
        json!({"active": false})
    );
}
