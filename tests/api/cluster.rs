//! Two nodes behind one issuer, sharing the database, the keys folder and the short-lived
//! store (Redis when GUICHET_TEST_REDIS_URL is set, else one in-process store shared in this
//! process).

use std::sync::Arc;

use guichet::ephemeral::{DynEphemeral, MemoryStore};

use crate::helpers::*;

/// Two nodes of one cluster (also used by `review_tokens`: a node that has not cached a
/// client yet).
pub async fn two_nodes() -> (TestApp, TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    copy_fixture_keys(&keys);
    let database_url = fresh_database_url(dir.path()).await;
    let prefix = format!("guichet-test-{}:", uuid::Uuid::new_v4().simple());
    let shared: Option<DynEphemeral> = match test_redis_url() {
        Some(_) => None,
        None => Some(MemoryStore::new(100_000) as Arc<_>),
    };
    let options = |issuer: Option<String>| Options {
        redis_url: None,
        database_url: Some(database_url.clone()),
        keys_dir: Some(keys.clone()),
        redis_prefix: Some(prefix.clone()),
        store: shared.clone(),
        issuer,
        https: false,
        settings: None,
        ..Options::default()
    };
    let a = spawn_with(options(None)).await;
    let b = spawn_with(options(Some(a.issuer.clone()))).await;
    // Keep the shared folder alive as long as the nodes.
    std::mem::forget(dir);
    (a, b)
}

fn code_params<'a>(client: &'a TestClient, challenge: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", client.id.as_str()),
        ("redirect_uri", client.redirect_uri.as_str()),
        ("scope", "openid"),
        ("state", "s"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
}

#[tokio::test]
async fn a_session_opened_on_one_node_signs_in_on_the_other_and_a_code_is_redeemed_once() {
    let (a, b) = two_nodes().await;
    a.create_user("alice").await;
    let client = a.create_client("rp", |_| {}).await;
    let (challenge, verifier) = pkce_pair();

    // Sign in on node A.
    let cb = a
        .authorize_through(&code_params(&client, &challenge), "alice")
        .await;
    assert!(query_param(&cb, "code").is_some());

    // The same browser goes to node B: no login form, a code straight away.
    let res = a
        .browser
        .get(b.url("/authorize"))
        .query(&code_params(&client, &challenge))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302, "node B honours node A's session");
    let cb = location(&res);
    assert_eq!(query_param(&cb, "iss").as_deref(), Some(a.issuer.as_str()));
    let code = query_param(&cb, "code").unwrap();

    // Both nodes try to redeem it at once: never both. The loser's replay revokes the grant
    // (RFC 6749 §4.1.2), so a token the winner got is dead as well.
    let (ra, rb) = tokio::join!(
        redeem(&a, &client, &code, Some(&verifier)),
        redeem(&b, &client, &code, Some(&verifier))
    );
    let mut bodies = Vec::new();
    for r in [ra, rb] {
        let status = r.status().as_u16();
        bodies.push((status, r.json::<serde_json::Value>().await.unwrap()));
    }
    assert!(
        bodies
            .iter()
            .any(|(s, b)| *s == 400 && b["error"] == "invalid_grant")
    );
    assert!(
        !bodies.iter().all(|(s, _)| *s == 200),
        "the code was redeemed twice"
    );
    for (status, body) in &bodies {
        if *status == 200 {
            let at = body["access_token"].as_str().unwrap();
            let res = userinfo_get(&b, at).await;
            assert_eq!(res.status(), 401, "tokens of a replayed code are revoked");
        }
    }

    // Logging out on node B ends the session on node A too.
    let res = a.browser.get(b.url("/logout")).send().await.unwrap();
    let page = res.text().await.unwrap();
    let csrf = hidden(&page, "csrf").unwrap();
    let res = a
        .browser
        .post(b.url("/logout/confirm"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut params = code_params(&client, &challenge);
    params.push(("prompt", "none"));
    let res = a.authorize(&params).await;
    assert_eq!(
        query_param(&location(&res), "error").as_deref(),
        Some("login_required")
    );
}
