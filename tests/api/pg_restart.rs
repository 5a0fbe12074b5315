//! PostgreSQL restarts under load: requests in flight answer 503 with `Retry-After` at worst,
//! never 500, none waits much past the connect timeout, and once the server is back guichet
//! works again without a restart of its own. PostgreSQL tier only (skipped with a notice when
//! `GUICHET_TEST_DATABASE_URL` is unset). The test owns its PostgreSQL (initdb on a spare port
//! under a temporary folder, run as the `postgres` user since initdb refuses root), and never
//! touches the server the rest of the suite uses.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::helpers::*;

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
/// `GUICHET_DATABASE_CONNECT_TIMEOUT` of the application under test (seconds): shorter than
/// the two seconds without a server, so that requests made then do see the outage rather
/// than wait it out (sqlx retries a refused connection until the timeout).
const CONNECT_TIMEOUT: u64 = 1;
/// What a request may take beyond the connect timeout: a password hash and a few queries
/// on a busy two-core machine.
const MARGIN: Duration = Duration::from_secs(6);

/// A PostgreSQL cluster this test created; stopped (immediately) and removed when dropped, so
/// that a failing test leaves nothing running.
struct OwnPostgres {
    /// Holds the data folder, the socket and the log; removed on drop.
    dir: tempfile::TempDir,
    port: u16,
}

impl OwnPostgres {
    fn start() -> OwnPostgres {
        let dir = tempfile::tempdir().unwrap();
        // The server runs as `postgres`: it must own the folder it writes in.
        run(Command::new("chown").arg("postgres:").arg(dir.path()));
        let pg = OwnPostgres {
            dir,
            port: free_port(),
        };
        run(as_postgres("initdb")
            .args([
                "--auth=trust",
                "--username=postgres",
                "--no-sync",
                "--no-instructions",
                "-D",
            ])
            .arg(pg.data()));
        pg.ctl(&["start"]);
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// `pg_ctl ACTION` on this cluster, waiting for it to finish.
    fn ctl(&self, action: &[&str]) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        let mut cmd = as_postgres("pg_ctl");
        cmd.arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(&log)
            .args(["-o", &options, "-w", "-t", "30"])
            .args(action);
        run(&mut cmd);
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = as_postgres("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["stop", "-m", "immediate"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // The folder goes with `dir`.
    }
}

/// A PostgreSQL tool run as the `postgres` user.
fn as_postgres(tool: &str) -> Command {
    let path = Path::new(PG_BIN).join(tool);
    assert!(path.exists(), "{} is missing", path.display());
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", "postgres", "--"]).arg(path);
    cmd
}

/// Runs `cmd`; a failure fails the test with its output.
fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One request of the load and what it got.
#[derive(Debug)]
struct Answer {
    kind: &'static str,
    status: u16,
    took: Duration,
    retry_after: bool,
}

/// What the load saw; `failures` are answers outside the expected set.
#[derive(Default)]
struct Tally {
    answers: Vec<Answer>,
}

impl Tally {
    fn unavailable(&self) -> usize {
        self.answers.iter().filter(|a| a.status == 503).count()
    }
}

struct Load {
    app: TestApp,
    rp: TestClient,
    api: TestClient,
    access_token: String,
    tally: Mutex<Tally>,
    stop: AtomicBool,
}

impl Load {
    async fn record(&self, kind: &'static str, started: Instant, res: &reqwest::Response) {
        let answer = Answer {
            kind,
            status: res.status().as_u16(),
            took: started.elapsed(),
            retry_after: res.headers().contains_key("retry-after"),
        };
        self.tally.lock().await.answers.push(answer);
    }

