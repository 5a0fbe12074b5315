//! Recovery by personal data and the security question (`/recover`), through the real pages:
//! the question set from the account page, the four stages, the lockout, the same answer for
//! every detail that does not allow recovery, a denied category, English pages.

use guichet::domain::user::NewUser;

use crate::helpers::*;

const NEW: &str = "un tout nouveau mot de passe";
const BIRTH: &str = "2004-03-17";
const NUMBER: &str = "2024 0017";

/// Posts a page's first form with its hidden fields and `fields`, in `lang`.
async fn submit_in(
    app: &TestApp,
    http: &reqwest::Client,
    lang: &str,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form: Vec<(String, String)> = first_form(page).hidden;
    form.extend(
        fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    http.post(app.url(action))
        .header("accept-language", lang)
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn submit(
    app: &TestApp,
    http: &reqwest::Client,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    submit_in(app, http, "fr", page, action, fields).await
}

/// A user `login` with a student number and a birth date (and `category`).
async fn student(app: &TestApp, login: &str, number: &str, category: Option<&str>) -> String {
    app.create_user_with(NewUser {
        login: login.into(),
        email: Some(format!("{login}@example.org")),
        email_verified: true,
        given_name: Some("Élodie".into()),
        family_name: Some("Martin".into()),
        category: category.map(str::to_owned),
        birth_date: Some(BIRTH.into()),
        personal_numbers: vec![("student_number".into(), number.into())],
        ..NewUser::default()
    })
    .await
}

/// Sets the security question of `login` through the account page.
async fn set_question(app: &TestApp, login: &str, answer: &str) {
    let http = account_browser(app, login).await;
    let home = text_of(http.get(app.url("/account"))).await;
    assert!(
        element_text(&home, "security-question").is_some_and(|t| t.contains("non définie")),
        "{home}"
    );
    let page = text_of(http.get(app.url("/account/security-question"))).await;
    assert!(page.contains("name=\"question\"") && page.contains("name=\"answer\""));
    // The current password is needed.
    let res = submit(
        app,
        &http,
        &page,
        "/account/security-question",
        &[
            ("password", "wrong"),
            ("question", "Nom de jeune fille de ma mère ?"),
            ("answer", answer),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(notice_of(&res.text().await.unwrap()).is_some());
    let res = submit(
        app,
        &http,
        &page,
        "/account/security-question",
        &[
            ("password", PASSWORD),
            ("question", "Nom de jeune fille de ma mère ?"),
            ("answer", answer),
        ],
    )
    .await;
    assert_see_other(&res, "/account?changed=question");
    let home = text_of(http.get(app.url("/account?changed=question"))).await;
    assert!(
        element_text(&home, "security-question")
            .is_some_and(|t| t.contains("définie") && !t.contains("non définie")),
        "{home}"
    );
    assert!(element_text(&home, "question-saved").is_some());
}

/// Stage 1 from a fresh page of `http`: returns the answer page.
async fn details(
    app: &TestApp,
    http: &reqwest::Client,
    kind: &str,
    number: &str,
    birth_date: &str,
) -> reqwest::Response {
    let page = text_of(http.get(app.url("/recover"))).await;
    submit(
        app,
        http,
        &page,
        "/recover",
        &[
            ("identifier_kind", kind),
            ("identifier", number),
            ("birth_date", birth_date),
        ],
    )
    .await
}

fn progress(page: &str) -> Option<String> {
    element_text(page, "progress-text")
}

#[tokio::test]
async fn a_person_recovers_the_password_with_personal_data_and_a_normalised_answer() {
    let app = spawn_app().await;
    let rp = app.create_client("rp1", |_| {}).await;
    student(&app, "elodie", NUMBER, None).await;
    set_question(&app, "elodie", "elodie dupont").await;
    let tokens = app.code_flow_tokens(&rp, "elodie", "openid").await;

    let http = browser();
    let page = text_of(http.get(app.url("/recover"))).await;
    assert_eq!(progress(&page).as_deref(), Some("25 %"));
    assert!(page.contains("<select id=\"identifier_kind\" name=\"identifier_kind\""));
    for kind in ["student_number", "ine", "staff_number", "external_uid"] {
        assert!(page.contains(&format!("value=\"{kind}\"")), "{kind}");
    }
    assert!(page.contains("Numéro d’étudiant"));
    assert!(page.contains("type=\"date\""));
    assert!(page.contains("<progress id=\"progress\""));

    // The number typed with other spaces still names the person.
    let res = details(&app, &http, "student_number", " 20240017 ", BIRTH).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert_eq!(progress(&page).as_deref(), Some("50 %"), "{page}");
    assert_eq!(
        element_text(&page, "recover-question").as_deref(),
        Some("Nom de jeune fille de ma mère ?")
    );
    let res = submit(
        &app,
        &http,
        &page,
        "/recover/answer",
        &[("answer", "  Élodie  Dupont ")],
    )
    .await;
    let stage3 = res.text().await.unwrap();
    assert_eq!(progress(&stage3).as_deref(), Some("75 %"), "{stage3}");
    assert_eq!(
        element_text(&stage3, "recover-login").as_deref(),
        Some("elodie")
    );
    assert!(stage3.contains("name=\"accept\""));
    assert!(element_text(&stage3, "password-rules").is_some());
    // The stage-2 form is good once.
    let res = submit(
        &app,
        &http,
        &page,
        "/recover/answer",
        &[("answer", "elodie dupont")],
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(element_text(&res.text().await.unwrap(), "recover-error").is_some());

    // Without the house rules, then two different passwords: the form again.
    let res = submit(
        &app,
        &http,
        &stage3,
        "/recover/password",
        &[("new_password", NEW), ("confirm_password", NEW)],
    )
    .await;
    let again = res.text().await.unwrap();
    assert_eq!(progress(&again).as_deref(), Some("75 %"));
    assert!(
        notice_of(&again).is_some_and(|n| n.contains("règlement")),
        "{again}"
    );
    let res = submit(
        &app,
        &http,
        &stage3,
        "/recover/password",
        &[
            ("new_password", NEW),
            ("confirm_password", "autre chose"),
            ("accept", "yes"),
        ],
    )
    .await;
    assert!(notice_of(&res.text().await.unwrap()).is_some());
    let res = submit(
        &app,
        &http,
        &stage3,
        "/recover/password",
        &[
            ("new_password", NEW),
            ("confirm_password", NEW),
            ("accept", "yes"),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    let done = res.text().await.unwrap();
    assert_eq!(progress(&done).as_deref(), Some("100 %"), "{done}");
    assert!(element_text(&done, "recover-done").is_some_and(|t| t.contains("elodie")));

    // Single use; the old refresh token and password are gone; the new one signs in.
    let res = submit(
        &app,
        &http,
        &stage3,
        "/recover/password",
        &[
            ("new_password", NEW),
            ("confirm_password", NEW),
            ("accept", "yes"),
        ],
    )
    .await;
    assert_eq!(res.status(), 400);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(refresh_with(&app, &rp, refresh, None).await.status(), 400);
    let fresh = browser();
    let page = get_login(&app, &fresh).await;
    assert_eq!(
        post_login(&app, &fresh, &page, "elodie", NEW)
            .await
            .status(),
        303
    );
    let mail = wait_for_mail(&app, "elodie@example.org", 1).await;
    assert!(mail.text.contains("elodie"), "{}", mail.text);
    audit_kinds(&app, &["recovery.success"]).await;
}

#[tokio::test]
async fn five_wrong_answers_lock_the_account_and_a_recovery_lifts_the_lock() {
    let app = spawn_app().await;
    student(&app, "elodie", NUMBER, None).await;
    set_question(&app, "elodie", "Dupont").await;
    let http = browser();
    let res = details(&app, &http, "student_number", NUMBER, BIRTH).await;
    let mut page = res.text().await.unwrap();
    for i in 0..4 {
        let res = submit(
            &app,
            &http,
            &page,
            "/recover/answer",
            &[("answer", "Durand")],
        )
        .await;
        assert_eq!(res.status(), 200, "attempt {i}");
        page = res.text().await.unwrap();
        assert_eq!(progress(&page).as_deref(), Some("50 %"));
        assert!(element_text(&page, "recover-error").is_some());
    }
    let res = submit(
        &app,
        &http,
        &page,
        "/recover/answer",
        &[("answer", "Durand")],
    )
    .await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    // Locked: sign-in refuses the right password, and the right answer waits too.
    let fresh = browser();
    let login = get_login(&app, &fresh).await;
    assert_eq!(
        post_login(&app, &fresh, &login, "elodie", PASSWORD)
            .await
            .status(),
        200
    );
    let res = details(&app, &http, "student_number", NUMBER, BIRTH).await;
    assert_eq!(res.status(), 429);
    audit_kinds(&app, &["recovery.failure", "account.locked"]).await;

    // Once the lock is over the right answer works, and the recovery clears the count.
    app.clock.advance(901);
    let res = details(&app, &http, "student_number", NUMBER, BIRTH).await;
    let page = res.text().await.unwrap();
    let res = submit(
        &app,
        &http,
        &page,
        "/recover/answer",
        &[("answer", "dupont")],
    )
    .await;
    let page = res.text().await.unwrap();
    assert_eq!(progress(&page).as_deref(), Some("75 %"), "{page}");
}

#[tokio::test]
async fn unknown_numbers_wrong_birth_dates_and_accounts_without_a_question_get_one_answer() {
    let app = spawn_app().await;
    student(&app, "elodie", NUMBER, None).await;
    student(&app, "noquestion", "3000", None).await;
    set_question(&app, "elodie", "Dupont").await;
    let http = browser();
    let mut answers = Vec::new();
    for (kind, number, birth) in [
        ("student_number", "999999", BIRTH),
        ("student_number", NUMBER, "2004-03-18"),
        ("ine", NUMBER, BIRTH),
        ("student_number", "3000", BIRTH),
        ("student_number", NUMBER, "not a date"),
    ] {
        let res = details(&app, &http, kind, number, birth).await;
        assert_eq!(res.status(), 200, "{kind} {number} {birth}");
        let page = res.text().await.unwrap();
        assert_eq!(progress(&page).as_deref(), Some("25 %"));
        assert!(element_text(&page, "recover-helpdesk").is_some(), "{page}");
        answers.push(element_text(&page, "recover-refused").unwrap());
    }
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert!(answers[0].contains("assistance"));
    // Each counted: the unknown number locks like an account would.
    for _ in 0..4 {
        details(&app, &http, "student_number", "999999", BIRTH).await;
    }
    let res = details(&app, &http, "student_number", "999999", BIRTH).await;
    assert_eq!(res.status(), 429);
    audit_kinds(&app, &["recovery.failure"]).await;
}

#[tokio::test]
async fn a_category_denied_recovery_gets_the_same_answer_and_the_help_desk() {
    let app = spawn_with(Options {
        settings: Some(|s| s.self_service_denied = "staff:recover".into()),
        ..Options::default()
    })
    .await;
    student(&app, "prof", "S-1", Some("staff")).await;
    set_question(&app, "prof", "Dupont").await;
    let http = browser();
    let denied = details(&app, &http, "student_number", "S-1", BIRTH)
        .await
        .text()
        .await
        .unwrap();
    let unknown = details(&app, &http, "student_number", "S-9", BIRTH)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        element_text(&denied, "recover-refused"),
        element_text(&unknown, "recover-refused")
    );
    assert!(element_text(&denied, "recover-refused").is_some());
    assert!(element_text(&denied, "recover-helpdesk").is_some());
    assert!(element_text(&denied, "recover-question").is_none());
}

#[tokio::test]
async fn the_recovery_pages_speak_english_with_configured_kinds() {
    let app = spawn_with(Options {
        settings: Some(|s| {
            s.personal_number_kinds = vec!["staff_number".into(), "badge".into()];
        }),
        ..Options::default()
    })
    .await;
    app.create_user_with(NewUser {
        login: "bob".into(),
        email: Some("bob@example.org".into()),
        birth_date: Some(BIRTH.into()),
        personal_numbers: vec![("badge".into(), "B7".into())],
        ..NewUser::default()
    })
    .await;
    set_question(&app, "bob", "Blue").await;
    let http = browser();
    let page = text_of(
        http.get(app.url("/recover"))
            .header("accept-language", "en"),
    )
    .await;
    assert!(page.contains("lang=\"en\""));
    assert!(page.contains("Recover my password"), "{page}");
    assert!(page.contains("Staff number"));
    assert!(
        page.contains(">badge</option>"),
        "an unknown kind by its name"
    );
    assert!(!page.contains("value=\"ine\""));
    let res = submit_in(
        &app,
        &http,
        "en",
        &page,
        "/recover",
        &[
            ("identifier_kind", "badge"),
            ("identifier", "b7"),
            ("birth_date", BIRTH),
        ],
    )
    .await;
    let page = res.text().await.unwrap();
    assert!(page.contains("Answer your security question"), "{page}");
    let res = submit_in(
        &app,
        &http,
        "en",
        &page,
        "/recover/answer",
        &[("answer", "BLUE")],
    )
    .await;
    let page = res.text().await.unwrap();
    assert!(page.contains("I have read the house rules"), "{page}");
    let res = submit_in(
        &app,
        &http,
        "en",
        &page,
        "/recover/password",
        &[
            ("new_password", NEW),
            ("confirm_password", NEW),
            ("accept", "yes"),
        ],
    )
    .await;
    let page = res.text().await.unwrap();
    assert!(page.contains("Your password was changed"), "{page}");
    let res = submit_in(
        &app,
        &http,
        "en",
        &text_of(http.get(app.url("/recover"))).await,
        "/recover",
        &[
            ("identifier_kind", "staff_number"),
            ("identifier", "0000"),
            ("birth_date", BIRTH),
        ],
    )
    .await;
    let page = res.text().await.unwrap();
    assert!(
        element_text(&page, "recover-refused")
            .is_some_and(|t| t.contains("do not allow recovery here")),
        "{page}"
    );
    let mail = wait_for_mail(&app, "bob@example.org", 1).await;
    assert!(mail.text.contains("bob"));
}
