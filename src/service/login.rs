//! Password sign-in. Unknown users, disabled users and wrong passwords all cost one argon2id
//! verification and end in the same answer (OWASP ASVS 6.3.8).

use crate::crypto::password::{HashError, Hasher};
use crate::domain::user::{User, normalize_identifier};
use crate::store::{Db, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The user if `identifier` names one whose password is `password` and who may sign in.
pub async fn check_password(
    db: &Db,
    hasher: &Hasher,
    identifier: &str,
    password: String,
) -> Result<Option<User>, LoginError> {
    let normalized = normalize_identifier(identifier);
    let user = if normalized.is_empty() || normalized.len() > 1024 {
        None
    } else {
        db.user_by_identifier(&normalized).await?
    };
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let ok = hasher.verify(stored, password).await?;
    Ok(match user {
        Some(u) if ok && !u.disabled => Some(u),
        _ => None,
    })
}

/// Failed sign-ins are counted per identifier and per client address, in fixed windows of the
/// injected clock. Past a limit, attempts are refused before any password check, for the rest
/// of the window only: a soft, temporary throttle (OWASP ASVS 6.3.1), the same for known and
/// unknown identifiers. The account-lockout policy of a later issue builds on these counters.
pub mod throttle {
    use std::net::IpAddr;

    use crate::crypto::token::digest;
    use crate::domain::user::normalize_identifier;
    use crate::ephemeral::{Ephemeral, Result};

    pub const WINDOW: i64 = 900;
    pub const MAX_PER_IDENTIFIER: u64 = 20;
    pub const MAX_PER_ADDRESS: u64 = 100;

    fn keys(identifier: &str, ip: Option<IpAddr>, now: i64) -> (String, Option<String>, i64) {
        let window = now.div_euclid(WINDOW);
        let id = format!(
            "rl:login:id:{}:{window}",
            digest(&normalize_identifier(identifier))
        );
        let ip = ip.map(|ip| format!("rl:login:ip:{ip}:{window}"));
        (id, ip, (window + 1) * WINDOW)
    }

    async fn count(store: &dyn Ephemeral, key: &str, now: i64) -> Result<u64> {
        Ok(store
            .get(key, now)
            .await?
            .and_then(|v| std::str::from_utf8(&v).ok()?.parse().ok())
            .unwrap_or(0))
    }

    /// Seconds until the window ends if this identifier or address is over its limit.
    pub async fn blocked(
        store: &dyn Ephemeral,
        identifier: &str,
        ip: Option<IpAddr>,
        now: i64,
    ) -> Result<Option<i64>> {
        let (id, ip, end) = keys(identifier, ip, now);
        let over_id = count(store, &id, now).await? >= MAX_PER_IDENTIFIER;
        let over_ip = match &ip {
            Some(k) => count(store, k, now).await? >= MAX_PER_ADDRESS,
            None => false,
        };
        Ok((over_id || over_ip).then_some(end - now))
    }

    pub async fn failed(
        store: &dyn Ephemeral,
        identifier: &str,
        ip: Option<IpAddr>,
        now: i64,
    ) -> Result<()> {
        let (id, ip, end) = keys(identifier, ip, now);
        store.incr(&id, end, now).await?;
        if let Some(k) = ip {
            store.incr(&k, end, now).await?;
        }
        Ok(())
    }

    /// A successful sign-in clears the identifier's count (not the address's).
    pub async fn succeeded(store: &dyn Ephemeral, identifier: &str, now: i64) -> Result<()> {
        let (id, _, _) = keys(identifier, None, now);
        store.delete(&id).await
    }
}
