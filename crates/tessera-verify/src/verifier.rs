//! [`Verifier`]: checks tokens offline against a cached key set, and keeps
//! that cache current.
//!
//! Cache rules, in order of a request's path:
//! - a cached key whose set is still fresh is used as is;
//! - a cached key whose set is stale is still used, after one request (the
//!   one that finds the refresh lock free) refetches; if that fails the old
//!   keys stay, and the next attempt waits for the cooldown;
//! - a set stale for longer than the policy's `max_stale` is not used at
//!   all: a request waits for a refetch (or the cooldown's verdict) and is
//!   refused as `JwksUnavailable` when there is no fresh set;
//! - an unknown `kid` waits for the refresh lock, then fetches unless a fetch
//!   happened within the cooldown. Requests that queued behind a fetch look
//!   again instead of fetching again.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Validation, errors::ErrorKind};
use serde_json::{Map, Value};

use crate::algorithm::Algorithm;
use crate::builder::VerifierBuilder;
use crate::claims::Claims;
use crate::clock::{Clock, secs};
use crate::error::{ConfigError, JwksError, VerifyError};
use crate::jwks::{CachePolicy, HttpSource};
use crate::keys::{KeySet, VerifyingKey};
use crate::token::{Expectations, check_claims, read_header};

/// Verifies Tessera access tokens. Cheap to clone; clones share the key cache.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

/// A verifier's fixed configuration.
pub(crate) struct Settings {
    pub(crate) issuer: String,
    pub(crate) audience: String,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) leeway: i64,
    pub(crate) max_token_bytes: usize,
    /// `None`: a static key set, never refreshed.
    pub(crate) source: Option<HttpSource>,
    pub(crate) policy: CachePolicy,
    pub(crate) clock: Arc<dyn Clock>,
}

