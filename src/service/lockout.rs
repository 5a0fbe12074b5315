//! Brute-force protection for sign-in: an account lockout and a per-address throttle, both kept
//! in the short-lived store so that with Redis every node sees the same counts and locks.
//!
//! - **Per account** (the resolved user, whichever of their identifiers was typed): every
//!   password or code check is counted **before** it runs, with one atomic increment, in a
//!   window of `duration` from the first attempt; past `threshold` attempts the check is refused
//!   unchecked, so a concurrent burst gets at most `threshold` guesses. The failure that reaches
//!   the threshold locks the account for `duration` (OWASP ASVS 6.3.1); while locked, even the
//!   right password is refused. A success starts the count again; an administrator (or, later,
//!   a password reset) lifts the lock.
//! - **An identifier naming nobody** is counted and locked exactly like an account, under a
//!   digest of the identifier as compared: the answer and the work done are the same, so the
//!   lockout does not tell which logins exist (OWASP ASVS 6.3.8).
//! - **Per client address** (IPv4 whole, IPv6 by /64): a token bucket of
//!   `address_capacity` failures refilled over `address_period`. Only failures take from it, and
//!   the default is generous, because a campus NAT puts thousands of people behind one address.
//!
//! Every function takes `now` from the injected clock. Errors are the store's: when the store
//! is unreachable the sign-in fails (503), never passes unchecked.

use std::net::IpAddr;

use crate::crypto::token::digest;
use crate::domain::user::normalize_identifier;
use crate::ephemeral::{Ephemeral, Result};

/// The numbers, from the settings (`GUICHET_LOCKOUT_*`, `GUICHET_ADDRESS_FAILURE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failed checks that lock an account.
    pub threshold: u32,
    /// How long a lock lasts, and the window the failures are counted in (seconds).
    pub duration: i64,
    /// Failures an address may make in a burst…
    pub address_capacity: u32,
    /// …refilled over this many seconds.
    pub address_period: i64,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            threshold: 5,
            duration: 900,
            address_capacity: 100,
            address_period: 300,
        }
    }
}

/// Whom a failure counts against: the resolved account (whichever identifier was typed), or —
/// for an identifier naming nobody — the typed identifier itself (normalized with
/// `domain::user::normalize_identifier`, digested with `crypto::token::digest`), so that an
/// unknown login "locks" exactly like a known one and neither message nor timing tells them
/// apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    /// A user id.
    Account(&'a str),
    /// The identifier as typed.
    Unknown(&'a str),
}

impl Subject<'_> {
    fn key(&self) -> String {
        match self {
            Subject::Account(user_id) => format!("acct:{user_id}"),
            Subject::Unknown(identifier) => {
                format!("id:{}", digest(&normalize_identifier(identifier)))
            }
        }
    }
}

fn count_key(subject: &str) -> String {
    format!("lockout:count:{subject}")
}

fn lock_key(subject: &str) -> String {
    format!("lockout:lock:{subject}")
}

/// What `enter` decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Go on and check; `count` is this attempt's number in the window.
    Open { count: u64 },
    /// Refused unchecked: locked, or as many checks as the threshold are already counted.
    Locked { retry_after: i64 },
}

/// The end of the lock under `subject` (its stored value), if one is live at `now`.
async fn lock_end(store: &dyn Ephemeral, subject: &str, now: i64) -> Result<Option<i64>> {
    Ok(store
        .get(&lock_key(subject), now)
        .await?
        .and_then(|v| std::str::from_utf8(&v).ok()?.parse::<i64>().ok())
        .filter(|&until| until > now))
}

/// Before checking a password or code: refused if a lock is set; otherwise counts the attempt
/// first (atomic incr, window = `policy.duration`, from the first failure), and refuses if the
/// count is past the threshold (a concurrent burst cannot get more than `threshold` checks).
pub async fn enter(
    store: &dyn Ephemeral,
    policy: &LockoutPolicy,
    subject: &Subject<'_>,
    now: i64,
) -> Result<Gate> {
    let subject = subject.key();
    if let Some(until) = lock_end(store, &subject, now).await? {
        return Ok(Gate::Locked {
            retry_after: until - now,
        });
    }
    let duration = policy.duration.max(1);
    let count = store
        .incr(&count_key(&subject), now.saturating_add(duration), now)
        .await?;
    if count > u64::from(policy.threshold) {
        // The attempt that reaches the threshold is still being checked, or has just set the
        // lock: its end when there is one, else the longest the count can last.
        let until = lock_end(store, &subject, now).await?;
        return Ok(Gate::Locked {
            retry_after: until.map_or(duration, |until| until - now),
        });
    }
    Ok(Gate::Open { count })
}

