//! The security of the SSO session: cookies, CSRF, security headers, languages and the login
//! page (CONFORMANCE L01–L06, L08, L16).

use guichet::domain::user::NewUser;
use reqwest::header::{COOKIE, LOCATION};
use scraper::{Html, Selector};
use serde_json::Value;

use crate::helpers::*;

/// The attributes of a `Set-Cookie` line, lower-cased, without the name=value pair.
fn cookie_attrs(line: &str) -> Vec<String> {
    line.split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect()
}

/// The session cookie value a sign-in set.
fn session_cookie(res: &reqwest::Response) -> String {
    let line = set_cookie(res, "guichet_session").expect("a session cookie is set");
    let v = cookie_value(&line);
    assert!(!v.is_empty());
    v
}

fn no_session_cookie_set(res: &reqwest::Response) -> bool {
    set_cookie(res, "guichet_session").is_none_or(|l| cookie_value(&l).is_empty())
}

#[tokio::test]
async fn each_sign_in_sets_a_new_session_cookie_and_the_old_one_no_longer_authenticates() {
    let (app, client) = app_with_alice().await;
    let first = sign_in(&app, &app.browser, &client, "alice", &[]).await;
    assert_eq!(first.status(), 303);
    let v1 = session_cookie(&first);
    let again = sign_in(&app, &app.browser, &client, "alice", &[("prompt", "login")]).await;
    assert_eq!(again.status(), 303);
    assert!(query_param(&location(&again), "code").is_some());
    let v2 = session_cookie(&again);
    assert_ne!(v1, v2);

    let replay = bare_client();
    let old = format!("guichet_session={v1}");
    let new = format!("guichet_session={v2}");
    assert_eq!(
        prompt_none_with(&app, &replay, &client, Some(&old)).await,
        "login_required"
    );
    assert_eq!(
        prompt_none_with(&app, &replay, &client, Some(&new)).await,
        SIGNED_IN
    );
    let login = |cookie: String| text_of(replay.get(app.url("/login")).header(COOKIE, cookie));
    assert!(login(old).await.contains("name=\"password\""));
    let page = login(new).await;
    assert!(!page.contains("name=\"password\""));
    assert!(page.contains("alice"));
}

#[tokio::test]
async fn after_logout_the_old_session_cookie_is_worthless() {
    let (app, client) = app_with_alice().await;
    let res = sign_in(&app, &app.browser, &client, "alice", &[]).await;
    let cookie = format!("guichet_session={}", session_cookie(&res));
    let code = query_param(&location(&res), "code").unwrap();
    let tokens: Value = redeem(&app, &client, &code, None)
        .await
        .json()
        .await
        .unwrap();
    let replay = bare_client();
    assert_eq!(
        prompt_none_with(&app, &replay, &client, Some(&cookie)).await,
        SIGNED_IN
    );

    let res = logout_with_hint(&app, str_of(&tokens, "id_token"), None).await;
    assert!(res.status().is_redirection());
    assert_eq!(
        prompt_none_with(&app, &replay, &client, Some(&cookie)).await,
        "login_required"
    );
    let page = text_of(replay.get(app.url("/login")).header(COOKIE, &cookie)).await;
    assert!(page.contains("name=\"password\""), "not signed out: {page}");
}

#[tokio::test]
async fn session_ids_are_long_random_and_unique() {
    let (app, client) = app_with_alice().await;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..4 {
        let res = sign_in(&app, &browser(), &client, "alice", &[]).await;
        let value = session_cookie(&res);
        // CAS §3.7: the ticket-granting cookie (this one) holds `[A-Za-z0-9-]` only.
        assert!(
            value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-'),
            "{value}"
        );
        let (sid, secret) = value.split_once('-').expect("sid-secret");
        for part in [sid, secret] {
            // At least 128 bits: 256 here, in hex.
            assert!(part.len() >= 32, "{part} is short");
        }
        assert!(seen.insert(sid.to_owned()), "sid {sid} reused");
        assert!(seen.insert(secret.to_owned()));
    }
}

