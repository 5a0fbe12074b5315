//! The test kit: the real application on port 0, one database and key prefix per test, and
//! everything the tests drive it with. Test files import it whole: `use crate::helpers::*;`.
//!
//! SQLite + in-process store by default; PostgreSQL + Redis when `GUICHET_TEST_DATABASE_URL`
//! and `GUICHET_TEST_REDIS_URL` name servers (each test creates its own database and prefix).
//! A variable that is set but unreachable fails the test.
//!
//! - this file: spawning the application, users and clients, administering them in-process,
//!   the usual starting points;
//! - `browser`: the browser's side: pages, forms, redirects, cookies, `prompt=none`, logout;
//! - `flows`: the protocol's requests: codes and their redemption, refresh, revocation,
//!   introspection, userinfo, client credentials;
//! - `assert`: checks shared by several areas (OAuth and Bearer errors, caching, pages);
//! - `jwt`: reading tokens and JSON bodies;
//! - `mfa`: second factors: enrolling them through the account pages, computing TOTP codes,
//!   reading SMS codes from the outbox, the second-factor step of sign-in;
//! - `mail`: e-mail read back from the outbox or the SMTP sink, and the links in it;
//! - `smtp`: a real SMTP server on 127.0.0.1:0 that records messages and can refuse them;
//! - `redis_servers`: Redis processes a test owns (TLS, replication, sentinels);
//! - `receiver`: an application's HTTP endpoint on 127.0.0.1:0 that records what guichet
//!   posts to it (logout tokens, SAML logout requests) and can refuse it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod assert;
mod browser;
mod cas;
mod flows;
mod jwt;
mod mail;
mod mfa;
mod receiver;
mod redis_servers;
mod smtp;

pub use assert::*;
pub use browser::*;
pub use cas::*;
pub use flows::*;
pub use jwt::*;
pub use mail::*;
pub use mfa::*;
pub use receiver::*;
pub use redis_servers::*;
pub use smtp::*;

use std::path::Path;
use std::sync::Arc;

use guichet::app::Application;
use guichet::clock::Clock;
use guichet::config::Settings;
use guichet::crypto::keys::Alg;
use guichet::domain::admin::Actor;
use guichet::domain::user::{NewUser, User};
use guichet::service::admin::Admin;
use guichet::service::clients::{ClientSpec, register};
use guichet::service::core::Core;
use serde_json::Value;
use sqlx::Connection;
use url::Url;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub issuer: String,
    pub port: u16,
    pub core: Arc<Core>,
    pub clock: Arc<Clock>,
    /// A browser: cookie jar, no automatic redirects.
    pub browser: reqwest::Client,
    pub dir: tempfile::TempDir,
}

/// A change to the settings that owns what it sets.
pub type Configure = Box<dyn FnOnce(&mut Settings) + Send>;

#[derive(Default)]
pub struct Options {
    pub redis_url: Option<String>,
    pub database_url: Option<String>,
    pub keys_dir: Option<std::path::PathBuf>,
    pub redis_prefix: Option<String>,
    /// An in-process store shared with another node (embedded backends only).
    pub store: Option<guichet::ephemeral::DynEphemeral>,
    /// The issuer of another node (a cluster behind one name).
    pub issuer: Option<String>,
    /// An https issuer on this node's port (TLS would end at a proxy; the server still speaks
    /// plain http, see `url`).
    pub https: bool,
    /// Changes to the settings (`GUICHET_MFA_REQUIRED`, the lockout…).
    pub settings: Option<fn(&mut Settings)>,
    /// The theme folder (`GUICHET_THEME_DIR`).
    pub theme_dir: Option<std::path::PathBuf>,
    /// An SMTP server (`GUICHET_SMTP_URL`), e.g. an `SmtpSink`'s URL.
    pub smtp_url: Option<String>,
    /// Changes to the settings that need values of the test (a CA file, sentinel ports),
    /// applied after `settings`.
    pub configure: Option<Configure>,
}

pub fn copy_fixture_keys(to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keys");
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        std::fs::copy(entry.path(), &target).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }
}

