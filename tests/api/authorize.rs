//! The authorization endpoint: errors shown as pages or sent back to the client, prompt and
//! max_age, consent, PKCE at the authorization request, response modes (CONFORMANCE B, D04).

use url::Url;

use crate::helpers::*;

const CB: &str = "https://rp.example/cb";

fn base<'a>(client: &'a str, challenge: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", client),
        ("redirect_uri", CB),
        ("scope", "openid"),
        ("state", "st8"),
        ("nonce", "n0"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
}

fn with<'a>(mut p: Vec<(&'a str, &'a str)>, k: &'a str, v: &'a str) -> Vec<(&'a str, &'a str)> {
    p.retain(|(n, _)| *n != k);
    p.push((k, v));
    p
}

fn without<'a>(mut p: Vec<(&'a str, &'a str)>, k: &str) -> Vec<(&'a str, &'a str)> {
    p.retain(|(n, _)| *n != k);
    p
}

/// An error page: 4xx HTML and no redirect anywhere.
async fn assert_error_page(res: reqwest::Response) {
    assert!(res.status().is_client_error(), "status {}", res.status());
    assert_html_no_redirect(&res, "error page");
}

/// An error sent back to the client: only error, error_description, state, iss (RFC 6749
/// §4.1.2.1, RFC 9207), description in the RFC character set.
fn assert_redirect_error(res: &reqwest::Response, app: &TestApp, error: &str, state: Option<&str>) {
    assert!(res.status().is_redirection(), "status {}", res.status());
    let cb = location(res);
    assert!(cb.as_str().starts_with(CB));
    assert_eq!(query_param(&cb, "error").as_deref(), Some(error));
    assert_eq!(query_param(&cb, "state").as_deref(), state);
    assert_eq!(
        query_param(&cb, "iss").as_deref(),
        Some(app.issuer.as_str())
    );
    assert!(query_param(&cb, "code").is_none());
    for (k, v) in cb.query_pairs() {
        assert!(
            ["error", "error_description", "state", "iss"].contains(&k.as_ref()),
            "{k}"
        );
        if k == "error_description" {
            assert!(v.bytes().all(|b| b == 0x20
                || b == 0x21
                || (0x23..=0x5b).contains(&b)
                || (0x5d..=0x7e).contains(&b)));
        }
    }
}

/// Alice signed in through a request of `c1`: the client and that request's challenge.
async fn alice_signed_in_to_c1(app: &TestApp) -> (TestClient, String) {
    app.create_user("alice").await;
    let client = app.create_client("c1", |_| {}).await;
    let (challenge, _) = pkce_pair();
    let cb = app
        .authorize_through(&base("c1", &challenge), "alice")
        .await;
    assert!(query_param(&cb, "code").is_some());
    (client, challenge)
}

#[tokio::test]
async fn a_valid_request_shows_the_login_form_and_the_code_comes_back_in_the_query() {
    let app = spawn_app().await;
    let (_, challenge) = alice_signed_in_to_c1(&app).await;
    // B01, B06, B07, B09: unknown parameters, reordered scopes, display/ui_locales/claims_locales.
    let mut p = base("c1", &challenge);
    p.push(("extra", "foobar"));
    p.push(("display", "popup"));
    p.push(("claims_locales", "se"));
    p.push(("acr_values", "1"));
    let p = with(p, "scope", "email openid");
    let res = app.authorize(&p).await;
    assert_eq!(res.status(), 302);
    let cb = location(&res);
    assert_eq!(cb.scheme(), "https");
    assert!(cb.fragment().is_none());
    assert_eq!(query_param(&cb, "state").as_deref(), Some("st8"));
    assert_eq!(
        query_param(&cb, "iss").as_deref(),
        Some(app.issuer.as_str())
    );
    assert_eq!(query_param(&cb, "code").map(|c| c.len()), Some(43));
}

