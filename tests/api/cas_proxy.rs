//! CAS proxy authentication (CAS §2.5.4, §2.6, §2.7, §3.3–3.4): the proxy callback, `/proxy`,
//! proxy tickets at the validation endpoints, and a chain of two proxies (CONFORMANCE K11,
//! K17, K20–K24). The proxying applications are `CasApp` servers on 127.0.0.1, so callbacks
//! are plain http, which `cas_insecure_callbacks` allows in tests.

use guichet::domain::cas::PatternKind;

use crate::helpers::*;

/// The back end the proxy calls on the user's behalf (exact pattern).
const TARGET: &str = "https://backend.example/api";

fn insecure() -> Options {
    Options {
        settings: Some(|s| s.cas_insecure_callbacks = true),
        ..Options::default()
    }
}

/// The proxying application: its server, whose URLs its prefix pattern owns.
struct Proxy {
    server: CasApp,
}

impl Proxy {
    /// Its service URL (where tickets are sent).
    fn service(&self) -> String {
        self.server.url("/app")
    }

    /// Its proxy callback, with a query parameter of its own.
    fn callback(&self) -> String {
        self.server.url("/cb?x=1")
    }
}

/// A proxying application registered with a prefix pattern covering its server, allowed to
/// proxy unless `allow_proxy` is false.
async fn proxy_app(app: &TestApp, allow_proxy: bool) -> Proxy {
    let server = CasApp::start().await;
    app.create_cas_service(&server.url("/"), |s| {
        s.pattern_kind = PatternKind::Prefix;
        s.allow_proxy = allow_proxy;
    })
    .await;
    Proxy { server }
}

/// alice, `TARGET` registered, and a proxying application (http callbacks allowed).
async fn setup() -> (TestApp, Proxy) {
    let app = spawn_with(insecure()).await;
    app.create_user("alice").await;
    app.create_cas_service(TARGET, |_| {}).await;
    let pxy = proxy_app(&app, true).await;
    (app, pxy)
}

