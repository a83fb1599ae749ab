//! Cookie headers as a browser (or an attacker) might send them: reading
//! the session, CSRF and OAuth cookies never panics, and what is read is
//! always a valid session token or nothing.
#![no_main]

use http::{HeaderMap, HeaderValue, header};
use libfuzzer_sys::fuzz_target;
use tessera_core::SessionToken;
use tessera_http::cookies;

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for part in data.split(|b| *b == b'\n') {
        if let Ok(v) = HeaderValue::from_bytes(part) {
            headers.append(header::COOKIE, v);
        }
    }
    for name in [
        cookies::SESSION_COOKIE,
        cookies::CSRF_COOKIE,
        tessera_http::cookies::OAUTH_COOKIE,
    ] {
        if let Some(value) = cookies::read(&headers, name) {
            if let Some(token) = SessionToken::parse(&value) {
                assert_eq!(token.expose(), value, "a parsed token is what was sent");
            }
        }
    }
});
