//! The `__Host-tessera_oauth` cookie's contents: sealed with the
//! deployment's sealing key (`tessera_core::seal`), then base64url.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Serialize, de::DeserializeOwned};

/// Binds a sealed value to its purpose: a value sealed for something else
/// with the same key does not open here.
const AAD: &[u8] = b"tessera-oauth-flow-v1";

/// Sealed values above this are refused unopened (a cookie is ≤ 4 KiB).
const MAX_SEALED_CHARS: usize = 4096;

pub use tessera_core::seal::KEY_LEN;

#[derive(Debug)]
pub struct Sealer(tessera_core::seal::Sealer);

impl Sealer {
    /// `key` must be [`KEY_LEN`] bytes.
    pub fn new(key: &[u8]) -> Option<Self> {
        tessera_core::seal::Sealer::new(key).map(Self)
    }

    /// A fresh random key, for the secrets store to keep.
    pub fn generate_key() -> [u8; KEY_LEN] {
        tessera_core::seal::Sealer::generate_key()
    }

    pub fn seal<T: Serialize>(&self, value: &T) -> String {
        let data = serde_json::to_vec(value).expect("flow state serialises");
        URL_SAFE_NO_PAD.encode(self.0.seal(AAD, &data))
    }

    /// `None` for anything this key did not seal, tampered or truncated.
    pub fn open<T: DeserializeOwned>(&self, sealed: &str) -> Option<T> {
        if sealed.len() > MAX_SEALED_CHARS {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        serde_json::from_slice(&self.0.open(AAD, &bytes)?).ok()
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
