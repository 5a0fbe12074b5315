//! Password hashing with argon2id on a bounded pool of dedicated threads, off the async
//! workers.
//!
//! The pool has `GUICHET_HASH_CONCURRENCY` threads that live as long as the hasher, each with
//! its own 19 MiB of argon2 memory allocated once. Allocating it per hash instead would
//! page-fault 19 MiB every time, and glibc's allocator keeps such freed blocks resident in
//! every thread's arena (measured: 250 MB after a few dozen sign-ins, 33 MB with reuse).

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use metrics::{Counter, Gauge, Histogram};
use subtle::ConstantTimeEq;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Too many hashes waiting: the caller answers 503 with `Retry-After`.
    #[error("password hashing is saturated")]
    Busy,
    #[error("password hashing failed: {0}")]
    Internal(String),
}

type Job = Box<dyn FnOnce(&Params, &mut [Block]) + Send>;

/// Runs at most `concurrency` argon2id jobs at once; beyond `8 × concurrency` waiting jobs new
/// ones are refused at once rather than queued without bound.
pub struct Hasher {
    queue: SyncSender<Job>,
    /// A hash of a random password: unknown users are verified against it, so that an unknown
    /// login and a wrong password take the same time (OWASP ASVS 6.3.8).
    dummy: String,
    meters: Arc<Meters>,
}

/// The pool's metrics, registered once: what waits for a thread, what runs, how long a job
/// waited, and what was refused.
struct Meters {
    queued: Gauge,
    in_flight: Gauge,
    wait: Histogram,
    rejected: Counter,
}

impl Meters {
    fn new() -> Meters {
        Meters {
            queued: metrics::gauge!("guichet_password_hash_queue_depth"),
            in_flight: metrics::gauge!("guichet_password_hash_in_flight"),
            wait: metrics::histogram!("guichet_password_hash_wait_seconds"),
            rejected: metrics::counter!("guichet_password_hash_rejected_total"),
        }
    }
}

/// OWASP's argon2id parameters: 19 MiB, two passes, one lane.
pub fn owasp_params() -> Params {
    Params::new(19 * 1024, 2, 1, None).unwrap_or_default()
}

fn argon(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_now(params: &Params, password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon(params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Internal(e.to_string()))
}

/// Hashes a new password in the worker's memory; the PHC string argon2 itself writes.
fn hash_with(params: &Params, memory: &mut [Block], password: &str) -> Result<String, HashError> {
    let fail = |e: &dyn std::fmt::Display| HashError::Internal(e.to_string());
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_buf)
        .map_err(|e| fail(&e))?;
    let mut out = [0u8; 32];
    argon(params)
        .hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, memory)
        .map_err(|e| fail(&e))?;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        salt.as_str(),
        STANDARD_NO_PAD.encode(out)
    ))
}

/// Verifies `password` against a PHC string, with the parameters the string names (older
/// hashes keep working), in the worker's memory when it is large enough.
fn verify_with(memory: &mut [Block], stored: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
        parsed.salt,
        parsed.hash,
    ) else {
        return false;
    };
    let version = parsed
        .version
        .and_then(|v| Version::try_from(v).ok())
        .unwrap_or(Version::V0x13);
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let expected = expected.as_bytes();
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let done = if params.block_count() <= memory.len() {
        argon2.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, memory)
    } else {
        argon2.hash_password_into(password.as_bytes(), salt, &mut out)
    };
    done.is_ok() && bool::from(out.ct_eq(expected))
}

/// One pool thread: takes jobs until the hasher (the sending side) is dropped.
fn worker(jobs: Arc<Mutex<Receiver<Job>>>, params: Params) {
    // Allocated at the first job, so that an idle server does not hold it.
    let mut memory: Vec<Block> = Vec::new();
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => {
                if memory.is_empty() {
                    memory = vec![Block::default(); params.block_count()];
                }
                job(&params, &mut memory)
            }
            Err(_) => return,
        }
    }
}