#[tokio::test]
async fn the_session_cookie_is_httponly_samesite_lax_and_not_secure_over_plain_http() {
    let (app, client) = app_with_alice().await;
    let page_res = app.authorize(&auth_params(&client, &[])).await;
    assert!(
        page_res
            .headers()
            .get("strict-transport-security")
            .is_none()
    );
    let csrf = set_cookie(&page_res, "guichet_csrf").expect("csrf cookie");
    let page = page_res.text().await.unwrap();
    let res = post_login(&app, &app.browser, &page, "alice", PASSWORD).await;
    assert!(res.headers().get("strict-transport-security").is_none());
    let line = set_cookie(&res, "guichet_session").expect("session cookie");
    for l in [&line, &csrf] {
        let attrs = cookie_attrs(l);
        assert!(attrs.contains(&"httponly".into()), "{l}");
        assert!(attrs.contains(&"samesite=lax".into()), "{l}");
        assert!(attrs.contains(&"path=/".into()), "{l}");
        assert!(!attrs.contains(&"secure".into()), "{l}");
        assert!(!attrs.iter().any(|a| a.starts_with("domain")), "{l}");
    }
}

/// As `spawn_app`, but the issuer says https (TLS would end at a proxy); the server still
/// speaks plain http on its port (`app.url`).
async fn spawn_https_app() -> TestApp {
    spawn_with(Options {
        https: true,
        ..Options::default()
    })
    .await
}

fn assert_hsts(res: &reqwest::Response, what: &str) {
    let hsts = res
        .headers()
        .get("strict-transport-security")
        .unwrap_or_else(|| panic!("{what}: no Strict-Transport-Security"))
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    let max_age: u64 = hsts
        .split(';')
        .find_map(|d| d.trim().strip_prefix("max-age="))
        .unwrap_or_else(|| panic!("{what}: {hsts}"))
        .trim_matches('"')
        .parse()
        .unwrap();
    assert!(max_age >= 31_536_000, "{what}: {hsts}");
}

