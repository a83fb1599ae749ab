//! JSON request bodies: any bytes give a value or a 4xx problem, never a
//! panic or a 5xx.
#![no_main]

use axum::response::IntoResponse;
use libfuzzer_sys::fuzz_target;
use tessera_http::json::parse_for_tests;
use tessera_http::routes::{LoginRequest, RegisterRequest};

fn check<T: serde::de::DeserializeOwned>(data: &[u8]) {
    if let Err(e) = parse_for_tests::<T>(data) {
        let status = e.into_response().status();
        assert!(status.is_client_error(), "{status} for a bad body");
    }
}

fuzz_target!(|data: &[u8]| {
    check::<RegisterRequest>(data);
    check::<LoginRequest>(data);
    check::<serde_json::Value>(data);
});
