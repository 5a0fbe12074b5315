//! The in-process store, for a single node: sharded hash maps behind short-held mutexes.
//!
//! Every item keeps its own `expires_at`; reads compare it with the caller's `now`. Expired items
//! are dropped lazily (a read or `swap` that finds one removes it), by the sweeper task, and when
//! the store is full. The number of items never exceeds `max_items`: past that, writes of new
//! keys (`put`, `put_if_absent`, `incr`) fail with [`EphemeralError::Full`]; `swap` only ever
//! replaces a live item, so it never needs a slot. Collection (sweeper, full store) counts as expired what is
//! expired at the latest `now` the store has seen, from callers or from the sweeper's clock
//! (`put` gets no `now`), so it assumes a clock that does not go backwards.
//!
//! A counter (`incr`) is an ordinary item whose value is its count in decimal ASCII, as in Redis,
//! so `get` reads it the same way on both backends; a token bucket (`bucket`) is one whose value
//! is `seconds:remainder` (see the module above), computed by [`bucket_step`], which the Redis
//! script mirrors line for line.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::{Ephemeral, EphemeralError, Result};

/// Shards hold about this many items at most, so that a sweep of one shard holds its lock only
/// briefly (the sweeper takes one shard at a time).
const ITEMS_PER_SHARD: usize = 4096;
const MIN_SHARDS: usize = 16;
const MAX_SHARDS: usize = 1024;
/// The sweeper yields to other tasks after scanning about this many items.
const SWEEP_CHUNK: usize = 4096;

type Shard = HashMap<String, Item>;

struct Item {
    expires_at: i64,
    value: Vec<u8>,
}

impl Item {
    fn new(value: &[u8], expires_at: i64) -> Item {
        Item {
            expires_at,
            value: value.to_vec(),
        }
    }

    fn is_live(&self, now: i64) -> bool {
        self.expires_at > now
    }

    /// Replaces the value in place, reusing its allocation.
    fn set(&mut self, value: &[u8], expires_at: i64) {
        self.expires_at = expires_at;
        self.value.clear();
        self.value.extend_from_slice(value);
    }
}

/// The write needs a new slot and the store is at `max_items`.
struct NoRoom;

/// The in-process implementation of [`Ephemeral`], for a single node.
pub struct MemoryStore {
    shards: Box<[Mutex<Shard>]>,
    /// `shards.len() - 1` (the number of shards is a power of two).
    mask: usize,
    hasher: RandomState,
    max_items: usize,
    /// Items held, live or not yet collected; only changed under the lock of the shard concerned.
    len: AtomicUsize,
    /// The latest `now` seen (from callers and from the sweeper's clock): what "expired" means
    /// for the operations that get no `now` (`put`) and for garbage collection.
    latest_now: AtomicI64,
    /// The `now` of the last full purge forced by a full store, so that a store full of live
    /// items is scanned at most once per clock second, however many writes are refused.
    last_full_purge: AtomicI64,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("shards", &self.shards.len())
            .field("len", &self.len())
            .field("max_items", &self.max_items)
            .finish_non_exhaustive()
    }
}

fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    // No code panics while holding a shard lock, so a poisoned map is still consistent.
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryStore {
    /// A store holding at most `max_items` items (live or awaiting collection).
    pub fn new(max_items: usize) -> Arc<MemoryStore> {
        let shards = max_items
            .div_ceil(ITEMS_PER_SHARD)
            .clamp(MIN_SHARDS, MAX_SHARDS)
            .next_power_of_two();
        Arc::new(MemoryStore {
            shards: (0..shards).map(|_| Mutex::new(HashMap::new())).collect(),
            mask: shards - 1,
            hasher: RandomState::new(),
            max_items,
            len: AtomicUsize::new(0),
            latest_now: AtomicI64::new(i64::MIN),
            last_full_purge: AtomicI64::new(i64::MIN),
        })
    }

    /// Number of items held, including expired ones not yet collected.
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Starts a task (on the current Tokio runtime) that removes the items expired according to
    /// `clock` every `every`. It stops by itself once the store is dropped; abort the returned
    /// handle to stop it sooner.
    pub fn spawn_sweeper(
        self: &Arc<Self>,
        clock: Arc<dyn Fn() -> i64 + Send + Sync>,
        every: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let store = Arc::downgrade(self);
        let every = every.max(Duration::from_millis(1));
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await; // the first tick is immediate
            loop {
                ticks.tick().await;
                let Some(store) = store.upgrade() else { break };
                let now = clock();
                store.observe(now);
                let mut removed = 0;
                let mut scanned = 0;
                for shard in store.shards.iter() {
                    let (r, s) = store.purge(shard, now);
                    removed += r;
                    scanned += s;
                    if scanned >= SWEEP_CHUNK {
                        scanned = 0;
                        tokio::task::yield_now().await;
                    }
                }
                if removed > 0 {
                    tracing::debug!(
                        removed,
                        held = store.len(),
                        "swept expired short-lived items"
                    );
                }
            }
        })
    }

    fn shard(&self, key: &str) -> &Mutex<Shard> {
        // `mask` < `shards.len()`, so the index is in range.
        let index = (self.hasher.hash_one(key) as usize) & self.mask;
        &self.shards[index]
    }

    /// Records `now` as the latest time seen (a plain load in the common case).
    fn observe(&self, now: i64) {
        if now > self.latest_now.load(Ordering::Relaxed) {
            self.latest_now.fetch_max(now, Ordering::Relaxed);
        }
    }

    /// Takes one slot for a new item, if the store is not full.
    fn reserve(&self) -> std::result::Result<(), NoRoom> {
        self.len
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| {
                (n < self.max_items).then_some(n + 1)
            })
            .map(drop)
            .map_err(|_| NoRoom)
    }

    fn remove(&self, map: &mut Shard, key: &str) -> Option<Item> {
        let item = map.remove(key)?;
        self.len.fetch_sub(1, Ordering::AcqRel);
        Some(item)
    }

    /// Removes the items of one shard expired at `now`; returns (removed, scanned).
    fn purge(&self, shard: &Mutex<Shard>, now: i64) -> (usize, usize) {
        let mut map = lock(shard);
        let before = map.len();
        map.retain(|_, item| item.is_live(now));
        let removed = before - map.len();
        if removed > 0 {
            self.len.fetch_sub(removed, Ordering::AcqRel);
        }
        (removed, before)
    }

    /// Runs `op` on the shard of `key`. If it needs a slot and the store is full, drops the
    /// expired items of every shard (one lock at a time, at most once per clock second) and
    /// runs `op` once more; `op` must change nothing when it returns `NoRoom`.
    fn write<T>(
        &self,
        key: &str,
        mut op: impl FnMut(&mut Shard) -> std::result::Result<T, NoRoom>,
    ) -> Result<T> {
        let shard = self.shard(key);
        let first = op(&mut lock(shard));
        if let Ok(value) = first {
            return Ok(value);
        }
        let now = self.latest_now.load(Ordering::Relaxed);
        if self.last_full_purge.fetch_max(now, Ordering::AcqRel) < now {
            for other in self.shards.iter() {
                self.purge(other, now);
            }
        }
        op(&mut lock(shard)).map_err(|NoRoom| EphemeralError::Full)
    }
}

/// The count stored in a counter's value (decimal ASCII); anything else counts as zero.
fn parse_count(value: &[u8]) -> u64 {
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Writes `n` in decimal ASCII into `out`, replacing its contents.
fn write_count(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.clear();
    out.extend_from_slice(&digits[start..]);
}

/// A token bucket's state: the time at which it is full again, `secs + rem / capacity` (GCRA's
/// theoretical arrival time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tat {
    secs: i64,
    rem: i64,
}

/// The state stored in a bucket's value (`seconds:remainder` in decimal ASCII); anything else
/// counts as a full bucket.
fn parse_tat(value: &[u8]) -> Option<Tat> {
    let (secs, rem) = std::str::from_utf8(value).ok()?.split_once(':')?;
    Some(Tat {
        secs: secs.parse().ok()?,
        rem: rem.parse().ok()?,
    })
}

