//! The audit table of security events.

use super::{Db, Result};
use crate::domain::audit::{AuditEvent, AuditKind};

/// (at, kind, user_id, client_id, ip, detail)
type AuditRow = (
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

impl Db {
    /// Writes a batch of events in one multi-row insert.
    pub async fn audit_insert(&self, events: &[AuditEvent]) -> Result<()> {
        // 7 parameters a row, 32 rows a statement: SQLite looks parameters up by name in a
        // list, so much longer statements cost more per row, not less.
        for chunk in events.chunks(32) {
            let mut sql = String::from(
                "insert into audit_events (id, at, kind, user_id, client_id, ip, detail) values ",
            );
            for i in 0..chunk.len() {
                let n = i * 7;
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    n + 1,
                    n + 2,
                    n + 3,
                    n + 4,
                    n + 5,
                    n + 6,
                    n + 7
                ));
            }
            let mut q = sqlx::query(&sql);
            for e in chunk {
                q = q
                    .bind(uuid::Uuid::now_v7().to_string())
                    .bind(e.at)
                    .bind(e.kind.as_str())
                    .bind(e.user_id.clone())
                    .bind(e.client_id.clone())
                    .bind(e.ip.clone())
                    .bind(e.detail.clone());
            }
            q.execute(&self.pool).await?;
        }
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

    /// A user's newest events of the given kinds (every kind if `kinds` is empty), newest
    /// first: the account page's recent sign-ins. Rows of a kind this version does not know
    /// (written by a newer node during an upgrade) are left out.
    pub async fn audit_for_user(
        &self,
        user_id: &str,
        kinds: &[&str],
        limit: i64,
    ) -> Result<Vec<AuditEvent>> {
        let mut sql = String::from(
            "select at, kind, user_id, client_id, ip, detail from audit_events where user_id = $1",
        );
        if !kinds.is_empty() {
            let list: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 3)).collect();
            sql.push_str(&format!(" and kind in ({})", list.join(", ")));
        }
        sql.push_str(" order by at desc, id desc limit $2");
        let mut q = sqlx::query_as::<_, AuditRow>(&sql)
            .bind(user_id)
            .bind(limit);
        for k in kinds {
            q = q.bind(*k);
        }
        let rows = q.fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .filter_map(|(at, kind, user_id, client_id, ip, detail)| {
                Some(AuditEvent {
                    at,
                    kind: AuditKind::parse(&kind)?,
                    user_id,
                    client_id,
                    ip,
                    detail,
                })
            })
            .collect())
    }
}