impl Hasher {
    pub fn new(concurrency: usize) -> Result<Hasher, HashError> {
        let params = owasp_params();
        let dummy = hash_now(&params, &crate::crypto::token::random_token())?;
        let threads = concurrency.max(1);
        let (queue, jobs) = sync_channel::<Job>(threads * 8);
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..threads {
            let (jobs, params) = (jobs.clone(), params.clone());
            std::thread::Builder::new()
                .name(format!("guichet-hash-{i}"))
                .spawn(move || worker(jobs, params))
                .map_err(|e| HashError::Internal(e.to_string()))?;
        }
        Ok(Hasher {
            queue,
            dummy,
            meters: Arc::new(Meters::new()),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Params, &mut [Block]) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let meters = self.meters.clone();
        let queued_at = Instant::now();
        let job: Job = Box::new(move |params, memory| {
            meters.queued.decrement(1.0);
            meters.wait.record(queued_at.elapsed().as_secs_f64());
            meters.in_flight.increment(1.0);
            let out = job(params, memory);
            meters.in_flight.decrement(1.0);
            let _ = tx.send(out);
        });
        // Counted before it is sent: a thread may take it at once.
        self.meters.queued.increment(1.0);
        match self.queue.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.meters.queued.decrement(1.0);
                self.meters.rejected.increment(1);
                return Err(HashError::Busy);
            }
            Err(TrySendError::Disconnected(_)) => {
                self.meters.queued.decrement(1.0);
                return Err(HashError::Internal("the hashing pool stopped".into()));
            }
        }
        rx.await
            .map_err(|_| HashError::Internal("a hashing job was lost".into()))
    }

    /// Hashes a new password (PHC string).
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.run(move |params, memory| hash_with(params, memory, &password))
            .await?
    }

    /// Verifies `password` against `stored`, or against the dummy hash when there is no user,
    /// so both paths cost one argon2id verification.
    pub async fn verify(
        &self,
        stored: Option<String>,
        password: String,
    ) -> Result<bool, HashError> {
        let (hash, real) = match stored {
            Some(h) => (h, true),
            None => (self.dummy.clone(), false),
        };
        let ok = self
            .run(move |_, memory| verify_with(memory, &hash, &password))
            .await?;
        Ok(ok && real)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only_and_unknown_users_never_pass() {
        let h = Hasher::new(2).unwrap_or_else(|e| unreachable!("{e}"));
        let stored = h.hash("correct horse".into()).await.ok();
        assert!(
            stored
                .as_deref()
                .is_some_and(|s| s.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"))
        );
        assert!(matches!(
            h.verify(stored.clone(), "correct horse".into()).await,
            Ok(true)
        ));
        assert!(matches!(
            h.verify(stored, "correct horse ".into()).await,
            Ok(false)
        ));
        assert!(matches!(h.verify(None, "anything".into()).await, Ok(false)));
    }

    #[test]
    fn hashes_interoperate_with_the_argon2_crate_and_other_parameters_still_verify() {
        use argon2::password_hash::PasswordVerifier;
        let params = owasp_params();
        let mut memory = vec![Block::default(); params.block_count()];
        // Ours, checked by the crate's own verifier.
        let ours = hash_with(&params, &mut memory, "s3cret pass").unwrap_or_default();
        let parsed = PasswordHash::new(&ours).unwrap_or_else(|e| unreachable!("{e}"));
        assert!(
            argon(&params)
                .verify_password(b"s3cret pass", &parsed)
                .is_ok()
        );
        // The crate's, checked by ours; and a hash made with other (older) parameters.
        let theirs = hash_now(&params, "s3cret pass").unwrap_or_default();
        assert!(verify_with(&mut memory, &theirs, "s3cret pass"));
        let other = Params::new(8 * 1024, 3, 1, None).unwrap_or_default();
        let older = hash_now(&other, "s3cret pass").unwrap_or_default();
        assert!(verify_with(&mut memory, &older, "s3cret pass"));
        assert!(!verify_with(&mut memory, &older, "s3cret pas"));
        // A larger memory cost than the worker holds falls back to an allocation.
        let big = Params::new(32 * 1024, 1, 1, None).unwrap_or_default();
        let bigger = hash_now(&big, "s3cret pass").unwrap_or_default();
        assert!(verify_with(&mut memory, &bigger, "s3cret pass"));
        for garbage in ["", "$argon2id$", "plain", "$2b$12$abcdefghijklmnopqrstuv"] {
            assert!(!verify_with(&mut memory, garbage, "s3cret pass"));
        }
    }

    #[tokio::test]
    async fn beyond_eight_waiters_per_slot_hashing_is_refused() {
        let h = Arc::new(Hasher::new(1).unwrap_or_else(|e| unreachable!("{e}")));
        let mut jobs = Vec::new();
        for _ in 0..12 {
            let h = h.clone();
            jobs.push(tokio::spawn(
                async move { h.verify(None, "x".into()).await },
            ));
        }
        let mut busy = 0;
        for j in jobs {
            if matches!(j.await, Ok(Err(HashError::Busy))) {
                busy += 1;
            }
        }
        assert!(busy >= 1, "no job was refused");
    }
}
