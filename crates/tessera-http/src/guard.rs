//! Checks that run before any handler: the BFF key and the origin of unsafe
//! requests.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tower::{Layer, Service};

use crate::AppState;
use crate::problem::ApiError;

pub const BFF_KEY_HEADER: &str = "tessera-bff-key";
pub const ADMIN_KEY_HEADER: &str = "tessera-admin-key";
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

/// The checks every request passes before routing, in one layer: the BFF
/// key, then the origin. A tower layer rather than axum's `from_fn`, which
/// boxes the inner service and the future on every request.
#[derive(Debug, Clone)]
pub struct GateLayer(pub AppState);

impl<S> Layer<S> for GateLayer {
    type Service = Gate<S>;
    fn layer(&self, inner: S) -> Gate<S> {
        Gate {
            inner,
            state: self.0.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Gate<S> {
    inner: S,
    state: AppState,
}

impl<S> Service<Request> for Gate<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = GateFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        match refusal(&self.state, &req) {
            Some(refused) => GateFuture::Refused {
                response: Some(refused.into_response()),
            },
            None => GateFuture::Passed {
                inner: self.inner.call(req),
            },
        }
    }
}

pin_project_lite::pin_project! {
    #[project = GateProjection]
    #[allow(missing_debug_implementations)]
    pub enum GateFuture<F> {
        Refused { response: Option<Response> },
        Passed { #[pin] inner: F },
    }
}

impl<F, E> Future for GateFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            GateProjection::Refused { response } => {
                // Polled again after it answered (a caller bug): a 500, never
                // a blank 200.
                Poll::Ready(Ok(response.take().unwrap_or_else(|| {
                    StatusCode::INTERNAL_SERVER_ERROR.into_response()
                })))
            }
            GateProjection::Passed { inner } => inner.poll(cx),
        }
    }
}

/// Why the request is refused before routing, if it is.
fn refusal(state: &AppState, req: &Request) -> Option<ApiError> {
    if !bff_key_ok(state, req) {
        return Some(ApiError::BffKeyInvalid);
    }
    if !origin_ok(state, req) {
        return Some(ApiError::OriginForbidden);
    }
    None
}

/// With a BFF key configured, every `/v1/*` request must present it.
/// Compared as SHA-256 digests in constant time, so neither the content nor
/// the length of the key leaks through timing.
///
/// The one exception: a server-to-server caller of `/v1/admin/*` with the
/// admin key, which never comes through the BFF (a request carrying both
/// keys is not exempt).
fn bff_key_ok(state: &AppState, req: &Request) -> bool {
    match &state.config.bff_key {
        Some(expected) if is_api(req.uri().path()) => {
            key_matches(req.headers(), BFF_KEY_HEADER, expected.expose_secret())
                || admin_key_caller(state, req.uri().path(), req.headers())
        }
        _ => true,
    }
}

/// A request to `/v1/admin/*` presenting the configured admin key and no
/// BFF key.
pub(crate) fn admin_key_caller(state: &AppState, path: &str, headers: &HeaderMap) -> bool {
    path.starts_with("/v1/admin/")
        && !headers.contains_key(BFF_KEY_HEADER)
        && state
            .config
            .admin_key
            .as_ref()
            .is_some_and(|k| key_matches(headers, ADMIN_KEY_HEADER, k.expose_secret()))
}

pub(crate) fn key_matches(headers: &HeaderMap, header: &str, expected: &str) -> bool {
    let Some(presented) = headers.get(header) else {
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
        assert!(key_matches(
            &headers(&[(BFF_KEY_HEADER, "k3y")]),
            BFF_KEY_HEADER,
            "k3y"
        ));
        assert!(!key_matches(
            &headers(&[(BFF_KEY_HEADER, "k3")]),
            BFF_KEY_HEADER,
            "k3y"
        ));
        assert!(!key_matches(&headers(&[]), BFF_KEY_HEADER, "k3y"));
    }

    #[test]
    fn api_paths() {
        assert!(is_api("/v1/session"));
        assert!(!is_api("/v10/x"));
        assert!(!is_api("/healthz"));
    }
}
