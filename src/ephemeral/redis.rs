//! The Redis store, shared by several nodes.
//!
//! Each value is stored as a Redis string: its `expires_at` as an 8-byte big-endian `i64`, then
//! the payload. Reads check that prefix against the caller's `now`; the Redis expiry (`EXAT`,
//! never earlier than one second from the real time) only collects garbage. A counter is such a
//! string whose payload is its count in decimal ASCII, updated by a Lua script.
//!
//! Every operation is one round trip: `SET … EXAT`, `GET`, `GETDEL` (`take`), `DEL`, `MGET`
//! (`any_exists`), and a Lua script (`EVALSHA`) for `put_if_absent`, `swap`, `incr` and
//! `bucket`. This needs Redis 6.2 or later (or a compatible server such as Valkey).
//!
//! **Outages.** Each command is bounded by [`RESPONSE_TIMEOUT`] and each operation, waiting for
//! a reconnection included, by [`OPERATION_TIMEOUT`], so a stopped or hung Redis fails requests
//! within about a second ([`EphemeralError::Backend`], which the edge answers with 503) instead
//! of holding them. The connection manager reconnects in the background after a dropped
//! connection, and a request that finds the last attempt failed starts a new one: once Redis
//! is back, requests succeed again by themselves (a restarted Redis that lost its scripts gets
//! them again on the first `NOSCRIPT`).
//!
//! **TLS and Sentinel** (`super::redis_link`): `rediss://` verifies the server's certificate;
//! with sentinels, a failed command or a `READONLY` answer has them asked again in the
//! background, and later operations go to the new master. No operation waits on the
//! sentinels, so each stays bounded by [`OPERATION_TIMEOUT`]. Redis Cluster is not supported.
//!
//! `swap` is a script rather than `SET … XX GET` (Redis 7.0+): `XX` only asks whether the key
//! exists in Redis, and a key whose own expiry has passed per the caller's `now` still exists
//! until Redis collects it; the script writes only over a live item.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisWrite, Script, ToRedisArgs};

use super::redis_link::{CONNECT_TIMEOUT, Link, Master, RedisConfig, RedisTarget, may_have_moved};
use super::{Ephemeral, EphemeralError, Result};

/// Bound on each command, so that a stalled Redis fails requests instead of hanging them. A
/// healthy Redis answers in well under a millisecond.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);
/// Bound on a whole operation: a script's `NOSCRIPT` fallback is three commands, and a request
/// may wait on a reconnection in progress (which retries for seconds while Redis is down).
/// Dropping the wait does not stop the reconnection.
const OPERATION_TIMEOUT: Duration = Duration::from_millis(1500);
/// Connection attempts after the first (with exponential back-off from 100 ms, at most 1 s).
const CONNECT_RETRIES: usize = 3;
const MAX_RETRY_DELAY_MS: u64 = 1000;

/// Reads the 8-byte big-endian expiry in front of a stored value (nil if there is none).
const LUA_EXPIRY: &str = r"
local function expiry(v)
  if not v or string.len(v) < 8 then return nil end
  local e = 0
  for i = 1, 8 do e = e * 256 + string.byte(v, i) end
  if string.byte(v, 1) >= 128 then e = e - 18446744073709551616 end
  return e
end
";