/// Validates `ticket` for `service` at `path` with `pgt_url`: the parsed answer.
async fn validate_with_callback(
    app: &TestApp,
    path: &str,
    service: &str,
    ticket: &str,
    pgt_url: &str,
) -> CasXml {
    let (status, body) = app
        .cas_get(
            path,
            &[
                ("service", service),
                ("ticket", ticket),
                ("pgtUrl", pgt_url),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    parse_xml(&body)
}

/// The proxy-granting ticket the callback of `server` received with `iou`.
fn pgt_of(server: &CasApp, iou: &str) -> String {
    server
        .hits()
        .iter()
        .find(|h| h.query("pgtIou").as_deref() == Some(iou))
        .and_then(|h| h.query("pgtId"))
        .expect("the callback received the PGT with its IOU")
}

/// alice signs in to the proxy, which validates its ticket with its callback: the PGT.
async fn pgt(app: &TestApp, pxy: &Proxy) -> String {
    let ticket = app.cas_ticket(&app.browser, &pxy.service(), "alice").await;
    let x = validate_with_callback(
        app,
        "/cas/serviceValidate",
        &pxy.service(),
        &ticket,
        &pxy.callback(),
    )
    .await;
    assert_eq!(x.outcome, "authenticationSuccess");
    let iou = x.one("proxyGrantingTicket").expect("a PGT IOU");
    pgt_of(&pxy.server, iou)
}

/// `/cas/proxy` with these parameters: the parsed answer.
async fn proxy_req(app: &TestApp, params: &[(&str, &str)]) -> CasXml {
    let (status, body) = app.cas_get("/cas/proxy", params).await;
    assert_eq!(status, 200, "{body}");
    parse_xml(&body)
}

/// A proxy ticket for `target` from `pgt`.
async fn pt(app: &TestApp, pgt: &str, target: &str) -> String {
    let x = proxy_req(app, &[("pgt", pgt), ("targetService", target)]).await;
    assert_eq!(x.outcome, "proxySuccess");
    x.one("proxyTicket").expect("a proxy ticket").to_owned()
}

#[tokio::test]
async fn the_callback_gets_the_pgt_and_its_iou_with_its_own_query_and_the_response_names_the_iou() {
    let (app, pxy) = setup().await;
    let ticket = app.cas_ticket(&app.browser, &pxy.service(), "alice").await;
    let x = validate_with_callback(
        &app,
        "/cas/serviceValidate",
        &pxy.service(),
        &ticket,
        &pxy.callback(),
    )
    .await;
    assert_eq!(x.outcome, "authenticationSuccess");
    assert_eq!(x.one("user"), Some("alice"));
    let hits = pxy.server.hits();
    assert_eq!(hits.len(), 1, "{hits:?}");
    let hit = &hits[0];
    assert_eq!(hit.method, "GET");
    assert!(hit.uri.starts_with("/cb?"), "{}", hit.uri);
    assert_eq!(hit.query("x").as_deref(), Some("1"));
    let pgt_id = hit.query("pgtId").unwrap();
    let iou = hit.query("pgtIou").unwrap();
    assert!(pgt_id.starts_with("PGT-"), "{pgt_id}");
    assert!(iou.starts_with("PGTIOU-"), "{iou}");
    assert!(
        format!("{pgt_id}{iou}")
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    );
    assert_eq!(x.one("proxyGrantingTicket"), Some(iou.as_str()));
}

#[tokio::test]
async fn an_http_callback_is_refused_unless_the_settings_allow_it() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    let pxy = proxy_app(&app, true).await;
    let ticket = app.cas_ticket(&app.browser, &pxy.service(), "alice").await;
    let x = validate_with_callback(
        &app,
        "/cas/serviceValidate",
        &pxy.service(),
        &ticket,
        &pxy.callback(),
    )
    .await;
    assert_eq!(x.outcome, "authenticationFailure");
    assert_eq!(x.code.as_deref(), Some("INVALID_PROXY_CALLBACK"));
    assert!(x.one("proxyGrantingTicket").is_none());
    assert!(pxy.server.hits().is_empty(), "an http callback was called");
}

#[tokio::test]
async fn an_unreachable_callback_is_invalid_proxy_callback() {
    let app = spawn_with(insecure()).await;
    app.create_user("alice").await;
    // A regular expression owns every port of 127.0.0.1, the closed one included.
    let live = CasApp::start().await;
    app.create_cas_service(r"http://127\.0\.0\.1:[0-9]+/.*", |s| {
        s.pattern_kind = PatternKind::Regex;
        s.allow_proxy = true;
    })
    .await;
    let dead = format!("http://127.0.0.1:{}/cb", free_port());
    let service = live.url("/app");
    let ticket = app.cas_ticket(&app.browser, &service, "alice").await;
    let x = validate_with_callback(&app, "/cas/serviceValidate", &service, &ticket, &dead).await;
    assert_eq!(x.outcome, "authenticationFailure");
    assert_eq!(x.code.as_deref(), Some("INVALID_PROXY_CALLBACK"));
    assert!(x.one("proxyGrantingTicket").is_none());
    let text = x.one("authenticationFailure").unwrap_or_default();
    assert!(!text.contains("PGT"), "the message shows no ticket: {text}");
}

#[tokio::test]
async fn a_callback_that_does_not_answer_200_gets_no_pgt_but_the_validation_succeeds() {
    let (app, pxy) = setup().await;
    pxy.server.answer(404);
    let ticket = app.cas_ticket(&app.browser, &pxy.service(), "alice").await;
    let x = validate_with_callback(
        &app,
        "/cas/serviceValidate",
        &pxy.service(),
        &ticket,
        &pxy.callback(),
    )
    .await;
    assert_eq!(x.outcome, "authenticationSuccess");
    assert_eq!(x.one("user"), Some("alice"));
    assert!(x.one("proxyGrantingTicket").is_none());
    // The PGT it was sent was not kept.
    let sent = pxy.server.hits()[0].query("pgtId").unwrap();
    let x = proxy_req(&app, &[("pgt", &sent), ("targetService", TARGET)]).await;
    assert_eq!(x.outcome, "proxyFailure");
}

#[tokio::test]
async fn a_service_not_allowed_to_proxy_is_unauthorized_service_proxy() {
    let app = spawn_with(insecure()).await;
    app.create_user("alice").await;
    let pxy = proxy_app(&app, false).await;
    let ticket = app.cas_ticket(&app.browser, &pxy.service(), "alice").await;
    let x = validate_with_callback(
        &app,
        "/cas/serviceValidate",
        &pxy.service(),
        &ticket,
        &pxy.callback(),
    )
    .await;
    assert_eq!(x.outcome, "authenticationFailure");
    assert_eq!(x.code.as_deref(), Some("UNAUTHORIZED_SERVICE_PROXY"));
    assert!(pxy.server.hits().is_empty());
}

#[tokio::test]
async fn a_callback_the_service_does_not_own_is_invalid_proxy_callback() {
    let (app, pxy) = setup().await;
    // Another registered application's URL, and an unregistered one.
    let other = proxy_app(&app, true).await;
    let stranger = CasApp::start().await;
    for cb in [other.callback(), stranger.url("/cb")] {
        let ticket = app.cas_ticket(&app.browser, &pxy.service(), "alice").await;
        let x = validate_with_callback(&app, "/cas/serviceValidate", &pxy.service(), &ticket, &cb)
            .await;
        assert_eq!(x.outcome, "authenticationFailure");
        assert_eq!(x.code.as_deref(), Some("INVALID_PROXY_CALLBACK"), "{cb}");
    }
    assert!(other.server.hits().is_empty());
    assert!(stranger.hits().is_empty());
}

#[tokio::test]
async fn proxy_gives_a_new_proxy_ticket_each_time() {
    let (app, pxy) = setup().await;
    let pgt = pgt(&app, &pxy).await;
    let a = pt(&app, &pgt, TARGET).await;
    let b = pt(&app, &pgt, TARGET).await;
    assert_ne!(a, b);
    for t in [&a, &b] {
        let rest = t.strip_prefix("PT-").expect("PT- prefix");
        assert_eq!(rest.len(), 64);
        assert!(rest.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}

#[tokio::test]
async fn proxy_without_a_parameter_is_invalid_request() {
    let (app, pxy) = setup().await;
    let pgt = pgt(&app, &pxy).await;
    for params in [
        vec![("pgt", pgt.as_str())],
        vec![("targetService", TARGET)],
        vec![],
    ] {
        let x = proxy_req(&app, &params).await;
        assert_eq!(x.outcome, "proxyFailure");
        assert_eq!(x.code.as_deref(), Some("INVALID_REQUEST"), "{params:?}");
    }
}

#[tokio::test]
async fn proxy_with_an_unknown_pgt_is_a_proxy_failure() {
    let (app, _pxy) = setup().await;
    let fake = format!("PGT-{}", "0".repeat(64));
    for pgt in ["PGT-nope", fake.as_str(), "ST-1"] {
        let x = proxy_req(&app, &[("pgt", pgt), ("targetService", TARGET)]).await;
        assert_eq!(x.outcome, "proxyFailure", "{pgt}");
        assert!(x.code.is_some());
    }
}

#[tokio::test]
async fn proxy_to_an_unregistered_target_is_unauthorized_service() {
    let (app, pxy) = setup().await;
    let pgt = pgt(&app, &pxy).await;
    let x = proxy_req(
        &app,
        &[
            ("pgt", &pgt),
            ("targetService", "https://unregistered.example/"),
        ],
    )
    .await;
    assert_eq!(x.outcome, "proxyFailure");
    assert_eq!(x.code.as_deref(), Some("UNAUTHORIZED_SERVICE"));
}

#[tokio::test]
async fn proxy_validate_accepts_the_proxy_ticket_once_and_lists_the_proxy() {
    let (app, pxy) = setup().await;
    let pgt = pgt(&app, &pxy).await;
    let t = pt(&app, &pgt, TARGET).await;
    let x = app.cas_xml("/cas/proxyValidate", TARGET, &t).await;
    assert_eq!(x.outcome, "authenticationSuccess");
    assert_eq!(x.one("user"), Some("alice"));
    assert_eq!(x.all("proxy"), vec![pxy.callback().as_str()]);
    let x = app.cas_xml("/cas/proxyValidate", TARGET, &t).await;
    assert_eq!(x.outcome, "authenticationFailure");
    assert_eq!(x.code.as_deref(), Some("INVALID_TICKET"));
}

#[tokio::test]
async fn a_proxy_ticket_presented_for_another_service_is_invalid_service() {
    let (app, pxy) = setup().await;
    let pgt = pgt(&app, &pxy).await;
    let t = pt(&app, &pgt, TARGET).await;
    let x = app.cas_xml("/cas/proxyValidate", &pxy.service(), &t).await;
    assert_eq!(x.outcome, "authenticationFailure");
    assert_eq!(x.code.as_deref(), Some("INVALID_SERVICE"));
}

#[tokio::test]
async fn p3_proxy_validate_accepts_a_proxy_ticket_with_attributes() {
    let (app, pxy) = setup().await;
    let pgt = pgt(&app, &pxy).await;
    let t = pt(&app, &pgt, TARGET).await;
    let x = app.cas_xml("/cas/p3/proxyValidate", TARGET, &t).await;
    assert_eq!(x.outcome, "authenticationSuccess");
    assert_eq!(x.one("user"), Some("alice"));
    assert_eq!(x.all("proxy"), vec![pxy.callback().as_str()]);
    assert_eq!(x.one("isFromNewLogin"), Some("false"));
}

#[tokio::test]
async fn proxy_validate_accepts_a_service_ticket_too() {
    let (app, pxy) = setup().await;
    let ticket = app.cas_ticket(&app.browser, &pxy.service(), "alice").await;
    let x = app
        .cas_xml("/cas/proxyValidate", &pxy.service(), &ticket)
        .await;
    assert_eq!(x.outcome, "authenticationSuccess");
    assert!(x.all("proxy").is_empty());
}

#[tokio::test]
async fn a_proxy_ticket_at_service_validate_is_invalid_ticket_spec_naming_the_proxy_ticket() {
    let (app, pxy) = setup().await;
    let pgt = pgt(&app, &pxy).await;
    let t = pt(&app, &pgt, TARGET).await;
    for path in ["/cas/serviceValidate", "/cas/p3/serviceValidate"] {
        let x = app.cas_xml(path, TARGET, &t).await;
        assert_eq!(x.outcome, "authenticationFailure");
        assert_eq!(x.code.as_deref(), Some("INVALID_TICKET_SPEC"), "{path}");
        let text = x.one("authenticationFailure").unwrap_or_default();
        assert!(text.contains("proxy ticket"), "{text}");
    }
}

#[tokio::test]
async fn validate_answers_no_to_a_proxy_ticket() {
    let (app, pxy) = setup().await;
    let pgt = pgt(&app, &pxy).await;
    let t = pt(&app, &pgt, TARGET).await;
    let (status, body) = app
        .cas_get("/cas/validate", &[("service", TARGET), ("ticket", &t)])
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, "no\n\n");
}

#[tokio::test]
async fn a_chain_of_two_proxies_lists_them_newest_first() {
    let (app, first) = setup().await;
    // The second proxy is the first one's target, and proxies in turn.
    let second = proxy_app(&app, true).await;
    let pgt1 = pgt(&app, &first).await;
    let pt1 = pt(&app, &pgt1, &second.service()).await;
    let x = validate_with_callback(
        &app,
        "/cas/proxyValidate",
        &second.service(),
        &pt1,
        &second.callback(),
    )
    .await;
    assert_eq!(x.outcome, "authenticationSuccess");
    assert_eq!(x.all("proxy"), vec![first.callback().as_str()]);
    let iou = x.one("proxyGrantingTicket").expect("a second PGT");
    let pgt2 = pgt_of(&second.server, iou);
    assert_ne!(pgt1, pgt2);
    let pt2 = pt(&app, &pgt2, TARGET).await;
    let x = app.cas_xml("/cas/proxyValidate", TARGET, &pt2).await;
    assert_eq!(x.outcome, "authenticationSuccess");
    assert_eq!(x.one("user"), Some("alice"));
    assert_eq!(
        x.all("proxy"),
        vec![second.callback().as_str(), first.callback().as_str()]
    );
    // Both proxy-granting tickets end with the session.
    text_of(app.browser.get(app.url("/cas/logout"))).await;
    for pgt in [&pgt1, &pgt2] {
        let x = proxy_req(&app, &[("pgt", pgt), ("targetService", TARGET)]).await;
        assert_eq!(x.outcome, "proxyFailure");
    }
}

#[tokio::test]
async fn json_proxy_answers_have_the_proxy_ticket_and_the_proxies() {
    let (app, pxy) = setup().await;
    let pgt = pgt(&app, &pxy).await;
    let (_, body) = app
        .cas_get(
            "/cas/proxy",
            &[("pgt", &pgt), ("targetService", TARGET), ("format", "JSON")],
        )
        .await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let t = v["serviceResponse"]["proxySuccess"]["proxyTicket"]
        .as_str()
        .expect("proxyTicket")
        .to_owned();
    let (_, body) = app
        .cas_get(
            "/cas/proxyValidate",
            &[("service", TARGET), ("ticket", &t), ("format", "JSON")],
        )
        .await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let ok = &v["serviceResponse"]["authenticationSuccess"];
    assert_eq!(ok["user"], "alice");
    assert_eq!(ok["proxies"], serde_json::json!([pxy.callback()]));
}

#[tokio::test]
async fn a_pgt_survives_a_new_sign_in_of_the_same_person_and_ends_with_the_new_session() {
    let (app, pxy) = setup().await;
    let pgt = pgt(&app, &pxy).await;
    // renew: the person enters credentials again, and a new session replaces the old one.
    let res = app
        .cas_sign_in(
            &app.browser,
            &[("service", TARGET), ("renew", "true")],
            "alice",
        )
        .await;
    assert!(ticket_of(&res).is_some());
    let x = proxy_req(&app, &[("pgt", &pgt), ("targetService", TARGET)]).await;
    assert_eq!(x.outcome, "proxySuccess", "{x:?}");
    // The new session's logout ends it.
    text_of(app.browser.get(app.url("/cas/logout"))).await;
    let x = proxy_req(&app, &[("pgt", &pgt), ("targetService", TARGET)]).await;
    assert_eq!(x.outcome, "proxyFailure");
}

#[tokio::test]
async fn a_callback_that_redirects_gets_no_pgt_and_its_redirect_is_not_followed() {
    let (app, pxy) = setup().await;
    pxy.server.answer(302);
    let ticket = app.cas_ticket(&app.browser, &pxy.service(), "alice").await;
    let x = validate_with_callback(
        &app,
        "/cas/serviceValidate",
        &pxy.service(),
        &ticket,
        &pxy.callback(),
    )
    .await;
    assert_eq!(x.outcome, "authenticationSuccess");
    assert!(x.one("proxyGrantingTicket").is_none());
    assert_eq!(pxy.server.hits().len(), 1);
}

#[tokio::test]
async fn a_disabled_service_gets_no_ticket_and_its_pgts_give_no_proxy_ticket() {
    let app = spawn_with(insecure()).await;
    app.create_user("alice").await;
    app.create_cas_service(TARGET, |_| {}).await;
    let server = CasApp::start().await;
    let proxying = app
        .create_cas_service(&server.url("/"), |s| {
            s.pattern_kind = PatternKind::Prefix;
            s.allow_proxy = true;
        })
        .await;
    let pxy = Proxy { server };
    let pgt = pgt(&app, &pxy).await;
    app.core
        .db
        .cas_service_set_disabled(&proxying.id, true, app.clock.now())
        .await
        .unwrap();
    app.core.cas.invalidate();
    let res = app
        .cas_login(&app.browser, &[("service", &pxy.service())])
        .await;
    assert_eq!(res.status(), 400);
    assert!(ticket_of(&res).is_none());
    let x = proxy_req(&app, &[("pgt", &pgt), ("targetService", TARGET)]).await;
    assert_eq!(x.outcome, "proxyFailure");
}

#[tokio::test]
async fn an_https_callback_whose_tls_fails_is_invalid_proxy_callback() {
    // https to a server that speaks plain http: the handshake fails, as with an untrusted
    // certificate, and the setting for http callbacks is off.
    let app = spawn_app().await;
    app.create_user("alice").await;
    let server = CasApp::start().await;
    let base = format!("https://127.0.0.1:{}/", server.port);
    app.create_cas_service(&base, |s| {
        s.pattern_kind = PatternKind::Prefix;
        s.allow_proxy = true;
    })
    .await;
    let service = format!("{base}app");
    let ticket = app.cas_ticket(&app.browser, &service, "alice").await;
    let x = validate_with_callback(
        &app,
        "/cas/serviceValidate",
        &service,
        &ticket,
        &format!("{base}cb"),
    )
    .await;
    assert_eq!(x.outcome, "authenticationFailure");
    assert_eq!(x.code.as_deref(), Some("INVALID_PROXY_CALLBACK"));
    assert!(x.one("proxyGrantingTicket").is_none());
    assert!(server.hits().is_empty());
}
