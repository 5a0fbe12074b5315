//! Password hashing with argon2id on a bounded blocking pool, off the async workers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Too many hashes waiting: the caller answers 503 with `Retry-After`.
    #[error("password hashing is saturated")]
    Busy,
    #[error("password hashing failed: {0}")]
    Internal(String),
}

/// Runs at most `concurrency` argon2id jobs at once; beyond `8 × concurrency` waiters new jobs
/// are refused at once rather than queued without bound.
pub struct Hasher {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
    params: Params,
    /// A hash of a random password: unknown users are verified against it, so that an unknown
    /// login and a wrong password take the same time (OWASP ASVS 6.3.8).
    dummy: String,
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

fn verify_now(params: &Params, stored: &str, password: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => argon(params)
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

impl Hasher {
    pub fn new(concurrency: usize) -> Result<Hasher, HashError> {
        let params = owasp_params();
        let dummy = hash_now(&params, &crate::crypto::token::random_token())?;
        Ok(Hasher {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting: concurrency.max(1) * 8,
            params,
            dummy,
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(Params) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(HashError::Busy);
        }
        let permit = self.permits.clone().acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        let permit = permit.map_err(|e| HashError::Internal(e.to_string()))?;
        let params = self.params.clone();
        tokio::task::spawn_blocking(move || {
            let out = job(params);
            drop(permit);
            out
        })
        .await
        .map_err(|e| HashError::Internal(e.to_string()))
    }

    /// Hashes a new password (PHC string).
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.run(move |params| hash_now(&params, &password)).await?
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
            .run(move |params| verify_now(&params, &hash, &password))
            .await?;
        Ok(ok && real)
    }

    /// Hashes synchronously (CLI only, never on a request path).
    pub fn hash_blocking(&self, password: &str) -> Result<String, HashError> {
        hash_now(&self.params, password)
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
