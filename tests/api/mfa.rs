//! Second factors through the real pages: enrolling an authenticator app or a phone from the
//! account page, signing in with a TOTP code, an SMS code read from the outbox or a recovery
//! code, replays refused, `amr`/`acr` in the ID token read by the `openidconnect` crate, the
//! policy that requires a second factor (per client, per category, by `acr_values`).

use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    PkceCodeChallenge, RedirectUrl, TokenResponse,
};

use crate::helpers::*;

const ACR_MFA: &str = "urn:guichet:acr:mfa";

/// A fresh browser at the second-factor page of a sign-in to the account page.
async fn code_page(app: &TestApp, login: &str) -> (reqwest::Client, String) {
    let http = browser();
    let page = text_of(http.get(app.url("/login"))).await;
    let res = post_login(app, &http, &page, login, PASSWORD).await;
    assert_eq!(res.status(), 200, "a second step, not a redirect");
    let page = res.text().await.unwrap();
    assert!(is_code_form(&page), "the second-factor page: {page}");
    assert!(!is_login_form(&page), "no password field on the code page");
    (http, page)
}

/// The token response for the code of a callback (no PKCE).
async fn tokens_plain(app: &TestApp, rp: &TestClient, cb: &url::Url) -> serde_json::Value {
    let res = redeem(app, rp, &query_param(cb, "code").unwrap(), None).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Signs in with `code` at the second-factor page; true if it led to the account page.
async fn code_signs_in(app: &TestApp, http: &reqwest::Client, page: &str, code: &str) -> bool {
    let res = post_code(app, http, page, code).await;
    res.status() == 303 && location(&res).path() == "/account"
}

#[tokio::test]
async fn an_enrolled_authenticator_app_is_asked_after_the_password_and_amr_says_so() {
    let app = spawn_app().await;
    let user_id = app.create_user("alice").await;
    let rp = app.create_client("rp1", |_| {}).await;
    let account = account_browser(&app, "alice").await;
    let (secret, codes) = enrol_totp(&app, &account).await;
    assert_eq!(codes.len(), 10, "ten recovery codes at the first enrolment");
    let home = text_of(account.get(app.url("/account"))).await;
    assert!(home.contains("Application d’authentification"), "{home}");
    assert!(home.contains("10"), "recovery codes left: {home}");

    // An off-the-shelf relying party.
    let http = openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.issuer.clone()).unwrap(), &http)
            .await
            .unwrap();
    let doc = json_of(
        app.browser
            .get(app.url("/.well-known/openid-configuration")),
    )
    .await;
    assert!(
        doc["acr_values_supported"]
            .as_array()
            .unwrap()
            .contains(&ACR_MFA.into())
    );
    assert!(
        doc["claims_supported"]
            .as_array()
            .unwrap()
            .contains(&"acr".into())
    );
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(rp.id.clone()),
        Some(ClientSecret::new(rp.secret.clone().unwrap())),
    )
    .set_redirect_uri(RedirectUrl::new(rp.redirect_uri.clone()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, _, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .url();

    let page = text_of(app.browser.get(auth_url.as_str())).await;
    let res = app.submit_login(&page, "alice", PASSWORD).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(is_code_form(&page), "{page}");
    assert!(page.contains("autocomplete=\"one-time-code\""));
    assert!(page.contains("App rp1"), "the application is named");
    // A wrong code: the same page again, with the reason.
    let res = post_code(&app, &app.browser, &page, "000000").await;
    assert_eq!(res.status(), 200);
    let again = res.text().await.unwrap();
    assert!(
        notice_of(&again).unwrap().contains("Code incorrect"),
        "{again}"
    );
    let res = post_code(&app, &app.browser, &again, &totp_now(&app, &secret)).await;
    assert_eq!(res.status(), 303);
    let cb = location(&res);
    assert!(cb.as_str().starts_with(&rp.redirect_uri), "{cb}");
    let code = query_param(&cb, "code").unwrap();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let id_token = tokens.id_token().unwrap();
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .unwrap();
    assert_eq!(claims.subject().as_str(), user_id);
    let amr: Vec<String> = claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|m| m.to_string())
        .collect();
    assert_eq!(amr, ["pwd", "otp", "mfa"]);
    assert_eq!(claims.auth_context_ref().map(|a| a.as_str()), Some(ACR_MFA));

    // The audit has the enrolment, the failed code and the good one.
    audit_kinds(
        &app,
        &[
            "mfa.enrolled",
            "mfa.failure",
            "mfa.success",
            "login.success",
        ],
    )
    .await;
}

