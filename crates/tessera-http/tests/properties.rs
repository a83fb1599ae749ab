//! Property tests of the request parsers: any bytes in a body, a cookie
//! header or a CSRF header get an answer (never a panic), and only a
//! well-formed JSON object can become a request value.
#![allow(clippy::unwrap_used)]

use axum::http::{HeaderMap, HeaderValue, header};
use proptest::prelude::*;

#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)]
struct Login {
    email: String,
    password: String,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn cookie_headers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(v) = HeaderValue::from_bytes(&bytes) {
            let mut h = HeaderMap::new();
            h.append(header::COOKIE, v);
            let _ = tessera_http::cookies::read(&h, tessera_http::cookies::SESSION_COOKIE);
        }
    }

    #[test]
    fn json_bodies_never_panic_and_only_objects_parse(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(login) = tessera_http::json::parse_for_tests::<Login>(&bytes) {
            let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            prop_assert!(value.is_object());
            prop_assert_eq!(value["email"].as_str(), Some(login.email.as_str()));
        }
    }

    #[test]
    fn json_shaped_inputs_never_panic(email in any::<Option<String>>(), password in prop::option::of(".{0,40}"), extra in any::<i64>()) {
        let body = serde_json::json!({"email": email, "password": password, "extra": extra});
        let _ = tessera_http::json::parse_for_tests::<Login>(body.to_string().as_bytes());
    }
}
