//! CAS logout (CAS §2.3) and single logout (§2.3.3, Appendix C): what ends with the session,
//! where `/cas/logout` may send the browser, the SAML `LogoutRequest` posted to the services
//! that got a ticket, and logout shared with OpenID Connect (CONFORMANCE K25–K27).

use std::time::{Duration, Instant};

use guichet::domain::cas::PatternKind;
use reqwest::header::LOCATION;

use crate::helpers::*;

const UNREG: &str = "https://unregistered.example/cas";

/// `GET /cas/logout` from `http` with these parameters.
async fn cas_logout(
    app: &TestApp,
    http: &reqwest::Client,
    params: &[(&str, &str)],
) -> reqwest::Response {
    http.get(app.url("/cas/logout"))
        .query(params)
        .send()
        .await
        .unwrap()
}

/// The logged-out page: 200, HTML, no redirect.
async fn assert_logged_out_page(res: reqwest::Response) {
    assert_eq!(res.status(), 200);
    assert_html_no_redirect(&res, "logged-out page");
}

/// A CAS application with a single-logout endpoint, registered with a prefix pattern on its
/// server (`single_logout` as given).
async fn slo_app(app: &TestApp, single_logout: bool) -> CasApp {
    let server = CasApp::start().await;
    app.create_cas_service(&server.url("/"), |s| {
        s.pattern_kind = PatternKind::Prefix;
        s.single_logout = single_logout;
        s.allow_proxy = true;
    })
    .await;
    server
}

/// The `LogoutRequest` among `hits`: checks it is a form POST and returns the XML.
fn logout_request(hits: &[Hit]) -> String {
    assert_eq!(hits.len(), 1, "one notice: {hits:?}");
    let hit = &hits[0];
    assert_eq!(hit.method, "POST");
    hit.form("logoutRequest").expect("a logoutRequest field")
}

#[tokio::test]
async fn logout_ends_the_session_removes_the_cookie_and_login_asks_again() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    app.create_cas_service(SERVICE, |_| {}).await;
    app.cas_ticket(&app.browser, SERVICE, "alice").await;
    let res = cas_logout(&app, &app.browser, &[]).await;
    assert_session_cookie_removed(&res);
    assert_logged_out_page(res).await;
    let res = app.cas_login(&app.browser, &[("service", SERVICE)]).await;
    assert_eq!(res.status(), 200);
    assert!(is_login_form(&res.text().await.unwrap()));
}

#[tokio::test]
async fn the_old_cookie_gives_no_ticket_after_logout() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    app.create_cas_service(SERVICE, |_| {}).await;
    let res = app
        .cas_sign_in(&app.browser, &[("service", SERVICE)], "alice")
        .await;
    let cookie = cookie_value(&session_set_cookie(&res).unwrap());
    cas_logout(&app, &app.browser, &[]).await;
    let res = bare_client()
        .get(app.url("/cas/login"))
        .query(&[("service", SERVICE)])
        .header("cookie", format!("{SESSION_COOKIE}={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(ticket_of(&res).is_none());
    assert!(is_login_form(&res.text().await.unwrap()));
}

#[tokio::test]
async fn logout_ends_the_proxy_granting_tickets_and_unvalidated_tickets_of_the_session() {
    let app = spawn_with(Options {
        settings: Some(|s| s.cas_insecure_callbacks = true),
        ..Options::default()
    })
    .await;
    app.create_user("alice").await;
    app.create_cas_service(SERVICE, |_| {}).await;
    let pxy = slo_app(&app, false).await;
    let ticket = app
        .cas_ticket(&app.browser, &pxy.url("/app"), "alice")
        .await;
    let (_, body) = app
        .cas_get(
            "/cas/serviceValidate",
            &[
                ("service", pxy.url("/app").as_str()),
                ("ticket", &ticket),
                ("pgtUrl", &pxy.url("/cb")),
            ],
        )
        .await;
    let iou = parse_xml(&body)
        .one("proxyGrantingTicket")
        .expect("a PGT")
        .to_owned();
    let pgt = pxy
        .hits()
        .iter()
        .find(|h| h.query("pgtIou").as_deref() == Some(&iou))
        .and_then(|h| h.query("pgtId"))
        .unwrap();
    // The proxy works before logout.
    let (_, body) = app
        .cas_get("/cas/proxy", &[("pgt", &pgt), ("targetService", SERVICE)])
        .await;
    assert_eq!(parse_xml(&body).outcome, "proxySuccess");
    // A ticket issued, not yet validated.
    let res = app.cas_login(&app.browser, &[("service", SERVICE)]).await;
    let pending = ticket_of(&res).unwrap();

    cas_logout(&app, &app.browser, &[]).await;

    let (_, body) = app
        .cas_get("/cas/proxy", &[("pgt", &pgt), ("targetService", SERVICE)])
        .await;
    assert_eq!(parse_xml(&body).outcome, "proxyFailure", "{body}");
    let x = app.cas_xml("/cas/serviceValidate", SERVICE, &pending).await;
    assert_eq!(x.outcome, "authenticationFailure");
    assert_eq!(x.code.as_deref(), Some("INVALID_TICKET"));
}

#[tokio::test]
async fn logout_with_a_registered_service_redirects_there() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    app.create_cas_service(SERVICE, |_| {}).await;
    app.cas_ticket(&app.browser, SERVICE, "alice").await;
    let res = cas_logout(&app, &app.browser, &[("service", SERVICE)]).await;
    assert!(res.status().is_redirection());
    assert_eq!(res.headers()[LOCATION], SERVICE);
    assert_session_cookie_removed(&res);
    // Without a session too.
    let res = cas_logout(&app, &browser(), &[("service", SERVICE)]).await;
    assert_eq!(res.headers()[LOCATION], SERVICE);
}

