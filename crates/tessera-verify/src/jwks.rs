//! Fetching the issuer's JWKS over HTTP, and how long to trust a copy.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CACHE_CONTROL, USER_AGENT};
use http::{HeaderMap, HeaderValue, Request, Uri};
use http_body_util::{BodyExt as _, Empty, LengthLimitError, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::error::{ConfigError, JwksError};
use crate::keys::KeySet;

/// A JWKS bigger than this is refused: the issuer publishes a handful of keys.
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// How the key cache is kept.
///
/// A fetched JWKS is trusted for its `Cache-Control: max-age` (or
/// `default_ttl` without one), bounded to `min_ttl..=max_ttl`; `no-cache` and
/// `no-store` count as `min_ttl`. A token whose `kid` is not cached causes a
/// fetch, but fetches (successful or not) are at least `refresh_cooldown`
/// apart, so made-up kids cannot turn verifiers into a flood on the issuer.
///
/// While refetches fail, the cached keys go on being used for at most
/// `max_stale` (default 1 h) past their lifetime; after that a token is
/// refused as [`crate::VerifyError::JwksUnavailable`] until a refetch
/// succeeds. Otherwise whoever keeps the issuer's JWKS unreachable would
/// keep a key the issuer withdrew valid for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachePolicy {
    min_ttl: Duration,
    max_ttl: Duration,
    default_ttl: Duration,
    refresh_cooldown: Duration,
    max_stale: Duration,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self {
            min_ttl: Duration::from_mins(1),
            max_ttl: Duration::from_hours(24),
            default_ttl: Duration::from_mins(5),
            refresh_cooldown: Duration::from_secs(30),
            max_stale: Duration::from_hours(1),
        }
    }
}

impl CachePolicy {
    /// Lower bound on how long a fetched JWKS is used before refetching.
    #[must_use]
    pub fn min_ttl(mut self, d: Duration) -> Self {
        self.min_ttl = d;
        self
    }

    /// Upper bound on how long a fetched JWKS is used before refetching.
    #[must_use]
    pub fn max_ttl(mut self, d: Duration) -> Self {
        self.max_ttl = d;
        self
    }

    /// Lifetime of a JWKS served without `max-age`.
    #[must_use]
    pub fn default_ttl(mut self, d: Duration) -> Self {
        self.default_ttl = d;
        self
    }

    /// Minimum time between two fetches caused by tokens.
    #[must_use]
    pub fn refresh_cooldown(mut self, d: Duration) -> Self {
        self.refresh_cooldown = d;
        self
    }

    /// How long past its lifetime a cached set is still used while
    /// refetches fail; then verification fails closed.
    #[must_use]
    pub fn max_stale(mut self, d: Duration) -> Self {
        self.max_stale = d;
        self
    }

    pub(crate) fn stale_limit(&self) -> Duration {
        self.max_stale
    }

    pub(crate) fn cooldown(&self) -> Duration {
        self.refresh_cooldown
    }

    pub(crate) fn is_valid(&self) -> bool {
        self.min_ttl <= self.max_ttl
    }

    /// How long to use a JWKS served with this `max-age`.
    pub(crate) fn ttl(&self, max_age: Option<Duration>) -> Duration {
        max_age
            .unwrap_or(self.default_ttl)
            .max(self.min_ttl)
            .min(self.max_ttl)
    }
}

/// A freshly fetched key set and what the issuer said about caching it.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub(crate) keys: KeySet,
    pub(crate) max_age: Option<Duration>,
}

pub(crate) struct HttpSource {
    uri: Uri,
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    timeout: Duration,
}

impl std::fmt::Debug for HttpSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSource")
            .field("uri", &self.uri)
            .finish_non_exhaustive()
    }
}

