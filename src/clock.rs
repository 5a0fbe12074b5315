//! Time is an input: everything that expires takes `now` from the clock in the application
//! state, so tests move time instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Unix seconds, from the system clock plus an offset that only tests change.
#[derive(Debug, Default)]
pub struct Clock {
    offset: AtomicI64,
}

impl Clock {
    pub fn system() -> Arc<Clock> {
        Arc::new(Clock::default())
    }

    pub fn now(&self) -> i64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        real + self.offset.load(Ordering::Relaxed)
    }

    /// Moves this clock forward (tests only: production never calls it).
    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::Relaxed);
    }
}
