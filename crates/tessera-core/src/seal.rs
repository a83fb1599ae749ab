//! Values sealed with a deployment key: AES-256-GCM, a fresh random nonce
//! per value, and associated data naming what the value is for, so a value
//! sealed for one purpose never opens as another. The key is kept in the
//! database (the secrets table), so every instance opens what another
//! sealed and no other deployment can.
//!
//! Used for the OAuth flow cookie and for TOTP secrets at rest.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

pub const KEY_LEN: usize = 32;

pub struct Sealer {
    key: LessSafeKey,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

impl Sealer {
    /// `key` must be [`KEY_LEN`] bytes.
    pub fn new(key: &[u8]) -> Option<Self> {
        let key = UnboundKey::new(&AES_256_GCM, key).ok()?;
        Some(Self {
            key: LessSafeKey::new(key),
        })
    }

    /// A fresh random key, for the secrets store to keep.
    pub fn generate_key() -> [u8; KEY_LEN] {
        crate::token::random_bytes::<KEY_LEN>()
    }

    /// Nonce, then ciphertext and tag.
    pub fn seal(&self, purpose: &[u8], plain: &[u8]) -> Vec<u8> {
        let nonce = crate::token::random_bytes::<NONCE_LEN>();
        let mut data = plain.to_vec();
        #[allow(clippy::expect_used)]
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(purpose),
                &mut data,
            )
            .expect("AES-GCM sealing of a small value succeeds");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        out
    }

    /// `None` for anything this key did not seal for `purpose`, tampered
    /// or truncated.
    pub fn open(&self, purpose: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, data) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut data = data.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(purpose), &mut data)
            .ok()?;
        Some(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_only_what_it_sealed_for_that_purpose() {
        let s = Sealer::new(&Sealer::generate_key()).unwrap();
        let sealed = s.seal(b"a", b"secret");
        assert_eq!(s.open(b"a", &sealed).as_deref(), Some(&b"secret"[..]));
        assert_eq!(s.open(b"b", &sealed), None);
        let other = Sealer::new(&Sealer::generate_key()).unwrap();
        assert_eq!(other.open(b"a", &sealed), None);
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(s.open(b"a", &tampered), None);
        assert_eq!(s.open(b"a", &sealed[..5]), None);
        assert_ne!(s.seal(b"a", b"secret"), sealed, "a fresh nonce each time");
    }
}
