//! The store of second factors and recovery codes, the clients' `require_mfa` flag and a user's
//! audit trail, on a database of their own (SQLite, or PostgreSQL when the test server is set).

use guichet::crypto::keys::Alg;
use guichet::domain::audit::{AuditEvent, AuditKind};
use guichet::domain::client::Client;
use guichet::domain::mfa::{Factor, FactorKind};
use guichet::domain::user::NewUser;
use guichet::store::Db;

use crate::helpers::*;

const NOW: i64 = 1_800_000_000;

async fn fresh_db() -> (Db, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&fresh_database_url(dir.path()).await)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    (db, dir)
}

async fn user(db: &Db, login: &str) -> String {
    let new = NewUser {
        login: login.into(),
        ..NewUser::default()
    };
    db.user_insert(&new, NOW).await.unwrap().0.id
}

fn totp(user_id: &str, secret: &str, at: i64) -> Factor {
    Factor {
        user_id: user_id.into(),
        kind: FactorKind::Totp,
        phone: None,
        secret: Some(secret.into()),
        created_at: at,
        last_used_at: None,
    }
}

fn sms(user_id: &str, phone: &str, at: i64) -> Factor {
    Factor {
        user_id: user_id.into(),
        kind: FactorKind::Sms,
        phone: Some(phone.into()),
        secret: None,
        created_at: at,
        last_used_at: None,
    }
}

fn hashes(prefix: &str) -> Vec<String> {
    (0..10).map(|i| format!("{prefix}-{i}")).collect()
}

#[tokio::test]
async fn a_user_has_one_factor_of_each_kind_and_a_new_one_replaces_the_old() {
    let (db, _dir) = fresh_db().await;
    let alice = user(&db, "alice").await;
    let bob = user(&db, "bob").await;
    assert!(db.factors_of(&alice).await.unwrap().is_empty());

    db.factor_put(&totp(&alice, "v1.first", NOW)).await.unwrap();
    db.factor_put(&sms(&alice, "+33612345678", NOW + 1))
        .await
        .unwrap();
    db.factor_put(&totp(&bob, "v1.bob", NOW)).await.unwrap();
    db.factor_used(&alice, FactorKind::Totp, NOW + 5)
        .await
        .unwrap();
    let factors = db.factors_of(&alice).await.unwrap();
    let kinds: Vec<FactorKind> = factors.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        [FactorKind::Sms, FactorKind::Totp],
        "ordered by kind"
    );
    assert_eq!(factors[0].phone.as_deref(), Some("+33612345678"));
    assert_eq!(factors[0].secret, None);
    assert_eq!(factors[0].last_used_at, None);
    assert_eq!(factors[1].secret.as_deref(), Some("v1.first"));
    assert_eq!(factors[1].created_at, NOW);
    assert_eq!(factors[1].last_used_at, Some(NOW + 5));

    // Enrolling TOTP again replaces the secret and starts afresh.
    db.factor_put(&totp(&alice, "v1.second", NOW + 10))
        .await
        .unwrap();
    let factors = db.factors_of(&alice).await.unwrap();
    assert_eq!(factors.len(), 2);
    let t = factors.iter().find(|f| f.kind == FactorKind::Totp).unwrap();
    assert_eq!(t.secret.as_deref(), Some("v1.second"));
    assert_eq!((t.created_at, t.last_used_at), (NOW + 10, None));

    assert!(db.factor_delete(&alice, FactorKind::Sms).await.unwrap());
    assert!(!db.factor_delete(&alice, FactorKind::Sms).await.unwrap());
    let kinds: Vec<FactorKind> = db
        .factors_of(&alice)
        .await
        .unwrap()
        .iter()
        .map(|f| f.kind)
        .collect();
    assert_eq!(kinds, [FactorKind::Totp]);
    // bob's factor is his own
    assert_eq!(db.factors_of(&bob).await.unwrap().len(), 1);
}

