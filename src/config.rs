//! Layered settings: defaults < TOML file (`--config`/`GUICHET_CONFIG`) < `GUICHET_*`
//! environment. Validated once at start-up; a bad setting stops start-up with one line naming it.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

use crate::domain::self_service::SelfServicePolicy;
use crate::ephemeral::{RedisConfig, RedisTarget, SentinelConfig};

/// Every setting; in the file each key is the environment name in lower case without the prefix.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub issuer: String,
    pub listen: String,
    /// Where `GET /metrics` (Prometheus) is served, apart from `listen`; unset, no metrics are
    /// recorded or served.
    pub metrics_listen: Option<String>,
    pub database_url: SecretUrl,
    /// Connections in this process's database pool; unset, 16 on PostgreSQL and 4 on SQLite.
    pub database_max_connections: Option<u32>,
    /// How long a request waits for a database connection, from the pool or newly opened
    /// (seconds); past it the request answers 503.
    pub database_connect_timeout: u64,
    /// Bound on one statement (milliseconds): PostgreSQL's `statement_timeout`, SQLite's
    /// `busy_timeout`; 0 leaves PostgreSQL's own setting.
    pub database_statement_timeout: u64,
    pub redis_url: Option<SecretUrl>,
    pub redis_prefix: String,
    /// A PEM file of private CAs trusted, beside the system's roots, for `rediss://` and
    /// `redis_tls`.
    pub redis_ca_file: Option<PathBuf>,
    /// Redis Sentinel instead of `redis_url`: the sentinels' `host:port`, a comma-separated
    /// string or a list.
    #[serde(deserialize_with = "list_or_string")]
    pub redis_sentinels: Vec<String>,
    /// The name the sentinels know the master by.
    pub redis_master_name: String,
    /// With sentinels: the master's password (`requirepass`).
    pub redis_password: Option<Secret>,
    /// With sentinels: the sentinels' own password, if they require one.
    pub redis_sentinel_password: Option<Secret>,
    /// With sentinels: TLS to the sentinels and the master.
    pub redis_tls: bool,
    pub keys_dir: PathBuf,
    pub outbox_dir: PathBuf,
    /// The SMS gateway; unset, SMS messages go to the outbox. Checked by `validate`; read it
    /// through [`Settings::sms_url`].
    pub sms_url: Option<String>,
    /// The bearer token sent to the SMS gateway.
    pub sms_token: Option<Secret>,
    /// The SMTP server (`smtp://` or `smtps://`, credentials allowed); unset, e-mail goes to
    /// the outbox.
    pub smtp_url: Option<SecretUrl>,
    /// The sender address of every e-mail.
    pub mail_from: String,
    /// The sender name shown beside it.
    pub mail_from_name: String,
    pub log: String,
    pub log_format: LogFormat,
    #[serde(deserialize_with = "list_or_string")]
    pub trusted_proxies: Vec<String>,
    pub hash_concurrency: Option<usize>,
    pub access_token_audience: Option<String>,
    pub code_ttl: i64,
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub session_idle_ttl: i64,
    pub session_absolute_ttl: i64,
    pub offline_ttl: i64,
    /// Upper bound on items in the in-process store.
    pub memory_store_max_items: usize,
    /// Failed sign-in checks (passwords, codes) that lock an account.
    pub lockout_threshold: u32,
    /// How long a lock lasts, and the window failures are counted in (seconds).
    pub lockout_duration: i64,
    /// Failed sign-in checks one client address may make in a burst…
    pub address_failure_limit: u32,
    /// …refilled over this many seconds.
    pub address_failure_period: i64,
    /// Who must sign in with a second factor whatever the application: `none`, `all`, or a
    /// comma-separated list of user categories (`staff,admin`).
    pub mfa_required: String,
    /// The institution's theme folder (`theme.toml`, the logo); unset, a neutral look.
    pub theme_dir: Option<PathBuf>,
    /// Self-service flows some user categories may not use: `category:flow,flow;…`
    /// (`domain::self_service::SelfServicePolicy`); empty, everyone may use every flow.
    pub self_service_denied: String,
    /// The IANA time zone of the institution (`Europe/Paris`): an activation link is good
    /// until 23:59 of the day it was sent, there.
    pub timezone: String,
    /// The kinds of personal number the recovery flow (`/recover`) offers, in the order shown:
    /// a comma-separated string or a list.
    #[serde(deserialize_with = "list_or_string")]
    pub personal_number_kinds: Vec<String>,
    /// Lifetime of CAS service and proxy tickets (seconds).
    pub cas_ticket_ttl: i64,
    /// Accept `http://` CAS proxy callbacks (tests only; CAS requires https).
    pub cas_insecure_callbacks: bool,
    /// Bound on one logout notification or proxy callback call (seconds).
    pub callback_timeout: u64,
    /// RFC 7591 dynamic client registration at `/register`: `off` (404, the default) or `on`.
    pub registration: Registration,
    /// The initial access token a registration must present (`Authorization: Bearer`);
    /// required when registration is on. Only its SHA-256 is kept once loaded.
    pub registration_token: Option<Secret>,
    /// Audit events older than this many days are removed by the clean-up (at least 1).
    pub audit_retention_days: i64,
    /// Seconds between two background clean-ups on a node; 0: none (`guichet cleanup` from
    /// a timer instead).
    pub cleanup_interval: u64,
}

/// Whether applications may register themselves (RFC 7591).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    #[default]
    Off,
    On,
}

/// A connection URL that may carry a password (`postgres://user:password@host/db`,
/// `redis://:password@host`). Loaded like a plain string; its `Debug` (so a logged or printed
/// `Settings`) shows `***` in place of the password, and only the code that connects calls
/// [`SecretUrl::expose`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretUrl(String);

impl SecretUrl {
    /// The URL itself, password included: for connecting, never for logging.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretUrl {
    fn from(url: String) -> SecretUrl {
        SecretUrl(url)
    }
}

impl From<&str> for SecretUrl {
    fn from(url: &str) -> SecretUrl {
        SecretUrl(url.to_owned())
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&redact_url(&self.0), f)
    }
}

