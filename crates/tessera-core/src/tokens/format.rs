//! The refresh token's formats, and the server key behind them.
//!
//! A refresh token names its family and generation: base64url (no padding,
//! 98 characters) of 73 bytes,
//!
//! ```text
//! 0x02 | family id (16) | generation (u64, big-endian, 8) | secret (32) | tag (16)
//! ```
//!
//! - The secret makes the token: the first of a family is random (256 bits
//!   from the OS), each successor's is an HMAC of the token it replaces, so
//!   every retry of one rotation derives the same successor. The store keeps
//!   only the SHA-256 of the live token (and of the one before it).
//! - The tag is an HMAC of everything before it, truncated to 128 bits.
//!   Only the server mints tags, so a token whose tag verifies is one the
//!   server handed out: an older generation of a family is proof of reuse,
//!   with no row kept per spent token. A token whose tag does not verify is
//!   refused before the store is asked.
//!
//! Tokens of the older format are 32 random bytes (43 characters); their
//! successors keep that format, so a chain begun before the change rotates
//! through `refresh_tokens` until it expires.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;
use uuid::Uuid;

const VERSION: u8 = 2;
const BODY: usize = 1 + 16 + 8 + 32;
const TAG: usize = 16;
const BYTES: usize = BODY + TAG;
/// The length of a current refresh token.
pub(crate) const CHARS: usize = 98;

/// What a current refresh token names (its tag verified).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Named {
    pub family: Uuid,
    pub generation: i64,
}

/// The server's refresh-token key: derives successors and tags.
pub(crate) struct RefreshKey(SecretBox<[u8; 32]>);

impl std::fmt::Debug for RefreshKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshKey([redacted])")
    }
}

impl RefreshKey {
    pub(crate) fn new(key: [u8; 32]) -> Self {
        Self(SecretBox::new(Box::new(key)))
    }