/// A fresh PostgreSQL database on the test server, or a fresh SQLite file.
pub async fn fresh_database_url(dir: &Path) -> String {
    match std::env::var("GUICHET_TEST_DATABASE_URL") {
        Ok(server) if !server.is_empty() => {
            let name = format!("guichet_test_{}", uuid::Uuid::new_v4().simple());
            let mut conn = sqlx::PgConnection::connect(&server)
                .await
                .unwrap_or_else(|e| {
                    panic!("GUICHET_TEST_DATABASE_URL is set but unreachable: {e}")
                });
            sqlx::query(&format!("create database {name}"))
                .execute(&mut conn)
                .await
                .unwrap();
            let _ = conn.close().await;
            let mut url = Url::parse(&server).unwrap();
            url.set_path(&format!("/{name}"));
            url.to_string()
        }
        _ => format!("sqlite://{}", dir.join("guichet.db").display()),
    }
}

pub fn test_redis_url() -> Option<String> {
    std::env::var("GUICHET_TEST_REDIS_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

pub async fn spawn_app() -> TestApp {
    spawn_with(Options::default()).await
}

/// The application on an existing database (one a CLI run migrated and writes to).
pub async fn spawn_on(database_url: &str) -> TestApp {
    spawn_with(Options {
        database_url: Some(database_url.to_owned()),
        ..Options::default()
    })
    .await
}

/// The application with this in-process short-lived store (to count or fill it from outside).
pub async fn spawn_with_store(store: guichet::ephemeral::DynEphemeral) -> TestApp {
    spawn_with(Options {
        store: Some(store),
        ..Options::default()
    })
    .await
}

/// A port free a moment ago, for a process that takes a port number rather than a listener.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the application. A node of a cluster passes the database, Redis prefix and keys
/// folder of another node.
pub async fn spawn_with(opts: Options) -> TestApp {
    try_spawn_with(opts)
        .await
        .unwrap_or_else(|e| panic!("application did not start: {e:#}"))
}

/// Starts the application, or says why it did not start.
pub async fn try_spawn_with(opts: Options) -> anyhow::Result<TestApp> {
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = match opts.keys_dir {
        Some(k) => k,
        None => {
            let k = dir.path().join("keys");
            copy_fixture_keys(&k);
            k
        }
    };
    let database_url = match opts.database_url {
        Some(u) => u,
        None => fresh_database_url(dir.path()).await,
    };
    let redis_url = opts.redis_url.or_else(test_redis_url);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let scheme = if opts.https { "https" } else { "http" };
    let issuer = opts
        .issuer
        .unwrap_or_else(|| format!("{scheme}://127.0.0.1:{port}"));
    let settings = Settings {
        issuer: issuer.clone(),
        listen: format!("127.0.0.1:{port}"),
        database_url: database_url.into(),
        redis_url: redis_url.map(Into::into),
        redis_prefix: opts
            .redis_prefix
            .unwrap_or_else(|| format!("guichet-test-{}:", uuid::Uuid::new_v4().simple())),
        keys_dir,
        outbox_dir: dir.path().join("outbox"),
        hash_concurrency: Some(2),
        theme_dir: opts.theme_dir,
        ..Settings::default()
    };
    let mut settings = settings;
    if let Some(url) = opts.smtp_url {
        settings.smtp_url = Some(url.into());
    }
    if let Some(change) = opts.settings {
        change(&mut settings);
    }
    if let Some(configure) = opts.configure {
        configure(&mut settings);
    }
    let clock = Clock::system();
    let app = Application::build_with_store(settings, clock.clone(), listener, opts.store).await?;
    let core = app.core();
    tokio::spawn(app.run_until(std::future::pending()));
    Ok(TestApp {
        issuer,
        port,
        core,
        clock,
        browser: browser(),
        dir,
    })
}

pub struct TestClient {
    pub id: String,
    pub secret: Option<String>,
    pub redirect_uri: String,
}

impl TestClient {
    /// This client's redirect URI with other credentials: a wrong secret, an unknown client.
    pub fn with_credentials(&self, id: &str, secret: Option<&str>) -> TestClient {
        TestClient {
            id: id.into(),
            secret: secret.map(str::to_owned),
            redirect_uri: self.redirect_uri.clone(),
        }
    }
}

impl TestApp {
    /// A URL on this node (its own port, whatever the issuer says).
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub async fn create_user(&self, login: &str) -> String {
        self.create_user_with(NewUser {
            login: login.into(),
            email: Some(format!("{login}@example.org")),
            email_verified: true,
            given_name: Some("Alice".into()),
            family_name: Some("Martin".into()),
            ..NewUser::default()
        })
        .await
    }

    pub async fn create_user_with(&self, mut new: NewUser) -> String {
        new.password_hash = Some(self.core.hasher.hash(PASSWORD.into()).await.unwrap());
        let (user, _) = self
            .core
            .db
            .user_insert(&new, self.clock.now())
            .await
            .unwrap();
        user.id
    }

    pub async fn create_client(&self, id: &str, f: impl FnOnce(&mut ClientSpec)) -> TestClient {
        let redirect_uri = "https://rp.example/cb".to_owned();
        let mut spec = ClientSpec {
            client_id: id.into(),
            name: Some(format!("App {id}")),
            public: false,
            redirect_uris: vec![redirect_uri.clone()],
            post_logout_redirect_uris: vec![BYE.into()],
            grant_types: vec![],
            scopes: vec![
                "openid".into(),
                "profile".into(),
                "email".into(),
                "phone".into(),
                "address".into(),
            ],
            first_party: true,
            introspect: false,
            require_mfa: false,
            id_token_alg: Alg::RS256,
            access_token_alg: Alg::ES256,
            lifetimes: Default::default(),
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
        };
        f(&mut spec);
        let redirect_uri = spec.redirect_uris.first().cloned().unwrap_or(redirect_uri);
        let (client, secret) = register(&self.core.db, spec, self.clock.now())
            .await
            .unwrap();
        TestClient {
            id: client.client_id,
            secret,
            redirect_uri,
        }
    }
}

// ---- Administration, in-process ------------------------------------------------------------

/// The administration service on the application's own stores, as the CLI would use it.
pub fn admin(app: &TestApp) -> Admin<'_> {
    static CLI: std::sync::LazyLock<Actor> = std::sync::LazyLock::new(Actor::cli);
    Admin::new(&app.core, &CLI)
}

pub async fn find_user(app: &TestApp, login: &str) -> User {
    admin(app).find_user(login).await.unwrap()
}

/// An administrator gives `login` a new password (`guichet user set-password`).
pub async fn change_password(app: &TestApp, login: &str) {
    let user = find_user(app, login).await;
    let hash = app
        .core
        .hasher
        .hash("a brand new passphrase".into())
        .await
        .unwrap();
    admin(app)
        .set_password(&user, &hash, app.clock.now())
        .await
        .unwrap();
}

/// An administrator disables (or enables) `login` (`guichet user disable` / `enable`).
pub async fn set_disabled(app: &TestApp, login: &str, disabled: bool) {
    let user = find_user(app, login).await;
    admin(app)
        .set_user_disabled(&user, disabled, app.clock.now())
        .await
        .unwrap();
}

// ---- Starting points ------------------------------------------------------------------------

/// `app` with the user alice and one confidential first-party client `client_id`.
pub async fn with_alice_and(app: TestApp, client_id: &str) -> (TestApp, TestClient) {
    app.create_user("alice").await;
    let client = app.create_client(client_id, |_| {}).await;
    (app, client)
}

/// An application with the user alice and one confidential first-party client `client_id`.
pub async fn app_with_alice_and(client_id: &str) -> (TestApp, TestClient) {
    with_alice_and(spawn_app().await, client_id).await
}

/// An application with the user alice and the first-party client `rp1`.
pub async fn app_with_alice() -> (TestApp, TestClient) {
    app_with_alice_and("rp1").await
}

/// An application with alice and a third-party client `tp` (it asks consent).
pub async fn app_with_third_party() -> (TestApp, TestClient) {
    let app = spawn_app().await;
    app.create_user("alice").await;
    let tp = app.create_client("tp", |s| s.first_party = false).await;
    (app, tp)
}

/// A signed-in user `alice`, a first-party confidential client `rp1` and the token response
/// of a code flow with `scope`.
pub async fn signed_in(app: &TestApp, scope: &str) -> (String, TestClient, Value) {
    let user = app.create_user("alice").await;
    let rp = app.create_client("rp1", |_| {}).await;
    let tokens = app.code_flow_tokens(&rp, "alice", scope).await;
    (user, rp, tokens)
}

/// A fresh application where alice signed in to `rp1` with `scope`: the application, alice's
/// id, the client and the token response.
pub async fn app_signed_in(scope: &str) -> (TestApp, String, TestClient, Value) {
    let app = spawn_app().await;
    let (user, rp, tokens) = signed_in(&app, scope).await;
    (app, user, rp, tokens)
}

/// A confidential client `id` for the client_credentials grant only, registered for the
/// scopes `openid` and `api`, without redirect URIs.
pub async fn api_client(app: &TestApp, id: &str) -> TestClient {
    app.create_client(id, |s| {
        s.grant_types = vec!["client_credentials".into()];
        s.scopes = vec!["openid".into(), "api".into()];
        s.redirect_uris = vec![];
    })
    .await
}
