//! Regression tests for the security review, browser side: consent bound to a valid session
//! and to the request it was shown for, the login page's session check, logout hints, the
//! sign-in lockout, and `id_token_hint` at sign-in.

use std::net::IpAddr;

use guichet::domain::user::NewUser;
use guichet::service::lockout::address_bucket;
use reqwest::header::{ACCEPT_LANGUAGE, HeaderMap, HeaderValue, LOCATION};
use reqwest::redirect::Policy;

use crate::helpers::*;

// ----- 1. Consent passes the session checks of /authorize and is bound to its page -----

#[tokio::test]
async fn a_consent_form_posted_after_a_password_change_gets_no_code() {
    let (app, tp) = app_with_third_party().await;
    let page = consent_page_from(&app, &app.browser, &auth_params(&tp, &[])).await;
    change_password(&app, "alice").await;

    let res = app.submit_consent(&page, true).await;
    assert_session_cookie_removed(&res);
    assert_login_asked_again(res).await;
    assert_eq!(prompt_none(&app, &tp).await, "login_required");
}

#[tokio::test]
async fn a_consent_form_posted_after_the_user_was_disabled_gets_no_code() {
    let (app, tp) = app_with_third_party().await;
    let page = consent_page_from(&app, &app.browser, &auth_params(&tp, &[])).await;
    set_disabled(&app, "alice", true).await;

    let res = app.submit_consent(&page, true).await;
    assert_session_cookie_removed(&res);
    assert_login_asked_again(res).await;
    assert_eq!(prompt_none(&app, &tp).await, "login_required");
}

#[tokio::test]
async fn a_consent_form_posted_from_another_browser_s_session_is_refused() {
    let (app, tp) = app_with_third_party().await;
    let params = auth_params(&tp, &[]);
    let shown = consent_page_from(&app, &app.browser, &params).await;
    // Another browser, signed in as alice too, posts the first browser's request and binding
    // with its own (valid) CSRF token.
    let other = browser();
    let own = consent_page_from(&app, &other, &params).await;
    assert_eq!(hidden(&own, "request"), hidden(&shown, "request"));
    let res = post_consent(
        &app,
        &other,
        &hidden(&own, "csrf").unwrap(),
        &hidden(&shown, "request").unwrap(),
        &hidden(&shown, "binding").unwrap(),
    )
    .await;
    assert_refused_page(res).await;
    assert_eq!(
        prompt_none_with(&app, &other, &tp, None).await,
        "consent_required",
        "the refused form stored a consent"
    );

    // The form was good in the browser it was shown to.
    let res = app.submit_consent(&shown, true).await;
    assert_eq!(res.status(), 303);
    assert_code_issued(&res);
}

#[tokio::test]
async fn a_consent_form_older_than_ten_minutes_is_refused() {
    let (app, tp) = app_with_third_party().await;
    let page = consent_page_from(&app, &app.browser, &auth_params(&tp, &[])).await;
    app.clock.advance(601);

    let res = app.submit_consent(&page, true).await;
    assert_refused_page(res).await;
    // The session is still good (idle 30 minutes): a fresh page may be answered.
    let page = assert_consent_page(app.authorize(&auth_params(&tp, &[])).await).await;
    assert_code_issued(&app.submit_consent(&page, true).await);
}

#[tokio::test]
async fn a_consent_form_posted_after_max_age_asks_for_the_password_again() {
    let (app, tp) = app_with_third_party().await;
    let params = auth_params(&tp, &[("max_age", "60")]);
    let page = consent_page_from(&app, &app.browser, &params).await;
    app.clock.advance(120);

    let res = app.submit_consent(&page, true).await;
    let login = assert_login_asked_again(res).await;
    // Signing in again leads back to the consent page, which now gives a code.
    let page = assert_consent_page(app.submit_login(&login, "alice", PASSWORD).await).await;
    assert_code_issued(&app.submit_consent(&page, true).await);
}

#[tokio::test]
async fn a_consent_form_with_a_tampered_request_is_refused() {
    let (app, tp) = app_with_third_party().await;
    let page = consent_page_from(&app, &app.browser, &auth_params(&tp, &[])).await;
    let request = hidden(&page, "request").unwrap();
    assert!(request.contains("scope=openid&"), "{request}");
    let tampered = request.replace("scope=openid&", "scope=openid+email&");

    let res = post_consent(
        &app,
        &app.browser,
        &hidden(&page, "csrf").unwrap(),
        &tampered,
        &hidden(&page, "binding").unwrap(),
    )
    .await;
    assert_refused_page(res).await;
    // Nothing was consented to, the added scope least of all.
    let mut silent = auth_params(&tp, &[("prompt", "none")]);
    silent.retain(|(k, _)| *k != "scope");
    silent.push(("scope", "openid email"));
    let res = app.authorize(&silent).await;
    assert_eq!(
        query_param(&location(&res), "error").as_deref(),
        Some("consent_required")
    );
}

