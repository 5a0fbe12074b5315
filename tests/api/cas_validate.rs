//! CAS Protocol 3.0's validation endpoints: `/cas/validate` (1.0), `/cas/serviceValidate`
//! (2.0), `/cas/p3/serviceValidate` (3.0, attributes), in XML and JSON; tickets' single use,
//! service binding and lifetime; hostile tickets (CONFORMANCE K11–K19). Proxy tickets:
//! cas_proxy.rs.

use guichet::domain::user::NewUser;
use serde_json::Value;

use crate::helpers::*;

const OTHER: &str = "https://other.example/cas";

// ---- /cas/validate (CAS 1.0) ------------------------------------------------------------

#[tokio::test]
async fn validate_answers_yes_and_the_user_once_then_no() {
    let app = app_with_cas_service().await;
    let ticket = app.cas_ticket(&app.browser, SERVICE, "alice").await;
    let params = [("service", SERVICE), ("ticket", ticket.as_str())];
    let (status, body) = app.cas_get("/cas/validate", &params).await;
    assert_eq!(status, 200);
    assert_eq!(body, "yes\nalice\n");
    let (_, body) = app.cas_get("/cas/validate", &params).await;
    assert_eq!(body, "no\n\n");
}

// ---- /cas/serviceValidate (CAS 2.0) -------------------------------------------------------

#[tokio::test]
async fn service_validate_answers_the_user_in_the_cas_namespace_without_attributes() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    app.create_cas_service(SERVICE, |s| s.attributes = vec!["email".into()])
        .await;
    let ticket = app.cas_ticket(&app.browser, SERVICE, "alice").await;
    let (status, body) = app
        .cas_get(
            "/cas/serviceValidate",
            &[("service", SERVICE), ("ticket", &ticket)],
        )
        .await;
    assert_eq!(status, 200);
    let x = parse_xml(&body);
    assert_eq!(x.namespace.as_deref(), Some("http://www.yale.edu/tp/cas"));
    assert!(body.contains("<cas:serviceResponse"), "{body}");
    assert_eq!(x.outcome, "authenticationSuccess");
    assert_eq!(x.one("user"), Some("alice"));
    assert!(
        !body.contains("attributes"),
        "CAS 2.0 has no attributes: {body}"
    );
    assert!(x.one("email").is_none());
}

#[tokio::test]
async fn a_ticket_validated_twice_is_invalid_the_second_time() {
    let app = app_with_cas_service().await;
    let ticket = app.cas_ticket(&app.browser, SERVICE, "alice").await;
    let x = app.cas_xml("/cas/serviceValidate", SERVICE, &ticket).await;
    assert_eq!(x.outcome, "authenticationSuccess");
    let x = app.cas_xml("/cas/serviceValidate", SERVICE, &ticket).await;
    assert_eq!(x.outcome, "authenticationFailure");
    assert_eq!(x.code.as_deref(), Some("INVALID_TICKET"));
}

#[tokio::test]
async fn a_ticket_presented_for_another_service_is_invalid_service_then_burned() {
    let app = app_with_cas_service().await;
    app.create_cas_service(OTHER, |_| {}).await;
    let ticket = app.cas_ticket(&app.browser, OTHER, "alice").await;
    let x = app.cas_xml("/cas/serviceValidate", SERVICE, &ticket).await;
    assert_eq!(x.outcome, "authenticationFailure");
    assert_eq!(x.code.as_deref(), Some("INVALID_SERVICE"));
    let x = app.cas_xml("/cas/serviceValidate", OTHER, &ticket).await;
    assert_eq!(x.code.as_deref(), Some("INVALID_TICKET"));
}

#[tokio::test]
async fn a_missing_parameter_is_invalid_request() {
    let app = app_with_cas_service().await;
    let ticket = app.cas_ticket(&app.browser, SERVICE, "alice").await;
    for params in [
        vec![("ticket", ticket.as_str())],
        vec![("service", SERVICE)],
        vec![],
        vec![("service", ""), ("ticket", ticket.as_str())],
    ] {
        let (status, body) = app.cas_get("/cas/serviceValidate", &params).await;
        assert_eq!(status, 200);
        let x = parse_xml(&body);
        assert_eq!(x.outcome, "authenticationFailure");
        assert_eq!(x.code.as_deref(), Some("INVALID_REQUEST"), "{params:?}");
    }
    // The ticket was not consumed by those.
    let x = app.cas_xml("/cas/serviceValidate", SERVICE, &ticket).await;
    assert_eq!(x.outcome, "authenticationSuccess");
}

