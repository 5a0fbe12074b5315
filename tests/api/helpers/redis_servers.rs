//! Redis processes a test owns (TLS, a primary and its replica, sentinels) on spare ports,
//! killed when dropped so that a failing test leaves nothing running.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const REDIS_SERVER: &str = "/usr/bin/redis-server";

/// Whether the PostgreSQL + Redis tier runs (`GUICHET_TEST_REDIS_URL`); the tests that start
/// their own Redis processes run on that tier only, and print why they skip otherwise.
pub fn redis_tier(test: &str) -> bool {
    if super::test_redis_url().is_some() {
        return true;
    }
    eprintln!("GUICHET_TEST_REDIS_URL is not set: skipping {test} (PostgreSQL + Redis tier only)");
    false
}

/// One `redis-server` (or sentinel) process.
pub struct OwnRedisProcess {
    pub port: u16,
    child: Option<Child>,
}

impl OwnRedisProcess {
    /// Starts `redis-server` with `args` (nothing saved, loopback only) and waits until its
    /// `port` accepts connections.
    pub async fn start(port: u16, args: &[&str], dir: &Path) -> OwnRedisProcess {
        let mut all = args.to_vec();
        all.extend([
            "--bind",
            "127.0.0.1 -::1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]);
        OwnRedisProcess::spawn(port, &all, dir).await
    }

    /// A sentinel with the configuration file `conf` (which it rewrites, so it must be
    /// writable) listening on `port`.
    pub async fn sentinel(port: u16, conf: &Path, dir: &Path) -> OwnRedisProcess {
        let conf = conf.display().to_string();
        OwnRedisProcess::spawn(port, &[&conf, "--sentinel"], dir).await
    }

    async fn spawn(port: u16, args: &[&str], dir: &Path) -> OwnRedisProcess {
        let child = Command::new(REDIS_SERVER)
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {REDIS_SERVER}: {e}"));
        let process = OwnRedisProcess {
            port,
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "redis-server on port {port} did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        process
    }

    /// SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedisProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A plain connection to `127.0.0.1:port`.
pub async fn redis_conn(port: u16) -> redis::aio::MultiplexedConnection {
    redis::Client::open(format!("redis://127.0.0.1:{port}"))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// `guichet check-config` with the settings `env` (and a database in `dir`, none of the
/// caller's GUICHET_* variables): its `store` check.
pub async fn check_config_store(dir: &Path, env: &[(&str, &str)]) -> serde_json::Value {
    let database_url = super::fresh_database_url(dir).await;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_guichet"));
    cmd.current_dir(dir)
        .arg("check-config")
        .stdin(Stdio::null());
    for (name, _) in std::env::vars() {
        if name.starts_with("GUICHET_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("GUICHET_DATABASE_URL", database_url)
        .env("GUICHET_KEYS_DIR", dir.join("keys"));
    for (name, value) in env {
        cmd.env(name, value);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let report: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("check-config printed no JSON report ({e}): {stdout:?}"));
    let store = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "store")
        .cloned()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(if store["ok"] == true { 0 } else { 1 }),
        "{report}"
    );
    store
}
