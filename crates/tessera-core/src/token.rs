//! Opaque session tokens.
//!
//! A token is 256 bits from the OS CSPRNG, written base64url without padding
//! (43 characters). Stores keep only its SHA-256, so a copy of the store
//! yields nothing that can be presented as a cookie.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

const TOKEN_BYTES: usize = 32;
const TOKEN_CHARS: usize = 43;

/// Fills a buffer from the OS CSPRNG.
///
/// # Panics
/// When the operating system cannot provide randomness. There is no safe way
/// to go on minting credentials then, so this is the one deliberate panic.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut bytes).expect("the OS random number generator failed");
    bytes
}

/// A session token as given to the client. Never logged or debug-printed.
#[derive(Clone)]
pub struct SessionToken(SecretString);

impl SessionToken {
    pub fn generate() -> Self {
        Self(URL_SAFE_NO_PAD.encode(random_bytes::<TOKEN_BYTES>()).into())
    }

    /// Accepts only strings that could have been minted here; anything else
    /// is not looked up at all.
    pub fn parse(presented: &str) -> Option<Self> {
        if presented.len() != TOKEN_CHARS {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(presented).ok()?;
        (bytes.len() == TOKEN_BYTES).then(|| Self(presented.to_owned().into()))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.expose().as_bytes()).into())
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken([redacted])")
    }
}

/// SHA-256 of a token: what stores keep and look up by.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    /// Lower-case hex. On the hot path (every session read keys Redis by
    /// it): `hex::encode` collects an iterator of chars, about 10x the cost.
    pub fn to_hex(&self) -> String {
        let mut out = String::with_capacity(64);
        self.push_hex(&mut out);
        out
    }

    /// Appends [`Self::to_hex`] to `out`, so a key is built in one string.
    pub fn push_hex(&self, out: &mut String) {
        let mut buf = [0u8; 64];
        match hex::encode_to_slice(self.0, &mut buf)
            .ok()
            .and_then(|()| std::str::from_utf8(&buf).ok())
        {
            Some(digits) => out.push_str(digits),
            // 32 bytes always fit 64 ASCII digits; kept total all the same.
            None => out.push_str(&hex::encode(self.0)),
        }
    }

    pub fn from_hex(s: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Self(out))
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        Some(Self(bytes.try_into().ok()?))
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A hash is not a credential, but it is not for logs either.
        f.write_str("TokenHash(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_base64url_and_unique() {
        let a = SessionToken::generate();
        let b = SessionToken::generate();
        assert_eq!(a.expose().len(), TOKEN_CHARS);
        assert_eq!(URL_SAFE_NO_PAD.decode(a.expose()).unwrap().len(), 32);
        assert_ne!(a.expose(), b.expose());
        assert!(SessionToken::parse(a.expose()).is_some());
    }

    #[test]
    fn parse_refuses_anything_not_minted_here() {
        assert!(SessionToken::parse("").is_none());
        assert!(SessionToken::parse("short").is_none());
        assert!(SessionToken::parse(&"!".repeat(43)).is_none());
        assert!(SessionToken::parse(&"A".repeat(44)).is_none());
    }

    #[test]
    fn hash_is_sha256_of_the_token_text() {
        let t = SessionToken::generate();
        let expected: [u8; 32] = Sha256::digest(t.expose().as_bytes()).into();
        assert_eq!(t.hash().0, expected);
        assert_eq!(TokenHash::from_hex(&t.hash().to_hex()), Some(t.hash()));
        assert_eq!(t.hash().to_hex(), hex::encode(expected));
        let mut key = String::from("s:");
        t.hash().push_hex(&mut key);
        assert_eq!(key, format!("s:{}", hex::encode(expected)));
    }

    #[test]
    fn debug_never_shows_the_token() {
        let t = SessionToken::generate();
        assert!(!format!("{t:?}").contains(t.expose()));
    }
}
