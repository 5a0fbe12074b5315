//! `guichet cleanup`: the clean-up the servers run in the background, once, now. Prints what it
//! removed as one JSON object (`skipped` when another node was running it).

use super::print;
use crate::app::{cleanup_rules, open_db};
use crate::config::Settings;
use crate::domain::clock::Clock;
use crate::service::cleanup;

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let (db, _) = open_db(&settings).await?;
    let report = cleanup::run(&db, &cleanup_rules(&settings), Clock::system().now()).await;
    db.close().await;
    print(serde_json::to_value(report?)?);
    Ok(())
}