/// Query parameters that carry a password in the URLs sqlx (libpq's names) and redis accept.
const PASSWORD_PARAMS: &[&str] = &[
    "password",
    "pass",
    "passwd",
    "sslpassword",
    "sslkey_password",
];

/// `url` with the password of its user information and the values of password parameters
/// replaced by `***`. Works on the text, not on a parse, so that a URL too broken to parse (a
/// bad port, an unencoded `@`, `/` or `?` in the password) is still redacted; it may hide more
/// than the password of such a URL, never less.
fn redact_url(url: &str) -> String {
    redact_userinfo(&redact_password_params(url))
}

/// Replaces the value of every `password=`-like parameter (after a `?` or an `&`, up to the
/// next `&`).
fn redact_password_params(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(i) = rest.find(['?', '&']) {
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
        let end = rest.find('&').unwrap_or(rest.len());
        if let Some((key, _)) = rest[..end].split_once('=')
            && PASSWORD_PARAMS.iter().any(|p| key.eq_ignore_ascii_case(p))
        {
            out.push_str(key);
            out.push_str("=***");
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}

/// Replaces the password of `scheme://user:password@host…`. The user information ends at the
/// last `@` before the first `/`, `?` or `#` that follows its first `@` (so a password may hold
/// an unencoded `@`, `/` or `?`); the password starts after its first `:`.
fn redact_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some(first_at) = rest.find('@') else {
        return url.to_owned();
    };
    let end = rest[first_at..]
        .find(['/', '?', '#'])
        .map_or(rest.len(), |k| first_at + k);
    let at = rest[..end].rfind('@').unwrap_or(first_at);
    let (userinfo, host_and_after) = rest.split_at(at);
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***{host_and_after}"),
        None => url.to_owned(),
    }
}

/// A secret setting that is not a URL (a token). Loaded like a plain string; its `Debug` is
/// `***`, and only the code that uses it calls [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret itself: for sending, never for logging.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(secret: String) -> Secret {
        Secret(secret)
    }
}

impl From<&str> for Secret {
    fn from(secret: &str) -> Secret {
        Secret(secret.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            issuer: "http://127.0.0.1:8080".into(),
            listen: "127.0.0.1:8080".into(),
            metrics_listen: None,
            database_url: SecretUrl::from("sqlite://guichet.db"),
            database_max_connections: None,
            database_connect_timeout: 5,
            database_statement_timeout: 5000,
            redis_url: None,
            redis_prefix: "guichet:".into(),
            redis_ca_file: None,
            redis_sentinels: Vec::new(),
            redis_master_name: "mymaster".into(),
            redis_password: None,
            redis_sentinel_password: None,
            redis_tls: false,
            keys_dir: "keys".into(),
            outbox_dir: "outbox".into(),
            sms_url: None,
            sms_token: None,
            smtp_url: None,
            mail_from: "guichet@localhost".into(),
            mail_from_name: "guichet".into(),
            log: "info".into(),
            log_format: LogFormat::Text,
            trusted_proxies: Vec::new(),
            hash_concurrency: None,
            access_token_audience: None,
            code_ttl: 60,
            access_token_ttl: 300,
            id_token_ttl: 300,
            session_idle_ttl: 1800,
            session_absolute_ttl: 36000,
            offline_ttl: 2_592_000,
            memory_store_max_items: 1_000_000,
            lockout_threshold: 5,
            lockout_duration: 900,
            address_failure_limit: 100,
            address_failure_period: 300,
            mfa_required: "none".into(),
            theme_dir: None,
            self_service_denied: String::new(),
            timezone: "Europe/Paris".into(),
            personal_number_kinds: ["student_number", "ine", "staff_number", "external_uid"]
                .map(String::from)
                .to_vec(),
            cas_ticket_ttl: 10,
            cas_insecure_callbacks: false,
            callback_timeout: 5,
            registration: Registration::Off,
            registration_token: None,
            audit_retention_days: 400,
            cleanup_interval: 3600,
        }
    }
}

/// The environment names the settings answer to (the contract in docs/configuration.md).
pub const ENV_NAMES: &[&str] = &[
    "ISSUER",
    "LISTEN",
    "METRICS_LISTEN",
    "DATABASE_URL",
    "DATABASE_MAX_CONNECTIONS",
    "DATABASE_CONNECT_TIMEOUT",
    "DATABASE_STATEMENT_TIMEOUT",
    "REDIS_URL",
    "REDIS_PREFIX",
    "REDIS_CA_FILE",
    "REDIS_SENTINELS",
    "REDIS_MASTER_NAME",
    "REDIS_PASSWORD",
    "REDIS_SENTINEL_PASSWORD",
    "REDIS_TLS",
    "KEYS_DIR",
    "OUTBOX_DIR",
    "SMS_URL",
    "SMS_TOKEN",
    "SMTP_URL",
    "MAIL_FROM",
    "MAIL_FROM_NAME",
    "LOG",
    "LOG_FORMAT",
    "TRUSTED_PROXIES",
    "HASH_CONCURRENCY",
    "ACCESS_TOKEN_AUDIENCE",
    "CODE_TTL",
    "ACCESS_TOKEN_TTL",
    "ID_TOKEN_TTL",
    "SESSION_IDLE_TTL",
    "SESSION_ABSOLUTE_TTL",
    "OFFLINE_TTL",
    "MEMORY_STORE_MAX_ITEMS",
    "LOCKOUT_THRESHOLD",
    "LOCKOUT_DURATION",
    "ADDRESS_FAILURE_LIMIT",
    "ADDRESS_FAILURE_PERIOD",
    "MFA_REQUIRED",
    "THEME_DIR",
    "SELF_SERVICE_DENIED",
    "TIMEZONE",
    "PERSONAL_NUMBER_KINDS",
    "CAS_TICKET_TTL",
    "CAS_INSECURE_CALLBACKS",
    "CALLBACK_TIMEOUT",
    "REGISTRATION",
    "REGISTRATION_TOKEN",
    "AUDIT_RETENTION_DAYS",
    "CLEANUP_INTERVAL",
];