fn write_tat(out: &mut Vec<u8>, tat: Tat) {
    out.clear();
    out.extend_from_slice(format!("{}:{}", tat.secs, tat.rem).as_bytes());
}

/// One token asked of a bucket in state `stored` (`None`: full): `Ok(state once it is taken)`
/// when there is one, `Err(seconds until there is one)` (≥ 1) when the bucket is empty.
/// Exact integer arithmetic: one token is `period / capacity` seconds, counted in units of
/// `1 / capacity` of a second.
fn bucket_step(
    stored: Option<Tat>,
    capacity: u32,
    period: i64,
    now: i64,
) -> std::result::Result<Tat, i64> {
    let c = i128::from(capacity.max(1));
    let p = i128::from(period.max(1));
    // A bucket full again before `now` is just full: its time starts from `now`.
    let (mut secs, mut rem) = match stored {
        Some(t) if t.secs > now || (t.secs == now && t.rem > 0) => {
            (i128::from(t.secs), i128::from(t.rem).clamp(0, c - 1))
        }
        _ => (i128::from(now), 0),
    };
    let now = i128::from(now);
    rem += p;
    secs += rem / c;
    rem %= c;
    let clamp = |n: i128| i64::try_from(n).unwrap_or(if n < 0 { i64::MIN } else { i64::MAX });
    if secs < now + p || (secs == now + p && rem == 0) {
        Ok(Tat {
            secs: clamp(secs),
            rem: clamp(rem),
        })
    } else {
        // The token after this one is available once the state is at most `period` ahead.
        Err(clamp(secs - p - now + i128::from(rem > 0)))
    }
}

#[async_trait::async_trait]
impl Ephemeral for MemoryStore {
    async fn put(&self, key: &str, value: &[u8], expires_at: i64) -> Result<()> {
        self.write(key, |map| {
            if let Some(item) = map.get_mut(key) {
                item.set(value, expires_at);
                return Ok(());
            }
            self.reserve()?;
            map.insert(key.to_owned(), Item::new(value, expires_at));
            Ok(())
        })
    }

