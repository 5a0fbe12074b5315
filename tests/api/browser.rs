//! A person in a real browser: headless Chromium, driven over WebDriver by a `chromedriver` this
//! test starts, signs in, consents, comes back to a relying party of the test's own, keeps SSO
//! across an authorization request POSTed from another site, logs out back to that party, then
//! enrols an authenticator app from the account page (its QR code on a screenshot) and signs
//! in again with the password and a TOTP code.
//! Each page is saved as `target/screenshots/browser-<step>.png`. A second journey activates a
//! new account, one screenshot per step (`browser-activation-<n>-<step>.png`). A third signs in
//! at an OpenID Connect client, opens a CAS service without signing in again, and logs out of
//! both at once (`browser-sso-<n>-<step>.png`).
//!
//! Without `chromedriver` on the PATH the test passes with a notice, unless
//! `GUICHET_TEST_BROWSER` is set (CI sets it): then it fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::Html;
use axum::routing::get;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use url::Url;

use crate::helpers::*;

/// How long one step (a page to appear, a navigation to end) may take.
pub(crate) const STEP: Duration = Duration::from_secs(20);
/// How long the whole journey may take.
const JOURNEY: Duration = Duration::from_secs(180);

#[tokio::test]
async fn a_person_signs_in_consents_keeps_sso_across_a_cross_site_post_and_logs_out_in_a_real_browser()
 {
    let Some(bin) = chromedriver() else {
        if std::env::var_os("GUICHET_TEST_BROWSER").is_some_and(|v| !v.is_empty()) {
            panic!(
                "GUICHET_TEST_BROWSER is set but no chromedriver is on the PATH: install \
                 Debian's chromium and chromium-driver (as .ci/run does)"
            );
        }
        println!(
            "browser test skipped: chromedriver is missing (install chromium and \
             chromium-driver; GUICHET_TEST_BROWSER=1 makes its absence a failure)"
        );
        return;
    };
    // Declared first, dropped last: Chromium's profile outlives the driver that uses it.
    let profile = tempfile::tempdir().unwrap();
    let driver = Driver::start(&bin).await;
    let browser = connect(&driver, profile.path()).await;

    let journey = tokio::time::timeout(JOURNEY, journey(&browser)).await;
    // The session ends (and Chromium with it) whatever happened; the driver's guard does the
    // rest if this panics.
    let _ = browser.close().await;
    journey.unwrap_or_else(|_| panic!("the browser journey took more than {JOURNEY:?}"));
    drop(driver);
}