/// After a failed check with the count `enter` gave: at the threshold, sets the lock until
/// `now + duration`; returns whether the account is now locked.
pub async fn failed(
    store: &dyn Ephemeral,
    policy: &LockoutPolicy,
    subject: &Subject<'_>,
    count: u64,
    now: i64,
) -> Result<bool> {
    if count < u64::from(policy.threshold) {
        return Ok(false);
    }
    let until = now.saturating_add(policy.duration.max(1));
    store
        .put(
            &lock_key(&subject.key()),
            until.to_string().as_bytes(),
            until,
        )
        .await?;
    Ok(true)
}

/// After a successful check: the count starts again.
pub async fn succeeded(store: &dyn Ephemeral, subject: &Subject<'_>) -> Result<()> {
    store.delete(&count_key(&subject.key())).await
}

/// The end of the account's lock, if locked (for `user show`).
pub async fn locked_until(store: &dyn Ephemeral, user_id: &str, now: i64) -> Result<Option<i64>> {
    lock_end(store, &Subject::Account(user_id).key(), now).await
}

/// Lifts the lock and clears the count (CLI `user unlock`, a password reset later).
pub async fn unlock(store: &dyn Ephemeral, user_id: &str) -> Result<()> {
    let subject = Subject::Account(user_id).key();
    store.delete(&lock_key(&subject)).await?;
    store.delete(&count_key(&subject)).await
}

