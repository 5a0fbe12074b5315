//! CAS Protocol 3.0 through the real pages: login with a service, the five validation
//! endpoints, tickets' single use and lifetime, and errors.

use crate::helpers::*;

#[tokio::test]
async fn a_service_ticket_from_the_login_page_validates_once_at_p3_with_attributes() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    app.create_cas_service(SERVICE, |s| {
        s.attributes = vec!["email".into(), "preferred_username".into()];
    })
    .await;
    let ticket = app.cas_ticket(&app.browser, SERVICE, "alice").await;
    assert!(ticket.starts_with("ST-"), "{ticket}");
    let (status, body) = app
        .cas_get(
            "/cas/p3/serviceValidate",
            &[("service", SERVICE), ("ticket", &ticket)],
        )
        .await;
    assert_eq!(status, 200);
    let x = parse_xml(&body);
    assert_eq!(x.namespace.as_deref(), Some("http://www.yale.edu/tp/cas"));
    assert_eq!(x.outcome, "authenticationSuccess", "{body}");
    assert_eq!(x.one("user"), Some("alice"));
    assert_eq!(x.one("preferred_username"), Some("alice"));
    assert_eq!(x.one("isFromNewLogin"), Some("true"));
    // single use
    let (_, body) = app
        .cas_get(
            "/cas/p3/serviceValidate",
            &[("service", SERVICE), ("ticket", &ticket)],
        )
        .await;
    let x = parse_xml(&body);
    assert_eq!(x.outcome, "authenticationFailure");
    assert_eq!(x.code.as_deref(), Some("INVALID_TICKET"));
}

#[tokio::test]
async fn single_sign_on_gives_a_second_ticket_without_a_form() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    app.create_cas_service(SERVICE, |_| {}).await;
    app.cas_ticket(&app.browser, SERVICE, "alice").await;
    let res = app.cas_login(&app.browser, &[("service", SERVICE)]).await;
    assert_eq!(res.status(), 302);
    let back = location(&res);
    let ticket = query_param(&back, "ticket").unwrap();
    let (_, body) = app
        .cas_get(
            "/cas/validate",
            &[("service", SERVICE), ("ticket", &ticket)],
        )
        .await;
    assert_eq!(body, "yes\nalice\n");
}