#[tokio::test]
async fn a_totp_code_is_accepted_once_and_a_wrong_enrolment_code_stores_nothing() {
    let (app, _) = app_with_alice().await;
    let account = account_browser(&app, "alice").await;
    // A wrong code at enrolment: the page again, same secret, nothing enrolled.
    let page = text_of(account.get(app.url("/account/mfa/totp"))).await;
    let res = submit_enrolment(&app, &account, &page, "/account/mfa/totp", "123456").await;
    let again = res.text().await.unwrap();
    assert!(notice_of(&again).is_some(), "{again}");
    assert_eq!(
        secret_of(&again),
        secret_of(&page),
        "the same secret to scan"
    );
    let user = find_user(&app, "alice").await;
    assert!(app.core.db.factors_of(&user.id).await.unwrap().is_empty());
    // At rest, the secret is sealed: the database does not hold it in clear.
    let (secret, _) = enrol_totp(&app, &account).await;
    let stored = app.core.db.factors_of(&user.id).await.unwrap();
    let sealed = stored[0].secret.clone().unwrap();
    assert!(!sealed.contains(&guichet::crypto::otp::base32(&secret)));

    let code = totp_now(&app, &secret);
    let (first, page) = code_page(&app, "alice").await;
    assert!(code_signs_in(&app, &first, &page, &code).await);
    // The same code again, in another sign-in within its validity: refused.
    let (second, page) = code_page(&app, "alice").await;
    assert!(!code_signs_in(&app, &second, &page, &code).await);
    // The next step's code works.
    app.clock.advance(30);
    let (third, page) = code_page(&app, "alice").await;
    assert!(code_signs_in(&app, &third, &page, &totp_now(&app, &secret)).await);
}

