//! CAS Protocol 3.0's `/cas/login` through the real pages: login with a service, single
//! sign-on, `renew`, `gateway`, `warn`, `method=POST`, unknown and hostile services, tickets'
//! and the session cookie's shape (CONFORMANCE K01–K10, K28).
//! The validation endpoints: cas_validate.rs; the second factor and SSO shared with OpenID
//! Connect: cas_sso.rs.

use guichet::service::authn::{self, Continuation};
use reqwest::header::{CACHE_CONTROL, LOCATION};

use crate::helpers::*;

const UNREG: &str = "https://unregistered.example/cas";

/// The answer is the 400 error page: no redirect, no ticket anywhere.
async fn assert_cas_error_page(res: reqwest::Response, what: &str) {
    assert_eq!(res.status(), 400, "{what}");
    assert!(res.headers().get(LOCATION).is_none(), "{what}: redirected");
    assert!(session_set_cookie(&res).is_none_or(|l| cookie_value(&l).is_empty()));
    let page = res.text().await.unwrap();
    assert!(!page.contains("ST-"), "{what}: a ticket in the page");
    assert!(!is_login_form(&page), "{what}: the login form");
}

// ---- /cas/login -------------------------------------------------------------------------

#[tokio::test]
async fn login_with_a_registered_service_shows_the_form_whose_flow_resumes_that_request() {
    let app = app_with_cas_service().await;
    let res = app.cas_login(&app.browser, &[("service", SERVICE)]).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    let form = first_form(&page);
    assert_eq!(form.method, "post");
    assert!(page.contains("name=\"username\""), "{page}");
    assert!(page.contains("name=\"password\"") && page.contains("type=\"password\""));
    let flow = hidden(&page, "flow").expect("a hidden flow field");
    let opened = authn::open(&app.core, &flow, app.clock.now()).expect("a sealed flow");
    let service: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("service", SERVICE)
        .finish();
    assert_eq!(opened.continuation, Continuation::Cas(service));
}

#[tokio::test]
async fn good_credentials_redirect_to_the_service_with_a_ticket_and_set_the_session_cookie() {
    let app = app_with_cas_service().await;
    let res = app
        .cas_sign_in(&app.browser, &[("service", SERVICE)], "alice")
        .await;
    assert!(
        [302, 303].contains(&res.status().as_u16()),
        "a redirect a browser follows with GET, got {}",
        res.status()
    );
    let back = location(&res);
    assert!(
        back.as_str().starts_with(&format!("{SERVICE}?ticket=ST-")),
        "{back}"
    );
    let cookie = session_set_cookie(&res).expect("the session cookie");
    assert!(!cookie_value(&cookie).is_empty());
}

#[tokio::test]
async fn a_wrong_password_shows_the_form_with_an_error_and_neither_ticket_nor_session() {
    let app = app_with_cas_service().await;
    let page = text_of(
        app.browser
            .get(app.url("/cas/login"))
            .query(&[("service", SERVICE)]),
    )
    .await;
    let res = post_login(&app, &app.browser, &page, "alice", "not the password").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get(LOCATION).is_none());
    assert!(session_set_cookie(&res).is_none_or(|l| cookie_value(&l).is_empty()));
    let page = res.text().await.unwrap();
    assert!(is_login_form(&page));
    assert!(page.contains("id=\"login-error\""), "{page}");
    assert!(!page.contains("ST-"));
    // Still no session: the login page again.
    let res = app.cas_login(&app.browser, &[("service", SERVICE)]).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn good_credentials_without_a_service_show_the_signed_in_page_and_set_the_cookie() {
    let app = app_with_cas_service().await;
    let res = app.cas_sign_in(&app.browser, &[], "alice").await;
    assert!(session_set_cookie(&res).is_some_and(|l| !cookie_value(&l).is_empty()));
    let page = if res.status().is_redirection() {
        let to = location(&res);
        assert!(to.query().is_none_or(|q| !q.contains("ticket")));
        text_of(
            app.browser
                .get(app.url(&format!("{}?{}", to.path(), to.query().unwrap_or("")))),
        )
        .await
    } else {
        assert_eq!(res.status(), 200);
        res.text().await.unwrap()
    };
    assert!(page.contains("<strong>alice</strong>"), "{page}");
    assert!(!is_login_form(&page));
    // With the session, /cas/login without a service shows that page again.
    let res = app.cas_login(&app.browser, &[]).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("<strong>alice</strong>"));
}

