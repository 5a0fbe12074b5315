//! `Application::build(settings)` binds the listener and wires the state; `serve` and the
//! tests run the same application.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use arc_swap::ArcSwap;
use axum::body::Bytes;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::{Registration, SecretUrl, Settings};
use crate::crypto::keys::Keys;
use crate::crypto::password::Hasher;
use crate::crypto::secretbox::SecretBox;
use crate::crypto::token::digest;
use crate::domain::admin::Actor;
use crate::domain::clock::Clock;
use crate::domain::self_service::SelfServicePolicy;
use crate::ephemeral::{DynEphemeral, MemoryStore, MeteredStore, RedisStore, RedisTarget};
use crate::http;
use crate::http::pages::Pages;
use crate::http::state::{AppState, Edge};
use crate::mail::{self, MailTemplates};
use crate::notify::outbound::{Courier, CourierPolicy};
use crate::notify::sms::{self, DynSms};
use crate::service::activation::{ActivationPolicy, Charter};
use crate::service::admin::Admin;
use crate::service::audit::Audit;
use crate::service::cas::CasRegistry;
use crate::service::cleanup;
use crate::service::clients::ClientCache;
use crate::service::core::{Core, Policy, Urls};
use crate::service::discovery::document as discovery_document;
use crate::service::lockout::LockoutPolicy;
use crate::service::mfa::MfaRequired;
use crate::service::session::Lifetimes;
use crate::store::{Db, DbOptions};

/// The pool's size and time bounds, from `GUICHET_DATABASE_*`.
pub fn db_options(settings: &Settings) -> DbOptions {
    DbOptions {
        max_connections: settings.database_max_connections,
        connect_timeout: Duration::from_secs(settings.database_connect_timeout),
        statement_timeout: Duration::from_millis(settings.database_statement_timeout),
    }
}
use crate::telemetry;

/// Opens the durable database and applies pending migrations; returns what was applied.
pub async fn open_db(settings: &Settings) -> anyhow::Result<(Db, Vec<String>)> {
    let db = Db::connect_with(settings.database_url.expose(), &db_options(settings))
        .await
        .with_context(|| "cannot open the database named by GUICHET_DATABASE_URL")?;
    let applied = db.migrate().await.context("migrations failed")?;
    Ok((db, applied))
}

/// The short-lived store: Redis when `GUICHET_REDIS_URL` or `GUICHET_REDIS_SENTINELS` is set,
/// else in-process.
pub async fn open_store(
    settings: &Settings,
    clock: &Arc<Clock>,
) -> anyhow::Result<(DynEphemeral, Option<JoinHandle<()>>)> {
    match settings.redis_config()? {
        Some(config) => {
            let what = match config.target {
                RedisTarget::Url(_) => "cannot reach the Redis server named by GUICHET_REDIS_URL",
                RedisTarget::Sentinel(_) => {
                    "cannot reach the Redis master through GUICHET_REDIS_SENTINELS"
                }
            };
            let store = RedisStore::open(&config, &settings.redis_prefix)
                .await
                .context(what)?;
            Ok((store, None))
        }
        None => {
            let store = MemoryStore::new(settings.memory_store_max_items);
            let c = clock.clone();
            let sweeper = store.spawn_sweeper(Arc::new(move || c.now()), Duration::from_secs(30));
            Ok((store, Some(sweeper)))
        }
    }
}

pub struct Application {
    listener: TcpListener,
    /// The metrics listener and the recorder's handle, when `GUICHET_METRICS_LISTEN` is set.
    metrics: Option<(TcpListener, PrometheusHandle)>,
    state: AppState,
    background: Vec<JoinHandle<()>>,
    audit_writer: JoinHandle<()>,
    /// The SMTP delivery task, if SMTP is configured: it drains its queue at shutdown.
    mail_task: Option<JoinHandle<()>>,
}

