//! What can go wrong below a service, for the edge to map: an unavailable backend (a full
//! short-lived store, a saturated hashing pool, an unreachable Redis, a database that cannot
//! answer now) is a 503 with `Retry-After`; anything else is an internal error shown by an id
//! only.

use crate::crypto::password::HashError;
use crate::ephemeral::EphemeralError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Ephemeral(#[from] EphemeralError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A service guichet depends on failed for now (the SMS gateway).
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
}

/// Every store error a service meets passes here: the database's own failures (unreachable,
/// timed out, a statement refused) are counted in `guichet_db_errors_total`; a conflict or a
/// missing row is an answer, not a failure.
impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        if matches!(e, StoreError::Database(_) | StoreError::Migrate(_)) {
            metrics::counter!("guichet_db_errors_total").increment(1);
        }
        Error::Store(e)
    }
}

impl Error {
    /// A temporary condition: the short-lived store is full or unreachable, the hashing
    /// pool saturated, or the database unavailable ([`StoreError::is_unavailable`]). The edge
    /// answers 503 (`temporarily_unavailable`), never 500. Sign-in's counters and locks live
    /// in that store, so an outage fails closed: nobody signs in without them.
    pub fn is_unavailable(&self) -> bool {
        self.is_outage()
            || matches!(
                self,
                Error::Ephemeral(EphemeralError::Full)
                    | Error::Hash(HashError::Busy)
                    | Error::Unavailable(_)
            )
    }

    /// An outage rather than load: the short-lived store failed (Redis down or hung) or the
    /// database cannot be reached or answer in time (PostgreSQL restarting, failing over).
    /// It comes back by itself, but not in a few seconds for certain, and operators must hear
    /// of it.
    pub fn is_outage(&self) -> bool {
        match self {
            Error::Ephemeral(EphemeralError::Backend(_)) => true,
            Error::Store(e) => e.is_unavailable(),
            _ => false,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