#[tokio::test]
async fn an_unknown_ticket_is_invalid_ticket_and_a_foreign_shape_invalid_ticket_spec() {
    let app = app_with_cas_service().await;
    let x = app
        .cas_xml("/cas/serviceValidate", SERVICE, "ST-nope")
        .await;
    assert_eq!(x.outcome, "authenticationFailure");
    assert_eq!(x.code.as_deref(), Some("INVALID_TICKET"));
    let unknown = format!("ST-{}", "a".repeat(64));
    let x = app.cas_xml("/cas/serviceValidate", SERVICE, &unknown).await;
    assert_eq!(x.code.as_deref(), Some("INVALID_TICKET"));
    let x = app.cas_xml("/cas/serviceValidate", SERVICE, "XYZ-1").await;
    assert_eq!(x.code.as_deref(), Some("INVALID_TICKET_SPEC"));
}

#[tokio::test]
async fn a_ticket_past_its_lifetime_is_invalid() {
    let app = app_with_cas_service().await;
    let ticket = app.cas_ticket(&app.browser, SERVICE, "alice").await;
    app.clock.advance(11);
    let x = app.cas_xml("/cas/serviceValidate", SERVICE, &ticket).await;
    assert_eq!(x.outcome, "authenticationFailure");
    assert_eq!(x.code.as_deref(), Some("INVALID_TICKET"));
}

#[tokio::test]
async fn a_ticket_within_its_lifetime_validates() {
    let app = app_with_cas_service().await;
    let ticket = app.cas_ticket(&app.browser, SERVICE, "alice").await;
    app.clock.advance(9);
    let x = app.cas_xml("/cas/serviceValidate", SERVICE, &ticket).await;
    assert_eq!(x.outcome, "authenticationSuccess");
}

// ---- /cas/p3/serviceValidate (CAS 3.0) ----------------------------------------------------

#[tokio::test]
async fn p3_releases_the_authentication_attributes_and_only_the_registered_user_attributes() {
    let app = spawn_app().await;
    app.create_user_with(NewUser {
        login: "alice".into(),
        email: Some("alice@example.org".into()),
        email_verified: true,
        given_name: Some("A<&>B".into()),
        family_name: Some("Martin".into()),
        ..NewUser::default()
    })
    .await;
    app.create_cas_service(SERVICE, |s| {
        s.attributes = vec!["email".into(), "given_name".into()];
    })
    .await;
    let ticket = app.cas_ticket(&app.browser, SERVICE, "alice").await;
    let (_, body) = app
        .cas_get(
            "/cas/p3/serviceValidate",
            &[("service", SERVICE), ("ticket", &ticket)],
        )
        .await;
    let x = parse_xml(&body);
    assert_eq!(x.outcome, "authenticationSuccess", "{body}");
    assert_eq!(x.one("user"), Some("alice"));
    assert_eq!(x.one("email"), Some("alice@example.org"));
    assert_eq!(x.one("given_name"), Some("A<&>B"));
    assert!(!body.contains("A<&>B"), "escaped in XML: {body}");
    assert!(x.one("family_name").is_none(), "not released: {body}");
    let date = x.one("authenticationDate").expect("authenticationDate");
    let parsed = chrono::DateTime::parse_from_rfc3339(date).expect("ISO 8601");
    assert!((parsed.timestamp() - app.clock.now()).abs() < 60);
    assert_eq!(x.one("isFromNewLogin"), Some("true"));
    assert_eq!(
        x.one("longTermAuthenticationRequestTokenUsed"),
        Some("false")
    );
    assert_eq!(x.one("authnContextClass"), Some("urn:guichet:acr:pwd"));
    for name in ["email", "given_name", "isFromNewLogin"] {
        assert_eq!(x.all(name).len(), 1, "{name} once");
    }

    // From single sign-on: not a new login.
    let res = app.cas_login(&app.browser, &[("service", SERVICE)]).await;
    let ticket = ticket_of(&res).unwrap();
    let x = app
        .cas_xml("/cas/p3/serviceValidate", SERVICE, &ticket)
        .await;
    assert_eq!(x.one("isFromNewLogin"), Some("false"));
}

// ---- format=JSON ----------------------------------------------------------------------------

#[tokio::test]
async fn json_success_has_the_user_and_the_attributes_under_service_response() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    app.create_cas_service(SERVICE, |s| s.attributes = vec!["email".into()])
        .await;
    let ticket = app.cas_ticket(&app.browser, SERVICE, "alice").await;
    let (_, body) = app
        .cas_get(
            "/cas/p3/serviceValidate",
            &[
                ("service", SERVICE),
                ("ticket", &ticket),
                ("format", "JSON"),
            ],
        )
        .await;
    let v: Value = serde_json::from_str(&body).unwrap();
    let ok = &v["serviceResponse"]["authenticationSuccess"];
    assert_eq!(ok["user"], "alice", "{v}");
    let attrs = ok["attributes"].as_object().expect("attributes object");
    let email = &attrs["email"];
    assert!(
        email == "alice@example.org" || *email == serde_json::json!(["alice@example.org"]),
        "{email}"
    );
    assert!(attrs.contains_key("authenticationDate"));
    assert!(attrs.contains_key("isFromNewLogin"));
}

