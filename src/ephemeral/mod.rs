//! Short-lived state: SSO sessions, authorization codes, rate counters and token buckets,
//! one-time tokens and revocation markers. Only what may be lost lives here.
//!
//! Every item carries its own `expires_at` (unix seconds) and every read checks it against the
//! `now` the caller passes (taken from the injected clock), so tests move time instead of
//! sleeping; the Redis TTL and the in-process sweeper only collect garbage.
//!
//! Consume-once operations (`take`, `swap`) are atomic on both implementations, so two nodes
//! can never both redeem one code. `swap` writes only over a live item: an unknown key stays
//! absent. Counters (`incr`) and token buckets (`bucket`) are read and updated in one atomic
//! step too, so a concurrent burst cannot overrun them.
//!
//! A token bucket is stored as an item whose value is its *theoretical arrival time* (GCRA,
//! ITU-T I.371): the time at which it will be full again, as `seconds:remainder` in decimal
//! ASCII, the remainder counting `1/capacity` of a second so that the arithmetic stays exact
//! in integers (and in Redis's Lua doubles). Each token taken moves that time `period /
//! capacity` seconds later; a token is available while it is at most `period` ahead of `now`.
//! The item expires `period` after the last take, when the bucket is full whatever it held.

mod memory;
mod metered;
mod redis;
mod redis_link;
#[cfg(test)]
mod tests;

pub use self::memory::MemoryStore;
pub use self::metered::MeteredStore;
pub use self::redis::RedisStore;
pub use self::redis_link::{RedisConfig, RedisTarget, SentinelConfig};

use std::sync::Arc;

/// Why a short-lived store operation failed. The two cases call for different answers:
/// `Backend` is an outage (or a bug), `Full` is load.
#[derive(Debug, thiserror::Error)]
pub enum EphemeralError {
    /// The backend failed or could not be reached (Redis down, a timeout, an encoding error).
    /// An outage: the edge answers 503 Service Unavailable and lets nobody in without the
    /// checks the store holds (fail closed); Redis reconnects by itself when it returns.
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

    /// Appends `value` to the live item under `key`, or creates it with `value` until
    /// `expires_at` if there is none (an existing item keeps its expiry). Atomic across nodes:
    /// of concurrent appends none is lost. Used for the list of what an SSO session handed out
    /// (service tickets, proxy-granting tickets), read back whole with `take` at logout.
    /// Returns the item's length in bytes after the append.
    async fn append(&self, key: &str, value: &[u8], expires_at: i64, now: i64) -> Result<u64>;

    /// Removes `key` (no error if absent).
    async fn delete(&self, key: &str) -> Result<()>;

    /// Whether any of `keys` holds a live item, in one round trip (Redis: one MGET).
    async fn any_exists(&self, keys: &[&str], now: i64) -> Result<bool>;

    /// Adds one to the counter under `key`, creating it with `expires_at` if absent or expired,
    /// and returns the new count. Atomic across nodes.
    async fn incr(&self, key: &str, expires_at: i64, now: i64) -> Result<u64>;

    /// Token bucket under `key`: `capacity` tokens, refilled continuously at `capacity` per
    /// `period` seconds (a bucket untouched for `period` is full again and may be collected).
    /// With `take`, removes one token if there is one. Returns `None` when a token was
    /// available (taken if `take`), or `Some(seconds until one is)` (≥ 1) when the bucket is
    /// empty (nothing taken). A new bucket is full; only a `take` writes. Atomic across nodes.
    /// A `capacity` or `period` below 1 counts as 1.
    async fn bucket(
        &self,
        key: &str,
        capacity: u32,
        period: i64,
        take: bool,
        now: i64,
    ) -> Result<Option<i64>>;

    /// Checks that the backend answers (for `/readyz`).
    async fn ping(&self) -> Result<()>;
}

pub type DynEphemeral = Arc<dyn Ephemeral>;