/// KEYS[1]: key. ARGV: encoded value, garbage-collection time, now. Returns 1 if stored.
const PUT_IF_ABSENT: &str = r"
local e = expiry(redis.call('GET', KEYS[1]))
if e and e > tonumber(ARGV[3]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EXAT', ARGV[2])
return 1
";

/// KEYS[1]: key. ARGV: encoded value, garbage-collection time, now. Replaces a live item only,
/// and returns the previous stored value (nil, and nothing written, if there was none).
const SWAP: &str = r"
local v = redis.call('GET', KEYS[1])
local e = expiry(v)
if not e or e <= tonumber(ARGV[3]) then return false end
redis.call('SET', KEYS[1], ARGV[1], 'EXAT', ARGV[2])
return v
";

/// KEYS[1]: key. ARGV: payload to append, 8-byte expiry prefix for a new item,
/// garbage-collection time, now. The stored value keeps its expiry prefix: APPEND adds after it.
/// Returns the payload's length (without the 8-byte prefix). Reads only the prefix
/// (GETRANGE): the list may be long, and a GET would copy it whole on every append.
const APPEND: &str = r"
local e = expiry(redis.call('GETRANGE', KEYS[1], 0, 7))
if e and e > tonumber(ARGV[4]) then
  return redis.call('APPEND', KEYS[1], ARGV[1]) - 8
end
redis.call('SET', KEYS[1], ARGV[2] .. ARGV[1], 'EXAT', ARGV[3])
return string.len(ARGV[1])
";

/// KEYS[1]: key. ARGV: now, 8-byte expiry prefix for a new counter, garbage-collection time.
/// Returns the new count.
const INCR: &str = r"
local v = redis.call('GET', KEYS[1])
local e = expiry(v)
if e and e > tonumber(ARGV[1]) then
  local n = (tonumber(string.sub(v, 9)) or 0) + 1
  redis.call('SET', KEYS[1], string.sub(v, 1, 8) .. string.format('%d', n), 'KEEPTTL')
  return n
end
redis.call('SET', KEYS[1], ARGV[2] .. '1', 'EXAT', ARGV[3])
return 1
";

/// KEYS[1]: key. ARGV: capacity, period, take (1 or 0), now, 8-byte expiry prefix (now +
/// period), garbage-collection time. Returns 0 when a token was available (taken if asked),
/// else the seconds until one is. The same steps as `memory::bucket_step`: the state is the
/// time the bucket is full again, `s + r / capacity`; the numbers stay far below 2^53, so Lua's
/// doubles are exact.
const BUCKET: &str = r"
local c = tonumber(ARGV[1])
local p = tonumber(ARGV[2])
local now = tonumber(ARGV[4])
local s, r = now, 0
local v = redis.call('GET', KEYS[1])
local e = expiry(v)
if e and e > now then
  local a, b = string.match(string.sub(v, 9), '^(%-?%d+):(%d+)$')
  a = tonumber(a)
  b = tonumber(b)
  if a and b and (a > now or (a == now and b > 0)) then
    s = a
    r = math.min(b, c - 1)
  end
end
r = r + p
local q = math.floor(r / c)
s = s + q
r = r - q * c
if s < now + p or (s == now + p and r == 0) then
  if ARGV[3] == '1' then
    redis.call('SET', KEYS[1], ARGV[5] .. string.format('%d:%d', s, r), 'EXAT', ARGV[6])
  end
  return 0
end
if r > 0 then s = s + 1 end
return s - p - now
";

/// The Redis implementation of [`Ephemeral`], for several nodes.
pub struct RedisStore {
    link: Arc<Link>,
    prefix: String,
    put_if_absent: Script,
    swap: Script,
    incr: Script,
    bucket: Script,
    append: Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// One key argument: `prefix` then `key`, written straight into the command buffer.
struct Key<'a> {
    prefix: &'a str,
    key: &'a str,
}

impl ToRedisArgs for Key<'_> {
    fn write_redis_args<W: ?Sized + RedisWrite>(&self, out: &mut W) {
        write_parts(out, self.prefix.as_bytes(), self.key.as_bytes());
    }
}

/// One stored value: its expiry (8 bytes, big-endian) then the payload.
struct Encoded<'a> {
    expires_at: i64,
    payload: &'a [u8],
}

impl ToRedisArgs for Encoded<'_> {
    fn write_redis_args<W: ?Sized + RedisWrite>(&self, out: &mut W) {
        write_parts(out, &self.expires_at.to_be_bytes(), self.payload);
    }
}