impl Application {
    /// Opens the stores, loads (or generates) the keys and binds `settings.listen` (port 0
    /// picks a free port).
    pub async fn build(settings: Settings, clock: Arc<Clock>) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(settings.listen_addr()?)
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        Application::build_with_listener(settings, clock, listener).await
    }

    /// As `build`, on a listener bound by the caller (tests bind port 0 first so that the
    /// issuer can name the port).
    pub async fn build_with_listener(
        settings: Settings,
        clock: Arc<Clock>,
        listener: TcpListener,
    ) -> anyhow::Result<Application> {
        Application::build_with_store(settings, clock, listener, None).await
    }

    /// As `build_with_listener`, with a short-lived store shared with other nodes in the same
    /// process (tests of a cluster on the embedded backends) instead of the configured one.
    pub async fn build_with_store(
        settings: Settings,
        clock: Arc<Clock>,
        listener: TcpListener,
        shared: Option<DynEphemeral>,
    ) -> anyhow::Result<Application> {
        settings.validate()?;
        // The recorder first: the handles registered below (the hasher's, the store's) are
        // no-ops if it is not there yet.
        let metrics = match settings.metrics_addr()? {
            Some(addr) => {
                let handle = telemetry::metrics_recorder()?;
                let listener = TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr} (GUICHET_METRICS_LISTEN)"))?;
                Some((listener, handle))
            }
            None => None,
        };
        let mut urls = Urls::new(&settings.issuer);
        if settings.registration == Registration::On {
            urls.registration = Some(format!("{}/register", settings.issuer));
        }
        let (theme, theme_files) =
            http::theme::load(settings.theme_dir.as_deref(), &urls.base_path)?;
        let (db, applied) = open_db(&settings).await?;
        if !applied.is_empty() {
            tracing::info!(?applied, "migrations applied");
        }
        let (store, sweeper) = match shared {
            Some(s) => (s, None),
            None => open_store(&settings, &clock).await?,
        };
        // Timed and counted per operation only when metrics are on: otherwise the decorator
        // would cost two clock reads per operation for nothing.
        let store = if metrics.is_some() {
            MeteredStore::wrap(store)
        } else {
            store
        };
        let keys = Arc::new(
            Keys::load_or_generate(&settings.keys_dir)
                .with_context(|| format!("keys folder {}", settings.keys_dir.display()))?,
        );
        let secrets = SecretBox::load_or_generate(&settings.keys_dir)
            .with_context(|| format!("keys folder {}", settings.keys_dir.display()))?;
        let sms = sms_sender(&settings)?;
        let (mail, mail_task) = mail::mailer(
            settings.smtp_url.as_ref().map(SecretUrl::expose),
            &settings.mail_from,
            &settings.mail_from_name,
            &settings.outbox_dir,
        )
        .context("GUICHET_SMTP_URL")?;
        let mail_templates =
            Arc::new(MailTemplates::new().map_err(|e| anyhow::anyhow!("mail templates: {e}"))?);
        let hasher = Hasher::new(settings.hash_concurrency())?;
        let (audit, audit_writer) = Audit::start(db.clone());
        let pages = Pages::new(&urls.base_path, theme.clone())
            .map_err(|e| anyhow::anyhow!("templates: {e:?}"))?;
        let discovery = Arc::new(ArcSwap::from_pointee(Bytes::from(
            discovery_document(&urls, &keys.current()).context("discovery document")?,
        )));
        let mut policy = policy(&settings);
        policy.activation.charter = Charter::load(settings.theme_dir.as_deref())
            .context("GUICHET_THEME_DIR: the IT charter")?;
        let (courier, courier_task) = Courier::start(CourierPolicy {
            timeout: Duration::from_secs(settings.callback_timeout),
            ..CourierPolicy::default()
        })
        .context("the HTTP client for logout notifications")?;
        let core = Arc::new(Core {
            policy,
            clients: ClientCache::new(Duration::from_secs(10)),
            cas: CasRegistry::new(Duration::from_secs(10)),
            courier: Arc::new(courier),
            db,
            ephemeral: store,
            keys,
            secrets,
            sms,
            mail,
            mail_templates,
            theme,
            hasher,
            audit,
            clock,
            urls,
        });
        let state = AppState::new(Edge {
            trusted_proxies: settings.trusted_proxy_nets()?,
            secure_cookies: settings.is_https(),
            core,
            pages,
            theme_files,
            discovery,
        });
        let mut background = vec![spawn_key_reloader(
            state.core.keys.clone(),
            state.discovery.clone(),
            state.core.urls.clone(),
        )];
        background.extend(sweeper);
        background.push(courier_task);
        if settings.cleanup_interval > 0 {
            background.push(spawn_cleanup(
                state.core.db.clone(),
                cleanup_rules(&settings),
                state.core.clock.clone(),
                Duration::from_secs(settings.cleanup_interval),
            ));
        }
        if let Some((_, handle)) = &metrics {
            background.push(spawn_metrics_sampler(state.core.db.clone(), handle.clone()));
        }
        Ok(Application {
            listener,
            metrics,
            state,
            background,
            audit_writer,
            mail_task,
        })
    }

    /// A new set-up link (URL, deadline) when the database has no administrator yet: `serve`
    /// prints it (older unused set-up links stop working).
    pub async fn setup_link(&self) -> anyhow::Result<Option<(String, i64)>> {
        let core = &self.state.core;
        if core.db.has_administrator().await? {
            return Ok(None);
        }
        let cli = Actor::cli();
        let admin = Admin::new(core, &cli);
        let link = admin
            .setup_link(&core.urls.issuer, core.now())
            .await
            .map_err(|e| anyhow::anyhow!("set-up link: {e}"))?;
        Ok(Some(link))
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    /// The metrics listener's port, when metrics are on.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics
            .as_ref()
            .and_then(|(l, _)| l.local_addr().ok())
            .map(|a| a.port())
    }

    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    pub fn core(&self) -> Arc<Core> {
        self.state.core.clone()
    }

    /// Serves until `shutdown` resolves, drains in-flight requests, then flushes the audit.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Application {
            listener,
            metrics,
            state,
            background,
            audit_writer,
            mail_task,
        } = self;
        // The metrics listener serves until the public one has drained (a scrape during the
        // drain still answers), then stops.
        let (stop_metrics, metrics_task) = match metrics {
            Some((listener, handle)) => {
                let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
                let task = tokio::spawn(async move {
                    let served = axum::serve(listener, http::metrics::scrape_router(handle))
                        .with_graceful_shutdown(async {
                            let _ = stopped.await;
                        })
                        .await;
                    if let Err(e) = served {
                        tracing::error!(error = %e, "the metrics listener failed");
                    }
                });
                (Some(stop), Some(task))
            }
            None => (None, None),
        };
        let router = if metrics_task.is_some() {
            http::instrumented_router(state.clone())
        } else {
            http::router(state.clone())
        };
        let served = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        if let Some(stop) = stop_metrics {
            let _ = stop.send(());
        }
        if let Some(task) = metrics_task
            && tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
        {
            tracing::warn!("the metrics listener did not stop in 5 s");
        }
        served.context("server error")?;
        for task in background {
            task.abort();
        }
        let db = state.core.db.clone();
        // The last `Audit` sender goes with the state; the writer then flushes and stops.
        drop(state);
        if tokio::time::timeout(Duration::from_secs(10), audit_writer)
            .await
            .is_err()
        {
            tracing::warn!("audit flush did not finish in 10 s");
        }
        // The last mailer went with the state: the delivery task sends what is queued, then
        // stops.
        if let Some(task) = mail_task
            && tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .is_err()
        {
            tracing::warn!("mail queue not drained in 30 s");
        }
        db.close().await;
        Ok(())
    }
}

