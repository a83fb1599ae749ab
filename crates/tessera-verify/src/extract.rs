//! axum integration: [`AccessToken`], [`RequireRole`] and [`RequireMfa`]
//! extractors, and the
//! one place where verification failures become responses (RFC 6750
//! `WWW-Authenticate` plus an RFC 9457 problem+json body).

use std::marker::PhantomData;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::claims::Claims;
use crate::error::VerifyError;
use crate::verifier::Verifier;

/// The verified claims of the request's `Authorization: Bearer` token.
///
/// Needs a [`Verifier`] in the router state (`Verifier: FromRef<S>`).
#[derive(Debug, Clone)]
pub struct AccessToken(pub Claims);

/// Only requests whose token carries the role `R::NAME`; others get 403
/// `insufficient_scope`.
///
/// ```
/// use tessera_verify::{RequireRole, Role};
/// struct Admin;
/// impl Role for Admin { const NAME: &'static str = "admin"; }
/// async fn purge(admin: RequireRole<Admin>) -> String { admin.claims.sub }
/// ```
#[derive(Debug, Clone)]
pub struct RequireRole<R> {
    pub claims: Claims,
    role: PhantomData<fn() -> R>,
}

/// Only requests whose token comes from a multi-factor sign-in (`amr`
/// has `mfa`); others get 401 `insufficient_user_authentication` (RFC
/// 9470), which tells the client to have the user sign in again with a
/// second factor.
///
/// ```
/// use tessera_verify::RequireMfa;
/// async fn wire_money(caller: RequireMfa) -> String { caller.claims.sub }
/// ```
#[derive(Debug, Clone)]
pub struct RequireMfa {
    pub claims: Claims,
}

/// A role name for [`RequireRole`].
pub trait Role {
    const NAME: &'static str;
}

/// Claims verified earlier in this request, and by which verifier (another
/// verifier may expect another audience). Private, so nothing but this
/// module can put claims where the extractors look for them.
#[derive(Clone)]
struct Verified {
    by: Verifier,
    claims: Claims,
}

impl AccessToken {
    /// 403 `insufficient_scope` unless the token has `role`.
    pub fn require_role(&self, role: &str) -> Result<(), AuthRejection> {
        if self.0.has_role(role) {
            Ok(())
        } else {
            Err(AuthRejection::InsufficientRole)
        }
    }
}

impl<S> FromRequestParts<S> for AccessToken
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = Verifier::from_ref(state);
        if let Some(earlier) = parts.extensions.get::<Verified>()
            && earlier.by.same_as(&verifier)
        {
            return Ok(Self(earlier.claims.clone()));
        }
        let token = bearer_token(&parts.headers)?;
        let claims = verifier
            .verify(token)
            .await
            .map_err(AuthRejection::InvalidToken)?;
        parts.extensions.insert(Verified {
            by: verifier,
            claims: claims.clone(),
        });
        Ok(Self(claims))
    }
}

impl<S, R> FromRequestParts<S> for RequireRole<R>
where
    Verifier: FromRef<S>,
    S: Send + Sync,
    R: Role,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let AccessToken(claims) = AccessToken::from_request_parts(parts, state).await?;
        if !claims.has_role(R::NAME) {
            return Err(AuthRejection::InsufficientRole);
        }
        Ok(Self {
            claims,
            role: PhantomData,
        })
    }
}

impl<S> FromRequestParts<S> for RequireMfa
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let AccessToken(claims) = AccessToken::from_request_parts(parts, state).await?;
        if !claims.has_mfa() {
            return Err(AuthRejection::InsufficientAuthentication);
        }
        Ok(Self { claims })
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthRejection {
    /// No `Authorization` header at all.
    MissingToken,
    /// An `Authorization` header that is not one well-formed Bearer token.
    InvalidRequest,
    /// The token did not verify.
    InvalidToken(VerifyError),
    /// The token verified but lacks the role.
    InsufficientRole,
    /// The token verified but its sign-in proved one factor only.
    InsufficientAuthentication,
}

impl AuthRejection {
    /// Stable machine-readable code, as in the problem body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::InvalidRequest => "invalid_request",
            Self::InvalidToken(e) => e.code(),
            Self::InsufficientRole => "insufficient_scope",
            Self::InsufficientAuthentication => "insufficient_user_authentication",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidToken(VerifyError::JwksUnavailable) => StatusCode::SERVICE_UNAVAILABLE,
            Self::InsufficientRole => StatusCode::FORBIDDEN,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Self::MissingToken => "Access token required",
            Self::InvalidRequest => "Malformed Authorization header",
            Self::InvalidToken(VerifyError::JwksUnavailable) => "Token keys unavailable",
            Self::InvalidToken(VerifyError::Expired) => "Access token expired",
            Self::InvalidToken(_) => "Invalid access token",
            Self::InsufficientRole => "Insufficient role",
            Self::InsufficientAuthentication => "Sign in with a second factor",
        }
    }

    /// RFC 6750 §3: no error code when the client sent no credentials.
    fn www_authenticate(&self) -> Option<&'static str> {
        match self {
            Self::MissingToken => Some("Bearer"),
            Self::InvalidRequest => Some(r#"Bearer error="invalid_request""#),
            Self::InvalidToken(VerifyError::JwksUnavailable) => None,
            Self::InvalidToken(_) => Some(r#"Bearer error="invalid_token""#),
            Self::InsufficientRole => Some(r#"Bearer error="insufficient_scope""#),
            Self::InsufficientAuthentication => Some(
                r#"Bearer error="insufficient_user_authentication", error_description="a multi-factor sign-in is required""#,
            ),
        }
    }
}

#[derive(Serialize)]
struct Problem {
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    status: u16,
    code: &'static str,
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = Problem {
            kind: format!("urn:tessera:error:{}", self.code()),
            title: self.title(),
            status: status.as_u16(),
            code: self.code(),
        };
        let body = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(challenge) = self.www_authenticate() {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

/// The token of `Authorization: Bearer <b64token>` (RFC 6750 §2.1).
fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthRejection> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(if headers.contains_key(AUTHORIZATION) {
            AuthRejection::InvalidRequest
        } else {
            AuthRejection::MissingToken
        });
    };
    let value = value.to_str().map_err(|_| AuthRejection::InvalidRequest)?;
    let (scheme, token) = value.split_once(' ').ok_or(AuthRejection::InvalidRequest)?;
    let token = token.trim_matches(' ');
    if !scheme.eq_ignore_ascii_case("Bearer") || !is_b64token(token) {
        return Err(AuthRejection::InvalidRequest);
    }
    Ok(token)
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_auth(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn parses_bearer_header() {
        assert_eq!(bearer_token(&with_auth(&["Bearer a.b.c"])), Ok("a.b.c"));
        assert_eq!(bearer_token(&with_auth(&["bearer  a.b-_c "])), Ok("a.b-_c"));
        assert_eq!(
            bearer_token(&HeaderMap::new()),
            Err(AuthRejection::MissingToken)
        );
        for bad in [
            &["Basic dXNlcjpwdw=="][..],
            &["Bearer"],
            &["Bearer "],
            &["Bearer a b"],
            &["Bearer a,b"],
            &["Bearer ==="],
            &["Bearer a.b.c", "Bearer d.e.f"],
        ] {
            assert_eq!(
                bearer_token(&with_auth(bad)),
                Err(AuthRejection::InvalidRequest),
                "{bad:?}"
            );
        }
    }
}