/// Writes `a` then `b` as one argument.
fn write_parts<W: ?Sized + RedisWrite>(out: &mut W, a: &[u8], b: &[u8]) {
    use std::io::Write;
    let mut arg = out.writer_for_next_arg();
    // The command buffer is in memory: these writes cannot fail.
    let _ = arg.write_all(a);
    let _ = arg.write_all(b);
}

/// The expiry written in front of a stored value, if it has one.
fn expiry(raw: &[u8]) -> Option<i64> {
    let head: [u8; 8] = raw.get(..8)?.try_into().ok()?;
    Some(i64::from_be_bytes(head))
}

fn is_live(raw: &[u8], now: i64) -> bool {
    expiry(raw).is_some_and(|expires_at| expires_at > now)
}

/// The payload of a stored value that is live at `now` (reusing the buffer Redis sent).
fn payload(raw: Option<Vec<u8>>, now: i64) -> Option<Vec<u8>> {
    let mut raw = raw.filter(|raw| is_live(raw, now))?;
    raw.drain(..8);
    Some(raw)
}

/// The latest expiry handed to Redis (the end of year 9999), which refuses absurd ones.
const MAX_GC_AT: i64 = 253_402_300_799;

/// When Redis may collect an item: never before `expires_at`, and never in the past (an item
/// stored already expired per the injected clock lingers for a second).
fn gc_at(expires_at: i64) -> i64 {
    let real_now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(MAX_GC_AT))
        .unwrap_or(0);
    expires_at.max(real_now.saturating_add(1)).min(MAX_GC_AT)
}

impl RedisStore {
    /// Connects to `url` (`redis://` or `rediss://[user:password@]host[:port][/db]`), with
    /// `prefix` in front of every key. Fails after at most 5 s if Redis cannot be reached;
    /// afterwards the connection is re-established automatically.
    pub async fn connect(url: &str, prefix: &str) -> Result<Arc<RedisStore>> {
        let config = RedisConfig {
            target: RedisTarget::Url(url.to_owned()),
            ca_file: None,
        };
        RedisStore::open(&config, prefix).await
    }

    /// Connects as `config` says (a URL, or the master the sentinels name), with `prefix` in
    /// front of every key.
    pub async fn open(config: &RedisConfig, prefix: &str) -> Result<Arc<RedisStore>> {
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(CONNECT_TIMEOUT)
            .set_response_timeout(RESPONSE_TIMEOUT)
            .set_number_of_retries(CONNECT_RETRIES)
            .set_max_delay(MAX_RETRY_DELAY_MS);
        let put_if_absent = Script::new(&format!("{LUA_EXPIRY}{PUT_IF_ABSENT}"));
        let swap = Script::new(&format!("{LUA_EXPIRY}{SWAP}"));
        let incr = Script::new(&format!("{LUA_EXPIRY}{INCR}"));
        let bucket = Script::new(&format!("{LUA_EXPIRY}{BUCKET}"));
        let append = Script::new(&format!("{LUA_EXPIRY}{APPEND}"));
        let scripts = vec![
            put_if_absent.clone(),
            swap.clone(),
            incr.clone(),
            bucket.clone(),
            append.clone(),
        ];
        let link = Link::open(config, scripts, manager).await?;
        Ok(Arc::new(RedisStore {
            link,
            prefix: prefix.to_owned(),
            put_if_absent,
            swap,
            incr,
            bucket,
            append,
        }))
    }

    /// The current master and a handle on its connection (two reference counts: no lock).
    fn conn(&self) -> (Arc<Master>, ConnectionManager) {
        let master = self.link.master();
        let conn = master.conn.clone();
        (master, conn)
    }