/// Variables that are read elsewhere (the CLI, the test suite) and so are not unknown.
const OTHER_ENV_NAMES: &[&str] = &["CONFIG", "TEST_DATABASE_URL", "TEST_REDIS_URL"];

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

fn list_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrString {
        List(Vec<String>),
        One(String),
    }
    Ok(match ListOrString::deserialize(d)? {
        ListOrString::List(v) => v,
        ListOrString::One(s) => s
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

impl Settings {
    /// Reads the optional file, then the environment. Returns the settings and the warnings
    /// (unknown `GUICHET_*` variables) for the caller to log once telemetry is up.
    pub fn load(file: Option<&Path>) -> Result<(Settings, Vec<String>), ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError(format!(
                    "configuration file {} does not exist",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let mut warnings = Vec::new();
        let mut env: Vec<(String, String)> = Vec::new();
        for (name, value) in std::env::vars() {
            let Some(short) = name.strip_prefix("GUICHET_") else {
                continue;
            };
            if ENV_NAMES.contains(&short) {
                env.push((short.to_ascii_lowercase(), value));
            } else if !OTHER_ENV_NAMES.contains(&short) {
                warnings.push(format!("unknown environment variable {name} ignored"));
            }
        }
        for (key, value) in env {
            figment = figment.merge(Serialized::default(&key, env_value(&key, &value)?));
        }
        let settings: Settings = figment
            .extract()
            .map_err(|e| ConfigError(one_line(&e.to_string())))?;
        settings.validate()?;
        Ok((settings, warnings))
    }

    /// Checks every setting; the message names the one that is wrong.
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate_issuer(&self.issuer)?;
        if !(1..=300).contains(&self.cas_ticket_ttl) {
            return Err(ConfigError(
                "GUICHET_CAS_TICKET_TTL must be 1 to 300 seconds (CAS §3.1.1 recommends at most 5 \
                 minutes)"
                    .into(),
            ));
        }
        if !(1..=60).contains(&self.callback_timeout) {
            return Err(ConfigError(
                "GUICHET_CALLBACK_TIMEOUT must be 1 to 60 seconds".into(),
            ));
        }
        self.listen_addr()?;
        self.metrics_addr()?;
        let database_url = self.database_url.expose();
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(ConfigError(
                "GUICHET_DATABASE_URL must start with sqlite: or postgres://".into(),
            ));
        }
        if self
            .database_max_connections
            .is_some_and(|n| !(1..=1000).contains(&n))
        {
            return Err(ConfigError(
                "GUICHET_DATABASE_MAX_CONNECTIONS must be 1 to 1000".into(),
            ));
        }
        if !(1..=300).contains(&self.database_connect_timeout) {
            return Err(ConfigError(
                "GUICHET_DATABASE_CONNECT_TIMEOUT must be 1 to 300 seconds".into(),
            ));
        }
        // Below 100 ms ordinary statements would fail; above 10 minutes it no longer bounds
        // a request anyone waits for.
        if self.database_statement_timeout != 0
            && !(100..=600_000).contains(&self.database_statement_timeout)
        {
            return Err(ConfigError(
                "GUICHET_DATABASE_STATEMENT_TIMEOUT must be 100 to 600000 milliseconds, or 0 \
                 for PostgreSQL's own setting"
                    .into(),
            ));
        }
        self.validate_redis()?;
        if let Some(url) = &self.sms_url {
            validate_sms_url(url)?;
        }
        if self
            .sms_token
            .as_ref()
            .is_some_and(|t| t.expose().is_empty())
        {
            return Err(ConfigError(
                "GUICHET_SMS_TOKEN must not be empty (leave it unset for no token)".into(),
            ));
        }
        if let Some(url) = &self.smtp_url {
            let url = url.expose();
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(ConfigError(
                    "GUICHET_SMTP_URL must start with smtp:// or smtps://".into(),
                ));
            }
        }
        validate_mail_from(&self.mail_from, &self.mail_from_name)?;
        self.trusted_proxy_nets()?;
        if tracing_subscriber::EnvFilter::try_new(&self.log).is_err() {
            return Err(ConfigError(format!(
                "GUICHET_LOG {:?} is not a valid filter (e.g. info, guichet=debug)",
                self.log
            )));
        }
        if self.hash_concurrency == Some(0) {
            return Err(ConfigError(
                "GUICHET_HASH_CONCURRENCY must be at least 1".into(),
            ));
        }
        for (name, value) in [
            ("GUICHET_CODE_TTL", self.code_ttl),
            ("GUICHET_ACCESS_TOKEN_TTL", self.access_token_ttl),
            ("GUICHET_ID_TOKEN_TTL", self.id_token_ttl),
            ("GUICHET_SESSION_IDLE_TTL", self.session_idle_ttl),
            ("GUICHET_SESSION_ABSOLUTE_TTL", self.session_absolute_ttl),
            ("GUICHET_OFFLINE_TTL", self.offline_ttl),
        ] {
            if value <= 0 {
                return Err(ConfigError(format!(
                    "{name} must be a positive number of seconds"
                )));
            }
        }
        if self.audit_retention_days < 1 {
            return Err(ConfigError(
                "GUICHET_AUDIT_RETENTION_DAYS must be at least 1".into(),
            ));
        }
        for (name, value) in [
            ("GUICHET_LOCKOUT_THRESHOLD", self.lockout_threshold),
            ("GUICHET_ADDRESS_FAILURE_LIMIT", self.address_failure_limit),
        ] {
            if value == 0 {
                return Err(ConfigError(format!("{name} must be at least 1")));
            }
        }
        for (name, value) in [
            ("GUICHET_LOCKOUT_DURATION", self.lockout_duration),
            (
                "GUICHET_ADDRESS_FAILURE_PERIOD",
                self.address_failure_period,
            ),
        ] {
            if value <= 0 {
                return Err(ConfigError(format!(
                    "{name} must be a positive number of seconds"
                )));
            }
        }
        SelfServicePolicy::parse(&self.self_service_denied)
            .map_err(|e| ConfigError(format!("GUICHET_SELF_SERVICE_DENIED: {e}")))?;
        self.timezone.parse::<chrono_tz::Tz>().map_err(|_| {
            ConfigError(format!(
                "GUICHET_TIMEZONE: {:?} is not an IANA time zone (e.g. Europe/Paris)",
                self.timezone
            ))
        })?;
        // The kinds as `--personal-number KIND=VALUE` stores them.
        if let Some(bad) = self.personal_number_kinds.iter().find(|k| {
            k.is_empty()
                || k.len() > 64
                || !k
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_')
        }) {
            return Err(ConfigError(format!(
                "GUICHET_PERSONAL_NUMBER_KINDS: {bad:?} is not a kind (lower-case letters, digits, '-' or '_')"
            )));
        }
        match (self.registration, &self.registration_token) {
            (Registration::On, None) => {
                return Err(ConfigError(
                    "GUICHET_REGISTRATION=on needs GUICHET_REGISTRATION_TOKEN (the initial access \
                     token applications present to register)"
                        .into(),
                ));
            }
            // RFC 7591 §3: the token is a bearer credential; a short one could be guessed.
            (_, Some(t)) if t.expose().chars().count() < 32 => {
                return Err(ConfigError(
                    "GUICHET_REGISTRATION_TOKEN must be at least 32 characters (e.g. 32 random \
                     bytes in base64url)"
                        .into(),
                ));
            }
            _ => {}
        }
        if self.code_ttl > 600 {
            // RFC 6749 §4.1.2: a maximum authorization code lifetime of 10 minutes.
            return Err(ConfigError(
                "GUICHET_CODE_TTL must be at most 600 seconds".into(),
            ));
        }
        Ok(())
    }

    /// The Redis settings hang together: one of a URL or sentinels, a CA file that holds
    /// certificates and only with TLS, sentinel-only settings only with sentinels.
    fn validate_redis(&self) -> Result<(), ConfigError> {
        let sentinels = !self.redis_sentinels.is_empty();
        let tls = match &self.redis_url {
            Some(_) if sentinels => {
                return Err(ConfigError(
                    "set GUICHET_REDIS_URL or GUICHET_REDIS_SENTINELS, not both".into(),
                ));
            }
            Some(url) if url.expose().starts_with("rediss://") => true,
            Some(url) if url.expose().starts_with("redis://") => false,
            Some(_) => {
                return Err(ConfigError(
                    "GUICHET_REDIS_URL must start with redis:// or rediss://".into(),
                ));
            }
            None => self.redis_tls,
        };
        if sentinels {
            self.redis_sentinel_addrs()?;
            if self.redis_master_name.trim().is_empty() {
                return Err(ConfigError(
                    "GUICHET_REDIS_MASTER_NAME must name the master the sentinels watch".into(),
                ));
            }
        } else {
            let stray = [
                ("GUICHET_REDIS_PASSWORD", self.redis_password.is_some()),
                (
                    "GUICHET_REDIS_SENTINEL_PASSWORD",
                    self.redis_sentinel_password.is_some(),
                ),
                ("GUICHET_REDIS_TLS", self.redis_tls),
            ];
            if let Some((name, _)) = stray.iter().find(|(_, set)| *set) {
                return Err(ConfigError(format!(
                    "{name} applies to Redis Sentinel only (set GUICHET_REDIS_SENTINELS); with \
                     GUICHET_REDIS_URL, put the password and rediss:// in the URL"
                )));
            }
        }
        if let Some(path) = &self.redis_ca_file {
            if !tls {
                return Err(ConfigError(
                    "GUICHET_REDIS_CA_FILE needs TLS: a rediss:// URL, or GUICHET_REDIS_TLS=true \
                     with sentinels"
                        .into(),
                ));
            }
            let pem = std::fs::read(path).map_err(|e| {
                ConfigError(format!(
                    "GUICHET_REDIS_CA_FILE {}: cannot read it: {e}",
                    path.display()
                ))
            })?;
            let certificates = pem::parse_many(&pem).unwrap_or_default();
            if !certificates.iter().any(|p| p.tag() == "CERTIFICATE") {
                return Err(ConfigError(format!(
                    "GUICHET_REDIS_CA_FILE {} holds no PEM certificate",
                    path.display()
                )));
            }
        }
        Ok(())
    }

    /// `GUICHET_REDIS_SENTINELS` as host and port pairs.
    pub fn redis_sentinel_addrs(&self) -> Result<Vec<(String, u16)>, ConfigError> {
        self.redis_sentinels
            .iter()
            .map(|entry| {
                let bad = || {
                    ConfigError(format!(
                        "GUICHET_REDIS_SENTINELS: {entry:?} is not host:port"
                    ))
                };
                let (host, port) = entry.rsplit_once(':').ok_or_else(bad)?;
                let host = host.trim_start_matches('[').trim_end_matches(']');
                let port: u16 = port.parse().map_err(|_| bad())?;
                if host.is_empty() || port == 0 {
                    return Err(bad());
                }
                Ok((host.to_owned(), port))
            })
            .collect()
    }

    /// How to reach Redis, if it is used (`validate` has checked the settings).
    pub fn redis_config(&self) -> Result<Option<RedisConfig>, ConfigError> {
        let target = if let Some(url) = &self.redis_url {
            RedisTarget::Url(url.expose().to_owned())
        } else if !self.redis_sentinels.is_empty() {
            RedisTarget::Sentinel(SentinelConfig {
                sentinels: self.redis_sentinel_addrs()?,
                master_name: self.redis_master_name.clone(),
                password: self.redis_password.as_ref().map(|p| p.expose().to_owned()),
                sentinel_password: self
                    .redis_sentinel_password
                    .as_ref()
                    .map(|p| p.expose().to_owned()),
                tls: self.redis_tls,
            })
        } else {
            return Ok(None);
        };
        Ok(Some(RedisConfig {
            target,
            ca_file: self.redis_ca_file.clone(),
        }))
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen.parse().map_err(|_| {
            ConfigError(format!(
                "GUICHET_LISTEN must be an address and port such as 127.0.0.1:8080, not {:?}",
                self.listen
            ))
        })
    }

    /// The metrics listener's address, if metrics are on. The same address as `listen` is
    /// refused: the public port must never serve `/metrics` (port 0 picks a free port for each).
    pub fn metrics_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        let Some(listen) = &self.metrics_listen else {
            return Ok(None);
        };
        let addr: SocketAddr = listen.parse().map_err(|_| {
            ConfigError(format!(
                "GUICHET_METRICS_LISTEN must be an address and port such as 127.0.0.1:9464, not \
                 {listen:?}"
            ))
        })?;
        if addr.port() != 0 && self.listen_addr().is_ok_and(|l| l.port() == addr.port()) {
            return Err(ConfigError(
                "GUICHET_METRICS_LISTEN must not use the port of GUICHET_LISTEN: metrics are \
                 served apart from the public port"
                    .into(),
            ));
        }
        Ok(Some(addr))
    }

    pub fn trusted_proxy_nets(&self) -> Result<Vec<IpNet>, ConfigError> {
        self.trusted_proxies
            .iter()
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        ConfigError(format!("GUICHET_TRUSTED_PROXIES: {s:?} is not a CIDR"))
                    })
            })
            .collect()
    }

    pub fn hash_concurrency(&self) -> usize {
        self.hash_concurrency.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
    }

    pub fn is_https(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    /// The SMS gateway, if one is set (`validate` has checked it parses).
    pub fn sms_url(&self) -> Option<Url> {
        self.sms_url.as_deref().and_then(|u| Url::parse(u).ok())
    }

    pub fn access_token_audience(&self) -> &str {
        self.access_token_audience
            .as_deref()
            .unwrap_or(&self.issuer)
    }
}

