//! The OAuth flow cookie and return_to: a sealed value that this key did
//! not seal never opens, and return_to always comes out a local path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_oauth::{Flow, Sealer, return_to};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let sealer = Sealer::new(&[9u8; 32]).expect("32-byte key");
    assert!(
        sealer.open::<Flow>(text).is_none(),
        "forged flow cookie opened"
    );
    if let Ok(path) = return_to::sanitize(Some(text)) {
        assert!(path.starts_with('/'));
        assert!(!path.starts_with("//"));
        assert!(!path.contains('\\'));
        assert!(!path.chars().any(|c| c.is_control() || c.is_whitespace()));
    }
});
