//! `guichet check-config`: the configuration is valid (it was loaded to get here), and the
//! database, the short-lived store, the keys folder and the SMTP server (when set) answer. One
//! JSON report on stdout; exit 1 when anything failed. Nothing is written: no migration, no key
//! generated.

use serde_json::{Value, json};

use super::print;
use crate::app::db_options;
use crate::config::Settings;
use crate::crypto::keys::Keys;
use crate::ephemeral::{RedisStore, RedisTarget};
use crate::mail::SmtpMailer;
use crate::store::Db;

fn passed(name: &str, detail: Value) -> Value {
    json!({"check": name, "ok": true, "detail": detail})
}

fn failed(name: &str, error: String) -> Value {
    json!({"check": name, "ok": false, "error": error})
}

async fn database(settings: &Settings) -> Value {
    let url = settings.database_url.expose();
    let kind = if url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    };
    match Db::connect_with(url, &db_options(settings)).await {
        Ok(db) => {
            let out = match db.ping().await {
                Ok(()) => passed("database", json!({"backend": kind})),
                Err(e) => failed("database", e.to_string()),
            };
            db.close().await;
            out
        }
        Err(e) => failed("database", e.to_string()),
    }
}

async fn store(settings: &Settings) -> Value {
    let config = match settings.redis_config() {
        Ok(Some(config)) => config,
        Ok(None) => return passed("store", json!({"backend": "in-process"})),
        Err(e) => return failed("store", e.to_string()),
    };
    let mut detail = match &config.target {
        RedisTarget::Url(url) => json!({
            "backend": "redis",
            "tls": url.starts_with("rediss://"),
        }),
        RedisTarget::Sentinel(s) => json!({
            "backend": "redis-sentinel",
            "sentinels": s.sentinels.iter().map(|(h, p)| format!("{h}:{p}")).collect::<Vec<_>>(),
            "master_name": s.master_name,
            "tls": s.tls,
        }),
    };
    if let Some(path) = &config.ca_file {
        detail["ca_file"] = json!(path.display().to_string());
    }
    match RedisStore::open(&config, &settings.redis_prefix).await {
        Ok(store) => match crate::ephemeral::Ephemeral::ping(store.as_ref()).await {
            Ok(()) => passed("store", detail),
            Err(e) => failed("store", e.to_string()),
        },
        Err(e) => failed("store", e.to_string()),
    }
}

fn keys(settings: &Settings) -> Value {
    let dir = &settings.keys_dir;
    match Keys::inspect(dir) {
        Ok(Some(keys)) => passed(
            "keys",
            json!({
                "dir": dir.display().to_string(),
                "keys": keys
                    .iter()
                    .map(|(kid, alg)| json!({"kid": kid, "alg": alg.as_str()}))
                    .collect::<Vec<_>>(),
            }),
        ),
        Ok(None) => passed(
            "keys",
            json!({"dir": dir.display().to_string(), "keys": [], "note": "generated at the first start"}),
        ),
        Err(e) => failed("keys", e.to_string()),
    }
}

async fn smtp(settings: &Settings) -> Value {
    let Some(url) = &settings.smtp_url else {
        return passed("smtp", json!({"backend": "outbox"}));
    };
    match SmtpMailer::check(url.expose()).await {
        Ok(()) => passed("smtp", json!({"backend": "smtp"})),
        Err(e) => failed("smtp", e.to_string()),
    }
}

pub async fn run(settings: Settings, warnings: &[String]) -> anyhow::Result<()> {
    let checks = vec![
        passed("config", json!({"warnings": warnings})),
        database(&settings).await,
        store(&settings).await,
        keys(&settings),
        smtp(&settings).await,
    ];
    let ok = checks.iter().all(|c| c["ok"] == true);
    print(json!({"ok": ok, "checks": checks}));
    if !ok {
        anyhow::bail!("the configuration check found problems (see the report)");
    }
    Ok(())
}