#[tokio::test]
async fn recovery_codes_are_used_once_and_a_new_set_replaces_the_old() {
    let (db, _dir) = fresh_db().await;
    let alice = user(&db, "alice").await;
    let bob = user(&db, "bob").await;
    assert_eq!(db.recovery_codes_status(&alice).await.unwrap(), (0, None));

    db.recovery_codes_replace(&alice, &hashes("a"), NOW)
        .await
        .unwrap();
    db.recovery_codes_replace(&bob, &hashes("b"), NOW)
        .await
        .unwrap();
    assert_eq!(
        db.recovery_codes_status(&alice).await.unwrap(),
        (10, Some(NOW))
    );
    assert!(db.recovery_code_use(&alice, "a-3", NOW + 1).await.unwrap());
    assert!(
        !db.recovery_code_use(&alice, "a-3", NOW + 2).await.unwrap(),
        "used once"
    );
    assert!(
        !db.recovery_code_use(&alice, "b-3", NOW + 2).await.unwrap(),
        "another user's code"
    );
    assert!(!db.recovery_code_use(&alice, "nope", NOW + 2).await.unwrap());
    assert_eq!(
        db.recovery_codes_status(&alice).await.unwrap(),
        (9, Some(NOW))
    );

    // Concurrent uses of one code: exactly one wins.
    let tries = (0..8).map(|_| {
        let db = db.clone();
        let alice = alice.clone();
        tokio::spawn(async move { db.recovery_code_use(&alice, "a-7", NOW + 3).await })
    });
    let mut won = 0;
    for t in tries {
        if t.await.unwrap().unwrap() {
            won += 1;
        }
    }
    assert_eq!(won, 1);
    assert_eq!(db.recovery_codes_status(&alice).await.unwrap().0, 8);

    // Regenerating: the old set is gone, used or not.
    db.recovery_codes_replace(&alice, &hashes("c"), NOW + 100)
        .await
        .unwrap();
    assert!(
        !db.recovery_code_use(&alice, "a-0", NOW + 101)
            .await
            .unwrap()
    );
    assert_eq!(
        db.recovery_codes_status(&alice).await.unwrap(),
        (10, Some(NOW + 100))
    );
    db.recovery_codes_replace(&alice, &[], NOW + 200)
        .await
        .unwrap();
    assert_eq!(db.recovery_codes_status(&alice).await.unwrap(), (0, None));
    assert_eq!(db.recovery_codes_status(&bob).await.unwrap().0, 10);
}

#[tokio::test]
async fn a_reset_removes_every_factor_and_recovery_code_of_the_user_only() {
    let (db, _dir) = fresh_db().await;
    let alice = user(&db, "alice").await;
    let bob = user(&db, "bob").await;
    for u in [&alice, &bob] {
        db.factor_put(&totp(u, "v1.s", NOW)).await.unwrap();
        db.factor_put(&sms(u, "+33612345678", NOW)).await.unwrap();
        db.recovery_codes_replace(u, &hashes(u), NOW).await.unwrap();
    }
    assert_eq!(db.factors_delete_all(&alice).await.unwrap(), 2);
    assert!(db.factors_of(&alice).await.unwrap().is_empty());
    assert_eq!(db.recovery_codes_status(&alice).await.unwrap(), (0, None));
    assert_eq!(db.factors_delete_all(&alice).await.unwrap(), 0);
    assert_eq!(db.factors_of(&bob).await.unwrap().len(), 2);
    assert_eq!(db.recovery_codes_status(&bob).await.unwrap().0, 10);
}

#[tokio::test]
async fn deleting_a_user_takes_their_factors_and_codes_along() {
    let (db, _dir) = fresh_db().await;
    let alice = user(&db, "alice").await;
    db.factor_put(&totp(&alice, "v1.s", NOW)).await.unwrap();
    db.recovery_codes_replace(&alice, &hashes("a"), NOW)
        .await
        .unwrap();
    sqlx::query("delete from users where id = $1")
        .bind(&alice)
        .execute(db.pool())
        .await
        .unwrap();
    assert!(db.factors_of(&alice).await.unwrap().is_empty());
    assert_eq!(db.recovery_codes_status(&alice).await.unwrap(), (0, None));
}

