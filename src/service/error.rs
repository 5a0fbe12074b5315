//! What can go wrong below a service, for the edge to map: an unavailable backend (a full
//! short-lived store, a saturated hashing pool) is a 503 with `Retry-After`; anything else is an
//! internal error shown by an id only.

use crate::crypto::password::HashError;
use crate::ephemeral::EphemeralError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ephemeral(#[from] EphemeralError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl Error {
    /// A temporary condition: the short-lived store is full or the hashing pool saturated.
    /// The edge answers 503 (`temporarily_unavailable`), never 500.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Error::Ephemeral(EphemeralError::Full) | Error::Hash(HashError::Busy)
        )
    }
}

pub type Result<T> = std::result::Result<T, Error>;
