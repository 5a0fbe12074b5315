//! The SMTP mailer: a bounded queue drained by a background task, so that a slow or absent mail
//! server never holds up a page. Each message is retried with backoff on transient failures; a
//! message that cannot be delivered is written to the outbox as `…-mail_failed-….eml` and logged
//! at error level, so it is never lost silently.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::message::Mailbox;
use lettre::transport::smtp::Error as SmtpError;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Tokio1Executor};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::{JoinHandle, JoinSet};
use url::Url;

use super::{FAILED_KIND, Mail, MailError, Mailer, message};
use crate::notify::Outbox;

/// Messages waiting for the delivery task. Past this, `send` waits (at most
/// [`QUEUE_WAIT`]) for room: a burst is absorbed, a dead server does not fill memory.
const QUEUE_CAPACITY: usize = 1024;
/// How long `send` waits for room in a full queue before refusing the message.
const QUEUE_WAIT: Duration = Duration::from_secs(2);
/// Messages in delivery at once: one message in backoff must not hold up the others.
const CONCURRENT_DELIVERIES: usize = 4;
/// One SMTP conversation, connection included.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// How often and how far apart a message is tried. The delays double from `first_delay`, so the
/// default (5 attempts, 8 s first) waits 8 + 16 + 32 + 64 s: about two minutes.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub attempts: u32,
    pub first_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            attempts: 5,
            first_delay: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `n + 1` (after `n` failures, `n` ≥ 1).
    fn delay(&self, failures: u32) -> Duration {
        self.first_delay
            .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
    }
}

/// A message as it goes over the wire, formatted once.
struct Queued {
    envelope: Envelope,
    body: Vec<u8>,
}

/// Queues each message for the delivery task started by [`SmtpMailer::start`].
pub struct SmtpMailer {
    from: Mailbox,
    queue: mpsc::Sender<Queued>,
    outbox: Outbox,
}

/// Shows the sender and the queue, never the server URL (it may carry a password).
impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("from", &self.from.to_string())
            .field("queued", &(QUEUE_CAPACITY - self.queue.capacity()))
            .finish()
    }
}

impl SmtpMailer {
    /// Sets up the transport from `url` and spawns the delivery task (call it inside a tokio
    /// runtime). `smtp://host[:port]` speaks plain SMTP and upgrades with STARTTLS when the
    /// server offers it (port 25 by default); `smtp://…?tls=required` insists on STARTTLS (587
    /// by default); `smtps://host[:port]` is TLS from the first byte (465 by default).
    /// `user:password@` in the URL authenticates (percent-encoded); a path names the EHLO host.
    /// The task ends once every clone of the mailer is dropped and the queue is drained.
    pub fn start(
        url: &str,
        from: Mailbox,
        outbox: Outbox,
    ) -> Result<(SmtpMailer, JoinHandle<()>), MailError> {
        SmtpMailer::start_with(url, from, outbox, RetryPolicy::default())
    }

    /// Opens a connection to the SMTP server and says hello (with TLS and authentication as the
    /// URL asks), sending nothing: `guichet check-config`.
    pub async fn check(url: &str) -> Result<(), MailError> {
        let url = transport_url(url)?;
        let transport: AsyncSmtpTransport<Tokio1Executor> =
            AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
                .map_err(|e| MailError::Send(format!("the SMTP URL cannot be used: {e}")))?
                .timeout(Some(SMTP_TIMEOUT))
                .build();
        match transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(MailError::Send("the SMTP server did not answer".into())),
            Err(e) => Err(MailError::Send(format!(
                "the SMTP server cannot be reached: {e}"
            ))),
        }
    }

    /// [`SmtpMailer::start`] with another retry policy (tests shorten the delays).
    pub fn start_with(
        url: &str,
        from: Mailbox,
        outbox: Outbox,
        retry: RetryPolicy,
    ) -> Result<(SmtpMailer, JoinHandle<()>), MailError> {
        let url = transport_url(url)?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
            // lettre's connection errors do not repeat the URL.
            .map_err(|e| MailError::Send(format!("the SMTP URL cannot be used: {e}")))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        let (queue, rx) = mpsc::channel(QUEUE_CAPACITY);
        let retry = RetryPolicy {
            attempts: retry.attempts.max(1),
            ..retry
        };
        let task = tokio::spawn(deliver_all(rx, Arc::new(transport), outbox.clone(), retry));
        Ok((
            SmtpMailer {
                from,
                queue,
                outbox,
            },
            task,
        ))
    }
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: Mail) -> Result<(), MailError> {
        let message = message::build(&self.from, mail)?;
        let queued = Queued {
            envelope: message.envelope().clone(),
            body: message.formatted(),
        };
        match self.queue.send_timeout(queued, QUEUE_WAIT).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let why = match e {
                    mpsc::error::SendTimeoutError::Timeout(_) => "the mail queue is full",
                    mpsc::error::SendTimeoutError::Closed(_) => "the mail queue is closed",
                };
                // Kept for the operator, as any message that did not go out.
                let saved = self
                    .outbox
                    .write(FAILED_KIND, "eml", &message.formatted())
                    .await;
                tracing::error!(
                    reason = why,
                    outbox = ?saved.as_ref().map_err(ToString::to_string),
                    "mail refused before delivery"
                );
                Err(MailError::Send(why.into()))
            }
        }
    }
}

