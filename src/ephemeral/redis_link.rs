//! The connection under [`super::RedisStore`]: one Redis server named by a URL, or the master
//! of a Sentinel-watched group, over plain TCP or TLS.
//!
//! **TLS.** `rediss://` verifies the server's certificate and host name against the system's
//! roots, plus the private CAs of `GUICHET_REDIS_CA_FILE` when set. The redis crate's own
//! `root_cert` *replaces* the system roots, so the set handed to it is built here: the system's
//! roots (rustls-native-certs) then the file's. A URL ending in `#insecure` turns verification
//! off (the crate's own switch, kept so that its documented URL form does what it says); guichet
//! warns at start-up when it is used.
//!
//! **Sentinel.** The sentinels name the master; guichet connects to it and keeps that connection
//! until it fails. On a connection error, a timeout, or a `READONLY` answer (a demoted master
//! that came back as a replica), one background task asks the sentinels again and, if they name
//! another master, connects to it, loads the scripts there and switches the connection in one
//! atomic store ([`ArcSwap`]). Requests never wait on the sentinels: the one that saw the error
//! fails (503), the following ones use the new master. Asking again is throttled to once per
//! [`REDISCOVERY_INTERVAL`], as every request fails while the master is down.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{ConnectionAddr, ErrorKind, RedisError, Script, TlsCertificates, TlsMode};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::{EphemeralError, Result};

/// Bound on connecting (and loading the scripts), at start-up and after a failover, and on
/// asking the sentinels.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// At most one question to the sentinels in this interval.
const REDISCOVERY_INTERVAL: Duration = Duration::from_millis(250);

/// Where the Redis server is and how to reach it.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    pub target: RedisTarget,
    /// A PEM file of private CAs trusted beside the system's roots (TLS only).
    pub ca_file: Option<std::path::PathBuf>,
}

#[derive(Clone)]
pub enum RedisTarget {
    /// `redis://` or `rediss://[user:password@]host[:port][/db]`.
    Url(String),
    /// The master that sentinels name.
    Sentinel(SentinelConfig),
}

impl std::fmt::Debug for RedisTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: never printed.
        match self {
            RedisTarget::Url(_) => f.write_str("Url(..)"),
            RedisTarget::Sentinel(s) => f
                .debug_struct("Sentinel")
                .field("sentinels", &s.sentinels)
                .field("master_name", &s.master_name)
                .field("tls", &s.tls)
                .finish_non_exhaustive(),
        }
    }
}

#[derive(Clone)]
pub struct SentinelConfig {
    /// `host:port` of each sentinel.
    pub sentinels: Vec<(String, u16)>,
    pub master_name: String,
    /// The master's (and its replicas') password.
    pub password: Option<String>,
    /// The sentinels' own password, if they require one.
    pub sentinel_password: Option<String>,
    /// TLS to the sentinels and to the master.
    pub tls: bool,
}

/// One master and the connection to it.
pub(super) struct Master {
    pub(super) conn: ConnectionManager,
    addr: String,
}

/// The current master, and how to find the next one.
pub(super) struct Link {
    current: ArcSwap<Master>,
    discovery: Option<Arc<tokio::sync::Mutex<Discovery>>>,
    scripts: Vec<Script>,
    config: ConnectionManagerConfig,
}

struct Discovery {
    client: SentinelClient,
    last: Option<Instant>,
}

fn backend(e: RedisError) -> EphemeralError {
    // Redis errors carry the server's message or the I/O error, never the URL or a password.
    EphemeralError::Backend(format!("redis: {e}"))
}

fn timed_out(what: &str) -> EphemeralError {
    EphemeralError::Backend(format!(
        "redis: {what}: no answer within {} s",
        CONNECT_TIMEOUT.as_secs()
    ))
}

/// Whether `e` may mean that the master moved: the connection failed, or the server is now
/// a replica (`READONLY`). Other errors (a wrong type, a script error) are the command's own.
pub(super) fn may_have_moved(e: &RedisError) -> bool {
    matches!(e.kind(), ErrorKind::ReadOnly | ErrorKind::MasterDown)
        || e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
}