    async fn put_if_absent(
        &self,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<bool> {
        self.observe(now);
        self.write(key, |map| match map.get_mut(key) {
            Some(item) if item.is_live(now) => Ok(false),
            Some(item) => {
                item.set(value, expires_at);
                Ok(true)
            }
            None => {
                self.reserve()?;
                map.insert(key.to_owned(), Item::new(value, expires_at));
                Ok(true)
            }
        })
    }

    async fn get(&self, key: &str, now: i64) -> Result<Option<Vec<u8>>> {
        self.observe(now);
        let mut map = lock(self.shard(key));
        match map.get(key) {
            Some(item) if item.is_live(now) => Ok(Some(item.value.clone())),
            Some(_) => {
                self.remove(&mut map, key);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn take(&self, key: &str, now: i64) -> Result<Option<Vec<u8>>> {
        self.observe(now);
        let item = self.remove(&mut lock(self.shard(key)), key);
        Ok(item.filter(|item| item.is_live(now)).map(|item| item.value))
    }

    async fn swap(
        &self,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<Option<Vec<u8>>> {
        self.observe(now);
        // Never takes a slot: only a live item is replaced, so a flood of unknown keys can
        // neither grow the store nor meet `Full`.
        let mut map = lock(self.shard(key));
        match map.get_mut(key) {
            Some(item) if item.is_live(now) => {
                let old = std::mem::replace(&mut item.value, value.to_vec());
                item.expires_at = expires_at;
                Ok(Some(old))
            }
            Some(_) => {
                self.remove(&mut map, key);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn append(&self, key: &str, value: &[u8], expires_at: i64, now: i64) -> Result<u64> {
        self.observe(now);
        self.write(key, |map| match map.get_mut(key) {
            Some(item) if item.is_live(now) => {
                item.value.extend_from_slice(value);
                Ok(item.value.len() as u64)
            }
            Some(item) => {
                item.set(value, expires_at);
                Ok(value.len() as u64)
            }
            None => {
                self.reserve()?;
                map.insert(key.to_owned(), Item::new(value, expires_at));
                Ok(value.len() as u64)
            }
        })
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.remove(&mut lock(self.shard(key)), key);
        Ok(())
    }

    async fn any_exists(&self, keys: &[&str], now: i64) -> Result<bool> {
        self.observe(now);
        Ok(keys.iter().any(|key| {
            lock(self.shard(key))
                .get(*key)
                .is_some_and(|item| item.is_live(now))
        }))
    }

    async fn incr(&self, key: &str, expires_at: i64, now: i64) -> Result<u64> {
        self.observe(now);
        self.write(key, |map| match map.get_mut(key) {
            Some(item) if item.is_live(now) => {
                let count = parse_count(&item.value).saturating_add(1);
                write_count(&mut item.value, count);
                Ok(count)
            }
            Some(item) => {
                item.set(b"1", expires_at);
                Ok(1)
            }
            None => {
                self.reserve()?;
                map.insert(key.to_owned(), Item::new(b"1", expires_at));
                Ok(1)
            }
        })
    }

    async fn bucket(
        &self,
        key: &str,
        capacity: u32,
        period: i64,
        take: bool,
        now: i64,
    ) -> Result<Option<i64>> {
        self.observe(now);
        if !take {
            let map = lock(self.shard(key));
            let stored = map
                .get(key)
                .filter(|item| item.is_live(now))
                .and_then(|item| parse_tat(&item.value));
            return Ok(bucket_step(stored, capacity, period, now).err());
        }
        // Full again at the latest `period` after this take: then it may be collected.
        let expires_at = now.saturating_add(period.max(1));
        self.write(key, |map| match map.get_mut(key) {
            Some(item) => {
                let stored = item.is_live(now).then(|| parse_tat(&item.value)).flatten();
                match bucket_step(stored, capacity, period, now) {
                    Ok(tat) => {
                        write_tat(&mut item.value, tat);
                        item.expires_at = expires_at;
                        Ok(None)
                    }
                    Err(wait) => Ok(Some(wait)),
                }
            }
            None => match bucket_step(None, capacity, period, now) {
                Ok(tat) => {
                    self.reserve()?;
                    let mut item = Item::new(b"", expires_at);
                    write_tat(&mut item.value, tat);
                    map.insert(key.to_owned(), item);
                    Ok(None)
                }
                Err(wait) => Ok(Some(wait)),
            },
        })
    }

    async fn ping(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::time::Duration;

    use super::super::tests::{self as suite, base_now};
    use super::*;

    fn store() -> Arc<dyn Ephemeral> {
        MemoryStore::new(10_000)
    }

    macro_rules! behaviour {
        ($($name:ident),* $(,)?) => {$(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                suite::$name(store()).await;
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

    #[test]
    fn bucket_step_is_exact() {
        // 3 tokens per 10 s: one every 3⅓ s, counted in thirds of a second.
        let now = 1_000;
        let a = bucket_step(None, 3, 10, now).unwrap();
        assert_eq!(a, Tat { secs: 1003, rem: 1 });
        let b = bucket_step(Some(a), 3, 10, now).unwrap();
        assert_eq!(b, Tat { secs: 1006, rem: 2 });
        let c = bucket_step(Some(b), 3, 10, now).unwrap();
        assert_eq!(c, Tat { secs: 1010, rem: 0 });
        // empty: the next token is 3⅓ s away, so 4 whole seconds
        assert_eq!(bucket_step(Some(c), 3, 10, now), Err(4));
        assert_eq!(bucket_step(Some(c), 3, 10, now + 3), Err(1));
        assert!(bucket_step(Some(c), 3, 10, now + 4).is_ok());
        // a state in the past is a full bucket
        assert_eq!(
            bucket_step(Some(c), 3, 10, now + 50),
            Ok(Tat { secs: 1053, rem: 1 })
        );
        // nonsense in, something sane out
        assert!(bucket_step(None, 0, 0, now).is_ok());
        assert_eq!(
            bucket_step(
                Some(Tat {
                    secs: now + 1,
                    rem: 0
                }),
                0,
                0,
                now
            ),
            Err(1)
        );
        assert!(bucket_step(None, u32::MAX, i64::MAX, i64::MAX).is_ok());
        assert_eq!(parse_tat(b"12:3"), Some(Tat { secs: 12, rem: 3 }));
        assert_eq!(parse_tat(b"12"), None);
        let mut buf = Vec::new();
        write_tat(&mut buf, Tat { secs: -5, rem: 7 });
        assert_eq!(buf, b"-5:7");
    }

    #[tokio::test]
    async fn a_full_store_still_answers_bucket_peeks_and_refuses_new_buckets() {
        let now = base_now();
        let store = MemoryStore::new(1);
        assert_eq!(store.bucket("b1", 2, 60, true, now).await.unwrap(), None);
        assert_eq!(store.bucket("b2", 2, 60, false, now).await.unwrap(), None);
        assert!(matches!(
            store.bucket("b2", 2, 60, true, now).await,
            Err(EphemeralError::Full)
        ));
        // an existing bucket is updated in place
        assert_eq!(store.bucket("b1", 2, 60, true, now).await.unwrap(), None);
        assert_eq!(
            store.bucket("b1", 2, 60, true, now).await.unwrap(),
            Some(30)
        );
        assert_eq!(store.len(), 1);
    }

    #[tokio::test]
    async fn full_store_refuses_new_keys() {
        let now = base_now();
        let store = MemoryStore::new(3);
        for key in ["a", "b", "c"] {
            store.put(key, b"v", now + 60).await.unwrap();
        }
        assert_eq!(store.len(), 3);
        assert!(matches!(
            store.put("d", b"v", now + 60).await,
            Err(EphemeralError::Full)
        ));
        assert!(matches!(
            store.put_if_absent("d", b"v", now + 60, now).await,
            Err(EphemeralError::Full)
        ));
        assert!(matches!(
            store.incr("d", now + 60, now).await,
            Err(EphemeralError::Full)
        ));
        assert_eq!(store.len(), 3);
        // existing keys can still be rewritten
        store.put("a", b"w", now + 60).await.unwrap();
        assert_eq!(
            store.swap("b", b"w", now + 60, now).await.unwrap().unwrap(),
            b"v"
        );
        // freeing a slot makes room
        store.delete("c").await.unwrap();
        store.put("d", b"v", now + 60).await.unwrap();
        assert_eq!(store.len(), 3);
        assert!(matches!(
            store.put("e", b"v", now + 60).await,
            Err(EphemeralError::Full)
        ));
    }

    #[tokio::test]
    async fn a_full_store_answers_swap_of_an_absent_key_with_none() {
        let now = base_now();
        let store = MemoryStore::new(3);
        for key in ["a", "b", "c"] {
            store.put(key, b"v", now + 60).await.unwrap();
        }
        // unknown codes presented to a full store: no error, and no slot taken
        for i in 0..100 {
            let key = format!("code:{i}");
            assert_eq!(store.swap(&key, b"T", now + 600, now).await.unwrap(), None);
        }
        assert_eq!(store.len(), 3);
        // an expired item's slot is given back, not reused for the tombstone
        let late = MemoryStore::new(1);
        late.put("code", b"grant", now + 10).await.unwrap();
        assert_eq!(
            late.swap("code", b"T", now + 600, now + 10).await.unwrap(),
            None
        );
        assert!(late.is_empty());
        // the live ones are still swapped
        assert_eq!(
            store
                .swap("b", b"T", now + 600, now)
                .await
                .unwrap()
                .as_deref(),
            Some(&b"v"[..])
        );
        assert_eq!(store.len(), 3);
    }

    #[tokio::test]
    async fn full_store_drops_expired_items_first() {
        let now = base_now();
        let store = MemoryStore::new(3);
        store.put("a", b"v", now + 10).await.unwrap();
        store.put("b", b"v", now + 10).await.unwrap();
        store.put("c", b"v", now + 60).await.unwrap();
        assert!(matches!(
            store.put_if_absent("d", b"v", now + 60, now).await,
            Err(EphemeralError::Full)
        ));
        // once time has moved past a and b, their slots are reclaimed
        let later = now + 10;
        assert!(
            store
                .put_if_absent("d", b"v", later + 60, later)
                .await
                .unwrap()
        );
        // `put` has no `now`: it uses the latest time the store has seen
        store.put("e", b"v", later + 60).await.unwrap();
        assert_eq!(store.len(), 3);
        assert_eq!(store.get("c", later).await.unwrap().unwrap(), b"v");
        assert!(matches!(
            store.put("f", b"v", later + 60).await,
            Err(EphemeralError::Full)
        ));
    }

    #[tokio::test]
    async fn zero_capacity_is_always_full() {
        let store = MemoryStore::new(0);
        assert!(matches!(
            store.put("a", b"v", i64::MAX).await,
            Err(EphemeralError::Full)
        ));
    }

    #[tokio::test]
    async fn reads_drop_expired_items_and_len_tracks_removals() {
        let now = base_now();
        let store = MemoryStore::new(100);
        assert!(store.is_empty());
        store.put("a", b"v", now + 10).await.unwrap();
        store.put("b", b"v", now + 10).await.unwrap();
        store.put("c", b"v", now + 10).await.unwrap();
        store.put("a", b"w", now + 10).await.unwrap();
        assert_eq!(store.len(), 3);
        assert_eq!(store.get("a", now + 10).await.unwrap(), None);
        assert_eq!(store.len(), 2);
        store.take("b", now).await.unwrap().unwrap();
        store.delete("c").await.unwrap();
        store.delete("c").await.unwrap();
        assert!(store.is_empty());
    }

    #[tokio::test]
    async fn sweeper_removes_expired_items() {
        let now = base_now();
        let store = MemoryStore::new(100_000);
        for i in 0..20_000 {
            let expires_at = if i % 2 == 0 { now + 10 } else { now + 100 };
            store.put(&format!("k{i}"), b"v", expires_at).await.unwrap();
        }
        assert_eq!(store.len(), 20_000);
        let clock = Arc::new(AtomicI64::new(now));
        let read = clock.clone();
        let sweeper = store.spawn_sweeper(
            Arc::new(move || read.load(Ordering::Relaxed)),
            Duration::from_millis(5),
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(store.len(), 20_000, "nothing has expired yet");
        clock.store(now + 10, Ordering::Relaxed);
        tokio::time::timeout(Duration::from_secs(5), async {
            while store.len() != 10_000 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the sweeper removed the expired half");
        assert!(store.get("k1", now + 10).await.unwrap().is_some());
        assert!(store.get("k0", now).await.unwrap().is_none());
        sweeper.abort();
    }

    #[tokio::test]
    async fn sweeper_stops_when_the_store_is_dropped() {
        let store = MemoryStore::new(10);
        let sweeper = store.spawn_sweeper(Arc::new(|| 0), Duration::from_millis(1));
        drop(store);
        tokio::time::timeout(Duration::from_secs(5), sweeper)
            .await
            .expect("the sweeper stopped")
            .unwrap();
    }

    #[test]
    fn counts_round_trip() {
        let mut buf = Vec::new();
        for n in [0, 1, 9, 10, 12_345, u64::MAX] {
            write_count(&mut buf, n);
            assert_eq!(buf, n.to_string().as_bytes());
            assert_eq!(parse_count(&buf), n);
        }
        assert_eq!(parse_count(b"garbage"), 0);
    }

    #[test]
    fn shard_count_is_a_power_of_two_in_range() {
        for max in [0, 1, 100, 65_536, 1_000_000, usize::MAX / 2] {
            let store = MemoryStore::new(max);
            let n = store.shards.len();
            assert!(n.is_power_of_two() && (MIN_SHARDS..=MAX_SHARDS).contains(&n));
            assert_eq!(store.mask, n - 1);
        }
    }
}