#[tokio::test]
async fn json_failure_has_a_code_and_a_description() {
    let app = app_with_cas_service().await;
    let (_, body) = app
        .cas_get(
            "/cas/serviceValidate",
            &[
                ("service", SERVICE),
                ("ticket", "ST-nope"),
                ("format", "json"),
            ],
        )
        .await;
    let v: Value = serde_json::from_str(&body).unwrap();
    let f = &v["serviceResponse"]["authenticationFailure"];
    assert_eq!(f["code"], "INVALID_TICKET", "{v}");
    assert!(f["description"].as_str().is_some_and(|d| !d.is_empty()));
}

#[tokio::test]
async fn an_unknown_format_is_invalid_request_and_leaves_the_ticket_usable() {
    let app = app_with_cas_service().await;
    let ticket = app.cas_ticket(&app.browser, SERVICE, "alice").await;
    let (status, body) = app
        .cas_get(
            "/cas/serviceValidate",
            &[("service", SERVICE), ("ticket", &ticket), ("format", "FOO")],
        )
        .await;
    assert_eq!(status, 200);
    let x = parse_xml(&body);
    assert_eq!(x.outcome, "authenticationFailure");
    assert_eq!(x.code.as_deref(), Some("INVALID_REQUEST"));
    let x = app.cas_xml("/cas/serviceValidate", SERVICE, &ticket).await;
    assert_eq!(x.outcome, "authenticationSuccess");
}

#[tokio::test]
async fn concurrent_validations_of_one_ticket_succeed_once() {
    let app = app_with_cas_service().await;
    let ticket = app.cas_ticket(&app.browser, SERVICE, "alice").await;
    let (a, b, c, d) = tokio::join!(
        app.cas_xml("/cas/serviceValidate", SERVICE, &ticket),
        app.cas_xml("/cas/p3/serviceValidate", SERVICE, &ticket),
        app.cas_xml("/cas/serviceValidate", SERVICE, &ticket),
        app.cas_xml("/cas/proxyValidate", SERVICE, &ticket),
    );
    let outcomes = [a, b, c, d];
    let wins = outcomes
        .iter()
        .filter(|x| x.outcome == "authenticationSuccess")
        .count();
    assert_eq!(wins, 1, "{outcomes:?}");
}

#[tokio::test]
async fn a_huge_ticket_is_refused_at_every_validation_endpoint_without_a_500() {
    let app = app_with_cas_service().await;
    let huge_st = format!("ST-{}", "a".repeat(10_000));
    let huge = "Z".repeat(10_000);
    for path in [
        "/cas/serviceValidate",
        "/cas/proxyValidate",
        "/cas/p3/serviceValidate",
        "/cas/p3/proxyValidate",
    ] {
        for t in [&huge_st, &huge] {
            let (status, body) = app
                .cas_get(path, &[("service", SERVICE), ("ticket", t.as_str())])
                .await;
            assert_eq!(status, 200, "{path}");
            let x = parse_xml(&body);
            assert!(
                matches!(
                    x.code.as_deref(),
                    Some("INVALID_TICKET" | "INVALID_TICKET_SPEC")
                ),
                "{path}: {body}"
            );
            assert!(body.len() < 2000, "the ticket is not echoed whole");
        }
    }
    let (status, body) = app
        .cas_get(
            "/cas/validate",
            &[("service", SERVICE), ("ticket", &huge_st)],
        )
        .await;
    assert_eq!((status, body.as_str()), (200, "no\n\n"));
    let (status, body) = app
        .cas_get("/cas/proxy", &[("pgt", &huge), ("targetService", SERVICE)])
        .await;
    assert_eq!(status, 200);
    assert_eq!(parse_xml(&body).outcome, "proxyFailure");
}

#[tokio::test]
async fn markup_in_a_ticket_or_pgt_is_escaped_in_the_failure() {
    let app = app_with_cas_service().await;
    for t in ["ST-<b>&\"'", "<x>&amp;", "PT-]]>"] {
        for path in ["/cas/serviceValidate", "/cas/p3/proxyValidate"] {
            let (status, body) = app
                .cas_get(path, &[("service", SERVICE), ("ticket", t)])
                .await;
            assert_eq!(status, 200);
            // parse_xml panics on malformed XML.
            assert_eq!(parse_xml(&body).outcome, "authenticationFailure", "{body}");
        }
        let (_, body) = app
            .cas_get("/cas/proxy", &[("pgt", t), ("targetService", SERVICE)])
            .await;
        assert_eq!(parse_xml(&body).outcome, "proxyFailure", "{body}");
        let (_, body) = app
            .cas_get(
                "/cas/serviceValidate",
                &[("service", SERVICE), ("ticket", t), ("format", "JSON")],
            )
            .await;
        let v: Value = serde_json::from_str(&body).unwrap();
        assert!(v["serviceResponse"]["authenticationFailure"]["code"].is_string());
    }
}
