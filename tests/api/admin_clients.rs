//! Administration of clients and CAS services (issue 9): every option changed through
//! `service::admin` (the CLI, the console and the API share it), checked as at registration,
//! audited with the actor; global administrators only.

use guichet::crypto::keys::Alg;
use guichet::domain::admin::{Actor, Principal, Reach};
use guichet::domain::audit::{AuditFilter, AuditKind};
use guichet::domain::cas::PatternKind;
use guichet::domain::grant::GrantType;
use guichet::service::admin::{Admin, AdminError};
use guichet::service::cas::registry::{ServiceChanges, ServiceSpec};
use guichet::service::clients::{ClientChanges, ClientSpec, Lifetimes};
use serde_json::{Value, json};

use crate::cli::Run;
use crate::helpers::*;

fn spec(id: &str) -> ClientSpec {
    ClientSpec {
        client_id: id.into(),
        name: Some("Portal".into()),
        public: false,
        redirect_uris: vec!["https://portal.example/cb".into()],
        post_logout_redirect_uris: vec![],
        grant_types: vec![],
        scopes: vec![],
        first_party: false,
        introspect: false,
        require_mfa: false,
        id_token_alg: Alg::RS256,
        access_token_alg: Alg::ES256,
        lifetimes: Lifetimes::default(),
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
    }
}

fn cas_spec(pattern: &str) -> ServiceSpec {
    ServiceSpec {
        name: "Print".into(),
        pattern: pattern.into(),
        pattern_kind: PatternKind::Exact,
        attributes: vec!["email".into()],
        allow_proxy: false,
        require_mfa: false,
        single_logout: true,
    }
}