struct Inner {
    settings: Settings,
    cache: RwLock<Cache>,
    /// Held for the whole of a fetch, so there is at most one at a time.
    refresh_lock: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Cache {
    keys: Arc<KeySet>,
    /// Unix seconds after which the set should be refetched.
    fresh_until: Option<i64>,
    last_attempt: Option<i64>,
    last_attempt_failed: bool,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Verifier")
            .field("issuer", &inner.settings.issuer)
            .field("audience", &inner.settings.audience)
            .field("algorithms", &inner.settings.algorithms)
            .field(
                "jwks_url",
                &inner.settings.source.as_ref().map(|s| s.url().to_string()),
            )
            .field("keys", &*inner.cache().keys)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Starts configuring a verifier for tokens from `issuer` meant for
    /// `audience`. Then `.jwks_url(..)` or `.jwks(..)`, and `.build()`.
    pub fn builder(issuer: impl Into<String>, audience: impl Into<String>) -> VerifierBuilder {
        VerifierBuilder::new(issuer.into(), audience.into())
    }

    /// What [`VerifierBuilder::build`] ends with.
    pub(crate) fn new(settings: Settings, keys: Option<KeySet>) -> Self {
        let cache = Cache {
            keys: Arc::new(keys.unwrap_or_default()),
            ..Cache::default()
        };
        Self {
            inner: Arc::new(Inner {
                settings,
                cache: RwLock::new(cache),
                refresh_lock: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// A verifier over a fixed key set: no network, ever. For tests and
    /// air-gapped deployments.
    pub fn from_jwk_set(
        keys: JwkSet,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Result<Self, ConfigError> {
        Self::builder(issuer, audience).jwks(keys).build()
    }

    /// Verifies `token` and returns its claims. Uses cached keys; fetches
    /// the JWKS only as the cache policy allows.
    pub async fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        let result = self.verify_inner(token).await;
        if let Err(e) = &result {
            // The code only: a token, even a refused one, is never logged.
            tracing::debug!(code = e.code(), "access token refused");
        }
        result
    }

    /// Fetches the JWKS now, ignoring the cooldown, and returns how many
    /// usable keys it has. For start-up checks; `verify` never needs it.
    /// With a static key set, only counts.
    pub async fn refresh(&self) -> Result<usize, JwksError> {
        if self.inner.settings.source.is_none() {
            return Ok(self.inner.cache().keys.len());
        }
        let _guard = self.inner.refresh_lock.lock().await;
        self.inner.refresh_locked().await
    }

    /// Whether both handles share one verifier (and so one configuration).
    pub(crate) fn same_as(&self, other: &Verifier) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    async fn verify_inner(&self, token: &str) -> Result<Claims, VerifyError> {
        let inner = &self.inner;
        let header = read_header(
            token,
            inner.settings.max_token_bytes,
            &inner.settings.algorithms,
        )?;
        let key = inner.key_for(&header.kid).await?;
        if key.alg != header.alg {
            return Err(VerifyError::AlgorithmMismatch);
        }

        // jsonwebtoken checks the signature, for exactly the key's algorithm;
        // the claims are checked below, against the injected clock.
        let mut validation = Validation::new(key.alg.to_jsonwebtoken());
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        let raw = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature
                | ErrorKind::InvalidEcdsaKey
                | ErrorKind::InvalidEddsaKey
                | ErrorKind::InvalidKeyFormat => VerifyError::InvalidSignature,
                ErrorKind::InvalidAlgorithm => VerifyError::AlgorithmMismatch,
                _ => VerifyError::Malformed("payload or signature is not valid base64url JSON"),
            })?
            .claims;

        check_claims(
            raw,
            &Expectations {
                issuer: &inner.settings.issuer,
                audience: &inner.settings.audience,
                now: inner.settings.clock.now_unix(),
                leeway: inner.settings.leeway,
            },
        )
    }
}

impl Inner {
    fn cache(&self) -> std::sync::RwLockReadGuard<'_, Cache> {
        // The lock is never held across a panic-prone call, but a poisoned
        // cache is still a valid cache.
        self.cache.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn lookup(&self, kid: &str) -> Option<VerifyingKey> {
        self.cache().keys.get(kid).cloned()
    }

    fn is_fresh(&self, now: i64) -> bool {
        self.cache().fresh_until.is_some_and(|until| now < until)
    }

    /// Whether the cached set is past its lifetime by more than the
    /// policy's `max_stale`: no longer trusted at all.
    fn too_stale(&self, now: i64) -> bool {
        let limit = secs(self.settings.policy.stale_limit());
        self.cache()
            .fresh_until
            .is_some_and(|until| now >= until.saturating_add(limit))
    }

    /// Whether the cooldown since the last fetch has passed. A clock that
    /// went backwards counts as passed.
    fn cooldown_over(&self, now: i64) -> bool {
        self.cache().last_attempt.is_none_or(|last| {
            now < last || now.saturating_sub(last) >= secs(self.settings.policy.cooldown())
        })
    }

    async fn key_for(&self, kid: &str) -> Result<VerifyingKey, VerifyError> {
        let now = self.settings.clock.now_unix();
        if let Some(key) = self.lookup(kid) {
            if self.settings.source.is_none() || self.is_fresh(now) {
                return Ok(key);
            }
            if self.too_stale(now) {
                return self.key_from_fresh_set(kid).await;
            }
            // Stale: whoever gets the lock refreshes; everyone else goes on
            // with the key they have rather than wait.
            let Ok(_guard) = self.refresh_lock.try_lock() else {
                return Ok(key);
            };
            let now = self.settings.clock.now_unix();
            if self.is_fresh(now) {
                // Someone refreshed meanwhile; the issuer may have withdrawn it.
                return self.lookup(kid).ok_or(VerifyError::UnknownKey);
            }
            if !self.cooldown_over(now) {
                return Ok(key);
            }
            return match self.refresh_locked().await {
                // The issuer may have withdrawn the key: trust the new set.
                Ok(_) => self.lookup(kid).ok_or(VerifyError::UnknownKey),
                Err(_) => Ok(key),
            };
        }

        if self.settings.source.is_none() {
            return Err(VerifyError::UnknownKey);
        }
        let _guard = self.refresh_lock.lock().await;
        // A fetch may have finished while we waited for the lock.
        if let Some(key) = self.lookup(kid) {
            return Ok(key);
        }
        if !self.cooldown_over(self.settings.clock.now_unix()) {
            return Err(if self.cache().last_attempt_failed {
                VerifyError::JwksUnavailable
            } else {
                VerifyError::UnknownKey
            });
        }
        match self.refresh_locked().await {
            Ok(_) => self.lookup(kid).ok_or(VerifyError::UnknownKey),
            Err(_) => Err(VerifyError::JwksUnavailable),
        }
    }

    /// The key from a set that is fresh now: refetched here (waiting for
    /// any fetch under way), or `JwksUnavailable` when that cannot be had.
    async fn key_from_fresh_set(&self, kid: &str) -> Result<VerifyingKey, VerifyError> {
        let _guard = self.refresh_lock.lock().await;
        let now = self.settings.clock.now_unix();
        if !self.is_fresh(now) {
            if !self.cooldown_over(now) {
                return Err(VerifyError::JwksUnavailable);
            }
            self.refresh_locked()
                .await
                .map_err(|_| VerifyError::JwksUnavailable)?;
        }
        self.lookup(kid).ok_or(VerifyError::UnknownKey)
    }

    /// Fetches and installs the JWKS. Call with `refresh_lock` held.
    async fn refresh_locked(&self) -> Result<usize, JwksError> {
        let Some(source) = &self.settings.source else {
            return Ok(self.cache().keys.len());
        };
        let result = source.fetch().await;
        let now = self.settings.clock.now_unix();
        let mut cache = self.cache.write().unwrap_or_else(PoisonError::into_inner);
        cache.last_attempt = Some(now);
        match result {
            Ok(fetched) => {
                let ttl = self.settings.policy.ttl(fetched.max_age);
                let count = fetched.keys.len();
                if count == 0 {
                    tracing::warn!(url = %source.url(), "JWKS has no usable key");
                }
                tracing::debug!(url = %source.url(), keys = count, ttl_secs = ttl.as_secs(), "JWKS refreshed");
                cache.keys = Arc::new(fetched.keys);
                cache.fresh_until = Some(now.saturating_add(secs(ttl)));
                cache.last_attempt_failed = false;
                Ok(count)
            }
            Err(e) => {
                tracing::warn!(url = %source.url(), error = %e, "JWKS refresh failed; keeping cached keys");
                cache.last_attempt_failed = true;
                Err(e)
            }
        }
    }
}
