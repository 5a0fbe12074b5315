//! The establishment-administrator boundary (issue 9): one rule in `service::admin`, for the
//! CLI, the console and the API. An establishment administrator sees and changes only members
//! of the establishments they administer; anything else is "no such user" (404) or forbidden
//! (403), and nothing changes.

use guichet::domain::admin::{Actor, Principal, Reach};
use guichet::domain::audit::{AuditFilter, AuditKind};
use guichet::service::admin::{Admin, AdminError, actor_for_user};
use serde_json::Value;

use crate::helpers::*;

/// UPEC and IUT; alice administers UPEC; bob is in UPEC, carol in IUT, dave in both; root is a
/// global administrator and a member of UPEC.
async fn two_establishments(app: &TestApp) -> Actor {
    for login in ["alice", "bob", "carol", "dave", "root"] {
        app.create_user(login).await;
    }
    let cli = admin(app);
    let now = app.clock.now();
    cli.create_establishment("UPEC", "Université", &["staff".into()], now)
        .await
        .unwrap();
    cli.create_establishment("IUT", "IUT", &["teacher".into()], now)
        .await
        .unwrap();
    for (login, code, is_admin) in [
        ("alice", "UPEC", true),
        ("bob", "UPEC", false),
        ("carol", "IUT", false),
        ("dave", "UPEC", false),
        ("dave", "IUT", false),
        ("root", "UPEC", false),
    ] {
        let user = find_user(app, login).await;
        cli.grant(&user, code, &[], is_admin, now).await.unwrap();
    }
    let root = find_user(app, "root").await;
    cli.set_global_administrator(&root, true, now)
        .await
        .unwrap();
    let alice = find_user(app, "alice").await;
    actor_for_user(&app.core.db, &alice).await.unwrap().unwrap()
}

#[tokio::test]
async fn an_establishment_administrator_reaches_only_their_establishment() {
    let app = spawn_app().await;
    let actor = two_establishments(&app).await;
    let upec = app
        .core
        .db
        .establishment_by_code("UPEC")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(actor.reach, Reach::Establishments(vec![upec.id.clone()]));
    let mine = Admin::new(&app.core, &actor);
    let now = app.clock.now();

    // Search and lookups: IUT-only people do not exist for alice.
    let found: Vec<String> = mine
        .search_users("", 0)
        .await
        .unwrap()
        .iter()
        .map(|u| u["login"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(found, ["alice", "bob", "dave", "root"]);
    assert!(matches!(
        mine.find_user("carol").await,
        Err(AdminError::NotFound(_))
    ));
    assert!(matches!(
        mine.find_user("nobody").await,
        Err(AdminError::NotFound(_))
    ));
    let bob = mine.find_user("bob").await.unwrap();

    // Changes beyond the reach are refused, and nothing changed.
    let carol = find_user(&app, "carol").await;
    assert!(matches!(
        mine.set_user_disabled(&carol, true, now).await,
        Err(AdminError::NotFound(_))
    ));
    assert!(!find_user(&app, "carol").await.disabled);
    assert!(matches!(
        mine.grant(&carol, "UPEC", &[], false, now).await,
        Err(AdminError::NotFound(_))
    ));
    assert!(matches!(
        mine.grant(&bob, "IUT", &[], false, now).await,
        Err(AdminError::NotFound(_))
    ));
    let dave = find_user(&app, "dave").await;
    assert!(matches!(
        mine.delete_user(&dave, now).await,
        Err(AdminError::Forbidden(_))
    ));
    assert!(app.core.db.user_by_id(&dave.id).await.unwrap().is_some());
    let root = find_user(&app, "root").await;
    assert!(matches!(
        mine.require_password_change(&root, now).await,
        Err(AdminError::Forbidden(_))
    ));
    assert!(!find_user(&app, "root").await.must_change_password);
    assert!(matches!(
        mine.create_establishment("NEW", "New", &[], now).await,
        Err(AdminError::Forbidden(_))
    ));
    assert!(matches!(
        mine.update_establishment("IUT", Some("Renamed"), None, now)
            .await,
        Err(AdminError::NotFound(_))
    ));
    assert!(matches!(
        mine.set_global_administrator(&bob, true, now).await,
        Err(AdminError::Forbidden(_))
    ));
    assert_eq!(mine.establishments().await.unwrap().len(), 1);
    assert_eq!(mine.memberships(&dave).await.unwrap().len(), 1);

    // Within the reach: done, and the audit row names alice.
    mine.set_user_disabled(&bob, true, now).await.unwrap();
    assert!(find_user(&app, "bob").await.disabled);
    let rows = app
        .core
        .db
        .audit_query(&AuditFilter {
            kinds: vec![AuditKind::UserDisabled],
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let detail: Value = serde_json::from_str(rows[0].detail.as_deref().unwrap()).unwrap();
    let Principal::User(alice_id) = &actor.principal else {
        panic!("alice is a user")
    };
    assert_eq!(detail["by"], format!("user:{alice_id}"));
}

#[tokio::test]
async fn a_member_without_the_admin_flag_administers_nothing() {
    let app = spawn_app().await;
    two_establishments(&app).await;
    let bob = find_user(&app, "bob").await;
    assert!(actor_for_user(&app.core.db, &bob).await.unwrap().is_none());
    let root = find_user(&app, "root").await;
    let actor = actor_for_user(&app.core.db, &root).await.unwrap().unwrap();
    assert!(actor.is_global());
    // A disabled administrator administers nothing.
    admin(&app)
        .set_user_disabled(&root, true, app.clock.now())
        .await
        .unwrap();
    let root = find_user(&app, "root").await;
    assert!(actor_for_user(&app.core.db, &root).await.unwrap().is_none());
}
