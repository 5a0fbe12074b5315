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

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

impl Db {
    /// Connects. A SQLite file is created if missing, with mode 0600 (it holds password
    /// hashes); an existing one readable by others is tightened to 0600 with a warning.
    pub async fn connect(url: &str) -> Result<Db> {
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
        let options = AnyConnectOptions::from_str(&url)?;
        let max = match backend {
            // SQLite allows one writer; a few readers are enough.
            Backend::Sqlite => 4,
            Backend::Postgres => 16,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the writer; busy_timeout queues writers
                        // instead of failing them.
                        conn.execute(
                            "pragma journal_mode = wal; pragma synchronous = normal; \
                             pragma foreign_keys = on; pragma busy_timeout = 5000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
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
        migrator.run(&self.pool).await?;
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