#[tokio::test]
async fn client_and_redirect_uri_errors_are_pages_never_redirects() {
    let app = spawn_app().await;
    app.create_client("c1", |s| {
        s.redirect_uris = vec![CB.into(), "https://rp.example/q?foo=bar".into()];
    })
    .await;
    app.create_client("loop", |s| {
        s.public = true;
        s.redirect_uris = vec!["http://127.0.0.1/cb".into()];
    })
    .await;
    let (challenge, _) = pkce_pair();
    let ok = base("c1", &challenge);
    // B21 unknown client, missing client.
    assert_error_page(app.authorize(&with(ok.clone(), "client_id", "nope")).await).await;
    assert_error_page(app.authorize(&without(ok.clone(), "client_id")).await).await;
    // B18 missing redirect_uri (even with redirect URIs registered).
    assert_error_page(app.authorize(&without(ok.clone(), "redirect_uri")).await).await;
    // B17, B19, B20: anything but an exact registered URI.
    for bad in [
        "https://rp.example/cb/x",
        "https://rp.example/cb/",
        "https://RP.example/cb",
        "http://rp.example/cb",
        "https://rp.example:8443/cb",
        "https://rp.example@evil.example/cb",
        "https://rp.example/%63b",
        "https://rp.example/q?foo=baz",
        "https://rp.example/cb?foo=bar",
        "https://evil.example/cb",
    ] {
        let res = app.authorize(&with(ok.clone(), "redirect_uri", bad)).await;
        assert_error_page(res).await;
    }
    let res = app
        .authorize(&with(
            ok.clone(),
            "redirect_uri",
            "https://rp.example/q?foo=bar",
        ))
        .await;
    assert_eq!(res.status(), 200, "a registered query is matched exactly");
    // B22 repeated redirect_uri or client_id.
    let mut twice = ok.clone();
    twice.push(("redirect_uri", CB));
    assert_error_page(app.authorize(&twice).await).await;
    // RFC 8252 §7.3: a public loopback client may use any port; a confidential one may not.
    let mut lp = with(ok.clone(), "client_id", "loop");
    lp = with(lp, "redirect_uri", "http://127.0.0.1:49152/cb");
    assert_eq!(app.authorize(&lp).await.status(), 200);
    let lp = with(lp, "redirect_uri", "http://localhost:49152/cb");
    assert_error_page(app.authorize(&lp).await).await;
    // The error page is in the user's language.
    let res = app
        .authorize(&with(with(ok, "client_id", "nope"), "ui_locales", "en"))
        .await;
    let page = res.text().await.unwrap();
    assert!(page.contains("lang=\"en\"") && page.contains("not registered"));
}