    /// Runs one operation on `master` within [`OPERATION_TIMEOUT`]; a failure that may mean
    /// the master moved has the sentinels asked again (in the background).
    async fn bounded<T>(
        &self,
        master: &Arc<Master>,
        op: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T> {
        match tokio::time::timeout(OPERATION_TIMEOUT, op).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                if may_have_moved(&e) {
                    self.link.failed(master);
                }
                // Redis errors carry the server's message or the I/O error, never the URL or
                // a password.
                Err(EphemeralError::Backend(format!("redis: {e}")))
            }
            Err(_) => {
                self.link.failed(master);
                Err(EphemeralError::Backend(format!(
                    "redis: no answer within {} ms",
                    OPERATION_TIMEOUT.as_millis()
                )))
            }
        }
    }

    fn key<'a>(&'a self, key: &'a str) -> Key<'a> {
        Key {
            prefix: &self.prefix,
            key,
        }
    }
}

#[async_trait::async_trait]
impl Ephemeral for RedisStore {
    async fn put(&self, key: &str, value: &[u8], expires_at: i64) -> Result<()> {
        let (master, mut conn) = self.conn();
        self.bounded(
            &master,
            redis::cmd("SET")
                .arg(self.key(key))
                .arg(Encoded {
                    expires_at,
                    payload: value,
                })
                .arg("EXAT")
                .arg(gc_at(expires_at))
                .query_async::<()>(&mut conn),
        )
        .await
    }