#[tokio::test]
async fn logout_with_an_unregistered_service_or_a_url_shows_the_page_and_never_redirects() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    app.create_cas_service(SERVICE, |_| {}).await;
    app.cas_ticket(&app.browser, SERVICE, "alice").await;
    let res = cas_logout(&app, &app.browser, &[("service", UNREG)]).await;
    assert_session_cookie_removed(&res);
    assert_logged_out_page(res).await;
    for params in [
        vec![("url", "https://evil.example/")],
        vec![("url", SERVICE)],
        vec![("service", "javascript:alert(1)")],
        vec![("service", SERVICE), ("service", "https://evil.example/")],
    ] {
        let res = cas_logout(&app, &app.browser, &params).await;
        assert_logged_out_page(res).await;
    }
}

#[tokio::test]
async fn single_logout_posts_a_saml_logout_request_naming_the_ticket() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    let slo = slo_app(&app, true).await;
    let service = slo.url("/app");
    let ticket = app.cas_ticket(&app.browser, &service, "alice").await;
    let x = app.cas_xml("/cas/serviceValidate", &service, &ticket).await;
    assert_eq!(x.outcome, "authenticationSuccess");

    cas_logout(&app, &app.browser, &[]).await;

    let hits = slo.wait_for(1, 5).await;
    let xml = logout_request(&hits);
    assert_eq!(hits[0].uri, "/app");
    assert!(xml.starts_with("<samlp:LogoutRequest"), "{xml}");
    assert!(
        xml.contains("xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\""),
        "{xml}"
    );
    assert!(
        xml.contains(&format!(
            "<samlp:SessionIndex>{ticket}</samlp:SessionIndex>"
        )),
        "{xml}"
    );
    assert!(
        xml.contains("ID=\"") && xml.contains("IssueInstant=\""),
        "{xml}"
    );
    assert!(xml.contains("Version=\"2.0\""));
    let parsed = parse_xml(&xml);
    assert_eq!(parsed.one("NameID"), Some("alice"));
}

#[tokio::test]
async fn a_service_without_single_logout_is_not_told_and_a_dead_one_does_not_slow_logout() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    let told = slo_app(&app, true).await;
    let quiet = slo_app(&app, false).await;
    // A closed port, and one that accepts connections and never answers.
    let closed = format!("http://127.0.0.1:{}/", free_port());
    let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent = format!("http://127.0.0.1:{}/", hole.local_addr().unwrap().port());
    for dead in [&closed, &silent] {
        app.create_cas_service(dead, |s| s.pattern_kind = PatternKind::Prefix)
            .await;
    }
    app.cas_ticket(&app.browser, &told.url("/app"), "alice")
        .await;
    for s in [
        quiet.url("/app"),
        format!("{closed}app"),
        format!("{silent}app"),
    ] {
        app.cas_ticket(&app.browser, &s, "alice").await;
    }

    let started = Instant::now();
    let res = cas_logout(&app, &app.browser, &[]).await;
    assert_eq!(res.status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "logout waited for the services: {:?}",
        started.elapsed()
    );
    let hits = told.wait_for(1, 5).await;
    logout_request(&hits);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(quiet.hits().is_empty(), "{:?}", quiet.hits());
    drop(hole);
}

#[tokio::test]
async fn a_service_is_told_once_per_ticket_it_got_in_the_session() {
    // A CAS client ties each of its sessions to the ticket that opened it (Apache's
    // mod_auth_cas, after its own session timed out, opens another with a second ticket).
    let app = spawn_app().await;
    app.create_user("alice").await;
    let slo = slo_app(&app, true).await;
    let first = app
        .cas_ticket(&app.browser, &slo.url("/app"), "alice")
        .await;
    let second = app
        .cas_ticket(&app.browser, &slo.url("/app"), "alice")
        .await;
    cas_logout(&app, &app.browser, &[]).await;
    let hits = slo.wait_for(2, 5).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(slo.hits().len(), 2, "{hits:?}");
    let named: Vec<String> = slo
        .hits()
        .iter()
        .map(|h| h.form("logoutRequest").expect("a logoutRequest field"))
        .collect();
    for ticket in [&first, &second] {
        assert!(
            named.iter().any(|xml| xml.contains(ticket.as_str())),
            "{ticket} not named: {named:?}"
        );
    }
}

