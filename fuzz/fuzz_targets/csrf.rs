//! The CSRF check: nothing but the session's own token passes, whatever is
//! presented; the check never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::{CsrfKey, SessionId};

fuzz_target!(|data: &[u8]| {
    if data.len() < 16 {
        return;
    }
    let (id, rest) = data.split_at(16);
    let session = SessionId(uuid::Uuid::from_bytes(id.try_into().unwrap()));
    let key = CsrfKey::from_bytes([7u8; 32]);
    let Ok(presented) = std::str::from_utf8(rest) else {
        return;
    };
    let genuine = key.token_for(session);
    assert_eq!(key.verify(session, presented), presented == genuine);
    assert!(key.verify(session, &genuine));
});
