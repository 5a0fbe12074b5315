//! The administration console's other sections over HTTP (see `admin_console` for sign-in
//! and users): establishments and members, global administrators, the audit log and its CSV,
//! invitations, OpenID Connect clients and CAS services; each form refused without its CSRF
//! token, nothing changed.

use reqwest::header::ACCEPT_LANGUAGE;

use crate::admin_console::{console, page_and_csrf, post, with_root};
use crate::helpers::*;

#[tokio::test]
async fn establishments_are_created_edited_and_their_members_granted_and_revoked() {
    let app = spawn_app().await;
    with_root(&app).await;
    let bob_id = app.create_user("bob").await;
    let http = console(&app, "root").await;
    let (page, csrf) = page_and_csrf(&app, &http, "/admin/establishments/new").await;
    assert!(page.contains("for=\"code\""), "labelled fields: {page}");

    let fields = [
        ("code", "UPEC"),
        ("name", "Université"),
        ("rights", "staff, print"),
    ];
    let res = post(&app, &http, "/admin/establishments", None, &fields).await;
    assert_eq!(res.status(), 403);
    let res = post(&app, &http, "/admin/establishments", Some(&csrf), &fields).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res).path(), "/admin/establishments/UPEC");
    let e = app
        .core
        .db
        .establishment_by_code("UPEC")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.rights, ["staff", "print"]);
    // A bad code: a 400 page that says why, and nothing created.
    let bad = [("code", "a b"), ("name", "X"), ("rights", "")];
    let res = post(&app, &http, "/admin/establishments", Some(&csrf), &bad).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("admin-reason"));
    let list = text_of(http.get(app.url("/admin/establishments"))).await;
    assert!(list.contains("<caption>"), "{list}");
    assert!(list.contains("/admin/establishments/UPEC"), "{list}");

    // Rename and redefine the rights.
    let edit = [("name", "UPEC Créteil"), ("rights", "staff print teach")];
    let res = post(&app, &http, "/admin/establishments/UPEC", None, &edit).await;
    assert_eq!(res.status(), 403);
    let res = post(
        &app,
        &http,
        "/admin/establishments/UPEC",
        Some(&csrf),
        &edit,
    )
    .await;
    assert_eq!(res.status(), 303);
    let e = app
        .core
        .db
        .establishment_by_code("UPEC")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.name, "UPEC Créteil");
    assert_eq!(e.rights, ["staff", "print", "teach"]);

    // Grant bob two rights and the administration of UPEC; then revoke.
    let grant = [
        ("login", "bob"),
        ("right", "teach"),
        ("right", "staff"),
        ("admin", "true"),
    ];
    let res = post(
        &app,
        &http,
        "/admin/establishments/UPEC/members",
        None,
        &grant,
    )
    .await;
    assert_eq!(res.status(), 403);
    assert!(
        app.core
            .db
            .memberships_of(&bob_id)
            .await
            .unwrap()
            .is_empty()
    );
    let res = post(
        &app,
        &http,
        "/admin/establishments/UPEC/members",
        Some(&csrf),
        &grant,
    )
    .await;
    assert_eq!(res.status(), 303);
    let m = app.core.db.memberships_of(&bob_id).await.unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].rights, ["staff", "teach"]);
    assert!(m[0].admin);
    let page = text_of(http.get(app.url("/admin/establishments/UPEC"))).await;
    assert!(page.contains("id=\"members\""), "{page}");
    assert!(page.contains("bob"), "{page}");
    // A right the establishment does not define is refused.
    let undefined = [("login", "bob"), ("right", "root")];
    let res = post(
        &app,
        &http,
        "/admin/establishments/UPEC/members",
        Some(&csrf),
        &undefined,
    )
    .await;
    assert_eq!(res.status(), 400);
    let revoke = [("user", bob_id.as_str())];
    let res = post(
        &app,
        &http,
        "/admin/establishments/UPEC/members/revoke",
        None,
        &revoke,
    )
    .await;
    assert_eq!(res.status(), 403);
    let res = post(
        &app,
        &http,
        "/admin/establishments/UPEC/members/revoke",
        Some(&csrf),
        &revoke,
    )
    .await;
    assert_eq!(res.status(), 303);
    assert!(
        app.core
            .db
            .memberships_of(&bob_id)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn global_administrators_are_added_and_removed_but_not_oneself() {
    let app = spawn_app().await;
    let root_id = with_root(&app).await;
    let bob_id = app.create_user("bob").await;
    let http = console(&app, "root").await;
    let (page, csrf) = page_and_csrf(&app, &http, "/admin/administrators").await;
    assert!(page.contains("id=\"administrators\""), "{page}");
    let res = post(
        &app,
        &http,
        "/admin/administrators",
        None,
        &[("login", "bob")],
    )
    .await;
    assert_eq!(res.status(), 403);
    assert!(!app.core.db.administration_of(&bob_id).await.unwrap().0);
    let res = post(
        &app,
        &http,
        "/admin/administrators",
        Some(&csrf),
        &[("login", "bob")],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert!(app.core.db.administration_of(&bob_id).await.unwrap().0);
    let remove = [("user", bob_id.as_str())];
    let res = post(&app, &http, "/admin/administrators/remove", None, &remove).await;
    assert_eq!(res.status(), 403);
    let res = post(
        &app,
        &http,
        "/admin/administrators/remove",
        Some(&csrf),
        &remove,
    )
    .await;
    assert_eq!(res.status(), 303);
    assert!(!app.core.db.administration_of(&bob_id).await.unwrap().0);
    let me = [("user", root_id.as_str())];
    let res = post(
        &app,
        &http,
        "/admin/administrators/remove",
        Some(&csrf),
        &me,
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(app.core.db.administration_of(&root_id).await.unwrap().0);
}

#[tokio::test]
async fn the_audit_log_is_filtered_paged_and_exported_as_csv() {
    let app = spawn_app().await;
    let root_id = with_root(&app).await;
    let bob_id = app.create_user("bob").await;
    let http = console(&app, "root").await;
    // 60 audited actions on bob: more than a page of 50.
    let bob = find_user(&app, "bob").await;
    for _ in 0..60 {
        admin(&app)
            .require_password_change(&bob, app.clock.now())
            .await
            .unwrap();
    }
    let page =
        text_of(http.get(app.url("/admin/audit?user=bob&kind=user.password_change_required")))
            .await;
    assert!(page.contains("<caption>"), "{page}");
    let rows = page.matches("user.password_change_required</td>").count();
    assert_eq!(rows, 50, "{page}");
    assert!(!page.contains(&root_id), "only bob's rows");
    let doc = scraper::Html::parse_document(&page);
    let next_sel = scraper::Selector::parse("a[rel=next]").unwrap();
    let next = doc
        .select(&next_sel)
        .next()
        .expect("a next page")
        .value()
        .attr("href")
        .unwrap()
        .to_owned();
    let second = text_of(http.get(app.url(&next))).await;
    assert_eq!(
        second.matches("user.password_change_required</td>").count(),
        10
    );
    assert!(second.contains("rel=\"prev\""), "{second}");

    // An unknown kind is refused with the reason.
    let res = http
        .get(app.url("/admin/audit?kind=nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    let res = http
        .get(app.url("/admin/audit/export?user=bob&kind=user.password_change_required"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[0], "at,kind,user_id,client_id,ip,detail");
    assert_eq!(lines.len(), 61);
    assert!(lines[1..].iter().all(|l| l.contains(&bob_id)));
}

#[tokio::test]
async fn invitations_are_sent_listed_resent_and_revoked_from_the_console() {
    let app = spawn_app().await;
    with_root(&app).await;
    admin(&app)
        .create_establishment("UPEC", "Université", &["staff".into()], app.clock.now())
        .await
        .unwrap();
    let http = console(&app, "root").await;
    let (page, csrf) = page_and_csrf(&app, &http, "/admin/invitations").await;
    assert!(page.contains("id=\"invite-form\""), "{page}");
    let fields = [
        ("email", "nina@example.org"),
        ("given_name", "Nina"),
        ("establishment", "UPEC"),
        ("rights", "staff"),
    ];
    let res = post(&app, &http, "/admin/invitations", None, &fields).await;
    assert_eq!(res.status(), 403);
    assert_eq!(mails_to(&app, "nina@example.org").await, 0);
    let res = http
        .post(app.url("/admin/invitations"))
        .header(ACCEPT_LANGUAGE, "en")
        .form(&[fields.as_slice(), &[("csrf", csrf.as_str())]].concat())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let first = wait_for_mail(&app, "nina@example.org", 1).await;
    let list = text_of(
        http.get(app.url("/admin/invitations"))
            .header(ACCEPT_LANGUAGE, "en"),
    )
    .await;
    assert!(list.contains("nina@example.org"), "{list}");
    assert!(list.contains("Pending"), "{list}");
    let id = app.core.db.invitations(None, 10, 0).await.unwrap()[0]
        .id
        .clone();

    let res = post(
        &app,
        &http,
        &format!("/admin/invitations/{id}/resend"),
        None,
        &[],
    )
    .await;
    assert_eq!(res.status(), 403);
    let res = post(
        &app,
        &http,
        &format!("/admin/invitations/{id}/resend"),
        Some(&csrf),
        &[],
    )
    .await;
    assert_eq!(res.status(), 303);
    let second = wait_for_mail(&app, "nina@example.org", 2).await;
    assert_ne!(first.link("/invitation/"), second.link("/invitation/"));

    let res = post(
        &app,
        &http,
        &format!("/admin/invitations/{id}/revoke"),
        None,
        &[],
    )
    .await;
    assert_eq!(res.status(), 403);
    let res = post(
        &app,
        &http,
        &format!("/admin/invitations/{id}/revoke"),
        Some(&csrf),
        &[],
    )
    .await;
    assert_eq!(res.status(), 303);
    let list = text_of(
        http.get(app.url("/admin/invitations"))
            .header(ACCEPT_LANGUAGE, "fr"),
    )
    .await;
    assert!(list.contains("Révoquée"), "{list}");
    // Revoked: neither resent nor revoked again.
    let res = post(
        &app,
        &http,
        &format!("/admin/invitations/{id}/revoke"),
        Some(&csrf),
        &[],
    )
    .await;
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn clients_are_registered_with_the_secret_shown_once_edited_rotated_disabled_and_deleted() {
    use guichet::crypto::token::digest;
    let app = spawn_app().await;
    with_root(&app).await;
    let http = console(&app, "root").await;
    let (page, csrf) = page_and_csrf(&app, &http, "/admin/clients").await;
    assert!(page.contains("id=\"client-form\""), "{page}");
    let fields = [
        ("client_id", "mediatheque"),
        ("name", "Médiathèque"),
        (
            "redirect_uris",
            "https://media.example.org/cb\nhttps://media.example.org/cb2",
        ),
        ("scopes", "openid profile"),
        ("grant_types", "authorization_code"),
    ];
    let res = post(&app, &http, "/admin/clients", None, &fields).await;
    assert_eq!(res.status(), 403);
    assert!(
        app.core
            .db
            .client_by_id("mediatheque")
            .await
            .unwrap()
            .is_none()
    );
    let res = post(&app, &http, "/admin/clients", Some(&csrf), &fields).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    let secret = element_text(&page, "client-secret").expect("the secret, once");
    let client = app
        .core
        .db
        .client_by_id("mediatheque")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        client.secret_hash.as_deref(),
        Some(digest(&secret).as_str())
    );
    assert_eq!(client.redirect_uris.len(), 2);
    let shown = text_of(http.get(app.url("/admin/clients/mediatheque"))).await;
    assert!(!shown.contains(&secret), "never shown again");
    // A bad redirect URI: 400 with the reason.
    let bad = [
        ("client_id", "bad"),
        ("redirect_uris", "not a uri"),
        ("scopes", "openid"),
    ];
    let res = post(&app, &http, "/admin/clients", Some(&csrf), &bad).await;
    assert_eq!(res.status(), 400);

    let edit = [
        ("name", "Médiathèque"),
        ("redirect_uris", "https://media.example.org/cb"),
        ("scopes", "openid profile email"),
        ("grant_types", "authorization_code refresh_token"),
        ("require_mfa", "true"),
    ];
    let path = "/admin/clients/mediatheque";
    let res = post(&app, &http, path, None, &edit).await;
    assert_eq!(res.status(), 403);
    let res = post(&app, &http, path, Some(&csrf), &edit).await;
    assert_eq!(res.status(), 303);
    let client = app
        .core
        .db
        .client_by_id("mediatheque")
        .await
        .unwrap()
        .unwrap();
    assert!(client.require_mfa);
    assert_eq!(client.redirect_uris, ["https://media.example.org/cb"]);

    let res = post(&app, &http, &format!("{path}/secret"), None, &[]).await;
    assert_eq!(res.status(), 403);
    let res = post(&app, &http, &format!("{path}/secret"), Some(&csrf), &[]).await;
    assert_eq!(res.status(), 200);
    let rotated = element_text(&res.text().await.unwrap(), "client-secret").unwrap();
    assert_ne!(rotated, secret);
    let client = app
        .core
        .db
        .client_by_id("mediatheque")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        client.secret_hash.as_deref(),
        Some(digest(&rotated).as_str())
    );

    let off = [("disabled", "true")];
    let res = post(&app, &http, &format!("{path}/disabled"), None, &off).await;
    assert_eq!(res.status(), 403);
    let res = post(&app, &http, &format!("{path}/disabled"), Some(&csrf), &off).await;
    assert_eq!(res.status(), 303);
    assert!(
        app.core
            .db
            .client_by_id("mediatheque")
            .await
            .unwrap()
            .unwrap()
            .disabled
    );

    let res = post(&app, &http, &format!("{path}/delete"), None, &[]).await;
    assert_eq!(res.status(), 403);
    let res = post(&app, &http, &format!("{path}/delete"), Some(&csrf), &[]).await;
    assert_eq!(res.status(), 303);
    assert!(
        app.core
            .db
            .client_by_id("mediatheque")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn cas_services_are_registered_edited_and_deleted_by_global_administrators_only() {
    let app = spawn_app().await;
    with_root(&app).await;
    app.create_user("alice").await;
    admin(&app)
        .create_establishment("UPEC", "Université", &[], app.clock.now())
        .await
        .unwrap();
    let alice = find_user(&app, "alice").await;
    admin(&app)
        .grant(&alice, "UPEC", &[], true, app.clock.now())
        .await
        .unwrap();
    let http = console(&app, "root").await;
    let (_, csrf) = page_and_csrf(&app, &http, "/admin/services").await;
    let fields = [
        ("name", "Print portal"),
        ("pattern", "https://print.example.org/"),
        ("pattern_kind", "prefix"),
        ("attribute", "email"),
        ("attribute", "establishments"),
    ];
    let res = post(&app, &http, "/admin/services", None, &fields).await;
    assert_eq!(res.status(), 403);
    assert!(app.core.db.cas_services().await.unwrap().is_empty());
    let res = post(&app, &http, "/admin/services", Some(&csrf), &fields).await;
    assert_eq!(res.status(), 303);
    let service = app.core.db.cas_services().await.unwrap().remove(0);
    assert_eq!(service.attributes, ["email", "establishments"]);
    let path = format!("/admin/services/{}", service.id);
    assert_eq!(location(&res).path(), path);

    let edit = [
        ("name", "Print"),
        ("pattern", "https://print.example.org/"),
        ("pattern_kind", "prefix"),
        ("attribute", "email"),
        ("require_mfa", "true"),
    ];
    let res = post(&app, &http, &path, None, &edit).await;
    assert_eq!(res.status(), 403);
    let res = post(&app, &http, &path, Some(&csrf), &edit).await;
    assert_eq!(res.status(), 303);
    let service = app
        .core
        .db
        .cas_service_by_id(&service.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(service.name, "Print");
    assert!(service.require_mfa);
    assert!(service.disabled, "the enabled box was left unticked");

    // An establishment administrator has no applications menu and is refused.
    let other = console(&app, "alice").await;
    let home = text_of(other.get(app.url("/admin"))).await;
    assert!(!home.contains("/admin/services"), "{home}");
    let res = other.get(app.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), 403);

    let res = post(&app, &http, &format!("{path}/delete"), None, &[]).await;
    assert_eq!(res.status(), 403);
    let res = post(&app, &http, &format!("{path}/delete"), Some(&csrf), &[]).await;
    assert_eq!(res.status(), 303);
    assert!(app.core.db.cas_services().await.unwrap().is_empty());
}