#[tokio::test]
async fn the_target_of_a_proxy_ticket_is_told_at_logout_with_that_ticket() {
    let app = spawn_with(Options {
        settings: Some(|s| s.cas_insecure_callbacks = true),
        ..Options::default()
    })
    .await;
    app.create_user("alice").await;
    let pxy = slo_app(&app, false).await;
    let target = slo_app(&app, true).await;
    let ticket = app
        .cas_ticket(&app.browser, &pxy.url("/app"), "alice")
        .await;
    let (_, body) = app
        .cas_get(
            "/cas/serviceValidate",
            &[
                ("service", pxy.url("/app").as_str()),
                ("ticket", &ticket),
                ("pgtUrl", &pxy.url("/cb")),
            ],
        )
        .await;
    let iou = parse_xml(&body)
        .one("proxyGrantingTicket")
        .unwrap()
        .to_owned();
    let pgt = pxy
        .hits()
        .iter()
        .find(|h| h.query("pgtIou").as_deref() == Some(&iou))
        .and_then(|h| h.query("pgtId"))
        .unwrap();
    let (_, body) = app
        .cas_get(
            "/cas/proxy",
            &[("pgt", &pgt), ("targetService", &target.url("/api"))],
        )
        .await;
    let pt = parse_xml(&body).one("proxyTicket").unwrap().to_owned();
    let x = app
        .cas_xml("/cas/proxyValidate", &target.url("/api"), &pt)
        .await;
    assert_eq!(x.outcome, "authenticationSuccess");

    cas_logout(&app, &app.browser, &[]).await;
    let hits = target.wait_for(1, 5).await;
    let xml = logout_request(&hits);
    assert!(
        xml.contains(&format!("<samlp:SessionIndex>{pt}</samlp:SessionIndex>")),
        "{xml}"
    );
}

#[tokio::test]
async fn a_service_from_a_session_replaced_by_a_new_sign_in_is_still_told_at_logout() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    let slo = slo_app(&app, true).await;
    let service = slo.url("/app");
    let ticket = app.cas_ticket(&app.browser, &service, "alice").await;
    // renew: credentials again, a new session.
    let res = app
        .cas_sign_in(
            &app.browser,
            &[("service", &service), ("renew", "true")],
            "alice",
        )
        .await;
    assert!(ticket_of(&res).is_some());
    cas_logout(&app, &app.browser, &[]).await;
    // One notice per ticket: the one from the replaced session is among them.
    let hits = slo.wait_for(2, 5).await;
    let named: Vec<String> = hits
        .iter()
        .filter_map(|h| h.form("logoutRequest"))
        .collect();
    assert_eq!(named.len(), 2, "{named:?}");
    assert!(named.iter().any(|xml| xml.contains(&ticket)), "{named:?}");
}

// ---- Logout shared with OpenID Connect --------------------------------------------------

#[tokio::test]
async fn cas_logout_ends_the_openid_connect_session() {
    let (app, rp) = app_with_alice().await;
    app.create_cas_service(SERVICE, |_| {}).await;
    app.authorize_through(&auth_params(&rp, &[]), "alice").await;
    assert_eq!(prompt_none(&app, &rp).await, SIGNED_IN);
    cas_logout(&app, &app.browser, &[]).await;
    assert_eq!(prompt_none(&app, &rp).await, "login_required");
}

#[tokio::test]
async fn openid_connect_logout_ends_the_cas_session_and_tells_the_cas_services() {
    let (app, rp) = app_with_alice().await;
    let slo = slo_app(&app, true).await;
    let tokens = app.code_flow_tokens(&rp, "alice", "openid").await;
    // Single sign-on: the CAS ticket comes from the OpenID Connect sign-in.
    let res = app
        .cas_login(&app.browser, &[("service", &slo.url("/app"))])
        .await;
    let ticket = ticket_of(&res).expect("an SSO ticket");

    let res = logout_with_hint(&app, str_of(&tokens, "id_token"), None).await;
    assert!(res.status().is_redirection(), "got {}", res.status());

    let res = app
        .cas_login(&app.browser, &[("service", &slo.url("/app"))])
        .await;
    assert_eq!(res.status(), 200);
    assert!(is_login_form(&res.text().await.unwrap()));
    let hits = slo.wait_for(1, 5).await;
    let xml = logout_request(&hits);
    assert!(
        xml.contains(&format!(
            "<samlp:SessionIndex>{ticket}</samlp:SessionIndex>"
        )),
        "{xml}"
    );
}

#[tokio::test]
async fn a_forged_or_garbage_session_cookie_never_gives_a_500() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    app.create_cas_service(SERVICE, |_| {}).await;
    let forged = format!("{}-{}", "a".repeat(32), "b".repeat(64));
    for value in ["garbage", "-", forged.as_str(), &"f".repeat(5000)] {
        let cookie = format!("{SESSION_COOKIE}={value}");
        let res = bare_client()
            .get(app.url("/cas/login"))
            .query(&[("service", SERVICE)])
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert!(ticket_of(&res).is_none());
        assert!(res.status().as_u16() < 500, "{value}: {}", res.status());
        let res = bare_client()
            .get(app.url("/cas/logout"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert!(res.status().as_u16() < 500, "{value}: {}", res.status());
    }
}
