//! Establishments and memberships (issue 9's first slice): created and granted by the CLI and
//! the service, released as the `establishments` claim (scope `establishments`) and as CAS
//! attributes.

use guichet::domain::admin::Actor;
use guichet::service::admin::Admin;
use serde_json::json;

use crate::cli::Run;
use crate::helpers::*;

/// Two establishments; alice is a member of both, with rights.
async fn alice_in_two_establishments(app: &TestApp) {
    let cli = Actor::cli();
    let admin = Admin::new(&app.core, &cli);
    let now = app.clock.now();
    let rights = |r: &[&str]| r.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    admin
        .create_establishment(
            "UPEC",
            "Université Paris-Est Créteil",
            &rights(&["staff", "print", "admin"]),
            now,
        )
        .await
        .unwrap();
    admin
        .create_establishment("IUT", "IUT de Créteil", &rights(&["teacher"]), now)
        .await
        .unwrap();
    let alice = find_user(app, "alice").await;
    admin
        .grant(&alice, "UPEC", &rights(&["print", "staff"]), false, now)
        .await
        .unwrap();
    admin
        .grant(&alice, "IUT", &rights(&["teacher"]), false, now)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_establishments_scope_puts_memberships_in_the_id_token_and_userinfo() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    let client = app
        .create_client("rp1", |c| c.scopes.push("establishments".into()))
        .await;
    alice_in_two_establishments(&app).await;
    let tokens = app
        .code_flow_tokens(&client, "alice", "openid establishments")
        .await;
    let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    let expected = json!([
        {"code": "IUT", "name": "IUT de Créteil", "rights": ["teacher"]},
        {"code": "UPEC", "name": "Université Paris-Est Créteil", "rights": ["staff", "print"]},
    ]);
    assert_eq!(claims["establishments"], expected);
    let info: serde_json::Value = userinfo_get(&app, tokens["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["establishments"], expected);
    // Without the scope, nothing.
    let other = app.create_client("rp2", |_| {}).await;
    let tokens = app.code_flow_tokens(&other, "alice", "openid").await;
    let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert!(claims.get("establishments").is_none(), "{claims}");
    // Discovery names the scope and the claim.
    let d: serde_json::Value = reqwest::get(app.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        d["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("establishments"))
    );
    assert!(
        d["claims_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("establishments"))
    );
}

#[tokio::test]
async fn a_cas_service_is_released_the_memberships_as_repeated_attributes() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    app.create_cas_service(SERVICE, |s| {
        s.attributes = vec!["establishments".into(), "establishment_rights".into()];
    })
    .await;
    alice_in_two_establishments(&app).await;
    let ticket = app.cas_ticket(&app.browser, SERVICE, "alice").await;
    let (_, body) = app
        .cas_get(
            "/cas/p3/serviceValidate",
            &[("service", SERVICE), ("ticket", &ticket)],
        )
        .await;
    let x = parse_xml(&body);
    assert_eq!(x.outcome, "authenticationSuccess", "{body}");
    assert_eq!(x.all("establishments"), ["IUT", "UPEC"]);
    assert_eq!(
        x.all("establishment_rights"),
        ["IUT:teacher", "UPEC:staff", "UPEC:print"]
    );
}

#[tokio::test]
async fn rights_must_be_defined_and_removing_one_takes_it_from_members() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    alice_in_two_establishments(&app).await;
    let db = &app.core.db;
    let cli = Actor::cli();
    let admin = Admin::new(&app.core, &cli);
    let now = app.clock.now();
    let alice = find_user(&app, "alice").await;
    let err = admin
        .grant(&alice, "UPEC", &["root".into()], false, now)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not defined"), "{err}");
    let err = admin
        .grant(&alice, "NOPE", &[], false, now)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no establishment"), "{err}");
    admin
        .update_establishment("UPEC", None, Some(&["staff".into(), "admin".into()]), now)
        .await
        .unwrap();
    let m = db.memberships_of(&alice.id).await.unwrap();
    let upec = m.iter().find(|m| m.code == "UPEC").unwrap();
    assert_eq!(upec.rights, ["staff"], "print is no longer defined");
    assert!(admin.revoke(&alice, "IUT", now).await.unwrap());
    assert!(!admin.revoke(&alice, "IUT", now).await.unwrap());
    assert_eq!(db.memberships_of(&alice.id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_cli_creates_establishments_grants_and_revokes_memberships() {
    let run = Run::new().await;
    run.user_add("alice", &["--password", PASSWORD]).json();
    let e = run
        .run(&[
            "establishment",
            "add",
            "--code",
            "UPEC",
            "--name",
            "Université",
            "--right",
            "staff",
            "--right",
            "print",
        ])
        .json();
    assert_eq!(e["rights"], json!(["staff", "print"]));
    let list = run.run(&["establishment", "list"]).json();
    assert_eq!(list["establishments"].as_array().unwrap().len(), 1);
    let g = run
        .run(&[
            "membership",
            "grant",
            "--login",
            "alice",
            "--establishment",
            "UPEC",
            "--right",
            "print",
        ])
        .json();
    assert_eq!(g["membership"]["rights"], json!(["print"]));
    let members = run
        .run(&["establishment", "members", "--code", "UPEC"])
        .json();
    assert_eq!(members["members"][0]["login"], "alice");
    let line = run
        .run(&[
            "membership",
            "grant",
            "--login",
            "alice",
            "--establishment",
            "UPEC",
            "--right",
            "root",
        ])
        .failure();
    assert!(line.contains("not defined"), "{line}");
    let line = run
        .run(&["establishment", "add", "--code", "bad code", "--name", "x"])
        .failure();
    assert!(line.contains("code"), "{line}");
    let line = run
        .run(&["establishment", "add", "--code", "UPEC", "--name", "again"])
        .failure();
    assert!(!line.is_empty());
    let mine = run.run(&["membership", "list", "--login", "alice"]).json();
    assert_eq!(mine["memberships"][0]["establishment"], "UPEC");
    let shown = run.run(&["user", "show", "--login", "alice"]).json();
    assert_eq!(
        shown["memberships"],
        json!([{"establishment": "UPEC", "rights": ["print"], "admin": false}])
    );
    let r = run
        .run(&[
            "membership",
            "revoke",
            "--login",
            "alice",
            "--establishment",
            "UPEC",
        ])
        .json();
    assert_eq!(r["removed"], true);
    let upd = run
        .run(&[
            "establishment",
            "update",
            "--code",
            "UPEC",
            "--name",
            "UPEC",
            "--no-rights",
        ])
        .json();
    assert_eq!(upd["rights"], json!([]));
}
