//! The administration console at `/admin` over HTTP, as a browser with a cookie jar: sign-in
//! through guichet's own pages with a mandatory second factor (enrolled on the way when the
//! administrator has none), the 403 of a person who administers nothing, every action with and
//! without its CSRF token, the establishment administrator's boundary, French and English.

use guichet::domain::user::NewUser;
use reqwest::header::{ACCEPT_LANGUAGE, CACHE_CONTROL};

use crate::helpers::*;

/// A global administrator `root`.
async fn with_root(app: &TestApp) -> String {
    let id = app.create_user("root").await;
    let root = find_user(app, "root").await;
    admin(app)
        .set_global_administrator(&root, true, app.clock.now())
        .await
        .unwrap();
    id
}

/// After a right password in a flow that requires a second factor, for a person who has none:
/// the enrolment step, then the recovery codes, then where the flow goes.
async fn enrol_on_the_way(
    app: &TestApp,
    http: &reqwest::Client,
    res: reqwest::Response,
) -> reqwest::Response {
    assert_eq!(res.status(), 200, "a step page");
    let page = res.text().await.unwrap();
    assert!(
        page.contains("name=\"enrolment\""),
        "the enrolment step: {page}"
    );
    let code = totp_now(app, &secret_of(&page));
    let res = submit_enrolment(app, http, &page, "/login", &code).await;
    assert_eq!(res.status(), 200, "the recovery codes step");
    let page = res.text().await.unwrap();
    assert_eq!(list_items(&page, "recovery-codes").len(), 10);
    post_step(app, http, &page, &[]).await
}

/// A fresh browser signed in to the console as `login` (who has no factor yet: the sign-in
/// enrols one), on the console's home.
async fn console(app: &TestApp, login: &str) -> reqwest::Client {
    let http = browser();
    let page = text_of(http.get(app.url("/admin"))).await;
    assert!(is_login_form(&page), "the sign-in form: {page}");
    let res = post_login(app, &http, &page, login, PASSWORD).await;
    let res = enrol_on_the_way(app, &http, res).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res).path(), "/admin");
    http
}

/// The page at `path` (200 expected) and its CSRF token.
async fn page_and_csrf(app: &TestApp, http: &reqwest::Client, path: &str) -> (String, String) {
    let res = http.get(app.url(path)).send().await.unwrap();
    assert_eq!(res.status(), 200, "GET {path}");
    let page = res.text().await.unwrap();
    let csrf = hidden(&page, "csrf").expect("a CSRF token on every console page");
    (page, csrf)
}

/// Posts `fields` to `path`, with the CSRF token if given.
async fn post(
    app: &TestApp,
    http: &reqwest::Client,
    path: &str,
    csrf: Option<&str>,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    if let Some(c) = csrf {
        form.push(("csrf", c));
    }
    http.post(app.url(path)).form(&form).send().await.unwrap()
}