#[tokio::test]
async fn the_login_page_ends_a_session_whose_password_changed_and_shows_the_form() {
    let (app, client) = app_with_alice().await;
    app.code_flow_tokens(&client, "alice", "openid").await;
    let page = get_login(&app, &app.browser).await;
    assert!(!is_login_form(&page), "alice is signed in: {page}");

    change_password(&app, "alice").await;
    let res = app.browser.get(app.url("/login")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_session_cookie_removed(&res);
    let page = res.text().await.unwrap();
    assert!(is_login_form(&page), "the signed-in page was shown: {page}");
    assert_eq!(prompt_none(&app, &client).await, "login_required");
}

// ----- 4. A logout hint of another user does not end the browser's session -----

#[tokio::test]
async fn a_logout_hint_of_another_user_ends_that_user_s_session_but_asks_before_ending_the_browser_s()
 {
    let (app, client) = app_with_alice().await;
    app.create_user("bob").await;
    app.code_flow_tokens(&client, "alice", "openid").await;
    let bobs = browser();
    let bob_hint = id_token(&tokens_from(&app, &bobs, &client, "bob").await);

    // Alice's browser sends bob's hint.
    let res = end_session(&app.browser, &app, &[("id_token_hint", &bob_hint)]).await;
    assert_confirmation_page(res).await;
    assert_eq!(
        prompt_none(&app, &client).await,
        SIGNED_IN,
        "alice's session ended without her confirmation"
    );
    // The session the hint names (bob's, in his browser) is over.
    assert_eq!(
        prompt_none_with(&app, &bobs, &client, None).await,
        "login_required"
    );
}

#[tokio::test]
async fn a_logout_hint_of_the_browser_s_own_user_ends_its_session_without_asking() {
    let (app, client) = app_with_alice().await;
    let hint = id_token(&app.code_flow_tokens(&client, "alice", "openid").await);

    let res = end_session(
        &app.browser,
        &app,
        &[("id_token_hint", &hint), ("post_logout_redirect_uri", BYE)],
    )
    .await;
    assert!(res.status().is_redirection(), "got {}", res.status());
    assert_eq!(res.headers()[LOCATION].to_str().unwrap(), BYE);
    assert_session_cookie_removed(&res);
    assert_eq!(prompt_none(&app, &client).await, "login_required");
}

#[tokio::test]
async fn a_logout_hint_sent_without_cookies_ends_only_the_session_it_names() {
    let (app, client) = app_with_alice().await;
    // Alice has two sessions: this browser's and another's.
    app.code_flow_tokens(&client, "alice", "openid").await;
    let elsewhere = browser();
    let hint = id_token(&tokens_from(&app, &elsewhere, &client, "alice").await);

    let res = end_session(&bare_client(), &app, &[("id_token_hint", &hint)]).await;
    assert_eq!(res.status(), 200);
    assert!(set_cookie(&res, "guichet_session").is_none());
    assert_eq!(
        prompt_none_with(&app, &elsewhere, &client, None).await,
        "login_required"
    );
    assert_eq!(
        prompt_none(&app, &client).await,
        SIGNED_IN,
        "a server-to-server logout ended another session of the same user"
    );
}

// ----- 5. The sign-in lockout -----

/// The default lockout threshold.
const THRESHOLD: usize = 5;

#[tokio::test]
async fn a_burst_of_wrong_passwords_for_one_identifier_gets_at_most_five_password_checks() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    let page = get_login(&app, &app.browser).await;
    let csrf = hidden(&page, "csrf").unwrap();
    let flow = hidden(&page, "flow").unwrap();
    let mut jobs = Vec::new();
    for _ in 0..60 {
        let http = app.browser.clone();
        let url = app.url("/login");
        let form = [
            ("csrf", csrf.clone()),
            ("flow", flow.clone()),
            ("username", "alice".to_owned()),
            ("password", "wrong password".to_owned()),
        ];
        jobs.push(tokio::spawn(async move {
            let res = http.post(url).form(&form).send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.text().await.unwrap())
        }));
    }
    let (mut wrong, mut locked, mut busy) = (0, 0, 0);
    for j in jobs {
        match j.await.unwrap() {
            (200, page) if page.contains("incorrect") => wrong += 1,
            (200, page) if page.contains("bloqué") => locked += 1,
            // Counted, but the hashing queue was full.
            (503, _) => busy += 1,
            other => panic!("unexpected answer {}", other.0),
        }
    }
    // Each attempt is counted before its check: at most five checks, the fifth failure
    // answering with the lock itself.
    assert!(wrong < THRESHOLD, "{wrong} wrong-password answers");
    assert!(
        wrong + busy <= THRESHOLD,
        "{} attempts passed the lockout ({wrong} wrong, {busy} busy, {locked} locked)",
        wrong + busy
    );
    assert_eq!(wrong + busy + locked, 60);
    let res = app.submit_login(&page, "alice", PASSWORD).await;
    assert_eq!(res.status(), 200, "locked: even the right password fails");
}

