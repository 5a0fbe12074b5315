//! The audit table of security events.

use super::{Db, Result};
use crate::domain::audit::{AUDIT_PAGE_MAX, AuditEvent, AuditFilter, AuditKind, AuditRecord};

/// (at, kind, user_id, client_id, ip, detail)
type AuditRow = (
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// (id, at, kind, user_id, client_id, ip, detail)
type RecordRow = (
    String,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// A value bound to a search's `$n`.
enum Param<'a> {
    Text(&'a str),
    Int(i64),
}

impl Db {
    /// Writes a batch of events in one multi-row insert.
    pub async fn audit_insert(&self, events: &[AuditEvent]) -> Result<()> {
        // 7 parameters a row, 32 rows a statement: SQLite looks parameters up by name in a
        // list, so much longer statements cost more per row, not less.
        // One transaction: a batch is written whole or not at all, so the writer may try it
        // again after an outage without writing part of it twice.
        let mut tx = self.pool.begin().await?;
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
            q.execute(&mut *tx).await?;
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

    /// The rows a filter matches, newest first (`at desc, id desc`), at most `filter.limit`
    /// (capped at one more than `AUDIT_PAGE_MAX`: a page and the row that says another follows). One statement for both databases: the where clause is
    /// built from the filters given, every value a bound `$n`, never text in the SQL.
    pub async fn audit_query(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        let mut clauses: Vec<String> = Vec::new();
        let mut params: Vec<Param<'_>> = Vec::new();
        let next = |params: &mut Vec<Param<'_>>| format!("${}", params.len());
        if let Some(u) = &filter.user_id {
            params.push(Param::Text(u));
            clauses.push(format!("user_id = {}", next(&mut params)));
        }
        if let Some(c) = &filter.client_id {
            params.push(Param::Text(c));
            clauses.push(format!("client_id = {}", next(&mut params)));
        }
        if !filter.kinds.is_empty() {
            let mut list = Vec::with_capacity(filter.kinds.len());
            for k in &filter.kinds {
                params.push(Param::Text(k.as_str()));
                list.push(next(&mut params));
            }
            clauses.push(format!("kind in ({})", list.join(", ")));
        }
        if let Some(from) = filter.from {
            params.push(Param::Int(from));
            clauses.push(format!("at >= {}", next(&mut params)));
        }
        if let Some(to) = filter.to {
            params.push(Param::Int(to));
            clauses.push(format!("at < {}", next(&mut params)));
        }
        if let Some(b) = &filter.before {
            // Keyset: strictly after the cursor in `at desc, id desc` order. Written out
            // rather than as a row comparison, and each value bound once per use.
            params.push(Param::Int(b.at));
            let at1 = next(&mut params);
            params.push(Param::Int(b.at));
            let at2 = next(&mut params);
            params.push(Param::Text(&b.id));
            let id = next(&mut params);
            clauses.push(format!("(at < {at1} or (at = {at2} and id < {id}))"));
        }
        let mut sql =
            String::from("select id, at, kind, user_id, client_id, ip, detail from audit_events");
        if !clauses.is_empty() {
            sql.push_str(" where ");
            sql.push_str(&clauses.join(" and "));
        }
        let limit = filter.limit.clamp(1, AUDIT_PAGE_MAX + 1) as i64;
        params.push(Param::Int(limit));
        sql.push_str(&format!(
            " order by at desc, id desc limit {}",
            next(&mut params)
        ));
        let mut q = sqlx::query_as::<_, RecordRow>(&sql);
        for p in params {
            q = match p {
                Param::Text(t) => q.bind(t),
                Param::Int(i) => q.bind(i),
            };
        }
        let rows = q.fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, at, kind, user_id, client_id, ip, detail)| AuditRecord {
                    id,
                    at,
                    kind,
                    user_id,
                    client_id,
                    ip,
                    detail,
                },
            )
            .collect())
    }
}
