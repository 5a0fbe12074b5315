//! Structured logs with `tracing`, to stderr (stdout is the CLI's JSON result); and the
//! process's metrics recorder, when `GUICHET_METRICS_LISTEN` is set.

use std::io::IsTerminal;
use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

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

/// The Prometheus recorder's handle, once installed.
static RECORDER: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// Latency buckets (seconds) of every `_seconds` histogram: from a cached page (sub-millisecond)
/// to a hung backend (the 5 s pool timeout), so that p99 and the share over a bound are read
/// from buckets, summed across nodes.
const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Audit batches hold 1 to 256 events (`service::audit`).
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// Installs the process-wide metrics recorder (the `metrics` facade sends every macro's sample
/// to it) the first time, and returns its handle, which renders the text format. There is one
/// recorder per process: every `Application` of the process shares it. Until it is installed
/// the macros go to the facade's no-op recorder, which costs a branch.
pub fn metrics_recorder() -> anyhow::Result<PrometheusHandle> {
    RECORDER
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("guichet_audit_batch_size".into()),
                        BATCH_BUCKETS,
                    )
                })
                .map_err(|e| e.to_string())?
                .install_recorder()
                .map_err(|e| e.to_string())?;
            describe();
            metrics::gauge!("guichet_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            Ok(handle)
        })
        .clone()
        .map_err(|e| anyhow::anyhow!("the metrics recorder: {e}"))
}

/// The `# HELP` line of each metric (docs/operations.md, "Metrics", has the full table).
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_gauge!(
        "guichet_build_info",
        "Always 1; the version label names the build."
    );
    describe_counter!(
        "guichet_http_requests_total",
        "Requests answered, by route template, method and status."
    );
    describe_histogram!(
        "guichet_http_request_duration_seconds",
        "Time from routing to the response head, by route template and method."
    );
    describe_counter!(
        "guichet_sign_ins_total",
        "Sign-in checks decided: succeeded, failed, throttled, locked."
    );
    describe_counter!(
        "guichet_tokens_issued_total",
        "Token responses by grant type."
    );
    describe_counter!(
        "guichet_cas_tickets_issued_total",
        "CAS service and proxy tickets issued."
    );
    describe_counter!(
        "guichet_token_replays_total",
        "Authorization codes and refresh tokens presented again (the grant is revoked)."
    );
    describe_gauge!(
        "guichet_password_hash_queue_depth",
        "argon2id jobs waiting for a hashing thread."
    );
    describe_gauge!("guichet_password_hash_in_flight", "argon2id jobs running.");
    describe_histogram!(
        "guichet_password_hash_wait_seconds",
        "Time an argon2id job waited for a hashing thread."
    );
    describe_counter!(
        "guichet_password_hash_rejected_total",
        "argon2id jobs refused because the queue was full (503)."
    );
    describe_histogram!(
        "guichet_store_operation_duration_seconds",
        "Short-lived store operation time, by operation."
    );
    describe_counter!(
        "guichet_store_errors_total",
        "Short-lived store failures, by operation and kind (backend, full)."
    );
    describe_gauge!(
        "guichet_db_pool_connections",
        "Database connections in use and idle (sampled every 5 s)."
    );
    describe_gauge!(
        "guichet_db_pool_max_connections",
        "The database pool's bound."
    );
    describe_counter!(
        "guichet_db_errors_total",
        "Database failures met by a service."
    );
    describe_histogram!("guichet_audit_batch_size", "Events per audit write.");
    describe_histogram!(
        "guichet_audit_lag_seconds",
        "Time from the oldest event of a batch being queued to its write."
    );
    describe_counter!(
        "guichet_audit_write_errors_total",
        "Audit batches the database refused."
    );
    describe_counter!(
        "guichet_audit_dropped_total",
        "Audit events dropped because the queue was full."
    );
}