/// The detail of the newest audit row of `kind`.
async fn last_detail(app: &TestApp, kind: AuditKind) -> Value {
    let rows = app
        .core
        .db
        .audit_query(&AuditFilter {
            kinds: vec![kind],
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    serde_json::from_str(rows[0].detail.as_deref().unwrap()).unwrap()
}

#[tokio::test]
async fn a_global_administrator_registers_lists_and_changes_every_option_of_a_client() {
    let app = spawn_app().await;
    let admin = admin(&app);
    let now = app.clock.now();
    let (client, secret) = admin.register_client(spec("portal"), now).await.unwrap();
    assert!(
        secret.is_some(),
        "a confidential client's secret, shown once"
    );
    assert_eq!(
        client.grant_types,
        [GrantType::AuthorizationCode, GrantType::RefreshToken]
    );
    assert_eq!(
        last_detail(&app, AuditKind::ClientCreated).await["by"],
        "cli"
    );
    admin.register_client(spec("another"), now).await.unwrap();
    let ids: Vec<String> = admin
        .clients()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.client_id)
        .collect();
    assert_eq!(ids, ["another", "portal"]);
    // A taken id is the administrator's mistake.
    assert!(matches!(
        admin.register_client(spec("portal"), now).await,
        Err(AdminError::Invalid(_))
    ));

    let changes = ClientChanges {
        name: Some(Some("Portail".into())),
        redirect_uris: Some(vec![
            "https://portal.example/callback".into(),
            "http://127.0.0.1/cb".into(),
        ]),
        post_logout_redirect_uris: Some(vec!["https://portal.example/bye".into()]),
        grant_types: Some(vec![
            "authorization_code".into(),
            "client_credentials".into(),
        ]),
        scopes: Some(vec!["openid".into(), "establishments".into(), "api".into()]),
        first_party: Some(true),
        introspect: Some(true),
        require_mfa: Some(true),
        id_token_alg: Some(Alg::ES256),
        access_token_alg: Some(Alg::RS256),
        code_ttl: Some(Some(30)),
        access_token_ttl: Some(Some(120)),
        id_token_ttl: Some(Some(90)),
        offline_ttl: Some(Some(86_400)),
        backchannel_logout_uri: Some(Some("https://portal.example/logout".into())),
        backchannel_logout_session_required: Some(true),
        public: None,
    };
    let (updated, new_secret) = admin
        .update_client("portal", changes, now + 5)
        .await
        .unwrap();
    assert!(new_secret.is_none(), "still confidential: same secret");
    let stored = admin.client("portal").await.unwrap();
    assert_eq!(stored.name.as_deref(), Some("Portail"));
    assert_eq!(
        stored.redirect_uris,
        ["https://portal.example/callback", "http://127.0.0.1/cb"]
    );
    assert_eq!(
        stored.post_logout_redirect_uris,
        ["https://portal.example/bye"]
    );
    assert_eq!(
        stored.grant_types,
        [GrantType::AuthorizationCode, GrantType::ClientCredentials]
    );
    assert_eq!(stored.scopes, ["openid", "establishments", "api"]);
    assert!(stored.first_party && stored.introspect && stored.require_mfa);
    assert_eq!(
        (stored.id_token_alg, stored.access_token_alg),
        (Alg::ES256, Alg::RS256)
    );
    assert_eq!(
        (
            stored.code_ttl,
            stored.access_token_ttl,
            stored.id_token_ttl,
            stored.offline_ttl
        ),
        (Some(30), Some(120), Some(90), Some(86_400))
    );
    assert_eq!(
        stored.backchannel_logout_uri.as_deref(),
        Some("https://portal.example/logout")
    );
    assert!(stored.backchannel_logout_session_required);
    assert_eq!(stored.secret_hash, client.secret_hash);
    assert_eq!((stored.created_at, stored.updated_at), (now, now + 5));
    assert_eq!(updated.redirect_uris, stored.redirect_uris);
    let detail = last_detail(&app, AuditKind::ClientUpdated).await;
    assert_eq!(detail["by"], "cli");
    let changed = detail["changed"].as_array().unwrap();
    for field in ["name", "redirect_uris", "require_mfa", "code_ttl"] {
        assert!(changed.contains(&json!(field)), "{detail}");
    }
    assert!(!changed.contains(&json!("created_at")), "{detail}");

    // Lifetimes back to the server's settings, the name and the logout URI removed: the
    // session flag goes with the URI.
    admin
        .update_client(
            "portal",
            ClientChanges {
                name: Some(None),
                code_ttl: Some(None),
                backchannel_logout_uri: Some(None),
                ..ClientChanges::default()
            },
            now + 6,
        )
        .await
        .unwrap();
    let stored = admin.client("portal").await.unwrap();
    assert_eq!(stored.name, None);
    assert_eq!(stored.code_ttl, None);
    assert_eq!(stored.access_token_ttl, Some(120));
    assert_eq!(stored.backchannel_logout_uri, None);
    assert!(!stored.backchannel_logout_session_required);
    assert!(matches!(
        admin.client("nobody").await,
        Err(AdminError::NotFound(_))
    ));
    assert!(matches!(
        admin
            .update_client(
                "nobody",
                ClientChanges {
                    first_party: Some(true),
                    ..ClientChanges::default()
                },
                now
            )
            .await,
        Err(AdminError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_change_is_checked_by_the_rules_of_registration_and_a_refused_one_changes_nothing() {
    let app = spawn_app().await;
    let admin = admin(&app);
    let now = app.clock.now();
    admin.register_client(spec("portal"), now).await.unwrap();
    let before = admin.client("portal").await.unwrap();
    let uris = |u: &[&str]| ClientChanges {
        redirect_uris: Some(u.iter().map(|s| s.to_string()).collect()),
        ..ClientChanges::default()
    };
    let refused = [
        uris(&["https://portal.example/cb#frag"]),
        uris(&["http://portal.example/cb"]),
        uris(&["myapp:/cb"]),
        uris(&["javascript:alert(1)"]),
        uris(&["https://user:pw@portal.example/cb"]),
        uris(&["https://portal.example/a b"]),
        uris(&[]),
        ClientChanges {
            post_logout_redirect_uris: Some(vec!["http://portal.example/bye".into()]),
            ..ClientChanges::default()
        },
        ClientChanges {
            grant_types: Some(vec!["implicit".into()]),
            ..ClientChanges::default()
        },
        ClientChanges {
            public: Some(true),
            grant_types: Some(vec!["client_credentials".into()]),
            ..ClientChanges::default()
        },
        ClientChanges {
            scopes: Some(vec!["bad\"scope".into()]),
            ..ClientChanges::default()
        },
        ClientChanges {
            code_ttl: Some(Some(601)),
            ..ClientChanges::default()
        },
        ClientChanges {
            access_token_ttl: Some(Some(0)),
            ..ClientChanges::default()
        },
        ClientChanges {
            backchannel_logout_session_required: Some(true),
            ..ClientChanges::default()
        },
        ClientChanges {
            backchannel_logout_uri: Some(Some("http://portal.example/logout".into())),
            ..ClientChanges::default()
        },
        ClientChanges::default(),
    ];
    for (i, change) in refused.into_iter().enumerate() {
        let got = admin.update_client("portal", change, now + 1).await;
        assert!(matches!(got, Err(AdminError::Invalid(_))), "#{i}: {got:?}");
    }
    let after = admin.client("portal").await.unwrap();
    assert_eq!(
        serde_json::to_value(&after).unwrap(),
        serde_json::to_value(&before).unwrap()
    );
    // RFC 8252: loopback on any port and a private-use scheme named after a domain.
    admin
        .update_client(
            "portal",
            uris(&["http://[::1]/cb", "com.example.app:/cb"]),
            now + 1,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_client_made_confidential_gets_a_working_secret_and_one_made_public_loses_it() {
    let app = spawn_app().await;
    let admin = admin(&app);
    let now = app.clock.now();
    let mut public = spec("app");
    public.public = true;
    let (client, secret) = admin.register_client(public, now).await.unwrap();
    assert!(secret.is_none() && client.secret_hash.is_none());

    let (client, secret) = admin
        .update_client(
            "app",
            ClientChanges {
                public: Some(false),
                grant_types: Some(vec!["client_credentials".into()]),
                redirect_uris: Some(vec![]),
                scopes: Some(vec!["api".into()]),
                ..ClientChanges::default()
            },
            now,
        )
        .await
        .unwrap();
    let secret = secret.expect("a secret for the client made confidential");
    assert!(!client.public && client.secret_hash.is_some());
    // The token endpoint takes it (the client was never cached).
    let tc = TestClient {
        id: "app".into(),
        secret: Some(secret.clone()),
        redirect_uri: String::new(),
    };
    let res = app
        .token(
            &tc,
            &[("grant_type", "client_credentials"), ("scope", "api")],
        )
        .await;
    assert_eq!(res.status(), 200);
    let detail = last_detail(&app, AuditKind::ClientUpdated).await;
    assert!(
        detail["changed"]
            .as_array()
            .unwrap()
            .contains(&json!("secret")),
        "{detail}"
    );

    // Back to public (with a grant a public client may have): no secret kept.
    let (client, secret) = admin
        .update_client(
            "app",
            ClientChanges {
                public: Some(true),
                grant_types: Some(vec!["authorization_code".into()]),
                redirect_uris: Some(vec!["https://app.example/cb".into()]),
                ..ClientChanges::default()
            },
            now,
        )
        .await
        .unwrap();
    assert!(secret.is_none() && client.public && client.secret_hash.is_none());
    assert!(
        app.core
            .db
            .client_by_id("app")
            .await
            .unwrap()
            .unwrap()
            .secret_hash
            .is_none()
    );
}

#[tokio::test]
async fn cas_services_are_registered_listed_changed_and_removed_through_the_administration() {
    let app = spawn_app().await;
    let admin = admin(&app);
    let now = app.clock.now();
    let s = admin
        .register_cas_service(cas_spec("https://print.example.edu/login"), now)
        .await
        .unwrap();
    assert!(s.id.starts_with("cas-"));
    let created = last_detail(&app, AuditKind::ClientCreated).await;
    assert_eq!(created["protocol"], "cas");
    assert_eq!(created["by"], "cli");
    assert_eq!(admin.cas_services().await.unwrap().len(), 1);

    let changed = admin
        .update_cas_service(
            &s.id,
            ServiceChanges {
                name: Some(" Impression ".into()),
                pattern: Some("https://print.example.edu/".into()),
                pattern_kind: Some(PatternKind::Prefix),
                attributes: Some(vec!["email".into(), "establishments".into()]),
                allow_proxy: Some(true),
                require_mfa: Some(true),
                single_logout: Some(false),
                enabled: Some(false),
            },
            now + 3,
        )
        .await
        .unwrap();
    let stored = admin.cas_service(&s.id).await.unwrap();
    assert_eq!(stored.name, "Impression");
    assert_eq!(stored.pattern, "https://print.example.edu/");
    assert_eq!(stored.pattern_kind, PatternKind::Prefix);
    assert_eq!(stored.attributes, ["email", "establishments"]);
    assert!(stored.allow_proxy && stored.require_mfa && !stored.single_logout);
    assert!(stored.disabled);
    assert_eq!((stored.created_at, stored.updated_at), (now, now + 3));
    assert_eq!(changed.pattern, stored.pattern);
    let detail = last_detail(&app, AuditKind::CasServiceUpdated).await;
    assert_eq!(detail["by"], "cli");
    assert_eq!(detail["disabled"], true);
    assert!(
        detail["changed"]
            .as_array()
            .unwrap()
            .contains(&json!("pattern"))
    );

    // Checked as at registration; a refused change changes nothing.
    let before = serde_json::to_value(admin.cas_service(&s.id).await.unwrap()).unwrap();
    for change in [
        ServiceChanges {
            pattern: Some("https://print.example.edu".into()),
            ..ServiceChanges::default()
        },
        ServiceChanges {
            pattern_kind: Some(PatternKind::Regex),
            pattern: Some("(unclosed".into()),
            ..ServiceChanges::default()
        },
        ServiceChanges {
            attributes: Some(vec!["password".into()]),
            ..ServiceChanges::default()
        },
        ServiceChanges {
            name: Some("  ".into()),
            ..ServiceChanges::default()
        },
        ServiceChanges::default(),
    ] {
        let got = admin.update_cas_service(&s.id, change, now + 4).await;
        assert!(matches!(got, Err(AdminError::Invalid(_))), "{got:?}");
    }
    let after = serde_json::to_value(admin.cas_service(&s.id).await.unwrap()).unwrap();
    assert_eq!(after, before);

    admin.remove_cas_service(&s.id, now + 5).await.unwrap();
    assert_eq!(
        last_detail(&app, AuditKind::CasServiceUpdated).await["removed"],
        true
    );
    assert!(matches!(
        admin.cas_service(&s.id).await,
        Err(AdminError::NotFound(_))
    ));
    assert!(matches!(
        admin.remove_cas_service(&s.id, now).await,
        Err(AdminError::NotFound(_))
    ));
}

#[tokio::test]
async fn an_establishment_administrator_can_neither_see_nor_change_clients_or_cas_services() {
    let app = spawn_app().await;
    let cli = admin(&app);
    let now = app.clock.now();
    let upec = cli
        .create_establishment("UPEC", "Université", &[], now)
        .await
        .unwrap();
    cli.register_client(spec("portal"), now).await.unwrap();
    let service = cli
        .register_cas_service(cas_spec("https://print.example.edu/login"), now)
        .await
        .unwrap();
    let before_client = serde_json::to_value(cli.client("portal").await.unwrap()).unwrap();
    let before_service = serde_json::to_value(cli.cas_service(&service.id).await.unwrap()).unwrap();
    let audit_rows = app.core.db.audit_recent(1000).await.unwrap().len();

    let actor = Actor {
        principal: Principal::User("someone".into()),
        reach: Reach::Establishments(vec![upec.id.clone()]),
    };
    let mine = Admin::new(&app.core, &actor);
    let forbidden = |r: Result<(), AdminError>, what: &str| {
        assert!(matches!(r, Err(AdminError::Forbidden(_))), "{what}: {r:?}");
    };
    let name = |n: &str| ClientChanges {
        name: Some(Some(n.into())),
        ..ClientChanges::default()
    };
    forbidden(
        mine.register_client(spec("mine"), now).await.map(drop),
        "register_client",
    );
    forbidden(mine.client("portal").await.map(drop), "client");
    forbidden(mine.clients().await.map(drop), "clients");
    forbidden(
        mine.update_client("portal", name("Mine"), now)
            .await
            .map(drop),
        "update_client",
    );
    forbidden(
        mine.rotate_client_secret("portal", now).await.map(drop),
        "rotate_client_secret",
    );
    forbidden(
        mine.set_client_disabled("portal", true, now)
            .await
            .map(drop),
        "set_client_disabled",
    );
    forbidden(
        mine.set_client_require_mfa("portal", true, now).await,
        "set_client_require_mfa",
    );
    forbidden(
        mine.set_client_backchannel_logout("portal", Some(None), None, now)
            .await
            .map(drop),
        "set_client_backchannel_logout",
    );
    forbidden(
        mine.remove_client("portal", now).await.map(drop),
        "remove_client",
    );
    forbidden(
        mine.register_cas_service(cas_spec("https://mine.example.edu/"), now)
            .await
            .map(drop),
        "register_cas_service",
    );
    forbidden(mine.cas_service(&service.id).await.map(drop), "cas_service");
    forbidden(mine.cas_services().await.map(drop), "cas_services");
    forbidden(
        mine.update_cas_service(
            &service.id,
            ServiceChanges {
                enabled: Some(false),
                ..ServiceChanges::default()
            },
            now,
        )
        .await
        .map(drop),
        "update_cas_service",
    );
    forbidden(
        mine.remove_cas_service(&service.id, now).await,
        "remove_cas_service",
    );

    // Nothing changed, nothing was added, nothing was audited.
    assert_eq!(
        serde_json::to_value(cli.client("portal").await.unwrap()).unwrap(),
        before_client
    );
    assert_eq!(
        serde_json::to_value(cli.cas_service(&service.id).await.unwrap()).unwrap(),
        before_service
    );
    assert_eq!(cli.clients().await.unwrap().len(), 1);
    assert_eq!(cli.cas_services().await.unwrap().len(), 1);
    assert_eq!(
        app.core.db.audit_recent(1000).await.unwrap().len(),
        audit_rows
    );
}

#[tokio::test]
async fn client_update_show_and_list_on_the_command_line_print_json() {
    let run = Run::new().await;
    let added = run
        .client_add("portal", &["--redirect-uri", "https://portal.example/cb"])
        .json();
    assert!(added["client_secret"].is_string());
    let out = run
        .run(&[
            "client",
            "update",
            "--client-id",
            "portal",
            "--name",
            "Portail",
            "--redirect-uri",
            "https://portal.example/a",
            "--redirect-uri",
            "https://portal.example/b",
            "--scope",
            "openid",
            "--scope",
            "email",
            "--require-mfa",
            "--first-party",
            "--code-ttl",
            "30",
            "--id-token-alg",
            "ES256",
            "--backchannel-logout-uri",
            "https://portal.example/logout",
            "--backchannel-logout-session-required",
        ])
        .json();
    assert_eq!(out["client_id"], "portal");
    assert_eq!(out["name"], "Portail");
    assert_eq!(
        out["redirect_uris"],
        json!(["https://portal.example/a", "https://portal.example/b"])
    );
    assert_eq!(out["scopes"], json!(["openid", "email"]));
    assert_eq!(out["require_mfa"], true);
    assert_eq!(out["first_party"], true);
    assert_eq!(out["code_ttl"], 30);
    assert_eq!(out["id_token_alg"], "ES256");
    assert_eq!(out["backchannel_logout_session_required"], true);
    assert!(out.get("client_secret").is_none() && out.get("secret_hash").is_none());

    let out = run
        .run(&[
            "client",
            "update",
            "--client-id",
            "portal",
            "--no-name",
            "--no-require-mfa",
            "--code-ttl",
            "default",
            "--no-backchannel-logout-uri",
        ])
        .json();
    assert_eq!(out["name"], Value::Null);
    assert_eq!(out["require_mfa"], false);
    assert_eq!(out["code_ttl"], Value::Null);
    assert_eq!(out["backchannel_logout_uri"], Value::Null);
    assert_eq!(out["backchannel_logout_session_required"], false);

    let shown = run.run(&["client", "show", "--client-id", "portal"]).json();
    assert_eq!(shown["redirect_uris"], out["redirect_uris"]);
    assert!(shown.get("secret_hash").is_none());
    run.client_add("api", &["--grant-type", "client_credentials"])
        .json();
    let list = run.run(&["client", "list"]).json();
    let ids: Vec<&str> = list["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["api", "portal"]);

    // Refusals: one line, nothing changed.
    let line = run
        .run(&[
            "client",
            "update",
            "--client-id",
            "portal",
            "--redirect-uri",
            "http://portal.example/cb",
        ])
        .failure();
    assert!(line.contains("https"), "{line}");
    let line = run
        .run(&["client", "update", "--client-id", "portal"])
        .failure();
    assert!(line.contains("nothing to change"), "{line}");
    let line = run
        .run(&["client", "update", "--client-id", "nobody", "--first-party"])
        .failure();
    assert!(line.contains("no client"), "{line}");
    assert_eq!(
        run.run(&["client", "show", "--client-id", "portal"]).json(),
        shown
    );
}

#[tokio::test]
async fn cas_service_update_on_the_command_line_changes_the_options_given() {
    let run = Run::new().await;
    let id = run
        .run(&[
            "cas-service",
            "add",
            "--name",
            "Print",
            "--pattern",
            "https://print.example.edu/login",
        ])
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = run
        .run(&[
            "cas-service",
            "update",
            "--id",
            &id,
            "--name",
            "Impression",
            "--pattern",
            "https://print.example.edu/",
            "--pattern-kind",
            "prefix",
            "--attribute",
            "email",
            "--allow-proxy",
            "--no-single-logout",
            "--disable",
        ])
        .json();
    assert_eq!(out["name"], "Impression");
    assert_eq!(out["pattern_kind"], "prefix");
    assert_eq!(out["attributes"], json!(["email"]));
    assert_eq!(out["allow_proxy"], true);
    assert_eq!(out["single_logout"], false);
    assert_eq!(out["disabled"], true);
    let out = run
        .run(&[
            "cas-service",
            "update",
            "--id",
            &id,
            "--enable",
            "--no-attributes",
        ])
        .json();
    assert_eq!(out["disabled"], false);
    assert_eq!(out["attributes"], json!([]));
    assert_eq!(out["allow_proxy"], true, "what is not given stays");
    let line = run
        .run(&[
            "cas-service",
            "update",
            "--id",
            &id,
            "--pattern",
            "https://print.example.edu",
        ])
        .failure();
    assert!(line.contains("print.example.edu"), "{line}");
    assert_eq!(
        run.run(&["cas-service", "show", "--id", &id]).json()["pattern"],
        "https://print.example.edu/"
    );
}
