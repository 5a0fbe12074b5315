//! Time is an input: everything that expires takes `now` from the clock in the application
//! state, so tests move time instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Unix seconds, from the system clock (or a pinned instant) plus an offset that only tests
/// change.
#[derive(Debug, Default)]
pub struct Clock {
    /// A pinned instant instead of the system clock (unit tests).
    fixed: Option<i64>,
    offset: AtomicI64,
}

impl Clock {
    pub fn system() -> Arc<Clock> {
        Arc::new(Clock::default())
    }

    /// A clock that stands still at `at` until `advance` moves it (tests).
    pub fn fixed(at: i64) -> Arc<Clock> {
        Arc::new(Clock {
            fixed: Some(at),
            offset: AtomicI64::new(0),
        })
    }

    pub fn now(&self) -> i64 {
        let base = self.fixed.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or_default()
        });
        base + self.offset.load(Ordering::Relaxed)
    }

    /// Moves this clock forward (tests only: production never calls it).
    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::Relaxed);
    }
}
