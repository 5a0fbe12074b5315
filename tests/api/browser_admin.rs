//! An administrator in a real browser (headless Chromium over WebDriver, as in
//! `tests/api/browser.rs`): creates their account from the first administrator's set-up link,
//! signs in to the console at `/admin`, enrolling an authenticator app on the way (the console
//! requires a second factor), creates an establishment and invites a person into it; the
//! person creates their account from the link in the outbox, and the membership reaches their
//! ID token (a code flow with the scope `establishments`). Each step is saved as
//! `target/screenshots/browser-admin-<n>-<step>.png`.
//!
//! Gated like `tests/api/browser.rs`: without `chromedriver` the test passes with a notice,
//! unless `GUICHET_TEST_BROWSER` is set (CI sets it).

use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::json;

use crate::browser::{
    Driver, chromedriver, connect, screenshot, sign_in_form, submit_step, type_code, wait_for,
    wait_for_url,
};
use crate::helpers::*;

const JOURNEY: Duration = Duration::from_secs(180);

#[tokio::test]
async fn the_first_administrator_sets_up_signs_in_with_totp_creates_an_establishment_and_invites_a_person_whose_id_token_then_names_it_in_a_real_browser()
 {
    let Some(bin) = chromedriver() else {
        if std::env::var_os("GUICHET_TEST_BROWSER").is_some_and(|v| !v.is_empty()) {
            panic!(
                "GUICHET_TEST_BROWSER is set but no chromedriver is on the PATH: install \
                 Debian's chromium and chromium-driver (as .ci/run does)"
            );
        }
        println!("console browser test skipped: chromedriver is missing");
        return;
    };
    let profile = tempfile::tempdir().unwrap();
    let driver = Driver::start(&bin).await;
    let browser = connect(&driver, profile.path()).await;
    let journey = tokio::time::timeout(JOURNEY, console_walk(&browser)).await;
    let _ = browser.close().await;
    journey.unwrap_or_else(|_| panic!("the console journey took more than {JOURNEY:?}"));
    drop(driver);
}

/// Saves the page as `browser-admin-<n>-<step>`.
async fn shot(browser: &Client, n: u32, step: &str) {
    screenshot(browser, &format!("admin-{n}-{step}")).await;
}

/// Types `value` in the input named `name`.
async fn type_in(browser: &Client, name: &str, value: &str) {
    browser
        .find(Locator::Css(&format!("input[name='{name}']")))
        .await
        .unwrap()
        .send_keys(value)
        .await
        .unwrap();
}

/// Clicks the submit button of the form whose action ends with `action`.
async fn submit(browser: &Client, action: &str) {
    browser
        .find(Locator::Css(&format!(
            "form[action$='{action}'] button[type='submit']"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn console_walk(browser: &Client) {
    let app = spawn_app().await;

    // 1. The first administrator's set-up link (what `guichet serve` prints on an empty
    // database): the account form, then the console's sign-in.
    let (setup, _) = admin(&app)
        .setup_link(&app.issuer, app.clock.now())
        .await
        .unwrap();
    browser
        .goto(&setup.replacen(&app.issuer, &app.url(""), 1))
        .await
        .unwrap();
    wait_for(browser, "the set-up form", "input[name='login']").await;
    for (name, value) in [
        ("email", "root@example.org"),
        ("given_name", "Camille"),
        ("family_name", "Root"),
        ("login", "root"),
        ("new_password", PASSWORD),
        ("confirm_password", PASSWORD),
    ] {
        type_in(browser, name, value).await;
    }
    shot(browser, 1, "setup-link").await;
    submit_step(browser).await;
    wait_for(browser, "the account created", "#invitation-done").await;
    shot(browser, 2, "setup-done").await;

    // 2. The console asks for a sign-in; the password, then the enrolment it requires.
    browser.goto(&app.url("/admin")).await.unwrap();
    wait_for(browser, "the sign-in form", "input[name='username']").await;
    shot(browser, 3, "sign-in").await;
    sign_in_form(browser, "root", PASSWORD).await;
    wait_for(browser, "the enrolment step", "#totp-secret").await;
    shot(browser, 4, "enrol-totp").await;
    let secret = secret_of(&browser.source().await.unwrap());
    type_code(browser, &totp_now(&app, &secret)).await;
    wait_for(browser, "the recovery codes", "#recovery-codes").await;
    shot(browser, 5, "recovery-codes").await;
    submit_step(browser).await;
    wait_for(browser, "the console's home", "#admin-me").await;
    let url = browser.current_url().await.unwrap();
    assert_eq!(url.path(), "/admin");
    shot(browser, 6, "home").await;

    // 3. A new establishment with two rights.
    browser
        .find(Locator::Css("a[href$='/admin/establishments']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(browser, "the new-establishment link", "#new-establishment")
        .await
        .click()
        .await
        .unwrap();
    wait_for(browser, "the establishment form", "input[name='code']").await;
    type_in(browser, "code", "UPEC").await;
    type_in(browser, "name", "Université Paris-Est Créteil").await;
    type_in(browser, "rights", "staff print").await;
    shot(browser, 7, "establishment-form").await;
    submit(browser, "/admin/establishments").await;
    wait_for_url(browser, "the establishment's page", |u| {
        u.path() == "/admin/establishments/UPEC"
    })
    .await;
    wait_for(browser, "the notice", "#admin-notice").await;
    shot(browser, 8, "establishment-created").await;

    // 4. Alice is invited into UPEC with the right `staff`.
    browser
        .find(Locator::Css("a[href$='/admin/invitations']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(browser, "the invitation form", "#invite-form").await;
    type_in(browser, "given_name", "Alice").await;
    type_in(browser, "family_name", "Martin").await;
    type_in(browser, "email", "alice@example.org").await;
    type_in(browser, "rights", "staff").await;
    shot(browser, 9, "invitation-form").await;
    submit(browser, "/admin/invitations").await;
    // The form's page has the list too: the notice says the answer page is there.
    wait_for(browser, "the invitation's notice", "#admin-notice").await;
    let list = browser.find(Locator::Id("invitations")).await.unwrap();
    assert!(list.text().await.unwrap().contains("alice@example.org"));
    shot(browser, 10, "invitation-sent").await;

    // 5. Root signs out; alice opens the link from her mail and creates her account.
    submit(browser, "/logout/confirm").await;
    // The signed-out page first: a link opened while the form's answer is on its way would be
    // left for it.
    wait_for_url(browser, "the signed-out page", |u| {
        u.path() == "/logout/confirm"
    })
    .await;
    let mail = wait_for_mail(&app, "alice@example.org", 1).await;
    let link = link_in(&app, &mail, "/invitation/");
    browser.goto(&link).await.unwrap();
    wait_for(browser, "the invitation page", "#invitation-establishment").await;
    shot(browser, 11, "invitation-link").await;
    type_in(browser, "login", "alice").await;
    type_in(browser, "new_password", PASSWORD).await;
    type_in(browser, "confirm_password", PASSWORD).await;
    submit_step(browser).await;
    wait_for(browser, "the account created", "#invitation-done").await;
    shot(browser, 12, "invitation-accepted").await;

    // 6. The membership reaches alice's ID token.
    let client = app
        .create_client("rp1", |c| c.scopes.push("establishments".into()))
        .await;
    let tokens = app
        .code_flow_tokens(&client, "alice", "openid establishments")
        .await;
    let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(
        claims["establishments"],
        json!([{"code": "UPEC", "name": "Université Paris-Est Créteil", "rights": ["staff"]}])
    );
}
