//! The password check. Unknown users, disabled users and wrong passwords all cost one argon2id
//! verification and end in the same answer (OWASP ASVS 6.3.8). The sign-in flow
//! (`service::authn`) calls it behind the throttle below.

use crate::crypto::password::{HashError, Hasher};
use crate::domain::user::{User, normalize_identifier};
use crate::store::{Db, StoreError};

/// The user an identifier names, if any (before any password check, so that the throttle can
/// count per account).
pub async fn find_user(db: &Db, identifier: &str) -> Result<Option<User>, StoreError> {
    let normalized = normalize_identifier(identifier);
    if normalized.is_empty() || normalized.len() > 1024 {
        return Ok(None);
    }
    db.user_by_identifier(&normalized).await
}

/// `user` if `password` is theirs and they may sign in; with no user, a dummy verification of
/// the same cost.
pub async fn verify(
    hasher: &Hasher,
    user: Option<User>,
    password: String,
) -> Result<Option<User>, HashError> {
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let ok = hasher.verify(stored, password).await?;
    Ok(match user {
        Some(u) if ok && !u.disabled => Some(u),
        _ => None,
    })
}

/// Sign-in attempts are counted in fixed windows of the injected clock, per typed identifier,
/// per resolved account (so that a login, an e-mail and a number of one person do not give
/// three times the guesses), and failures per client address (IPv6 by /64). Each attempt on
/// an identifier or account is counted **before** the password is checked, with one atomic
/// increment: a burst of concurrent guesses cannot overrun the limit, since every guess past
/// it is refused before hashing. A
/// success clears the identifier's and the account's counts. It is a soft, temporary throttle
/// (OWASP ASVS 6.3.1), the same for known and unknown identifiers; the account-lockout policy
/// of a later issue builds on these counters.
pub mod throttle {
    use std::net::IpAddr;

    use crate::crypto::token::digest;
    use crate::domain::user::normalize_identifier;
    use crate::ephemeral::{Ephemeral, Result};

    pub const WINDOW: i64 = 900;
    pub const MAX_PER_IDENTIFIER: u64 = 20;
    pub const MAX_PER_ACCOUNT: u64 = 20;
    pub const MAX_PER_ADDRESS: u64 = 100;

    fn window(now: i64) -> (i64, i64) {
        let w = now.div_euclid(WINDOW);
        (w, (w + 1) * WINDOW)
    }

    fn identifier_key(identifier: &str, w: i64) -> String {
        format!(
            "rl:login:id:{}:{w}",
            digest(&normalize_identifier(identifier))
        )
    }

    fn account_key(user_id: &str, w: i64) -> String {
        format!("rl:login:acct:{user_id}:{w}")
    }

    /// The address as counted: IPv4 whole, IPv6 by its /64 (one host gets a /64 to itself).
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

    fn address_key(ip: IpAddr, w: i64) -> String {
        format!("rl:login:ip:{}:{w}", address_bucket(ip))
    }

    /// Counts an attempt for the identifier, and reads the address's failures; `Some(seconds
    /// until the window ends)` when either is past its limit (the attempt must then be refused
    /// unchecked). The identifier is counted first, atomically; the address counts failures
    /// only (a campus behind one address signs in all day), so a burst from one address may
    /// pass its limit by the requests in flight, never an identifier's.
    pub async fn attempt(
        store: &dyn Ephemeral,
        identifier: &str,
        ip: Option<IpAddr>,
        now: i64,
    ) -> Result<Option<i64>> {
        let (w, end) = window(now);
        let n = store.incr(&identifier_key(identifier, w), end, now).await?;
        let mut over = n > MAX_PER_IDENTIFIER;
        if !over && let Some(ip) = ip {
            over = count(store, &address_key(ip, w), now).await? >= MAX_PER_ADDRESS;
        }
        Ok(over.then_some(end - now))
    }

    async fn count(store: &dyn Ephemeral, key: &str, now: i64) -> Result<u64> {
        Ok(store
            .get(key, now)
            .await?
            .and_then(|v| std::str::from_utf8(&v).ok()?.parse().ok())
            .unwrap_or(0))
    }

    /// A failed attempt counts against the address.
    pub async fn failed(store: &dyn Ephemeral, ip: Option<IpAddr>, now: i64) -> Result<()> {
        if let Some(ip) = ip {
            let (w, end) = window(now);
            store.incr(&address_key(ip, w), end, now).await?;
        }
        Ok(())
    }

    /// Counts an attempt against a resolved account; `Some(wait)` past its limit.
    pub async fn attempt_account(
        store: &dyn Ephemeral,
        user_id: &str,
        now: i64,
    ) -> Result<Option<i64>> {
        let (w, end) = window(now);
        let n = store.incr(&account_key(user_id, w), end, now).await?;
        Ok((n > MAX_PER_ACCOUNT).then_some(end - now))
    }

    /// A successful sign-in clears the identifier's and the account's counts (not the
    /// address's: a shared address of a campus keeps counting every attempt).
    pub async fn succeeded(
        store: &dyn Ephemeral,
        identifier: &str,
        user_id: &str,
        now: i64,
    ) -> Result<()> {
        let (w, _) = window(now);
        store.delete(&identifier_key(identifier, w)).await?;
        store.delete(&account_key(user_id, w)).await
    }
}
