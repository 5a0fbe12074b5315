//! Hardening: what an attacker can make the server store, how it stores it, and which redirect
//! URIs an administrator may register.

use std::sync::Arc;

use guichet::ephemeral::MemoryStore;
use guichet::service::authorize::code_key;

use crate::helpers::*;
use crate::token_helpers::*;

#[tokio::test]
async fn unknown_codes_presented_to_the_token_endpoint_leave_nothing_in_the_store() {
    // A small in-process store (whatever the database): before, each unknown code left a
    // six-minute tombstone, and the 21st unknown code got a 500 from a full store.
    let store = MemoryStore::new(20);
    let app = spawn_with(Options {
        store: Some(store.clone() as Arc<_>),
        ..Options::default()
    })
    .await;
    app.create_user("alice").await;
    let c1 = app.create_client("c1", |_| {}).await;
    let held = store.len();
    for i in 0..50 {
        let code = format!("made-up-code-{i}");
        assert_invalid_grant(redeem(&app, &c1, &code, None).await).await;
        let now = app.clock.now();
        assert_eq!(
            app.state.store.get(&code_key(&code), now).await.unwrap(),
            None
        );
    }
    assert_eq!(store.len(), held);
    // the store still has room for a real sign-in and its code
    let (code, verifier) = pkce_code(&app, &c1, "openid").await;
    let res = redeem(&app, &c1, &code, Some(&verifier)).await;
    assert_eq!(res.status(), 200);
}