/// `smtp://` without a `tls` parameter becomes opportunistic STARTTLS on port 25 (lettre alone
/// would never upgrade it); everything else is passed as given, for lettre to check.
fn transport_url(url: &str) -> Result<String, MailError> {
    let bad = |why: &str| MailError::Send(format!("the SMTP URL {why}"));
    let mut parsed = Url::parse(url).map_err(|_| bad("is not a URL"))?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    match parsed.scheme() {
        "smtps" => {}
        "smtp" => {
            if !parsed.query_pairs().any(|(k, _)| k == "tls") {
                if parsed.port().is_none() {
                    parsed
                        .set_port(Some(lettre::transport::smtp::SMTP_PORT))
                        .map_err(|()| bad("has no host"))?;
                }
                parsed.query_pairs_mut().append_pair("tls", "opportunistic");
            }
        }
        _ => return Err(bad("must start with smtp:// or smtps://")),
    }
    Ok(parsed.into())
}

/// Drains the queue, delivering up to [`CONCURRENT_DELIVERIES`] messages at once; returns when
/// the queue is closed and every delivery has ended.
async fn deliver_all(
    mut rx: mpsc::Receiver<Queued>,
    transport: Arc<AsyncSmtpTransport<Tokio1Executor>>,
    outbox: Outbox,
    retry: RetryPolicy,
) {
    let slots = Arc::new(Semaphore::new(CONCURRENT_DELIVERIES));
    let mut running = JoinSet::new();
    while let Some(queued) = rx.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let transport = transport.clone();
        let outbox = outbox.clone();
        running.spawn(async move {
            deliver(&transport, &outbox, retry, queued).await;
            drop(slot);
        });
        // Reap finished deliveries so the set does not grow with the traffic.
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
}

/// Tries one message until it is accepted, rejected for good (5xx), or out of attempts; in the
/// last two cases it goes to the outbox.
async fn deliver(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    outbox: &Outbox,
    retry: RetryPolicy,
    queued: Queued,
) {
    let mut failures = 0;
    let error = loop {
        match transport.send_raw(&queued.envelope, &queued.body).await {
            Ok(_) => {
                tracing::debug!(attempt = failures + 1, "mail delivered to the SMTP server");
                return;
            }
            Err(e) if e.is_permanent() => break e,
            Err(e) => {
                failures += 1;
                if failures >= retry.attempts {
                    break e;
                }
                let wait = retry.delay(failures);
                tracing::warn!(
                    error = %e,
                    attempt = failures,
                    retry_in_ms = wait.as_millis() as u64,
                    "mail not delivered yet, will retry"
                );
                tokio::time::sleep(wait).await;
            }
        }
    };
    give_up(outbox, &error, failures, &queued).await;
}

async fn give_up(outbox: &Outbox, error: &SmtpError, failures: u32, queued: &Queued) {
    let permanent = error.is_permanent();
    match outbox.write(FAILED_KIND, "eml", &queued.body).await {
        Ok(path) => tracing::error!(
            error = %error,
            permanent,
            attempts = failures + u32::from(permanent),
            outbox = %path.display(),
            "mail not delivered; written to the outbox"
        ),
        // The last resort failed too: the log is all that is left, so it says so loudly.
        Err(io) => tracing::error!(
            error = %error,
            permanent,
            outbox_error = %io,
            "mail not delivered and not saved: the message is lost"
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_smtp_url_upgrades_with_starttls_when_offered() {
        assert_eq!(
            transport_url("smtp://mail.example.org").unwrap(),
            "smtp://mail.example.org:25?tls=opportunistic"
        );
        assert_eq!(
            transport_url("smtp://u:p%40ss@mail.example.org:2525").unwrap(),
            "smtp://u:p%40ss@mail.example.org:2525?tls=opportunistic"
        );
        assert_eq!(
            transport_url("smtp://mail.example.org?tls=required").unwrap(),
            "smtp://mail.example.org?tls=required"
        );
        assert_eq!(
            transport_url("smtps://u:p@mail.example.org").unwrap(),
            "smtps://u:p@mail.example.org"
        );
        for bad in ["http://mail.example.org", "mail.example.org", ""] {
            assert!(transport_url(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn the_default_policy_spreads_five_attempts_over_about_two_minutes() {
        let p = RetryPolicy::default();
        let total: Duration = (1..p.attempts).map(|n| p.delay(n)).sum();
        assert_eq!(p.attempts, 5);
        assert_eq!(total, Duration::from_secs(8 + 16 + 32 + 64));
    }

    #[tokio::test]
    async fn a_bad_url_is_refused_at_start_and_the_debug_output_hides_it() {
        let tmp = tempfile::tempdir().unwrap();
        let from = crate::mail::from_mailbox("guichet@localhost", "guichet").unwrap();
        let outbox = Outbox::new(tmp.path());
        assert!(SmtpMailer::start("smtp://", from.clone(), outbox.clone()).is_err());
        let (mailer, task) =
            SmtpMailer::start("smtp://user:hunter2@127.0.0.1:1", from, outbox).unwrap();
        let shown = format!("{mailer:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        drop(mailer);
        task.await.unwrap();
    }
}
