//! `/metrics` on its own listener (`GUICHET_METRICS_LISTEN`). The metrics recorder is
//! process-wide and this test binary runs many applications at once, whose requests would move
//! the counters: so these tests scrape a `guichet serve` process of their own, with its own
//! folder and database (PostgreSQL and Redis when the tier names them).

use std::collections::HashSet;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::cli::{Run, Running};
use crate::helpers::*;

/// A `guichet serve` child: its issuer, and its metrics address when the setting is set.
struct Server {
    process: Running,
    issuer: String,
    port: u16,
    metrics: Option<(u16, String)>,
}

/// Two ports that were free a moment ago (port 0 cannot be used: the test must know them).
fn two_free_ports() -> (u16, u16) {
    loop {
        let (a, b) = (free_port(), free_port());
        if a != b {
            return (a, b);
        }
    }
}

async fn serve(run: &Run, with_metrics: bool) -> Server {
    copy_fixture_keys(&run.keys_dir());
    let (port, metrics_port) = two_free_ports();
    let issuer = format!("http://127.0.0.1:{port}");
    let mut cmd = run.command(&["serve"]);
    cmd.env("GUICHET_LISTEN", format!("127.0.0.1:{port}"))
        .env("GUICHET_ISSUER", &issuer);
    if with_metrics {
        cmd.env(
            "GUICHET_METRICS_LISTEN",
            format!("127.0.0.1:{metrics_port}"),
        );
    }
    if let Some(redis) = test_redis_url() {
        cmd.env("GUICHET_REDIS_URL", redis).env(
            "GUICHET_REDIS_PREFIX",
            format!("guichet-test-{}:", uuid::Uuid::new_v4().simple()),
        );
    }
    let mut process = Running(cmd.spawn().unwrap());
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = process.0.try_wait().unwrap() {
            let (_, err) = process.output();
            panic!("serve exited early with {status}: {err}");
        }
        match http.get(format!("{issuer}/readyz")).send().await {
            Ok(res) if res.status() == 200 => break,
            _ if Instant::now() > deadline => panic!("/readyz did not answer"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    Server {
        process,
        issuer,
        port,
        metrics: with_metrics.then(|| {
            (
                metrics_port,
                format!("http://127.0.0.1:{metrics_port}/metrics"),
            )
        }),
    }
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// One scrape of the metrics listener: the text format, as served.
    async fn scrape(&self) -> Scrape {
        let (_, url) = self.metrics.as_ref().expect("metrics are on");
        let res = reqwest::get(url).await.unwrap();
        assert_eq!(res.status(), 200);
        let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        Scrape(res.text().await.unwrap())
    }

    /// SIGTERM, then a clean exit within 5 s.
    async fn stop(mut self) {
        let killed = Command::new("kill")
            .args(["-TERM", &self.process.0.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let deadline = Instant::now() + Duration::from_secs(5);
        let status = loop {
            if let Some(s) = self.process.0.try_wait().unwrap() {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not stop within 5 s of SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let (_, err) = self.process.output();
        assert_eq!(status.code(), Some(0), "exit status {status}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

struct Scrape(String);

impl Scrape {
    /// The value of the series written exactly `series` (name and labels as rendered); 0 when
    /// the series is not there yet (a counter that never moved).
    fn value(&self, series: &str) -> f64 {
        self.0
            .lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .map_or(0.0, |v| v.trim().parse().unwrap())
    }

    fn has(&self, series: &str) -> bool {
        self.0
            .lines()
            .any(|l| l.strip_prefix(series).is_some_and(|r| r.starts_with(' ')))
    }
}

/// The TCP ports process `pid` listens on: its socket descriptors matched against the
/// kernel's table of listening sockets.
#[cfg(target_os = "linux")]
fn listening_ports(pid: u32) -> HashSet<u16> {
    let inodes: HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|target| {
            let t = target.to_string_lossy().into_owned();
            Some(t.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect();
    let mut ports = HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // local_address is `ADDR:PORT` in hex; state 0A is LISTEN; column 9 the inode.
            if cols.len() > 9 && cols[3] == "0A" && inodes.contains(cols[9]) {
                let port = cols[1].rsplit(':').next().unwrap();
                ports.insert(u16::from_str_radix(port, 16).unwrap());
            }
        }
    }
    ports
}

#[tokio::test]
async fn a_sign_in_and_a_client_credentials_token_move_the_counters_on_the_metrics_port_only() {
    let run = Run::new().await;
    run.user_add("alice", &["--password", PASSWORD]).json();
    let svc = run
        .client_add("svc", &["--grant-type", "client_credentials"])
        .json();
    let secret = svc["client_secret"].as_str().unwrap().to_owned();
    let server = serve(&run, true).await;
    let (metrics_port, _) = server.metrics.clone().unwrap();
    #[cfg(target_os = "linux")]
    assert_eq!(
        listening_ports(server.process.0.id()),
        HashSet::from([server.port, metrics_port])
    );

    let before = server.scrape().await;
    assert!(
        before.0.contains("# HELP guichet_http_requests_total "),
        "{}",
        before.0
    );
    assert!(
        before.0.contains(&format!(
            "guichet_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        )),
        "{}",
        before.0
    );

    // One password sign-in, from the login page.
    let http = browser();
    let page = text_of(http.get(server.url("/login"))).await;
    let mut form = vec![
        ("csrf", hidden(&page, "csrf").expect("csrf field")),
        ("username", "alice".to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    if let Some(flow) = hidden(&page, "flow") {
        form.push(("flow", flow));
    }
    let res = send(http.post(server.url("/login")).form(&form)).await;
    assert_eq!(res.status(), 303, "the sign-in did not finish");
    // One client_credentials token.
    let res = send(
        reqwest::Client::new()
            .post(server.url("/token"))
            .basic_auth("svc", Some(&secret))
            .form(&[("grant_type", "client_credentials")]),
    )
    .await;
    assert_eq!(res.status(), 200);

    let after = server.scrape().await;
    let moved = |series: &str| after.value(series) - before.value(series);
    assert_eq!(
        moved(r#"guichet_sign_ins_total{outcome="succeeded"}"#),
        1.0,
        "{}",
        after.0
    );
    assert_eq!(moved(r#"guichet_sign_ins_total{outcome="failed"}"#), 0.0);
    assert_eq!(
        moved(r#"guichet_tokens_issued_total{grant_type="client_credentials"}"#),
        1.0
    );
    assert_eq!(
        moved(r#"guichet_tokens_issued_total{grant_type="authorization_code"}"#),
        0.0
    );
    assert_eq!(
        moved(r#"guichet_http_requests_total{route="/token",method="POST",status="200"}"#),
        1.0
    );
    assert_eq!(
        moved(r#"guichet_http_requests_total{route="/login",method="POST",status="303"}"#),
        1.0
    );
    assert_eq!(
        moved(r#"guichet_http_request_duration_seconds_count{route="/token",method="POST"}"#),
        1.0
    );
    // The sign-in's argon2id verification waited for a thread, once.
    assert_eq!(moved("guichet_password_hash_wait_seconds_count"), 1.0);
    // The short-lived store was used (the sign-in's counters and session) and timed.
    assert!(moved(r#"guichet_store_operation_duration_seconds_count{operation="put"}"#) >= 1.0);
    assert!(after.has("guichet_db_pool_max_connections"), "{}", after.0);
    assert!(after.has(r#"guichet_db_pool_connections{state="idle"}"#));

    // The public port never serves the metrics; the metrics port serves nothing else.
    let res = send(reqwest::Client::new().get(server.url("/metrics"))).await;
    assert_eq!(res.status(), 404);
    let res = reqwest::get(format!("http://127.0.0.1:{metrics_port}/token"))
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    // That 404 of the public port is counted under a fixed label, not under the path sent.
    let last = server.scrape().await;
    assert_eq!(
        last.value(r#"guichet_http_requests_total{route="unmatched",method="GET",status="404"}"#)
            - after.value(
                r#"guichet_http_requests_total{route="unmatched",method="GET",status="404"}"#
            ),
        1.0
    );
    assert!(!last.0.contains("route=\"/metrics\""), "{}", last.0);

    server.stop().await;
    // Both listeners closed with the process.
    assert!(
        reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn without_the_setting_only_the_public_port_listens_and_it_has_no_metrics() {
    let run = Run::new().await;
    let server = serve(&run, false).await;
    #[cfg(target_os = "linux")]
    assert_eq!(
        listening_ports(server.process.0.id()),
        HashSet::from([server.port])
    );
    let res = send(reqwest::Client::new().get(server.url("/metrics"))).await;
    assert_eq!(res.status(), 404);
    server.stop().await;
}
