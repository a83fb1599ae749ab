//! Time is injected: expiry and cache decisions ask a [`Clock`], so tests
//! move a [`ManualClock`] instead of sleeping. Whole Unix seconds, like JWT
//! `NumericDate`s.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub trait Clock: Send + Sync + fmt::Debug {
    /// Seconds since the Unix epoch.
    fn now_unix(&self) -> i64;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, secs)
    }
}

/// A clock that only moves when told to. Clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    unix_seconds: Arc<AtomicI64>,
}

impl ManualClock {
    pub fn new(unix_seconds: i64) -> Self {
        Self {
            unix_seconds: Arc::new(AtomicI64::new(unix_seconds)),
        }
    }

    /// Starts at the current wall-clock time.
    pub fn starting_now() -> Self {
        Self::new(SystemClock.now_unix())
    }

    pub fn advance(&self, by: Duration) {
        self.unix_seconds.fetch_add(secs(by), Ordering::SeqCst);
    }

    pub fn set(&self, unix_seconds: i64) {
        self.unix_seconds.store(unix_seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_unix(&self) -> i64 {
        self.unix_seconds.load(Ordering::SeqCst)
    }
}

/// Whole seconds of a duration, saturating.
pub(crate) fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told_and_clones_share_it() {
        let clock = ManualClock::new(1_700_000_000);
        let shared = clock.clone();
        shared.advance(Duration::from_secs(90));
        assert_eq!(clock.now_unix(), 1_700_000_090);
        clock.set(5);
        assert_eq!(shared.now_unix(), 5);
    }
}
