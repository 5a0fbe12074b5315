//! Reading the audit log back: the search by user, client, kind and date that `guichet audit`
//! (and later the console) uses, its pages, and the CSV export.

use guichet::domain::audit::{AuditEvent, AuditKind, AuditRecord};
use guichet::service::admin::AdminError;
use guichet::service::audit_log::{self, Page, Search};
use guichet::store::Db;
use serde_json::json;

use crate::cli::Run;
use crate::helpers::*;

/// The search's page once `done` holds of it (the audit is written off the request path).
async fn search_until(db: &Db, s: &Search, done: impl Fn(&Page) -> bool) -> Page {
    for _ in 0..40 {
        let page = audit_log::search(db, s).await.unwrap();
        if done(&page) {
            return page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the audit never matched {s:?}");
}

fn kinds(page: &Page) -> Vec<&str> {
    page.events.iter().map(|e| e.kind.as_str()).collect()
}

#[tokio::test]
async fn sign_ins_are_found_by_user_identifier_client_and_kind() {
    let app = spawn_app().await;
    let alice = app.create_user("alice").await;
    app.create_user("bob").await;
    let rp = app.create_client("rp", |_| {}).await;
    let wiki = app.create_client("wiki", |_| {}).await;
    // A sign-in to rp, then single sign-on to wiki: one login.success, two tokens.
    app.code_flow_tokens(&rp, "alice", "openid").await;
    app.code_flow_tokens(&wiki, "alice", "openid").await;
    let db = &app.core.db;

    let by_kind = Search {
        kinds: vec!["token.issued".into()],
        ..Search::default()
    };
    let page = search_until(db, &by_kind, |p| p.events.len() >= 2).await;
    assert!(kinds(&page).iter().all(|k| *k == "token.issued"));
    let mut clients: Vec<_> = page.events.iter().map(|e| e.client_id.clone()).collect();
    clients.sort();
    assert_eq!(clients, [Some("rp".into()), Some("wiki".into())]);
    // Newest first.
    assert!(page.events.windows(2).all(|w| w[0].at >= w[1].at));

    // By e-mail address, in any case: alice's sign-in and tokens.
    let by_user = Search {
        user: Some("Alice@Example.org".into()),
        ..Search::default()
    };
    let page = search_until(db, &by_user, |p| kinds(p).contains(&"login.success")).await;
    assert!(
        page.events
            .iter()
            .all(|e| e.user_id.as_deref() == Some(alice.as_str())),
        "{page:?}"
    );
    assert!(kinds(&page).contains(&"token.issued"), "{page:?}");
    let bob = Search {
        user: Some("bob".into()),
        ..Search::default()
    };
    assert!(audit_log::search(db, &bob).await.unwrap().events.is_empty());

    let by_client = Search {
        client_id: Some(wiki.id.clone()),
        ..Search::default()
    };
    let page = audit_log::search(db, &by_client).await.unwrap();
    assert!(
        page.events
            .iter()
            .all(|e| e.client_id.as_deref() == Some("wiki")),
        "{page:?}"
    );
    assert!(kinds(&page).contains(&"token.issued"), "{page:?}");
    assert!(!kinds(&page).contains(&"login.success"), "{page:?}");

    // Every filter at once: alice's one sign-in to rp.
    let all = Search {
        user: Some("alice".into()),
        client_id: Some("rp".into()),
        kinds: vec!["login.success".into(), "login.failure".into()],
        since: Some(app.clock.now() - 60),
        until: Some(app.clock.now() + 60),
        ..Search::default()
    };
    let page = audit_log::search(db, &all).await.unwrap();
    assert_eq!(kinds(&page), ["login.success"]);
    assert_eq!(page.next, None);
}

/// Eleven events one second apart from t = 1000, then five in the same second (2000).
async fn insert_series(db: &Db) {
    let mut events = Vec::new();
    for i in 0..11 {
        let kind = if i % 2 == 0 {
            AuditKind::LoginFailure
        } else {
            AuditKind::Logout
        };
        events.push(AuditEvent::new(1000 + i, kind).client("series"));
    }
    for _ in 0..5 {
        events.push(AuditEvent::new(2000, AuditKind::TokenIssued).client("series"));
    }
    db.audit_insert(&events).await.unwrap();
}

#[tokio::test]
async fn a_date_range_includes_its_start_and_excludes_its_end() {
    let app = spawn_app().await;
    insert_series(&app.core.db).await;
    let page = audit_log::search(
        &app.core.db,
        &Search {
            since: Some(1003),
            until: Some(1006),
            ..Search::default()
        },
    )
    .await
    .unwrap();
    let ats: Vec<i64> = page.events.iter().map(|e| e.at).collect();
    assert_eq!(ats, [1005, 1004, 1003]);

    // RFC 3339 bounds mean the same instants.
    assert_eq!(
        audit_log::parse_time("1970-01-01T00:16:43Z"),
        Some(1003),
        "1003 s after the epoch"
    );
    let failures = audit_log::search(
        &app.core.db,
        &Search {
            kinds: vec!["login.failure".into()],
            since: Some(1003),
            until: Some(1006),
            ..Search::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        failures.events.iter().map(|e| e.at).collect::<Vec<_>>(),
        [1004]
    );
}

#[tokio::test]
async fn pages_follow_one_another_without_a_gap_or_a_repeat_even_within_one_second() {
    let app = spawn_app().await;
    insert_series(&app.core.db).await;
    let whole = audit_log::search(
        &app.core.db,
        &Search {
            client_id: Some("series".into()),
            ..Search::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(whole.events.len(), 16);
    assert_eq!(whole.next, None);

    let mut seen: Vec<AuditRecord> = Vec::new();
    let mut before = None;
    let mut pages = 0;
    loop {
        let page = audit_log::search(
            &app.core.db,
            &Search {
                client_id: Some("series".into()),
                limit: Some(3),
                before: before.clone(),
                ..Search::default()
            },
        )
        .await
        .unwrap();
        assert!(page.events.len() <= 3);
        pages += 1;
        seen.extend(page.events);
        match page.next {
            Some(next) => before = Some(next.encode()),
            None => break,
        }
    }
    assert_eq!(pages, 6);
    assert_eq!(
        seen, whole.events,
        "the pages, end to end, are the whole list"
    );
}

#[tokio::test]
async fn a_search_refuses_an_unknown_user_kind_bad_limits_ranges_and_cursors() {
    let app = spawn_app().await;
    let db = &app.core.db;
    let refused = |r: Result<Page, AdminError>| match r {
        Err(e) => e.to_string(),
        Ok(p) => panic!("accepted: {p:?}"),
    };
    let e = refused(
        audit_log::search(
            db,
            &Search {
                user: Some("nobody".into()),
                ..Search::default()
            },
        )
        .await,
    );
    assert!(e.contains("no user has the identifier"), "{e}");
    let e = refused(
        audit_log::search(
            db,
            &Search {
                kinds: vec!["login.nope".into()],
                ..Search::default()
            },
        )
        .await,
    );
    assert!(e.contains("unknown audit kind"), "{e}");
    for limit in [0, 10_001] {
        let e = refused(
            audit_log::search(
                db,
                &Search {
                    limit: Some(limit),
                    ..Search::default()
                },
            )
            .await,
        );
        assert!(e.contains("between 1 and 10000"), "{e}");
    }
    let e = refused(
        audit_log::search(
            db,
            &Search {
                since: Some(10),
                until: Some(10),
                ..Search::default()
            },
        )
        .await,
    );
    assert!(e.contains("before until"), "{e}");
    let e = refused(
        audit_log::search(
            db,
            &Search {
                before: Some("' or 1=1 --".into()),
                ..Search::default()
            },
        )
        .await,
    );
    assert!(e.contains("not a page cursor"), "{e}");

    // A user id as such still finds a removed user's rows.
    let gone = uuid::Uuid::now_v7().to_string();
    db.audit_insert(&[AuditEvent::new(5, AuditKind::Logout).user(&gone)])
        .await
        .unwrap();
    let page = audit_log::search(
        db,
        &Search {
            user: Some(gone.clone()),
            ..Search::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(kinds(&page), ["logout"]);
    assert_eq!(page.events[0].user_id.as_deref(), Some(gone.as_str()));
}

/// A CLI run with a user and three events, one with a formula as its detail.
async fn cli_with_events() -> (Run, String) {
    let run = Run::new().await;
    let alice = run
        .user_add("alice", &["--password", "correct horse battery"])
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let db = Db::connect(&run.database_url).await.unwrap();
    let mut injected = AuditEvent::new(1_764_503_275, AuditKind::LoginFailure).user(&alice);
    injected.detail = Some("=cmd|' /C calc'!A0".into());
    db.audit_insert(&[
        AuditEvent::new(1_764_503_000, AuditKind::LoginSuccess)
            .user(&alice)
            .client("rp")
            .ip(Some("192.0.2.7".into()))
            .detail(json!({"amr": ["pwd"]})),
        injected,
        AuditEvent::new(1_764_400_000, AuditKind::Logout).client("other"),
    ])
    .await
    .unwrap();
    db.close().await;
    (run, alice)
}

#[tokio::test]
async fn audit_list_prints_the_matching_events_as_one_json_object() {
    let (run, alice) = cli_with_events().await;
    let out = run
        .run(&[
            "audit",
            "list",
            "--user",
            "alice",
            "--kind",
            "login.success",
            "--kind",
            "login.failure",
            "--since",
            "2025-11-30T00:00:00Z",
        ])
        .json();
    let events = out["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{out}");
    assert_eq!(events[0]["kind"], "login.failure");
    assert_eq!(events[0]["time"], "2025-11-30T11:47:55Z");
    assert_eq!(events[1]["kind"], "login.success");
    assert_eq!(events[1]["user_id"], json!(alice));
    assert_eq!(events[1]["client_id"], "rp");
    assert_eq!(events[1]["ip"], "192.0.2.7");
    assert_eq!(events[1]["detail"], json!({"amr": ["pwd"]}));
    assert_eq!(out["next"], json!(null));

    // Pages: one event, then the next from its cursor.
    let first = run.run(&["audit", "list", "--limit", "1"]).json();
    let next = first["next"].as_str().unwrap().to_owned();
    let second = run
        .run(&["audit", "list", "--limit", "1", "--before", &next])
        .json();
    assert_ne!(first["events"][0]["id"], second["events"][0]["id"]);

    let by_client = run
        .run(&[
            "audit",
            "list",
            "--client",
            "other",
            "--until",
            "1764400001",
        ])
        .json();
    assert_eq!(by_client["events"].as_array().unwrap().len(), 1);
    assert_eq!(by_client["events"][0]["kind"], "logout");

    let line = run.run(&["audit", "list", "--user", "nobody"]).failure();
    assert!(line.contains("no user has the identifier"), "{line}");
    let line = run.run(&["audit", "list", "--kind", "nope"]).failure();
    assert!(line.contains("unknown audit kind"), "{line}");
    run.run(&["audit", "list", "--since", "yesterday"])
        .usage_error();
}

#[tokio::test]
async fn audit_export_writes_csv_with_formulas_neutralised_to_stdout_or_a_file() {
    let (run, alice) = cli_with_events().await;
    // `user add` wrote `user.created` now; the range leaves it out.
    let csv = run
        .run(&[
            "audit",
            "export",
            "--user",
            "alice",
            "--until",
            "1764600000",
        ])
        .text();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(lines[0], "at,kind,user_id,client_id,ip,detail");
    assert_eq!(
        lines[1],
        format!("2025-11-30T11:47:55Z,login.failure,{alice},,,'=cmd|' /C calc'!A0")
    );
    assert_eq!(
        lines[2],
        format!(
            r#"2025-11-30T11:43:20Z,login.success,{alice},rp,192.0.2.7,"{{""amr"":[""pwd""]}}""#
        )
    );
    assert_eq!(lines[3], "", "CRLF after the last row, nothing more");
    assert_eq!(lines.len(), 4);

    let out = run
        .run(&["audit", "export", "--output", "audit.csv", "--limit", "2"])
        .json();
    assert_eq!(out, json!({"file": "audit.csv", "rows": 2}));
    let written = std::fs::read_to_string(run.path().join("audit.csv")).unwrap();
    assert_eq!(written.lines().count(), 3, "{written}");
    assert!(written.starts_with("at,kind,user_id,client_id,ip,detail\r\n"));
    assert!(written.contains("'=cmd"), "{written}");
}
