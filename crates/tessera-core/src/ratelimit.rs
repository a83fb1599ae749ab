//! Login failure limits, per client IP and per account.
//!
//! An attempt is counted *before* the password is hashed, with one atomic
//! increment per key, so attempts racing each other through the hasher
//! cannot overshoot the limit. The client's address is counted first, and
//! an address over its limit stops there: it creates no counter for the
//! account it named, so one address cannot fill the store with a counter
//! per made-up email. Account counters are keyed by a fixed-length hash of
//! the email, never the email itself (no user-chosen key text, such as a
//! Redis Cluster hash tag `{x}`). A success clears the account's count and
//! gives back the attempt it took from the IP's count; a failure keeps
//! both. An account over its limit refuses further attempts (even correct
//! ones) until its window ends; other accounts are untouched.
//!
//! IPv6 clients are counted per /64: one subscriber usually holds a whole
//! /64, so counting single addresses would let them rotate freely.

use std::net::{IpAddr, Ipv6Addr};
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
    /// Registrations (attempts that pass validation, taken emails included,
    /// so the 409 cannot be used to scan for accounts) per client IP.
    pub max_registrations_per_ip: u64,
    pub registration_window: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            max_failures_per_account: 10,
            max_failures_per_ip: 100,
            window: Duration::from_mins(15),
            max_registrations_per_ip: 50,
            registration_window: Duration::from_hours(1),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct LoginGuard {
    store: Arc<dyn RateLimitStore>,
    limits: LoginLimits,
}

/// An attempt that was let through; settle it with [`LoginGuard::succeeded`]
/// or drop it (a failure stays counted).
#[derive(Debug)]
pub(crate) struct Attempt {
    account: String,
    ip: Option<String>,
}

/// An account's counter key: 128 bits of the SHA-256 of the normalised
/// email, in hex.
fn account_key(email: &str) -> String {
    format!("login-fail:account:{}", email_key(email))
}

/// 128 bits of the SHA-256 of a normalised email, in hex: how counters
/// name an address.
pub(crate) fn email_key(email: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(email.as_bytes());
    hex::encode(&digest[..16])
}

/// The counter key of an address: IPv4 as is, IPv6 by its /64.
pub fn ip_bucket(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            let net = Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{net}/64")
        }
        Ok(addr) => addr.to_canonical().to_string(),
        Err(_) => ip.to_owned(),
    }
}

fn ip_key(ip: &str) -> String {
    format!("login-fail:ip:{}", ip_bucket(ip))
}

impl LoginGuard {
    pub(crate) fn new(store: Arc<dyn RateLimitStore>, limits: LoginLimits) -> Self {
        Self { store, limits }
    }

    /// Counts an attempt for the account and the IP; refuses it, before any
    /// hashing, when either is over its limit.
    pub(crate) async fn attempt(
        &self,
        email: &str,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Attempt, AuthError> {
        let ip = ip.map(ip_key);
        // The address first, and stop at a refused one.
        if let Some(key) = &ip {
            self.count(key, self.limits.max_failures_per_ip, now)
                .await?;
        }
        let account = account_key(email);
        self.count(&account, self.limits.max_failures_per_account, now)
            .await?;
        Ok(Attempt { account, ip })
    }

    /// One hit on `key`; refused over `max`.
    async fn count(&self, key: &str, max: u64, now: OffsetDateTime) -> Result<(), AuthError> {
        let count = self.store.hit(key, self.limits.window, now).await?;
        if count.hits > max {
            return Err(AuthError::RateLimited {
                retry_after: retry_after(count.resets_at, now),
            });
        }
        Ok(())
    }

    /// Counts a registration from `ip`; refuses it over the limit. Clients
    /// of unknown address (the CLI, a BFF that sends none) are not counted.
    pub(crate) async fn registration(
        &self,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), AuthError> {
        let Some(ip) = ip else { return Ok(()) };
        let key = format!("register:ip:{}", ip_bucket(ip));
        let count = self
            .store
            .hit(&key, self.limits.registration_window, now)
            .await?;
        if count.hits > self.limits.max_registrations_per_ip {
            return Err(AuthError::RateLimited {
                retry_after: retry_after(count.resets_at, now),
            });
        }
        Ok(())
    }

    /// A call that makes the server ask a provider about something a
    /// client sent (a token to exchange, a code to redeem): counted per
    /// client IP like failed logins, and given back when it succeeds, so
    /// nobody can make the server hammer a provider (and get its address
    /// throttled there) with junk.
    pub(crate) async fn provider_check(
        &self,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Option<String>, AuthError> {
        let Some(ip) = ip else { return Ok(None) };
        let key = format!("provider-fail:ip:{}", ip_bucket(ip));
        let count = self.store.hit(&key, self.limits.window, now).await?;
        if count.hits > self.limits.max_failures_per_ip {
            return Err(AuthError::RateLimited {
                retry_after: retry_after(count.resets_at, now),
            });
        }
        Ok(Some(key))
    }

    pub(crate) async fn provider_check_passed(
        &self,
        key: Option<String>,
        now: OffsetDateTime,
    ) -> Result<(), AuthError> {
        if let Some(key) = key {
            self.store.release(&key, now).await?;
        }
        Ok(())
    }

    /// One hit on the counter `key` (a fixed-format key: no user-chosen
    /// text); whether it is still within `max`, or when its window ends.
    pub(crate) async fn within(
        &self,
        key: &str,
        max: u64,
        window: Duration,
        now: OffsetDateTime,
    ) -> Result<Result<(), Duration>, AuthError> {
        let count = self.store.hit(key, window, now).await?;
        Ok(if count.hits > max {
            Err(retry_after(count.resets_at, now))
        } else {
            Ok(())
        })
    }

    pub(crate) async fn succeeded(
        &self,
        attempt: Attempt,
        now: OffsetDateTime,
    ) -> Result<(), AuthError> {
        self.store.clear(&attempt.account).await?;
        if let Some(ip) = &attempt.ip {
            self.store.release(ip, now).await?;
        }
        Ok(())
    }
}

fn retry_after(resets_at: OffsetDateTime, now: OffsetDateTime) -> Duration {
    let secs = (resets_at - now).whole_seconds().max(1);
    Duration::from_secs(secs.unsigned_abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_keys_are_a_fixed_length_hash_of_the_email() {
        let key = account_key("{x}@example.com");
        assert!(!key.contains('{') && !key.contains("example"), "{key}");
        assert_eq!(key.len(), account_key(&"a".repeat(1000)).len());
        assert_ne!(key, account_key("{y}@example.com"));
        assert_eq!(key, account_key("{x}@example.com"));
    }

    #[test]
    fn ipv6_is_counted_per_64() {
        assert_eq!(ip_bucket("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(
            ip_bucket("2001:db8:1:2:ffff::1"),
            ip_bucket("2001:db8:1:2::9")
        );
        assert_ne!(ip_bucket("2001:db8:1:2::1"), ip_bucket("2001:db8:1:3::1"));
        assert_eq!(ip_bucket("203.0.113.7"), "203.0.113.7");
        assert_eq!(ip_bucket("::ffff:203.0.113.7"), "203.0.113.7");
    }
}
