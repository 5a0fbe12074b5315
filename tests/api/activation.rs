//! The activation of an account created with a temporary password, through the real pages:
//! eight steps, two mailed links read from the outbox, a charter, a redirection, a new
//! password; and what goes wrong: an expired link, a step out of order, a wrong password, a
//! category that may not activate.

use guichet::domain::user::NewUser;

use crate::helpers::*;

const NEW: &str = "un tout nouveau mot de passe";
const BACKUP: &str = "perso@example.net";

/// Creates `login` with the temporary password `PASSWORD` (as `user add --temporary` does).
async fn temporary_user(app: &TestApp, login: &str, category: Option<&str>) {
    app.create_user_with(NewUser {
        login: login.into(),
        email: Some(format!("{login}@univ.example.org")),
        given_name: Some("Camille".into()),
        family_name: Some("Durand".into()),
        category: category.map(str::to_owned),
        must_change_password: true,
        ..NewUser::default()
    })
    .await;
}

/// Posts a page's first form to `/activate` with its hidden fields and `fields`.
async fn submit(
    app: &TestApp,
    http: &reqwest::Client,
    page: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    fill_and_post(app, http, page, "/activate", fields).await
}

/// Submits and expects a page back.
async fn next(
    app: &TestApp,
    http: &reqwest::Client,
    page: &str,
    fields: &[(&str, &str)],
) -> String {
    let res = submit(app, http, page, fields).await;
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

fn step_of(page: &str) -> String {
    element_text(page, "step").unwrap_or_else(|| panic!("no step indicator: {page}"))
}

/// Steps 1 to 3 for `login`, from `http`: returns the step 4 page (the link is mailed).
async fn up_to_the_mail(app: &TestApp, http: &reqwest::Client, login: &str) -> String {
    let page = text_of(http.get(app.url("/activate"))).await;
    let page = next(app, http, &page, &[("username", login)]).await;
    let page = next(app, http, &page, &[("password", PASSWORD)]).await;
    assert_eq!(step_of(&page), "Étape 3 sur 8", "{page}");
    next(app, http, &page, &[("email", BACKUP)]).await
}

#[tokio::test]
async fn a_new_account_is_activated_in_eight_steps_and_signs_in_with_its_new_password() {
    let app = spawn_app().await;
    temporary_user(&app, "camille.durand", None).await;
    let http = browser();

    let page = text_of(http.get(app.url("/activate"))).await;
    assert_eq!(step_of(&page), "Étape 1 sur 8");
    assert!(page.contains("name=\"username\""));
    let page = next(&app, &http, &page, &[("username", "camille.durand")]).await;
    assert_eq!(step_of(&page), "Étape 2 sur 8");
    assert!(page.contains("name=\"password\""));
    let page = next(&app, &http, &page, &[("password", PASSWORD)]).await;
    assert_eq!(step_of(&page), "Étape 3 sur 8");
    assert!(page.contains("name=\"email\""));
    // Not an address: the same step again, saying why.
    let again = next(&app, &http, &page, &[("email", "perso")]).await;
    assert_eq!(step_of(&again), "Étape 3 sur 8");
    assert!(notice_of(&again).is_some());
    let page = next(&app, &http, &again, &[("email", BACKUP)]).await;
    assert_eq!(step_of(&page), "Étape 4 sur 8");
    assert_eq!(element_text(&page, "mailed-to").as_deref(), Some(BACKUP));
    assert!(
        element_text(&page, "valid-until")
            .unwrap()
            .contains("23:59")
    );

    // The link continues in whatever browser opens it.
    let mail = wait_for_mail(&app, BACKUP, 1).await;
    assert!(mail.text.contains("camille.durand"), "{}", mail.text);
    assert!(mail.text.contains("23:59"), "{}", mail.text);
    let link = link_in(&app, &mail, "/activate/verify?token=");
    let phone = browser();
    let page = text_of(phone.get(&link)).await;
    assert_eq!(step_of(&page), "Étape 5 sur 8", "{page}");
    assert!(element_text(&page, "charter").is_some());
    // The box must be ticked.
    let again = next(&app, &phone, &page, &[]).await;
    assert_eq!(step_of(&again), "Étape 5 sur 8");
    assert!(notice_of(&again).is_some());
    let page = next(&app, &phone, &again, &[("accept", "yes")]).await;
    assert_eq!(step_of(&page), "Étape 6 sur 8");
    assert!(page.contains("name=\"redirect_email\""));
    let page = next(
        &app,
        &phone,
        &page,
        &[("redirect_email", "ailleurs@example.com")],
    )
    .await;
    assert_eq!(step_of(&page), "Étape 6 sur 8");
    assert_eq!(
        element_text(&page, "mailed-to").as_deref(),
        Some("ailleurs@example.com")
    );
    let mail = wait_for_mail(&app, "ailleurs@example.com", 1).await;
    let link = link_in(&app, &mail, "/activate/redirect?token=");
    let page = text_of(phone.get(&link)).await;
    assert_eq!(step_of(&page), "Étape 7 sur 8", "{page}");
    assert!(page.contains("autocomplete=\"new-password\""));
    assert!(element_text(&page, "password-rules").is_some());
    // The temporary password is not a new one.
    let again = next(
        &app,
        &phone,
        &page,
        &[("new_password", PASSWORD), ("confirm_password", PASSWORD)],
    )
    .await;
    assert!(
        element_text(&again, "password-violations").is_some(),
        "{again}"
    );
    let page = next(
        &app,
        &phone,
        &again,
        &[("new_password", NEW), ("confirm_password", NEW)],
    )
    .await;
    assert_eq!(step_of(&page), "Étape 8 sur 8", "{page}");
    assert_eq!(
        element_text(&page, "done-login").as_deref(),
        Some("camille.durand")
    );
    assert_eq!(
        element_text(&page, "done-email").as_deref(),
        Some("camille.durand@univ.example.org")
    );
    assert_eq!(element_text(&page, "done-backup").as_deref(), Some(BACKUP));
    assert_eq!(
        element_text(&page, "done-redirect").as_deref(),
        Some("ailleurs@example.com")
    );

    // What was recorded.
    let user = find_user(&app, "camille.durand").await;
    assert!(!user.must_change_password);
    let (recovery, redirect) = app.core.db.user_emails(&user.id).await.unwrap();
    assert_eq!(recovery.as_deref(), Some(BACKUP));
    assert_eq!(redirect.as_deref(), Some("ailleurs@example.com"));
    let (version, at) = app.core.db.user_charter(&user.id).await.unwrap().unwrap();
    assert_eq!(
        version,
        app.core.policy.activation.charter.text("fr").version
    );
    assert!(at > 0);
    audit_kinds(&app, &["account.activated"]).await;

    // Signing in now takes the new password, and no new-password step any more.
    let fresh = browser();
    let login = get_login(&app, &fresh).await;
    assert_eq!(
        post_login(&app, &fresh, &login, "camille.durand", PASSWORD)
            .await
            .status(),
        200
    );
    let login = get_login(&app, &fresh).await;
    assert_eq!(
        post_login(&app, &fresh, &login, "camille.durand", NEW)
            .await
            .status(),
        303
    );
    // An activated account cannot be activated again.
    let page = text_of(http.get(app.url("/activate"))).await;
    let page = next(&app, &http, &page, &[("username", "camille.durand")]).await;
    let page = next(&app, &http, &page, &[("password", NEW)]).await;
    assert_eq!(step_of(&page), "Étape 1 sur 8");
}

#[tokio::test]
async fn a_link_followed_after_midnight_in_paris_sends_back_to_step_one() {
    let app = spawn_app().await;
    temporary_user(&app, "camille.durand", None).await;
    let http = browser();
    let page = up_to_the_mail(&app, &http, "camille.durand").await;
    assert_eq!(step_of(&page), "Étape 4 sur 8");
    let mail = wait_for_mail(&app, BACKUP, 1).await;
    let link = link_in(&app, &mail, "/activate/verify?token=");
    let midnight = guichet::service::activation::deadline(
        app.core.policy.activation.timezone,
        app.clock.now(),
    );
    app.clock.advance(midnight - app.clock.now() + 1);
    let res = http.get(&link).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert_eq!(step_of(&page), "Étape 1 sur 8");
    assert!(
        element_text(&page, "activate-error")
            .unwrap()
            .contains("23 h 59"),
        "{page}"
    );
    // Starting again works, with a new deadline.
    let page = up_to_the_mail(&app, &http, "camille.durand").await;
    assert_eq!(step_of(&page), "Étape 4 sur 8");
}

#[tokio::test]
async fn a_step_posted_out_of_order_or_twice_is_refused() {
    let app = spawn_app().await;
    temporary_user(&app, "camille.durand", None).await;
    let http = browser();
    let page = text_of(http.get(app.url("/activate"))).await;
    let page = next(&app, &http, &page, &[("username", "camille.durand")]).await;
    let step3 = next(&app, &http, &page, &[("password", PASSWORD)]).await;
    // Skipping to the charter, to the password, or to a step that does not exist.
    for fields in [
        vec![("step", "5"), ("accept", "yes")],
        vec![
            ("step", "7"),
            ("new_password", NEW),
            ("confirm_password", NEW),
        ],
        vec![("step", "4")],
    ] {
        let mut form: Vec<(String, String)> = first_form(&step3)
            .hidden
            .into_iter()
            .filter(|(k, _)| k != "step")
            .collect();
        form.extend(
            fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let res = http
            .post(app.url("/activate"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{fields:?}");
    }
    // The state is intact: step 3 still goes on, once.
    let page = next(&app, &http, &step3, &[("email", BACKUP)]).await;
    assert_eq!(step_of(&page), "Étape 4 sur 8");
    let res = submit(&app, &http, &step3, &[("email", BACKUP)]).await;
    assert_eq!(res.status(), 400, "a replay of step 3");
    assert_eq!(mails_to(&app, BACKUP).await, 1);
    // A mailed link is good once.
    let mail = wait_for_mail(&app, BACKUP, 1).await;
    let link = link_in(&app, &mail, "/activate/verify?token=");
    let page = text_of(http.get(&link)).await;
    assert_eq!(step_of(&page), "Étape 5 sur 8");
    let page = text_of(http.get(&link)).await;
    assert_eq!(step_of(&page), "Étape 1 sur 8");
    assert!(notice_of(&page).is_some());
}

#[tokio::test]
async fn a_wrong_password_an_unknown_login_and_an_active_account_get_the_same_answer() {
    let app = spawn_app().await;
    temporary_user(&app, "camille.durand", None).await;
    app.create_user("alice").await;
    let mut answers = Vec::new();
    for (login, password) in [
        ("camille.durand", "pas le bon"),
        ("personne", PASSWORD),
        ("alice", PASSWORD),
    ] {
        let http = browser();
        let page = text_of(http.get(app.url("/activate"))).await;
        let page = next(&app, &http, &page, &[("username", login)]).await;
        assert_eq!(step_of(&page), "Étape 2 sur 8");
        let page = next(&app, &http, &page, &[("password", password)]).await;
        assert_eq!(step_of(&page), "Étape 1 sur 8", "{login}");
        answers.push(element_text(&page, "activate-error").unwrap());
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0], answers[2]);
    // Failures count toward the lockout, as at sign-in: five lock the account.
    for _ in 0..4 {
        let http = browser();
        let page = text_of(http.get(app.url("/activate"))).await;
        let page = next(&app, &http, &page, &[("username", "camille.durand")]).await;
        next(&app, &http, &page, &[("password", "pas le bon")]).await;
    }
    let http = browser();
    let page = text_of(http.get(app.url("/activate"))).await;
    let page = next(&app, &http, &page, &[("username", "camille.durand")]).await;
    let page = next(&app, &http, &page, &[("password", PASSWORD)]).await;
    assert_eq!(step_of(&page), "Étape 1 sur 8", "locked: {page}");
}

#[tokio::test]
async fn a_category_denied_activation_is_shown_the_help_desk() {
    let app = spawn_with(Options {
        settings: Some(|s| s.self_service_denied = "staff:activate".into()),
        ..Options::default()
    })
    .await;
    temporary_user(&app, "prof", Some("staff")).await;
    let http = browser();
    let page = text_of(http.get(app.url("/activate"))).await;
    let page = next(&app, &http, &page, &[("username", "prof")]).await;
    let res = submit(&app, &http, &page, &[("password", PASSWORD)]).await;
    assert_eq!(res.status(), 403);
    let page = res.text().await.unwrap();
    assert!(element_text(&page, "activate-denied").is_some(), "{page}");
    assert!(page.contains("id=\"helpdesk\""), "{page}");
    assert!(
        find_user(&app, "prof").await.must_change_password,
        "nothing changed"
    );
}

#[tokio::test]
async fn the_activation_pages_speak_english_to_an_english_browser() {
    let app = spawn_app().await;
    temporary_user(&app, "camille.durand", None).await;
    let http = browser();
    let get = |url: String| http.get(url).header("accept-language", "en-GB,en;q=0.9");
    let page = text_of(get(app.url("/activate"))).await;
    assert!(page.contains("lang=\"en\""));
    assert_eq!(step_of(&page), "Step 1 of 8");
    let mut form = first_form(&page).hidden;
    form.push(("username".into(), "camille.durand".into()));
    let res = http
        .post(app.url("/activate"))
        .header("accept-language", "en")
        .form(&form)
        .send()
        .await
        .unwrap();
    let page = res.text().await.unwrap();
    assert_eq!(step_of(&page), "Step 2 of 8");
    assert!(page.contains("Temporary password"), "{page}");
    let page = text_of(get(app.url("/activate/verify?token=made-up"))).await;
    assert_eq!(step_of(&page), "Step 1 of 8");
    assert!(
        element_text(&page, "activate-error")
            .unwrap()
            .contains("no longer valid"),
        "{page}"
    );
}

#[tokio::test]
async fn the_theme_folder_s_charter_is_shown_and_its_version_recorded() {
    let theme = tempfile::tempdir().unwrap();
    std::fs::write(
        theme.path().join("theme.toml"),
        "name = \"Université Exemple\"\n",
    )
    .unwrap();
    std::fs::write(
        theme.path().join("charter.fr.html"),
        "<p id=\"our-charter\">Notre charte, version de rentrée.</p>\n",
    )
    .unwrap();
    let app = spawn_with(Options {
        theme_dir: Some(theme.path().to_owned()),
        ..Options::default()
    })
    .await;
    temporary_user(&app, "camille.durand", None).await;
    let http = browser();
    up_to_the_mail(&app, &http, "camille.durand").await;
    let mail = wait_for_mail(&app, BACKUP, 1).await;
    let page = text_of(http.get(link_in(&app, &mail, "/activate/verify?token="))).await;
    assert_eq!(
        element_text(&page, "our-charter").as_deref(),
        Some("Notre charte, version de rentrée.")
    );
    let fr = &app.core.policy.activation.charter.text("fr").version;
    let en = &app.core.policy.activation.charter.text("en").version;
    assert_ne!(fr, en, "English keeps the built-in text");
    let page = next(&app, &http, &page, &[("accept", "yes")]).await;
    let page = next(&app, &http, &page, &[("redirect_email", "")]).await;
    let page = next(
        &app,
        &http,
        &page,
        &[("new_password", NEW), ("confirm_password", NEW)],
    )
    .await;
    assert_eq!(step_of(&page), "Étape 8 sur 8", "{page}");
    assert!(element_text(&page, "done-redirect").is_none());
    let user = find_user(&app, "camille.durand").await;
    let (version, _) = app.core.db.user_charter(&user.id).await.unwrap().unwrap();
    assert_eq!(&version, fr);
    let (_, redirect) = app.core.db.user_emails(&user.id).await.unwrap();
    assert_eq!(redirect, None);
}

#[tokio::test]
async fn the_link_can_be_sent_again_once_a_minute_and_the_newest_works() {
    let app = spawn_app().await;
    temporary_user(&app, "camille.durand", None).await;
    let http = browser();
    let page = up_to_the_mail(&app, &http, "camille.durand").await;
    wait_for_mail(&app, BACKUP, 1).await;
    // Within the minute: refused, nothing sent.
    let again = next(&app, &http, &page, &[]).await;
    assert_eq!(step_of(&again), "Étape 4 sur 8");
    assert!(notice_of(&again).unwrap().contains("moins d’une minute"));
    app.clock.advance(61);
    let again = next(&app, &http, &again, &[]).await;
    assert_eq!(step_of(&again), "Étape 4 sur 8");
    let mail = wait_for_mail(&app, BACKUP, 2).await;
    let link = link_in(&app, &mail, "/activate/verify?token=");
    let page = text_of(browser().get(&link)).await;
    assert_eq!(step_of(&page), "Étape 5 sur 8", "{page}");
}
