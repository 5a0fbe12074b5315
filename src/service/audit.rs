//! Security events written in batches off the request path: handlers hand an event to a
//! bounded channel and go on; one task writes batches and flushes what is left on shutdown.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::domain::audit::{AuditEvent, AuditKind};
use crate::store::Db;

const BATCH: usize = 256;
static DROPPED: AtomicU64 = AtomicU64::new(0);
const CHANNEL: usize = 65_536;

/// Client-credentials tokens of one client since the last write.
struct Tally {
    count: u64,
    first: i64,
    last: i64,
}

type Tallies = Arc<Mutex<HashMap<String, Tally>>>;

/// An event and when it was queued (the writer measures the lag from there).
type Queued = (AuditEvent, Instant);

/// The sending half, cheap to clone into every handler.
#[derive(Clone)]
pub struct Audit {
    tx: mpsc::Sender<Queued>,
    tallies: Tallies,
}

/// How often counted events are written even when nothing else happens.
const TALLY_EVERY: Duration = Duration::from_secs(10);

impl Audit {
    /// Starts the writer task; it ends (after a last flush) once every `Audit` is dropped.
    pub fn start(db: Db) -> (Audit, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(CHANNEL);
        let tallies = Tallies::default();
        let handle = tokio::spawn(writer(db, rx, tallies.clone()));
        (Audit { tx, tallies }, handle)
    }

    /// Queues an event without waiting. When the queue is full (the database is down or far
    /// behind) the event is dropped and the drops are counted in the log.
    pub fn record(&self, event: AuditEvent) {
        if self.tx.try_send((event, Instant::now())).is_err() {
            metrics::counter!("guichet_audit_dropped_total").increment(1);
            let n = DROPPED.fetch_add(1, Ordering::Relaxed);
            if n.is_multiple_of(1000) {
                tracing::warn!(dropped = n + 1, "audit queue full: events dropped");
            }
        }
    }

    /// Counts a client-credentials token. Machine clients may take thousands a second: the
    /// audit gets one `token.issued` row per client and write (at most every 10 s) with the
    /// count and the first and last times, rather than a row per token.
    pub fn tally_client_credentials(&self, at: i64, client_id: &str) {
        if let Ok(mut tallies) = self.tallies.lock() {
            match tallies.get_mut(client_id) {
                Some(t) => {
                    t.count += 1;
                    t.last = at;
                }
                None => {
                    tallies.insert(
                        client_id.to_owned(),
                        Tally {
                            count: 1,
                            first: at,
                            last: at,
                        },
                    );
                }
            }
        }
    }
}

fn drain_tallies(tallies: &Tallies, batch: &mut Vec<AuditEvent>) {
    let Ok(mut tallies) = tallies.lock() else {
        return;
    };
    for (client, t) in tallies.drain() {
        batch.push(
            AuditEvent::new(t.last, AuditKind::TokenIssued)
                .client(&client)
                .detail(serde_json::json!({
                    "grant_type": "client_credentials",
                    "count": t.count,
                    "first": t.first,
                    "last": t.last,
                })),
        );
    }
}

async fn writer(db: Db, mut rx: mpsc::Receiver<Queued>, tallies: Tallies) {
    let mut queued = Vec::with_capacity(BATCH);
    let mut batch = Vec::with_capacity(BATCH);
    let mut tick = tokio::time::interval(TALLY_EVERY);
    let batch_size = metrics::histogram!("guichet_audit_batch_size");
    let lag = metrics::histogram!("guichet_audit_lag_seconds");
    let mut open = true;
    while open {
        tokio::select! {
            // recv_many is cancel-safe: nothing is lost when the tick wins.
            n = rx.recv_many(&mut queued, BATCH) => {
                if n == 0 {
                    open = false;
                } else if queued.len() < BATCH {
                    // Let a burst gather into one statement.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    while queued.len() < BATCH {
                        match rx.try_recv() {
                            Ok(e) => queued.push(e),
                            Err(_) => break,
                        }
                    }
                }
            }
            _ = tick.tick() => {}
        }
        // The first event received is the oldest: the lag is its wait until written.
        let oldest = queued.first().map(|(_, at)| *at);
        batch.extend(queued.drain(..).map(|(event, _)| event));
        drain_tallies(&tallies, &mut batch);
        if batch.is_empty() {
            continue;
        }
        batch_size.record(batch.len() as f64);
        write_with_retries(&db, &batch, oldest, &lag).await;
        batch.clear();
    }
}

/// The longest wait between two tries of a batch: the tries wait 0.5, 1, 2, 4, 8 and 16 s,
/// about half a minute in all, enough for a PostgreSQL restart or failover.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(16);

/// Writes one batch. While the database is unavailable (down, restarting, failing over), the
/// batch is tried again with growing delays and new events wait in the channel, so an outage
/// of half a minute loses no event. Each try is one transaction: a retry never writes part of
/// a batch twice. Other errors (a bug) lose the batch, with an error in the log.
async fn write_with_retries(
    db: &Db,
    batch: &[AuditEvent],
    oldest: Option<Instant>,
    lag: &metrics::Histogram,
) {
    let mut delay = Duration::from_millis(500);
    loop {
        match db.audit_insert(batch).await {
            Ok(_) => {
                if let Some(at) = oldest {
                    lag.record(at.elapsed().as_secs_f64());
                }
                return;
            }
            Err(e) if e.is_unavailable() && delay <= MAX_RETRY_DELAY => {
                metrics::counter!("guichet_audit_write_retries_total").increment(1);
                tracing::warn!(
                    error = %e,
                    waiting = batch.len(),
                    retry_in_ms = delay.as_millis() as u64,
                    "audit batch not written yet: the database is unavailable"
                );
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => {
                metrics::counter!("guichet_audit_write_errors_total").increment(1);
                tracing::error!(error = %e, lost = batch.len(), "audit batch not written");
                return;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use sqlx::{Connection, Executor};

    use super::*;
    use crate::store::DbOptions;

    #[tokio::test]
    async fn a_batch_refused_while_the_database_is_locked_is_written_once_it_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/audit.db", dir.path().display());
        let options = DbOptions {
            // Writes give up after 50 ms behind another's lock: "unavailable", not a bug.
            statement_timeout: Duration::from_millis(50),
            ..DbOptions::default()
        };
        let db = Db::connect_with(&url, &options).await.unwrap();
        db.migrate().await.unwrap();
        // Another process holds the write lock for a while.
        let mut other = sqlx::SqliteConnection::connect(&url).await.unwrap();
        other.execute("begin exclusive").await.unwrap();

        let (audit, writer) = Audit::start(db.clone());
        audit.record(AuditEvent::new(1, AuditKind::Logout).user("u-1"));
        // The first tries fail behind the lock.
        tokio::time::sleep(Duration::from_millis(1200)).await;
        other.execute("commit").await.unwrap();
        drop(audit);
        tokio::time::timeout(Duration::from_secs(10), writer)
            .await
            .unwrap()
            .unwrap();
        let rows = db.audit_recent(10).await.unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0].1, "logout");
    }
}
