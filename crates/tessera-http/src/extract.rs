//! Extractors: who is calling ([`Authenticated`]) and from where
//! ([`Client`]).
//!
//! A session arrives either as the `__Host-tessera_session` cookie or as
//! `Authorization: Bearer <token>`. A browser attaches cookies on its own,
//! so an unsafe cookie-authenticated request must also prove it was made by
//! the app's own script: the `X-CSRF-Token` header must equal the CSRF
//! cookie and be the HMAC bound to this session. Bearer tokens are never
//! attached by a browser on its own, so they need no CSRF token.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, OptionalFromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use tessera_core::{AuthError, ClientInfo, Session, SessionToken};

use crate::AppState;
use crate::cookies::{self, CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE};
use crate::guard::{CLIENT_IP_HEADER, is_unsafe};
use crate::problem::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Cookie,
    Bearer,
}

/// A live session, CSRF-checked when it came by cookie on an unsafe method.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub session: Session,
    pub via: Via,
}

/// The credential the request presents, if any. `Authorization: Bearer`
/// replaces the cookie (a malformed bearer token counts as presenting a bad
/// one); any other scheme is not ours and is ignored, so it never hides the
/// cookie and its CSRF rules (a site behind HTTP Basic sends one with every
/// request).
fn presented(parts: &Parts) -> Option<(Option<SessionToken>, Via)> {
    if let Some(bearer) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| bearer_credentials(v.as_bytes()))
    {
        let token = std::str::from_utf8(bearer)
            .ok()
            .and_then(|t| SessionToken::parse(t.trim()));
        return Some((token, Via::Bearer));
    }
    cookies::read(&parts.headers, SESSION_COOKIE)
        .map(|raw| (SessionToken::parse(&raw), Via::Cookie))
}

/// What follows `Bearer ` (scheme matched case-insensitively, RFC 9110
/// §11.1), or `None` for another scheme.
fn bearer_credentials(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at_checked(7)?;
    scheme.eq_ignore_ascii_case(b"bearer ").then_some(rest)
}

/// The session cookie's token, for login to end the session it replaces.
pub fn session_cookie(parts: &Parts) -> Option<SessionToken> {
    cookies::read(&parts.headers, SESSION_COOKIE).and_then(|raw| SessionToken::parse(&raw))
}

fn check_csrf(parts: &Parts, state: &AppState, session: &Session) -> Result<(), ApiError> {
    let header = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    let cookie = cookies::read(&parts.headers, CSRF_COOKIE);
    match (header, cookie) {
        (Some(h), Some(c)) if h == c && state.csrf.verify(session.id, &session.token_hash, h) => {
            Ok(())
        }
        _ => Err(ApiError::CsrfFailed),
    }
}

pub(crate) async fn authenticate(
    parts: &Parts,
    state: &AppState,
) -> Result<Option<Authenticated>, ApiError> {
    let Some((token, via)) = presented(parts) else {
        return Ok(None);
    };
    let Some(token) = token else {
        return Ok(None);
    };
    let session = match state.auth.authenticate(&token).await {
        Ok(s) => s,
        Err(AuthError::Unauthenticated) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if via == Via::Cookie && is_unsafe(&parts.method) {
        check_csrf(parts, state, &session)?;
    }
    Ok(Some(Authenticated { session, via }))
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(parts, state)
            .await?
            .ok_or(ApiError::Auth(AuthError::Unauthenticated))
    }
}

/// For endpoints that also make sense signed out (logout is idempotent).
impl OptionalFromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        authenticate(parts, state).await
    }
}

/// The caller's IP and user agent.
///
/// `Tessera-Client-Ip` is believed only from the BFF: with a key configured
/// every `/v1` request that gets this far carried it; without one, only from
/// a loopback peer (development, where the server listens on loopback only).
///
/// With a key, the peer is the BFF itself, never the browser: when the BFF
/// sends no client IP the answer is "unknown" (no per-IP limit, no IP in the
/// device list) rather than the BFF's address, which would put every user
/// in one rate-limit bucket.
///
/// The peer address is the `ConnectInfo<SocketAddr>` that [`crate::serve`]
/// puts on every request; an app served another way has none.
#[derive(Debug, Clone)]
pub struct Client(pub ClientInfo);

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let forwarded = parts
            .headers
            .get(CLIENT_IP_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<IpAddr>().ok());
        let behind_bff = state.config.bff_key.is_some();
        if behind_bff && forwarded.is_none() {
            warn_no_client_ip();
        }
        let ip = client_ip(behind_bff, peer, forwarded);
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        Ok(Self(ClientInfo {
            ip: ip.map(|i| i.to_canonical().to_string()),
            user_agent,
        }))
    }
}

