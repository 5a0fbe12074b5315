//! The short-lived store, timed and counted: a decorator around the real one (in-process or
//! Redis) that `app.rs` puts in place when metrics are on. Each operation's handles are
//! registered once, here; an operation costs two clock reads and a histogram push more.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use metrics::{Counter, Histogram};

use super::{DynEphemeral, Ephemeral, EphemeralError, Result};

/// The operations of [`Ephemeral`], in the order of `Op`'s variants.
const OPERATIONS: [&str; 11] = [
    "put",
    "put_if_absent",
    "get",
    "take",
    "swap",
    "append",
    "delete",
    "any_exists",
    "incr",
    "bucket",
    "ping",
];

#[derive(Clone, Copy)]
enum Op {
    Put,
    PutIfAbsent,
    Get,
    Take,
    Swap,
    Append,
    Delete,
    AnyExists,
    Incr,
    Bucket,
    Ping,
}

struct OpHandles {
    duration: Histogram,
    /// The backend failed (`EphemeralError::Backend`).
    backend: Counter,
    /// The in-process store was full (`EphemeralError::Full`).
    full: Counter,
}

/// See the module.
pub struct MeteredStore {
    inner: DynEphemeral,
    ops: Vec<OpHandles>,
}

impl MeteredStore {
    pub fn wrap(inner: DynEphemeral) -> DynEphemeral {
        let ops = OPERATIONS
            .iter()
            .map(|&op| OpHandles {
                duration: metrics::histogram!(
                    "guichet_store_operation_duration_seconds",
                    "operation" => op,
                ),
                backend: metrics::counter!(
                    "guichet_store_errors_total",
                    "operation" => op,
                    "kind" => "backend",
                ),
                full: metrics::counter!(
                    "guichet_store_errors_total",
                    "operation" => op,
                    "kind" => "full",
                ),
            })
            .collect();
        Arc::new(MeteredStore { inner, ops })
    }

    async fn timed<T>(&self, op: Op, call: impl Future<Output = Result<T>>) -> Result<T> {
        let start = Instant::now();
        let out = call.await;
        if let Some(h) = self.ops.get(op as usize) {
            h.duration.record(start.elapsed().as_secs_f64());
            match &out {
                Err(EphemeralError::Backend(_)) => h.backend.increment(1),
                Err(EphemeralError::Full) => h.full.increment(1),
                Ok(_) => {}
            }
        }
        out
    }
}

#[async_trait::async_trait]
impl Ephemeral for MeteredStore {
    async fn put(&self, key: &str, value: &[u8], expires_at: i64) -> Result<()> {
        self.timed(Op::Put, self.inner.put(key, value, expires_at))
            .await
    }

    async fn put_if_absent(
        &self,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<bool> {
        self.timed(
            Op::PutIfAbsent,
            self.inner.put_if_absent(key, value, expires_at, now),
        )
        .await
    }

    async fn get(&self, key: &str, now: i64) -> Result<Option<Vec<u8>>> {
        self.timed(Op::Get, self.inner.get(key, now)).await
    }

    async fn take(&self, key: &str, now: i64) -> Result<Option<Vec<u8>>> {
        self.timed(Op::Take, self.inner.take(key, now)).await
    }

    async fn swap(
        &self,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<Option<Vec<u8>>> {
        self.timed(Op::Swap, self.inner.swap(key, value, expires_at, now))
            .await
    }

    async fn append(&self, key: &str, value: &[u8], expires_at: i64, now: i64) -> Result<u64> {
        self.timed(Op::Append, self.inner.append(key, value, expires_at, now))
            .await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.timed(Op::Delete, self.inner.delete(key)).await
    }

    async fn any_exists(&self, keys: &[&str], now: i64) -> Result<bool> {
        self.timed(Op::AnyExists, self.inner.any_exists(keys, now))
            .await
    }

    async fn incr(&self, key: &str, expires_at: i64, now: i64) -> Result<u64> {
        self.timed(Op::Incr, self.inner.incr(key, expires_at, now))
            .await
    }

    async fn bucket(
        &self,
        key: &str,
        capacity: u32,
        period: i64,
        take: bool,
        now: i64,
    ) -> Result<Option<i64>> {
        self.timed(
            Op::Bucket,
            self.inner.bucket(key, capacity, period, take, now),
        )
        .await
    }

    async fn ping(&self) -> Result<()> {
        self.timed(Op::Ping, self.inner.ping()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ephemeral::MemoryStore;

    #[test]
    fn each_operation_is_timed_and_a_full_store_is_counted_apart() {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            let store = MeteredStore::wrap(MemoryStore::new(1));
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap_or_else(|e| unreachable!("{e}"));
            runtime.block_on(async {
                assert!(store.put("a", b"1", 100).await.is_ok());
                assert!(matches!(
                    store.put("b", b"2", 100).await,
                    Err(EphemeralError::Full)
                ));
                assert!(matches!(store.get("a", 10).await, Ok(Some(v)) if v == b"1"));
            });
        });
        let text = handle.render();
        for line in [
            r#"guichet_store_operation_duration_seconds_count{operation="put"} 2"#,
            r#"guichet_store_operation_duration_seconds_count{operation="get"} 1"#,
            r#"guichet_store_errors_total{operation="put",kind="full"} 1"#,
            r#"guichet_store_errors_total{operation="put",kind="backend"} 0"#,
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
    }
}
