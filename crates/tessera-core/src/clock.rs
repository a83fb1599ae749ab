//! Time is injected: every expiry decision asks a [`Clock`], so tests move a
//! [`ManualClock`] instead of sleeping.
//!
//! Clocks answer in whole seconds. Stores keep seconds, so a value read back
//! equals the value written, and RFC 3339 output stays short.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use time::{Duration, OffsetDateTime};

pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> OffsetDateTime;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        whole_seconds(OffsetDateTime::now_utc())
    }
}

/// A clock that only moves when told to. Cloning shares the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    unix_seconds: Arc<AtomicI64>,
}

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            unix_seconds: Arc::new(AtomicI64::new(start.unix_timestamp())),
        }
    }

    /// Starts at the current wall-clock time.
    pub fn starting_now() -> Self {
        Self::new(OffsetDateTime::now_utc())
    }

    pub fn advance(&self, by: Duration) {
        self.unix_seconds
            .fetch_add(by.whole_seconds(), Ordering::SeqCst);
    }

    pub fn set(&self, to: OffsetDateTime) {
        self.unix_seconds
            .store(to.unix_timestamp(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.unix_seconds.load(Ordering::SeqCst))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// Drops the sub-second part.
pub fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t.unix_timestamp()).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::seconds(90));
        assert_eq!(clock.now(), start + Duration::seconds(90));
        let shared = clock.clone();
        shared.advance(Duration::days(1));
        assert_eq!(
            clock.now(),
            start + Duration::seconds(90) + Duration::days(1)
        );
    }

    #[test]
    fn system_clock_has_no_fraction() {
        assert_eq!(SystemClock.now().nanosecond(), 0);
    }
}
