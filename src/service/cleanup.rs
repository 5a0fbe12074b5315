//! The clean-up: what has expired leaves the durable database, in bounded batches, on one node
//! at a time. Every node runs it in the background (`app`), `guichet cleanup` runs it once.
//!
//! What goes, and when (`now` is an input, like everywhere):
//! - a grant and its refresh tokens, once the grant has expired and no one could still need
//!   it. A refresh token is never removed before its grant: presenting a used one revokes the
//!   grant (RFC 9700 §4.14.2), even long after that token's own expiry (the thief may have
//!   rotated it first), so the used tokens of a live grant all stay. Past the grant's expiry
//!   nothing can rotate, so nothing needs them for that, but the grant row is still read for
//!   two more things: revoking it writes a revocation marker for the access tokens it issued,
//!   which live up to an access-token lifetime past the grant's expiry; and ending the SSO
//!   session names the clients to notify by the grants that carry its `sid`, and a session
//!   (or the one that replaced it) lives up to the absolute session lifetime. The grant is
//!   removed when both windows have passed.
//! - an invitation, once its deadline is older than the audit retention: an expired invitation
//!   can still be renewed, and the list of invitations (who invited whom, accepted or not) is
//!   part of the history the administrators read, kept as long as the audit log.
//! - an audit event older than the retention (`GUICHET_AUDIT_RETENTION_DAYS`).
//!
//! Consents are not on the list: each belongs to a user and a client whose deletion takes it
//! along (`on delete cascade`, enforced by PostgreSQL and on every SQLite connection guichet
//! opens), and it has no lifetime of its own. Reset, activation and recovery links, sessions,
//! codes and tickets live in the short-lived store, which expires them itself.

use std::future::Future;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::store::{Db, Result};

/// Rows removed by one statement. Small enough that a batch takes milliseconds on SQLite
/// (which has a single writer), large enough that a backlog of a million rows takes a few
/// hundred statements.
pub const BATCH: i64 = 2000;

/// The lifetimes the cut-offs are derived from, from the settings.
#[derive(Debug, Clone)]
pub struct Rules {
    /// The SSO session's absolute lifetime (`GUICHET_SESSION_ABSOLUTE_TTL`).
    pub session_absolute: i64,
    /// The server's access-token lifetime (`GUICHET_ACCESS_TOKEN_TTL`); a client may have a
    /// longer one of its own, which the run reads from the database.
    pub access_token_ttl: i64,
    /// `GUICHET_AUDIT_RETENTION_DAYS`.
    pub audit_retention_days: i64,
    /// Rows removed by one statement.
    pub batch: i64,
}

/// What a run removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub grants: u64,
    pub refresh_tokens: u64,
    pub invitations: u64,
    pub audit: u64,
    /// Another node held the lock: this one removed nothing.
    pub skipped: bool,
    /// Statements run.
    pub batches: u64,
    /// The longest any one of them took, in milliseconds.
    pub slowest_batch_ms: u64,
}

const DAY: i64 = 86_400;

/// Runs the clean-up once, unless another node is running it (`skipped`).
pub async fn run(db: &Db, rules: &Rules, now: i64) -> Result<Report> {
    let Some(lock) = db.cleanup_lock().await? else {
        return Ok(Report {
            skipped: true,
            ..Report::default()
        });
    };
    let report = sweep(db, rules, now).await;
    if let Err(e) = lock.release().await {
        // The lock's connection is gone either way, and the lock with it.
        tracing::warn!(error = %e, "releasing the clean-up lock failed");
    }
    report
}

async fn sweep(db: &Db, rules: &Rules, now: i64) -> Result<Report> {
    let limit = rules.batch.max(1);
    let mut timer = Timer::default();
    let mut report = Report::default();

    let longest_access = db
        .clients_longest_access_token_ttl()
        .await?
        .unwrap_or(0)
        .max(rules.access_token_ttl);
    let grants_before = now.saturating_sub(rules.session_absolute.max(longest_access));
    loop {
        report.refresh_tokens += timer
            .drain(limit, || {
                db.cleanup_refresh_tokens(grants_before, limit, limit)
            })
            .await?;
        let gone = timer.time(db.cleanup_grants(grants_before, limit)).await?;
        report.grants += gone;
        if gone < limit as u64 {
            break;
        }
    }

    let retained_from = now.saturating_sub(rules.audit_retention_days.saturating_mul(DAY));
    report.invitations = timer
        .drain(limit, || db.cleanup_invitations(retained_from, limit))
        .await?;
    report.audit = timer
        .drain(limit, || db.cleanup_audit(retained_from, limit))
        .await?;

    report.batches = timer.count;
    report.slowest_batch_ms = u64::try_from(timer.slowest.as_millis()).unwrap_or(u64::MAX);
    Ok(report)
}

/// Counts the statements and keeps the longest one's duration.
#[derive(Default)]
struct Timer {
    count: u64,
    slowest: Duration,
}

impl Timer {
    async fn time(&mut self, statement: impl Future<Output = Result<u64>>) -> Result<u64> {
        let start = Instant::now();
        let removed = statement.await?;
        self.count += 1;
        self.slowest = self.slowest.max(start.elapsed());
        Ok(removed)
    }

    /// Runs `statement` until a batch removes fewer than `limit` rows; returns the total.
    async fn drain<F, S>(&mut self, limit: i64, mut statement: S) -> Result<u64>
    where
        S: FnMut() -> F,
        F: Future<Output = Result<u64>>,
    {
        let mut total = 0;
        loop {
            let removed = self.time(statement()).await?;
            total += removed;
            if removed < limit as u64 {
                return Ok(total);
            }
        }
    }
}