#[tokio::test]
async fn other_errors_go_back_to_the_client_with_state_and_iss() {
    let app = spawn_app().await;
    app.create_client("c1", |_| {}).await;
    app.create_client("cc", |s| {
        s.grant_types = vec!["client_credentials".into()];
        s.redirect_uris = vec![CB.into()];
    })
    .await;
    let (challenge, _) = pkce_pair();
    let ok = base("c1", &challenge);
    // B03 missing response_type; B23 token / id_token.
    assert_redirect_error(
        &app.authorize(&without(ok.clone(), "response_type")).await,
        &app,
        "invalid_request",
        Some("st8"),
    );
    for rt in ["token", "id_token", "code id_token"] {
        let res = app.authorize(&with(ok.clone(), "response_type", rt)).await;
        assert_redirect_error(&res, &app, "unsupported_response_type", Some("st8"));
    }
    // A client without the authorization code grant.
    let res = app.authorize(&with(ok.clone(), "client_id", "cc")).await;
    assert_redirect_error(&res, &app, "unauthorized_client", Some("st8"));
    // B22 repeated state or scope.
    let mut twice = ok.clone();
    twice.push(("scope", "openid"));
    assert_redirect_error(
        &app.authorize(&twice).await,
        &app,
        "invalid_request",
        Some("st8"),
    );
    // D04 PKCE: plain, S512, no method (means plain), malformed challenge.
    for (k, v) in [
        ("code_challenge_method", "plain"),
        ("code_challenge_method", "S512"),
    ] {
        assert_redirect_error(
            &app.authorize(&with(ok.clone(), k, v)).await,
            &app,
            "invalid_request",
            Some("st8"),
        );
    }
    assert_redirect_error(
        &app.authorize(&without(ok.clone(), "code_challenge_method"))
            .await,
        &app,
        "invalid_request",
        Some("st8"),
    );
    assert_redirect_error(
        &app.authorize(&with(ok.clone(), "code_challenge", "short"))
            .await,
        &app,
        "invalid_request",
        Some("st8"),
    );
    // Request objects are not supported (H01).
    let res = app
        .authorize(&with(ok.clone(), "request", "eyJhbGciOiJub25lIn0.e30."))
        .await;
    assert_redirect_error(&res, &app, "request_not_supported", Some("st8"));
    let res = app
        .authorize(&with(
            ok.clone(),
            "request_uri",
            "https://rp.example/ro.jwt",
        ))
        .await;
    assert_redirect_error(&res, &app, "request_uri_not_supported", Some("st8"));
    // B13 prompt=none with another value; bad max_age; bad response_mode.
    assert_redirect_error(
        &app.authorize(&with(ok.clone(), "prompt", "none login"))
            .await,
        &app,
        "invalid_request",
        Some("st8"),
    );
    assert_redirect_error(
        &app.authorize(&with(ok.clone(), "max_age", "-1")).await,
        &app,
        "invalid_request",
        Some("st8"),
    );
    assert_redirect_error(
        &app.authorize(&with(ok.clone(), "response_mode", "fragment"))
            .await,
        &app,
        "invalid_request",
        Some("st8"),
    );
    // B11 prompt=none without a session.
    assert_redirect_error(
        &app.authorize(&with(ok.clone(), "prompt", "none")).await,
        &app,
        "login_required",
        Some("st8"),
    );
    // An invalid id_token_hint.
    assert_redirect_error(
        &app.authorize(&with(ok, "id_token_hint", "not.a.jwt")).await,
        &app,
        "invalid_request",
        Some("st8"),
    );
}

#[tokio::test]
async fn public_clients_must_send_a_pkce_challenge() {
    let app = spawn_app().await;
    app.create_client("pub", |s| s.public = true).await;
    let (challenge, _) = pkce_pair();
    let p = without(
        without(base("pub", &challenge), "code_challenge"),
        "code_challenge_method",
    );
    assert_redirect_error(
        &app.authorize(&p).await,
        &app,
        "invalid_request",
        Some("st8"),
    );
}

#[tokio::test]
async fn the_authorization_request_may_be_posted_and_is_answered_as_the_same_get() {
    // B08. The browser follows the 303 with a GET, which carries the SameSite=Lax cookie.
    let app = spawn_app().await;
    let (_, challenge) = alice_signed_in_to_c1(&app).await;
    let res = app
        .browser
        .post(app.url("/authorize"))
        .form(&base("c1", &challenge))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let again = res.headers()["location"].to_str().unwrap();
    assert!(again.starts_with("/authorize?"), "{again}");
    let res = app.browser.get(app.url(again)).send().await.unwrap();
    assert_eq!(res.status(), 302);
    assert_code_issued(&res);
}

