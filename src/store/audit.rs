//! The audit table of security events.

use super::{Db, Result};
use crate::audit::AuditEvent;

impl Db {
    /// Writes a batch of events in one transaction.
    pub async fn audit_insert(&self, events: &[AuditEvent]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for e in events {
            sqlx::query(
                "insert into audit_events (id, at, kind, user_id, client_id, ip, detail) \
                 values ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(e.at)
            .bind(e.kind)
            .bind(&e.user_id)
            .bind(&e.client_id)
            .bind(&e.ip)
            .bind(&e.detail)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The newest events, for the administration commands and the tests.
    pub async fn audit_recent(
        &self,
        limit: i64,
    ) -> Result<Vec<(i64, String, Option<String>, Option<String>)>> {
        Ok(sqlx::query_as(
            "select at, kind, user_id, client_id from audit_events order by at desc, id desc limit $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}
