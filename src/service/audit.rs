//! Security events written in batches off the request path: handlers hand an event to a
//! bounded channel and go on; one task writes batches and flushes what is left on shutdown.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// The sending half, cheap to clone into every handler.
#[derive(Clone)]
pub struct Audit {
    tx: mpsc::Sender<AuditEvent>,
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
        if self.tx.try_send(event).is_err() {
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

async fn writer(db: Db, mut rx: mpsc::Receiver<AuditEvent>, tallies: Tallies) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut tick = tokio::time::interval(TALLY_EVERY);
    let mut open = true;
    while open {
        tokio::select! {
            // recv_many is cancel-safe: nothing is lost when the tick wins.
            n = rx.recv_many(&mut batch, BATCH) => {
                if n == 0 {
                    open = false;
                } else if batch.len() < BATCH {
                    // Let a burst gather into one statement.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    while batch.len() < BATCH {
                        match rx.try_recv() {
                            Ok(e) => batch.push(e),
                            Err(_) => break,
                        }
                    }
                }
            }
            _ = tick.tick() => {}
        }
        drain_tallies(&tallies, &mut batch);
        if batch.is_empty() {
            continue;
        }
        if let Err(e) = db.audit_insert(&batch).await {
            tracing::error!(error = %e, lost = batch.len(), "audit batch not written");
        }
        batch.clear();
    }
}
