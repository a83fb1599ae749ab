//! Rate-limit counters in process memory: right for one instance on the
//! embedded default; several instances need a shared store (Redis).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tessera_core::store::{Count, RateLimitStore, StoreError};
use time::OffsetDateTime;

/// Counters beyond this many keys trigger a sweep of closed windows, so an
/// attacker cycling through addresses cannot grow memory without bound.
const SWEEP_AT: usize = 100_000;

#[derive(Debug, Default)]
pub struct MemoryRateLimits {
    windows: Mutex<HashMap<String, Count>>,
}

impl MemoryRateLimits {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, Count>>, StoreError> {
        self.windows
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
        let mut windows = self.lock()?;
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, c| c.resets_at > now);
        }
        let entry = windows.entry(key.to_owned()).or_insert(Count {
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
        Ok(self.lock()?.get(key).filter(|c| c.resets_at > now).copied())
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        self.lock()?.remove(key);
        Ok(())
    }

    async fn release(&self, key: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        if let Some(c) = self.lock()?.get_mut(key)
            && c.resets_at > now
        {
            c.hits = c.hits.saturating_sub(1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passes_the_rate_limit_conformance_suite() {
        crate::conformance::rate_limits(&MemoryRateLimits::new()).await;
    }
}
