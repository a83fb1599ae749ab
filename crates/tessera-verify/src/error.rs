//! Typed errors. [`VerifyError::code`] is the stable, machine-readable part:
//! it goes into problem+json bodies and metrics, so never rename a code.
//!
//! No variant carries any part of the token: errors end up in logs.

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Not a compact JWS we accept: wrong shape, bad base64 or JSON, too
    /// large, a claim of the wrong type, a `crit` header, a foreign `typ`.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header's `alg` is not on the allow-list (`none`, HMAC and RSA
    /// never are).
    #[error("signing algorithm not allowed")]
    UnsupportedAlgorithm,
    /// The header's `alg` differs from the algorithm of the key its `kid`
    /// names.
    #[error("token algorithm does not match its key")]
    AlgorithmMismatch,
    /// No key with the token's `kid`, even after a JWKS refresh.
    #[error("no verification key for this kid")]
    UnknownKey,
    #[error("invalid signature")]
    InvalidSignature,
    /// `exp` is past (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` or `iat` is in the future (beyond the leeway).
    #[error("token not yet valid")]
    NotYetValid,
    #[error("wrong issuer")]
    WrongIssuer,
    #[error("wrong audience")]
    WrongAudience,
    /// A required claim (`iss`, `sub`, `aud`, `exp`, `iat`) is absent.
    #[error("missing claim {0}")]
    MissingClaim(&'static str),
    /// The key set could not be fetched and no cached key fits: a problem on
    /// the issuer's side, not the client's (the extractor answers 503).
    #[error("JWKS unavailable")]
    JwksUnavailable,
}

impl VerifyError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::AlgorithmMismatch => "algorithm_mismatch",
            Self::UnknownKey => "unknown_key",
            Self::InvalidSignature => "invalid_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::MissingClaim(_) => "missing_claim",
            Self::JwksUnavailable => "jwks_unavailable",
        }
    }
}

/// Why fetching or reading a JWKS failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// Connection, TLS or HTTP protocol failure.
    #[error("JWKS request failed: {0}")]
    Transport(String),
    #[error("JWKS request timed out after {0:?}")]
    Timeout(std::time::Duration),
    #[error("JWKS endpoint answered HTTP {0}")]
    Status(u16),
    #[error("JWKS document larger than {0} bytes")]
    TooLarge(usize),
    #[error("JWKS document is not a JSON key set: {0}")]
    Json(#[from] serde_json::Error),
}

/// A [`crate::VerifierBuilder`] setting that cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("no key source: call jwks_url() or jwks()")]
    NoKeySource,
    #[error("issuer and audience must not be empty")]
    EmptyIssuerOrAudience,
    #[error("the algorithm allow-list is empty")]
    NoAlgorithms,
    #[error("invalid JWKS URL: {0}")]
    InvalidUrl(String),
    #[error(
        "JWKS URL must be https (plain http only for loopback hosts or with allow_insecure_http)"
    )]
    InsecureUrl,
    #[error("cache policy needs min_ttl <= max_ttl")]
    InvalidCachePolicy,
    #[error("the static key set has no usable key")]
    NoUsableKeys,
    #[error("TLS setup failed: {0}")]
    Tls(#[from] rustls::Error),
}
