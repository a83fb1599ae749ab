//! The CSRF token binding.
//!
//! The CSRF cookie's value is an HMAC, under a server secret, of the session
//! id and the hash of the session's current token: a token taken from
//! another session (or made up) does not verify, no server-side state is
//! needed to check it, and when the session's token is rotated (a password
//! change) the CSRF token changes with it, so the old one stops working.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;

use crate::session::SessionId;
use crate::token::TokenHash;

/// v2: bound to the token as well as the session (v1 was the session id
/// alone, which outlived a token rotation).
const CONTEXT: &[u8] = b"tessera-csrf-v2:";

pub struct CsrfKey(SecretBox<[u8; 32]>);

impl CsrfKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(SecretBox::new(Box::new(bytes)))
    }

    fn mac(&self, session: SessionId, token: &TokenHash) -> Hmac<Sha256> {
        #[allow(clippy::expect_used)]
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose_secret())
            .expect("HMAC takes a key of any length");
        mac.update(CONTEXT);
        mac.update(session.0.as_bytes());
        mac.update(&token.0);
        mac
    }

    /// The CSRF token of the session `session` while its token hashes to
    /// `token`.
    pub fn token_for(&self, session: SessionId, token: &TokenHash) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(session, token).finalize().into_bytes())
    }

    /// Constant-time check that `presented` is the CSRF token of this
    /// session with this token.
    pub fn verify(&self, session: SessionId, token: &TokenHash, presented: &str) -> bool {
        if presented.len() > 64 {
            return false;
        }
        let Ok(tag) = URL_SAFE_NO_PAD.decode(presented) else {
            return false;
        };
        self.mac(session, token).verify_slice(&tag).is_ok()
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
    fn token_verifies_only_for_its_session_token_and_key() {
        let key = CsrfKey::from_bytes([7; 32]);
        let (a, b) = (SessionId::new(), SessionId::new());
        let (t, rotated) = (TokenHash([1; 32]), TokenHash([2; 32]));
        let token = key.token_for(a, &t);
        assert!(key.verify(a, &t, &token));
        assert!(!key.verify(b, &t, &token));
        assert!(
            !key.verify(a, &rotated, &token),
            "a rotated token's session"
        );
        assert!(!CsrfKey::from_bytes([8; 32]).verify(a, &t, &token));
        assert!(!key.verify(a, &t, ""));
        assert!(!key.verify(a, &t, "not base64 !"));
        assert!(!key.verify(a, &t, &token[..token.len() - 1]));
    }
}
