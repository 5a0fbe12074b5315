//! The behavioural checks every implementation of [`Ephemeral`](super::Ephemeral) must pass;
//! `memory.rs` runs them in process and `redis.rs` against Redis.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::ephemeral::Ephemeral;

/// A realistic "now" (real unix time), so that Redis keeps test items for a while.
pub fn base_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub async fn put_get(store: Arc<dyn Ephemeral>) {
    let now = base_now();
    assert_eq!(store.get("k", now).await.unwrap(), None);
    store.put("k", b"one", now + 60).await.unwrap();
    assert_eq!(
        store.get("k", now).await.unwrap().as_deref(),
        Some(&b"one"[..])
    );
    // put replaces, value and expiry alike
    store.put("k", b"two", now + 10).await.unwrap();
    assert_eq!(
        store.get("k", now).await.unwrap().as_deref(),
        Some(&b"two"[..])
    );
    assert_eq!(store.get("k", now + 10).await.unwrap(), None);
    // empty values are values
    store.put("empty", b"", now + 60).await.unwrap();
    assert_eq!(store.get("empty", now).await.unwrap(), Some(Vec::new()));
    // binary values survive
    let bin: Vec<u8> = (0..=255).collect();
    store.put("bin", &bin, now + 60).await.unwrap();
    assert_eq!(store.get("bin", now).await.unwrap(), Some(bin));
}

pub async fn expiry_follows_now(store: Arc<dyn Ephemeral>) {
    let now = base_now();
    store.put("k", b"v", now + 60).await.unwrap();
    assert!(store.get("k", now + 59).await.unwrap().is_some());
    assert_eq!(store.get("k", now + 60).await.unwrap(), None);
    assert_eq!(store.get("k", now + 3600).await.unwrap(), None);
    // an item already expired when written is never seen
    store.put("old", b"v", now - 1).await.unwrap();
    assert_eq!(store.get("old", now).await.unwrap(), None);
    assert_eq!(store.take("old", now).await.unwrap(), None);
}

pub async fn take_once(store: Arc<dyn Ephemeral>) {
    let now = base_now();
    store.put("code", b"grant", now + 60).await.unwrap();
    assert_eq!(
        store.take("code", now).await.unwrap().as_deref(),
        Some(&b"grant"[..])
    );
    assert_eq!(store.take("code", now).await.unwrap(), None);
    assert_eq!(store.get("code", now).await.unwrap(), None);
    // an expired item is not taken
    store.put("late", b"grant", now + 60).await.unwrap();
    assert_eq!(store.take("late", now + 60).await.unwrap(), None);
    assert_eq!(store.take("never", now).await.unwrap(), None);
}

pub async fn swap_returns_previous(store: Arc<dyn Ephemeral>) {
    let now = base_now();
    store.put("code", b"grant", now + 60).await.unwrap();
    assert_eq!(
        store
            .swap("code", b"tombstone", now + 600, now)
            .await
            .unwrap()
            .as_deref(),
        Some(&b"grant"[..])
    );
    // the tombstone is now visible, with its own (longer) expiry
    assert_eq!(
        store.get("code", now + 100).await.unwrap().as_deref(),
        Some(&b"tombstone"[..])
    );
    // a live tombstone is itself replaced and returned (a replay)
    assert_eq!(
        store
            .swap("code", b"tombstone", now + 600, now + 100)
            .await
            .unwrap()
            .as_deref(),
        Some(&b"tombstone"[..])
    );
}

/// An unknown key (an unknown code) is answered `None` and stays absent.
pub async fn swap_of_absent_writes_nothing(store: Arc<dyn Ephemeral>) {
    let now = base_now();
    assert_eq!(
        store
            .swap("code", b"tombstone", now + 600, now)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.get("code", now).await.unwrap(), None);
    assert!(!store.any_exists(&["code"], now).await.unwrap());
    // and nothing blocks a later write of that key
    assert!(
        store
            .put_if_absent("code", b"grant", now + 60, now)
            .await
            .unwrap()
    );
}

/// An item expired at `now` counts as absent: `None`, and no tombstone is written over it.
pub async fn swap_of_expired_returns_none(store: Arc<dyn Ephemeral>) {
    let now = base_now();
    store.put("code", b"grant", now + 60).await.unwrap();
    let later = now + 60;
    assert_eq!(
        store
            .swap("code", b"tombstone", later + 600, later)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.get("code", later).await.unwrap(), None);
    assert_eq!(store.get("code", later + 100).await.unwrap(), None);
    // a second attempt finds nothing either (no tombstone was left by the first)
    assert_eq!(
        store
            .swap("code", b"tombstone", later + 600, later)
            .await
            .unwrap(),
        None
    );
}

