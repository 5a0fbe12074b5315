//! The administration console at `/admin` over HTTP, as a browser with a cookie jar: sign-in
//! through guichet's own pages with a mandatory second factor (enrolled on the way when the
//! administrator has none), the 403 of a person who administers nothing, every action with and
//! without its CSRF token, the establishment administrator's boundary, French and English.

use guichet::domain::user::NewUser;
use reqwest::header::{ACCEPT_LANGUAGE, CACHE_CONTROL};

use crate::helpers::*;

/// A global administrator `root`.
pub(crate) async fn with_root(app: &TestApp) -> String {
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
pub(crate) async fn enrol_on_the_way(
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
pub(crate) async fn console(app: &TestApp, login: &str) -> reqwest::Client {
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
pub(crate) async fn page_and_csrf(
    app: &TestApp,
    http: &reqwest::Client,
    path: &str,
) -> (String, String) {
    let res = http.get(app.url(path)).send().await.unwrap();
    assert_eq!(res.status(), 200, "GET {path}");
    let page = res.text().await.unwrap();
    let csrf = hidden(&page, "csrf").expect("a CSRF token on every console page");
    (page, csrf)
}

/// Posts `fields` to `path`, with the CSRF token if given.
pub(crate) async fn post(
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
