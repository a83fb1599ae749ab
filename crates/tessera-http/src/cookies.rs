//! Tessera's cookies, written with the `cookie` crate: the session and
//! CSRF cookies (`SameSite=Strict`) and the OAuth flow cookie
//! (`SameSite=Lax`).
//!
//! `__Host-` requires `Secure`, `Path=/` and no `Domain`: the browser then
//! refuses any attempt by a sibling subdomain to set or shadow them.
//! Chromium accepts `Secure` cookies on `http://localhost`, so development
//! needs no TLS.

use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};
use time::Duration;

pub const SESSION_COOKIE: &str = "__Host-tessera_session";
pub const CSRF_COOKIE: &str = "__Host-tessera_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The sealed state of one provider sign-in (see `routes/oauth.rs`).
pub const OAUTH_COOKIE: &str = "__Host-tessera_oauth";
/// A sign-in's second-factor challenge (see `routes/mfa.rs`).
pub const MFA_COOKIE: &str = "__Host-tessera_mfa";

fn build(name: &'static str, value: String, http_only: bool, max_age: Duration) -> HeaderValue {
    build_with(name, value, http_only, SameSite::Strict, max_age)
}

fn build_with(
    name: &'static str,
    value: String,
    http_only: bool,
    same_site: SameSite,
    max_age: Duration,
) -> HeaderValue {
    let cookie = Cookie::build((name, value))
        .path("/")
        .secure(true)
        .http_only(http_only)
        .same_site(same_site)
        .max_age(max_age)
        .build();
    // Token, CSRF and sealed flow values are base64url: always valid
    // header bytes.
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The session cookie: HttpOnly, so scripts never see the token.
pub fn session(token: &str, max_age: Duration) -> HeaderValue {
    build(SESSION_COOKIE, token.to_owned(), true, max_age)
}

/// The CSRF cookie: readable by the page's script, which echoes it in
/// `X-CSRF-Token`.
pub fn csrf(value: String, max_age: Duration) -> HeaderValue {
    build(CSRF_COOKIE, value, false, max_age)
}

/// Both cookies, expired.
pub fn cleared() -> [HeaderValue; 2] {
    [
        build(SESSION_COOKIE, String::new(), true, Duration::ZERO),
        build(CSRF_COOKIE, String::new(), false, Duration::ZERO),
    ]
}

/// The OAuth flow cookie: HttpOnly, and `Lax`, not `Strict`, because it
/// must come back on the provider's cross-site redirect to the callback.
pub fn oauth_flow(sealed: String, max_age: Duration) -> HeaderValue {
    build_with(OAUTH_COOKIE, sealed, true, SameSite::Lax, max_age)
}

/// The OAuth flow cookie, expired.
pub fn oauth_flow_cleared() -> HeaderValue {
    oauth_flow(String::new(), Duration::ZERO)
}

/// A sign-in waiting for its second factor (`mfa_required`): HttpOnly,
/// Strict, as long as the challenge lives, so the code form works without
/// JavaScript.
pub fn mfa(challenge: &str) -> HeaderValue {
    let max_age = Duration::try_from(tessera_core::mfa::CHALLENGE_TTL).unwrap_or(Duration::ZERO);
    build(MFA_COOKIE, challenge.to_owned(), true, max_age)
}

/// The challenge cookie, expired (the sign-in completed or ended).
pub fn mfa_cleared() -> HeaderValue {
    build(MFA_COOKIE, String::new(), true, Duration::ZERO)
}

/// The first cookie called `name` in the request's `Cookie` headers.
pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cookie_attributes() {
        let v = session("tok", Duration::days(90));
        let c = Cookie::parse(v.to_str().unwrap()).unwrap();
        assert_eq!(c.name(), SESSION_COOKIE);
        assert_eq!(c.http_only(), Some(true));
        assert_eq!(c.secure(), Some(true));
        assert_eq!(c.same_site(), Some(SameSite::Strict));
        assert_eq!(c.path(), Some("/"));
        assert_eq!(c.domain(), None);
        assert_eq!(c.max_age(), Some(Duration::days(90)));
    }

    #[test]
    fn reads_the_named_cookie_among_many() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; __Host-tessera_csrf=c"),
        );
        h.append(
            header::COOKIE,
            HeaderValue::from_static("__Host-tessera_session=s; b=2"),
        );
        assert_eq!(read(&h, SESSION_COOKIE).as_deref(), Some("s"));
        assert_eq!(read(&h, CSRF_COOKIE).as_deref(), Some("c"));
        assert_eq!(read(&h, "missing"), None);
    }
}
