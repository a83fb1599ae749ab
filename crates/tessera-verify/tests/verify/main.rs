//! The verifier's integration tests, one binary: `verify` against real
//! keys and a real JWKS server, `extractor` through a real axum router;
//! `support` is what they share.
// Helpers are not #[test] fns, so the tests-only unwrap allowance misses them.
#![allow(clippy::unwrap_used)]

mod support;

mod extractor;
mod verify;
