//! Login failure limits, per client IP and per account.
//!
//! Only failures count. An account over its limit refuses further attempts
//! (even correct ones) until its window ends; other accounts are untouched,
//! and a success clears the account's count. The IP count is never cleared
//! by a success, so one address cannot alternate a known-good login with
//! guesses.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::error::AuthError;
use crate::store::RateLimitStore;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginLimits {
    pub max_failures_per_account: u64,
    pub max_failures_per_ip: u64,
    pub window: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            max_failures_per_account: 10,
            max_failures_per_ip: 100,
            window: Duration::from_mins(15),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct LoginGuard {
    store: Arc<dyn RateLimitStore>,
    limits: LoginLimits,
}

fn account_key(email: &str) -> String {
    format!("login-fail:account:{email}")
}

fn ip_key(ip: &str) -> String {
    format!("login-fail:ip:{ip}")
}

impl LoginGuard {
    pub(crate) fn new(store: Arc<dyn RateLimitStore>, limits: LoginLimits) -> Self {
        Self { store, limits }
    }

    /// Refuses before any hashing when either count is at its limit.
    pub(crate) async fn check(
        &self,
        email: &str,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), AuthError> {
        let mut checks = vec![(account_key(email), self.limits.max_failures_per_account)];
        if let Some(ip) = ip {
            checks.push((ip_key(ip), self.limits.max_failures_per_ip));
        }
        for (key, max) in checks {
            if let Some(count) = self.store.peek(&key, now).await?
                && count.hits >= max
            {
                return Err(AuthError::RateLimited {
                    retry_after: retry_after(count.resets_at, now),
                });
            }
        }
        Ok(())
    }

    pub(crate) async fn failed(
        &self,
        email: &str,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), AuthError> {
        self.store
            .hit(&account_key(email), self.limits.window, now)
            .await?;
        if let Some(ip) = ip {
            self.store.hit(&ip_key(ip), self.limits.window, now).await?;
        }
        Ok(())
    }

    pub(crate) async fn succeeded(&self, email: &str) -> Result<(), AuthError> {
        self.store.clear(&account_key(email)).await?;
        Ok(())
    }
}

fn retry_after(resets_at: OffsetDateTime, now: OffsetDateTime) -> Duration {
    let secs = (resets_at - now).whole_seconds().max(1);
    Duration::from_secs(secs.unsigned_abs())
}
