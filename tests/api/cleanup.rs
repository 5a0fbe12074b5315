//! The clean-up (issue 10 §2): with the clock moved past each lifetime, a run removes exactly
//! what expired and keeps what lives (a used refresh token of a live grant included: replaying
//! it still revokes the grant); a backlog goes in short batches; on PostgreSQL one node at a
//! time; every node runs it in the background; `guichet cleanup` runs it once.

use std::time::{Duration, Instant};

use guichet::app::cleanup_rules;
use guichet::config::Settings;
use guichet::domain::audit::{AuditEvent, AuditKind};
use guichet::service::cleanup::{self, Report};
use guichet::store::{Backend, Db};
use serde_json::json;

use crate::cli::Run;
use crate::helpers::*;

const DAY: i64 = 86_400;

/// An application whose background clean-up is off: the test runs it itself.
async fn app_without_background_cleanup() -> TestApp {
    spawn_with(Options {
        settings: Some(|s| s.cleanup_interval = 0),
        ..Options::default()
    })
    .await
}

async fn run_now(app: &TestApp) -> Report {
    cleanup::run(
        &app.core.db,
        &cleanup_rules(&Settings::default()),
        app.clock.now(),
    )
    .await
    .unwrap()
}

async fn count(db: &Db, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db.pool()).await.unwrap()
}

async fn count_before(db: &Db, sql: &str, cut: i64) -> i64 {
    sqlx::query_scalar(sql)
        .bind(cut)
        .fetch_one(db.pool())
        .await
        .unwrap()
}