#[tokio::test]
async fn with_a_session_login_redirects_with_a_ticket_and_no_form() {
    let app = app_with_cas_service().await;
    app.cas_ticket(&app.browser, SERVICE, "alice").await;
    let res = app.cas_login(&app.browser, &[("service", SERVICE)]).await;
    assert_eq!(res.status(), 302);
    let ticket = ticket_of(&res).expect("a ticket");
    assert!(location(&res).as_str().starts_with(SERVICE));
    assert_eq!(
        app.cas_xml("/cas/serviceValidate", SERVICE, &ticket)
            .await
            .outcome,
        "authenticationSuccess"
    );
}

#[tokio::test]
async fn renew_asks_for_credentials_despite_the_session_and_its_ticket_passes_renew_validation() {
    let app = app_with_cas_service().await;
    app.cas_ticket(&app.browser, SERVICE, "alice").await;
    let res = app
        .cas_sign_in(
            &app.browser,
            &[("service", SERVICE), ("renew", "true")],
            "alice",
        )
        .await;
    let ticket = ticket_of(&res).expect("a ticket after the form");
    let (_, body) = app
        .cas_get(
            "/cas/serviceValidate",
            &[("service", SERVICE), ("ticket", &ticket), ("renew", "true")],
        )
        .await;
    let x = parse_xml(&body);
    assert_eq!(x.outcome, "authenticationSuccess", "{body}");
    assert_eq!(x.one("user"), Some("alice"));
}

#[tokio::test]
async fn a_ticket_from_single_sign_on_fails_validation_with_renew() {
    let app = app_with_cas_service().await;
    app.cas_ticket(&app.browser, SERVICE, "alice").await;
    let res = app.cas_login(&app.browser, &[("service", SERVICE)]).await;
    let ticket = ticket_of(&res).expect("an SSO ticket");
    let (_, body) = app
        .cas_get(
            "/cas/serviceValidate",
            &[("service", SERVICE), ("ticket", &ticket), ("renew", "true")],
        )
        .await;
    let x = parse_xml(&body);
    assert_eq!(x.outcome, "authenticationFailure");
    assert_eq!(x.code.as_deref(), Some("INVALID_TICKET"));
}

#[tokio::test]
async fn gateway_without_a_session_goes_back_to_the_service_without_a_ticket() {
    let app = app_with_cas_service().await;
    let res = app
        .cas_login(&app.browser, &[("service", SERVICE), ("gateway", "true")])
        .await;
    assert!(res.status().is_redirection());
    assert_eq!(res.headers()[LOCATION], SERVICE);
}

#[tokio::test]
async fn gateway_with_a_session_goes_back_with_a_ticket() {
    let app = app_with_cas_service().await;
    app.cas_ticket(&app.browser, SERVICE, "alice").await;
    let res = app
        .cas_login(&app.browser, &[("service", SERVICE), ("gateway", "true")])
        .await;
    assert!(res.status().is_redirection());
    assert!(ticket_of(&res).is_some_and(|t| t.starts_with("ST-")));
}

#[tokio::test]
async fn renew_wins_over_gateway_and_shows_the_form() {
    let app = app_with_cas_service().await;
    app.cas_ticket(&app.browser, SERVICE, "alice").await;
    let params = [("service", SERVICE), ("gateway", "true"), ("renew", "true")];
    let res = app.cas_login(&app.browser, &params).await;
    assert_eq!(res.status(), 200);
    assert!(is_login_form(&res.text().await.unwrap()));
    // Without a session too.
    let res = app.cas_login(&browser(), &params).await;
    assert_eq!(res.status(), 200);
    assert!(is_login_form(&res.text().await.unwrap()));
}

#[tokio::test]
async fn an_unregistered_service_gets_an_error_page_and_never_a_redirect() {
    let app = app_with_cas_service().await;
    let res = app.cas_login(&app.browser, &[("service", UNREG)]).await;
    assert_cas_error_page(res, "unregistered").await;
    // Not even with a session, nor with gateway.
    app.cas_ticket(&app.browser, SERVICE, "alice").await;
    for params in [
        vec![("service", UNREG)],
        vec![("service", UNREG), ("gateway", "true")],
    ] {
        let res = app.cas_login(&app.browser, &params).await;
        assert_cas_error_page(res, "unregistered with a session").await;
    }
}

#[tokio::test]
async fn a_malformed_service_gets_the_error_page() {
    let app = app_with_cas_service().await;
    for bad in [
        "javascript:alert(1)",
        "//app.example/cas/callback",
        "https://u:p@app.example/cas/callback",
        "data:text/html,hi",
    ] {
        let res = app.cas_login(&app.browser, &[("service", bad)]).await;
        assert_cas_error_page(res, bad).await;
    }
}