#[tokio::test]
async fn a_visitor_without_a_session_gets_the_sign_in_form_and_comes_back_to_the_page_asked_for() {
    let app = spawn_app().await;
    with_root(&app).await;
    let http = browser();
    let res = http.get(app.url("/admin/users?q=ro")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
    let page = res.text().await.unwrap();
    assert!(is_login_form(&page), "{page}");
    assert!(!page.contains("admin-me"), "nothing of the console: {page}");
    let res = post_login(&app, &http, &page, "root", PASSWORD).await;
    let res = enrol_on_the_way(&app, &http, res).await;
    assert_eq!(res.status(), 303);
    let back = location(&res);
    assert_eq!(back.path(), "/admin/users");
    assert_eq!(back.query(), Some("q=ro"));
    let page = text_of(http.get(app.url("/admin/users?q=ro"))).await;
    assert_eq!(element_text(&page, "admin-me").as_deref(), Some("root"));
    assert!(page.contains("id=\"users\""), "the list: {page}");
    // The sign-in was audited with both factors.
    let rows = audit_kinds(&app, &["login.success", "mfa.enrolled"]).await;
    assert!(rows.iter().any(|r| r.1 == "login.success"));
}

#[tokio::test]
async fn a_console_page_never_sends_the_browser_back_to_another_site() {
    let app = spawn_app().await;
    with_root(&app).await;
    // The page asked for is the way back, unless it could name another site: then the home.
    let http = browser();
    let page = text_of(http.get(app.url("/admin/users?q=//evil.example"))).await;
    assert!(is_login_form(&page), "{page}");
    let res = post_login(&app, &http, &page, "root", PASSWORD).await;
    let res = enrol_on_the_way(&app, &http, res).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/admin");
}

#[tokio::test]
async fn an_administrator_signed_in_without_a_second_factor_signs_in_again_with_one() {
    let app = spawn_app().await;
    with_root(&app).await;
    // Signed in with the password alone (the account page asks no more).
    let http = account_browser(&app, "root").await;
    let res = http
        .get(app.url("/admin/establishments"))
        .header(ACCEPT_LANGUAGE, "en")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(is_login_form(&page), "step-up: {page}");
    assert!(
        notice_of(&page).unwrap().contains("two-step verification"),
        "{page}"
    );
    assert!(page.contains("value=\"root\""), "the login typed already");
    // The password, then the enrolment the console requires, then back.
    let res = post_login(&app, &http, &page, "root", PASSWORD).await;
    let res = enrol_on_the_way(&app, &http, res).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res).path(), "/admin/establishments");
    let res = http
        .get(app.url("/admin/establishments"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // Next time, with the factor enrolled: the password, then the code.
    let other = browser();
    let page = text_of(other.get(app.url("/admin"))).await;
    let res = post_login(&app, &other, &page, "root", PASSWORD).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(is_code_form(&page), "the code step: {page}");
}

#[tokio::test]
async fn a_person_who_administers_nothing_gets_a_403_page_in_their_language() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    let http = account_browser(&app, "alice").await;
    let res = http
        .get(app.url("/admin"))
        .header(ACCEPT_LANGUAGE, "en")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("You administer nothing here")
    );
    let res = http
        .get(app.url("/admin/users"))
        .header(ACCEPT_LANGUAGE, "fr")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Vous n’administrez rien ici")
    );
}

#[tokio::test]
async fn the_console_speaks_french_and_english() {
    let app = spawn_app().await;
    with_root(&app).await;
    let http = console(&app, "root").await;
    for (lang, title, users) in [
        ("fr", "Console d’administration", "Utilisateurs"),
        ("en", "Administration console", "Users"),
    ] {
        let page = text_of(http.get(app.url("/admin")).header(ACCEPT_LANGUAGE, lang)).await;
        assert!(page.contains(&format!("<html lang=\"{lang}\">")), "{page}");
        assert!(page.contains(title), "{lang}: {page}");
        assert!(page.contains(users), "{lang}: {page}");
        let missing = text_of(
            http.get(app.url("/admin/users/no-such-user"))
                .header(ACCEPT_LANGUAGE, lang),
        )
        .await;
        assert!(
            missing.contains(if lang == "fr" {
                "Introuvable"
            } else {
                "Not found"
            }),
            "{missing}"
        );
    }
}