pub async fn put_if_absent(store: Arc<dyn Ephemeral>) {
    let now = base_now();
    assert!(store.put_if_absent("k", b"a", now + 60, now).await.unwrap());
    assert!(
        !store
            .put_if_absent("k", b"b", now + 600, now)
            .await
            .unwrap()
    );
    assert_eq!(
        store.get("k", now).await.unwrap().as_deref(),
        Some(&b"a"[..])
    );
    // an item expired per `now` counts as absent
    let later = now + 60;
    assert!(
        store
            .put_if_absent("k", b"c", later + 60, later)
            .await
            .unwrap()
    );
    assert_eq!(
        store.get("k", later).await.unwrap().as_deref(),
        Some(&b"c"[..])
    );
}

pub async fn any_exists(store: Arc<dyn Ephemeral>) {
    let now = base_now();
    assert!(!store.any_exists(&[], now).await.unwrap());
    assert!(!store.any_exists(&["a", "b", "c"], now).await.unwrap());
    store.put("b", b"revoked", now + 60).await.unwrap();
    assert!(store.any_exists(&["a", "b", "c"], now).await.unwrap());
    assert!(store.any_exists(&["b"], now).await.unwrap());
    // expired markers do not count
    assert!(!store.any_exists(&["a", "b", "c"], now + 60).await.unwrap());
    store.put("c", b"", now + 120).await.unwrap();
    assert!(store.any_exists(&["a", "b", "c"], now + 60).await.unwrap());
}

pub async fn incr_counts_and_restarts(store: Arc<dyn Ephemeral>) {
    let now = base_now();
    assert_eq!(store.incr("n", now + 60, now).await.unwrap(), 1);
    assert_eq!(store.incr("n", now + 60, now).await.unwrap(), 2);
    // the window is fixed: a later expires_at does not extend a live counter
    assert_eq!(store.incr("n", now + 600, now + 30).await.unwrap(), 3);
    assert_eq!(
        store.get("n", now).await.unwrap().as_deref(),
        Some(&b"3"[..])
    );
    assert_eq!(store.get("n", now + 60).await.unwrap(), None);
    // expired: restarts at 1 with the new expiry
    assert_eq!(store.incr("n", now + 120, now + 60).await.unwrap(), 1);
    assert_eq!(store.incr("n", now + 999, now + 119).await.unwrap(), 2);
    assert_eq!(store.incr("n", now + 180, now + 120).await.unwrap(), 1);
    // counters are independent
    assert_eq!(store.incr("m", now + 60, now).await.unwrap(), 1);
}

pub async fn delete(store: Arc<dyn Ephemeral>) {
    let now = base_now();
    store.put("k", b"v", now + 60).await.unwrap();
    store.delete("k").await.unwrap();
    assert_eq!(store.get("k", now).await.unwrap(), None);
    store.delete("k").await.unwrap();
    store.delete("never").await.unwrap();
    assert!(store.put_if_absent("k", b"w", now + 60, now).await.unwrap());
}

pub async fn ping(store: Arc<dyn Ephemeral>) {
    store.ping().await.unwrap();
}

/// 50 concurrent `take`s of one key: exactly one gets the value.
pub async fn concurrent_take(store: Arc<dyn Ephemeral>) {
    let now = base_now();
    for round in 0..5 {
        store.put("code", b"grant", now + 60).await.unwrap();
        let barrier = Arc::new(tokio::sync::Barrier::new(50));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let store = store.clone();
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.take("code", now).await.unwrap()
                })
            })
            .collect();
        let mut winners = 0;
        for task in tasks {
            if let Some(value) = task.await.unwrap() {
                assert_eq!(value, b"grant");
                winners += 1;
            }
        }
        assert_eq!(winners, 1, "round {round}");
    }
}

/// 50 concurrent `swap`s of one code: exactly one sees the grant.
pub async fn concurrent_swap(store: Arc<dyn Ephemeral>) {
    let now = base_now();
    store.put("code", b"grant", now + 60).await.unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .swap("code", b"tombstone", now + 600, now)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut grants = 0;
    for task in tasks {
        match task.await.unwrap().as_deref() {
            Some(b"grant") => grants += 1,
            Some(b"tombstone") => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(grants, 1);
}

/// 50 concurrent `incr`s: every count from 1 to 50 is handed out once.
pub async fn concurrent_incr(store: Arc<dyn Ephemeral>) {
    let now = base_now();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.incr("n", now + 60, now).await.unwrap() })
        })
        .collect();
    let mut counts = Vec::new();
    for task in tasks {
        counts.push(task.await.unwrap());
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=50).collect::<Vec<u64>>());
}

