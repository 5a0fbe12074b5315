//! The password policy as the services apply it, and the store behind it: password history,
//! personal numbers, security question, charter, addresses (SQLite, or PostgreSQL when the
//! test server is set).

use guichet::domain::password_policy::Violation;
use guichet::domain::user::NewUser;
use guichet::service::password::{SetOutcome, set_password};
use guichet::store::{Db, StoreError};

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

async fn user_with_hash(db: &Db, login: &str, hash: &str) -> String {
    let new = NewUser {
        login: login.into(),
        password_hash: Some(hash.into()),
        ..NewUser::default()
    };
    db.user_insert(&new, NOW).await.unwrap().0.id
}

#[tokio::test]
async fn the_history_keeps_the_previous_hashes_newest_first_trimmed_to_what_is_kept() {
    let (db, _dir) = fresh_db().await;
    let id = user_with_hash(&db, "alice", "h0").await;
    assert!(db.password_history(&id, 3).await.unwrap().is_empty());
    // Five changes, all in the same second: the order still holds.
    for i in 1..=5 {
        db.password_set_with_history(&id, &format!("h{i}"), 3, false, NOW)
            .await
            .unwrap();
    }
    assert_eq!(
        db.password_history(&id, 10).await.unwrap(),
        ["h4", "h3", "h2"]
    );
    assert_eq!(db.password_history(&id, 2).await.unwrap(), ["h4", "h3"]);
    let user = db.user_by_id(&id).await.unwrap().unwrap();
    assert_eq!(user.password_hash.as_deref(), Some("h5"));
    assert_eq!(user.password_changed_at, Some(NOW));
    assert!(!user.must_change_password);

    // A temporary password is flagged; the next change clears the flag.
    db.password_set_with_history(&id, "h6", 3, true, NOW + 1)
        .await
        .unwrap();
    assert!(
        db.user_by_id(&id)
            .await
            .unwrap()
            .unwrap()
            .must_change_password
    );
    db.password_set_with_history(&id, "h7", 3, false, NOW + 2)
        .await
        .unwrap();
    let user = db.user_by_id(&id).await.unwrap().unwrap();
    assert!(!user.must_change_password);
    assert_eq!(user.password_changed_at, Some(NOW + 2));
    assert_eq!(
        db.password_history(&id, 10).await.unwrap(),
        ["h6", "h5", "h4"]
    );

    // Another user's history is their own; an unknown user is an error.
    let bob = user_with_hash(&db, "bob", "b0").await;
    db.password_set_with_history(&bob, "b1", 3, false, NOW)
        .await
        .unwrap();
    assert_eq!(db.password_history(&bob, 10).await.unwrap(), ["b0"]);
    assert!(matches!(
        db.password_set_with_history("nobody", "x", 3, false, NOW)
            .await,
        Err(StoreError::NotFound(_))
    ));
    db.close().await;
}

#[tokio::test]
async fn a_user_without_a_password_gets_one_with_an_empty_history() {
    let (db, _dir) = fresh_db().await;
    let id = db
        .user_insert(
            &NewUser {
                login: "carol".into(),
                ..NewUser::default()
            },
            NOW,
        )
        .await
        .unwrap()
        .0
        .id;
    db.password_set_with_history(&id, "first", 3, false, NOW)
        .await
        .unwrap();
    assert!(db.password_history(&id, 3).await.unwrap().is_empty());
    db.close().await;
}