#[tokio::test]
async fn a_prefix_pattern_does_not_own_a_host_that_merely_starts_like_it() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    app.create_cas_service("https://app.example/", |s| {
        s.pattern_kind = guichet::domain::cas::PatternKind::Prefix;
    })
    .await;
    let res = app
        .cas_login(
            &app.browser,
            &[("service", "https://app.example/any/page?x=1")],
        )
        .await;
    assert_eq!(res.status(), 200, "the prefix owns its own paths");
    for evil in [
        "https://app.example.evil.test/",
        "https://app.example.evil.test/cas",
        "https://app.example@evil.test/",
    ] {
        let res = app.cas_login(&app.browser, &[("service", evil)]).await;
        assert_cas_error_page(res, evil).await;
    }
}

#[tokio::test]
async fn method_post_sends_the_ticket_in_an_auto_submitted_form_to_the_service() {
    let app = app_with_cas_service().await;
    app.cas_ticket(&app.browser, SERVICE, "alice").await;
    let res = app
        .cas_login(&app.browser, &[("service", SERVICE), ("method", "POST")])
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get(LOCATION).is_none());
    let page = res.text().await.unwrap();
    let form = first_form(&page);
    assert_eq!(form.method, "post");
    assert_eq!(form.action, SERVICE);
    let ticket = form
        .hidden
        .iter()
        .find(|(n, _)| n == "ticket")
        .map(|(_, v)| v.clone())
        .expect("a hidden ticket");
    assert!(page.contains(".submit()"), "auto-submitted: {page}");
    assert_eq!(
        app.cas_xml("/cas/serviceValidate", SERVICE, &ticket)
            .await
            .outcome,
        "authenticationSuccess"
    );
}

#[tokio::test]
async fn method_post_after_the_form_also_posts_the_ticket() {
    let app = app_with_cas_service().await;
    let res = app
        .cas_sign_in(
            &app.browser,
            &[("service", SERVICE), ("method", "POST")],
            "alice",
        )
        .await;
    let page = if res.status().is_redirection() {
        let to = location(&res);
        assert!(
            query_param(&to, "ticket").is_none(),
            "ticket in a URL: {to}"
        );
        text_of(
            app.browser
                .get(app.url(&format!("{}?{}", to.path(), to.query().unwrap_or("")))),
        )
        .await
    } else {
        res.text().await.unwrap()
    };
    let form = first_form(&page);
    assert_eq!(form.action, SERVICE);
    assert!(
        form.hidden
            .iter()
            .any(|(n, v)| n == "ticket" && v.starts_with("ST-"))
    );
}

#[tokio::test]
async fn warn_with_a_session_asks_for_confirmation_and_its_post_gives_the_ticket() {
    let app = app_with_cas_service().await;
    app.cas_ticket(&app.browser, SERVICE, "alice").await;
    let res = app
        .cas_login(&app.browser, &[("service", SERVICE), ("warn", "true")])
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get(LOCATION).is_none());
    let page = res.text().await.unwrap();
    assert!(!page.contains("ST-"), "no ticket before confirming");
    let form = first_form(&page);
    assert_eq!(form.method, "post");
    // Without the CSRF token: refused, no ticket.
    let request = hidden(&page, "request").expect("the request field");
    let res = app
        .browser
        .post(app.url(&form.action))
        .form(&[("request", request.as_str())])
        .send()
        .await
        .unwrap();
    assert!(ticket_of(&res).is_none());
    assert_ne!(res.status(), 500);
    let res = submit_form(&app, &app.browser, &form).await;
    assert!(res.status().is_redirection(), "got {}", res.status());
    let ticket = ticket_of(&res).expect("a ticket");
    assert!(location(&res).as_str().starts_with(SERVICE));
    assert_eq!(
        app.cas_xml("/cas/serviceValidate", SERVICE, &ticket)
            .await
            .outcome,
        "authenticationSuccess"
    );
}

#[tokio::test]
async fn the_login_page_is_not_stored_by_caches() {
    let app = app_with_cas_service().await;
    let res = app.cas_login(&app.browser, &[("service", SERVICE)]).await;
    let cc = res.headers()[CACHE_CONTROL].to_str().unwrap().to_owned();
    assert!(cc.contains("no-store"), "{cc}");
}

#[tokio::test]
async fn the_login_page_also_says_pragma_no_cache_and_expires_in_the_past() {
    let app = app_with_cas_service().await;
    let res = app.cas_login(&app.browser, &[("service", SERVICE)]).await;
    let h = res.headers();
    assert_eq!(
        h.get("pragma").map(|v| v.to_str().unwrap()),
        Some("no-cache")
    );
    let expires = h.get("expires").expect("Expires").to_str().unwrap();
    let at = chrono::DateTime::parse_from_rfc2822(expires).map(|d| d.timestamp());
    assert!(
        at.is_ok_and(|t| t < app.clock.now()) || expires == "0",
        "{expires}"
    );
}

