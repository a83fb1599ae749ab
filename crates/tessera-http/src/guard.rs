//! Checks that run before any handler: the BFF key and the origin of unsafe
//! requests.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::problem::ApiError;

pub const BFF_KEY_HEADER: &str = "tessera-bff-key";
pub const CLIENT_IP_HEADER: &str = "tessera-client-ip";

/// Lowercased, without a trailing slash: the form `Origin` headers take.
pub fn normalize_origin(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

fn is_api(path: &str) -> bool {
    path == "/v1" || path.starts_with("/v1/")
}

pub fn is_unsafe(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// The checks every request passes before routing, in one middleware (each
/// middleware layer costs a boxed future and a clone on every request):
/// the BFF key, then the origin.
pub async fn gate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !bff_key_ok(&state, &req) {
        return ApiError::BffKeyInvalid.into_response();
    }
    if !origin_ok(&state, &req) {
        return ApiError::OriginForbidden.into_response();
    }
    next.run(req).await
}

/// With a BFF key configured, every `/v1/*` request must present it.
/// Compared as SHA-256 digests in constant time, so neither the content nor
/// the length of the key leaks through timing.
fn bff_key_ok(state: &AppState, req: &Request) -> bool {
    match &state.config.bff_key {
        Some(expected) if is_api(req.uri().path()) => {
            key_matches(req.headers(), expected.expose_secret())
        }
        _ => true,
    }
}

pub(crate) fn key_matches(headers: &HeaderMap, expected: &str) -> bool {
    let Some(presented) = headers.get(BFF_KEY_HEADER) else {
        return false;
    };
    let a = Sha256::digest(presented.as_bytes());
    let b = Sha256::digest(expected.as_bytes());
    a.ct_eq(&b).into()
}

/// Unsafe requests from a foreign origin are refused, login and register
/// included (login CSRF). An absent `Origin` is allowed: server-to-server
/// calls and old clients send none, and cookie-authenticated requests still
/// need the CSRF token.
fn origin_ok(state: &AppState, req: &Request) -> bool {
    !is_unsafe(req.method()) || origin_allowed(req.headers(), &state.config.public_origins)
}

fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    // Browsers send each header once; a request with several is checked on
    // all of them, so no second value can hide a foreign one.
    if headers
        .get_all("sec-fetch-site")
        .iter()
        .any(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"))
    {
        return false;
    }
    headers.get_all(axum::http::header::ORIGIN).iter().all(|v| {
        v.to_str()
            .is_ok_and(|o| allowed.iter().any(|a| *a == normalize_origin(o)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn origin_rules() {
        let allowed = vec!["http://localhost:3000".to_owned()];
        assert!(origin_allowed(&headers(&[]), &allowed));
        assert!(origin_allowed(
            &headers(&[("origin", "http://localhost:3000")]),
            &allowed
        ));
        assert!(origin_allowed(
            &headers(&[("origin", "HTTP://LOCALHOST:3000/")]),
            &allowed
        ));
        assert!(!origin_allowed(
            &headers(&[("origin", "http://evil.example")]),
            &allowed
        ));
        assert!(!origin_allowed(&headers(&[("origin", "null")]), &allowed));
        assert!(!origin_allowed(
            &headers(&[("origin", "http://localhost:3001")]),
            &allowed
        ));
        assert!(!origin_allowed(
            &headers(&[("sec-fetch-site", "cross-site")]),
            &allowed
        ));
        assert!(origin_allowed(
            &headers(&[("sec-fetch-site", "same-origin")]),
            &allowed
        ));
    }

    #[test]
    fn bff_key_comparison() {
        assert!(key_matches(&headers(&[(BFF_KEY_HEADER, "k3y")]), "k3y"));
        assert!(!key_matches(&headers(&[(BFF_KEY_HEADER, "k3")]), "k3y"));
        assert!(!key_matches(&headers(&[]), "k3y"));
    }

    #[test]
    fn api_paths() {
        assert!(is_api("/v1/session"));
        assert!(!is_api("/v10/x"));
        assert!(!is_api("/healthz"));
    }
}