#[tokio::test]
async fn a_personal_number_and_the_birth_date_find_the_user_and_a_number_has_one_owner() {
    let (db, _dir) = fresh_db().await;
    let new = NewUser {
        login: "dave".into(),
        birth_date: Some("2001-05-17".into()),
        personal_numbers: vec![("student".into(), "2024 0017".into())],
        must_change_password: true,
        ..NewUser::default()
    };
    let (dave, _) = db.user_insert(&new, NOW).await.unwrap();
    assert!(dave.must_change_password);
    assert_eq!(
        db.user_birth_date(&dave.id).await.unwrap().as_deref(),
        Some("2001-05-17")
    );
    let found = db
        .user_by_personal_number("student", "20240017", "2001-05-17")
        .await
        .unwrap();
    assert_eq!(found.map(|u| u.id), Some(dave.id.clone()));
    // Both must match, and the kind too.
    for (kind, value, born) in [
        ("student", "20240017", "2001-05-18"),
        ("staff", "20240017", "2001-05-17"),
        ("student", "20240018", "2001-05-17"),
    ] {
        assert!(
            db.user_by_personal_number(kind, value, born)
                .await
                .unwrap()
                .is_none()
        );
    }

    db.user_personal_number_add(&dave.id, "ine", "0A1B2C3D4E5")
        .await
        .unwrap();
    assert_eq!(
        db.user_personal_numbers(&dave.id).await.unwrap(),
        [
            ("ine".to_owned(), "0a1b2c3d4e5".to_owned()),
            ("student".to_owned(), "20240017".to_owned())
        ]
    );
    // The same number of the same kind for someone else: a conflict, and no half-made user.
    let erin = NewUser {
        login: "erin".into(),
        personal_numbers: vec![("student".into(), "2024-0017".into())],
        ..NewUser::default()
    };
    // "2024-0017" is another number than "2024 0017" (only spaces and case are ignored).
    db.user_insert(&erin, NOW).await.unwrap();
    let frank = NewUser {
        login: "frank".into(),
        personal_numbers: vec![("student".into(), " 20240017 ".into())],
        ..NewUser::default()
    };
    assert!(matches!(
        db.user_insert(&frank, NOW).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        db.user_by_identifier("frank").await.unwrap().is_none(),
        "the user was not created"
    );
    assert!(matches!(
        db.user_personal_number_add(&dave.id, "ine", "0a1b2c3d4e5")
            .await,
        Err(StoreError::Conflict(_))
    ));

    assert!(
        db.user_set_birth_date(&dave.id, "2001-05-18")
            .await
            .unwrap()
    );
    assert!(
        db.user_by_personal_number("student", "20240017", "2001-05-17")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.user_by_personal_number("student", "2024 0017", "2001-05-18")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        !db.user_set_birth_date("nobody", "2001-05-18")
            .await
            .unwrap()
    );
    db.close().await;
}

#[tokio::test]
async fn the_security_question_charter_and_addresses_are_stored_and_read_back() {
    let (db, _dir) = fresh_db().await;
    let id = user_with_hash(&db, "gina", "g0").await;
    assert_eq!(db.user_security_question(&id).await.unwrap(), None);
    assert_eq!(db.user_charter(&id).await.unwrap(), None);
    assert_eq!(db.user_emails(&id).await.unwrap(), (None, None));

    assert!(
        db.user_set_security_question(&id, "First pet?", "$argon2id$answer")
            .await
            .unwrap()
    );
    assert_eq!(
        db.user_security_question(&id).await.unwrap(),
        Some(("First pet?".into(), "$argon2id$answer".into()))
    );
    assert!(db.user_set_charter(&id, "2026-09", NOW).await.unwrap());
    assert_eq!(
        db.user_charter(&id).await.unwrap(),
        Some(("2026-09".into(), NOW))
    );
    assert!(
        db.user_set_emails(
            &id,
            Some("gina@perso.example"),
            Some("gina@elsewhere.example")
        )
        .await
        .unwrap()
    );
    assert_eq!(
        db.user_emails(&id).await.unwrap(),
        (
            Some("gina@perso.example".into()),
            Some("gina@elsewhere.example".into())
        )
    );
    assert!(
        db.user_set_emails(&id, Some("gina@perso.example"), None)
            .await
            .unwrap()
    );
    assert_eq!(db.user_emails(&id).await.unwrap().1, None);
    // The user still loads as before, and nothing is set for an unknown one.
    assert_eq!(db.user_by_id(&id).await.unwrap().unwrap().login, "gina");
    assert!(!db.user_set_charter("nobody", "v", NOW).await.unwrap());
    db.close().await;
}

#[tokio::test]
async fn set_password_refuses_each_broken_rule_and_the_last_passwords() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    let alice = find_user(&app, "alice").await;
    let now = app.clock.now();
    let refused = |outcome: SetOutcome| match outcome {
        SetOutcome::Refused(v) => v,
        other => panic!("not refused: {other:?}"),
    };

    let out = set_password(&app.core, &alice, "not 12 z9".into(), false, now)
        .await
        .unwrap();
    assert_eq!(refused(out), [Violation::TooShort]);
    let out = set_password(&app.core, &alice, "I am Alice Martin".into(), false, now)
        .await
        .unwrap();
    assert_eq!(
        refused(out),
        [Violation::ContainsLogin, Violation::ContainsName]
    );
    let out = set_password(&app.core, &alice, "QWERTYQWERTY".into(), false, now)
        .await
        .unwrap();
    assert_eq!(refused(out), [Violation::Banned]);
    // The current password.
    let out = set_password(&app.core, &alice, PASSWORD.into(), false, now)
        .await
        .unwrap();
    assert_eq!(refused(out), [Violation::Reused]);

    // Four new passwords: each of the three before the current one is refused, the fourth
    // back may be used again.
    let passwords = [
        "first new passphrase",
        "second new passphrase",
        "third new passphrase",
        "fourth new passphrase",
    ];
    for p in passwords {
        let out = set_password(&app.core, &alice, p.into(), false, now)
            .await
            .unwrap();
        assert_eq!(out, SetOutcome::Changed { grants_revoked: 0 });
    }
    for p in &passwords {
        let out = set_password(&app.core, &alice, (*p).into(), false, now)
            .await
            .unwrap();
        assert_eq!(refused(out), [Violation::Reused], "{p}");
    }
    let out = set_password(&app.core, &alice, PASSWORD.into(), false, now)
        .await
        .unwrap();
    assert_eq!(out, SetOutcome::Changed { grants_revoked: 0 });
    assert_eq!(
        app.core
            .db
            .password_history(&alice.id, 10)
            .await
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test]
async fn a_password_set_by_the_service_ends_sessions_and_refresh_tokens_and_is_audited() {
    let (app, client) = app_with_alice_and("c1").await;
    let tokens = app.code_flow_tokens(&client, "alice", "openid").await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let alice = find_user(&app, "alice").await;

    let out = set_password(
        &app.core,
        &alice,
        "a brand new passphrase".into(),
        true,
        app.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(out, SetOutcome::Changed { grants_revoked: 1 });
    let res = refresh_with(&app, &client, &refresh, None).await;
    assert_eq!(res.status(), 400, "the refresh token is revoked");
    let (challenge, _) = pkce_pair();
    let silent = [
        ("response_type", "code"),
        ("client_id", "c1"),
        ("redirect_uri", client.redirect_uri.as_str()),
        ("scope", "openid"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("prompt", "none"),
    ];
    let res = app.authorize(&silent).await;
    assert_eq!(
        query_param(&location(&res), "error").as_deref(),
        Some("login_required"),
        "the SSO session is over"
    );
    let after = find_user(&app, "alice").await;
    assert!(after.must_change_password);
    assert!(
        app.core
            .hasher
            .verify(after.password_hash, "a brand new passphrase".into())
            .await
            .unwrap()
    );
    let events = app
        .core
        .db
        .audit_for_user(&alice.id, &["user.password_changed"], 5)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
}