/// Says once per process that the BFF sends no client address: the kit
/// sends `Tessera-Client-Ip` only when the deployment says which forwarded
/// header to trust, so this is the default behind `next start`.
fn warn_no_client_ip() {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tracing::warn!(
            "the BFF sends no Tessera-Client-Ip: login failures are limited per account only, \
             registrations and provider checks not per address, and the device list shows no \
             addresses (configure the kit's trustedIpHeader and trustedProxyCount behind a proxy \
             you trust)"
        );
    }
}

/// Which address to believe (see [`Client`]).
fn client_ip(behind_bff: bool, peer: Option<IpAddr>, forwarded: Option<IpAddr>) -> Option<IpAddr> {
    if behind_bff {
        forwarded
    } else if peer.is_some_and(|p| p.is_loopback()) {
        forwarded.or(peer)
    } else {
        peer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_client_ip_is_believed() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let lan: IpAddr = "192.0.2.10".parse().unwrap();
        let claimed: IpAddr = "203.0.113.5".parse().unwrap();
        // Behind a BFF (key checked before this runs): its header, or unknown.
        assert_eq!(client_ip(true, Some(lo), Some(claimed)), Some(claimed));
        assert_eq!(client_ip(true, Some(lo), None), None);
        // Dev mode: a loopback peer is the local BFF.
        assert_eq!(client_ip(false, Some(lo), Some(claimed)), Some(claimed));
        assert_eq!(client_ip(false, Some(lo), None), Some(lo));
        // Anyone else cannot claim an address.
        assert_eq!(client_ip(false, Some(lan), Some(claimed)), Some(lan));
    }

    #[test]
    fn only_the_bearer_scheme_is_ours() {
        assert_eq!(bearer_credentials(b"Bearer abc"), Some(&b"abc"[..]));
        assert_eq!(bearer_credentials(b"bEaReR abc"), Some(&b"abc"[..]));
        assert_eq!(bearer_credentials(b"Bearer "), Some(&b""[..]));
        for other in [
            &b"Basic dXNlcjpwdw=="[..],
            b"Bearerabc",
            b"Bearer",
            b"",
            b"Digest x",
        ] {
            assert_eq!(bearer_credentials(other), None, "{other:?}");
        }
    }
}

/// Who may use `/v1/admin/*`: a signed-in user with the `admin` role whose
/// session proved a second factor (`amr` has `mfa`), or a server-to-server
/// caller with `TESSERA_ADMIN_KEY` in `Tessera-Admin-Key` and no BFF key
/// (never through the BFF). The actor recorded for what they do.
#[derive(Debug, Clone)]
pub struct Admin {
    pub actor: tessera_core::audit::Actor,
    pub client: tessera_core::ClientInfo,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        use tessera_core::audit::Actor;
        let Ok(Client(client)) = Client::from_request_parts(parts, state).await;
        if parts.headers.contains_key(crate::guard::ADMIN_KEY_HEADER) {
            return if crate::guard::admin_key_caller(state, parts.uri.path(), &parts.headers) {
                Ok(Self {
                    actor: Actor::AdminKey,
                    client,
                })
            } else {
                Err(ApiError::AdminRequired(
                    "wrong admin key, none configured, or sent through the BFF",
                ))
            };
        }
        let auth = authenticate(parts, state)
            .await?
            .ok_or(ApiError::Auth(AuthError::Unauthenticated))?;
        if !auth.session.user.roles.iter().any(|r| r == "admin") {
            return Err(ApiError::AdminRequired("this needs the admin role"));
        }
        if !auth.session.amr.is_mfa() {
            return Err(ApiError::AdminRequired(
                "sign in with a second factor (an authenticator app or a passkey) first",
            ));
        }
        Ok(Self {
            actor: Actor::Admin(auth.session.user.id),
            client,
        })
    }
}