#[tokio::test]
async fn each_user_action_works_with_its_csrf_token_and_is_refused_without() {
    let app = spawn_app().await;
    with_root(&app).await;
    let bob_id = app
        .create_user_with(NewUser {
            login: "bob".into(),
            email: Some("bob@example.org".into()),
            identifiers: vec!["bob.old@example.org".into()],
            ..NewUser::default()
        })
        .await;
    let http = console(&app, "root").await;
    let bob_page = format!("/admin/users/{bob_id}");
    let (page, csrf) = page_and_csrf(&app, &http, &bob_page).await;
    assert_eq!(element_text(&page, "user-login").as_deref(), Some("bob"));
    assert!(page.contains("bob.old@example.org"), "{page}");
    let db = &app.core.db;
    let bob = || async { db.user_by_id(&bob_id).await.unwrap() };

    // The search finds him.
    let list = text_of(http.get(app.url("/admin/users?q=bob"))).await;
    assert!(list.contains(&bob_page), "{list}");

    // Each action: refused without the token (nothing changes), done with it.
    let action = |path: &str| format!("{bob_page}/{path}");
    let res = post(
        &app,
        &http,
        &action("disabled"),
        None,
        &[("disabled", "true")],
    )
    .await;
    assert_eq!(res.status(), 403);
    assert!(!bob().await.unwrap().disabled);
    let res = post(
        &app,
        &http,
        &action("disabled"),
        Some(&csrf),
        &[("disabled", "true")],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res).query(), Some("done=disabled"));
    assert!(bob().await.unwrap().disabled);
    let page = text_of(http.get(app.url(&format!("{bob_page}?done=disabled")))).await;
    assert!(element_text(&page, "admin-notice").is_some(), "{page}");
    let res = post(
        &app,
        &http,
        &action("disabled"),
        Some(&csrf),
        &[("disabled", "false")],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert!(!bob().await.unwrap().disabled);

    let res = post(&app, &http, &action("password-change"), None, &[]).await;
    assert_eq!(res.status(), 403);
    assert!(!bob().await.unwrap().must_change_password);
    let res = post(&app, &http, &action("password-change"), Some(&csrf), &[]).await;
    assert_eq!(res.status(), 303);
    assert!(bob().await.unwrap().must_change_password);

    let removed = [("identifier", "bob.old@example.org")];
    let res = post(&app, &http, &action("identifiers/remove"), None, &removed).await;
    assert_eq!(res.status(), 403);
    assert_eq!(db.user_identifiers(&bob_id).await.unwrap().len(), 3);
    let res = post(
        &app,
        &http,
        &action("identifiers/remove"),
        Some(&csrf),
        &removed,
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(db.user_identifiers(&bob_id).await.unwrap().len(), 2);
    // The login is not removed: a 400 page with the reason.
    let res = post(
        &app,
        &http,
        &action("identifiers/remove"),
        Some(&csrf),
        &[("identifier", "bob")],
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("the login is not removed")
    );

    for (path, kind) in [("unlock", "account.unlocked"), ("mfa-reset", "mfa.reset")] {
        let res = post(&app, &http, &action(path), None, &[]).await;
        assert_eq!(res.status(), 403, "{path}");
        let res = post(&app, &http, &action(path), Some(&csrf), &[]).await;
        assert_eq!(res.status(), 303, "{path}");
        audit_kinds(&app, &[kind]).await;
    }

    // A membership, revoked from the user's page.
    let cli = admin(&app);
    let now = app.clock.now();
    cli.create_establishment("UPEC", "Université", &["staff".into()], now)
        .await
        .unwrap();
    cli.grant(&bob().await.unwrap(), "UPEC", &["staff".into()], false, now)
        .await
        .unwrap();
    let page = text_of(http.get(app.url(&bob_page))).await;
    assert!(page.contains("id=\"memberships\""), "{page}");
    let upec = [("establishment", "UPEC")];
    let res = post(&app, &http, &action("memberships/revoke"), None, &upec).await;
    assert_eq!(res.status(), 403);
    assert_eq!(db.memberships_of(&bob_id).await.unwrap().len(), 1);
    let res = post(
        &app,
        &http,
        &action("memberships/revoke"),
        Some(&csrf),
        &upec,
    )
    .await;
    assert_eq!(res.status(), 303);
    assert!(db.memberships_of(&bob_id).await.unwrap().is_empty());

    // Deletion asks first, then deletes.
    let (confirm, _) = page_and_csrf(&app, &http, &action("delete")).await;
    let form = first_form_with_action(&confirm, &action("delete"));
    assert!(form, "a confirmation form: {confirm}");
    let res = post(&app, &http, &action("delete"), None, &[]).await;
    assert_eq!(res.status(), 403);
    assert!(bob().await.is_some());
    let res = post(&app, &http, &action("delete"), Some(&csrf), &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res).path(), "/admin/users");
    assert!(bob().await.is_none());
    let res = http.get(app.url(&bob_page)).send().await.unwrap();
    assert_eq!(res.status(), 404);
}

