//! The password check. Unknown users, disabled users and wrong passwords all cost one argon2id
//! verification and end in the same answer (OWASP ASVS 6.3.8). The sign-in flow
//! (`service::authn`) calls it behind the lockout (`service::lockout`).

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
