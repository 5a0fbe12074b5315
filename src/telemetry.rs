//! Structured logs with `tracing`, to stderr (stdout is the CLI's JSON result).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::MakeWriterExt;

use crate::config::LogFormat;

/// Installs the global subscriber; `filter` uses EnvFilter syntax (`GUICHET_LOG`).
pub fn init(filter: &str, format: LogFormat) {
    // PostgreSQL's NOTICEs (e.g. "relation already exists, skipping" at every migration check)
    // are not news; an operator who names sqlx in the filter decides for themselves.
    let filter = if filter.contains("sqlx") {
        filter.to_owned()
    } else {
        format!("{filter},sqlx::postgres::notice=warn")
    };
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr.with_max_level(tracing::Level::TRACE));
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
