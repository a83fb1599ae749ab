//! Token parsing: session/refresh tokens as presented, and access tokens
//! (JWTs) through tessera-verify against a fixed key set. Nothing panics,
//! and nothing made up verifies.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tessera_core::SessionToken;
use tessera_verify::{JwkSet, Verifier};

// A public Ed25519 key (RFC 8037's example), no private part anywhere.
const JWKS: &str = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k1","alg":"EdDSA","use":"sig"}]}"#;

fn verifier() -> &'static (Verifier, tokio::runtime::Runtime) {
    static V: OnceLock<(Verifier, tokio::runtime::Runtime)> = OnceLock::new();
    V.get_or_init(|| {
        let keys: JwkSet = serde_json::from_str(JWKS).expect("valid JWKS");
        let verifier = Verifier::from_jwk_set(keys, "https://app.example", "tessera")
            .expect("verifier builds");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        (verifier, rt)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(token) = SessionToken::parse(text) {
        assert_eq!(token.expose(), text);
        assert_eq!(token.hash(), SessionToken::parse(text).unwrap().hash());
    }
    let (verifier, rt) = verifier();
    let verdict = rt.block_on(verifier.verify(text));
    assert!(verdict.is_err(), "a made-up token verified");
});
