//! [`VerifierBuilder`]: settings, their defaults, and the checks that turn
//! them into a [`Verifier`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;

use crate::algorithm::Algorithm;
use crate::clock::{Clock, SystemClock, secs};
use crate::error::ConfigError;
use crate::jwks::{CachePolicy, HttpSource};
use crate::keys::KeySet;
use crate::verifier::{Settings, Verifier};

/// Settings of a [`Verifier`]; see [`Verifier::builder`].
pub struct VerifierBuilder {
    issuer: String,
    audience: String,
    source: Option<KeySource>,
    algorithms: Vec<Algorithm>,
    leeway: Duration,
    policy: CachePolicy,
    clock: Arc<dyn Clock>,
    tls: Option<rustls::ClientConfig>,
    http_timeout: Duration,
    allow_insecure_http: bool,
    max_token_bytes: usize,
}

enum KeySource {
    Url(String),
    Static(JwkSet),
}

impl fmt::Debug for VerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifierBuilder")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

impl VerifierBuilder {
    pub(crate) fn new(issuer: String, audience: String) -> Self {
        Self {
            issuer,
            audience,
            source: None,
            algorithms: Algorithm::DEFAULT_ALLOWED.to_vec(),
            leeway: Duration::from_secs(30),
            policy: CachePolicy::default(),
            clock: Arc::new(SystemClock),
            tls: None,
            http_timeout: Duration::from_secs(10),
            allow_insecure_http: false,
            max_token_bytes: 8 * 1024,
        }
    }

    /// Fetch keys from this JWKS URL (`{issuer}/.well-known/jwks.json`).
    /// Must be https, except for loopback hosts.
    #[must_use]
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.source = Some(KeySource::Url(url.into()));
        self
    }

    /// Use this fixed key set and never touch the network.
    #[must_use]
    pub fn jwks(mut self, keys: JwkSet) -> Self {
        self.source = Some(KeySource::Static(keys));
        self
    }

    /// The allow-list. Default: EdDSA and ES256.
    #[must_use]
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat`. Default 30 s.
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    #[must_use]
    pub fn cache_policy(mut self, policy: CachePolicy) -> Self {
        self.policy = policy;
        self
    }

    #[must_use]
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The TLS settings for an https JWKS URL, e.g. to trust a private CA.
    /// Default: rustls on aws-lc-rs with the Mozilla roots.
    #[must_use]
    pub fn tls_config(mut self, tls: rustls::ClientConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Timeout of one JWKS fetch (connect, TLS, headers and body).
    /// Default 10 s. Redirects are never followed.
    #[must_use]
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    /// Allow a plain-http JWKS URL on a non-loopback host (e.g. inside a
    /// service mesh that encrypts for you). Anyone who can change that
    /// traffic can mint tokens you will accept.
    #[must_use]
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Longer tokens are refused before any parsing. Default 8 KiB.
    #[must_use]
    pub fn max_token_bytes(mut self, max: usize) -> Self {
        self.max_token_bytes = max;
        self
    }

    pub fn build(self) -> Result<Verifier, ConfigError> {
        if self.issuer.is_empty() || self.audience.is_empty() {
            return Err(ConfigError::EmptyIssuerOrAudience);
        }
        if self.algorithms.is_empty() {
            return Err(ConfigError::NoAlgorithms);
        }
        if !self.policy.is_valid() {
            return Err(ConfigError::InvalidCachePolicy);
        }
        let (source, keys) = match self.source.ok_or(ConfigError::NoKeySource)? {
            KeySource::Url(url) => {
                let source =
                    HttpSource::new(&url, self.allow_insecure_http, self.tls, self.http_timeout)?;
                (Some(source), None)
            }
            KeySource::Static(set) => {
                let keys = KeySet::from_jwk_set(&set);
                if keys.len() == 0 {
                    return Err(ConfigError::NoUsableKeys);
                }
                (None, Some(keys))
            }
        };
        let settings = Settings {
            issuer: self.issuer,
            audience: self.audience,
            algorithms: self.algorithms,
            leeway: secs(self.leeway),
            max_token_bytes: self.max_token_bytes,
            source,
            policy: self.policy,
            clock: self.clock,
        };
        Ok(Verifier::new(settings, keys))
    }
}
