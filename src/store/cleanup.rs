//! Removing what has expired, one bounded batch per statement. Each statement runs on its own
//! (its own short transaction), so a backlog of millions of rows never holds a write lock
//! for long: SQLite's single writer and PostgreSQL's row locks are free again between two
//! batches. `service::cleanup` decides the cut-offs; this module only deletes below them.
//!
//! The SQL is one dialect: `delete … where key in (select key … limit n)` is accepted by
//! both databases (neither accepts a portable `delete … limit`).

use sqlx::AnyConnection;
use sqlx::Connection;

use super::{Backend, Db, Result};

/// The PostgreSQL advisory lock that makes one node at a time clean up: any constant shared
/// by every node; this one spells "guichet" in ASCII, then 1.
pub const CLEANUP_LOCK_KEY: i64 = 0x6775_6963_6865_7401;

/// The right to clean up now. On PostgreSQL a session-level advisory lock held by one
/// connection taken out of the pool (so that it can never go back to the pool still holding
/// the lock); on SQLite, which has one node, nothing.
pub struct CleanupLock {
    conn: Option<AnyConnection>,
}

impl CleanupLock {
    /// Releases the lock and closes its connection (closing alone would release it too).
    pub async fn release(self) -> Result<()> {
        if let Some(mut conn) = self.conn {
            let unlocked = sqlx::query("select pg_advisory_unlock($1)")
                .bind(CLEANUP_LOCK_KEY)
                .execute(&mut conn)
                .await;
            conn.close().await?;
            unlocked?;
        }
        Ok(())
    }
}

impl Db {
    /// Takes the clean-up lock if no other node holds it; `None` when one does.
    pub async fn cleanup_lock(&self) -> Result<Option<CleanupLock>> {
        if self.backend == Backend::Sqlite {
            return Ok(Some(CleanupLock { conn: None }));
        }
        let mut conn = self.pool.acquire().await?.detach();
        let got: bool = sqlx::query_scalar("select pg_try_advisory_lock($1)")
            .bind(CLEANUP_LOCK_KEY)
            .fetch_one(&mut conn)
            .await?;
        if got {
            Ok(Some(CleanupLock { conn: Some(conn) }))
        } else {
            conn.close().await?;
            Ok(None)
        }
    }

    /// The longest access-token lifetime a client overrides the server's with, if any.
    pub async fn clients_longest_access_token_ttl(&self) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar("select max(access_token_ttl) from clients")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Removes up to `limit` refresh tokens of the (up to `grants`) oldest grants that expired
    /// before `before`; the caller repeats until fewer than `limit` go, then removes those
    /// grants with [`Db::cleanup_grants`]. A grant rotated for a year has a refresh token per
    /// rotation: taking them apart from the grant keeps each statement bounded.
    pub async fn cleanup_refresh_tokens(
        &self,
        before: i64,
        grants: i64,
        limit: i64,
    ) -> Result<u64> {
        let done = sqlx::query(
            "delete from refresh_tokens where token_hash in ( \
                 select token_hash from refresh_tokens where grant_id in ( \
                     select id from grants where expires_at < $1 \
                     order by expires_at, id limit $2) \
                 limit $3)",
        )
        .bind(before)
        .bind(grants)
        .bind(limit)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Removes the `limit` oldest grants that expired before `before` (the same grants as
    /// [`Db::cleanup_refresh_tokens`] with that limit; any token left goes with its grant).
    pub async fn cleanup_grants(&self, before: i64, limit: i64) -> Result<u64> {
        let done = sqlx::query(
            "delete from grants where id in ( \
                 select id from grants where expires_at < $1 \
                 order by expires_at, id limit $2)",
        )
        .bind(before)
        .bind(limit)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Removes up to `limit` invitations whose deadline passed before `before`, whatever
    /// became of them (accepted, revoked or left).
    pub async fn cleanup_invitations(&self, before: i64, limit: i64) -> Result<u64> {
        let done = sqlx::query(
            "delete from invitations where id in ( \
                 select id from invitations where expires_at < $1 limit $2)",
        )
        .bind(before)
        .bind(limit)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Removes up to `limit` audit events recorded before `before`.
    pub async fn cleanup_audit(&self, before: i64, limit: i64) -> Result<u64> {
        let done = sqlx::query(
            "delete from audit_events where id in ( \
                 select id from audit_events where at < $1 limit $2)",
        )
        .bind(before)
        .bind(limit)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