#[tokio::test]
async fn a_client_keeps_its_require_mfa_flag() {
    let (db, _dir) = fresh_db().await;
    let client = |id: &str, require_mfa: bool| Client {
        client_id: id.into(),
        name: None,
        secret_hash: None,
        public: true,
        redirect_uris: vec!["https://rp.example/cb".into()],
        post_logout_redirect_uris: vec![],
        grant_types: vec![],
        scopes: vec!["openid".into()],
        first_party: false,
        introspect: false,
        require_mfa,
        id_token_alg: Alg::RS256,
        access_token_alg: Alg::ES256,
        code_ttl: None,
        access_token_ttl: None,
        id_token_ttl: None,
        offline_ttl: None,
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
        disabled: false,
        created_at: NOW,
        updated_at: NOW,
    };
    db.client_insert(&client("strict", true)).await.unwrap();
    db.client_insert(&client("lax", false)).await.unwrap();
    assert!(
        db.client_by_id("strict")
            .await
            .unwrap()
            .unwrap()
            .require_mfa
    );
    assert!(!db.client_by_id("lax").await.unwrap().unwrap().require_mfa);

    assert!(
        db.client_set_require_mfa("lax", true, NOW + 1)
            .await
            .unwrap()
    );
    let lax = db.client_by_id("lax").await.unwrap().unwrap();
    assert!(lax.require_mfa);
    assert_eq!(lax.updated_at, NOW + 1);
    assert!(
        db.client_set_require_mfa("strict", false, NOW + 2)
            .await
            .unwrap()
    );
    assert!(
        !db.client_by_id("strict")
            .await
            .unwrap()
            .unwrap()
            .require_mfa
    );
    assert!(
        !db.client_set_require_mfa("nobody", true, NOW)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_users_audit_trail_lists_the_kinds_asked_for_newest_first() {
    let (db, _dir) = fresh_db().await;
    let alice = user(&db, "alice").await;
    let bob = user(&db, "bob").await;
    let ev = |at: i64, kind: AuditKind, who: &str| {
        AuditEvent::new(at, kind)
            .user(who)
            .client("rp")
            .ip(Some(format!("192.0.2.{}", at - NOW)))
    };
    db.audit_insert(&[
        ev(NOW + 1, AuditKind::LoginSuccess, &alice),
        ev(NOW + 2, AuditKind::MfaSucceeded, &alice),
        ev(NOW + 3, AuditKind::LoginSuccess, &bob),
        ev(NOW + 4, AuditKind::TokenIssued, &alice),
        ev(NOW + 5, AuditKind::LoginSuccess, &alice),
        ev(NOW + 6, AuditKind::MfaFailed, &alice),
    ])
    .await
    .unwrap();
    // a kind this version does not know (a newer node's) is left out
    sqlx::query(
        "insert into audit_events (id, at, kind, user_id) values ('x', $1, 'future.kind', $2)",
    )
    .bind(NOW + 7)
    .bind(&alice)
    .execute(db.pool())
    .await
    .unwrap();

    let sign_ins = db
        .audit_for_user(&alice, &["login.success", "mfa.success"], 10)
        .await
        .unwrap();
    let got: Vec<(i64, AuditKind)> = sign_ins.iter().map(|e| (e.at, e.kind)).collect();
    assert_eq!(
        got,
        [
            (NOW + 5, AuditKind::LoginSuccess),
            (NOW + 2, AuditKind::MfaSucceeded),
            (NOW + 1, AuditKind::LoginSuccess),
        ]
    );
    assert_eq!(sign_ins[0].ip.as_deref(), Some("192.0.2.5"));
    assert_eq!(sign_ins[0].client_id.as_deref(), Some("rp"));
    assert_eq!(sign_ins[0].user_id.as_deref(), Some(alice.as_str()));

    let latest = db
        .audit_for_user(&alice, &["login.success"], 1)
        .await
        .unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].at, NOW + 5);

    // no kinds: every kind this version knows
    let all = db.audit_for_user(&alice, &[], 100).await.unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(all[0].kind, AuditKind::MfaFailed);
    assert!(
        db.audit_for_user("nobody", &[], 10)
            .await
            .unwrap()
            .is_empty()
    );
}