/// Whether `page` has a POST form to `action`.
fn first_form_with_action(page: &str, action: &str) -> bool {
    page.contains(&format!("method=\"post\" action=\"{action}\""))
}

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
async fn an_establishment_administrator_sees_only_their_establishment() {
    let app = spawn_app().await;
    for login in ["alice", "bob", "carol"] {
        app.create_user(login).await;
    }
    let cli = admin(&app);
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
    ] {
        let user = find_user(&app, login).await;
        cli.grant(&user, code, &[], is_admin, now).await.unwrap();
    }
    let carol = find_user(&app, "carol").await;
    let http = console(&app, "alice").await;

    // Menus and lists shrink.
    let (home, csrf) = page_and_csrf(&app, &http, "/admin").await;
    assert!(!home.contains("/admin/audit"), "{home}");
    assert!(!home.contains("/admin/administrators"), "{home}");
    let users = text_of(http.get(app.url("/admin/users"))).await;
    assert!(users.contains(">bob<"), "{users}");
    assert!(!users.contains(">carol<"), "{users}");
    let list = text_of(http.get(app.url("/admin/establishments"))).await;
    assert!(list.contains("/admin/establishments/UPEC"), "{list}");
    assert!(!list.contains("/admin/establishments/IUT"), "{list}");
    assert!(!list.contains("/admin/establishments/new"), "{list}");

    // Another establishment's person and the establishment itself are not found.
    let res = http
        .get(app.url(&format!("/admin/users/{}", carol.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = http
        .get(app.url("/admin/establishments/IUT"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = post(
        &app,
        &http,
        &format!("/admin/users/{}/disabled", carol.id),
        Some(&csrf),
        &[("disabled", "true")],
    )
    .await;
    assert_eq!(res.status(), 404);
    assert!(!find_user(&app, "carol").await.disabled, "nothing changed");
    let res = post(
        &app,
        &http,
        "/admin/establishments/UPEC/members",
        Some(&csrf),
        &[("login", "carol")],
    )
    .await;
    assert_eq!(res.status(), 404, "carol is beyond alice's reach");
    assert_eq!(
        app.core.db.memberships_of(&carol.id).await.unwrap().len(),
        1
    );

    // What only global administrators do: forbidden.
    for path in [
        "/admin/audit",
        "/admin/administrators",
        "/admin/establishments/new",
    ] {
        let res = http.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 403, "{path}");
    }
    let res = post(
        &app,
        &http,
        "/admin/establishments",
        Some(&csrf),
        &[("code", "NEW"), ("name", "New")],
    )
    .await;
    assert_eq!(res.status(), 403);

    // Within the reach, actions work: bob is disabled.
    let bob = find_user(&app, "bob").await;
    let res = post(
        &app,
        &http,
        &format!("/admin/users/{}/disabled", bob.id),
        Some(&csrf),
        &[("disabled", "true")],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert!(find_user(&app, "bob").await.disabled);
}

#[tokio::test]
async fn people_are_created_edited_and_given_identifiers_from_the_console() {
    let app = spawn_app().await;
    with_root(&app).await;
    admin(&app)
        .create_establishment("UPEC", "Université", &["staff".into()], app.clock.now())
        .await
        .unwrap();
    let http = console(&app, "root").await;
    let (page, csrf) = page_and_csrf(&app, &http, "/admin/users/new").await;
    assert!(page.contains("for=\"login\""), "{page}");
    let fields = [
        ("login", "nina"),
        ("given_name", "Nina"),
        ("family_name", "Durand"),
        ("email", "nina@example.org"),
        ("establishment", "UPEC"),
        ("rights", "staff"),
    ];
    let res = post(&app, &http, "/admin/users", None, &fields).await;
    assert_eq!(res.status(), 403);
    assert!(
        app.core
            .db
            .user_by_identifier("nina")
            .await
            .unwrap()
            .is_none()
    );
    let res = post(&app, &http, "/admin/users", Some(&csrf), &fields).await;
    assert_eq!(res.status(), 303);
    let nina = find_user(&app, "nina").await;
    assert_eq!(location(&res).path(), format!("/admin/users/{}", nina.id));
    let m = app.core.db.memberships_of(&nina.id).await.unwrap();
    assert_eq!(m[0].rights, ["staff"]);
    // The same login again: 409 with the reason.
    let res = post(&app, &http, "/admin/users", Some(&csrf), &fields).await;
    assert_eq!(res.status(), 409);

    let page = format!("/admin/users/{}", nina.id);
    let profile = [
        ("given_name", "Nina"),
        ("family_name", "Durand-Leroy"),
        ("email", "nina.durand@example.org"),
        ("category", ""),
    ];
    let res = post(&app, &http, &format!("{page}/profile"), None, &profile).await;
    assert_eq!(res.status(), 403);
    let res = post(
        &app,
        &http,
        &format!("{page}/profile"),
        Some(&csrf),
        &profile,
    )
    .await;
    assert_eq!(res.status(), 303);
    let nina = find_user(&app, "nina").await;
    assert_eq!(nina.family_name.as_deref(), Some("Durand-Leroy"));
    assert_eq!(nina.email.as_deref(), Some("nina.durand@example.org"));

    let add = [("identifier", "E12345")];
    let res = post(&app, &http, &format!("{page}/identifiers"), None, &add).await;
    assert_eq!(res.status(), 403);
    let res = post(
        &app,
        &http,
        &format!("{page}/identifiers"),
        Some(&csrf),
        &add,
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(find_user(&app, "e12345").await.id, nina.id);
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