#[tokio::test]
async fn with_an_https_issuer_cookies_are_secure_host_prefixed_and_every_response_sends_hsts() {
    let app = spawn_https_app().await;
    app.create_user("alice").await;
    let http = bare_client();

    let res = http.get(app.url("/login")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_hsts(&res, "login page");
    assert!(set_cookie(&res, "guichet_csrf").is_none());
    let csrf_line = set_cookie(&res, "__Host-guichet_csrf").expect("__Host- csrf cookie");
    let csrf_cookie = format!("__Host-guichet_csrf={}", cookie_value(&csrf_line));
    let page = res.text().await.unwrap();
    let res = http
        .post(app.url("/login"))
        .header(COOKIE, &csrf_cookie)
        .form(&[
            ("csrf", hidden(&page, "csrf").unwrap().as_str()),
            ("username", "alice"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_hsts(&res, "login POST");
    assert!(set_cookie(&res, "guichet_session").is_none());
    let session_line = set_cookie(&res, "__Host-guichet_session").expect("__Host- session cookie");
    assert!(!cookie_value(&session_line).is_empty());
    for line in [&csrf_line, &session_line] {
        let attrs = cookie_attrs(line);
        for want in ["secure", "httponly", "samesite=lax", "path=/"] {
            assert!(attrs.contains(&want.to_owned()), "{want} missing: {line}");
        }
        // RFC 6265bis §4.1.3.2: a __Host- cookie has no Domain.
        assert!(!attrs.iter().any(|a| a.starts_with("domain")), "{line}");
    }
    // The session works from that cookie.
    let session_cookie = format!("__Host-guichet_session={}", cookie_value(&session_line));
    let signed_in = text_of(http.get(app.url("/login")).header(COOKIE, &session_cookie)).await;
    assert!(!signed_in.contains("name=\"password\""));

    let discovery = http
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_hsts(&discovery, "discovery");
    let doc: Value = discovery.json().await.unwrap();
    assert_eq!(doc["issuer"], app.issuer.as_str());
    for (what, res) in [
        ("jwks", http.get(app.url("/jwks")).send().await.unwrap()),
        ("404", http.get(app.url("/nope")).send().await.unwrap()),
        (
            "healthz",
            http.get(app.url("/healthz")).send().await.unwrap(),
        ),
        (
            "token error",
            http.post(app.url("/token"))
                .form(&[("grant_type", "nonsense")])
                .send()
                .await
                .unwrap(),
        ),
        (
            "logout page",
            http.get(app.url("/logout")).send().await.unwrap(),
        ),
        (
            "csrf refusal",
            http.post(app.url("/login"))
                .form(&[("username", "alice")])
                .send()
                .await
                .unwrap(),
        ),
    ] {
        assert_hsts(&res, what);
    }
}

#[tokio::test]
async fn a_plain_http_issuer_sends_no_hsts() {
    let (app, client) = app_with_alice().await;
    let http = bare_client();
    for path in [
        "/login",
        "/.well-known/openid-configuration",
        "/nope",
        "/logout",
    ] {
        let res = http.get(app.url(path)).send().await.unwrap();
        assert!(
            res.headers().get("strict-transport-security").is_none(),
            "{path}"
        );
    }
    let res = sign_in(&app, &app.browser, &client, "alice", &[]).await;
    assert!(res.headers().get("strict-transport-security").is_none());
}

#[tokio::test]
async fn a_login_post_without_a_valid_csrf_token_or_from_another_origin_is_refused() {
    let (app, client) = app_with_alice().await;
    let page = login_page(&app, &app.browser, &client, &[]).await;
    let other_page = login_page(&app, &browser(), &client, &[]).await;
    let token = hidden(&page, "csrf").unwrap();
    let foreign = hidden(&other_page, "csrf").unwrap();
    assert_ne!(token, foreign);
    let flow = hidden(&page, "flow").unwrap();
    let post = |csrf: Option<&str>, origin: Option<&str>| {
        let mut form = vec![
            ("username", "alice"),
            ("password", PASSWORD),
            ("flow", flow.as_str()),
        ];
        if let Some(c) = csrf {
            form.push(("csrf", c));
        }
        let mut req = app.browser.post(app.url("/login")).form(&form);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        async move { req.send().await.unwrap() }
    };

    for (what, csrf, origin) in [
        ("no token", None, None),
        ("empty token", Some(""), None),
        ("another browser's token", Some(foreign.as_str()), None),
        (
            "cross-site origin",
            Some(token.as_str()),
            Some("https://evil.example"),
        ),
    ] {
        let res = post(csrf, origin).await;
        assert_eq!(res.status(), 403, "{what}");
        assert!(res.headers().get(LOCATION).is_none(), "{what}");
        assert!(no_session_cookie_set(&res), "{what}: a session was set");
        assert_eq!(prompt_none(&app, &client).await, "login_required", "{what}");
    }

    // `Origin: null` (sent under Referrer-Policy: no-referrer) with the right token is fine.
    let res = post(Some(token.as_str()), Some("null")).await;
    assert_eq!(res.status(), 303);
    assert_code_issued(&res);
    assert!(!no_session_cookie_set(&res));
    assert_eq!(prompt_none(&app, &client).await, SIGNED_IN);
}

#[tokio::test]
async fn consent_and_logout_confirmation_posts_without_a_csrf_token_are_refused() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    let client = app.create_client("third", |c| c.first_party = false).await;
    let res = sign_in(&app, &app.browser, &client, "alice", &[]).await;
    assert_eq!(res.status(), 200);
    let consent = res.text().await.unwrap();
    assert!(consent.contains("name=\"decision\""));
    let csrf = hidden(&consent, "csrf").unwrap();
    let request = hidden(&consent, "request").unwrap();
    let binding = hidden(&consent, "binding").unwrap();
    for (what, token, origin) in [
        ("no token", None, None),
        (
            "cross-site origin",
            Some(csrf.as_str()),
            Some("https://evil.example"),
        ),
    ] {
        let mut form = vec![
            ("request", request.as_str()),
            ("binding", binding.as_str()),
            ("decision", "approve"),
        ];
        if let Some(t) = token {
            form.push(("csrf", t));
        }
        let mut req = app.browser.post(app.url("/consent")).form(&form);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 403, "consent, {what}");
        assert!(res.headers().get(LOCATION).is_none());
        assert_eq!(
            prompt_none(&app, &client).await,
            "consent_required",
            "consent stored by a refused post ({what})"
        );
    }
    let res = app.submit_consent(&consent, true).await;
    assert_eq!(res.status(), 303);
    assert_code_issued(&res);

    let page = assert_confirmation_page(end_session(&app.browser, &app, &[]).await).await;
    let token = hidden(&page, "csrf").unwrap();
    for (what, form, origin) in [
        ("no token", vec![], None),
        (
            "cross-site origin",
            vec![("csrf", token.as_str())],
            Some("https://evil.example"),
        ),
    ] {
        let mut req = app.browser.post(app.url("/logout/confirm")).form(&form);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 403, "logout confirmation, {what}");
        assert!(set_cookie(&res, "guichet_session").is_none());
        assert_eq!(prompt_none(&app, &client).await, SIGNED_IN, "{what}");
    }
}

#[tokio::test]
async fn get_on_the_logout_confirmation_is_not_allowed_and_ends_nothing() {
    let (app, client) = app_with_alice().await;
    let tokens = app.code_flow_tokens(&client, "alice", "openid").await;
    let res = app
        .browser
        .get(app.url("/logout/confirm"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert!(set_cookie(&res, "guichet_session").is_none());
    let res = app.browser.get(app.url("/consent")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(prompt_none(&app, &client).await, SIGNED_IN);
    let (status, _) = refresh(&app, &client, str_of(&tokens, "refresh_token")).await;
    assert_eq!(status, 200);
}

/// The page with every CSRF token and sealed flow (which holds the time) replaced by a
/// placeholder.
fn without_csrf(page: &str) -> String {
    let token = hidden(page, "csrf").expect("csrf field");
    let flow = hidden(page, "flow").expect("flow field");
    page.replace(&token, "CSRF").replace(&flow, "FLOW")
}

#[tokio::test]
async fn unknown_user_wrong_password_and_disabled_user_get_the_same_page() {
    let app = spawn_app().await;
    let client = app.create_client("rp1", |_| {}).await;
    let page = login_page(&app, &app.browser, &client, &[]).await;

    let unknown = post_login(&app, &app.browser, &page, "bob", "not the password").await;
    let unknown_status = unknown.status();
    assert!(no_session_cookie_set(&unknown));
    let unknown = unknown.text().await.unwrap();

    let bob = app.create_user("bob").await;
    let wrong = post_login(&app, &app.browser, &unknown, "bob", "not the password").await;
    assert_eq!(wrong.status(), unknown_status);
    assert!(no_session_cookie_set(&wrong));
    let wrong = wrong.text().await.unwrap();

    app.core
        .db
        .user_set_disabled(&bob, true, app.clock.now())
        .await
        .unwrap();
    let disabled = post_login(&app, &app.browser, &wrong, "bob", PASSWORD).await;
    assert_eq!(disabled.status(), unknown_status);
    assert!(no_session_cookie_set(&disabled));
    let disabled = disabled.text().await.unwrap();

    assert_eq!(unknown_status, 200);
    assert!(unknown.contains("name=\"password\""));
    assert_eq!(without_csrf(&unknown), without_csrf(&wrong));
    assert_eq!(without_csrf(&unknown), without_csrf(&disabled));
    assert_eq!(prompt_none(&app, &client).await, "login_required");
}

fn assert_security_headers(res: &reqwest::Response, what: &str) {
    let h = res.headers();
    let get = |n: &str| {
        h.get(n)
            .unwrap_or_else(|| panic!("{what}: no {n}"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert!(
        get("content-security-policy").contains("frame-ancestors 'none'"),
        "{what}"
    );
    assert_eq!(get("referrer-policy"), "no-referrer", "{what}");
    // Only the public metadata may be cached (a few minutes); nothing else at all.
    if what == "discovery" || what == "jwks" {
        assert_eq!(get("cache-control"), "public, max-age=120", "{what}");
    } else {
        assert!(get("cache-control").contains("no-store"), "{what}");
    }
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let (app, client) = app_with_alice().await;
    let http = bare_client();
    let get = |path: &str| http.get(app.url(path)).send();
    let mut responses: Vec<(&str, reqwest::Response)> = vec![
        (
            "login page",
            app.authorize(&auth_params(&client, &[])).await,
        ),
        ("login page alone", get("/login").await.unwrap()),
        (
            "authorize error page",
            get("/authorize?client_id=nobody").await.unwrap(),
        ),
        (
            "authorize error redirect",
            app.authorize(&auth_params(&client, &[("prompt", "none")]))
                .await,
        ),
        (
            "discovery",
            get("/.well-known/openid-configuration").await.unwrap(),
        ),
        ("jwks", get("/jwks").await.unwrap()),
        ("404", get("/no/such/page").await.unwrap()),
        ("405", get("/logout/confirm").await.unwrap()),
        ("healthz", get("/healthz").await.unwrap()),
        ("readyz", get("/readyz").await.unwrap()),
        ("stylesheet", get("/static/style.css").await.unwrap()),
        ("logout page", get("/logout").await.unwrap()),
        ("userinfo 401", get("/userinfo").await.unwrap()),
    ];
    let post = |path: &str| http.post(app.url(path));
    for (what, req) in [
        (
            "token error",
            post("/token").form(&[("grant_type", "password")]),
        ),
        (
            "token 401",
            post("/token")
                .basic_auth("rp1", Some("wrong"))
                .form(&[("grant_type", "client_credentials")]),
        ),
        (
            "login csrf refusal",
            post("/login").form(&[("username", "alice")]),
        ),
        (
            "login not a form",
            post("/login")
                .header("content-type", "application/json")
                .body("{}"),
        ),
    ] {
        responses.push((what, send(req).await));
    }
    let signed_in = sign_in(&app, &app.browser, &client, "alice", &[]).await;
    responses.push(("login success", signed_in));
    responses.push((
        "form_post",
        app.authorize(&auth_params(&client, &[("response_mode", "form_post")]))
            .await,
    ));
    for (what, res) in &responses {
        assert_security_headers(res, what);
    }
    assert_eq!(responses[0].1.status(), 200);
    assert_eq!(responses[2].1.status(), 400);
    assert_eq!(responses[6].1.status(), 404);
}

#[tokio::test]
async fn pages_speak_english_or_french_as_asked() {
    let (app, client) = app_with_alice().await;
    let en = login_page(&app, &app.browser, &client, &[("ui_locales", "en")]).await;
    assert!(en.contains("lang=\"en\""));
    assert!(en.contains("Sign in"));
    assert!(!en.contains("Connexion"));

    let res = app
        .browser
        .get(app.url("/authorize"))
        .query(&auth_params(&client, &[]))
        .header("accept-language", "fr")
        .send()
        .await
        .unwrap();
    let fr = res.text().await.unwrap();
    assert!(fr.contains("lang=\"fr\""));
    assert!(fr.contains("Connexion"));
    assert!(!fr.contains("Sign in"));

    // ui_locales wins over Accept-Language, on the logout pages too.
    let res = app
        .browser
        .get(app.url("/logout"))
        .query(&[("ui_locales", "en")])
        .header("accept-language", "fr")
        .send()
        .await
        .unwrap();
    let page = res.text().await.unwrap();
    assert!(page.contains("lang=\"en\""));
    assert!(page.contains("Sign out"));
}

#[tokio::test]
async fn the_login_page_has_one_post_form_with_labelled_username_and_password_fields() {
    let (app, client) = app_with_alice().await;
    let page = login_page(&app, &app.browser, &client, &[]).await;
    let doc = Html::parse_document(&page);
    let sel = |s: &str| Selector::parse(s).unwrap();
    let forms: Vec<_> = doc
        .select(&sel("form"))
        .filter(|f| {
            f.value()
                .attr("method")
                .is_some_and(|m| m.eq_ignore_ascii_case("post"))
        })
        .collect();
    assert_eq!(forms.len(), 1);
    let form = forms[0];
    for (name, autocomplete) in [("username", "username"), ("password", "current-password")] {
        let input = form
            .select(&sel(&format!("input[name=\"{name}\"]")))
            .next()
            .unwrap_or_else(|| panic!("no {name} field"));
        assert_eq!(input.value().attr("autocomplete"), Some(autocomplete));
        let id = input.value().attr("id").expect("the field has an id");
        assert_eq!(
            doc.select(&sel(&format!("label[for=\"{id}\"]"))).count(),
            1,
            "no label for {name}"
        );
    }
    let password = form
        .select(&sel("input[name=\"password\"]"))
        .next()
        .unwrap();
    assert_eq!(password.value().attr("type"), Some("password"));
}

#[tokio::test]
async fn the_login_hint_is_escaped_in_the_page() {
    let (app, client) = app_with_alice().await;
    let page = login_page(
        &app,
        &app.browser,
        &client,
        &[("login_hint", "<script>x</script>")],
    )
    .await;
    assert!(!page.contains("<script>x"));
    let doc = Html::parse_document(&page);
    let input = doc
        .select(&Selector::parse("input[name=\"username\"]").unwrap())
        .next()
        .unwrap();
    assert_eq!(input.value().attr("value"), Some("<script>x</script>"));
}

#[tokio::test]
async fn a_user_signs_in_with_any_identifier_whatever_its_case_and_surrounding_spaces() {
    let app = spawn_app().await;
    let id = app
        .create_user_with(NewUser {
            login: "carol".into(),
            email: Some("Carol@Example.org".into()),
            identifiers: vec!["E12345".into()],
            ..NewUser::default()
        })
        .await;
    let client = app.create_client("rp1", |_| {}).await;
    for typed in [" e12345 ", "E12345", "CAROL@example.ORG", "Carol"] {
        let res = sign_in(&app, &browser(), &client, typed, &[]).await;
        assert_eq!(res.status(), 303, "{typed:?}");
        let cb = location(&res);
        let code = query_param(&cb, "code").unwrap_or_else(|| panic!("{typed:?}: {cb}"));
        let res = redeem(&app, &client, &code, None).await;
        assert_eq!(res.status(), 200);
        let tokens: Value = res.json().await.unwrap();
        let claims = jwt_claims(str_of(&tokens, "id_token"));
        assert_eq!(claims["sub"], id.as_str(), "{typed:?}");
    }
    let res = sign_in(&app, &browser(), &client, "e1234", &[]).await;
    assert_eq!(res.status(), 200, "a prefix of an identifier is not one");
    assert!(no_session_cookie_set(&res));
}

#[tokio::test]
async fn a_session_ended_by_a_disable_is_answered_login_required_and_its_cookie_removed() {
    let (app, client) = app_with_alice().await;
    app.code_flow_tokens(&client, "alice", "openid").await;
    set_disabled(&app, "alice", true).await;
    let res = app
        .browser
        .get(app.url("/authorize"))
        .query(&auth_params(&client, &[("prompt", "none")]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        query_param(&location(&res), "error").as_deref(),
        Some("login_required")
    );
    let removal = set_cookie(&res, "guichet_session").expect("the session cookie is removed");
    assert!(
        removal.to_ascii_lowercase().contains("max-age=0"),
        "{removal}"
    );
}
