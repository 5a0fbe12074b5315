//! The `guichet` binary's contract: JSON on stdout and nothing else, exit 0 / 1 (one line on
//! stderr) / 2 (usage), migrations before every command, settings from the environment and a
//! TOML file, `serve` with health checks and a clean stop on SIGTERM.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use guichet::crypto::keys::{Alg, Keys};
use guichet::crypto::password::Hasher;
use guichet::store::Db;
use serde_json::{Value, json};

use crate::helpers::*;

/// Every migration, in order, as `migrate` names them.
const MIGRATIONS: [&str; 9] = [
    "0001_initial",
    "0002_session_revocation_and_resource_servers",
    "0003_second_factors",
    "0004_password_history",
    "0005_cas_and_logout",
    "0006_establishments",
    "0007_administration",
    "0008_dynamic_registration",
    "0009_cleanup",
];

/// One run of the CLI: its own folder (the current directory), database and keys folder
/// (also used by `review_tokens`).
pub struct Run {
    dir: tempfile::TempDir,
    pub database_url: String,
}

impl Run {
    pub async fn new() -> Run {
        let dir = tempfile::tempdir().unwrap();
        let database_url = fresh_database_url(dir.path()).await;
        Run { dir, database_url }
    }

    /// The run's folder (its current directory).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn keys_dir(&self) -> PathBuf {
        self.dir.path().join("keys")
    }

    /// `guichet ARGS` in the run's folder, with the run's database and keys, and none of the
    /// caller's GUICHET_* variables.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_guichet"));
        cmd.current_dir(self.dir.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, _) in std::env::vars() {
            if name.starts_with("GUICHET_") {
                cmd.env_remove(name);
            }
        }
        cmd.env("GUICHET_DATABASE_URL", &self.database_url)
            .env("GUICHET_KEYS_DIR", self.keys_dir());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Out {
        Out::from(self.command(args).output().unwrap())
    }

    /// `guichet user add --login LOGIN MORE...`.
    pub fn user_add(&self, login: &str, more: &[&str]) -> Out {
        self.run(&[&["user", "add", "--login", login], more].concat())
    }

    /// `guichet client add --client-id ID MORE...`.
    pub fn client_add(&self, id: &str, more: &[&str]) -> Out {
        self.run(&[&["client", "add", "--client-id", id], more].concat())
    }

    pub fn run_with(&self, args: &[&str], f: impl FnOnce(&mut Command)) -> Out {
        let mut cmd = self.command(args);
        f(&mut cmd);
        Out::from(cmd.output().unwrap())
    }

    async fn db(&self) -> Db {
        Db::connect(&self.database_url).await.unwrap()
    }
}

#[derive(Debug)]
pub struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl From<std::process::Output> for Out {
    fn from(o: std::process::Output) -> Out {
        Out {
            code: o.status.code(),
            stdout: String::from_utf8(o.stdout).unwrap(),
            stderr: String::from_utf8(o.stderr).unwrap(),
        }
    }
}

impl Out {
    /// Success: exit 0 and exactly one line on stdout, a JSON object.
    pub fn json(&self) -> Value {
        assert_eq!(self.code, Some(0), "failed: {self:?}");
        let lines = stdout_json(&self.stdout);
        assert_eq!(lines.len(), 1, "one JSON line expected: {self:?}");
        assert!(lines[0].is_object());
        lines[0].clone()
    }

    /// Success with text rather than JSON on stdout (`audit export`): exit 0, that text.
    pub fn text(&self) -> String {
        assert_eq!(self.code, Some(0), "failed: {self:?}");
        self.stdout.clone()
    }

    /// Failure: exit 1, nothing on stdout, exactly one line on stderr; returns that line.
    pub fn failure(&self) -> String {
        assert_eq!(self.code, Some(1), "exit 1 expected: {self:?}");
        assert_eq!(self.stdout, "", "stdout on failure: {self:?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "one stderr line expected: {:?}",
            self.stderr
        );
        assert!(!lines[0].trim().is_empty());
        lines[0].to_owned()
    }

