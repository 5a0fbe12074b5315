//! `guichet audit`: the audit log searched by user, client, kind and date, as JSON (`list`) or
//! as CSV (`export`).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::json;

use super::print;
use crate::app::open_db;
use crate::config::Settings;
use crate::domain::audit::{AUDIT_PAGE_MAX, AuditRecord};
use crate::service::audit_log::{self, Search, csv_rows};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print the newest matching events as one JSON object `{"events": [...], "next": ...}`;
    /// pass `next` to --before for the following page.
    List(AuditList),
    /// Write every matching event as CSV (RFC 4180; `at,kind,user_id,client_id,ip,detail`),
    /// newest first. Without --output the CSV goes to standard output: the one command whose
    /// standard output is not JSON. With --output it prints `{"file": ..., "rows": n}`.
    Export(AuditExport),
}

#[derive(Debug, Args)]
pub struct AuditFilterArgs {
    /// Any of the user's identifiers (login, e-mail, number), or a user id.
    #[arg(long)]
    pub user: Option<String>,
    /// A client id (or a CAS service id).
    #[arg(long)]
    pub client: Option<String>,
    /// An event kind (login.success, login.failure…); repeatable, any of them matches.
    #[arg(long = "kind")]
    pub kinds: Vec<String>,
    /// From this time on (inclusive): RFC 3339 (2026-03-01T00:00:00Z) or unix seconds.
    #[arg(long, value_parser = time_arg)]
    pub since: Option<i64>,
    /// Before this time (exclusive): RFC 3339 or unix seconds.
    #[arg(long, value_parser = time_arg)]
    pub until: Option<i64>,
}

#[derive(Debug, Args)]
pub struct AuditList {
    #[command(flatten)]
    pub filter: AuditFilterArgs,
    /// At most this many events, 1 to 10000.
    #[arg(long, default_value_t = audit_log::DEFAULT_LIMIT)]
    pub limit: usize,
    /// Continue after a previous page: its `next`.
    #[arg(long)]
    pub before: Option<String>,
}

#[derive(Debug, Args)]
pub struct AuditExport {
    #[command(flatten)]
    pub filter: AuditFilterArgs,
    /// At most this many events (default: all of them).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Write the CSV to this file (created or replaced) rather than to standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

fn time_arg(s: &str) -> Result<i64, String> {
    audit_log::parse_time(s).ok_or_else(|| format!("{s:?} is neither RFC 3339 nor unix seconds"))
}

fn search(f: AuditFilterArgs, limit: Option<usize>, before: Option<String>) -> Search {
    Search {
        user: f.user,
        client_id: f.client,
        kinds: f.kinds,
        since: f.since,
        until: f.until,
        before,
        limit,
    }
}

pub async fn run(settings: Settings, cmd: AuditCommand) -> anyhow::Result<()> {
    let (db, _) = open_db(&settings).await?;
    let result = match cmd {
        AuditCommand::List(args) => list(&db, args).await,
        AuditCommand::Export(args) => export(&db, args).await,
    };
    db.close().await;
    result
}

async fn list(db: &crate::store::Db, args: AuditList) -> anyhow::Result<()> {
    let s = search(args.filter, Some(args.limit), args.before);
    let page = audit_log::search(db, &s).await?;
    print(json!({
        "events": page.events.iter().map(shown).collect::<Vec<_>>(),
        "next": page.next.map(|c| c.encode()),
    }));
    Ok(())
}

/// Every matching row, a page of 10,000 at a time, so that an export of a year holds one page
/// in memory and not the year.
async fn export(db: &crate::store::Db, args: AuditExport) -> anyhow::Result<()> {
    if args.limit == Some(0) {
        bail!("the limit must be at least 1");
    }
    let mut filter = audit_log::filter(db, &search(args.filter, Some(1), None)).await?;
    let mut sink: Box<dyn Write + Send> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let written = write_pages(db, &mut filter, args.limit, &mut sink).await;
    let flushed = sink.flush();
    drop(sink);
    let rows = match written.and_then(|n| flushed.map(|_| n).map_err(Into::into)) {
        Ok(n) => n,
        Err(e) => {
            if let Some(path) = &args.output {
                // A partial export must not pass for a whole one.
                let _ = std::fs::remove_file(path);
            }
            return Err(e);
        }
    };
    if let Some(path) = args.output {
        print(json!({ "file": path.display().to_string(), "rows": rows }));
    }
    Ok(())
}

async fn write_pages(
    db: &crate::store::Db,
    filter: &mut crate::domain::audit::AuditFilter,
    limit: Option<usize>,
    sink: &mut (dyn Write + Send),
) -> anyhow::Result<usize> {
    sink.write_all(audit_log::CSV_HEADER.as_bytes())?;
    let mut rows = 0usize;
    loop {
        let left = limit.map_or(AUDIT_PAGE_MAX, |l| l - rows);
        filter.limit = left.min(AUDIT_PAGE_MAX);
        let page = audit_log::page(db, filter).await?;
        sink.write_all(csv_rows(&page.events).as_bytes())?;
        rows += page.events.len();
        match page.next {
            Some(next) if limit.is_none_or(|l| rows < l) => filter.before = Some(next),
            _ => return Ok(rows),
        }
    }
}

fn shown(r: &AuditRecord) -> serde_json::Value {
    // The detail is JSON as written; shown as such, or as text if a row holds something else.
    let detail = r
        .detail
        .as_deref()
        .map(|d| serde_json::from_str::<serde_json::Value>(d).unwrap_or_else(|_| json!(d)));
    json!({
        "id": r.id,
        "at": r.at,
        "time": audit_log::rfc3339(r.at),
        "kind": r.kind,
        "user_id": r.user_id,
        "client_id": r.client_id,
        "ip": r.ip,
        "detail": detail,
    })
}
