//! The `__Host-tessera_oauth` cookie's contents: AES-256-GCM with the
//! deployment's sealing key (kept in the database, so every instance can
//! open what another sealed, and no other deployment can).

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Serialize, de::DeserializeOwned};

/// Binds a sealed value to its purpose: a value sealed for something else
/// with the same key does not open here.
const AAD: &[u8] = b"tessera-oauth-flow-v1";

/// Sealed values above this are refused unopened (a cookie is ≤ 4 KiB).
const MAX_SEALED_CHARS: usize = 4096;

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
        let mut key = [0u8; KEY_LEN];
        aws_lc_rs::rand::fill(&mut key).expect("the OS random source works");
        key
    }

    pub fn seal<T: Serialize>(&self, value: &T) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).expect("the OS random source works");
        let mut data = serde_json::to_vec(value).expect("flow state serialises");
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(AAD),
                &mut data,
            )
            .expect("AES-GCM sealing of a small value succeeds");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// `None` for anything this key did not seal, tampered or truncated.
    pub fn open<T: DeserializeOwned>(&self, sealed: &str) -> Option<T> {
        if sealed.len() > MAX_SEALED_CHARS {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, data) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut data = data.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(AAD), &mut data)
            .ok()?;
        serde_json::from_slice(plain).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct V {
        a: String,
    }

    #[test]
    fn round_trip_and_refusals() {
        let s = Sealer::new(&Sealer::generate_key()).unwrap();
        let v = V { a: "x".into() };
        let sealed = s.seal(&v);
        assert_eq!(s.open::<V>(&sealed), Some(v));
        assert_ne!(
            s.seal(&V { a: "x".into() }),
            sealed,
            "fresh nonce each time"
        );
        let other = Sealer::new(&Sealer::generate_key()).unwrap();
        assert_eq!(other.open::<V>(&sealed), None, "another deployment's key");
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert_eq!(
            s.open::<V>(&URL_SAFE_NO_PAD.encode(bytes)),
            None,
            "tampered"
        );
        assert_eq!(s.open::<V>(""), None);
        assert_eq!(s.open::<V>(&"A".repeat(5000)), None);
        assert!(Sealer::new(&[0u8; 16]).is_none(), "wrong key length");
    }

    proptest! {
        #[test]
        fn garbage_never_opens(junk in ".{0,300}") {
            let s = Sealer::new(&[7u8; KEY_LEN]).unwrap();
            prop_assert_eq!(s.open::<V>(&junk), None);
        }
    }
}