#[tokio::test]
async fn a_recovery_code_signs_in_once_and_new_codes_replace_the_old() {
    let (app, _) = app_with_alice().await;
    let account = account_browser(&app, "alice").await;
    let (_, codes) = enrol_totp(&app, &account).await;
    let (http, page) = code_page(&app, "alice").await;
    // Typed in lower case with spaces: still the code.
    let typed = codes[0].to_lowercase().replace('-', " ");
    assert!(code_signs_in(&app, &http, &page, &typed).await);
    let (http, page) = code_page(&app, "alice").await;
    assert!(!code_signs_in(&app, &http, &page, &codes[0]).await, "used");
    let home = text_of(account.get(app.url("/account"))).await;
    assert!(
        element_text(&home, "recovery-left").unwrap().contains('9'),
        "{home}"
    );

    // New codes need the password; the old set stops working.
    let form = [
        ("csrf", hidden(&home, "csrf").unwrap()),
        ("password", "wrong".into()),
    ];
    let res = account
        .post(app.url("/account/recovery-codes"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(list_items(&res.text().await.unwrap(), "recovery-codes").is_empty());
    let form = [
        ("csrf", hidden(&home, "csrf").unwrap()),
        ("password", PASSWORD.into()),
    ];
    let res = account
        .post(app.url("/account/recovery-codes"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let fresh = list_items(&res.text().await.unwrap(), "recovery-codes");
    assert_eq!(fresh.len(), 10);
    let (http, page) = code_page(&app, "alice").await;
    assert!(
        !code_signs_in(&app, &http, &page, &codes[1]).await,
        "old set"
    );
    let (http, page) = code_page(&app, "alice").await;
    assert!(code_signs_in(&app, &http, &page, &fresh[1]).await);
}

#[tokio::test]
async fn an_sms_code_from_the_outbox_signs_in_with_three_tries_and_one_code_a_minute() {
    let (app, rp) = app_with_alice().await;
    let account = account_browser(&app, "alice").await;
    let codes = enrol_sms(&app, &account, "06 12 34 56 78", "+33612345678").await;
    assert_eq!(codes.len(), 10);
    let home = text_of(account.get(app.url("/account"))).await;
    assert!(
        home.contains("78") && !home.contains("612345678"),
        "masked: {home}"
    );

    // Only a phone: the code goes out as the password is accepted (the enrolment's SMS was
    // less than a minute ago, so move on first).
    app.clock.advance(61);
    let sent = outbox_sms(&app).len();
    let page = login_page(&app, &app.browser, &rp, &[]).await;
    let res = app.submit_login(&page, "alice", PASSWORD).await;
    let page = res.text().await.unwrap();
    assert!(is_code_form(&page), "{page}");
    assert_eq!(outbox_sms(&app).len(), sent + 1, "one SMS sent");
    let code = last_sms_code(&app, "+33612345678");
    // Another SMS within the minute is refused.
    let res = post_step(&app, &app.browser, &page, &[("action", "sms")]).await;
    let too_soon = res.text().await.unwrap();
    assert!(notice_of(&too_soon).unwrap().contains("moins d’une minute"));
    assert_eq!(outbox_sms(&app).len(), sent + 1);
    // Two wrong tries, then the right code: signed in with amr sms.
    for _ in 0..2 {
        let res = post_code(&app, &app.browser, &page, "000000").await;
        assert_eq!(res.status(), 200);
    }
    let res = post_code(&app, &app.browser, &page, &code).await;
    assert_eq!(res.status(), 303);
    let cb = location(&res);
    let tokens = tokens_plain(&app, &rp, &cb).await;
    let id = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["amr"], serde_json::json!(["pwd", "sms", "mfa"]));

    // Three wrong tries use a code up: the right one then fails too.
    app.clock.advance(61);
    let (http, page) = code_page(&app, "alice").await;
    let code = last_sms_code(&app, "+33612345678");
    for _ in 0..3 {
        assert!(!code_signs_in(&app, &http, &page, "000000").await);
    }
    assert!(!code_signs_in(&app, &http, &page, &code).await);
}

#[tokio::test]
async fn a_client_that_requires_mfa_takes_a_user_without_one_through_enrolment() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    let rp = app.create_client("secure", |s| s.require_mfa = true).await;
    let page = login_page(&app, &app.browser, &rp, &[]).await;
    let res = app.submit_login(&page, "alice", PASSWORD).await;
    let page = res.text().await.unwrap();
    assert!(
        element_text(&page, "totp-secret").is_some(),
        "enrolment: {page}"
    );
    let secret = secret_of(&page);
    let res = submit_enrolment(&app, &app.browser, &page, "/login", "000000").await;
    let page = res.text().await.unwrap();
    assert!(notice_of(&page).is_some(), "a wrong code: {page}");
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
    assert_eq!(res.status(), 303);
    let cb = location(&res);
    assert!(cb.as_str().starts_with(&rp.redirect_uri));
    let tokens = tokens_plain(&app, &rp, &cb).await;
    let id = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(id["acr"], ACR_MFA);
}

#[tokio::test]
async fn acr_values_ask_a_password_only_session_for_a_second_factor() {
    let (app, rp) = app_with_alice().await;
    // Signed in with the password before enrolling: the session's amr is pwd.
    let cb = app.authorize_through(&auth_params(&rp, &[]), "alice").await;
    let tokens = tokens_plain(&app, &rp, &cb).await;
    let id = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["acr"], "urn:guichet:acr:pwd");
    let account = account_browser(&app, "alice").await;
    let (secret, _) = enrol_totp(&app, &account).await;

    // Silent with the password-only session: fine without acr_values; refused with them.
    assert_eq!(prompt_none(&app, &rp).await, SIGNED_IN);
    let res = app
        .authorize(&auth_params(
            &rp,
            &[("acr_values", ACR_MFA), ("prompt", "none")],
        ))
        .await;
    assert_eq!(
        query_param(&location(&res), "error").as_deref(),
        Some("login_required")
    );
    // Interactive: signed in again, with the code this time.
    let res = app
        .authorize(&auth_params(&rp, &[("acr_values", ACR_MFA)]))
        .await;
    let page = res.text().await.unwrap();
    assert!(is_login_form(&page));
    let res = app.submit_login(&page, "alice", PASSWORD).await;
    let page = res.text().await.unwrap();
    let res = post_code(&app, &app.browser, &page, &totp_now(&app, &secret)).await;
    let cb = location(&res);
    let tokens = tokens_plain(&app, &rp, &cb).await;
    let id = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["acr"], ACR_MFA);
}

