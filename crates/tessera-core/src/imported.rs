//! Password hashes imported from another auth system (`tessera user
//! import`), checked at sign-in and replaced by an Argon2id hash of the same
//! password right after (the usual rehash), so users keep their passwords
//! and the old algorithm disappears one sign-in at a time.
//!
//! Accepted: bcrypt (`$2a$`, `$2b$`, `$2y$`, what Auth.js set-ups and most
//! Node apps store), scrypt as a PHC string (`$scrypt$ln=…,r=…,p=…$…`), and
//! Better Auth's default `salt:key` scrypt format, which [`normalize`]
//! turns into that PHC string at import.

use argon2::password_hash::{PasswordHash, PasswordVerifier as _};
use base64::Engine as _;

/// Better Auth's scrypt parameters (`N = 16384`, `r = 16`, `p = 1`,
/// 64-byte key; the salt is used as its hex text).
const BETTER_AUTH_LN: u8 = 14;
const BETTER_AUTH_R: u32 = 16;

/// Whether `stored` is a hash of an imported kind (not Argon2).
pub fn is_imported(stored: &str) -> bool {
    is_bcrypt(stored) || stored.starts_with("$scrypt$")
}

fn is_bcrypt(stored: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"]
        .iter()
        .any(|p| stored.starts_with(p))
}

/// Checks `password` against an imported hash. `None`: not a kind this
/// module knows.
pub fn verify(password: &str, stored: &str) -> Option<bool> {
    if is_bcrypt(stored) {
        return Some(bcrypt::verify(password, stored).unwrap_or(false));
    }
    if stored.starts_with("$scrypt$") {
        let parsed = PasswordHash::new(stored).ok()?;
        return Some(
            scrypt::Scrypt
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
        );
    }
    None
}

/// A hash as it will be stored: Argon2id and bcrypt and scrypt PHC strings
/// as they are, Better Auth's `salt:key` as a scrypt PHC string. `Err`
/// says why a hash cannot be imported.
pub fn normalize(hash: &str) -> Result<String, String> {
    if hash.starts_with("$argon2id$") {
        PasswordHash::new(hash).map_err(|e| format!("not a valid Argon2id PHC string: {e}"))?;
        return Ok(hash.to_owned());
    }
    if is_bcrypt(hash) {
        return if hash.len() == 60 {
            Ok(hash.to_owned())
        } else {
            Err("not a 60-character bcrypt hash".into())
        };
    }
    if hash.starts_with("$scrypt$") {
        PasswordHash::new(hash).map_err(|e| format!("not a valid scrypt PHC string: {e}"))?;
        return Ok(hash.to_owned());
    }
    if let Some((salt, key)) = hash.split_once(':') {
        let is_hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
        if is_hex(salt) && is_hex(key) && key.len() == 128 {
            let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
            let key = hex::decode(key).map_err(|e| e.to_string())?;
            return Ok(format!(
                "$scrypt$ln={BETTER_AUTH_LN},r={BETTER_AUTH_R},p=1${}${}",
                b64.encode(salt.as_bytes()),
                b64.encode(key)
            ));
        }
    }
    Err("unknown hash format (accepted: argon2id, bcrypt $2a/$2b/$2y, scrypt PHC, Better Auth salt:key)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcrypt_hashes_verify() {
        let stored = bcrypt::hash("correct horse", 4).unwrap();
        assert!(is_imported(&stored));
        assert_eq!(verify("correct horse", &stored), Some(true));
        assert_eq!(verify("wrong horse", &stored), Some(false));
        assert_eq!(normalize(&stored).unwrap(), stored);
        assert!(normalize("$2b$04$short").is_err());
    }

    #[test]
    fn better_auth_scrypt_hashes_verify_after_normalizing() {
        // What Better Auth stores: scrypt(N=16384, r=16, p=1, dkLen=64) of
        // the password with the salt's hex text as salt, `salt:key` in hex.
        let salt = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
        let params = scrypt::Params::new(14, 16, 1, 64).unwrap();
        let mut key = [0u8; 64];
        scrypt::scrypt(b"correct horse", salt.as_bytes(), &params, &mut key).unwrap();
        let stored = normalize(&format!("{salt}:{}", hex::encode(key))).unwrap();
        assert!(stored.starts_with("$scrypt$ln=14,r=16,p=1$"), "{stored}");
        assert_eq!(verify("correct horse", &stored), Some(true));
        assert_eq!(verify("wrong horse", &stored), Some(false));
    }

    #[test]
    fn other_formats_are_refused_with_a_reason() {
        for bad in ["", "md5:abc", "plain text", "$1$abc$def", "abcd:12"] {
            assert!(normalize(bad).is_err(), "{bad}");
        }
        assert_eq!(
            verify("x", "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA"),
            None
        );
    }
}