async fn journey(browser: &Client) {
    let app = spawn_app().await;
    app.create_user("alice").await;
    let mut rp = Rp::bind().await;
    // guichet is http://127.0.0.1:PORT; the relying party answers on 127.0.0.1 and, as another
    // site for the browser, on localhost.
    let callback = rp.url("127.0.0.1", "/cb");
    let other_site_callback = rp.url("localhost", "/cb");
    let bye = rp.url("127.0.0.1", "/bye");
    let client = app
        .create_client("rp", |c| {
            c.name = Some("Médiathèque".into());
            c.first_party = false;
            c.redirect_uris = vec![callback.clone(), other_site_callback.clone()];
            c.post_logout_redirect_uris = vec![bye.clone()];
        })
        .await;
    rp.serve(&app, &client.id, &other_site_callback);

    // 1. The authorization request shows the login form.
    let authorize = |redirect_uri: &str, state: &str, extra: &[(&str, &str)]| {
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", client.id.as_str()),
            ("redirect_uri", redirect_uri),
            ("scope", "openid profile"),
            ("state", state),
            ("nonce", "n-browser"),
        ];
        params.extend_from_slice(extra);
        Url::parse_with_params(&app.url("/authorize"), &params).unwrap()
    };
    browser
        .goto(authorize(&callback, "st-browser", &[]).as_str())
        .await
        .unwrap();
    let username = wait_for(browser, "the login form", "input[name='username']").await;
    screenshot(browser, "login").await;
    username.send_keys("alice").await.unwrap();
    browser
        .find(Locator::Css("input[name='password']"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    browser
        .find(Locator::Css("form button[type='submit']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // 2. A third-party client: the consent page names it.
    let approve = wait_for(
        browser,
        "the consent page",
        "input[name='decision'][value='approve'] ~ button",
    )
    .await;
    let page = browser.source().await.unwrap();
    assert!(page.contains("Médiathèque"), "the consent page: {page}");
    screenshot(browser, "consent").await;
    approve.click().await.unwrap();

    // 3. Back at the relying party with code, state and iss (RFC 9207).
    let cb = wait_for_url(browser, "the callback", |u| {
        u.host_str() == Some("127.0.0.1") && u.path() == "/cb"
    })
    .await;
    screenshot(browser, "callback").await;
    let code = query_param(&cb, "code").unwrap_or_else(|| panic!("no code in {cb}"));
    assert_eq!(query_param(&cb, "state").as_deref(), Some("st-browser"));
    assert_eq!(
        query_param(&cb, "iss").as_deref(),
        Some(app.issuer.as_str())
    );
    assert_eq!(query_param(&cb, "error"), None);
    // The relying party's page shows what it received.
    let shown = browser.find(Locator::Id("code")).await.unwrap();
    assert_eq!(shown.text().await.unwrap(), code);
    let res = app
        .token(
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", callback.as_str()),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "the code from the browser is redeemed");

    // 4. Interop: an authorization request POSTed from another site (the party on localhost).
    // The SameSite=Lax cookie stays out of that POST; guichet's 303 to the same request as a GET
    // brings it back, so prompt=none gets a code, not login_required.
    browser.goto(&rp.url("localhost", "/start")).await.unwrap();
    let go = wait_for(browser, "the relying party's form", "form button").await;
    screenshot(browser, "cross-site-post").await;
    go.click().await.unwrap();
    let cb = wait_for_url(browser, "the callback after the cross-site POST", |u| {
        u.host_str() == Some("localhost") && u.path() == "/cb"
    })
    .await;
    screenshot(browser, "cross-site-callback").await;
    assert_eq!(
        query_param(&cb, "error"),
        None,
        "SSO lost on the cross-site POST: {cb}"
    );
    assert!(query_param(&cb, "code").is_some(), "no code in {cb}");
    assert_eq!(query_param(&cb, "state").as_deref(), Some("st-post"));
    assert_eq!(
        query_param(&cb, "iss").as_deref(),
        Some(app.issuer.as_str())
    );

    // 5. Interop: logout with client_id and the party's registered address, without a hint
    // (RP-Initiated Logout 1.0 §2-3): a confirmation without the "not registered" notice, then
    // back to the party with the state.
    let logout = Url::parse_with_params(
        &app.url("/logout"),
        &[
            ("client_id", client.id.as_str()),
            ("post_logout_redirect_uri", bye.as_str()),
            ("state", "bye-browser"),
        ],
    )
    .unwrap();
    browser.goto(logout.as_str()).await.unwrap();
    let confirm = wait_for(
        browser,
        "the logout confirmation",
        "form[action$='/logout/confirm'] button",
    )
    .await;
    let notices = browser.find_all(Locator::Css(".error")).await.unwrap();
    assert!(notices.is_empty(), "the confirmation shows a notice");
    screenshot(browser, "logout-confirmation").await;
    confirm.click().await.unwrap();
    let back = wait_for_url(browser, "the party's post-logout page", |u| {
        u.host_str() == Some("127.0.0.1") && u.path() == "/bye"
    })
    .await;
    screenshot(browser, "logged-out").await;
    assert_eq!(query_param(&back, "state").as_deref(), Some("bye-browser"));

    // The session is over: prompt=none now answers login_required.
    browser
        .goto(authorize(&callback, "st-after", &[("prompt", "none")]).as_str())
        .await
        .unwrap();
    let cb = wait_for_url(browser, "the callback after logout", |u| {
        u.host_str() == Some("127.0.0.1") && u.path() == "/cb"
    })
    .await;
    assert_eq!(query_param(&cb, "error").as_deref(), Some("login_required"));

    // 6. The account page, through sign-in: an authenticator app is enrolled from its QR code.
    browser.goto(&app.url("/account")).await.unwrap();
    sign_in_form(browser, "alice", PASSWORD).await;
    let add = wait_for(browser, "the account page", "a[href$='/account/mfa/totp']").await;
    screenshot(browser, "account").await;
    add.click().await.unwrap();
    let secret = wait_for(browser, "the enrolment page", "#totp-secret").await;
    wait_for(browser, "the QR code", ".qr svg").await;
    screenshot(browser, "totp-enrolment").await;
    let secret = totp_rs::Secret::Encoded(secret.text().await.unwrap())
        .to_bytes()
        .unwrap();
    type_code(browser, &totp_now(&app, &secret)).await;
    wait_for(browser, "the recovery codes", "#recovery-codes li").await;
    screenshot(browser, "recovery-codes").await;

    // 7. Signing in again (prompt=login): the password, then the app's code.
    app.clock.advance(30);
    browser
        .goto(authorize(&callback, "st-mfa", &[("prompt", "login")]).as_str())
        .await
        .unwrap();
    sign_in_form(browser, "alice", PASSWORD).await;
    wait_for(browser, "the second-factor page", "input[name='code']").await;
    screenshot(browser, "second-factor").await;
    type_code(browser, &totp_now(&app, &secret)).await;
    let cb = wait_for_url(browser, "the callback after the second factor", |u| {
        u.host_str() == Some("127.0.0.1") && u.path() == "/cb"
    })
    .await;
    assert_eq!(query_param(&cb, "state").as_deref(), Some("st-mfa"));
    let code = query_param(&cb, "code").unwrap_or_else(|| panic!("no code in {cb}"));
    let res = app
        .token(
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", callback.as_str()),
            ],
        )
        .await;
    let tokens: serde_json::Value = res.json().await.unwrap();
    let id = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["amr"], json!(["pwd", "otp", "mfa"]));

    // 8. The self-service pages the login page leads to.
    browser.goto(&app.url("/reset")).await.unwrap();
    wait_for(browser, "the reset page", "input[name='username']").await;
    screenshot(browser, "reset").await;
    browser.goto(&app.url("/recover")).await.unwrap();
    wait_for(
        browser,
        "the recovery page",
        "select[name='identifier_kind']",
    )
    .await;
    screenshot(browser, "recover").await;
}

/// The activation of a new account in a real browser, each step saved as
/// `target/screenshots/browser-activation-<n>-<step>.png`.
#[tokio::test]
async fn a_person_activates_their_account_step_by_step_in_a_real_browser() {
    let Some(bin) = chromedriver() else {
        assert!(
            std::env::var_os("GUICHET_TEST_BROWSER").is_none_or(|v| v.is_empty()),
            "GUICHET_TEST_BROWSER is set but no chromedriver is on the PATH"
        );
        println!("activation browser test skipped: chromedriver is missing");
        return;
    };
    let profile = tempfile::tempdir().unwrap();
    let driver = Driver::start(&bin).await;
    let browser = connect(&driver, profile.path()).await;
    let walk = tokio::time::timeout(JOURNEY, activation_walk(&browser)).await;
    let _ = browser.close().await;
    walk.unwrap_or_else(|_| panic!("the activation took more than {JOURNEY:?}"));
    drop(driver);
}

async fn activation_walk(browser: &Client) {
    const BACKUP: &str = "perso@example.net";
    const NEW: &str = "un tout nouveau mot de passe";
    let app = spawn_app().await;
    app.create_user_with(guichet::domain::user::NewUser {
        login: "camille.durand".into(),
        email: Some("camille.durand@univ.example.org".into()),
        must_change_password: true,
        ..Default::default()
    })
    .await;
    browser.goto(&app.url("/activate")).await.unwrap();
    fill_step(browser, "1-identifier", &[("username", "camille.durand")]).await;
    fill_step(browser, "2-temporary-password", &[("password", PASSWORD)]).await;
    fill_step(browser, "3-backup-address", &[("email", BACKUP)]).await;
    wait_for(browser, "the mailed-link page", "#activate-mailed").await;
    screenshot(browser, "activation-4-link-mailed").await;
    let mail = wait_for_mail(&app, BACKUP, 1).await;
    browser
        .goto(&link_in(&app, &mail, "/activate/verify?token="))
        .await
        .unwrap();
    wait_for(browser, "the charter", "#charter").await;
    screenshot(browser, "activation-5-charter").await;
    browser
        .find(Locator::Css("#accept"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    submit_step(browser).await;
    fill_step(browser, "6-redirection", &[("redirect_email", "")]).await;
    fill_step(
        browser,
        "7-new-password",
        &[("new_password", NEW), ("confirm_password", NEW)],
    )
    .await;
    let done = wait_for(browser, "the confirmation", "#done-login").await;
    assert_eq!(done.text().await.unwrap(), "camille.durand");
    screenshot(browser, "activation-8-done").await;
}

/// One SSO session for both protocols, in a real browser: signed in at an OpenID Connect
/// client, the person opens a CAS service without signing in again; one logout (at CAS) ends
/// the session for both, and each application is told on its back channel. Each page is saved
/// as `target/screenshots/browser-sso-<n>-<step>.png`.
#[tokio::test]
async fn a_person_signed_in_at_an_oidc_client_opens_a_cas_service_without_signing_in_again_and_one_logout_ends_both()
 {
    let Some(bin) = chromedriver() else {
        assert!(
            std::env::var_os("GUICHET_TEST_BROWSER").is_none_or(|v| v.is_empty()),
            "GUICHET_TEST_BROWSER is set but no chromedriver is on the PATH"
        );
        println!("cross-protocol browser test skipped: chromedriver is missing");
        return;
    };
    let profile = tempfile::tempdir().unwrap();
    let driver = Driver::start(&bin).await;
    let browser = connect(&driver, profile.path()).await;
    let walk = tokio::time::timeout(JOURNEY, cross_protocol_walk(&browser)).await;
    let _ = browser.close().await;
    walk.unwrap_or_else(|_| panic!("the cross-protocol journey took more than {JOURNEY:?}"));
    drop(driver);
}

async fn cross_protocol_walk(browser: &Client) {
    let app = spawn_app().await;
    app.create_user("alice").await;
    // The relying party: its callback page, and its back channel for logout tokens.
    let rp = Receiver::start().await;
    let callback = rp.url("/cb");
    let bcl = rp.url("/bcl");
    let client = app
        .create_client("rp", |c| {
            c.redirect_uris = vec![callback.clone()];
            c.backchannel_logout_uri = Some(bcl);
        })
        .await;
    // The CAS service: its landing page, where single logout's LogoutRequest is posted too.
    let cas_app = Receiver::start().await;
    app.create_cas_service(&cas_app.url("/"), |s| {
        s.pattern_kind = guichet::domain::cas::PatternKind::Prefix;
    })
    .await;
    let service = cas_app.url("/portal/");
    let authorize = |state: &str, extra: &[(&str, &str)]| {
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", client.id.as_str()),
            ("redirect_uri", callback.as_str()),
            ("scope", "openid"),
            ("state", state),
        ];
        params.extend_from_slice(extra);
        Url::parse_with_params(&app.url("/authorize"), &params).unwrap()
    };
    let cas_login = Url::parse_with_params(&app.url("/cas/login"), &[("service", &service)])
        .unwrap()
        .to_string();

    // 1. Signed in at the OpenID Connect client through the login page.
    let (challenge, verifier) = pkce_pair();
    browser
        .goto(
            authorize(
                "st-sso",
                &[
                    ("code_challenge", &challenge),
                    ("code_challenge_method", "S256"),
                ],
            )
            .as_str(),
        )
        .await
        .unwrap();
    wait_for(browser, "the login form", "input[name='username']").await;
    screenshot(browser, "sso-1-login").await;
    sign_in_form(browser, "alice", PASSWORD).await;
    let cb = wait_for_url(browser, "the relying party's callback", |u| {
        u.port() == Some(rp.port) && u.path() == "/cb"
    })
    .await;
    wait_for(browser, "the callback page", "#code").await;
    screenshot(browser, "sso-2-oidc-callback").await;
    let code = query_param(&cb, "code").unwrap_or_else(|| panic!("no code in {cb}"));
    let tokens = redeem_ok(&app, &client, &code, &verifier).await;
    let id = jwt_claims(&id_token(&tokens));

    // 2. The CAS service opens at once: a ticket, no login form.
    browser.goto(&cas_login).await.unwrap();
    let landed = wait_for_url(browser, "the CAS service", |u| {
        u.port() == Some(cas_app.port) && u.path() == "/portal/"
    })
    .await;
    let shown = wait_for(browser, "the service's page", "#ticket").await;
    screenshot(browser, "sso-3-cas-service").await;
    let ticket = query_param(&landed, "ticket").unwrap_or_else(|| panic!("no ticket: {landed}"));
    assert!(ticket.starts_with("ST-"), "{ticket}");
    assert_eq!(shown.text().await.unwrap(), ticket);
    let (status, body) = app
        .cas_get(
            "/cas/p3/serviceValidate",
            &[("service", service.as_str()), ("ticket", ticket.as_str())],
        )
        .await;
    assert_eq!(status, 200);
    let xml = parse_xml(&body);
    assert_eq!(xml.outcome, "authenticationSuccess", "{body}");
    assert_eq!(xml.one("user"), Some("alice"));

    // 3. One logout, at CAS.
    browser.goto(&app.url("/cas/logout")).await.unwrap();
    wait_for(browser, "the logged-out page", "body").await;
    screenshot(browser, "sso-4-logged-out").await;

    // Both applications are told on their back channels.
    let posts = rp.wait_for(1, STEP).await;
    assert_eq!(posts[0].path, "/bcl");
    let token = posts[0].form("logout_token").expect("a logout token");
    assert_eq!(jwt_header(&token)["typ"], "logout+jwt");
    let claims = jwt_claims(&token);
    assert_eq!(claims["aud"], "rp");
    assert_eq!(claims["sid"], id["sid"]);
    assert_eq!(claims["sub"], id["sub"]);
    let posts = cas_app.wait_for(1, STEP).await;
    assert_eq!(posts[0].path, "/portal/");
    let slo = posts[0]
        .form("logoutRequest")
        .expect("a SAML LogoutRequest");
    assert!(
        slo.contains(&format!(
            "<samlp:SessionIndex>{ticket}</samlp:SessionIndex>"
        )),
        "{slo}"
    );

    // 4. Both sessions are over: CAS asks to sign in, prompt=none answers login_required.
    browser.goto(&cas_login).await.unwrap();
    wait_for(browser, "the login form again", "input[name='username']").await;
    screenshot(browser, "sso-5-cas-login-again").await;
    browser
        .goto(authorize("st-after", &[("prompt", "none")]).as_str())
        .await
        .unwrap();
    let cb = wait_for_url(browser, "the callback after logout", |u| {
        u.port() == Some(rp.port) && u.path() == "/cb"
    })
    .await;
    screenshot(browser, "sso-6-login-required").await;
    assert_eq!(query_param(&cb, "error").as_deref(), Some("login_required"));
}

/// Waits for the step's fields, saves the page, types `fields` and submits.
async fn fill_step(browser: &Client, step: &str, fields: &[(&str, &str)]) {
    for (i, (name, value)) in fields.iter().enumerate() {
        let field = wait_for(browser, step, &format!("input[name='{name}']")).await;
        if i == 0 {
            screenshot(browser, &format!("activation-{step}")).await;
        }
        if value.is_empty() {
            field.clear().await.unwrap();
        } else {
            field.send_keys(value).await.unwrap();
        }
    }
    submit_step(browser).await;
}

pub(crate) async fn submit_step(browser: &Client) {
    browser
        .find(Locator::Css("form button[type='submit']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Fills and submits the login form once it shows.
pub(crate) async fn sign_in_form(browser: &Client, login: &str, password: &str) {
    let username = wait_for(browser, "the login form", "input[name='username']").await;
    username.send_keys(login).await.unwrap();
    browser
        .find(Locator::Css("input[name='password']"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    browser
        .find(Locator::Css("form button[type='submit']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Types `code` in the page's `code` field and submits its form.
pub(crate) async fn type_code(browser: &Client, code: &str) {
    let field = wait_for(browser, "the code field", "input[name='code']").await;
    field.send_keys(code).await.unwrap();
    browser
        .find(Locator::Css(
            "form:has(input[name='code']) button[type='submit']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// `chromedriver` on the PATH.
pub(crate) fn chromedriver() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromedriver"))
        .find(|p| p.is_file())
}

/// `chromedriver` as a child in a process group of its own. Dropping the guard kills the group
/// (the driver and any Chromium it started), also when the test panics.
pub(crate) struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    pub(crate) async fn start(bin: &Path) -> Driver {
        use std::os::unix::process::CommandExt;
        let port = free_port();
        let child = Command::new(bin)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{} did not start: {e}", bin.display()));
        let mut driver = Driver { child, port };
        driver.wait_ready().await;
        driver
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn wait_ready(&mut self) {
        let status = format!("{}/status", self.url());
        let deadline = Instant::now() + STEP;
        loop {
            if let Ok(Some(exit)) = self.child.try_wait() {
                panic!("chromedriver exited at start: {exit}");
            }
            if let Ok(res) = reqwest::get(&status).await
                && res.status().is_success()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver not ready at {status}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium session with a throw-away profile.
pub(crate) async fn connect(driver: &Driver, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-dev-shm-usage",
                "--window-size=1024,768",
                "--no-first-run",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url())
        .await
        .unwrap_or_else(|e| panic!("no Chromium session through chromedriver: {e}"))
}

/// The first element matching `css`, once it is there.
pub(crate) async fn wait_for(
    browser: &Client,
    what: &str,
    css: &str,
) -> fantoccini::elements::Element {
    match browser
        .wait()
        .at_most(STEP)
        .for_element(Locator::Css(css))
        .await
    {
        Ok(e) => e,
        Err(e) => {
            let url = browser.current_url().await.map(String::from);
            let page = browser.source().await.unwrap_or_default();
            panic!("{what} ({css}) did not appear: {e}; at {url:?}: {page}");
        }
    }
}

/// The browser's URL once `ok` holds for it.
pub(crate) async fn wait_for_url(browser: &Client, what: &str, ok: impl Fn(&Url) -> bool) -> Url {
    let deadline = Instant::now() + STEP;
    loop {
        let url = browser.current_url().await.unwrap();
        if ok(&url) {
            return url;
        }
        if Instant::now() > deadline {
            let page = browser.source().await.unwrap_or_default();
            panic!("{what}: the browser is still at {url}: {page}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Saves the page as `target/screenshots/browser-<step>.png`.
pub(crate) async fn screenshot(browser: &Client, step: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = browser.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("browser-{step}.png")), png).unwrap();
}

/// The test's relying party: echoes what comes back to its callback and post-logout pages, and
/// serves a page whose form POSTs an authorization request to guichet.
struct Rp {
    listener: Option<tokio::net::TcpListener>,
    port: u16,
}

impl Rp {
    async fn bind() -> Rp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        Rp {
            listener: Some(listener),
            port,
        }
    }

    fn url(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.port)
    }

    /// Starts serving; `/start` POSTs a `prompt=none` request for `client_id` to `app`.
    fn serve(&mut self, app: &TestApp, client_id: &str, redirect_uri: &str) {
        let fields = [
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("scope", "openid profile"),
            ("state", "st-post"),
            ("nonce", "n-post"),
            ("prompt", "none"),
        ]
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(k),
                escape(v)
            )
        })
        .collect::<String>();
        let start_page = page(
            "Relying party",
            &format!(
                "<p>Sign in through guichet (a form POSTed from this site).</p>\
                 <form method=\"post\" action=\"{}\">{fields}\
                 <button type=\"submit\">Continue with guichet</button></form>",
                escape(&app.url("/authorize"))
            ),
        );
        let router = Router::new()
            .route(
                "/start",
                get(|State(start): State<String>| async move { Html(start) }),
            )
            .route(
                "/cb",
                get(|RawQuery(q): RawQuery| async move { echo("Relying party: callback", q) }),
            )
            .route(
                "/bye",
                get(|RawQuery(q): RawQuery| async move { echo("Relying party: signed out", q) }),
            )
            .with_state(start_page);
        // Bound in `bind`, so that the port was known when the client was registered.
        let listener = self.listener.take().expect("the relying party serves once");
        tokio::spawn(async move { axum::serve(listener, router).await });
    }
}

/// A page listing the query's parameters, each value under the id of its name.
fn echo(title: &str, query: Option<String>) -> Html<String> {
    let rows = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .map(|(k, v)| {
            format!(
                "<dt>{}</dt><dd id=\"{}\">{}</dd>",
                escape(&k),
                escape(&k),
                escape(&v)
            )
        })
        .collect::<String>();
    Html(page(title, &format!("<dl>{rows}</dl>")))
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:sans-serif;margin:2em}}dd{{font-family:monospace;\
         word-break:break-all;margin-bottom:.5em}}</style></head>\
         <body><h1>{t}</h1>{body}</body></html>",
        t = escape(title)
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
