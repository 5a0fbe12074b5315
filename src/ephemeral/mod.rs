//! Short-lived state: SSO sessions, authorization codes, rate counters, one-time tokens and
//! revocation markers. Only what may be lost lives here.
//!
//! Every item carries its own `expires_at` (unix seconds) and every read checks it against the
//! `now` the caller passes (taken from the injected clock), so tests move time instead of
//! sleeping; the Redis TTL and the in-process sweeper only collect garbage.
//!
//! Consume-once operations (`take`, `swap`) are atomic on both implementations, so two nodes
//! can never both redeem one code. `swap` writes only over a live item: an unknown key stays
//! absent.

mod memory;
mod redis;
#[cfg(test)]
mod tests;

pub use self::memory::MemoryStore;
pub use self::redis::RedisStore;

use std::sync::Arc;

/// Why a short-lived store operation failed. The two cases call for different answers:
/// `Backend` is an outage (or a bug), `Full` is load.
#[derive(Debug, thiserror::Error)]
pub enum EphemeralError {
    /// The backend failed or could not be reached (Redis down, a timeout, an encoding error).
    /// Unexpected: logged with an id, answered as a server error (500).
    #[error("short-lived store unavailable: {0}")]
    Backend(String),
    /// The in-process store holds `GUICHET_MEMORY_STORE_MAX_ITEMS` live items and refused a
    /// write that needed a new slot (`put`, `put_if_absent` or `incr` of a new key; never
    /// `swap`, `take`, `get` or `delete`). Redis never answers this. It is overload, not a
    /// fault: the edge should answer 503 Service Unavailable (with `Retry-After`), which tells
    /// clients and load balancers to come back, rather than 500.
    #[error("short-lived store is full")]
    Full,
}

pub type Result<T> = std::result::Result<T, EphemeralError>;

/// One interface over the in-process store (one node) and Redis (several nodes).
#[async_trait::async_trait]
pub trait Ephemeral: Send + Sync + 'static {
    /// Stores `value` under `key` until `expires_at`, replacing any previous item.
    async fn put(&self, key: &str, value: &[u8], expires_at: i64) -> Result<()>;

    /// Stores `value` only if no live item exists under `key`; returns whether it was stored.
    async fn put_if_absent(
        &self,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<bool>;

    /// The live value under `key`, if any.
    async fn get(&self, key: &str, now: i64) -> Result<Option<Vec<u8>>>;

    /// Removes and returns the live value under `key` in one atomic step.
    async fn take(&self, key: &str, now: i64) -> Result<Option<Vec<u8>>>;

    /// If a live item is under `key`, atomically replaces it with `value` (until `expires_at`)
    /// and returns its value. Otherwise (nothing there, or an item expired at `now`) writes
    /// nothing and returns `None`. Used to swap an authorization code for its tombstone: an
    /// unknown or expired code leaves no trace, so presenting made-up codes cannot fill the
    /// store, and `swap` never fails with [`EphemeralError::Full`].
    async fn swap(
        &self,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<Option<Vec<u8>>>;

    /// Removes `key` (no error if absent).
    async fn delete(&self, key: &str) -> Result<()>;

    /// Whether any of `keys` holds a live item, in one round trip (Redis: one MGET).
    async fn any_exists(&self, keys: &[&str], now: i64) -> Result<bool>;

    /// Adds one to the counter under `key`, creating it with `expires_at` if absent or expired,
    /// and returns the new count. Atomic across nodes.
    async fn incr(&self, key: &str, expires_at: i64, now: i64) -> Result<u64>;

    /// Checks that the backend answers (for `/readyz`).
    async fn ping(&self) -> Result<()>;
}

pub type DynEphemeral = Arc<dyn Ephemeral>;