#[tokio::test]
async fn a_posted_authorization_request_gets_a_303_to_the_get_form_of_the_same_parameters() {
    // Core §3.1.2.1 allows POST; a cross-site POST comes without the session cookie, so the
    // request is sent back as a GET, unparsed: order, repeats and odd characters kept.
    let app = spawn_app().await;
    let params = [
        ("response_type", "code"),
        ("client_id", "c1"),
        ("redirect_uri", CB),
        ("scope", "openid profile"),
        ("state", "a&b=c d/é+%"),
        ("prompt", "none"),
        ("scope", "repeated"),
    ];
    let res = bare_client()
        .post(app.url("/authorize"))
        .form(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(res.headers().get("set-cookie").is_none());
    let again = Url::parse(&app.url(res.headers()["location"].to_str().unwrap())).unwrap();
    assert_eq!(again.path(), "/authorize");
    let pairs: Vec<(String, String)> = again.query_pairs().into_owned().collect();
    let expected: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(pairs, expected);

    // A body that is not a form is still refused with the error page.
    let res = bare_client()
        .post(app.url("/authorize"))
        .header("content-type", "application/json")
        .body(r#"{"client_id":"c1"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_error_page(res).await;
}

#[tokio::test]
async fn a_signed_in_user_gets_codes_silently_with_prompt_none_and_the_id_token_hint() {
    // B12, B13, B16
    let app = spawn_app().await;
    let (client, challenge) = alice_signed_in_to_c1(&app).await;
    let tokens = app.code_flow_tokens(&client, "alice", "openid").await;
    let hint = tokens["id_token"].as_str().unwrap().to_owned();
    let p = with(
        with(base("c1", &challenge), "prompt", "none"),
        "id_token_hint",
        &hint,
    );
    let res = app.authorize(&p).await;
    assert_code_issued(&res);
    let res = app
        .authorize(&with(base("c1", &challenge), "max_age", "15000"))
        .await;
    assert_eq!(
        res.status(),
        302,
        "a recent sign-in satisfies a long max_age"
    );

    // A hint for another user while alice is signed in: login_required (B13).
    let bob = app.create_user("bob").await;
    let bob_browser = browser();
    let (bc, bv) = pkce_pair();
    let page = text_of(
        bob_browser
            .get(app.url("/authorize"))
            .query(&base("c1", &bc)),
    )
    .await;
    assert!(hidden(&page, "flow").is_some());
    let res = post_login(&app, &bob_browser, &page, "bob", PASSWORD).await;
    let code = query_param(&location(&res), "code").unwrap();
    let bob_tokens = redeem_ok(&app, &client, &code, &bv).await;
    let bob_hint = bob_tokens["id_token"].as_str().unwrap();
    assert_eq!(jwt_claims(bob_hint)["sub"], bob.as_str());
    let p = with(
        with(base("c1", &challenge), "prompt", "none"),
        "id_token_hint",
        bob_hint,
    );
    assert_redirect_error(
        &app.authorize(&p).await,
        &app,
        "login_required",
        Some("st8"),
    );
}

#[tokio::test]
async fn prompt_login_and_max_age_ask_for_the_password_again_and_move_auth_time() {
    // B14, B15
    let app = spawn_app().await;
    let (client, challenge) = alice_signed_in_to_c1(&app).await;
    let first = app.code_flow_tokens(&client, "alice", "openid").await;
    let t1 = jwt_claims(first["id_token"].as_str().unwrap())["auth_time"]
        .as_i64()
        .unwrap();

    app.clock.advance(5);
    for (k, v) in [("prompt", "login"), ("max_age", "1"), ("max_age", "0")] {
        let res = app.authorize(&with(base("c1", &challenge), k, v)).await;
        assert_eq!(res.status(), 200, "{k}={v} shows the login form");
        let page = res.text().await.unwrap();
        assert!(page.contains("name=\"password\""));
    }
    let (c, verifier) = pkce_pair();
    let cb = app
        .authorize_through(&with(base("c1", &c), "prompt", "login"), "alice")
        .await;
    let code = query_param(&cb, "code").unwrap();
    let tokens = redeem_ok(&app, &client, &code, &verifier).await;
    let t2 = jwt_claims(tokens["id_token"].as_str().unwrap())["auth_time"]
        .as_i64()
        .unwrap();
    assert!(t2 >= t1 + 5, "auth_time moved: {t1} -> {t2}");
}

#[tokio::test]
async fn third_party_clients_ask_consent_once_per_scope_set() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    let client = app.create_client("tp", |s| s.first_party = false).await;
    let (challenge, _) = pkce_pair();
    let p = base("tp", &challenge);

    // First time: login, then the consent page listing the scopes.
    let res = app.authorize(&p).await;
    let page = res.text().await.unwrap();
    let res = app.submit_login(&page, "alice", PASSWORD).await;
    assert_eq!(res.status(), 200);
    let consent = res.text().await.unwrap();
    assert!(consent.contains("name=\"decision\""));
    // The page's first POST form approves with hidden fields only.
    let first_form = consent.split("<form").nth(1).unwrap();
    assert!(first_form.contains("value=\"approve\""));
    assert!(!first_form.contains("type=\"text\""));

    // Deny → access_denied (B28).
    let res = app.submit_consent(&consent, false).await;
    assert_redirect_error(&res, &app, "access_denied", Some("st8"));

    // prompt=none without stored consent → consent_required.
    let res = app.authorize(&with(p.clone(), "prompt", "none")).await;
    assert_redirect_error(&res, &app, "consent_required", Some("st8"));

    // Approve: remembered, so the next request is silent.
    let res = app.authorize(&p).await;
    let consent = res.text().await.unwrap();
    let res = app.submit_consent(&consent, true).await;
    assert_eq!(res.status(), 303);
    assert_code_issued(&res);
    let res = app.authorize(&with(p.clone(), "prompt", "none")).await;
    assert_code_issued(&res);

    // New scopes or prompt=consent ask again.
    let res = app
        .authorize(&with(p.clone(), "scope", "openid email"))
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("name=\"decision\""));
    let res = app.authorize(&with(p.clone(), "prompt", "consent")).await;
    assert_eq!(res.status(), 200);

    // offline_access without consent is dropped, not an error.
    let tokens = {
        let (c, v) = pkce_pair();
        let res = app
            .authorize(&with(
                with(base("tp", &c), "scope", "openid offline_access"),
                "prompt",
                "none",
            ))
            .await;
        let code = query_param(&location(&res), "code").expect("silent code");
        redeem_ok(&app, &client, &code, &v).await
    };
    assert_eq!(tokens["scope"], "openid");
}

