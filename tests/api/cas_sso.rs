//! CAS and the rest of sign-in: a service that requires a second factor, and the SSO session
//! shared with OpenID Connect (one sign-in for both protocols). Logout shared with OpenID
//! Connect: cas_logout.rs.

use crate::helpers::*;

const OTHER: &str = "https://other.example/cas";

// ---- The second factor ------------------------------------------------------------------

/// alice with an authenticator app enrolled: its secret.
async fn alice_with_totp(app: &TestApp) -> Vec<u8> {
    let account = account_browser(app, "alice").await;
    enrol_totp(app, &account).await.0
}

#[tokio::test]
async fn a_service_that_requires_mfa_gets_a_ticket_only_after_the_second_factor() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    app.create_cas_service(SERVICE, |s| s.require_mfa = true)
        .await;
    let secret = alice_with_totp(&app).await;
    let res = app
        .cas_sign_in(&app.browser, &[("service", SERVICE)], "alice")
        .await;
    assert_eq!(res.status(), 200, "a second step, not a redirect");
    assert!(ticket_of(&res).is_none());
    let page = res.text().await.unwrap();
    assert!(is_code_form(&page), "{page}");
    let res = post_code(&app, &app.browser, &page, &totp_now(&app, &secret)).await;
    let ticket = ticket_of(&res).expect("a ticket after the code");
    let x = app
        .cas_xml("/cas/p3/serviceValidate", SERVICE, &ticket)
        .await;
    assert_eq!(x.outcome, "authenticationSuccess");
    assert_eq!(x.one("authnContextClass"), Some("urn:guichet:acr:mfa"));
}

#[tokio::test]
async fn a_password_only_session_is_asked_for_the_second_factor_by_a_service_that_requires_it() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    app.create_cas_service(SERVICE, |_| {}).await;
    app.create_cas_service(OTHER, |s| s.require_mfa = true)
        .await;
    // Signed in with the password before enrolling: a password-only session.
    let ticket = app.cas_ticket(&app.browser, SERVICE, "alice").await;
    let x = app
        .cas_xml("/cas/p3/serviceValidate", SERVICE, &ticket)
        .await;
    assert_eq!(x.one("authnContextClass"), Some("urn:guichet:acr:pwd"));
    let secret = alice_with_totp(&app).await;

    let res = app.cas_login(&app.browser, &[("service", OTHER)]).await;
    assert_eq!(res.status(), 200, "no ticket from a password-only session");
    assert!(ticket_of(&res).is_none());
    let mut page = res.text().await.unwrap();
    if is_login_form(&page) {
        let res = post_login(&app, &app.browser, &page, "alice", PASSWORD).await;
        assert!(ticket_of(&res).is_none());
        page = res.text().await.unwrap();
    }
    assert!(is_code_form(&page), "{page}");
    let res = post_code(&app, &app.browser, &page, &totp_now(&app, &secret)).await;
    let ticket = ticket_of(&res).expect("a ticket after the code");
    let x = app.cas_xml("/cas/p3/serviceValidate", OTHER, &ticket).await;
    assert_eq!(x.one("authnContextClass"), Some("urn:guichet:acr:mfa"));
}

// ---- Single sign-on shared with OpenID Connect -----------------------------------------

#[tokio::test]
async fn a_session_from_an_openid_connect_sign_in_gives_a_cas_ticket_without_a_form() {
    let (app, rp) = app_with_alice().await;
    app.create_cas_service(SERVICE, |_| {}).await;
    app.authorize_through(&auth_params(&rp, &[]), "alice").await;
    let res = app.cas_login(&app.browser, &[("service", SERVICE)]).await;
    assert_eq!(res.status(), 302);
    let ticket = ticket_of(&res).expect("a ticket");
    let x = app
        .cas_xml("/cas/p3/serviceValidate", SERVICE, &ticket)
        .await;
    assert_eq!(x.one("user"), Some("alice"));
    assert_eq!(x.one("isFromNewLogin"), Some("false"));
}

#[tokio::test]
async fn a_session_from_a_cas_sign_in_gives_an_openid_connect_code_with_prompt_none() {
    let (app, rp) = app_with_alice().await;
    app.create_cas_service(SERVICE, |_| {}).await;
    app.cas_ticket(&app.browser, SERVICE, "alice").await;
    assert_eq!(prompt_none(&app, &rp).await, SIGNED_IN);
}

#[tokio::test]
async fn a_service_that_requires_mfa_takes_a_user_without_a_factor_through_enrolment() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    app.create_cas_service(SERVICE, |s| s.require_mfa = true)
        .await;
    let res = app
        .cas_sign_in(&app.browser, &[("service", SERVICE)], "alice")
        .await;
    assert!(ticket_of(&res).is_none());
    let page = res.text().await.unwrap();
    assert!(element_text(&page, "totp-secret").is_some(), "{page}");
    let secret = secret_of(&page);
    let res = submit_enrolment(
        &app,
        &app.browser,
        &page,
        "/login",
        &totp_now(&app, &secret),
    )
    .await;
    let page = res.text().await.unwrap();
    assert_eq!(list_items(&page, "recovery-codes").len(), 10, "{page}");
    let res = post_step(&app, &app.browser, &page, &[]).await;
    let ticket = ticket_of(&res).expect("a ticket after enrolment");
    let x = app
        .cas_xml("/cas/p3/serviceValidate", SERVICE, &ticket)
        .await;
    assert_eq!(x.one("authnContextClass"), Some("urn:guichet:acr:mfa"));
    assert_eq!(x.one("isFromNewLogin"), Some("true"));
}