/// The address as counted: IPv4 whole, IPv6 by its /64 (one host gets a /64 to itself); an
/// IPv4-mapped IPv6 address is its IPv4 address.
pub fn address_bucket(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

fn address_key(ip: IpAddr) -> String {
    format!("lockout:ip:{}", address_bucket(ip))
}

/// Per client address: `Some(retry_after)` when the address's failure bucket is empty (answer
/// 429 + `Retry-After`, without checking). Successful sign-ins never count. Without an address
/// (no peer address known), nothing is throttled.
pub async fn address_gate(
    store: &dyn Ephemeral,
    policy: &LockoutPolicy,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<Option<i64>> {
    let Some(ip) = ip else { return Ok(None) };
    store
        .bucket(
            &address_key(ip),
            policy.address_capacity,
            policy.address_period,
            false,
            now,
        )
        .await
}

/// A failed check takes one token from the address's bucket (none left: nothing more happens;
/// the next attempt is refused by [`address_gate`]).
pub async fn address_failed(
    store: &dyn Ephemeral,
    policy: &LockoutPolicy,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<()> {
    if let Some(ip) = ip {
        store
            .bucket(
                &address_key(ip),
                policy.address_capacity,
                policy.address_period,
                true,
                now,
            )
            .await?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::ephemeral::MemoryStore;

    const NOW: i64 = 1_700_000_000;

    fn store() -> Arc<MemoryStore> {
        MemoryStore::new(10_000)
    }

    /// One attempt that fails: enter, then failed. Returns the gate and whether it locked.
    async fn fail_once(
        store: &dyn Ephemeral,
        policy: &LockoutPolicy,
        subject: &Subject<'_>,
        now: i64,
    ) -> (Gate, bool) {
        let gate = enter(store, policy, subject, now).await.unwrap();
        let locked = match gate {
            Gate::Open { count } => failed(store, policy, subject, count, now).await.unwrap(),
            Gate::Locked { .. } => false,
        };
        (gate, locked)
    }

    #[tokio::test]
    async fn five_failures_lock_and_the_sixth_is_refused_unchecked() {
        let store = store();
        let policy = LockoutPolicy::default();
        let alice = Subject::Account("u-alice");
        for n in 1..=4 {
            let (gate, locked) = fail_once(store.as_ref(), &policy, &alice, NOW + n).await;
            assert_eq!(gate, Gate::Open { count: n as u64 });
            assert!(!locked);
        }
        assert_eq!(
            locked_until(store.as_ref(), "u-alice", NOW).await.unwrap(),
            None
        );
        let (gate, locked) = fail_once(store.as_ref(), &policy, &alice, NOW + 5).await;
        assert_eq!(gate, Gate::Open { count: 5 });
        assert!(locked);
        let until = NOW + 5 + 900;
        assert_eq!(
            locked_until(store.as_ref(), "u-alice", NOW + 6)
                .await
                .unwrap(),
            Some(until)
        );
        // the sixth, even with the right password, is refused before any check
        assert_eq!(
            enter(store.as_ref(), &policy, &alice, NOW + 6)
                .await
                .unwrap(),
            Gate::Locked {
                retry_after: until - (NOW + 6)
            }
        );
        // other accounts are untouched
        assert_eq!(
            enter(store.as_ref(), &policy, &Subject::Account("u-bob"), NOW + 6)
                .await
                .unwrap(),
            Gate::Open { count: 1 }
        );
    }

    #[tokio::test]
    async fn the_lock_lasts_its_duration_then_counting_starts_again() {
        let store = store();
        let policy = LockoutPolicy {
            threshold: 3,
            duration: 600,
            ..LockoutPolicy::default()
        };
        let alice = Subject::Account("u-alice");
        for _ in 0..3 {
            fail_once(store.as_ref(), &policy, &alice, NOW).await;
        }
        let end = NOW + 600;
        assert_eq!(
            enter(store.as_ref(), &policy, &alice, end - 1)
                .await
                .unwrap(),
            Gate::Locked { retry_after: 1 }
        );
        assert_eq!(
            locked_until(store.as_ref(), "u-alice", end).await.unwrap(),
            None
        );
        assert_eq!(
            enter(store.as_ref(), &policy, &alice, end).await.unwrap(),
            Gate::Open { count: 1 }
        );
    }

    #[tokio::test]
    async fn failures_are_counted_in_a_window_from_the_first() {
        let store = store();
        let policy = LockoutPolicy::default();
        let alice = Subject::Account("u-alice");
        for n in 0..4 {
            fail_once(store.as_ref(), &policy, &alice, NOW + n * 100).await;
        }
        // the window of the first failure has ended: the fifth is the first of a new one
        let (gate, locked) = fail_once(store.as_ref(), &policy, &alice, NOW + 900).await;
        assert_eq!(gate, Gate::Open { count: 1 });
        assert!(!locked);
    }

    #[tokio::test]
    async fn a_success_starts_the_count_again() {
        let store = store();
        let policy = LockoutPolicy::default();
        let alice = Subject::Account("u-alice");
        for _ in 0..4 {
            fail_once(store.as_ref(), &policy, &alice, NOW).await;
        }
        assert_eq!(
            enter(store.as_ref(), &policy, &alice, NOW).await.unwrap(),
            Gate::Open { count: 5 }
        );
        succeeded(store.as_ref(), &alice).await.unwrap();
        for n in 1..=4 {
            let (gate, locked) = fail_once(store.as_ref(), &policy, &alice, NOW).await;
            assert_eq!(gate, Gate::Open { count: n });
            assert!(!locked);
        }
    }

    #[tokio::test]
    async fn an_unknown_identifier_locks_like_an_account_whatever_its_case() {
        let store = store();
        let policy = LockoutPolicy::default();
        for typed in ["Nobody", "nobody", " NOBODY ", "nobody", "nobody"] {
            fail_once(store.as_ref(), &policy, &Subject::Unknown(typed), NOW).await;
        }
        let gate = enter(
            store.as_ref(),
            &policy,
            &Subject::Unknown("nObOdY"),
            NOW + 1,
        )
        .await
        .unwrap();
        assert_eq!(gate, Gate::Locked { retry_after: 899 });
        // an identifier and an account of the same text are different subjects
        assert_eq!(
            enter(store.as_ref(), &policy, &Subject::Account("nobody"), NOW)
                .await
                .unwrap(),
            Gate::Open { count: 1 }
        );
    }

    #[tokio::test]
    async fn a_concurrent_burst_never_gets_more_than_threshold_checks() {
        let store = store();
        let policy = LockoutPolicy::default();
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    enter(store.as_ref(), &policy, &Subject::Account("u-alice"), NOW)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut open = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                Gate::Open { count } => open.push(count),
                Gate::Locked { retry_after } => assert_eq!(retry_after, 900),
            }
        }
        open.sort_unstable();
        assert_eq!(open, vec![1, 2, 3, 4, 5]);
    }

    #[tokio::test]
    async fn unlock_lifts_the_lock_and_clears_the_count() {
        let store = store();
        let policy = LockoutPolicy::default();
        let alice = Subject::Account("u-alice");
        for _ in 0..5 {
            fail_once(store.as_ref(), &policy, &alice, NOW).await;
        }
        assert!(
            locked_until(store.as_ref(), "u-alice", NOW)
                .await
                .unwrap()
                .is_some()
        );
        unlock(store.as_ref(), "u-alice").await.unwrap();
        assert_eq!(
            locked_until(store.as_ref(), "u-alice", NOW).await.unwrap(),
            None
        );
        assert_eq!(
            enter(store.as_ref(), &policy, &alice, NOW).await.unwrap(),
            Gate::Open { count: 1 }
        );
        // unlocking an account that is not locked is fine
        unlock(store.as_ref(), "u-bob").await.unwrap();
    }

    #[tokio::test]
    async fn the_address_bucket_empties_with_failures_and_refills() {
        let store = store();
        let policy = LockoutPolicy {
            address_capacity: 3,
            address_period: 30,
            ..LockoutPolicy::default()
        };
        let ip: Option<IpAddr> = Some("192.0.2.7".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(
                address_gate(store.as_ref(), &policy, ip, NOW)
                    .await
                    .unwrap(),
                None
            );
            address_failed(store.as_ref(), &policy, ip, NOW)
                .await
                .unwrap();
        }
        // one failure every 10 s comes back
        assert_eq!(
            address_gate(store.as_ref(), &policy, ip, NOW)
                .await
                .unwrap(),
            Some(10)
        );
        assert_eq!(
            address_gate(store.as_ref(), &policy, ip, NOW + 9)
                .await
                .unwrap(),
            Some(1)
        );
        assert_eq!(
            address_gate(store.as_ref(), &policy, ip, NOW + 10)
                .await
                .unwrap(),
            None
        );
        // checking the gate takes nothing: still one failure allowed
        address_failed(store.as_ref(), &policy, ip, NOW + 10)
            .await
            .unwrap();
        assert_eq!(
            address_gate(store.as_ref(), &policy, ip, NOW + 10)
                .await
                .unwrap(),
            Some(10)
        );
        // full again after a period
        assert_eq!(
            address_gate(store.as_ref(), &policy, ip, NOW + 40)
                .await
                .unwrap(),
            None
        );
        // other addresses, and requests without one, are not throttled
        let other: Option<IpAddr> = Some("192.0.2.8".parse().unwrap());
        assert_eq!(
            address_gate(store.as_ref(), &policy, other, NOW)
                .await
                .unwrap(),
            None
        );
        address_failed(store.as_ref(), &policy, None, NOW)
            .await
            .unwrap();
        assert_eq!(
            address_gate(store.as_ref(), &policy, None, NOW)
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn an_ipv6_slash_64_is_one_address() {
        let store = store();
        let policy = LockoutPolicy {
            address_capacity: 1,
            ..LockoutPolicy::default()
        };
        let a: Option<IpAddr> = Some("2001:db8:1:2::1".parse().unwrap());
        let b: Option<IpAddr> = Some("2001:db8:1:2:ffff::9".parse().unwrap());
        let c: Option<IpAddr> = Some("2001:db8:1:3::1".parse().unwrap());
        address_failed(store.as_ref(), &policy, a, NOW)
            .await
            .unwrap();
        assert!(
            address_gate(store.as_ref(), &policy, b, NOW)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            address_gate(store.as_ref(), &policy, c, NOW)
                .await
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn address_buckets() {
        let b = |s: &str| address_bucket(s.parse().unwrap());
        assert_eq!(b("192.0.2.7"), "192.0.2.7");
        assert_eq!(b("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(b("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
    }
}