/// 50 concurrent `put_if_absent`s: exactly one stores.
pub async fn concurrent_put_if_absent(store: Arc<dyn Ephemeral>) {
    let now = base_now();
    let tasks: Vec<_> = (0..50u8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .put_if_absent("jti", &[i], now + 60, now)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut stored = 0;
    for task in tasks {
        stored += usize::from(task.await.unwrap());
    }
    assert_eq!(stored, 1);
}

/// 5 tokens per 300 s: one every 60 s; a new bucket is full, an empty one says how long to
/// wait, and it refills with time.
pub async fn bucket_takes_and_refills(store: Arc<dyn Ephemeral>) {
    let now = base_now();
    for _ in 0..5 {
        assert_eq!(store.bucket("b", 5, 300, true, now).await.unwrap(), None);
    }
    assert_eq!(
        store.bucket("b", 5, 300, true, now).await.unwrap(),
        Some(60)
    );
    assert_eq!(
        store.bucket("b", 5, 300, false, now).await.unwrap(),
        Some(60)
    );
    // a refused take takes nothing
    assert_eq!(
        store.bucket("b", 5, 300, true, now + 59).await.unwrap(),
        Some(1)
    );
    assert_eq!(
        store.bucket("b", 5, 300, true, now + 60).await.unwrap(),
        None
    );
    assert_eq!(
        store.bucket("b", 5, 300, true, now + 60).await.unwrap(),
        Some(60)
    );
    // two tokens back after 120 s
    assert_eq!(
        store.bucket("b", 5, 300, true, now + 180).await.unwrap(),
        None
    );
    assert_eq!(
        store.bucket("b", 5, 300, true, now + 180).await.unwrap(),
        None
    );
    assert_eq!(
        store.bucket("b", 5, 300, true, now + 180).await.unwrap(),
        Some(60)
    );
    // untouched for a period: full again, and collected
    let later = now + 180 + 300;
    assert_eq!(store.get("b", later).await.unwrap(), None);
    for _ in 0..5 {
        assert_eq!(store.bucket("b", 5, 300, true, later).await.unwrap(), None);
    }
    assert_eq!(
        store.bucket("b", 5, 300, true, later).await.unwrap(),
        Some(60)
    );
    // buckets are independent
    assert_eq!(
        store.bucket("other", 5, 300, false, later).await.unwrap(),
        None
    );
}

/// Peeking at a bucket never writes, not even a new one.
pub async fn bucket_peek_writes_nothing(store: Arc<dyn Ephemeral>) {
    let now = base_now();
    for _ in 0..3 {
        assert_eq!(store.bucket("b", 1, 60, false, now).await.unwrap(), None);
    }
    assert_eq!(store.get("b", now).await.unwrap(), None);
    assert_eq!(store.bucket("b", 1, 60, true, now).await.unwrap(), None);
    assert!(store.get("b", now).await.unwrap().is_some());
    assert_eq!(
        store.bucket("b", 1, 60, false, now).await.unwrap(),
        Some(60)
    );
    assert_eq!(
        store.bucket("b", 1, 60, false, now + 60).await.unwrap(),
        None
    );
}

/// A rate that is not a whole number of seconds per token (3 per 10 s) stays exact: three
/// tokens per 10 s over a long run, never four.
pub async fn bucket_with_uneven_rate(store: Arc<dyn Ephemeral>) {
    let now = base_now();
    let mut taken = 0;
    for t in 0..100 {
        while store
            .bucket("b", 3, 10, true, now + t)
            .await
            .unwrap()
            .is_none()
        {
            taken += 1;
        }
    }
    // 3 at first, then one every 10/3 s for 99 s: 3 + floor(99 × 3 / 10)
    assert_eq!(taken, 3 + 29);
    let wait = store.bucket("b", 3, 10, true, now + 99).await.unwrap();
    assert!(matches!(wait, Some(1..=4)), "{wait:?}");
}

/// 50 concurrent takes from a bucket of 10: exactly 10 succeed.
pub async fn concurrent_bucket(store: Arc<dyn Ephemeral>) {
    let now = base_now();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.bucket("b", 10, 600, true, now).await.unwrap() })
        })
        .collect();
    let mut taken = 0;
    for task in tasks {
        match task.await.unwrap() {
            None => taken += 1,
            Some(wait) => assert_eq!(wait, 60),
        }
    }
    assert_eq!(taken, 10);
}

pub async fn append_accumulates(store: Arc<dyn Ephemeral>) {
    let now = base_now();
    assert_eq!(
        store.append("list", b"a\n", now + 60, now).await.unwrap(),
        2
    );
    // a later expiry does not extend the item: it keeps the first one
    assert_eq!(
        store.append("list", b"b\n", now + 600, now).await.unwrap(),
        4
    );
    assert_eq!(
        store.get("list", now).await.unwrap().as_deref(),
        Some(&b"a\nb\n"[..])
    );
    assert_eq!(store.get("list", now + 60).await.unwrap(), None);
    // an expired list starts again
    store
        .append("list", b"c\n", now + 120, now + 60)
        .await
        .unwrap();
    assert_eq!(
        store.take("list", now + 60).await.unwrap().as_deref(),
        Some(&b"c\n"[..])
    );
    assert_eq!(store.get("list", now + 60).await.unwrap(), None);
}

/// 50 concurrent `append`s to one list: none is lost.
pub async fn concurrent_append(store: Arc<dyn Ephemeral>) {
    let now = base_now();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .append("many", format!("{i}\n").as_bytes(), now + 60, now)
                    .await
                    .unwrap()
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let all = store.get("many", now).await.unwrap().unwrap();
    let mut seen: Vec<u32> = std::str::from_utf8(&all)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..50).collect::<Vec<_>>());
}
