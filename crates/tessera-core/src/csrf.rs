//! The CSRF token binding.
//!
//! The CSRF cookie's value is an HMAC of the session id under a server
//! secret: a token taken from another session (or made up) does not verify,
//! and no server-side state is needed to check it.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;

use crate::session::SessionId;

const CONTEXT: &[u8] = b"tessera-csrf-v1:";

pub struct CsrfKey(SecretBox<[u8; 32]>);

impl CsrfKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(SecretBox::new(Box::new(bytes)))
    }

    fn mac(&self, session: SessionId) -> Hmac<Sha256> {
        #[allow(clippy::expect_used)]
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose_secret())
            .expect("HMAC takes a key of any length");
        mac.update(CONTEXT);
        mac.update(session.0.as_bytes());
        mac
    }

    pub fn token_for(&self, session: SessionId) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(session).finalize().into_bytes())
    }

    /// Constant-time check that `presented` is this session's token.
    pub fn verify(&self, session: SessionId, presented: &str) -> bool {
        if presented.len() > 64 {
            return false;
        }
        let Ok(tag) = URL_SAFE_NO_PAD.decode(presented) else {
            return false;
        };
        self.mac(session).verify_slice(&tag).is_ok()
    }
}

impl fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CsrfKey([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_verifies_only_for_its_session_and_key() {
        let key = CsrfKey::from_bytes([7; 32]);
        let (a, b) = (SessionId::new(), SessionId::new());
        let token = key.token_for(a);
        assert!(key.verify(a, &token));
        assert!(!key.verify(b, &token));
        assert!(!CsrfKey::from_bytes([8; 32]).verify(a, &token));
        assert!(!key.verify(a, ""));
        assert!(!key.verify(a, "not base64 !"));
        assert!(!key.verify(a, &token[..token.len() - 1]));
    }
}