/// The token and session policy the services apply, from the settings.
pub fn policy(settings: &Settings) -> Policy {
    Policy {
        code_ttl: settings.code_ttl,
        access_token_ttl: settings.access_token_ttl,
        id_token_ttl: settings.id_token_ttl,
        offline_ttl: settings.offline_ttl,
        session: Lifetimes {
            idle: settings.session_idle_ttl,
            absolute: settings.session_absolute_ttl,
        },
        access_token_audience: settings.access_token_audience().to_owned(),
        lockout: LockoutPolicy {
            threshold: settings.lockout_threshold,
            duration: settings.lockout_duration,
            address_capacity: settings.address_failure_limit,
            address_period: settings.address_failure_period,
        },
        mfa: MfaRequired::parse(&settings.mfa_required),
        // `Settings::validate` has refused a policy that does not parse.
        self_service: SelfServicePolicy::parse(&settings.self_service_denied).unwrap_or_default(),
        password: crate::domain::password_policy::PasswordPolicy::default(),
        activation: ActivationPolicy {
            // `Settings::validate` has refused a zone that does not parse.
            timezone: settings
                .timezone
                .parse()
                .unwrap_or(chrono_tz::Europe::Paris),
            charter: Charter::builtin(),
        },
        personal_number_kinds: settings.personal_number_kinds.clone(),
        cas: crate::service::cas::CasPolicy {
            ticket_ttl: settings.cas_ticket_ttl,
            insecure_callbacks: settings.cas_insecure_callbacks,
        },
        registration_token: match settings.registration {
            Registration::On => settings
                .registration_token
                .as_ref()
                .map(|t| digest(t.expose())),
            Registration::Off => None,
        },
    }
}

