//! Calls guichet makes to applications: logout notifications (a CAS SAML `LogoutRequest`, an
//! OpenID Connect logout token), posted off the request path with a short timeout and a few
//! retries, and the CAS proxy callback, a GET the validation waits for.
//!
//! A notification is queued and the caller goes on at once: a dead or slow application never
//! holds up a logout. The queue is bounded; when it is full a notification is dropped and
//! logged (an application that missed one still sees its session end at the next validation
//! or refresh).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;

/// How the courier calls applications.
#[derive(Debug, Clone)]
pub struct CourierPolicy {
    /// Bound on one attempt, connection included.
    pub timeout: Duration,
    /// Attempts per notification (the first included).
    pub attempts: u32,
    /// Wait before the second attempt; doubled before each further one.
    pub backoff: Duration,
}

impl Default for CourierPolicy {
    fn default() -> CourierPolicy {
        CourierPolicy {
            timeout: Duration::from_secs(5),
            attempts: 3,
            backoff: Duration::from_secs(1),
        }
    }
}

/// One form POST to an application.
#[derive(Debug, Clone)]
pub struct Notification {
    pub url: String,
    pub form: Vec<(&'static str, String)>,
    /// What it is, for the logs (`cas_slo`, `oidc_backchannel`).
    pub what: &'static str,
}

/// Notifications waiting at most: past that, new ones are dropped (and logged).
const QUEUE: usize = 10_000;
/// Notifications in flight at once.
const IN_FLIGHT: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    /// No answer: refused, timed out, or a TLS failure (an untrusted certificate).
    #[error("{0}")]
    Transport(String),
}

pub struct Courier {
    client: reqwest::Client,
    queue: mpsc::Sender<Notification>,
}

impl std::fmt::Debug for Courier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Courier").finish_non_exhaustive()
    }
}

impl Courier {
    /// A courier and its delivery task (on the current Tokio runtime).
    pub fn start(policy: CourierPolicy) -> Result<(Courier, JoinHandle<()>), CallbackError> {
        let client = reqwest::Client::builder()
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout)
            // Applications' own redirects are not followed: the URL was checked, its target
            // was not.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| CallbackError::Transport(e.to_string()))?;
        let (queue, rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(deliver(client.clone(), rx, policy));
        Ok((Courier { client, queue }, task))
    }

    /// Queues a notification; returns at once.
    pub fn notify(&self, n: Notification) {
        if let Err(e) = self.queue.try_send(n) {
            let n = match e {
                mpsc::error::TrySendError::Full(n) | mpsc::error::TrySendError::Closed(n) => n,
            };
            tracing::warn!(what = n.what, url = %n.url, "logout notification dropped: queue full");
        }
    }

    /// GETs `url` and returns the status it answered (CAS §2.5.4's proxy callback). Redirects
    /// are not followed, so a 3xx is just not 200.
    pub async fn get_status(&self, url: &str) -> Result<u16, CallbackError> {
        let response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| CallbackError::Transport(chain(e)))?;
        Ok(response.status().as_u16())
    }
}

/// An error with its causes (reqwest's own message hides the TLS reason), without the URL
/// (a proxy callback's carries the new tickets).
fn chain(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = String::new();
    let mut cur: Option<&dyn std::error::Error> = Some(&e);
    while let Some(err) = cur {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&err.to_string());
        cur = err.source();
    }
    text
}

async fn deliver(
    client: reqwest::Client,
    mut rx: mpsc::Receiver<Notification>,
    policy: CourierPolicy,
) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(n) = rx.recv().await {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            break;
        };
        let client = client.clone();
        let policy = policy.clone();
        tokio::spawn(async move {
            send_with_retries(&client, &n, &policy).await;
            drop(permit);
        });
    }
}

/// Posts `n` until a 2xx or 3xx, at most `policy.attempts` times.
async fn send_with_retries(client: &reqwest::Client, n: &Notification, policy: &CourierPolicy) {
    let mut wait = policy.backoff;
    for attempt in 1..=policy.attempts.max(1) {
        let outcome = client.post(&n.url).form(&n.form).send().await;
        match outcome {
            // A redirect is delivery too: a CAS client answers a logout POST that carries no
            // cookie of its own with one (Apache's mod_auth_cas: 302).
            Ok(r) if r.status().is_success() || r.status().is_redirection() => {
                tracing::debug!(what = n.what, url = %n.url, attempt, "logout notification delivered");
                return;
            }
            Ok(r) => {
                tracing::info!(what = n.what, url = %n.url, attempt, status = r.status().as_u16(), "logout notification refused");
            }
            Err(e) => {
                tracing::info!(what = n.what, url = %n.url, attempt, error = %chain(e), "logout notification failed");
            }
        }
        if attempt < policy.attempts {
            tokio::time::sleep(wait).await;
            wait = wait.saturating_mul(2);
        }
    }
    tracing::warn!(what = n.what, url = %n.url, "logout notification given up");
}
