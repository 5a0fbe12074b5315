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