#[tokio::test]
async fn form_post_answers_with_an_auto_submitting_form_and_nothing_in_the_query() {
    // B26
    let app = spawn_app().await;
    let (_, challenge) = alice_signed_in_to_c1(&app).await;
    let res = app
        .authorize(&with(base("c1", &challenge), "response_mode", "form_post"))
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("location").is_none());
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let page = res.text().await.unwrap();
    assert!(
        page.contains(&format!("action=\"{CB}\""))
            || page.contains("action=\"https:&#x2F;&#x2F;rp.example&#x2F;cb\"")
    );
    assert_eq!(hidden(&page, "state").as_deref(), Some("st8"));
    assert_eq!(hidden(&page, "iss").as_deref(), Some(app.issuer.as_str()));
    assert_eq!(hidden(&page, "code").map(|c| c.len()), Some(43));
    assert!(page.contains("<noscript>"));
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    assert!(page.contains(&format!("nonce=\"{nonce}\"")));
    // Errors travel the same way.
    let res = app
        .authorize(&with(
            with(base("c1", &challenge), "response_mode", "form_post"),
            "response_type",
            "token",
        ))
        .await;
    let page = res.text().await.unwrap();
    assert_eq!(
        hidden(&page, "error").as_deref(),
        Some("unsupported_response_type")
    );
}

