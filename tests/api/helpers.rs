//! The real application on port 0, one database and key prefix per test.
//!
//! SQLite + in-process store by default; PostgreSQL + Redis when `GUICHET_TEST_DATABASE_URL`
//! and `GUICHET_TEST_REDIS_URL` name servers (each test creates its own database and prefix).
//! A variable that is set but unreachable fails the test.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;

use guichet::app::Application;
use guichet::clock::Clock;
use guichet::config::Settings;
use guichet::crypto::keys::Alg;
use guichet::domain::user::NewUser;
use guichet::service::clients::{ClientSpec, register};
use guichet::service::core::Core;
use reqwest::header::LOCATION;
use reqwest::redirect::Policy;
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

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

pub async fn spawn_app() -> TestApp {
    spawn_with(Options::default()).await
}

/// Starts the application. A node of a cluster passes the database, Redis prefix and keys
/// folder of another node.
pub async fn spawn_with(opts: Options) -> TestApp {
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
        ..Settings::default()
    };
    let clock = Clock::system();
    let app = Application::build_with_store(settings, clock.clone(), listener, opts.store)
        .await
        .unwrap_or_else(|e| panic!("application did not start: {e:#}"));
    let core = app.core();
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        issuer,
        port,
        core,
        clock,
        browser: browser(),
        dir,
    }
}

pub struct TestClient {
    pub id: String,
    pub secret: Option<String>,
    pub redirect_uri: String,
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
            post_logout_redirect_uris: vec!["https://rp.example/bye".into()],
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
            id_token_alg: Alg::RS256,
            access_token_alg: Alg::ES256,
            lifetimes: Default::default(),
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

    /// GET /authorize with these parameters, as the browser.
    pub async fn authorize(&self, params: &[(&str, &str)]) -> reqwest::Response {
        self.browser
            .get(self.url("/authorize"))
            .query(params)
            .send()
            .await
            .unwrap()
    }

    /// Posts the login form found in `page` with these credentials.
    pub async fn submit_login(
        &self,
        page: &str,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        let csrf = hidden(page, "csrf").expect("csrf field");
        let mut form = vec![
            ("csrf", csrf),
            ("username", username.into()),
            ("password", password.into()),
        ];
        if let Some(f) = hidden(page, "flow") {
            form.push(("flow", f));
        }
        self.browser
            .post(self.url("/login"))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// Approves (or denies) the consent form found in `page`.
    pub async fn submit_consent(&self, page: &str, approve: bool) -> reqwest::Response {
        let csrf = hidden(page, "csrf").expect("csrf field");
        let request = hidden(page, "request").expect("request field");
        let binding = hidden(page, "binding").expect("binding field");
        let decision = if approve { "approve" } else { "deny" };
        self.browser
            .post(self.url("/consent"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("request", request.as_str()),
                ("binding", binding.as_str()),
                ("decision", decision),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Drives an authorization request to its redirect: signs in as `login` if asked, approves
    /// consent if asked. Returns the callback URL.
    pub async fn authorize_through(&self, params: &[(&str, &str)], login: &str) -> Url {
        let mut res = self.authorize(params).await;
        for _ in 0..3 {
            if res.status().is_redirection() {
                return location(&res);
            }
            assert_eq!(res.status(), 200, "unexpected status");
            let page = res.text().await.unwrap();
            res = if page.contains("name=\"password\"") {
                self.submit_login(&page, login, PASSWORD).await
            } else if page.contains("name=\"decision\"") {
                self.submit_consent(&page, true).await
            } else {
                panic!("unexpected page: {page}");
            };
        }
        panic!("no redirect after login and consent");
    }

    /// Posts to the token endpoint with client_secret_basic.
    pub async fn token(&self, client: &TestClient, form: &[(&str, &str)]) -> reqwest::Response {
        let mut req = reqwest::Client::new().post(self.url("/token")).form(form);
        req = match &client.secret {
            Some(s) => req.basic_auth(&client.id, Some(s)),
            None => req,
        };
        req.send().await.unwrap()
    }

    /// Runs the code flow for `client` and redeems the code: the token response JSON.
    pub async fn code_flow_tokens(
        &self,
        client: &TestClient,
        login: &str,
        scope: &str,
    ) -> serde_json::Value {
        let (challenge, verifier) = pkce_pair();
        let cb = self
            .authorize_through(
                &[
                    ("response_type", "code"),
                    ("client_id", &client.id),
                    ("redirect_uri", &client.redirect_uri),
                    ("scope", scope),
                    ("state", "s1"),
                    ("nonce", "n1"),
                    ("code_challenge", &challenge),
                    ("code_challenge_method", "S256"),
                ],
                login,
            )
            .await;
        let code = query_param(&cb, "code").expect("code in callback");
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", client.redirect_uri.as_str()),
            ("code_verifier", verifier.as_str()),
        ];
        if client.secret.is_none() {
            form.push(("client_id", client.id.as_str()));
        }
        let res = self.token(client, &form).await;
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }
}

/// A PKCE (challenge, verifier) pair, S256.
pub fn pkce_pair() -> (String, String) {
    use base64::Engine;
    use sha2::Digest;
    let verifier = guichet::crypto::token::random_token();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    (challenge, verifier)
}

pub fn location(res: &reqwest::Response) -> Url {
    let l = res
        .headers()
        .get(LOCATION)
        .expect("Location header")
        .to_str()
        .unwrap();
    Url::parse(l).unwrap()
}

pub fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The value of the hidden input `name` in an HTML page.
pub fn hidden(page: &str, name: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(page);
    let sel = scraper::Selector::parse(&format!("input[name=\"{name}\"]")).ok()?;
    doc.select(&sel)
        .next()?
        .value()
        .attr("value")
        .map(str::to_owned)
}

/// The claims of a JWT, unverified (tests check signatures through the client library).
pub fn jwt_claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

pub fn jwt_header(token: &str) -> serde_json::Value {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}
