//! The CSRF check: nothing but the token of the session with its current
//! session token passes, whatever is presented; the check never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::{CsrfKey, SessionId, TokenHash};

fuzz_target!(|data: &[u8]| {
    if data.len() < 48 {
        return;
    }
    let (id, rest) = data.split_at(16);
    let (hash, rest) = rest.split_at(32);
    let session = SessionId(uuid::Uuid::from_bytes(id.try_into().unwrap()));
    let token = TokenHash(hash.try_into().unwrap());
    let key = CsrfKey::from_bytes([7u8; 32]);
    let Ok(presented) = std::str::from_utf8(rest) else {
        return;
    };
    let genuine = key.token_for(session, &token);
    assert_eq!(key.verify(session, &token, presented), presented == genuine);
    assert!(key.verify(session, &token, &genuine));
});