/// Every audit event recorded so far is in the database: a marker is recorded last and
/// waited for (the writer keeps the order).
async fn audit_flushed(app: &TestApp) {
    let marker = uuid::Uuid::new_v4().to_string();
    app.core.audit.record(
        AuditEvent::new(app.clock.now(), AuditKind::Logout).detail(json!({ "marker": marker })),
    );
    let detail = json!({ "marker": marker }).to_string();
    for _ in 0..100 {
        let n: i64 = sqlx::query_scalar("select count(*) from audit_events where detail = $1")
            .bind(&detail)
            .fetch_one(app.core.db.pool())
            .await
            .unwrap();
        if n == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the audit writer did not write the marker");
}

/// (grants, refresh tokens, invitations) in the database.
async fn rows(db: &Db) -> (i64, i64, i64) {
    (
        count(db, "select count(*) from grants").await,
        count(db, "select count(*) from refresh_tokens").await,
        count(db, "select count(*) from invitations").await,
    )
}

fn removed(r: &Report) -> (u64, u64, u64, u64, bool) {
    (
        r.grants,
        r.refresh_tokens,
        r.invitations,
        r.audit,
        r.skipped,
    )
}

#[tokio::test]
async fn a_run_removes_exactly_what_expired_and_keeps_what_lives() {
    let app = app_without_background_cleanup().await;
    app.create_user("alice").await;
    let rp = app.create_client("rp1", |_| {}).await;
    let db = &app.core.db;
    let t0 = app.clock.now();

    // A session-bound grant whose token was rotated once (two tokens), an offline grant (one),
    // a set-up link good for seven days, and the audit events of all that.
    let session = app.code_flow_tokens(&rp, "alice", "openid").await;
    let (status, _) = refresh(&app, &rp, str_of(&session, "refresh_token")).await;
    assert_eq!(status, 200);
    let offline = app
        .code_flow_tokens(&rp, "alice", "openid offline_access")
        .await;
    let (_, first_deadline) = admin(&app)
        .setup_link(&app.issuer, app.clock.now())
        .await
        .unwrap();
    assert!(first_deadline <= t0 + 7 * DAY + 60);
    assert_eq!(rows(db).await, (2, 3, 1));

    // A day on, the session (10 h) is long over, and so is the margin after it (10 h more):
    // the session-bound grant and its two tokens go. The offline grant lives 30 days.
    app.clock.advance(DAY);
    assert_eq!(removed(&run_now(&app).await), (1, 2, 0, 0, false));
    assert_eq!(rows(db).await, (1, 1, 1));
    let (status, rotated) = refresh(&app, &rp, str_of(&offline, "refresh_token")).await;
    assert_eq!(status, 200, "{rotated}");
    // A second set-up link (the first is revoked, not removed), a day later than the first.
    admin(&app)
        .setup_link(&app.issuer, app.clock.now())
        .await
        .unwrap();
    assert_eq!(rows(db).await, (1, 2, 2));

    // Thirty days and an hour after the start the first offline token is past its own expiry,
    // used; its grant lives on (it slid with the rotation): nothing goes, and replaying that
    // token still revokes the grant and the token it was swapped for (RFC 9700 §4.14.2).
    app.clock.advance(29 * DAY + 3600);
    assert_eq!(removed(&run_now(&app).await), (0, 0, 0, 0, false));
    assert_eq!(rows(db).await, (1, 2, 2));
    assert_invalid_grant(refresh_with(&app, &rp, str_of(&offline, "refresh_token"), None).await)
        .await;
    assert_invalid_grant(refresh_with(&app, &rp, str_of(&rotated, "refresh_token"), None).await)
        .await;
    audit_flushed(&app).await;
    let recent = app.clock.now();

    // 400 days after the first link's deadline and half a day: it goes, the second (a day
    // later) stays; audit events older than 400 days go, the recent ones stay. The offline
    // grant is long dead: it goes with both its tokens.
    app.clock
        .advance(t0 + 407 * DAY + DAY / 2 - app.clock.now());
    let cut = app.clock.now() - 400 * DAY;
    assert!(first_deadline < cut && first_deadline + DAY > cut && recent > cut);
    let old_audit = count_before(db, "select count(*) from audit_events where at < $1", cut).await;
    let all_audit = count(db, "select count(*) from audit_events").await;
    assert!(old_audit > 0 && all_audit > old_audit);
    let report = run_now(&app).await;
    assert_eq!(
        removed(&report),
        (1, 2, 1, u64::try_from(old_audit).unwrap(), false)
    );
    assert_eq!(rows(db).await, (0, 0, 1));
    assert_eq!(
        count(db, "select count(*) from audit_events").await,
        all_audit - old_audit
    );
    let kept: i64 = count(db, "select min(at) from audit_events").await;
    assert!(kept >= cut);

    // Nothing left to remove.
    assert_eq!(removed(&run_now(&app).await), (0, 0, 0, 0, false));
}

#[tokio::test]
async fn consents_go_with_their_client_without_the_cleanup() {
    let app = app_without_background_cleanup().await;
    let alice = app.create_user("alice").await;
    app.create_client("tp", |s| s.first_party = false).await;
    let db = &app.core.db;
    db.consent_put(&alice, "tp", &["openid".to_owned()], app.clock.now())
        .await
        .unwrap();
    assert_eq!(count(db, "select count(*) from consents").await, 1);
    admin(&app)
        .remove_client("tp", app.clock.now())
        .await
        .unwrap();
    assert_eq!(count(db, "select count(*) from consents").await, 0);
}

/// Inserts `n` rows with one statement: `select_list` over `i` from 1 to `n`.
async fn bulk(db: &Db, table_and_columns: &str, n: i64, select_list: &str) {
    let sql = format!(
        "insert into {table_and_columns} \
         with recursive n(i) as (select 1 union all select i + 1 from n where i < {n}) \
         select {select_list} from n"
    );
    sqlx::query(&sql).execute(db.pool()).await.unwrap();
}

#[tokio::test]
async fn a_backlog_of_100000_expired_rows_goes_in_short_batches() {
    let app = app_without_background_cleanup().await;
    let alice = app.create_user("alice").await;
    app.create_client("rp1", |_| {}).await;
    let db = &app.core.db;
    let now = app.clock.now();
    let dead = now - 10 * DAY;
    let old = now - 401 * DAY;
    bulk(
        db,
        "grants (id, user_id, client_id, scope, auth_time, created_at, expires_at)",
        20_000,
        &format!("'g-' || i, '{alice}', 'rp1', 'openid', {dead}, {dead}, {dead}"),
    )
    .await;
    bulk(
        db,
        "refresh_tokens (token_hash, grant_id, created_at, expires_at)",
        20_000,
        &format!("'t-' || i, 'g-' || i, {dead}, {dead}"),
    )
    .await;
    bulk(
        db,
        "audit_events (id, at, kind, user_id)",
        60_000,
        &format!("'a-' || i, {old}, 'login.success', '{alice}'"),
    )
    .await;
    assert_eq!(rows(db).await, (20_000, 20_000, 0));

    let start = Instant::now();
    let report = run_now(&app).await;
    let took = start.elapsed();
    assert_eq!(removed(&report), (20_000, 20_000, 0, 60_000, false));
    assert_eq!(rows(db).await, (0, 0, 0));
    assert_eq!(count(db, "select count(*) from audit_events").await, 0);
    // 2,000 rows a statement at most: at least 50 statements.
    assert!(report.batches >= 50, "{report:?}");
    eprintln!("backlog of 100000 rows removed in {took:?}: {report:?}");
    if db.backend() == Backend::Sqlite {
        assert!(report.slowest_batch_ms < 1000, "{report:?}");
    }
}

/// An audit event older than the retention, written directly.
async fn old_audit_event(db: &Db, at: i64) {
    sqlx::query("insert into audit_events (id, at, kind) values ($1, $2, 'logout')")
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(at)
        .execute(db.pool())
        .await
        .unwrap();
}

#[tokio::test]
async fn on_postgresql_a_run_skips_while_another_node_holds_the_lock() {
    let app = app_without_background_cleanup().await;
    let db = &app.core.db;
    old_audit_event(db, app.clock.now() - 401 * DAY).await;
    // Another node's run, as far as the lock goes.
    let lock = db.cleanup_lock().await.unwrap().expect("the lock is free");
    let report = run_now(&app).await;
    match db.backend() {
        Backend::Postgres => {
            assert_eq!(removed(&report), (0, 0, 0, 0, true));
            assert_eq!(report.batches, 0);
            assert_eq!(count(db, "select count(*) from audit_events").await, 1);
            lock.release().await.unwrap();
            assert_eq!(removed(&run_now(&app).await), (0, 0, 0, 1, false));
        }
        // One node: nothing to wait for.
        Backend::Sqlite => {
            assert_eq!(removed(&report), (0, 0, 0, 1, false));
            lock.release().await.unwrap();
        }
    }
    // Released after each run: the next one takes it again.
    let again = db.cleanup_lock().await.unwrap().expect("released");
    again.release().await.unwrap();
}

#[tokio::test]
async fn every_node_cleans_up_in_the_background() {
    let app = spawn_with(Options {
        settings: Some(|s| s.cleanup_interval = 1),
        ..Options::default()
    })
    .await;
    let db = &app.core.db;
    old_audit_event(db, app.clock.now() - 401 * DAY).await;
    old_audit_event(db, app.clock.now() - 399 * DAY).await;
    let mut left = 2;
    for _ in 0..100 {
        left = count(
            db,
            "select count(*) from audit_events where kind = 'logout'",
        )
        .await;
        if left == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(left, 1, "the background clean-up did not run");
}

#[tokio::test]
async fn guichet_cleanup_prints_what_it_removed() {
    let run = Run::new().await;
    run.run(&["migrate"]).json();
    let db = Db::connect(&run.database_url).await.unwrap();
    let now = guichet::clock::Clock::system().now();
    old_audit_event(&db, now - 500 * DAY).await;
    old_audit_event(&db, now - 401 * DAY).await;
    old_audit_event(&db, now - DAY - 60).await;

    if db.backend() == Backend::Postgres {
        let lock = db.cleanup_lock().await.unwrap().expect("the lock is free");
        let out = run.run(&["cleanup"]).json();
        assert_eq!(out["skipped"], true, "{out}");
        assert_eq!(out["audit"], 0, "{out}");
        lock.release().await.unwrap();
    }
    let out = run.run(&["cleanup"]).json();
    assert_eq!(
        (
            &out["grants"],
            &out["refresh_tokens"],
            &out["invitations"],
            &out["audit"],
            &out["skipped"]
        ),
        (&json!(0), &json!(0), &json!(0), &json!(2), &json!(false)),
        "{out}"
    );
    assert!(out["batches"].as_u64().unwrap() >= 4, "{out}");
    assert!(out["slowest_batch_ms"].is_u64(), "{out}");
    assert_eq!(count(&db, "select count(*) from audit_events").await, 1);

    // A shorter retention, from the environment.
    let out = run
        .run_with(&["cleanup"], |c| {
            c.env("GUICHET_AUDIT_RETENTION_DAYS", "1");
        })
        .json();
    assert_eq!(out["audit"], 1, "{out}");
    let line = run
        .run_with(&["cleanup"], |c| {
            c.env("GUICHET_AUDIT_RETENTION_DAYS", "0");
        })
        .failure();
    assert!(line.contains("GUICHET_AUDIT_RETENTION_DAYS"), "{line}");
    db.close().await;
}
