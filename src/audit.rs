//! Security events written in batches off the request path: handlers hand an event to a
//! bounded channel and go on; one task writes batches and flushes what is left on shutdown.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::store::Db;

#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub at: i64,
    /// `login.success`, `login.failure`, `token.issued`, `client.created`…
    pub kind: &'static str,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    /// Free-form JSON; never a secret.
    pub detail: Option<String>,
}

impl AuditEvent {
    pub fn new(at: i64, kind: &'static str) -> AuditEvent {
        AuditEvent {
            at,
            kind,
            user_id: None,
            client_id: None,
            ip: None,
            detail: None,
        }
    }
    pub fn user(mut self, id: &str) -> Self {
        self.user_id = Some(id.to_owned());
        self
    }
    pub fn client(mut self, id: &str) -> Self {
        self.client_id = Some(id.to_owned());
        self
    }
    pub fn ip(mut self, ip: Option<String>) -> Self {
        self.ip = ip;
        self
    }
    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail.to_string());
        self
    }
}

const BATCH: usize = 256;
static DROPPED: AtomicU64 = AtomicU64::new(0);
const CHANNEL: usize = 65_536;

/// The sending half, cheap to clone into every handler.
#[derive(Clone)]
pub struct Audit {
    tx: mpsc::Sender<AuditEvent>,
}

impl Audit {
    /// Starts the writer task; it ends (after a last flush) once every `Audit` is dropped.
    pub fn start(db: Db) -> (Audit, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(CHANNEL);
        let handle = tokio::spawn(writer(db, rx));
        (Audit { tx }, handle)
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
}

async fn writer(db: Db, mut rx: mpsc::Receiver<AuditEvent>) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let n = rx.recv_many(&mut batch, BATCH).await;
        if n == 0 {
            break;
        }
        // Let a burst gather into one transaction.
        if batch.len() < BATCH {
            tokio::time::sleep(Duration::from_millis(20)).await;
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(e) => batch.push(e),
                    Err(_) => break,
                }
            }
        }
        if let Err(e) = db.audit_insert(&batch).await {
            tracing::error!(error = %e, lost = batch.len(), "audit batch not written");
        }
        batch.clear();
    }
}
