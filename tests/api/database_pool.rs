//! The database pool takes its size and time bounds from the settings
//! (`GUICHET_DATABASE_MAX_CONNECTIONS`, `…_CONNECT_TIMEOUT`, `…_STATEMENT_TIMEOUT`), and what
//! exceeds them is "unavailable" (503), not a bug (500). Both tiers: PostgreSQL's
//! `statement_timeout`, SQLite's `busy_timeout`.

use std::time::{Duration, Instant};

use guichet::config::Settings;
use guichet::store::{Backend, StoreError};
use sqlx::Executor;

use crate::helpers::*;

#[tokio::test]
async fn the_pool_size_and_the_timeouts_come_from_the_settings_and_exceeding_them_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        database_url: fresh_database_url(dir.path()).await.into(),
        database_max_connections: Some(3),
        database_connect_timeout: 1,
        database_statement_timeout: 1500,
        ..Settings::default()
    };
    let (db, _) = guichet::app::open_db(&settings).await.unwrap();

    // Every connection carries the statement bound.
    match db.backend() {
        Backend::Postgres => {
            let shown: String = sqlx::query_scalar("show statement_timeout")
                .fetch_one(db.pool())
                .await
                .unwrap();
            assert_eq!(shown, "1500ms");
            // A statement past it is cancelled (57014), which is "unavailable".
            let started = Instant::now();
            let e = sqlx::query("select pg_sleep(5)")
                .execute(db.pool())
                .await
                .unwrap_err();
            let e = StoreError::from(e);
            assert!(e.is_unavailable(), "{e}");
            assert!(started.elapsed() < Duration::from_secs(4));
        }
        Backend::Sqlite => {
            let shown: i64 = sqlx::query_scalar("pragma busy_timeout")
                .fetch_one(db.pool())
                .await
                .unwrap();
            assert_eq!(shown, 1500);
            // A writer waits that long for another's lock, then gives up (SQLITE_BUSY),
            // which is "unavailable".
            let mut holder = db.pool().acquire().await.unwrap();
            holder.execute("begin immediate").await.unwrap();
            let mut waiter = db.pool().acquire().await.unwrap();
            let started = Instant::now();
            let e = waiter.execute("begin immediate").await.unwrap_err();
            let waited = started.elapsed();
            let e = StoreError::from(e);
            assert!(e.is_unavailable(), "{e}");
            assert!(
                waited >= Duration::from_millis(1200) && waited < Duration::from_secs(4),
                "{waited:?}"
            );
            holder.execute("rollback").await.unwrap();
        }
    }

    // Three connections at most: with three held, a fourth request waits the connect timeout
    // and fails as unavailable.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(db.pool().acquire().await.unwrap());
    }
    assert_eq!(db.pool().size(), 3);
    let started = Instant::now();
    let e = db.ping().await.unwrap_err();
    let waited = started.elapsed();
    assert!(
        matches!(e, StoreError::Database(sqlx::Error::PoolTimedOut)),
        "{e}"
    );
    assert!(e.is_unavailable());
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    drop(held);
    db.ping().await.unwrap();
    db.close().await;
}

#[tokio::test]
async fn statements_that_are_wrong_are_bugs_not_unavailability() {
    let app = spawn_app().await;
    let e = sqlx::query("select * from no_such_table")
        .execute(app.core.db.pool())
        .await
        .unwrap_err();
    assert!(!StoreError::from(e).is_unavailable());
    let e = StoreError::Conflict("login alice".into());
    assert!(!e.is_unavailable());
}