/// What the clean-up keeps, from the settings.
pub fn cleanup_rules(settings: &Settings) -> cleanup::Rules {
    cleanup::Rules {
        session_absolute: settings.session_absolute_ttl,
        access_token_ttl: settings.access_token_ttl,
        audit_retention_days: settings.audit_retention_days,
        batch: cleanup::BATCH,
    }
}

/// The SMS gateway of `GUICHET_SMS_URL`, or the outbox.
pub fn sms_sender(settings: &Settings) -> anyhow::Result<DynSms> {
    sms::sender(
        settings.sms_url().as_ref(),
        settings.sms_token.as_ref().map(|t| t.expose()),
        &settings.outbox_dir,
    )
    .context("GUICHET_SMS_URL")
}

/// Every 5 s: the database pool's gauges, and the recorder's upkeep (its histograms are
/// drained into their buckets there, not by the requests that record them).
fn spawn_metrics_sampler(db: Db, handle: PrometheusHandle) -> JoinHandle<()> {
    tokio::spawn(async move {
        let pool = db.pool();
        let max = metrics::gauge!("guichet_db_pool_max_connections");
        let in_use = metrics::gauge!("guichet_db_pool_connections", "state" => "in_use");
        let idle = metrics::gauge!("guichet_db_pool_connections", "state" => "idle");
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            let (size, free) = (pool.size(), pool.num_idle());
            max.set(f64::from(pool.options().get_max_connections()));
            idle.set(free as f64);
            in_use.set(f64::from(size) - free as f64);
            handle.run_upkeep();
        }
    })
}

/// Re-reads the keys folder every 60 s and on SIGHUP, then rebuilds the discovery document.
fn spawn_key_reloader(
    keys: Arc<Keys>,
    discovery: Arc<ArcSwap<Bytes>>,
    urls: Urls,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        #[cfg(unix)]
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        tick.tick().await;
        loop {
            #[cfg(unix)]
            {
                match hup.as_mut() {
                    Some(h) => {
                        tokio::select! {
                            _ = tick.tick() => {}
                            _ = h.recv() => { tracing::info!("SIGHUP: reloading keys"); }
                        }
                    }
                    None => {
                        tick.tick().await;
                    }
                }
            }
            #[cfg(not(unix))]
            tick.tick().await;
            match keys.reload().map_err(|e| e.to_string()).and_then(|()| {
                discovery_document(&urls, &keys.current()).map_err(|e| e.to_string())
            }) {
                Ok(doc) => discovery.store(Arc::new(Bytes::from(doc))),
                Err(e) => {
                    tracing::error!(error = %e, "keys reload failed; keeping the previous keys");
                }
            }
        }
    })
}

/// Cleans up every `interval`, the first time within a minute of start (at most `interval`),
/// at a random moment so that nodes started together do not all ask for the lock at once (the
/// one that gets it does the work; the others skip that round). A failed run is logged and the
/// next one comes as usual.
fn spawn_cleanup(
    db: Db,
    rules: cleanup::Rules,
    clock: Arc<Clock>,
    interval: Duration,
) -> JoinHandle<()> {
    let first = interval
        .min(Duration::from_secs(60))
        .mul_f64(rand::random::<f64>());
    tokio::spawn(async move {
        tokio::time::sleep(first).await;
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let start = std::time::Instant::now();
            match cleanup::run(&db, &rules, clock.now()).await {
                Ok(r) if r.skipped => {
                    tracing::debug!("clean-up skipped: another node is running it");
                }
                Ok(r) => tracing::info!(
                    grants = r.grants,
                    refresh_tokens = r.refresh_tokens,
                    invitations = r.invitations,
                    audit = r.audit,
                    batches = r.batches,
                    slowest_batch_ms = r.slowest_batch_ms,
                    elapsed_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
                    "clean-up done"
                ),
                Err(e) => tracing::error!(error = %e, "clean-up failed; next attempt as scheduled"),
            }
        }
    })
}
