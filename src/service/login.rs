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
