//! Durable data: users, clients, grants, consents, audit. All SQL lives here, written once in
//! `$n` placeholders and portable types (text ids, integer epoch seconds) so that one statement
//! serves SQLite and PostgreSQL through sqlx's `Any` driver; the migrations are twins under
//! `migrations/sqlite` and `migrations/postgres`.

mod audit;
mod cas_services;
mod cleanup;
mod clients;
mod establishments;
mod factors;
mod grants;
mod invitations;
mod passwords;
mod sqlite_file;
mod users;

pub use self::cleanup::{CLEANUP_LOCK_KEY, CleanupLock};
pub use self::grants::{GrantRow, NewGrant, RefreshOutcome, Revoked};
pub use self::invitations::Claimed;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0} is already taken")]
    Conflict(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The SQLite database file could not be created.
    #[error("database file {0}")]
    File(String),
}

impl StoreError {
    /// The database cannot answer now but may in a moment: no connection to be had before
    /// the connect timeout, the connection lost (a restart, a failover, a network cut), the
    /// server shutting down or starting, out of connections, the statement timeout reached,
    /// SQLite's write lock held past `busy_timeout`. The edge answers 503 with
    /// `Retry-After`; anything else (a bad statement, a constraint, corrupt data) is a bug and
    /// stays a 500. The one place this is decided: every layer above asks here.
    pub fn is_unavailable(&self) -> bool {
        let StoreError::Database(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(db) => db.code().is_some_and(|code| unavailable_code(&code)),
            _ => false,
        }
    }
}

