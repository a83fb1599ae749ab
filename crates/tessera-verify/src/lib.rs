#![doc = include_str!("../README.md")]

mod algorithm;
mod builder;
mod claims;
mod clock;
mod error;
mod extract;
mod jwks;
mod keys;
mod token;
mod verifier;

pub use algorithm::Algorithm;
pub use builder::VerifierBuilder;
pub use claims::Claims;
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{ConfigError, JwksError, VerifyError};
pub use extract::{AccessToken, AuthRejection, RequireMfa, RequireRole, Role};
pub use jsonwebtoken::jwk::{Jwk, JwkSet};
pub use jwks::CachePolicy;
pub use verifier::Verifier;