/// The trust anchors for `rediss://`: `None` keeps the crate's own (the system's roots);
/// with a CA file, the system's roots and the file's certificates.
fn certificates(ca_file: Option<&Path>) -> Result<Option<TlsCertificates>> {
    let Some(path) = ca_file else {
        return Ok(None);
    };
    let file = std::fs::read(path).map_err(|e| {
        EphemeralError::Backend(format!("cannot read the CA file {}: {e}", path.display()))
    })?;
    let private = CertificateDer::pem_slice_iter(&file)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| EphemeralError::Backend(format!("the CA file {}: {e}", path.display())))?;
    if private.is_empty() {
        return Err(EphemeralError::Backend(format!(
            "the CA file {} holds no certificate",
            path.display()
        )));
    }
    // Unreadable system certificates are skipped (as rustls-native-certs reports them one by
    // one): the file's CAs still apply.
    let system = rustls_native_certs::load_native_certs();
    let mut roots = String::new();
    for cert in system.certs.iter().chain(&private) {
        roots.push_str(&pem::encode(&pem::Pem::new("CERTIFICATE", cert.to_vec())));
    }
    Ok(Some(TlsCertificates {
        client_tls: None,
        root_cert: Some(roots.into_bytes()),
    }))
}

/// rustls needs a process-wide crypto provider when, as here, more than one is built in.
fn install_crypto_provider() {
    // An error means one is installed already, which is as good.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// Connects to `client`'s server, checks it answers, and loads the scripts there.
async fn connect_master(
    client: redis::Client,
    config: &ConnectionManagerConfig,
    scripts: &[Script],
) -> Result<Master> {
    let addr = client.get_connection_info().addr.to_string();
    let start = async {
        // One plain attempt first: the connection manager retries whatever the error, so an
        // untrusted certificate or a wrong password would only show as a timeout.
        let mut first = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<()>(&mut first).await?;
        drop(first);
        let mut conn = ConnectionManager::new_with_config(client, config.clone()).await?;
        redis::cmd("PING").query_async::<()>(&mut conn).await?;
        // Loaded now so that the first calls need no fallback (and a Redis without
        // scripting fails here rather than on the first login).
        for script in scripts {
            script.prepare_invoke().load_async(&mut conn).await?;
        }
        Ok::<_, RedisError>(conn)
    };
    let conn = tokio::time::timeout(CONNECT_TIMEOUT, start)
        .await
        .map_err(|_| timed_out("connect"))?
        .map_err(backend)?;
    Ok(Master { conn, addr })
}

fn sentinel_client(s: &SentinelConfig, certs: Option<TlsCertificates>) -> Result<SentinelClient> {
    let addrs = s.sentinels.iter().map(|(host, port)| {
        if s.tls {
            ConnectionAddr::TcpTls {
                host: host.clone(),
                port: *port,
                insecure: false,
                tls_params: None,
            }
        } else {
            ConnectionAddr::Tcp(host.clone(), *port)
        }
    });
    let mut builder =
        SentinelClientBuilder::new(addrs, s.master_name.clone(), SentinelServerType::Master)
            .map_err(backend)?;
    if let Some(password) = &s.password {
        builder = builder.set_client_to_redis_password(password.clone());
    }
    if let Some(password) = &s.sentinel_password {
        builder = builder.set_client_to_sentinel_password(password.clone());
    }
    if s.tls {
        builder = builder
            .set_client_to_redis_tls_mode(TlsMode::Secure)
            .set_client_to_sentinel_tls_mode(TlsMode::Secure);
        if let Some(certs) = certs {
            builder = builder
                .set_client_to_redis_certificates(certs.clone())
                .set_client_to_sentinel_certificates(certs);
        }
    }
    builder.build().map_err(backend)
}

/// The master's client, as the sentinels name it now.
async fn ask_sentinels(client: &mut SentinelClient) -> Result<redis::Client> {
    tokio::time::timeout(CONNECT_TIMEOUT, client.async_get_client())
        .await
        .map_err(|_| timed_out("ask the sentinels"))?
        .map_err(backend)
}

impl Link {
    /// Connects as `config` says and loads `scripts`; fails within a few seconds if no server
    /// answers.
    pub(super) async fn open(
        config: &RedisConfig,
        scripts: Vec<Script>,
        manager: ConnectionManagerConfig,
    ) -> Result<Arc<Link>> {
        let tls = match &config.target {
            RedisTarget::Url(url) => url.starts_with("rediss://"),
            RedisTarget::Sentinel(s) => s.tls,
        };
        if tls {
            install_crypto_provider();
        }
        let certs = certificates(config.ca_file.as_deref())?;
        let (master, discovery) = match &config.target {
            RedisTarget::Url(url) => {
                let client = match certs {
                    Some(certs) => redis::Client::build_with_tls(url.as_str(), certs),
                    None => redis::Client::open(url.as_str()),
                }
                .map_err(|e| EphemeralError::Backend(format!("invalid Redis URL: {e}")))?;
                if matches!(
                    client.get_connection_info().addr,
                    ConnectionAddr::TcpTls { insecure: true, .. }
                ) {
                    tracing::warn!(
                        "GUICHET_REDIS_URL ends in #insecure: the Redis server's certificate is \
                         NOT verified, anyone on the path can read and change the sessions"
                    );
                }
                (connect_master(client, &manager, &scripts).await?, None)
            }
            RedisTarget::Sentinel(s) => {
                let mut client = sentinel_client(s, certs)?;
                let master = ask_sentinels(&mut client).await?;
                let master = connect_master(master, &manager, &scripts).await?;
                tracing::info!(master = %master.addr, name = %s.master_name, "Redis master found through the sentinels");
                let discovery = Discovery { client, last: None };
                (master, Some(Arc::new(tokio::sync::Mutex::new(discovery))))
            }
        };
        Ok(Arc::new(Link {
            current: ArcSwap::from_pointee(master),
            discovery,
            scripts,
            config: manager,
        }))
    }

    /// The master to send the next command to.
    pub(super) fn master(&self) -> Arc<Master> {
        self.current.load_full()
    }

    /// A command to `seen` failed in a way that may mean the master moved: with sentinels,
    /// ask them again in the background (unless a question is under way, was asked a moment
    /// ago, or another master has been found since `seen` was taken).
    pub(super) fn failed(self: &Arc<Self>, seen: &Arc<Master>) {
        let Some(discovery) = &self.discovery else {
            return;
        };
        let Ok(mut guard) = discovery.clone().try_lock_owned() else {
            return;
        };
        if !Arc::ptr_eq(&self.current.load(), seen)
            || guard
                .last
                .is_some_and(|last| last.elapsed() < REDISCOVERY_INTERVAL)
        {
            return;
        }
        guard.last = Some(Instant::now());
        let link = self.clone();
        let seen = seen.clone();
        tokio::spawn(async move {
            let client = match ask_sentinels(&mut guard.client).await {
                Ok(client) => client,
                Err(e) => {
                    tracing::warn!(error = %e, "the sentinels named no reachable Redis master");
                    return;
                }
            };
            let addr = client.get_connection_info().addr.to_string();
            if addr == seen.addr {
                // Still the same master: its connection reconnects by itself.
                return;
            }
            match connect_master(client, &link.config, &link.scripts).await {
                Ok(master) => {
                    tracing::warn!(from = %seen.addr, to = %master.addr, "Redis master moved: switched");
                    link.current.store(Arc::new(master));
                }
                Err(e) => {
                    tracing::warn!(master = %addr, error = %e, "cannot use the new Redis master");
                }
            }
            drop(guard);
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn readonly_and_connection_errors_call_for_the_sentinels() {
        // What a demoted master answers to a write, as the parser hands it over.
        let reply =
            redis::parse_redis_value(b"-READONLY You can't write against a read only replica.\r\n")
                .unwrap();
        let e = reply.extract_error().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ReadOnly);
        assert!(may_have_moved(&e));
        let refused = RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(may_have_moved(&refused));
        // a command's own error is no reason to look for another master
        let wrong = redis::parse_redis_value(
            b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        )
        .unwrap();
        assert!(!may_have_moved(&wrong.extract_error().unwrap_err()));
    }

    #[test]
    fn a_ca_file_adds_to_the_system_roots() {
        let dir = tempfile::tempdir().unwrap();
        assert!(certificates(None).unwrap().is_none());
        let missing = dir.path().join("missing.pem");
        let Err(EphemeralError::Backend(message)) = certificates(Some(&missing)) else {
            panic!("a missing CA file was accepted");
        };
        assert!(message.contains("missing.pem"), "{message}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        assert!(certificates(Some(&empty)).is_err());

        let ca = rcgen::CertifiedIssuer::self_signed(
            rcgen::CertificateParams::new(Vec::<String>::new()).unwrap(),
            rcgen::KeyPair::generate().unwrap(),
        )
        .unwrap();
        let file = dir.path().join("ca.pem");
        std::fs::write(&file, ca.pem()).unwrap();
        let roots = certificates(Some(&file))
            .unwrap()
            .unwrap()
            .root_cert
            .unwrap();
        let roots: Vec<_> = CertificateDer::pem_slice_iter(&roots)
            .collect::<std::result::Result<_, _>>()
            .unwrap();
        let system = rustls_native_certs::load_native_certs().certs;
        assert_eq!(roots.len(), system.len() + 1);
        assert_eq!(roots.last().unwrap().as_ref(), ca.der().as_ref());
    }
}