/// CAS §3.5.1: a login ticket is good for one attempt. The sealed flow is guichet's; a form
/// posted again after logout (the back button on a shared computer) must not sign in.
#[tokio::test]
async fn a_login_form_posted_again_after_logout_does_not_sign_in() {
    let app = app_with_cas_service().await;
    let page = text_of(
        app.browser
            .get(app.url("/cas/login"))
            .query(&[("service", SERVICE)]),
    )
    .await;
    let first = post_login(&app, &app.browser, &page, "alice", PASSWORD).await;
    assert!(ticket_of(&first).is_some());
    text_of(app.browser.get(app.url("/cas/logout"))).await;
    let again = post_login(&app, &app.browser, &page, "alice", PASSWORD).await;
    assert!(
        ticket_of(&again).is_none(),
        "the login ticket was used twice"
    );
}

// ---- Tickets and the session cookie -----------------------------------------------------

#[tokio::test]
async fn service_tickets_are_st_then_64_hex_digits_and_all_distinct() {
    let app = app_with_cas_service().await;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..4 {
        let t = app.cas_ticket(&app.browser, SERVICE, "alice").await;
        assert!(t.len() <= 256);
        assert!(
            t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
            "{t}"
        );
        let rest = t.strip_prefix("ST-").expect("ST- prefix");
        assert_eq!(rest.len(), 64, "{t}");
        assert!(rest.bytes().all(|b| b.is_ascii_hexdigit()), "{t}");
        assert!(seen.insert(t));
    }
}

/// Secure and `__Host-` over https: session.rs, the same cookie as OpenID Connect's.
#[tokio::test]
async fn the_session_cookie_is_made_of_cas_characters_http_only_and_same_site() {
    let app = app_with_cas_service().await;
    let res = app
        .cas_sign_in(&app.browser, &[("service", SERVICE)], "alice")
        .await;
    let line = session_set_cookie(&res).expect("the session cookie");
    let value = cookie_value(&line);
    assert!(
        value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-'),
        "{value}"
    );
    let lower = line.to_ascii_lowercase();
    assert!(lower.contains("httponly"), "{line}");
    assert!(lower.contains("samesite="), "{line}");
    assert!(
        !lower.contains("max-age") && !lower.contains("expires"),
        "a session cookie: {line}"
    );
}

// ---- Hostile input ----------------------------------------------------------------------

#[tokio::test]
async fn hostile_service_values_get_the_error_page_never_a_500() {
    let app = app_with_cas_service().await;
    let long = format!("{SERVICE}?x={}", "a".repeat(5000));
    let fragment = format!("{SERVICE}#frag");
    let control = format!("{SERVICE}?x=\u{1}");
    let newline = format!("{SERVICE}\r\nSet-Cookie: x=1");
    for bad in [&long, &fragment, &control, &newline] {
        let res = app
            .cas_login(&app.browser, &[("service", bad.as_str())])
            .await;
        assert_cas_error_page(res, bad).await;
    }
    // The same with a session.
    app.cas_ticket(&app.browser, SERVICE, "alice").await;
    for bad in [&long, &fragment, &control] {
        let res = app
            .cas_login(&app.browser, &[("service", bad.as_str())])
            .await;
        assert_cas_error_page(res, bad).await;
    }
}

#[tokio::test]
async fn a_repeated_service_parameter_gets_the_error_page() {
    let app = app_with_cas_service().await;
    app.cas_ticket(&app.browser, SERVICE, "alice").await;
    for other in [SERVICE, UNREG] {
        let res = app
            .cas_login(&app.browser, &[("service", SERVICE), ("service", other)])
            .await;
        assert_cas_error_page(res, "repeated service").await;
    }
}

#[tokio::test]
async fn a_service_url_with_a_query_keeps_it_and_gets_the_ticket_appended() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    let service = "https://app.example/cas/callback?next=%2Fhome&x=1";
    app.create_cas_service(service, |_| {}).await;
    let back = app
        .cas_through(&app.browser, &[("service", service)], "alice")
        .await;
    let ticket = query_param(&back, "ticket").expect("a ticket");
    assert_eq!(back.as_str(), format!("{service}&ticket={ticket}"));
    let x = app.cas_xml("/cas/serviceValidate", service, &ticket).await;
    assert_eq!(x.outcome, "authenticationSuccess");
}

#[tokio::test]
async fn the_session_of_a_disabled_user_gives_no_ticket() {
    let app = app_with_cas_service().await;
    app.cas_ticket(&app.browser, SERVICE, "alice").await;
    set_disabled(&app, "alice", true).await;
    let res = app.cas_login(&app.browser, &[("service", SERVICE)]).await;
    assert!(ticket_of(&res).is_none());
    assert_eq!(res.status(), 200);
    assert!(is_login_form(&res.text().await.unwrap()));
}
