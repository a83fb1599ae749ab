//! Rate-limit counters in process memory: right for one instance on the
//! embedded default; several instances need a shared store (Redis).
//!
//! Bounded whatever clients send: at most [`DEFAULT_CAPACITY`] counters.
//! Closed windows are swept out once a minute ([`SWEEP_EVERY`]), so a hit
//! costs O(1) amortised; a table full of open windows is swept at most once
//! a second, and a hit that would add a counter beyond the cap is refused
//! as [`StoreError::Unavailable`] (503 with `Retry-After`: fail closed, as
//! for any store that cannot count). The login guard counts a client's
//! address before its account and stops at a refused address, so one
//! address adds at most `max_failures_per_ip` account counters a window.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tessera_core::store::{Count, RateLimitStore, StoreError};
use time::OffsetDateTime;

/// Counters kept at most (about 100 bytes each, so some 20 MB).
pub const DEFAULT_CAPACITY: usize = 200_000;

/// How often closed windows are swept out.
pub const SWEEP_EVERY: time::Duration = time::Duration::minutes(1);

#[derive(Debug)]
pub struct MemoryRateLimits {
    capacity: usize,
    table: Mutex<Table>,
}

#[derive(Debug)]
struct Table {
    windows: HashMap<String, Count>,
    /// When the next timed sweep is due.
    next_sweep: OffsetDateTime,
    /// When the table last swept because it was full.
    full_sweep: OffsetDateTime,
}

impl Table {
    fn sweep(&mut self, now: OffsetDateTime) {
        self.windows.retain(|_, c| c.resets_at > now);
        self.next_sweep = now + SWEEP_EVERY;
    }
}

impl Default for MemoryRateLimits {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

impl MemoryRateLimits {
    pub fn new() -> Self {
        Self::default()
    }

    /// At most `capacity` counters.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity,
            table: Mutex::new(Table {
                windows: HashMap::new(),
                next_sweep: OffsetDateTime::UNIX_EPOCH,
                full_sweep: OffsetDateTime::UNIX_EPOCH,
            }),
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Table>, StoreError> {
        self.table
            .lock()
            .map_err(|_| StoreError::Backend("rate-limit table poisoned".into()))
    }
}

#[async_trait]
impl RateLimitStore for MemoryRateLimits {
    async fn hit(
        &self,
        key: &str,
        window: Duration,
        now: OffsetDateTime,
    ) -> Result<Count, StoreError> {
        let mut table = self.lock()?;
        if now >= table.next_sweep {
            table.sweep(now);
        }
        if !table.windows.contains_key(key) && table.windows.len() >= self.capacity {
            // Full of open windows: one sweep a second at most, then refuse
            // rather than grow.
            if now > table.full_sweep {
                table.full_sweep = now;
                table.sweep(now);
            }
            if table.windows.len() >= self.capacity {
                return Err(StoreError::Unavailable(
                    "rate-limit table full; refusing new counters".into(),
                ));
            }
        }
        let entry = table.windows.entry(key.to_owned()).or_insert(Count {
            hits: 0,
            resets_at: now,
        });
        if entry.resets_at <= now {
            *entry = Count {
                hits: 0,
                resets_at: now + window,
            };
        }
        entry.hits += 1;
        Ok(*entry)
    }

    async fn peek(&self, key: &str, now: OffsetDateTime) -> Result<Option<Count>, StoreError> {
        Ok(self
            .lock()?
            .windows
            .get(key)
            .filter(|c| c.resets_at > now)
            .copied())
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        self.lock()?.windows.remove(key);
        Ok(())
    }

    async fn release(&self, key: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        if let Some(c) = self.lock()?.windows.get_mut(key)
            && c.resets_at > now
        {
            c.hits = c.hits.saturating_sub(1);
        }
        Ok(())
    }

    fn counters(&self) -> Option<usize> {
        self.lock().ok().map(|t| t.windows.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passes_the_rate_limit_conformance_suite() {
        crate::conformance::rate_limits(&MemoryRateLimits::new()).await;
    }

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000 + secs).unwrap()
    }

    /// Past its capacity the table refuses new counters (existing ones go
    /// on counting), until closed windows free room.
    #[tokio::test]
    async fn it_never_holds_more_than_its_capacity() {
        let store = MemoryRateLimits::with_capacity(100);
        let window = Duration::from_mins(1);
        for i in 0..100 {
            store.hit(&format!("k{i}"), window, at(0)).await.unwrap();
        }
        let full = store.hit("new", window, at(1)).await.unwrap_err();
        assert!(matches!(full, StoreError::Unavailable(_)), "{full:?}");
        assert_eq!(store.counters(), Some(100));
        assert_eq!(store.hit("k7", window, at(1)).await.unwrap().hits, 2);
        // Once the windows close, new counters fit again.
        store.hit("new", window, at(61)).await.unwrap();
        assert_eq!(store.counters(), Some(1));
    }

    /// Closed windows are swept on a timer, not on every hit: a hit costs
    /// O(1) amortised however many counters there are.
    #[tokio::test]
    async fn closed_windows_are_swept_once_a_minute() {
        let store = MemoryRateLimits::with_capacity(1_000);
        let short = Duration::from_secs(5);
        // The first hit sweeps (nothing) and sets the next sweep a minute on.
        for i in 0..500 {
            store.hit(&format!("k{i}"), short, at(0)).await.unwrap();
        }
        store.hit("later", short, at(30)).await.unwrap();
        assert_eq!(store.counters(), Some(501), "closed, not yet swept");
        store.hit("later", short, at(61)).await.unwrap();
        assert_eq!(store.counters(), Some(1), "the minute's sweep");
    }
}