#[tokio::test]
async fn failed_sign_ins_count_per_account_across_its_identifiers() {
    let app = spawn_app().await;
    app.create_user_with(NewUser {
        login: "carol".into(),
        email: Some("carol@example.org".into()),
        identifiers: vec!["20240017".into()],
        ..NewUser::default()
    })
    .await;
    let page = get_login(&app, &app.browser).await;
    // Two failures with each identifier at most: the account locks at the fifth.
    let identifiers = ["carol", "carol@example.org", "20240017"];
    let mut n = 0;
    for _ in 0..2 {
        for id in identifiers {
            n += 1;
            let res = app.submit_login(&page, id, "wrong password").await;
            assert_eq!(res.status(), 200);
            let text = res.text().await.unwrap();
            let expected = if n < THRESHOLD {
                "incorrect"
            } else {
                "bloqué"
            };
            assert!(text.contains(expected), "attempt {n} ({id}): {text}");
        }
    }
    // Even the right password waits for the lock to pass.
    let res = app.submit_login(&page, "carol", PASSWORD).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("bloqué"));
}

#[test]
fn ipv6_addresses_of_one_64_share_a_throttle_bucket_and_ipv4_addresses_stand_alone() {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert_eq!(
        address_bucket(ip("2001:db8:1:2::1")),
        address_bucket(ip("2001:db8:1:2:ffff:abcd:1234:5678"))
    );
    assert_ne!(
        address_bucket(ip("2001:db8:1:2::1")),
        address_bucket(ip("2001:db8:1:3::1"))
    );
    assert_eq!(address_bucket(ip("192.0.2.7")), "192.0.2.7");
    assert_ne!(
        address_bucket(ip("192.0.2.7")),
        address_bucket(ip("192.0.2.8"))
    );
    // An IPv4 address written as IPv6 is that IPv4 address.
    assert_eq!(address_bucket(ip("::ffff:192.0.2.7")), "192.0.2.7");
}

// ----- 8. id_token_hint at sign-in -----

fn english_browser() -> reqwest::Client {
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT_LANGUAGE, HeaderValue::from_static("en"));
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

#[tokio::test]
async fn with_bob_s_id_token_hint_alice_s_password_gets_no_code_and_bob_s_does() {
    let (app, client) = app_with_alice().await;
    let bob = app.create_user("bob").await;
    let bob_hint = id_token(&tokens_from(&app, &browser(), &client, "bob").await);

    // A browser without a session.
    let (challenge, verifier) = pkce_pair();
    let params = auth_params(
        &client,
        &[
            ("id_token_hint", &bob_hint),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let page = login_page_from(&app, &app.browser, &params).await;
    let res = app.submit_login(&page, "alice", PASSWORD).await;
    assert_no_code(&res);
    assert_eq!(res.status(), 200);
    assert!(
        set_cookie(&res, "guichet_session").is_none(),
        "a session was opened for alice"
    );
    let page = res.text().await.unwrap();
    assert!(is_login_form(&page));
    assert!(
        page.contains("L’application demande un autre compte"),
        "no notice: {page}"
    );
    assert_eq!(prompt_none(&app, &client).await, "login_required");

    let res = app.submit_login(&page, "bob", PASSWORD).await;
    assert_eq!(res.status(), 303);
    let code = query_param(&location(&res), "code").expect("a code for bob");
    let tokens = redeem_ok(&app, &client, &code, &verifier).await;
    assert_eq!(jwt_claims(&id_token(&tokens))["sub"], bob.as_str());
}

#[tokio::test]
async fn with_prompt_login_and_bob_s_hint_signed_in_alice_is_told_another_account_is_expected() {
    let (app, client) = app_with_alice().await;
    app.create_user("bob").await;
    let bob_hint = id_token(&tokens_from(&app, &browser(), &client, "bob").await);
    let en = english_browser();
    tokens_from(&app, &en, &client, "alice").await;

    let params = auth_params(
        &client,
        &[("prompt", "login"), ("id_token_hint", &bob_hint)],
    );
    let page = login_page_from(&app, &en, &params).await;
    let res = post_login(&app, &en, &page, "alice", PASSWORD).await;
    assert_no_code(&res);
    assert_eq!(res.status(), 200);
    assert!(
        set_cookie(&res, "guichet_session").is_none(),
        "a new session was opened for alice"
    );
    let page = res.text().await.unwrap();
    assert!(
        page.contains("asks for another account"),
        "no notice: {page}"
    );
}
