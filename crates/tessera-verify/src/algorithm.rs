//! The signing algorithms a [`crate::Verifier`] can be told to accept.
//!
//! A closed enum of asymmetric algorithms, so HMAC (the alg-confusion
//! attack), RSA and `none` cannot even be configured.

use std::fmt;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// Ed25519. Tessera's default.
    EdDSA,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// ECDSA P-384 with SHA-384. Not on the default allow-list.
    ES384,
}

impl Algorithm {
    /// What a verifier accepts unless told otherwise.
    pub const DEFAULT_ALLOWED: [Algorithm; 2] = [Algorithm::EdDSA, Algorithm::ES256];

    /// The JOSE name (`alg` header value).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EdDSA => "EdDSA",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
        }
    }

    /// Exact, case-sensitive match on the JOSE name; anything else
    /// (`none`, `HS256`, `RS256`, `eddsa`) is `None`.
    pub fn from_jose_name(name: &str) -> Option<Self> {
        match name {
            "EdDSA" => Some(Self::EdDSA),
            "ES256" => Some(Self::ES256),
            "ES384" => Some(Self::ES384),
            _ => None,
        }
    }

    /// The algorithm a JWK's key type and curve imply, if any we support.
    pub(crate) fn for_key(jwk: &Jwk) -> Option<Self> {
        match &jwk.algorithm {
            AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
                Some(Self::EdDSA)
            }
            AlgorithmParameters::EllipticCurve(p) => match p.curve {
                EllipticCurve::P256 => Some(Self::ES256),
                EllipticCurve::P384 => Some(Self::ES384),
                _ => None,
            },
            _ => None,
        }
    }

    pub(crate) fn to_jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        match self {
            Self::EdDSA => jsonwebtoken::Algorithm::EdDSA,
            Self::ES256 => jsonwebtoken::Algorithm::ES256,
            Self::ES384 => jsonwebtoken::Algorithm::ES384,
        }
    }

    /// Length of one public coordinate (`x`, and `y` for EC), in bytes.
    pub(crate) fn coordinate_len(self) -> usize {
        match self {
            Self::EdDSA | Self::ES256 => 32,
            Self::ES384 => 48,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