impl HttpSource {
    /// `tls`: the rustls config for https, e.g. one trusting a private CA.
    /// Default: aws-lc-rs with the Mozilla roots.
    pub(crate) fn new(
        url: &str,
        allow_insecure_http: bool,
        tls: Option<rustls::ClientConfig>,
        timeout: Duration,
    ) -> Result<Self, ConfigError> {
        let uri: Uri = url
            .parse()
            .map_err(|e: http::uri::InvalidUri| ConfigError::InvalidUrl(e.to_string()))?;
        if uri.host().is_none_or(str::is_empty) {
            return Err(ConfigError::InvalidUrl("no host".into()));
        }
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if allow_insecure_http || is_loopback(&uri) => {}
            Some("http") => return Err(ConfigError::InsecureUrl),
            _ => return Err(ConfigError::InvalidUrl("scheme must be https".into())),
        }
        let tls = match tls {
            Some(tls) => tls,
            None => default_tls()?,
        };
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout));
        // https URLs always get TLS; plain http passed the check above.
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        // Never follows redirects (a redirect could lead to plain http) and
        // reads no proxy settings from the environment.
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Self {
            uri,
            client,
            timeout,
        })
    }

    pub(crate) fn url(&self) -> &Uri {
        &self.uri
    }

    pub(crate) async fn fetch(&self) -> Result<Fetched, JwksError> {
        tokio::time::timeout(self.timeout, self.fetch_untimed())
            .await
            .map_err(|_| JwksError::Timeout(self.timeout))?
    }

    async fn fetch_untimed(&self) -> Result<Fetched, JwksError> {
        let mut request = Request::get(self.uri.clone())
            .body(Empty::new())
            .map_err(|e| JwksError::Transport(error_chain(&e)))?;
        let headers = request.headers_mut();
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/jwk-set+json, application/json"),
        );
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("tessera-verify/", env!("CARGO_PKG_VERSION"))),
        );
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| JwksError::Transport(error_chain(&e)))?;
        if !response.status().is_success() {
            return Err(JwksError::Status(response.status().as_u16()));
        }
        let max_age = cache_max_age(response.headers());
        let body = Limited::new(response.into_body(), MAX_JWKS_BYTES)
            .collect()
            .await
            .map_err(|e| {
                if e.downcast_ref::<LengthLimitError>().is_some() {
                    JwksError::TooLarge(MAX_JWKS_BYTES)
                } else {
                    JwksError::Transport(error_chain(e.as_ref()))
                }
            })?
            .to_bytes();
        Ok(Fetched {
            keys: KeySet::from_json(&body)?,
            max_age,
        })
    }
}

/// "client error (Connect): tcp connect error: Connection refused", not
/// just the first link.
fn error_chain(e: &(dyn StdError + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn is_loopback(uri: &Uri) -> bool {
    let Some(host) = uri.host() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn default_tls() -> Result<rustls::ClientConfig, ConfigError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// `max-age` from `Cache-Control`; `no-cache`/`no-store` mean zero. `None`
/// when the header says nothing about it.
pub(crate) fn cache_max_age(headers: &HeaderMap) -> Option<Duration> {
    let mut max_age: Option<Duration> = None;
    let directives = headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','));
    for directive in directives {
        let (name, value) = match directive.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (directive.trim(), None),
        };
        let seconds =
            if name.eq_ignore_ascii_case("no-cache") || name.eq_ignore_ascii_case("no-store") {
                Some(0)
            } else if name.eq_ignore_ascii_case("max-age") {
                value.and_then(|v| v.parse::<u64>().ok())
            } else {
                None
            };
        if let Some(seconds) = seconds {
            // When directives disagree, the shortest wins.
            let d = Duration::from_secs(seconds);
            max_age = Some(max_age.map_or(d, |m| m.min(d)));
        }
    }
    max_age
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(CACHE_CONTROL, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn reads_max_age() {
        let s = Duration::from_secs;
        assert_eq!(
            cache_max_age(&headers(&["public, max-age=600"])),
            Some(s(600))
        );
        assert_eq!(cache_max_age(&headers(&["Max-Age=\"90\""])), Some(s(90)));
        assert_eq!(
            cache_max_age(&headers(&["public", "max-age=7"])),
            Some(s(7))
        );
        assert_eq!(
            cache_max_age(&headers(&["max-age=600, no-cache"])),
            Some(s(0))
        );
        assert_eq!(cache_max_age(&headers(&["no-store"])), Some(s(0)));
        assert_eq!(cache_max_age(&headers(&["public"])), None);
        assert_eq!(cache_max_age(&headers(&["max-age=soon"])), None);
        assert_eq!(cache_max_age(&HeaderMap::new()), None);
    }

    #[test]
    fn ttl_is_bounded() {
        let s = Duration::from_secs;
        let p = CachePolicy::default();
        assert_eq!(p.ttl(Some(s(0))), s(60));
        assert_eq!(p.ttl(Some(s(600))), s(600));
        assert_eq!(p.ttl(Some(s(10_000_000))), s(86_400));
        assert_eq!(p.ttl(None), s(300));
    }

    #[test]
    fn plain_http_only_for_loopback_or_when_allowed() {
        let t = Duration::from_secs(1);
        let new = |url: &str, allow| HttpSource::new(url, allow, None, t);
        assert!(new("http://127.0.0.1:8080/.well-known/jwks.json", false).is_ok());
        assert!(new("http://localhost/.well-known/jwks.json", false).is_ok());
        assert!(new("http://[::1]/jwks", false).is_ok());
        assert!(matches!(
            new("http://auth.example.com/jwks", false),
            Err(ConfigError::InsecureUrl)
        ));
        assert!(new("http://auth.internal/jwks", true).is_ok());
        assert!(new("https://auth.example.com/jwks", false).is_ok());
        assert!(matches!(
            new("ftp://x/jwks", true),
            Err(ConfigError::InvalidUrl(_))
        ));
        assert!(matches!(
            new("not a url", false),
            Err(ConfigError::InvalidUrl(_))
        ));
    }

    #[test]
    fn default_client_builds_with_aws_lc_rs() {
        assert!(
            HttpSource::new(
                "https://auth.example.com/jwks",
                false,
                None,
                Duration::from_secs(5)
            )
            .is_ok()
        );
    }
}