#[tokio::test]
async fn a_category_the_settings_name_must_enrol_and_others_need_not() {
    let app = spawn_with(Options {
        settings: Some(|s| s.mfa_required = "staff".into()),
        ..Options::default()
    })
    .await;
    app.create_user_with(guichet::domain::user::NewUser {
        login: "prof".into(),
        category: Some("staff".into()),
        ..Default::default()
    })
    .await;
    app.create_user_with(guichet::domain::user::NewUser {
        login: "etu".into(),
        category: Some("student".into()),
        ..Default::default()
    })
    .await;
    let http = browser();
    let page = text_of(http.get(app.url("/login"))).await;
    let res = post_login(&app, &http, &page, "prof", PASSWORD).await;
    let page = res.text().await.unwrap();
    assert!(element_text(&page, "totp-secret").is_some(), "{page}");
    account_browser(&app, "etu").await;
}

#[tokio::test]
async fn the_account_page_lists_factors_and_sign_ins_and_removes_a_factor_after_the_password() {
    let (app, _) = app_with_alice().await;
    let account = browser();
    let res = account.get(app.url("/account")).send().await.unwrap();
    assert_see_other(&res, "/login");
    let account = account_browser(&app, "alice").await;
    enrol_totp(&app, &account).await;
    audit_kinds(&app, &["login.success"]).await;
    let home = text_of(account.get(app.url("/account"))).await;
    assert_eq!(
        element_text(&home, "account-login").as_deref(),
        Some("alice")
    );
    assert!(home.contains("alice@example.org"));
    assert!(home.contains("127.0.0.1"), "recent sign-ins: {home}");
    assert!(home.contains("logout/confirm"), "a sign-out button");

    let remove = |password: &'static str| {
        let csrf = hidden(&home, "csrf").unwrap();
        let account = account.clone();
        let url = app.url("/account/mfa/remove");
        async move {
            account
                .post(url)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("kind", "totp"),
                    ("password", password),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let res = remove("not it").await;
    assert_eq!(res.status(), 200);
    assert!(notice_of(&res.text().await.unwrap()).is_some());
    let user = find_user(&app, "alice").await;
    assert_eq!(app.core.db.factors_of(&user.id).await.unwrap().len(), 1);
    let res = remove(PASSWORD).await;
    assert_see_other(&res, "/account");
    assert!(app.core.db.factors_of(&user.id).await.unwrap().is_empty());
    // No factor left: the password alone signs in again.
    account_browser(&app, "alice").await;
}

#[tokio::test]
async fn skipping_the_code_step_gives_no_session_and_acr_is_one_the_client_asked_for() {
    // CONFORMANCE L15: after the password alone, nothing is signed in.
    let (app, rp) = app_with_alice().await;
    let account = account_browser(&app, "alice").await;
    let (secret, _) = enrol_totp(&app, &account).await;
    let page = login_page(&app, &app.browser, &rp, &[]).await;
    let res = app.submit_login(&page, "alice", PASSWORD).await;
    assert!(
        res.headers()
            .get("set-cookie")
            .is_none_or(|c| { !c.to_str().unwrap().contains("session") })
    );
    let code_page = res.text().await.unwrap();
    assert!(is_code_form(&code_page));
    let res = app.browser.get(app.url("/account")).send().await.unwrap();
    assert_see_other(&res, "/login");
    assert_eq!(prompt_none(&app, &rp).await, "login_required");
    // A code page's flow cannot be posted as a password step either.
    let res = post_login(&app, &app.browser, &code_page, "alice", PASSWORD).await;
    assert_ne!(res.status(), 303);

    // CONFORMANCE B10: with acr_values, the ID token's acr is one that was asked for.
    let res = post_code(&app, &app.browser, &code_page, &totp_now(&app, &secret)).await;
    assert_eq!(res.status(), 303);
    let cb = app
        .authorize_through(
            &auth_params(&rp, &[("acr_values", "urn:guichet:acr:pwd")]),
            "alice",
        )
        .await;
    let id = jwt_claims(
        tokens_plain(&app, &rp, &cb).await["id_token"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(id["acr"], "urn:guichet:acr:pwd");
    assert_eq!(id["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
}

#[tokio::test]
async fn with_a_factor_enrolled_adding_another_asks_for_the_password_and_none_is_swapped() {
    let (app, _) = app_with_alice().await;
    let account = account_browser(&app, "alice").await;
    let (secret, _) = enrol_totp(&app, &account).await;
    let user = find_user(&app, "alice").await;
    let stored = app.core.db.factors_of(&user.id).await.unwrap()[0].clone();

    // The TOTP page sends back to the account: one app at a time, removed first.
    let res = account
        .get(app.url("/account/mfa/totp"))
        .send()
        .await
        .unwrap();
    assert_see_other(&res, "/account");
    // A phone needs the password, even from a signed-in session.
    let page = text_of(account.get(app.url("/account/mfa/sms"))).await;
    assert!(page.contains("name=\"password\""), "{page}");
    let form = [
        ("csrf", hidden(&page, "csrf").unwrap()),
        ("phone", "+33 6 11 22 33 44".to_owned()),
        ("password", "not the password".to_owned()),
    ];
    let res = account
        .post(app.url("/account/mfa/sms"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(notice_of(&res.text().await.unwrap()).is_some());
    assert!(outbox_sms(&app).is_empty(), "no SMS without the password");
    let codes = enrol_sms(&app, &account, "+33 6 11 22 33 44", "+33611223344").await;
    assert!(
        codes.is_empty(),
        "the recovery codes were given at the first factor"
    );

    // An enrolment POST of another secret, with the password, does not replace the app.
    let setup = guichet::service::mfa::totp_setup(&app.core, &user, app.clock.now()).unwrap();
    let page = format!(
        "<input name=\"csrf\" value=\"{}\"><input name=\"enrolment\" value=\"{}\">\
         <input name=\"password\">",
        hidden(&page, "csrf").unwrap(),
        setup.enrolment
    );
    let other = totp_rs::Secret::Encoded(setup.secret.clone())
        .to_bytes()
        .unwrap();
    submit_enrolment(
        &app,
        &account,
        &page,
        "/account/mfa/totp",
        &totp_now(&app, &other),
    )
    .await;
    let now_stored = app.core.db.factors_of(&user.id).await.unwrap();
    let totp = now_stored
        .iter()
        .find(|f| f.kind == guichet::domain::mfa::FactorKind::Totp)
        .unwrap();
    assert_eq!(
        totp.secret, stored.secret,
        "the enrolled app was not swapped"
    );
    let (http, page) = code_page(&app, "alice").await;
    assert!(code_signs_in(&app, &http, &page, &totp_now(&app, &secret)).await);
}

#[tokio::test]
async fn a_factor_reset_during_a_sign_in_stops_its_code_at_once() {
    let (app, _) = app_with_alice().await;
    let account = account_browser(&app, "alice").await;
    let (secret, _) = enrol_totp(&app, &account).await;
    // Past the password, at the code page: then the help desk resets the lost phone.
    let (http, page) = code_page(&app, "alice").await;
    let user = find_user(&app, "alice").await;
    admin(&app).mfa_reset(&user, app.clock.now()).await.unwrap();
    assert!(!code_signs_in(&app, &http, &page, &totp_now(&app, &secret)).await);
}