/// PostgreSQL SQLSTATEs (Appendix A) and SQLite result codes that mean "not now".
fn unavailable_code(code: &str) -> bool {
    // Class 08: connection exception; class 53: insufficient resources (too many
    // connections, disk full); 57P01 admin shutdown (a fast restart), 57P02 crash shutdown,
    // 57P03 cannot connect now (starting up, or a standby being promoted), 57014 query
    // canceled (the statement timeout); 40001 serialization failure and 40P01 deadlock, which
    // succeed when retried; 25006 read-only transaction (a failover that left us on a
    // standby for now).
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(
            code,
            "57P01" | "57P02" | "57P03" | "57014" | "40001" | "40P01" | "25006"
        )
        // SQLite: SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes.
        || code
            .parse::<i32>()
            .is_ok_and(|n| matches!(n & 0xff, 5 | 6))
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// How the pool behaves: its size and its two bounds on time. The settings
/// `GUICHET_DATABASE_MAX_CONNECTIONS`, `…_CONNECT_TIMEOUT` and `…_STATEMENT_TIMEOUT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbOptions {
    /// Connections per process; `None` takes the backend's default (16 on PostgreSQL, 4 on
    /// SQLite).
    pub max_connections: Option<u32>,
    /// Bounds the wait for a connection: taking one from the pool, or opening one (sqlx
    /// retries a refused connection until then). Past it a request fails with 503.
    pub connect_timeout: Duration,
    /// PostgreSQL: `statement_timeout` of every connection (zero leaves the server's or the
    /// role's). SQLite has no such bound; it becomes `busy_timeout`, how long a statement
    /// waits for the write lock (zero keeps 5 seconds: SQLite would otherwise fail at once).
    pub statement_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> DbOptions {
        DbOptions {
            max_connections: None,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

impl Db {
    /// Connects with the default [`DbOptions`].
    pub async fn connect(url: &str) -> Result<Db> {
        Db::connect_with(url, &DbOptions::default()).await
    }

    /// Connects. A SQLite file is created if missing, with mode 0600 (it holds password
    /// hashes); an existing one readable by others is tightened to 0600 with a warning.
    ///
    /// Broken connections leave the pool by themselves, so a restarted PostgreSQL is
    /// reconnected to without help: sqlx pings an idle connection before handing it out
    /// (`test_before_acquire`, on by default) and pings a used one when it comes back; a
    /// connection that fails either is dropped and a new one opened on demand.
    pub async fn connect_with(url: &str, options: &DbOptions) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") && !url.contains(":memory:") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_owned(),
        };
        if backend == Backend::Sqlite
            && let Some(file) = sqlite_file::sqlite_file(&url)?
        {
            sqlite_file::secure(&file)?;
        }
        let connect = AnyConnectOptions::from_str(&url)?;
        let max = options.max_connections.unwrap_or(match backend {
            // SQLite allows one writer; a few readers are enough.
            Backend::Sqlite => 4,
            Backend::Postgres => 16,
        });
        let session = session_settings(backend, options.statement_timeout);
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(options.connect_timeout)
            .after_connect(move |conn, _meta| {
                let session = session.clone();
                Box::pin(async move {
                    if !session.is_empty() {
                        conn.execute(session.as_str()).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(connect)
            .await?;
        Ok(Db { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Applies pending migrations; returns the versions applied now.
    pub async fn migrate(&self) -> Result<Vec<String>> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        let before: Vec<i64> = applied_versions(&self.pool).await;
        // A migration may rewrite a large table, and another node may hold the migration
        // lock for as long: neither is bounded by the statement timeout. The connection that
        // ran them is closed rather than returned with the bound lifted.
        let mut conn = self.pool.acquire().await?;
        if self.backend == Backend::Postgres {
            (&mut *conn).execute("set statement_timeout = 0").await?;
        }
        let ran = migrator.run(&mut *conn).await;
        let _ = conn.close().await;
        ran?;
        Ok(migrator
            .iter()
            .filter(|m| !before.contains(&m.version))
            .map(|m| format!("{:04}_{}", m.version, m.description.replace(' ', "_")))
            .collect())
    }

    pub async fn ping(&self) -> Result<()> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The statements run on each new connection.
fn session_settings(backend: Backend, statement_timeout: Duration) -> String {
    let millis = statement_timeout.as_millis();
    match backend {
        // WAL lets readers run beside the writer; busy_timeout queues writers instead of
        // failing them.
        Backend::Sqlite => format!(
            "pragma journal_mode = wal; pragma synchronous = normal; \
             pragma foreign_keys = on; pragma busy_timeout = {};",
            if millis == 0 { 5000 } else { millis }
        ),
        // A query stuck behind a lock or on a slow plan frees its connection and answers 503
        // instead of holding the pool until every request waits.
        Backend::Postgres if millis > 0 => format!("set statement_timeout = {millis}"),
        Backend::Postgres => String::new(),
    }
}

async fn applied_versions(pool: &AnyPool) -> Vec<i64> {
    // The table does not exist before the first migration: that is "nothing applied".
    sqlx::query_scalar::<_, i64>("select version from _sqlx_migrations where success = true")
        .fetch_all(pool)
        .await
        .unwrap_or_default()
}

/// Maps a unique-constraint violation to `Conflict`, keeping other errors.
fn conflict(e: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what()),
        _ => StoreError::Database(e),
    }
}

fn json_list(s: &str) -> Result<Vec<String>> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn to_json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_connections_shutdowns_timeouts_and_busy_locks_are_unavailable_and_bugs_are_not() {
        for code in [
            "08006", "08001", "53300", "57P01", "57P02", "57P03", "57014", "40001", "40P01",
            "25006", "5", "517", "6", "262",
        ] {
            assert!(unavailable_code(code), "{code}");
        }
        // Syntax error, undefined table, unique and foreign-key violations; SQLite's
        // constraint (19, 2067) and generic error (1).
        for code in ["42601", "42P01", "23505", "23503", "1", "19", "2067"] {
            assert!(!unavailable_code(code), "{code}");
        }
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(StoreError::Database(sqlx::Error::Io(io)).is_unavailable());
        assert!(StoreError::Database(sqlx::Error::PoolTimedOut).is_unavailable());
        assert!(!StoreError::Database(sqlx::Error::RowNotFound).is_unavailable());
        assert!(!StoreError::Corrupt("x".into()).is_unavailable());
    }
}