    fn mac(&self, label: &[u8]) -> Hmac<Sha256> {
        #[allow(clippy::expect_used)]
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose_secret())
            .expect("HMAC takes a key of any length");
        mac.update(label);
        mac
    }

    /// The successor of a token of the older format (43 characters).
    pub(crate) fn successor_v1(&self, presented: &str) -> String {
        let mut mac = self.mac(b"tessera-refresh-successor-v1:");
        mac.update(presented.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// The first token of `family` (generation 0).
    pub(crate) fn first(&self, family: Uuid) -> String {
        self.encode(family, 0, &crate::token::random_bytes::<32>())
    }

    /// The successor of `presented` (which names `named`): the next
    /// generation, its secret derived from `presented`. `None` past the
    /// last generation.
    pub(crate) fn successor(&self, presented: &str, named: Named) -> Option<String> {
        let generation = named.generation.checked_add(1)?;
        let mut mac = self.mac(b"tessera-refresh-successor-v2:");
        mac.update(presented.as_bytes());
        let secret: [u8; 32] = mac.finalize().into_bytes().into();
        Some(self.encode(named.family, generation, &secret))
    }

    /// What `presented` names, if it is a current token whose tag verifies.
    pub(crate) fn parse(&self, presented: &str) -> Option<Named> {
        if presented.len() != CHARS {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(presented).ok()?;
        let bytes: [u8; BYTES] = bytes.try_into().ok()?;
        let (body, tag) = bytes.split_at(BODY);
        let mut mac = self.mac(b"tessera-refresh-token-v2:");
        mac.update(body);
        mac.verify_truncated_left(tag).ok()?;
        if body[0] != VERSION {
            return None;
        }
        let family = Uuid::from_slice(&body[1..17]).ok()?;
        let generation = u64::from_be_bytes(body[17..25].try_into().ok()?);
        Some(Named {
            family,
            generation: i64::try_from(generation).ok()?,
        })
    }

    fn encode(&self, family: Uuid, generation: i64, secret: &[u8; 32]) -> String {
        let mut bytes = [0_u8; BYTES];
        bytes[0] = VERSION;
        bytes[1..17].copy_from_slice(family.as_bytes());
        bytes[17..25].copy_from_slice(&generation.to_be_bytes());
        bytes[25..BODY].copy_from_slice(secret);
        let mut mac = self.mac(b"tessera-refresh-token-v2:");
        mac.update(&bytes[..BODY]);
        bytes[BODY..].copy_from_slice(&mac.finalize().into_bytes()[..TAG]);
        URL_SAFE_NO_PAD.encode(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> RefreshKey {
        RefreshKey::new([byte; 32])
    }

    #[test]
    fn a_first_token_names_its_family_at_generation_zero() {
        let family = Uuid::new_v4();
        let token = key(1).first(family);
        assert_eq!(token.len(), CHARS);
        assert_eq!(
            key(1).parse(&token),
            Some(Named {
                family,
                generation: 0
            })
        );
    }

    #[test]
    fn first_tokens_are_random_successors_are_derived() {
        let family = Uuid::new_v4();
        let k = key(1);
        let first = k.first(family);
        assert_ne!(first, k.first(family));
        let named = k.parse(&first).unwrap();
        let next = k.successor(&first, named).unwrap();
        assert_eq!(Some(next.clone()), k.successor(&first, named));
        assert_eq!(
            k.parse(&next),
            Some(Named {
                family,
                generation: 1
            })
        );
        assert_ne!(k.successor(&next, k.parse(&next).unwrap()), Some(next));
    }

    #[test]
    fn another_key_or_any_changed_character_fails_the_tag() {
        let token = key(1).first(Uuid::new_v4());
        assert_eq!(key(2).parse(&token), None);
        for i in 0..token.len() {
            let mut chars: Vec<char> = token.chars().collect();
            chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
            let forged: String = chars.into_iter().collect();
            assert_eq!(key(1).parse(&forged), None, "changed at {i}");
        }
    }

    #[test]
    fn a_forged_generation_or_family_fails_the_tag() {
        let k = key(1);
        let token = k.first(Uuid::new_v4());
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        bytes[24] ^= 1;
        assert_eq!(k.parse(&URL_SAFE_NO_PAD.encode(&bytes)), None);
        bytes[24] ^= 1;
        bytes[3] ^= 0x80;
        assert_eq!(k.parse(&URL_SAFE_NO_PAD.encode(&bytes)), None);
    }

    #[test]
    fn odd_input_is_refused_without_a_panic() {
        let k = key(1);
        for odd in [
            String::new(),
            "A".repeat(CHARS),
            "é".repeat(CHARS / 2),
            "!".repeat(CHARS),
            "A".repeat(43),
            "A".repeat(CHARS + 1),
        ] {
            assert_eq!(k.parse(&odd), None);
        }
    }

    #[test]
    fn the_last_generation_has_no_successor() {
        let k = key(1);
        let token = k.encode(Uuid::new_v4(), i64::MAX, &[7; 32]);
        let named = k.parse(&token).unwrap();
        assert_eq!(named.generation, i64::MAX);
        assert_eq!(k.successor(&token, named), None);
    }

    #[test]
    fn a_generation_beyond_i64_is_refused_even_with_a_good_tag() {
        let k = key(1);
        let mut bytes = [0_u8; BYTES];
        bytes[0] = VERSION;
        bytes[17..25].copy_from_slice(&u64::MAX.to_be_bytes());
        let mut mac = k.mac(b"tessera-refresh-token-v2:");
        mac.update(&bytes[..BODY]);
        bytes[BODY..].copy_from_slice(&mac.finalize().into_bytes()[..TAG]);
        assert_eq!(k.parse(&URL_SAFE_NO_PAD.encode(bytes)), None);
    }

    #[test]
    fn a_good_tag_on_another_version_is_refused() {
        let k = key(1);
        let mut bytes = [0_u8; BYTES];
        bytes[0] = 3;
        let mut mac = k.mac(b"tessera-refresh-token-v2:");
        mac.update(&bytes[..BODY]);
        bytes[BODY..].copy_from_slice(&mac.finalize().into_bytes()[..TAG]);
        assert_eq!(k.parse(&URL_SAFE_NO_PAD.encode(bytes)), None);
    }
}