    /// One round: the sign-in page, a sign-in, a client_credentials token, userinfo and an
    /// introspection, each of which reads the database. Returns whether all succeeded.
    async fn round(&self) -> bool {
        let app = &self.app;
        let mut ok = true;
        let http = browser();
        let (challenge, _) = pkce_pair();
        let params = auth_params(
            &self.rp,
            &[
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        );
        let started = Instant::now();
        let res = authorize_from(app, &http, &params).await;
        self.record("authorize", started, &res).await;
        if res.status() == 200 {
            let page = res.text().await.unwrap();
            let started = Instant::now();
            let res = post_login(app, &http, &page, "alice", PASSWORD).await;
            self.record("login", started, &res).await;
            ok &= res.status().is_redirection();
        } else {
            ok = false;
        }
        let started = Instant::now();
        let res = app
            .token(
                &self.api,
                &[("grant_type", "client_credentials"), ("scope", "api")],
            )
            .await;
        self.record("token", started, &res).await;
        ok &= res.status() == 200;
        let started = Instant::now();
        let res = userinfo_get(app, &self.access_token).await;
        self.record("userinfo", started, &res).await;
        ok &= res.status() == 200;
        let started = Instant::now();
        let res = introspect(app, &self.rp, &self.access_token).await;
        self.record("introspect", started, &res).await;
        ok &= res.status() == 200;
        ok
    }

    /// Rounds until told to stop.
    async fn run(self: Arc<Self>) {
        while !self.stop.load(Ordering::Relaxed) {
            self.round().await;
        }
    }

    /// Waits until a whole round succeeds; the time it took.
    async fn recovered(&self, what: &str) -> Duration {
        let started = Instant::now();
        while !self.round().await {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "guichet did not recover after {what}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        started.elapsed()
    }
}

/// The expected answers of each kind of request: success, or 503 while the database is away.
fn expected(a: &Answer) -> bool {
    match (a.kind, a.status) {
        (_, 503) => a.retry_after,
        ("authorize", 200) => true,
        ("login", s) => (300..400).contains(&s),
        ("token" | "userinfo" | "introspect", 200) => true,
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_restart_gives_503_at_worst_and_guichet_reconnects_by_itself() {
    if std::env::var("GUICHET_TEST_DATABASE_URL")
        .unwrap_or_default()
        .is_empty()
    {
        eprintln!("pg_restart skipped: GUICHET_TEST_DATABASE_URL is unset (PostgreSQL tier only)");
        return;
    }
    let pg = OwnPostgres::start();
    let app = spawn_with(Options {
        database_url: Some(pg.url()),
        settings: Some(|s| {
            s.database_connect_timeout = CONNECT_TIMEOUT;
        }),
        ..Options::default()
    })
    .await;
    let (app, rp) = with_alice_and(app, "rp1").await;
    let api = api_client(&app, "batch").await;
    let tokens = app.code_flow_tokens(&rp, "alice", "openid profile").await;
    let access_token = tokens["access_token"].as_str().unwrap().to_owned();
    let load = Arc::new(Load {
        app,
        rp,
        api,
        access_token,
        tally: Mutex::default(),
        stop: AtomicBool::new(false),
    });

    // All is well before: every request of a round succeeds.
    assert!(load.round().await, "the load fails before any restart");
    load.tally.lock().await.answers.clear();

    let workers: Vec<_> = (0..3).map(|_| tokio::spawn(load.clone().run())).collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    // A fast restart (what a minor upgrade does): sessions are cut, `57P01`.
    pg.ctl(&["restart", "-m", "fast"]);
    let restart = load.recovered("a fast restart").await;

    // A stop, two seconds without a server (connections refused), a start.
    tokio::time::sleep(Duration::from_millis(500)).await;
    pg.ctl(&["stop", "-m", "fast"]);
    let down = load.tally.lock().await.answers.len();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let down_503 = load.tally.lock().await.answers[down..]
        .iter()
        .filter(|a| a.status == 503)
        .count();
    pg.ctl(&["start"]);
    let start = load.recovered("a stop and a start").await;

    load.stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }

    let tally = load.tally.lock().await;
    let unexpected: Vec<&Answer> = tally.answers.iter().filter(|a| !expected(a)).collect();
    assert!(
        unexpected.is_empty(),
        "answers other than success or 503 with Retry-After: {unexpected:?}"
    );
    let bound = Duration::from_secs(CONNECT_TIMEOUT) + MARGIN;
    let slow: Vec<&Answer> = tally.answers.iter().filter(|a| a.took > bound).collect();
    assert!(slow.is_empty(), "requests held past {bound:?}: {slow:?}");
    // The outage was seen: requests made while the server was stopped got 503.
    assert!(
        down_503 > 0,
        "no request got 503 while PostgreSQL was stopped"
    );
    eprintln!(
        "pg_restart: {} answers, {} of them 503; recovered in {restart:?} after the restart and \
         {start:?} after the start",
        tally.answers.len(),
        tally.unavailable()
    );
    drop(tally);

    // Afterwards everything works on the same guichet: a whole sign-in, a code redeemed.
    let load = Arc::into_inner(load).unwrap();
    let tokens = load.app.code_flow_tokens(&load.rp, "alice", "openid").await;
    assert!(tokens["id_token"].is_string());
    client_credentials(&load.app, &load.api, "api").await;
    drop(pg);
}
