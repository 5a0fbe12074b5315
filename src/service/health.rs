//! Readiness: the database and the short-lived store answer.

use crate::ephemeral::EphemeralError;
use crate::service::core::Core;
use crate::store::StoreError;

/// What did not answer.
#[derive(Debug, thiserror::Error)]
#[error("not ready: database {db:?}, short-lived store {ephemeral:?}")]
pub struct NotReady {
    pub db: Option<StoreError>,
    pub ephemeral: Option<EphemeralError>,
}

/// `Ok` when both backends answer; otherwise what each said.
pub async fn ready(core: &Core) -> Result<(), NotReady> {
    let db = core.db.ping().await.err();
    let ephemeral = core.ephemeral.ping().await.err();
    match (db, ephemeral) {
        (None, None) => Ok(()),
        (db, ephemeral) => Err(NotReady { db, ephemeral }),
    }
}
