//! The self-service of the help pages, through the real pages: a forgotten password (a link by
//! e-mail, read from the outbox), a forgotten login, the first sign-in with a temporary
//! password, a password change from the account page.

use crate::helpers::*;

const NEW: &str = "un tout nouveau mot de passe";

/// Posts a page's first form with its hidden fields and `fields`.
async fn submit(
    app: &TestApp,
    http: &reqwest::Client,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    fill_and_post(app, http, page, action, fields).await
}

/// Asks for a reset of `identifier` from a fresh browser; returns the answer page.
async fn ask_reset(app: &TestApp, identifier: &str) -> String {
    let http = browser();
    let page = text_of(http.get(app.url("/reset"))).await;
    assert!(page.contains("name=\"username\""), "{page}");
    let res = submit(app, &http, &page, "/reset", &[("username", identifier)]).await;
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_lifts_the_lock_and_ends_the_sessions() {
    let (app, rp) = app_with_alice().await;
    let tokens = app.code_flow_tokens(&rp, "alice", "openid").await;
    // Five failures lock the account.
    let page = get_login(&app, &browser()).await;
    for _ in 0..5 {
        post_login(&app, &app.browser, &page, "alice", "wrong").await;
    }

    // The same answer for an account and for nobody.
    let known = ask_reset(&app, "alice").await;
    let unknown = ask_reset(&app, "nobody@example.org").await;
    assert_eq!(
        element_text(&known, "reset-sent"),
        element_text(&unknown, "reset-sent")
    );
    let mail = wait_for_mail(&app, "alice@example.org", 1).await;
    assert!(mail.text.contains("alice"), "{}", mail.text);
    assert!(mail.html.is_some(), "an HTML part too");
    let link = link_in(&app, &mail, "/reset/confirm?token=");

    let http = browser();
    let page = text_of(http.get(&link)).await;
    assert_eq!(element_text(&page, "reset-login").as_deref(), Some("alice"));
    assert!(page.contains("autocomplete=\"new-password\""));
    // Two different passwords, then a common one: the form again, the link still good.
    let res = submit(
        &app,
        &http,
        &page,
        "/reset/confirm",
        &[
            ("new_password", NEW),
            ("confirm_password", "autre chose encore"),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(notice_of(&res.text().await.unwrap()).is_some());
    let res = submit(
        &app,
        &http,
        &page,
        "/reset/confirm",
        &[
            ("new_password", "alice est mon secret"),
            ("confirm_password", "alice est mon secret"),
        ],
    )
    .await;
    let refused = res.text().await.unwrap();
    assert!(
        element_text(&refused, "password-violations").is_some(),
        "{refused}"
    );
    let res = submit(
        &app,
        &http,
        &page,
        "/reset/confirm",
        &[("new_password", NEW), ("confirm_password", NEW)],
    )
    .await;
    assert_eq!(res.status(), 200);
    let done = res.text().await.unwrap();
    assert!(element_text(&done, "reset-done").is_some(), "{done}");

    // Used once; the lock is lifted; the old password and the old refresh token are gone.
    let res = submit(
        &app,
        &http,
        &page,
        "/reset/confirm",
        &[("new_password", NEW), ("confirm_password", NEW)],
    )
    .await;
    assert_eq!(res.status(), 400);
    assert_eq!(http.get(&link).send().await.unwrap().status(), 400);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(refresh_with(&app, &rp, refresh, None).await.status(), 400);
    let fresh = browser();
    let page = get_login(&app, &fresh).await;
    assert_eq!(
        post_login(&app, &fresh, &page, "alice", PASSWORD)
            .await
            .status(),
        200
    );
    let page = get_login(&app, &fresh).await;
    assert_eq!(
        post_login(&app, &fresh, &page, "alice", NEW).await.status(),
        303
    );
    // A confirmation went to the address.
    let confirmation = wait_for_mail(&app, "alice@example.org", 2).await;
    assert_ne!(confirmation.subject, mail.subject);
}

#[tokio::test]
async fn a_newer_reset_link_voids_the_older_one_and_a_bad_token_is_a_clear_error() {
    let (app, _) = app_with_alice().await;
    ask_reset(&app, "alice").await;
    let first = wait_for_mail(&app, "alice@example.org", 1).await;
    // One mail a minute per account.
    ask_reset(&app, "alice").await;
    assert_eq!(mails_to(&app, "alice@example.org").await, 1);
    app.clock.advance(61);
    ask_reset(&app, "ALICE@example.org").await;
    let second = wait_for_mail(&app, "alice@example.org", 2).await;
    let old = link_in(&app, &first, "/reset/confirm?token=");
    let new = link_in(&app, &second, "/reset/confirm?token=");
    let http = browser();
    assert_eq!(http.get(&old).send().await.unwrap().status(), 400);
    assert_eq!(http.get(&new).send().await.unwrap().status(), 200);
    let res = http
        .get(app.url("/reset/confirm?token=made-up"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("Mot de passe oublié"));
    // An hour later the link is over.
    app.clock.advance(3601);
    assert_eq!(http.get(&new).send().await.unwrap().status(), 400);
}

#[tokio::test]
async fn a_forgotten_login_is_sent_to_the_account_s_address() {
    let (app, _) = app_with_alice().await;
    let http = browser();
    let page = text_of(http.get(app.url("/reset/login"))).await;
    let res = submit(
        &app,
        &http,
        &page,
        "/reset/login",
        &[("email", "alice@example.org")],
    )
    .await;
    let sent = res.text().await.unwrap();
    let res = submit(
        &app,
        &http,
        &page,
        "/reset/login",
        &[("email", "who@example.org")],
    )
    .await;
    assert_eq!(
        element_text(&sent, "forgot-login-sent"),
        element_text(&res.text().await.unwrap(), "forgot-login-sent")
    );
    let mail = wait_for_mail(&app, "alice@example.org", 1).await;
    assert!(mail.text.contains("alice"));
    assert_eq!(mails_to(&app, "who@example.org").await, 0);
}

#[tokio::test]
async fn a_temporary_password_must_be_replaced_before_any_client_gets_a_code() {
    let (app, rp) = app_with_alice().await;
    let user = find_user(&app, "alice").await;
    app.core
        .db
        .password_set_with_history(
            &user.id,
            &app.core.hasher.hash(PASSWORD.into()).await.unwrap(),
            3,
            true,
            app.clock.now(),
        )
        .await
        .unwrap();
    let page = login_page(&app, &app.browser, &rp, &[]).await;
    let res = app.submit_login(&page, "alice", PASSWORD).await;
    assert_eq!(res.status(), 200, "no code yet");
    let page = res.text().await.unwrap();
    assert!(page.contains("name=\"new_password\""), "{page}");
    assert!(element_text(&page, "password-rules").is_some());
    assert_eq!(prompt_none(&app, &rp).await, "login_required");
    // The temporary password itself is refused as the new one.
    let res = post_step(
        &app,
        &app.browser,
        &page,
        &[("new_password", PASSWORD), ("confirm_password", PASSWORD)],
    )
    .await;
    let again = res.text().await.unwrap();
    assert!(
        element_text(&again, "password-violations").is_some(),
        "{again}"
    );
    let res = post_step(
        &app,
        &app.browser,
        &page,
        &[("new_password", NEW), ("confirm_password", NEW)],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert!(location(&res).as_str().starts_with(&rp.redirect_uri));
    assert!(!find_user(&app, "alice").await.must_change_password);
}

#[tokio::test]
async fn changing_the_password_from_the_account_ends_other_sessions_and_keeps_this_one() {
    let (app, rp) = app_with_alice().await;
    let other = browser();
    let cb = authorize_through_from(&app, &other, &auth_params(&rp, &[]), "alice").await;
    assert!(query_param(&cb, "code").is_some());
    let account = account_browser(&app, "alice").await;
    let page = text_of(account.get(app.url("/account/password"))).await;
    let res = submit(
        &app,
        &account,
        &page,
        "/account/password",
        &[
            ("password", "wrong"),
            ("new_password", NEW),
            ("confirm_password", NEW),
        ],
    )
    .await;
    assert!(notice_of(&res.text().await.unwrap()).is_some());
    let res = submit(
        &app,
        &account,
        &page,
        "/account/password",
        &[
            ("password", PASSWORD),
            ("new_password", NEW),
            ("confirm_password", NEW),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let home = text_of(account.get(app.url("/account?changed=password"))).await;
    assert!(
        element_text(&home, "account-changed").is_some(),
        "still signed in: {home}"
    );
    // The other browser's session is over.
    let res = authorize_from(&app, &other, &auth_params(&rp, &[("prompt", "none")])).await;
    assert_eq!(
        query_param(&location(&res), "error").as_deref(),
        Some("login_required")
    );
    wait_for_mail(&app, "alice@example.org", 1).await;
}

#[tokio::test]
async fn a_category_denied_the_reset_gets_the_same_answer_and_no_link() {
    let app = spawn_with(Options {
        settings: Some(|s| s.self_service_denied = "staff:reset".into()),
        ..Options::default()
    })
    .await;
    app.create_user_with(guichet::domain::user::NewUser {
        login: "prof".into(),
        email: Some("prof@example.org".into()),
        category: Some("staff".into()),
        ..Default::default()
    })
    .await;
    app.create_user("alice").await;
    let denied = ask_reset(&app, "prof").await;
    let allowed = ask_reset(&app, "alice").await;
    assert_eq!(
        element_text(&denied, "reset-sent"),
        element_text(&allowed, "reset-sent")
    );
    assert!(denied.contains("id=\"helpdesk\""), "the help desk is shown");
    wait_for_mail(&app, "alice@example.org", 1).await;
    assert_eq!(mails_to(&app, "prof@example.org").await, 0);
}

#[tokio::test]
async fn the_reset_pages_speak_english_to_an_english_browser() {
    let (app, _) = app_with_alice().await;
    let http = browser();
    let page = text_of(
        http.get(app.url("/reset"))
            .header("accept-language", "en-GB,en;q=0.9"),
    )
    .await;
    assert!(page.contains("Forgotten password"), "{page}");
    assert!(page.contains("lang=\"en\""));
    let page = text_of(
        http.get(app.url("/reset/confirm?token=x"))
            .header("accept-language", "en"),
    )
    .await;
    assert!(page.contains("no longer valid"), "{page}");
}

#[tokio::test]
async fn one_address_gets_twenty_reset_requests_per_five_minutes() {
    let (app, _) = app_with_alice().await;
    for i in 0..20 {
        ask_reset(&app, &format!("nobody{i}")).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let page = ask_reset(&app, "alice").await;
    assert!(
        element_text(&page, "reset-sent").is_some(),
        "the same answer"
    );
    assert_eq!(mails_to(&app, "alice@example.org").await, 0);
    app.clock.advance(300);
    ask_reset(&app, "alice").await;
    wait_for_mail(&app, "alice@example.org", 1).await;
}

#[tokio::test]
async fn with_an_smtp_server_the_reset_link_arrives_by_smtp_and_works() {
    let sink = SmtpSink::start().await;
    let app = spawn_with(Options {
        smtp_url: Some(sink.url()),
        ..Options::default()
    })
    .await;
    app.create_user("alice").await;
    ask_reset(&app, "alice").await;
    let received = sink.wait_for(1).await;
    let mail = received[0].mail();
    assert!(mail.to.contains("alice@example.org"));
    assert!(mail.text.contains("guichet"), "signed: {}", mail.text);
    let link = link_in(&app, &mail, "/reset/confirm?token=");
    let http = browser();
    let page = text_of(http.get(&link)).await;
    let res = submit(
        &app,
        &http,
        &page,
        "/reset/confirm",
        &[("new_password", NEW), ("confirm_password", NEW)],
    )
    .await;
    assert!(element_text(&res.text().await.unwrap(), "reset-done").is_some());
    // The confirmation goes the same way; nothing was written to the outbox.
    sink.wait_for(2).await;
    assert!(outbox_mails(&app).is_empty());
}

#[tokio::test]
async fn a_category_denied_the_password_change_is_shown_the_help_desk() {
    let app = spawn_with(Options {
        settings: Some(|s| s.self_service_denied = "staff:change_password".into()),
        ..Options::default()
    })
    .await;
    app.create_user_with(guichet::domain::user::NewUser {
        login: "prof".into(),
        category: Some("staff".into()),
        ..Default::default()
    })
    .await;
    let account = account_browser(&app, "prof").await;
    let res = account
        .get(app.url("/account/password"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"helpdesk\""), "{page}");
}