/// Environment values are strings; numbers are parsed for the numeric settings so that a typo
/// is reported against the variable's name.
fn env_value(key: &str, value: &str) -> Result<figment::value::Value, ConfigError> {
    use figment::value::Value;
    let numeric = key.ends_with("_ttl")
        || matches!(
            key,
            "hash_concurrency"
                | "database_max_connections"
                | "database_connect_timeout"
                | "database_statement_timeout"
                | "memory_store_max_items"
                | "lockout_threshold"
                | "lockout_duration"
                | "address_failure_limit"
                | "address_failure_period"
                | "audit_retention_days"
                | "cleanup_interval"
        );
    if key == "redis_tls" {
        return match value.trim() {
            "true" | "1" => Ok(Value::from(true)),
            "false" | "0" | "" => Ok(Value::from(false)),
            _ => Err(ConfigError(format!(
                "GUICHET_REDIS_TLS must be true or false, not {value:?}"
            ))),
        };
    }
    if numeric {
        let n: i64 = value.trim().parse().map_err(|_| {
            ConfigError(format!(
                "GUICHET_{} must be a whole number, not {value:?}",
                key.to_ascii_uppercase()
            ))
        })?;
        return Ok(Value::from(n));
    }
    Ok(Value::from(value.to_owned()))
}

fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}

fn validate_issuer(issuer: &str) -> Result<(), ConfigError> {
    let bad = |why: &str| ConfigError(format!("GUICHET_ISSUER {issuer:?} {why}"));
    let url = Url::parse(issuer).map_err(|_| bad("is not a URL"))?;
    if url.query().is_some() || issuer.contains('?') {
        return Err(bad("must not have a query"));
    }
    if url.fragment().is_some() || issuer.contains('#') {
        return Err(bad("must not have a fragment"));
    }
    if issuer.ends_with('/') {
        return Err(bad("must not end with /"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry credentials"));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => return Err(bad("must use https unless the host is loopback")),
        _ => return Err(bad("must be an https URL")),
    }
    Ok(())
}

/// `127.0.0.0/8`, `[::1]` or `localhost`: where plain http never leaves the machine.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

/// The gateway receives codes and the bearer token, so plain http only on loopback (a local
/// relay). The URL shows in `Debug` output, so it may not carry a password: that goes in
/// `GUICHET_SMS_TOKEN`.
fn validate_sms_url(sms_url: &str) -> Result<(), ConfigError> {
    let bad = |why: &str| ConfigError(format!("GUICHET_SMS_URL {why}"));
    let url = Url::parse(sms_url).map_err(|_| bad("is not a URL"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "must not carry credentials (set GUICHET_SMS_TOKEN instead)",
        ));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => return Err(bad("must use https unless the host is loopback")),
        _ => return Err(bad("must be an http or https URL")),
    }
    Ok(())
}

/// The sender goes into every From header: an address with an `@` and no spaces, a name on one
/// line.
fn validate_mail_from(address: &str, name: &str) -> Result<(), ConfigError> {
    let at = address.find('@');
    if at.is_none_or(|i| i == 0 || i + 1 == address.len())
        || address.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(ConfigError(format!(
            "GUICHET_MAIL_FROM {address:?} must be an e-mail address such as guichet@example.org"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(ConfigError(
            "GUICHET_MAIL_FROM_NAME must be on one line".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::unwrap_used, clippy::panic)]
    fn redis_settings_hang_together() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(
            &ca,
            pem::encode(&pem::Pem::new("CERTIFICATE", b"not parsed here".to_vec())),
        )
        .unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "nothing\n").unwrap();
        let with = |f: &dyn Fn(&mut Settings)| {
            let mut s = Settings::default();
            f(&mut s);
            s.validate_redis().map_err(|e| e.0)
        };
        let refused = [
            with(&|s| {
                s.redis_url = Some("redis://h".into());
                s.redis_sentinels = vec!["s1:26379".into()];
            }),
            with(&|s| s.redis_url = Some("http://h".into())),
            with(&|s| s.redis_sentinels = vec!["s1".into()]),
            with(&|s| s.redis_sentinels = vec!["s1:notaport".into()]),
            with(&|s| s.redis_sentinels = vec![":26379".into()]),
            with(&|s| {
                s.redis_sentinels = vec!["s1:26379".into()];
                s.redis_master_name = " ".into();
            }),
            with(&|s| {
                s.redis_url = Some("redis://h".into());
                s.redis_password = Some("p".into());
            }),
            with(&|s| s.redis_tls = true),
            with(&|s| {
                s.redis_url = Some("redis://h".into());
                s.redis_ca_file = Some(ca.clone());
            }),
            with(&|s| {
                s.redis_url = Some("rediss://h".into());
                s.redis_ca_file = Some(dir.path().join("missing.pem"));
            }),
            with(&|s| {
                s.redis_url = Some("rediss://h".into());
                s.redis_ca_file = Some(junk.clone());
            }),
        ];
        for (i, result) in refused.iter().enumerate() {
            let Err(message) = result else {
                panic!("case {i} accepted");
            };
            assert!(message.contains("GUICHET_REDIS_"), "{message}");
        }
        with(&|s| {
            s.redis_url = Some("rediss://:pw@h:6380".into());
            s.redis_ca_file = Some(ca.clone());
        })
        .unwrap();
        with(&|s| {
            s.redis_sentinels = vec!["s1:26379".into(), "[::1]:26380".into()];
            s.redis_password = Some("p".into());
            s.redis_tls = true;
            s.redis_ca_file = Some(ca.clone());
        })
        .unwrap();
    }

    #[test]
    #[allow(clippy::unwrap_used, clippy::panic)]
    fn sentinels_come_from_a_comma_separated_list() {
        let s: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Serialized::default(
                "redis_sentinels",
                "s1:26379, s2:26379,10.0.0.3:26379",
            ))
            .merge(Serialized::default("redis_sentinel_password", "sp"))
            .merge(Serialized::default(
                "redis_tls",
                env_value("redis_tls", "true").unwrap(),
            ))
            .extract()
            .unwrap();
        s.validate().unwrap();
        let Some(RedisConfig {
            target: RedisTarget::Sentinel(sentinel),
            ca_file: None,
        }) = s.redis_config().unwrap()
        else {
            panic!("not a sentinel configuration");
        };
        assert_eq!(
            sentinel.sentinels,
            [("s1", 26379), ("s2", 26379), ("10.0.0.3", 26379)]
                .map(|(h, p)| (h.to_owned(), p))
                .to_vec()
        );
        assert_eq!(sentinel.master_name, "mymaster");
        assert_eq!(sentinel.sentinel_password.as_deref(), Some("sp"));
        assert_eq!(sentinel.password, None);
        assert!(sentinel.tls);
        assert!(env_value("redis_tls", "yes").is_err());
        assert!(format!("{s:?}").contains("redis_sentinel_password: Some(\"***\")"));
        assert!(Settings::default().redis_config().unwrap().is_none());
    }

    #[test]
    fn issuer_rules_reject_query_fragment_slash_and_plain_http() {
        for bad in [
            "http://example.org",
            "https://example.org/",
            "https://example.org?a=b",
            "https://example.org#x",
            "ftp://example.org",
            "not a url",
        ] {
            assert!(validate_issuer(bad).is_err(), "{bad} accepted");
        }
        for good in [
            "https://idp.example.org",
            "https://example.org/sso",
            "http://127.0.0.1:8080",
            "http://localhost:3000",
            "http://[::1]:8080",
        ] {
            assert!(validate_issuer(good).is_ok(), "{good} refused");
        }
    }

    #[test]
    fn debug_output_hides_the_passwords_of_connection_urls() {
        let settings = Settings {
            database_url: "postgres://u:hunter2@h/db".into(),
            redis_url: Some("redis://:hunter2@h".into()),
            ..Settings::default()
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains(r#"database_url: "postgres://u:***@h/db""#),
            "{shown}"
        );
        assert!(
            shown.contains(r#"redis_url: Some("redis://:***@h")"#),
            "{shown}"
        );
        let pretty = format!("{settings:#?}");
        assert!(!pretty.contains("hunter2"), "{pretty}");
        // the code that connects still gets the real URL
        assert_eq!(settings.database_url.expose(), "postgres://u:hunter2@h/db");
    }

    #[test]
    fn redaction_covers_user_information_and_password_parameters_even_in_broken_urls() {
        for (url, shown) in [
            (
                "postgres://u:hunter2@h:5432/db",
                "postgres://u:***@h:5432/db",
            ),
            ("postgresql://u:hun@ter2@h/db", "postgresql://u:***@h/db"),
            ("redis://:hunter2@h:6379/0", "redis://:***@h:6379/0"),
            (
                "redis://user:hunter2@h:notaport",
                "redis://user:***@h:notaport",
            ),
            ("redis://u:hunter2@h?db=1#x", "redis://u:***@h?db=1#x"),
            ("postgres://u:hunter2 x@h/db", "postgres://u:***@h/db"),
            ("postgres://u:hun/ter2@h/db", "postgres://u:***@h/db"),
            ("postgres://u:hun?ter2@h/db", "postgres://u:***@h/db"),
            ("postgres://u:hun#ter2@h/db", "postgres://u:***@h/db"),
            ("postgres://u:p@h/db?x=a@b", "postgres://u:***@h/db?x=a@b"),
            (
                "postgres://h/db?user=u&password=hunter2",
                "postgres://h/db?user=u&password=***",
            ),
            (
                "postgres://h/db?PASSWORD=hun@ter2&sslmode=disable",
                "postgres://h/db?PASSWORD=***&sslmode=disable",
            ),
            (
                "postgres://u:hun?ter2@h/db?password=hunter2",
                "postgres://u:***@h/db?password=***",
            ),
            ("postgres://h/db?x=a@b", "postgres://h/db?x=a@b"),
            ("postgres://u@h/db", "postgres://u@h/db"),
            (
                "sqlite://guichet.db?mode=rwc",
                "sqlite://guichet.db?mode=rwc",
            ),
            ("sqlite:guichet.db", "sqlite:guichet.db"),
            ("", ""),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn connection_urls_load_from_the_file_and_the_environment_as_plain_strings() {
        let s: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::string(
                r#"database_url = "postgres://u:hunter2@h/db""#,
            ))
            .merge(Serialized::default("redis_url", "redis://:hunter2@h"))
            .extract()
            .unwrap_or_default();
        assert_eq!(s.database_url.expose(), "postgres://u:hunter2@h/db");
        assert_eq!(
            s.redis_url.as_ref().map(SecretUrl::expose),
            Some("redis://:hunter2@h")
        );
        assert_eq!(
            Settings::default().database_url.expose(),
            "sqlite://guichet.db"
        );
    }

    #[test]
    fn the_sms_gateway_needs_https_unless_it_is_on_loopback() {
        for bad in [
            "http://sms.example.org/send",
            "https://user:pass@sms.example.org/send",
            "ftp://sms.example.org",
            "sms.example.org/send",
            "not a url",
        ] {
            assert!(validate_sms_url(bad).is_err(), "{bad} accepted");
            let settings = Settings {
                sms_url: Some(bad.into()),
                ..Settings::default()
            };
            let err = settings.validate().map_err(|e| e.to_string()).err();
            assert!(
                err.as_ref().is_some_and(|e| e.contains("GUICHET_SMS_URL")),
                "{err:?}"
            );
        }
        for good in [
            "https://sms.example.org/send?account=1",
            "http://127.0.0.1:9000/sms",
            "http://localhost/sms",
            "http://[::1]:9000",
        ] {
            let settings = Settings {
                sms_url: Some(good.into()),
                ..Settings::default()
            };
            assert!(settings.validate().is_ok(), "{good} refused");
            assert_eq!(
                settings.sms_url().map(String::from),
                Url::parse(good).ok().map(String::from)
            );
        }
        assert_eq!(Settings::default().sms_url(), None);
        let empty_token = Settings {
            sms_token: Some("".into()),
            ..Settings::default()
        };
        assert!(empty_token.validate().is_err());
    }

    #[test]
    fn the_sms_token_loads_as_a_string_and_never_shows_in_debug_output() {
        let s: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::string(r#"sms_url = "https://sms.example.org/send""#))
            .merge(Serialized::default("sms_token", "tok-hunter2"))
            .extract()
            .unwrap_or_default();
        assert_eq!(
            s.sms_token.as_ref().map(Secret::expose),
            Some("tok-hunter2")
        );
        assert_eq!(s.sms_url.as_deref(), Some("https://sms.example.org/send"));
        let shown = format!("{s:?}");
        assert!(shown.contains(r#"sms_token: Some("***")"#), "{shown}");
        let pretty = format!("{s:#?}");
        assert!(
            !shown.contains("hunter2") && !pretty.contains("hunter2"),
            "{pretty}"
        );
        assert!(ENV_NAMES.contains(&"SMS_URL") && ENV_NAMES.contains(&"SMS_TOKEN"));
        assert_eq!(Settings::default().outbox_dir, Path::new("outbox"));
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn lockout_settings_default_load_and_must_be_positive() {
        let s = Settings::default();
        assert_eq!(
            (
                s.lockout_threshold,
                s.lockout_duration,
                s.address_failure_limit,
                s.address_failure_period
            ),
            (5, 900, 100, 300)
        );
        let s: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::string(
                "lockout_threshold = 3\naddress_failure_period = 60",
            ))
            .merge(Serialized::default(
                "lockout_duration",
                env_value("lockout_duration", "1800").unwrap(),
            ))
            .extract()
            .unwrap();
        assert_eq!(s.lockout_threshold, 3);
        assert_eq!(s.lockout_duration, 1800);
        assert_eq!(s.address_failure_period, 60);
        assert!(s.validate().is_ok());
        assert!(env_value("address_failure_limit", "many").is_err());
        for bad in [
            Settings {
                lockout_threshold: 0,
                ..Settings::default()
            },
            Settings {
                lockout_duration: 0,
                ..Settings::default()
            },
            Settings {
                address_failure_limit: 0,
                ..Settings::default()
            },
            Settings {
                address_failure_period: -1,
                ..Settings::default()
            },
        ] {
            let e = bad.validate().unwrap_err().to_string();
            assert!(
                e.contains("GUICHET_LOCKOUT") || e.contains("GUICHET_ADDRESS"),
                "{e}"
            );
        }
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn database_pool_settings_default_load_from_the_environment_and_are_bounded() {
        let s = Settings::default();
        assert_eq!(
            (
                s.database_max_connections,
                s.database_connect_timeout,
                s.database_statement_timeout
            ),
            (None, 5, 5000)
        );
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        for (key, value) in [
            ("database_max_connections", "32"),
            ("database_connect_timeout", "3"),
            ("database_statement_timeout", "0"),
        ] {
            figment = figment.merge(Serialized::default(key, env_value(key, value).unwrap()));
        }
        let s: Settings = figment.extract().unwrap();
        assert_eq!(s.database_max_connections, Some(32));
        assert_eq!(s.database_connect_timeout, 3);
        assert_eq!(s.database_statement_timeout, 0);
        assert!(s.validate().is_ok());
        let e = env_value("database_connect_timeout", "5s").unwrap_err();
        assert!(
            e.to_string().contains("GUICHET_DATABASE_CONNECT_TIMEOUT"),
            "{e}"
        );
        for (bad, name) in [
            (
                Settings {
                    database_max_connections: Some(0),
                    ..Settings::default()
                },
                "GUICHET_DATABASE_MAX_CONNECTIONS",
            ),
            (
                Settings {
                    database_connect_timeout: 0,
                    ..Settings::default()
                },
                "GUICHET_DATABASE_CONNECT_TIMEOUT",
            ),
            (
                Settings {
                    database_statement_timeout: 50,
                    ..Settings::default()
                },
                "GUICHET_DATABASE_STATEMENT_TIMEOUT",
            ),
        ] {
            let e = bad.validate().unwrap_err().to_string();
            assert!(e.contains(name), "{e}");
        }
    }

    #[test]
    fn personal_number_kinds_default_to_four_and_must_be_kinds() {
        assert_eq!(
            Settings::default().personal_number_kinds,
            ["student_number", "ine", "staff_number", "external_uid"]
        );
        let s: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Serialized::default("personal_number_kinds", "ine, badge"))
            .extract()
            .unwrap_or_default();
        assert_eq!(s.personal_number_kinds, ["ine", "badge"]);
        assert!(s.validate().is_ok());
        let bad = Settings {
            personal_number_kinds: vec!["Student Number".into()],
            ..Settings::default()
        };
        let e = bad.validate().err().map(|e| e.to_string());
        assert!(
            e.as_deref()
                .is_some_and(|e| e.contains("GUICHET_PERSONAL_NUMBER_KINDS")),
            "{e:?}"
        );
    }

    #[test]
    fn trusted_proxies_accept_a_comma_separated_string_or_a_list() {
        let s: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Serialized::default(
                "trusted_proxies",
                "10.0.0.0/8, 127.0.0.1",
            ))
            .extract()
            .unwrap_or_default();
        assert_eq!(s.trusted_proxies, vec!["10.0.0.0/8", "127.0.0.1"]);
        assert_eq!(s.trusted_proxy_nets().map(|v| v.len()).ok(), Some(2));
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn mail_settings_default_load_and_hide_the_smtp_password() {
        let d = Settings::default();
        assert_eq!(
            (
                d.smtp_url.is_none(),
                d.mail_from.as_str(),
                d.mail_from_name.as_str()
            ),
            (true, "guichet@localhost", "guichet")
        );
        for name in ["SMTP_URL", "MAIL_FROM", "MAIL_FROM_NAME"] {
            assert!(ENV_NAMES.contains(&name), "{name}");
        }
        let s: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::string(r#"mail_from_name = "Université Exemple""#))
            .merge(Serialized::default(
                "smtp_url",
                "smtps://relay:hunter2@smtp.example.org:465",
            ))
            .merge(Serialized::default("mail_from", "idp@univ.example"))
            .extract()
            .unwrap();
        assert!(s.validate().is_ok());
        assert_eq!(
            s.smtp_url.as_ref().map(SecretUrl::expose),
            Some("smtps://relay:hunter2@smtp.example.org:465")
        );
        assert_eq!(s.mail_from_name, "Université Exemple");
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("smtps://relay:***@smtp.example.org:465"),
            "{shown}"
        );

        for (url, from, name) in [
            ("http://smtp.example.org", "a@b", "n"),
            ("smtp.example.org:25", "a@b", "n"),
            ("smtp://h", "no-at-sign", "n"),
            ("smtp://h", "@b", "n"),
            ("smtp://h", "a b@c", "n"),
            ("smtp://h", "a@b", "two\nlines"),
        ] {
            let bad = Settings {
                smtp_url: Some(url.into()),
                mail_from: from.into(),
                mail_from_name: name.into(),
                ..Settings::default()
            };
            let e = bad.validate().unwrap_err().to_string();
            assert!(
                e.contains("GUICHET_SMTP_URL") || e.contains("GUICHET_MAIL_FROM"),
                "{e}"
            );
        }
        let plain = Settings {
            smtp_url: Some("smtp://127.0.0.1:2525".into()),
            ..Settings::default()
        };
        assert!(plain.validate().is_ok());
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn the_time_zone_defaults_to_paris_and_must_be_a_known_one() {
        let mut s = Settings::default();
        assert_eq!(s.timezone, "Europe/Paris");
        assert!(ENV_NAMES.contains(&"TIMEZONE"));
        s.timezone = "America/Cayenne".into();
        assert!(s.validate().is_ok());
        s.timezone = "Paris".into();
        let e = s.validate().unwrap_err().to_string();
        assert!(
            e.contains("GUICHET_TIMEZONE") && e.contains("\"Paris\""),
            "{e}"
        );
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn registration_is_off_by_default_and_on_needs_a_long_initial_access_token() {
        let mut s = Settings::default();
        assert_eq!(s.registration, Registration::Off);
        assert!(ENV_NAMES.contains(&"REGISTRATION") && ENV_NAMES.contains(&"REGISTRATION_TOKEN"));
        s.registration = Registration::On;
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("GUICHET_REGISTRATION_TOKEN"), "{e}");
        s.registration_token = Some("short".into());
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("at least 32"), "{e}");
        s.registration_token = Some("0123456789abcdef0123456789abcdef".into());
        assert!(s.validate().is_ok());
        assert_eq!(format!("{:?}", s.registration_token), "Some(\"***\")");
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn the_audit_is_kept_400_days_and_cleaned_hourly_by_default() {
        let mut s = Settings::default();
        assert_eq!((s.audit_retention_days, s.cleanup_interval), (400, 3600));
        assert!(
            ENV_NAMES.contains(&"AUDIT_RETENTION_DAYS") && ENV_NAMES.contains(&"CLEANUP_INTERVAL")
        );
        s.audit_retention_days = 0;
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("GUICHET_AUDIT_RETENTION_DAYS"), "{e}");
        s.audit_retention_days = 1;
        s.cleanup_interval = 0;
        assert!(s.validate().is_ok());
        let e = env_value("audit_retention_days", "a year")
            .unwrap_err()
            .to_string();
        assert!(e.contains("GUICHET_AUDIT_RETENTION_DAYS"), "{e}");
        assert!(env_value("cleanup_interval", "600").is_ok());
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn metrics_are_off_by_default_and_their_listener_is_an_address_apart_from_the_public_port() {
        let mut s = Settings::default();
        assert!(ENV_NAMES.contains(&"METRICS_LISTEN"));
        assert_eq!(s.metrics_addr().unwrap(), None);
        s.metrics_listen = Some("127.0.0.1:9464".into());
        assert!(s.validate().is_ok());
        assert_eq!(
            s.metrics_addr().unwrap(),
            Some("127.0.0.1:9464".parse().unwrap())
        );
        for bad in ["9464", "localhost:9464", "127.0.0.1", ""] {
            s.metrics_listen = Some(bad.into());
            let e = s.validate().unwrap_err().to_string();
            assert!(e.contains("GUICHET_METRICS_LISTEN"), "{bad}: {e}");
        }
        // The public port never serves the metrics, whatever the address.
        s.metrics_listen = Some("0.0.0.0:8080".into());
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("GUICHET_LISTEN"), "{e}");
        // Port 0 (tests) picks a free port for each listener.
        s.listen = "127.0.0.1:0".into();
        s.metrics_listen = Some("127.0.0.1:0".into());
        assert!(s.validate().is_ok());
    }
}