#[tokio::test]
async fn authorization_pages_cannot_be_framed_and_send_no_cors() {
    // B29
    let app = spawn_app().await;
    app.create_client("c1", |_| {}).await;
    let (challenge, _) = pkce_pair();
    let res = app
        .browser
        .get(app.url("/authorize"))
        .query(&base("c1", &challenge))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(res.headers()["referrer-policy"], "no-referrer");
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn an_anonymous_authorization_request_writes_nothing_to_the_store() {
    // The request travels in the login form; only a sign-in writes (the session).
    let store = guichet::ephemeral::MemoryStore::new(1000);
    let app = spawn_with_store(store.clone()).await;
    app.create_user("alice").await;
    app.create_client("c1", |_| {}).await;
    let (challenge, _) = pkce_pair();
    let res = app.authorize(&base("c1", &challenge)).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert_eq!(
        store.len(),
        0,
        "an anonymous GET /authorize stored something"
    );
    let res = app.submit_login(&page, "alice", "wrong password").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        store.len(),
        2,
        "a failed login counts against the account and takes a token of the address's bucket"
    );
    let res = app.submit_login(&page, "alice", PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        store.len(),
        4,
        "a sign-in stores the session and the code, uses up the login form and clears the \
         account's count (the address's bucket stays)"
    );
}

#[tokio::test]
async fn five_failed_sign_ins_lock_for_a_while_known_user_or_not() {
    // OWASP ASVS 6.3.1 (CONFORMANCE L07): temporary, with the same answer for an unknown login.
    let app = spawn_app().await;
    app.create_user("alice").await;
    app.create_user("bob").await;
    app.create_client("c1", |_| {}).await;
    let (challenge, _) = pkce_pair();
    let res = app.authorize(&base("c1", &challenge)).await;
    let page = res.text().await.unwrap();
    let mut answers = Vec::new();
    for login in ["alice", "nobody"] {
        for _ in 0..5 {
            let res = app.submit_login(&page, login, "wrong password").await;
            assert_eq!(res.status(), 200);
        }
        // Even the right password is refused now, with the same answer for both.
        let res = app.submit_login(&page, login, PASSWORD).await;
        assert_eq!(res.status(), 200, "{login}");
        assert!(
            res.headers()
                .get("set-cookie")
                .is_none_or(|c| !c.to_str().unwrap().contains("session"))
        );
        let text = res.text().await.unwrap();
        answers.push(notice_of(&text).expect("a notice"));
    }
    assert_eq!(
        answers[0], answers[1],
        "an unknown login locks like a known one"
    );
    assert!(answers[0].contains("bloqué"), "{}", answers[0]);
    // Another account is not affected.
    let res = app.submit_login(&page, "bob", PASSWORD).await;
    assert_eq!(res.status(), 303);
    // The lock passes (on a new login page: bob's sign-in used this one up).
    app.clock.advance(900);
    let other = browser();
    let page = login_page_from(&app, &other, &base("c1", &challenge)).await;
    let res = post_login(&app, &other, &page, "alice", PASSWORD).await;
    assert_eq!(res.status(), 303);
}

#[tokio::test]
async fn a_storm_of_sign_ins_beyond_the_hashing_queue_gets_503_with_retry_after() {
    // Two hashing slots (the harness's GUICHET_HASH_CONCURRENCY) and sixteen waiters at most:
    // sixty simultaneous password checks cannot all queue.
    let app = spawn_app().await;
    app.create_client("c1", |_| {}).await;
    let (challenge, _) = pkce_pair();
    let page = app
        .authorize(&base("c1", &challenge))
        .await
        .text()
        .await
        .unwrap();
    let csrf = hidden(&page, "csrf").unwrap();
    let mut jobs = Vec::new();
    for i in 0..60 {
        let browser = app.browser.clone();
        let url = app.url("/login");
        let csrf = csrf.clone();
        jobs.push(tokio::spawn(async move {
            let user = format!("user{i}");
            let res = browser
                .post(url)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("username", user.as_str()),
                    ("password", "x"),
                ])
                .send()
                .await
                .unwrap();
            (
                res.status().as_u16(),
                res.headers().get("retry-after").is_some(),
            )
        }));
    }
    let mut busy = 0;
    for j in jobs {
        match j.await.unwrap() {
            (200, _) => {}
            (503, true) => busy += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert!(busy > 0, "no request was turned away");
}