    async fn put_if_absent(
        &self,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<bool> {
        let (master, mut conn) = self.conn();
        self.bounded(
            &master,
            self.put_if_absent
                .key(self.key(key))
                .arg(Encoded {
                    expires_at,
                    payload: value,
                })
                .arg(gc_at(expires_at))
                .arg(now)
                .invoke_async::<bool>(&mut conn),
        )
        .await
    }

    async fn get(&self, key: &str, now: i64) -> Result<Option<Vec<u8>>> {
        let (master, mut conn) = self.conn();
        let raw = self
            .bounded(
                &master,
                redis::cmd("GET")
                    .arg(self.key(key))
                    .query_async::<Option<Vec<u8>>>(&mut conn),
            )
            .await?;
        Ok(payload(raw, now))
    }

    async fn take(&self, key: &str, now: i64) -> Result<Option<Vec<u8>>> {
        let (master, mut conn) = self.conn();
        let raw = self
            .bounded(
                &master,
                redis::cmd("GETDEL")
                    .arg(self.key(key))
                    .query_async::<Option<Vec<u8>>>(&mut conn),
            )
            .await?;
        Ok(payload(raw, now))
    }

    async fn swap(
        &self,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<Option<Vec<u8>>> {
        // One script, so atomic: of two concurrent swaps of one code, one sees the code.
        let (master, mut conn) = self.conn();
        let raw = self
            .bounded(
                &master,
                self.swap
                    .key(self.key(key))
                    .arg(Encoded {
                        expires_at,
                        payload: value,
                    })
                    .arg(gc_at(expires_at))
                    .arg(now)
                    .invoke_async::<Option<Vec<u8>>>(&mut conn),
            )
            .await?;
        Ok(payload(raw, now))
    }

    async fn append(&self, key: &str, value: &[u8], expires_at: i64, now: i64) -> Result<u64> {
        let (master, mut conn) = self.conn();
        self.bounded(
            &master,
            self.append
                .key(self.key(key))
                .arg(value)
                .arg(&expires_at.to_be_bytes()[..])
                .arg(gc_at(expires_at))
                .arg(now)
                .invoke_async::<u64>(&mut conn),
        )
        .await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let (master, mut conn) = self.conn();
        self.bounded(
            &master,
            redis::cmd("DEL")
                .arg(self.key(key))
                .query_async::<()>(&mut conn),
        )
        .await
    }

    async fn any_exists(&self, keys: &[&str], now: i64) -> Result<bool> {
        if keys.is_empty() {
            return Ok(false);
        }
        let mut cmd = redis::cmd("MGET");
        for key in keys {
            cmd.arg(self.key(key));
        }
        let (master, mut conn) = self.conn();
        let raws = self
            .bounded(&master, cmd.query_async::<Vec<Option<Vec<u8>>>>(&mut conn))
            .await?;
        Ok(raws.iter().flatten().any(|raw| is_live(raw, now)))
    }

    async fn incr(&self, key: &str, expires_at: i64, now: i64) -> Result<u64> {
        let (master, mut conn) = self.conn();
        self.bounded(
            &master,
            self.incr
                .key(self.key(key))
                .arg(now)
                .arg(&expires_at.to_be_bytes()[..])
                .arg(gc_at(expires_at))
                .invoke_async::<u64>(&mut conn),
        )
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
        let period = period.max(1);
        // Full again at the latest `period` after this take: then it may be collected.
        let expires_at = now.saturating_add(period);
        let (master, mut conn) = self.conn();
        let wait = self
            .bounded(
                &master,
                self.bucket
                    .key(self.key(key))
                    .arg(capacity.max(1))
                    .arg(period)
                    .arg(i32::from(take))
                    .arg(now)
                    .arg(&expires_at.to_be_bytes()[..])
                    .arg(gc_at(expires_at))
                    .invoke_async::<i64>(&mut conn),
            )
            .await?;
        Ok((wait > 0).then_some(wait))
    }

    async fn ping(&self) -> Result<()> {
        let (master, mut conn) = self.conn();
        self.bounded(&master, redis::cmd("PING").query_async::<()>(&mut conn))
            .await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::super::tests::{self as suite, base_now};
    use super::*;

    /// Set to a Redis URL to run these tests against it; unset, they pass without running.
    const URL_VAR: &str = "GUICHET_TEST_REDIS_URL";

    fn url() -> Option<String> {
        std::env::var(URL_VAR).ok().filter(|url| !url.is_empty())
    }

    fn random_prefix() -> String {
        format!("guichet-test-{:016x}:", rand::random::<u64>())
    }

    /// A store with its own key prefix; `None` (the test is skipped) when no Redis is configured.
    /// A configured but unreachable Redis fails the test.
    async fn store() -> Option<Arc<RedisStore>> {
        let Some(url) = url() else {
            eprintln!("{URL_VAR} is not set: skipping a Redis test");
            return None;
        };
        let store = RedisStore::connect(&url, &random_prefix())
            .await
            .unwrap_or_else(|e| panic!("{URL_VAR} is set but Redis is unusable: {e}"));
        Some(store)
    }

    /// A plain connection, to look behind the store's back.
    async fn raw() -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(url().unwrap()).unwrap();
        client.get_multiplexed_async_connection().await.unwrap()
    }

    macro_rules! behaviour {
        ($($name:ident),* $(,)?) => {$(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                if let Some(store) = store().await {
                    suite::$name(store).await;
                }
            }
        )*};
    }

    behaviour!(
        put_get,
        expiry_follows_now,
        take_once,
        append_accumulates,
        concurrent_append,
        swap_returns_previous,
        swap_of_absent_writes_nothing,
        swap_of_expired_returns_none,
        put_if_absent,
        any_exists,
        incr_counts_and_restarts,
        delete,
        ping,
        concurrent_take,
        concurrent_swap,
        concurrent_incr,
        concurrent_put_if_absent,
        bucket_takes_and_refills,
        bucket_peek_writes_nothing,
        bucket_with_uneven_rate,
        concurrent_bucket,
    );

    #[tokio::test]
    async fn keys_are_prefixed_and_collected_no_earlier_than_expiry() {
        let Some(url) = url() else { return };
        let prefix = random_prefix();
        let store = RedisStore::connect(&url, &prefix).await.unwrap();
        let now = base_now();
        let mut raw = raw().await;
        store.put("k", b"v", now + 3600).await.unwrap();
        store.put("old", b"v", now - 3600).await.unwrap();
        store.incr("n", now + 600, now).await.unwrap();
        let stored: Vec<u8> = redis::cmd("GET")
            .arg(format!("{prefix}k"))
            .query_async(&mut raw)
            .await
            .unwrap();
        assert_eq!(&stored[..8], &(now + 3600).to_be_bytes());
        assert_eq!(&stored[8..], b"v");
        let ttl = |key: &str| {
            let mut raw = raw.clone();
            let key = format!("{prefix}{key}");
            async move {
                redis::cmd("TTL")
                    .arg(key)
                    .query_async::<i64>(&mut raw)
                    .await
                    .unwrap()
            }
        };
        // already expired per the clock: kept a moment, never given a past expiry
        assert!((0..=1).contains(&ttl("old").await));
        assert!((3500..=3600).contains(&ttl("k").await));
        assert!((500..=600).contains(&ttl("n").await));
        // a live counter keeps its expiry
        store.incr("n", now + 9000, now).await.unwrap();
        assert!((500..=600).contains(&ttl("n").await));
        // nothing outside the prefix
        let other = RedisStore::connect(&url, &random_prefix()).await.unwrap();
        assert_eq!(other.get("k", now).await.unwrap(), None);
    }

    #[tokio::test]
    async fn buckets_answer_as_in_process_and_are_collected_a_period_after_the_last_take() {
        let Some(url) = url() else { return };
        let prefix = random_prefix();
        let store = RedisStore::connect(&url, &prefix).await.unwrap();
        let memory = crate::ephemeral::MemoryStore::new(1000);
        let now = base_now();
        // The script mirrors `memory::bucket_step`: the same answers on a random walk, for
        // even and uneven rates alike.
        for (capacity, period) in [(1, 1), (3, 10), (7, 60), (100, 300), (1000, 7)] {
            let key = format!("walk:{capacity}:{period}");
            let mut t = now;
            for _ in 0..300 {
                t += i64::from(rand::random::<u8>() % 4);
                let take = !rand::random::<u8>().is_multiple_of(4);
                let expected = memory
                    .bucket(&key, capacity, period, take, t)
                    .await
                    .unwrap();
                let got = store.bucket(&key, capacity, period, take, t).await.unwrap();
                assert_eq!(got, expected, "{key} at {}", t - now);
            }
        }
        store.bucket("b", 5, 300, true, now).await.unwrap();
        let mut raw = raw().await;
        let stored: Vec<u8> = redis::cmd("GET")
            .arg(format!("{prefix}b"))
            .query_async(&mut raw)
            .await
            .unwrap();
        assert_eq!(&stored[..8], &(now + 300).to_be_bytes());
        assert_eq!(&stored[8..], format!("{}:0", now + 60).as_bytes());
        let ttl: i64 = redis::cmd("TTL")
            .arg(format!("{prefix}b"))
            .query_async(&mut raw)
            .await
            .unwrap();
        assert!((200..=300).contains(&ttl), "{ttl}");
        // a peek at a new bucket leaves no key
        store.bucket("peek", 5, 300, false, now).await.unwrap();
        let exists: i64 = redis::cmd("EXISTS")
            .arg(format!("{prefix}peek"))
            .query_async(&mut raw)
            .await
            .unwrap();
        assert_eq!(exists, 0);
    }

    #[tokio::test]
    async fn swap_of_an_absent_or_expired_key_writes_nothing() {
        let Some(url) = url() else { return };
        let prefix = random_prefix();
        let store = RedisStore::connect(&url, &prefix).await.unwrap();
        let now = base_now();
        let mut raw = raw().await;
        assert_eq!(
            store.swap("unknown", b"T", now + 600, now).await.unwrap(),
            None
        );
        let exists: i64 = redis::cmd("EXISTS")
            .arg(format!("{prefix}unknown"))
            .query_async(&mut raw)
            .await
            .unwrap();
        assert_eq!(exists, 0);
        // still held by Redis (its own expiry is later) but expired per `now`: left as it was
        store.put("code", b"grant", now + 60).await.unwrap();
        let later = now + 60;
        assert_eq!(
            store.swap("code", b"T", later + 600, later).await.unwrap(),
            None
        );
        let stored: Vec<u8> = redis::cmd("GET")
            .arg(format!("{prefix}code"))
            .query_async(&mut raw)
            .await
            .unwrap();
        assert_eq!(&stored[..8], &(now + 60).to_be_bytes());
        assert_eq!(&stored[8..], b"grant");
    }

    #[tokio::test]
    async fn foreign_values_are_absent() {
        let Some(url) = url() else { return };
        let prefix = random_prefix();
        let store = RedisStore::connect(&url, &prefix).await.unwrap();
        let now = base_now();
        let mut raw = raw().await;
        redis::cmd("SET")
            .arg(format!("{prefix}short"))
            .arg("abc")
            .arg("EX")
            .arg(60)
            .query_async::<()>(&mut raw)
            .await
            .unwrap();
        assert_eq!(store.get("short", now).await.unwrap(), None);
        assert!(!store.any_exists(&["short"], now).await.unwrap());
        assert_eq!(
            store.swap("short", b"T", now + 60, now).await.unwrap(),
            None
        );
        let untouched: Vec<u8> = redis::cmd("GET")
            .arg(format!("{prefix}short"))
            .query_async(&mut raw)
            .await
            .unwrap();
        assert_eq!(untouched, b"abc");
        assert!(
            store
                .put_if_absent("short", b"v", now + 60, now)
                .await
                .unwrap()
        );
        redis::cmd("SET")
            .arg(format!("{prefix}n"))
            .arg("abc")
            .arg("EX")
            .arg(60)
            .query_async::<()>(&mut raw)
            .await
            .unwrap();
        assert_eq!(store.incr("n", now + 60, now).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn connect_fails_fast_when_unreachable() {
        // Nothing listens on port 1: refused at once, after a few quick retries.
        let started = Instant::now();
        let result = RedisStore::connect("redis://127.0.0.1:1", "guichet:").await;
        assert!(matches!(result, Err(EphemeralError::Backend(_))));
        assert!(started.elapsed() < CONNECT_TIMEOUT + Duration::from_secs(1));
    }

    #[tokio::test]
    async fn connect_times_out_on_a_silent_server() {
        // Accepts connections but never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accept = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let started = Instant::now();
        let result = RedisStore::connect(&format!("redis://{addr}"), "guichet:").await;
        let Err(EphemeralError::Backend(message)) = result else {
            panic!("connected to a silent server");
        };
        assert!(started.elapsed() < CONNECT_TIMEOUT + Duration::from_secs(1));
        assert!(!message.is_empty());
        accept.abort();
    }

    #[tokio::test]
    async fn bad_urls_do_not_leak_passwords() {
        for url in [
            "http://user:s3cret@host",
            "redis://user:s3cret@host:notaport",
        ] {
            let Err(EphemeralError::Backend(message)) = RedisStore::connect(url, "p:").await else {
                panic!("accepted {url}");
            };
            assert!(!message.contains("s3cret"), "{message}");
        }
    }

    #[test]
    fn encoding() {
        let now: i64 = 1_700_000_000;
        let mut raw = (now + 1).to_be_bytes().to_vec();
        raw.extend_from_slice(b"payload");
        assert!(is_live(&raw, now));
        assert!(!is_live(&raw, now + 1));
        assert_eq!(payload(Some(raw.clone()), now).unwrap(), b"payload");
        assert_eq!(payload(Some(raw), now + 1), None);
        assert_eq!(payload(Some(b"short".to_vec()), now), None);
        assert_eq!(payload(None, now), None);
        assert!(gc_at(0) > now);
        assert_eq!(gc_at(i64::MAX), MAX_GC_AT);
        assert_eq!(gc_at(now + 1_000_000_000), now + 1_000_000_000);
        let args = Encoded {
            expires_at: -2,
            payload: b"x",
        }
        .to_redis_args();
        assert_eq!(args, vec![[&(-2i64).to_be_bytes()[..], b"x"].concat()]);
        let args = Key {
            prefix: "guichet:",
            key: "code:abc",
        }
        .to_redis_args();
        assert_eq!(args, vec![b"guichet:code:abc".to_vec()]);
    }
}