    /// A usage error: exit 2 and nothing on stdout.
    pub fn usage_error(&self) {
        assert_eq!(self.code, Some(2), "exit 2 expected: {self:?}");
        assert_eq!(self.stdout, "", "stdout on a usage error: {self:?}");
        assert!(!self.stderr.trim().is_empty());
    }
}

/// Every stdout line parsed as JSON (panics on anything else).
fn stdout_json(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("stdout line {l:?} is not JSON: {e}"))
        })
        .collect()
}

fn keys_of(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

/// The (kid, alg) pairs of a keys folder, as the server loads them.
fn kids(dir: &Path) -> Vec<(String, Alg)> {
    Keys::load_or_generate(dir).unwrap().current().list()
}

#[tokio::test]
async fn migrate_applies_the_migrations_once_and_prints_only_json() {
    let run = Run::new().await;
    assert_eq!(run.run(&["migrate"]).json(), json!({"applied": MIGRATIONS}));
    assert_eq!(run.run(&["migrate"]).json(), json!({"applied": []}));
}

#[tokio::test]
async fn user_add_on_a_fresh_folder_prints_the_user_who_can_then_sign_in() {
    let run = Run::new().await;
    let out = run
        .user_add(
            "alice",
            &[
                "--password",
                "correct horse battery",
                "--email",
                "alice@example.org",
                "--email-verified",
                "--identifier",
                "E1",
                "--given-name",
                "Alice",
                "--category",
                "staff",
            ],
        )
        .json();
    assert_eq!(keys_of(&out), ["id", "identifiers", "login"]);
    let id = out["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id} is not a UUID");
    assert_eq!(out["login"], "alice");
    let identifiers = out["identifiers"].as_array().unwrap();
    assert!(identifiers.contains(&json!("E1")), "{out}");
    assert!(identifiers.contains(&json!("alice@example.org")), "{out}");

    let db = run.db().await;
    let user = db.user_by_identifier("e1").await.unwrap().expect("user");
    assert_eq!(user.id, id);
    assert_eq!(user.category.as_deref(), Some("staff"));
    assert!(user.email_verified);
    let hasher = Hasher::new(1).unwrap();
    assert!(
        hasher
            .verify(user.password_hash.clone(), "correct horse battery".into())
            .await
            .unwrap()
    );
    assert!(
        !hasher
            .verify(user.password_hash, "wrong horse battery".into())
            .await
            .unwrap()
    );
    db.close().await;
}

#[tokio::test]
async fn user_add_reads_the_password_from_stdin() {
    let run = Run::new().await;
    let mut child = run
        .command(&["user", "add", "--login", "bob", "--password-stdin"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long stdin password\n")
        .unwrap();
    let out = Out::from(child.wait_with_output().unwrap());
    let user = out.json();
    assert_eq!(user["login"], "bob");
    assert!(!out.stdout.contains("stdin password"));
    assert!(!out.stderr.contains("stdin password"));

    let db = run.db().await;
    let stored = db.user_by_identifier("bob").await.unwrap().expect("user");
    assert_eq!(stored.id, user["id"].as_str().unwrap());
    let ok = Hasher::new(1)
        .unwrap()
        .verify(stored.password_hash, "a long stdin password".into())
        .await
        .unwrap();
    assert!(ok, "the password is the first line, without its newline");
    db.close().await;
}

#[tokio::test]
async fn a_duplicate_identifier_fails_with_one_line_on_stderr_and_nothing_on_stdout() {
    let run = Run::new().await;
    run.user_add(
        "alice",
        &["--password", "correct horse battery", "--identifier", "E1"],
    )
    .json();
    // Identifiers compare case-insensitively.
    let line = run
        .user_add(
            "bob",
            &["--password", "correct horse battery", "--identifier", "e1"],
        )
        .failure();
    assert!(line.contains("e1") || line.contains("E1"), "{line}");
    let db = run.db().await;
    assert!(db.user_by_identifier("bob").await.unwrap().is_none());
    db.close().await;
}

#[tokio::test]
async fn client_add_prints_a_working_secret_once_and_none_for_public_clients() {
    let run = Run::new().await;
    let out = run
        .client_add("rp1", &["--redirect-uri", "https://rp.example/cb"])
        .json();
    assert_eq!(keys_of(&out), ["client_id", "client_secret"]);
    assert_eq!(out["client_id"], "rp1");
    let secret = out["client_secret"].as_str().unwrap();
    assert_eq!(secret.len(), 43, "{secret}");
    assert!(is_base64url(secret));

    let public = run
        .client_add(
            "spa",
            &["--public", "--redirect-uri", "http://127.0.0.1/cb"],
        )
        .json();
    assert_eq!(public, json!({"client_id": "spa"}));

    // authorization_code (a default) needs a redirect URI.
    run.run(&["client", "add", "--client-id", "noredirect"])
        .failure();
    let svc = run
        .client_add("svc", &["--grant-type", "client_credentials"])
        .json();
    let svc_secret = svc["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(svc_secret, secret);

    // The printed secret is the one the server accepts.
    let app = spawn_on(&run.database_url).await;
    let mut client = TestClient {
        id: "svc".into(),
        secret: Some(svc_secret),
        redirect_uri: String::new(),
    };
    let res = app
        .token(&client, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(res.status(), 200);
    client.secret = Some(secret.to_owned());
    let res = app
        .token(&client, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(res.status(), 401);
    let res = app.core.db.client_by_id("noredirect").await.unwrap();
    assert!(res.is_none(), "a refused client was stored");
}

#[tokio::test]
async fn usage_errors_exit_with_2_and_print_nothing_on_stdout() {
    let run = Run::new().await;
    for args in [
        &["migrate", "--frobnicate"][..],
        &["user", "add", "--password", "correct horse battery"],
        &["user", "add", "--login", "alice"],
        &[
            "client",
            "add",
            "--client-id",
            "x",
            "--id-token-alg",
            "HS256",
        ],
        &["keys", "rotate", "--alg", "HS256"],
        &["keys", "retire"],
        &["frobnicate"],
        &[],
    ] {
        let out = run.run(args);
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
        out.usage_error();
    }
}

#[tokio::test]
async fn keys_rotate_prints_the_new_kid_and_retire_removes_any_key_but_the_last_rs256_one() {
    let run = Run::new().await;
    copy_fixture_keys(&run.keys_dir());
    let before = kids(&run.keys_dir());
    let fixture_rs = before
        .iter()
        .find(|(_, a)| *a == Alg::RS256)
        .unwrap()
        .0
        .clone();

    let es = run.run(&["keys", "rotate"]).json();
    assert_eq!(keys_of(&es), ["alg", "kid"]);
    assert_eq!(es["alg"], "ES256");
    let es_kid = es["kid"].as_str().unwrap().to_owned();
    assert!(!before.iter().any(|(k, _)| *k == es_kid));
    assert!(kids(&run.keys_dir()).contains(&(es_kid.clone(), Alg::ES256)));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for entry in std::fs::read_dir(run.keys_dir()).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            if name.ends_with(".pem") {
                let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{name}");
            }
        }
    }

    let out = run.run(&["keys", "retire", "--kid", &es_kid]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(stdout_json(&out.stdout).len(), 1);
    assert!(!kids(&run.keys_dir()).iter().any(|(k, _)| *k == es_kid));

    let rs = run.run(&["keys", "rotate", "--alg", "RS256"]).json();
    assert_eq!(rs["alg"], "RS256");
    let rs_kid = rs["kid"].as_str().unwrap().to_owned();
    assert_ne!(rs_kid, fixture_rs);
    run.run(&["keys", "retire", "--kid", &rs_kid]).json();

    // The fixture's RS256 key is now the only one: OpenID Connect needs RS256.
    run.run(&["keys", "retire", "--kid", &fixture_rs]).failure();
    assert_eq!(kids(&run.keys_dir()), before);
    run.run(&["keys", "retire", "--kid", "no-such-kid"])
        .failure();
}

#[tokio::test]
async fn a_bad_setting_stops_with_exit_1_and_one_line_naming_it() {
    let run = Run::new().await;
    for (name, value) in [
        ("GUICHET_ISSUER", "http://example.org"),
        ("GUICHET_ISSUER", "https://example.org/"),
        ("GUICHET_LISTEN", "nonsense"),
        ("GUICHET_CODE_TTL", "abc"),
        ("GUICHET_ACCESS_TOKEN_TTL", "-5"),
        ("GUICHET_DATABASE_URL", "mysql://localhost/db"),
    ] {
        let out = run.run_with(&["migrate"], |c| {
            c.env(name, value);
        });
        let line = out.failure();
        assert!(line.contains(name), "{name}={value}: {line}");
        assert!(!line.contains("panicked"), "{line}");
    }
}

#[tokio::test]
async fn an_unknown_guichet_variable_is_a_warning_not_an_error() {
    let run = Run::new().await;
    let out = run.run_with(&["migrate"], |c| {
        c.env("GUICHET_FOO", "1");
    });
    assert_eq!(out.json(), json!({"applied": MIGRATIONS}));
    assert!(out.stderr.contains("GUICHET_FOO"), "{out:?}");
}

#[tokio::test]
async fn a_config_file_with_an_unknown_key_is_refused_and_its_known_keys_are_honoured() {
    let run = Run::new().await;
    let bad = run.dir.path().join("bad.toml");
    std::fs::write(&bad, "bogus_key = 1\n").unwrap();
    let line = run
        .run(&["--config", bad.to_str().unwrap(), "migrate"])
        .failure();
    assert!(line.contains("bogus_key"), "{line}");
    let line = run
        .run_with(&["migrate"], |c| {
            c.env("GUICHET_CONFIG", &bad);
        })
        .failure();
    assert!(line.contains("bogus_key"), "{line}");

    // A database named only by the file.
    let other_dir = run.dir.path().join("other");
    std::fs::create_dir_all(&other_dir).unwrap();
    let other = fresh_database_url(&other_dir).await;
    let good = run.dir.path().join("good.toml");
    std::fs::write(&good, format!("database_url = {other:?}\n")).unwrap();
    let from_file = |c: &mut Command| {
        c.env_remove("GUICHET_DATABASE_URL");
    };
    let out = run.run_with(&["--config", good.to_str().unwrap(), "migrate"], from_file);
    assert_eq!(out.json(), json!({"applied": MIGRATIONS}));
    assert!(
        !run.dir.path().join("guichet.db").exists(),
        "the default database was used"
    );
    let out = run.run_with(&["migrate"], |c| {
        c.env("GUICHET_DATABASE_URL", &other);
    });
    assert_eq!(
        out.json(),
        json!({"applied": []}),
        "the file's database was migrated"
    );
    // The environment overrides the file.
    let out = run.run(&["--config", good.to_str().unwrap(), "migrate"]);
    assert_eq!(out.json(), json!({"applied": MIGRATIONS}));
}

/// A child process that is killed if the test ends before it does.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

impl Running {
    pub fn output(&mut self) -> (String, String) {
        let mut out = String::new();
        let mut err = String::new();
        if let Some(mut s) = self.0.stdout.take() {
            s.read_to_string(&mut out).unwrap();
        }
        if let Some(mut s) = self.0.stderr.take() {
            s.read_to_string(&mut err).unwrap();
        }
        (out, err)
    }
}

#[tokio::test]
async fn serve_answers_health_and_readiness_and_stops_cleanly_on_sigterm() {
    let run = Run::new().await;
    copy_fixture_keys(&run.keys_dir());
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let mut cmd = run.command(&["serve"]);
    cmd.env("GUICHET_LISTEN", format!("127.0.0.1:{port}"))
        .env("GUICHET_ISSUER", &issuer);
    if let Some(redis) = test_redis_url() {
        cmd.env("GUICHET_REDIS_URL", redis).env(
            "GUICHET_REDIS_PREFIX",
            format!("guichet-test-{}:", uuid::Uuid::new_v4().simple()),
        );
    }
    let mut server = Running(cmd.spawn().unwrap());
    let http = reqwest::Client::new();

    let deadline = Instant::now() + Duration::from_secs(8);
    loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            let (_, err) = server.output();
            panic!("serve exited early with {status}: {err}");
        }
        match http.get(format!("{issuer}/healthz")).send().await {
            Ok(res) if res.status() == 200 => break,
            _ if Instant::now() > deadline => panic!("/healthz did not answer"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let ready = http.get(format!("{issuer}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let doc = json_of(http.get(format!("{issuer}/.well-known/openid-configuration"))).await;
    assert_eq!(doc["issuer"], issuer.as_str());

    let killed = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(s) = server.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "serve did not stop within 5 s of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (out, err) = server.output();
    assert_eq!(status.code(), Some(0), "exit status {status}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    // The database has no administrator: serve printed a set-up link (and logged a warning).
    let lines = stdout_json(&out);
    let setup = lines
        .iter()
        .find_map(|l| l["setup_url"].as_str())
        .unwrap_or_else(|| panic!("no set-up link printed: {out}"));
    assert!(err.contains("set-up link"), "{err}");
    let token = setup
        .strip_prefix(&format!("{issuer}/invitation/"))
        .unwrap_or_else(|| panic!("{setup}"));
    let stored = run
        .db()
        .await
        .invitation_by_token_hash(&guichet::crypto::token::digest(token))
        .await
        .unwrap()
        .expect("the printed link is stored");
    assert!(stored.is_setup() && stored.accepted_at.is_none());
}

#[tokio::test]
async fn admin_commands_change_passwords_disable_users_and_rotate_client_secrets() {
    let run = Run::new().await;
    let (app, client) = with_alice_and(spawn_on(&run.database_url).await, "c1").await;
    let tokens = app.code_flow_tokens(&client, "alice", "openid").await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (challenge, _) = pkce_pair();
    let params = [
        ("response_type", "code"),
        ("client_id", "c1"),
        ("redirect_uri", client.redirect_uri.as_str()),
        ("scope", "openid"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];

    // A new password, named by any identifier: the session and its refresh tokens end.
    let out = run
        .run(&[
            "user",
            "set-password",
            "--login",
            " ALICE@example.org ",
            "--password",
            "a brand new passphrase",
        ])
        .json();
    assert_eq!(out["login"], "alice");
    assert_eq!(out["grants_revoked"], 1);
    let res = refresh_with(&app, &client, &refresh, None).await;
    assert_eq!(res.status(), 400);
    let mut silent = params.to_vec();
    silent.push(("prompt", "none"));
    let res = app.authorize(&silent).await;
    assert_eq!(
        query_param(&location(&res), "error").as_deref(),
        Some("login_required")
    );
    let page = app.authorize(&params).await.text().await.unwrap();
    let res = app.submit_login(&page, "alice", PASSWORD).await;
    assert_eq!(res.status(), 200, "the old password no longer works");
    let res = app
        .submit_login(&page, "alice", "a brand new passphrase")
        .await;
    assert_eq!(res.status(), 303);

    // Disabled: no sign-in, and the access tokens stop working at once.
    assert_code_issued(&res);
    let out = run.run(&["user", "disable", "--login", "alice"]).json();
    assert_eq!(out["disabled"], true);
    let page = app.authorize(&params).await.text().await.unwrap();
    let res = app
        .submit_login(&page, "alice", "a brand new passphrase")
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("login-error"));
    let out = run.run(&["user", "enable", "--login", "alice"]).json();
    assert_eq!(out["disabled"], false);
    let page = app.authorize(&params).await.text().await.unwrap();
    let res = app
        .submit_login(&page, "alice", "a brand new passphrase")
        .await;
    assert_eq!(res.status(), 303);
    assert!(
        run.run(&["user", "disable", "--login", "nobody"])
            .failure()
            .contains("nobody")
    );

    // A client's secret is replaced; a public client has none to replace.
    let m2m_args = ["--grant-type", "client_credentials", "--scope", "api"];
    let out = run.client_add("m2m", &m2m_args).json();
    let old = out["client_secret"].as_str().unwrap().to_owned();
    let out = run
        .run(&["client", "rotate-secret", "--client-id", "m2m"])
        .json();
    let new = out["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(old, new);
    let cc = [("grant_type", "client_credentials")];
    let m2m = |secret: &str| client.with_credentials("m2m", Some(secret));
    assert_eq!(app.token(&m2m(&old), &cc).await.status(), 401);
    assert_eq!(app.token(&m2m(&new), &cc).await.status(), 200);
    run.client_add(
        "spa",
        &["--public", "--redirect-uri", "https://spa.example/cb"],
    )
    .json();
    run.run(&["client", "rotate-secret", "--client-id", "spa"])
        .failure();

    // A disabled client is refused (this one was never cached by the server).
    run.client_add("m2m-b", &m2m_args).json();
    let out = run
        .run(&["client", "disable", "--client-id", "m2m-b"])
        .json();
    assert_eq!(out["disabled"], true);
    let res = app
        .authorize(&[
            ("client_id", "m2m-b"),
            ("redirect_uri", "https://x.example/cb"),
        ])
        .await;
    assert_eq!(res.status(), 400);
    run.run(&["client", "disable", "--client-id", "nope"])
        .failure();
}

#[tokio::test]
async fn second_factor_commands_show_reset_unlock_and_require_mfa() {
    let run = Run::new().await;
    let (app, client) = with_alice_and(spawn_on(&run.database_url).await, "c1").await;
    let account = account_browser(&app, "alice").await;
    enrol_totp(&app, &account).await;

    let shown = run.run(&["user", "show", "--login", "ALICE"]);
    assert!(!shown.stdout.contains("secret"), "{}", shown.stdout);
    let shown = shown.json();
    assert_eq!(shown["login"], "alice");
    assert_eq!(shown["locked"], false);
    assert_eq!(shown["factors"][0]["kind"], "totp");
    assert_eq!(shown["recovery_codes_left"], 10);
    let out = run.run(&["user", "unlock", "--login", "alice"]).json();
    assert_eq!(out["was_locked"], false);

    // A lost phone: the factors go, the password alone signs in again.
    let out = run.run(&["user", "mfa-reset", "--login", "alice"]).json();
    assert_eq!(out["factors_removed"], 1);
    let shown = run.run(&["user", "show", "--login", "alice"]).json();
    assert_eq!(shown["factors"], json!([]));
    assert_eq!(shown["recovery_codes_left"], 0);
    account_browser(&app, "alice").await;
    run.run(&["user", "mfa-reset", "--login", "nobody"])
        .failure();

    // A client that requires a second factor takes alice through enrolment.
    run.client_add(
        "secure",
        &[
            "--require-mfa",
            "--first-party",
            "--redirect-uri",
            &client.redirect_uri,
        ],
    )
    .json();
    let secure = client.with_credentials("secure", None);
    let page = login_page(&app, &app.browser, &secure, &[]).await;
    let res = post_login(&app, &app.browser, &page, "alice", PASSWORD).await;
    let page = res.text().await.unwrap();
    assert!(element_text(&page, "totp-secret").is_some(), "{page}");
    let out = run
        .run(&[
            "client",
            "require-mfa",
            "--client-id",
            "secure",
            "--on",
            "false",
        ])
        .json();
    assert_eq!(out["require_mfa"], false);
    let stored = app.core.db.client_by_id("secure").await.unwrap().unwrap();
    assert!(!stored.require_mfa);
    run.run(&["client", "require-mfa", "--client-id", "nope"])
        .failure();
}

#[tokio::test]
async fn user_add_and_set_password_refuse_a_password_that_breaks_the_policy_naming_each_rule() {
    let run = Run::new().await;
    let line = run
        .user_add("alice", &["--password", "alice1", "--given-name", "Alice"])
        .failure();
    for rule in [
        "at least 12 characters",
        "must not contain the login",
        "must not contain the person's names",
    ] {
        assert!(line.contains(rule), "{line}");
    }
    assert!(
        !line.contains("alice1"),
        "the password is never shown: {line}"
    );
    let line = run
        .user_add("bob", &["--password", "QwertyQwerty"])
        .failure();
    assert!(line.contains("most common passwords"), "{line}");

    run.user_add("alice", &["--password", "correct horse battery"])
        .json();
    let db = run.db().await;
    assert!(
        db.user_by_identifier("bob").await.unwrap().is_none(),
        "a refused user is not created"
    );
    let set = |password: &str| {
        run.run(&[
            "user",
            "set-password",
            "--login",
            "alice",
            "--password",
            password,
        ])
    };
    let line = set("correct horse battery").failure();
    assert!(
        line.contains("must differ from the current password and the 3 before it"),
        "{line}"
    );
    assert!(
        set("not 12 z9")
            .failure()
            .contains("at least 12 characters")
    );
    set("a brand new passphrase").json();
    // The previous one is in the history now.
    let line = set("correct horse battery").failure();
    assert!(line.contains("must differ"), "{line}");
    let alice = db.user_by_identifier("alice").await.unwrap().unwrap();
    assert_eq!(db.password_history(&alice.id, 10).await.unwrap().len(), 1);
    db.close().await;
}

#[tokio::test]
async fn user_add_temporary_must_change_and_records_the_birth_date_and_personal_numbers() {
    let run = Run::new().await;
    run.user_add(
        "dave",
        &[
            "--password",
            "a temporary passphrase",
            "--temporary",
            "--birth-date",
            "2001-05-17",
            "--personal-number",
            "student=2024 0017",
            "--personal-number",
            "INE=0A1B2C3D4E5",
        ],
    )
    .json();
    let db = run.db().await;
    let dave = db
        .user_by_personal_number("student", "20240017", "2001-05-17")
        .await
        .unwrap()
        .expect("found by student number and birth date");
    assert_eq!(dave.login, "dave");
    assert!(dave.must_change_password, "a temporary password");
    assert!(
        db.user_by_personal_number("ine", "0a1b2c3d4e5", "2001-05-17")
            .await
            .unwrap()
            .is_some()
    );

    // A chosen password clears the flag; an administrator's temporary one sets it again.
    run.run(&[
        "user",
        "set-password",
        "--login",
        "dave",
        "--password",
        "a chosen passphrase",
    ])
    .json();
    let dave = db.user_by_identifier("dave").await.unwrap().unwrap();
    assert!(!dave.must_change_password);
    run.run(&[
        "user",
        "set-password",
        "--login",
        "dave",
        "--password",
        "another temporary one",
        "--temporary",
    ])
    .json();
    let dave = db.user_by_identifier("dave").await.unwrap().unwrap();
    assert!(dave.must_change_password);

    // Bad personal data is refused before anything is written; a number has one owner.
    let line = run
        .user_add(
            "erin",
            &[
                "--password",
                "correct horse battery",
                "--birth-date",
                "2001-02-29",
            ],
        )
        .failure();
    assert!(line.contains("birth date"), "{line}");
    let line = run
        .user_add(
            "erin",
            &[
                "--password",
                "correct horse battery",
                "--personal-number",
                "student",
            ],
        )
        .failure();
    assert!(line.contains("KIND=VALUE"), "{line}");
    let line = run
        .user_add(
            "erin",
            &[
                "--password",
                "correct horse battery",
                "--personal-number",
                "student=20240017",
            ],
        )
        .failure();
    assert!(line.contains("already taken"), "{line}");
    assert!(db.user_by_identifier("erin").await.unwrap().is_none());
    db.close().await;
}

#[tokio::test]
async fn client_commands_set_change_and_clear_the_back_channel_logout_uri() {
    let run = Run::new().await;
    run.client_add(
        "rp",
        &[
            "--redirect-uri",
            "https://rp.example/cb",
            "--backchannel-logout-uri",
            "https://rp.example/bcl",
            "--backchannel-logout-session-required",
        ],
    )
    .json();
    let db = run.db().await;
    let stored = db.client_by_id("rp").await.unwrap().unwrap();
    assert_eq!(
        stored.backchannel_logout_uri.as_deref(),
        Some("https://rp.example/bcl")
    );
    assert!(stored.backchannel_logout_session_required);

    // Plain http away from loopback, or a fragment (BCL §2.2): refused, nothing stored.
    for bad in ["http://rp.example/bcl", "https://rp.example/bcl#f"] {
        run.client_add(
            "bad",
            &[
                "--redirect-uri",
                "https://rp.example/cb",
                "--backchannel-logout-uri",
                bad,
            ],
        )
        .failure();
        run.run(&[
            "client",
            "backchannel-logout",
            "--client-id",
            "rp",
            "--uri",
            bad,
        ])
        .failure();
    }
    assert!(db.client_by_id("bad").await.unwrap().is_none());
    // session-required alone at registration is a usage error.
    run.client_add(
        "bad",
        &[
            "--redirect-uri",
            "https://rp.example/cb",
            "--backchannel-logout-session-required",
        ],
    )
    .usage_error();

    let out = run
        .run(&[
            "client",
            "backchannel-logout",
            "--client-id",
            "rp",
            "--uri",
            "http://127.0.0.1:9000/bcl",
            "--session-required",
            "false",
        ])
        .json();
    assert_eq!(
        out,
        json!({
            "client_id": "rp",
            "backchannel_logout_uri": "http://127.0.0.1:9000/bcl",
            "backchannel_logout_session_required": false,
        })
    );
    let out = run
        .run(&[
            "client",
            "backchannel-logout",
            "--client-id",
            "rp",
            "--clear",
        ])
        .json();
    assert_eq!(out["backchannel_logout_uri"], Value::Null);
    let stored = db.client_by_id("rp").await.unwrap().unwrap();
    assert_eq!(stored.backchannel_logout_uri, None);
    assert!(!stored.backchannel_logout_session_required);
    run.run(&[
        "client",
        "backchannel-logout",
        "--client-id",
        "rp",
        "--uri",
        "https://rp.example/bcl",
        "--clear",
    ])
    .usage_error();
    run.run(&[
        "client",
        "backchannel-logout",
        "--client-id",
        "nope",
        "--clear",
    ])
    .failure();
}

#[tokio::test]
async fn check_config_reports_each_part_and_fails_when_one_cannot_be_reached() {
    let run = Run::new().await;
    let report = run.run(&["check-config"]).json();
    assert_eq!(report["ok"], true, "{report}");
    let by_name = |r: &Value, name: &str| {
        r["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_name(&report, "database")["ok"], true);
    assert_eq!(by_name(&report, "store")["detail"]["backend"], "in-process");
    assert_eq!(by_name(&report, "smtp")["detail"]["backend"], "outbox");
    assert_eq!(by_name(&report, "keys")["detail"]["keys"], json!([]));
    assert!(
        !run.keys_dir().exists(),
        "a check generates no key and creates no folder"
    );

    // Nothing listens on port 1: the store and the SMTP server fail, the report says which.
    let out = run.run_with(&["check-config"], |cmd| {
        cmd.env("GUICHET_REDIS_URL", "redis://127.0.0.1:1")
            .env("GUICHET_SMTP_URL", "smtp://127.0.0.1:1");
    });
    assert_eq!(out.code, Some(1), "{out:?}");
    let lines = stdout_json(&out.stdout);
    assert_eq!(lines.len(), 1, "{out:?}");
    let report = &lines[0];
    assert_eq!(report["ok"], false);
    assert_eq!(by_name(report, "database")["ok"], true);
    assert_eq!(by_name(report, "store")["ok"], false);
    assert_eq!(by_name(report, "smtp")["ok"], false);
    assert!(
        by_name(report, "smtp")["error"]
            .as_str()
            .unwrap()
            .contains("SMTP"),
        "{report}"
    );
    assert!(out.stderr.contains("found problems"), "{out:?}");
}

#[tokio::test]
async fn a_client_cannot_be_given_an_algorithm_the_keys_folder_has_no_key_for() {
    let run = Run::new().await;
    // The fixture folder was made before EdDSA keys were generated by default.
    copy_fixture_keys(&run.keys_dir());
    let refused = run
        .client_add(
            "ed",
            &[
                "--redirect-uri",
                "https://rp.example/cb",
                "--id-token-alg",
                "EdDSA",
            ],
        )
        .failure();
    assert!(refused.contains("keys rotate --alg EdDSA"), "{refused}");
    run.client_add("ed", &["--redirect-uri", "https://rp.example/cb"])
        .json();
    let refused = run
        .run(&[
            "client",
            "update",
            "--client-id",
            "ed",
            "--access-token-alg",
            "EdDSA",
        ])
        .failure();
    assert!(refused.contains("no EdDSA key"), "{refused}");

    run.run(&["keys", "rotate", "--alg", "EdDSA"]).json();
    let updated = run
        .run(&[
            "client",
            "update",
            "--client-id",
            "ed",
            "--id-token-alg",
            "EdDSA",
            "--access-token-alg",
            "EdDSA",
        ])
        .json();
    assert_eq!(
        (&updated["id_token_alg"], &updated["access_token_alg"]),
        (&json!("EdDSA"), &json!("EdDSA"))
    );
}
