//! An administrator in a real browser (headless Chromium over WebDriver, as in
//! `tests/api/browser.rs`): signs in to the console at `/admin`, enrolling an authenticator
//! app on the way (the console requires a second factor), creates an establishment, makes a
//! person a member with a right, and the membership reaches that person's ID token (a code
//! flow with the scope `establishments`). Each step is saved as
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
async fn an_administrator_signs_in_with_totp_creates_an_establishment_and_a_member_gets_it_in_the_id_token_in_a_real_browser()
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

async fn console_walk(browser: &Client) {
    let app = spawn_app().await;
    app.create_user("root").await;
    let root = find_user(&app, "root").await;
    admin(&app)
        .set_global_administrator(&root, true, app.clock.now())
        .await
        .unwrap();
    app.create_user("alice").await;

    // 1. The console asks for a sign-in; the password, then the enrolment it requires.
    browser.goto(&app.url("/admin")).await.unwrap();
    wait_for(browser, "the sign-in form", "input[name='username']").await;
    shot(browser, 1, "sign-in").await;
    sign_in_form(browser, "root", PASSWORD).await;
    wait_for(browser, "the enrolment step", "#totp-secret").await;
    shot(browser, 2, "enrol-totp").await;
    let secret = secret_of(&browser.source().await.unwrap());
    type_code(browser, &totp_now(&app, &secret)).await;
    wait_for(browser, "the recovery codes", "#recovery-codes").await;
    shot(browser, 3, "recovery-codes").await;
    submit_step(browser).await;
    wait_for(browser, "the console's home", "#admin-me").await;
    let url = browser.current_url().await.unwrap();
    assert_eq!(url.path(), "/admin");
    shot(browser, 4, "home").await;

    // 2. A new establishment with two rights.
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
    let code = wait_for(browser, "the establishment form", "input[name='code']").await;
    code.send_keys("UPEC").await.unwrap();
    for (name, value) in [
        ("name", "Université Paris-Est Créteil"),
        ("rights", "staff print"),
    ] {
        browser
            .find(Locator::Css(&format!("input[name='{name}']")))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    shot(browser, 5, "establishment-form").await;
    browser
        .find(Locator::Css(
            "form[action$='/admin/establishments'] button[type='submit']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_url(browser, "the establishment's page", |u| {
        u.path() == "/admin/establishments/UPEC"
    })
    .await;
    wait_for(browser, "the notice", "#admin-notice").await;
    shot(browser, 6, "establishment-created").await;

    // 3. alice joins with the right `staff`.
    let login = wait_for(browser, "the membership form", "#grant-login").await;
    login.send_keys("alice").await.unwrap();
    browser
        .find(Locator::Css("input[name='right'][value='staff']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    shot(browser, 7, "membership-form").await;
    browser
        .find(Locator::Css(
            "form[action$='/members'] button[type='submit']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(browser, "the members table", "#members").await;
    let members = browser.find(Locator::Id("members")).await.unwrap();
    assert!(members.text().await.unwrap().contains("alice"));
    shot(browser, 8, "member-added").await;

    // 4. The membership reaches alice's ID token.
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
