//! Readiness: the database and the short-lived store answer.

use crate::service::core::Core;

/// `Ok` when both backends answer; otherwise what each said.
pub async fn ready(core: &Core) -> Result<(), String> {
    let db = core.db.ping().await;
    let store = core.ephemeral.ping().await;
    match (db, store) {
        (Ok(()), Ok(())) => Ok(()),
        (db, store) => Err(format!(
            "database: {:?}, short-lived store: {:?}",
            db.err(),
            store.err()
        )),
    }
}
