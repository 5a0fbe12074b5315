//! Administration of users (issue 9): removing an old identifier, deleting a user for good.

use crate::cli::Run;
use crate::helpers::*;

#[tokio::test]
async fn remove_identifier_drops_an_old_address_but_never_the_login() {
    let run = Run::new().await;
    run.user_add(
        "alice",
        &[
            "--password",
            PASSWORD,
            "--email",
            "alice@old.example",
            "--identifier",
            "E12345",
        ],
    )
    .json();
    let out = run
        .run(&[
            "user",
            "remove-identifier",
            "--login",
            "E12345",
            "--identifier",
            "Alice@Old.example",
        ])
        .json();
    assert_eq!(out["identifiers"], serde_json::json!(["alice", "E12345"]));
    let line = run
        .run(&[
            "user",
            "remove-identifier",
            "--login",
            "alice",
            "--identifier",
            "alice",
        ])
        .failure();
    assert!(line.contains("login"), "{line}");
    let line = run
        .run(&[
            "user",
            "remove-identifier",
            "--login",
            "alice",
            "--identifier",
            "nobody@example.org",
        ])
        .failure();
    assert!(line.contains("not an identifier"), "{line}");
}

#[tokio::test]
async fn a_deleted_user_loses_sessions_and_tokens_and_the_audit_trail_stays() {
    let (app, client) = app_with_alice().await;
    let tokens = app
        .code_flow_tokens(&client, "alice", "openid offline_access")
        .await;
    let alice = find_user(&app, "alice").await;
    let revoked = admin(&app)
        .delete_user(&alice, app.clock.now())
        .await
        .unwrap();
    assert!(revoked >= 1);
    assert!(app.core.db.user_by_id(&alice.id).await.unwrap().is_none());
    // The browser's session is over, refresh fails, userinfo refuses the access token.
    assert_eq!(prompt_none(&app, &client).await, "login_required");
    let (status, _) = refresh(&app, &client, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 400);
    let res = userinfo_get(&app, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(res.status(), 401);
    // The audit still names the id, for the deletion and for what came before.
    let rows = audit_kinds(&app, &["user.deleted", "login.success"]).await;
    for kind in ["user.deleted", "login.success"] {
        assert!(
            rows.iter()
                .any(|r| r.1 == kind && r.2.as_deref() == Some(alice.id.as_str())),
            "{kind}: {rows:?}"
        );
    }
}

#[tokio::test]
async fn search_finds_users_by_part_of_a_login_identifier_name_or_address_in_any_case() {
    let run = Run::new().await;
    run.user_add(
        "alice",
        &[
            "--password",
            PASSWORD,
            "--email",
            "alice.martin@univ.example",
            "--identifier",
            "E12345",
            "--given-name",
            "Alice",
            "--family-name",
            "Martin",
        ],
    )
    .json();
    run.user_add("bob", &["--password", PASSWORD, "--family-name", "Dupont"])
        .json();
    run.user_add("b_o%b", &["--password", PASSWORD]).json();
    let logins = |q: &str| {
        let out = run.run(&["user", "search", "--query", q]).json();
        out["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["login"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(logins("ALI"), ["alice"]);
    assert_eq!(logins("e123"), ["alice"]);
    assert_eq!(logins("UNIV.example"), ["alice"]);
    assert_eq!(logins("ice mart"), ["alice"]);
    assert_eq!(logins("dupont"), ["bob"]);
    // LIKE's wildcards are plain characters.
    assert_eq!(logins("_o%"), ["b_o%b"]);
    assert_eq!(logins("nobody"), Vec::<String>::new());
    assert_eq!(logins("b").len(), 2, "bob and b_o%b");
    let out = run.run(&["user", "search", "--query", "alice"]).json();
    assert!(out["users"][0].get("password_hash").is_none());
}

#[tokio::test]
async fn a_required_password_change_is_asked_at_the_next_sign_in_before_any_code() {
    let (app, client) = app_with_alice().await;
    let alice = find_user(&app, "alice").await;
    admin(&app)
        .require_password_change(&alice, app.clock.now())
        .await
        .unwrap();
    let res = sign_in(&app, &browser(), &client, "alice", &[]).await;
    assert_eq!(res.status(), 200, "no code before the new password");
    let page = res.text().await.unwrap();
    assert!(page.contains("name=\"new_password\""), "{page}");
    let rows = audit_kinds(&app, &["user.password_change_required"]).await;
    assert!(rows.iter().any(|r| r.1 == "user.password_change_required"));
    // And from the CLI.
    let run = Run::new().await;
    run.user_add("bob", &["--password", PASSWORD]).json();
    let out = run
        .run(&["user", "require-password-change", "--login", "bob"])
        .json();
    assert_eq!(out["must_change_password"], true);
}

#[tokio::test]
async fn a_removed_client_is_gone_with_its_grants_and_its_tokens_stop_working() {
    let (app, client) = app_with_alice().await;
    let tokens = app
        .code_flow_tokens(&client, "alice", "openid offline_access")
        .await;
    let revoked = admin(&app)
        .remove_client(&client.id, app.clock.now())
        .await
        .unwrap();
    assert!(revoked >= 1);
    assert!(
        app.core
            .db
            .client_by_id(&client.id)
            .await
            .unwrap()
            .is_none()
    );
    let (status, _) = refresh(&app, &client, tokens["refresh_token"].as_str().unwrap()).await;
    assert!(status == 400 || status == 401, "{status}");
    let err = admin(&app)
        .remove_client(&client.id, app.clock.now())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no client"), "{err}");
    // From the CLI.
    let run = Run::new().await;
    run.client_add("rp9", &["--redirect-uri", "https://rp.example/cb"])
        .json();
    let out = run.run(&["client", "remove", "--client-id", "rp9"]).json();
    assert_eq!(out["removed"], true);
    let line = run
        .run(&["client", "remove", "--client-id", "rp9"])
        .failure();
    assert!(line.contains("no client"), "{line}");
}

#[tokio::test]
async fn a_new_email_address_moves_the_identifier_and_is_unverified() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    app.create_user("bob").await;
    let alice = find_user(&app, "alice").await;
    let now = app.clock.now();
    let changes = guichet::service::admin_users::ProfileChanges {
        email: Some(Some("Alice.Martin@new.example".into())),
        given_name: Some(Some("  Alicia ".into())),
        family_name: Some(None),
        ..Default::default()
    };
    let updated = admin(&app)
        .update_profile(&alice, &changes, now)
        .await
        .unwrap();
    assert_eq!(updated.email.as_deref(), Some("Alice.Martin@new.example"));
    assert!(!updated.email_verified);
    let stored = find_user(&app, "alice.martin@new.example").await;
    assert_eq!(stored.id, alice.id);
    assert_eq!(stored.given_name.as_deref(), Some("Alicia"));
    assert_eq!(stored.family_name, None);
    assert!(matches!(
        admin(&app).find_user("alice@example.org").await,
        Err(guichet::service::admin::AdminError::NotFound(_))
    ));
    // Someone else's address: refused, nothing changed.
    let taken = guichet::service::admin_users::ProfileChanges {
        email: Some(Some("bob@example.org".into())),
        given_name: Some(Some("Changed".into())),
        ..Default::default()
    };
    let err = admin(&app)
        .update_profile(&stored, &taken, now)
        .await
        .unwrap_err();
    assert!(
        matches!(err, guichet::service::admin::AdminError::Conflict(_)),
        "{err}"
    );
    let again = find_user(&app, "alice").await;
    assert_eq!(again.given_name.as_deref(), Some("Alicia"));
    assert_eq!(again.email.as_deref(), Some("Alice.Martin@new.example"));
    // Not an address.
    let bad = guichet::service::admin_users::ProfileChanges {
        email: Some(Some("nobody".into())),
        ..Default::default()
    };
    assert!(matches!(
        admin(&app).update_profile(&again, &bad, now).await,
        Err(guichet::service::admin::AdminError::Invalid(_))
    ));
}

#[tokio::test]
async fn the_cli_updates_a_profile_and_adds_an_identifier() {
    let run = Run::new().await;
    run.user_add(
        "alice",
        &["--password", PASSWORD, "--email", "alice@old.example"],
    )
    .json();
    let shown = run
        .run(&[
            "user",
            "update",
            "--login",
            "alice",
            "--email",
            "alice@new.example",
            "--email-verified",
            "true",
            "--family-name",
            "Martin",
            "--locale",
            "fr",
        ])
        .json();
    assert_eq!(shown["email"], "alice@new.example");
    assert_eq!(
        shown["identifiers"],
        serde_json::json!(["alice", "alice@new.example"])
    );
    let out = run
        .run(&[
            "user",
            "add-identifier",
            "--login",
            "alice@new.example",
            "--identifier",
            "E777",
        ])
        .json();
    assert_eq!(
        out["identifiers"],
        serde_json::json!(["alice", "alice@new.example", "E777"])
    );
    let line = run
        .run(&[
            "user",
            "add-identifier",
            "--login",
            "alice",
            "--identifier",
            "e777",
        ])
        .failure();
    assert!(line.contains("already taken"), "{line}");
    let line = run
        .run(&["user", "update", "--login", "alice", "--locale", "fr; drop"])
        .failure();
    assert!(line.contains("language tag"), "{line}");
}

#[tokio::test]
async fn an_establishment_administrator_creates_people_in_their_establishment_only() {
    use guichet::domain::user::NewUser;
    use guichet::service::admin::{Admin, AdminError, actor_for_user};
    let app = spawn_app().await;
    app.create_user("alice").await;
    let cli = admin(&app);
    let now = app.clock.now();
    cli.create_establishment("UPEC", "Université", &["staff".into()], now)
        .await
        .unwrap();
    cli.create_establishment("IUT", "IUT", &[], now)
        .await
        .unwrap();
    let alice = find_user(&app, "alice").await;
    cli.grant(&alice, "UPEC", &[], true, now).await.unwrap();
    let actor = actor_for_user(&app.core.db, &alice).await.unwrap().unwrap();
    let mine = Admin::new(&app.core, &actor);
    let new = |login: &str| NewUser {
        login: login.into(),
        email: Some(format!("{login}@example.org")),
        ..NewUser::default()
    };
    assert!(matches!(
        mine.create_user(new("zoe"), None, now).await,
        Err(AdminError::Forbidden(_))
    ));
    assert!(matches!(
        mine.create_user(new("zoe"), Some(("IUT", &[])), now).await,
        Err(AdminError::NotFound(_))
    ));
    assert!(
        app.core
            .db
            .user_by_identifier("zoe")
            .await
            .unwrap()
            .is_none(),
        "nothing created"
    );
    let zoe = mine
        .create_user(new("zoe"), Some(("UPEC", &["staff".into()])), now)
        .await
        .unwrap();
    let m = mine.memberships(&zoe).await.unwrap();
    assert_eq!(m[0].code, "UPEC");
    assert_eq!(m[0].rights, ["staff"]);
    assert!(mine.find_user("zoe@example.org").await.is_ok());
}
