//! Every problem+json answer is written here: RFC 9457 problem details with
//! a stable `code`, from an [`ApiError`] (the edge's own errors, the
//! domain's, a failed provider sign-in).
//!
//! Two answers are not problem+json, and say so where they are made: the
//! token endpoint's RFC 6749 errors (`routes/token.rs`, [`TokenError`]:
//! OAuth clients expect them), and a failed provider sign-in in a browser,
//! which gets an HTML page sending the person to `/login?error=<code>` with
//! the same code (`routes/oauth.rs`, [`crate::html`]).
//!
//! [`TokenError`]: crate::routes::token::TokenError

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tessera_core::{AuthError, FieldError, store::StoreError};
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// RFC 9457 problem details.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:tessera:error:<code>`.
    #[serde(rename = "type")]
    #[schema(example = "urn:tessera:error:validation_failed")]
    pub kind: String,
    #[schema(example = "Validation failed")]
    pub title: String,
    #[schema(example = 422)]
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Stable machine-readable code; clients branch on this.
    #[schema(example = "validation_failed")]
    pub code: String,
    /// For `validation_failed`: one entry per offending field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
    /// For `mfa_required`: the sign-in challenge to complete with
    /// `POST /v1/login/mfa` (also set as the `__Host-tessera_mfa` cookie).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    #[schema(example = "email")]
    pub field: String,
    #[schema(example = "is not a valid email address")]
    pub message: String,
}

/// Errors of the HTTP edge, wrapping the domain's.
#[derive(Debug)]
pub enum ApiError {
    Auth(AuthError),
    InvalidJson(String),
    UnsupportedMediaType,
    PayloadTooLarge,
    CsrfFailed,
    OriginForbidden,
    BffKeyInvalid,
    /// `/v1/admin/*` without an admin: no admin role, no second factor in
    /// the session, or a wrong admin key.
    AdminRequired(&'static str),
    NotFound,
    MethodNotAllowed,
    /// A provider sign-in failed before the domain had its say.
    OAuth(OAuthFailure),
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        Self::Auth(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::Auth(AuthError::Store(e))
    }
}

/// Why a provider sign-in (start or callback) failed; each is one status
/// and one code, the code also being what `/login?error=` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthFailure {
    UnknownProvider,
    InvalidRequest,
    StateMismatch,
    AccessDenied,
    CodeRejected,
    IdTokenInvalid,
    NonceMismatch,
    ProviderUnavailable,
    Unauthenticated,
}

impl OAuthFailure {
    fn status_code(self) -> (StatusCode, &'static str, &'static str) {
        use StatusCode as S;
        match self {
            Self::UnknownProvider => (S::NOT_FOUND, "unknown_provider", "Unknown provider"),
            Self::InvalidRequest => (
                S::BAD_REQUEST,
                "invalid_request",
                "Malformed sign-in request",
            ),
            // A nonce mismatch: the id_token was issued for another flow,
            // a binding failure like a wrong state.
            Self::StateMismatch | Self::NonceMismatch => (
                S::FORBIDDEN,
                "oauth_state_mismatch",
                "This sign-in was not started in this browser, or took too long",
            ),
            Self::AccessDenied => (
                S::BAD_REQUEST,
                "access_denied",
                "The provider did not grant access",
            ),
            Self::CodeRejected => (
                S::BAD_REQUEST,
                "oauth_code_rejected",
                "The provider refused the sign-in code",
            ),
            Self::IdTokenInvalid => (
                S::BAD_REQUEST,
                "id_token_invalid",
                "The provider's identity token failed its checks",
            ),
            Self::ProviderUnavailable => (
                S::BAD_GATEWAY,
                "provider_unavailable",
                "The provider could not be reached",
            ),
            Self::Unauthenticated => (
                S::UNAUTHORIZED,
                "unauthenticated",
                "The session that started linking has ended",
            ),
        }
    }

    /// What the sign-in page says of it.
    pub fn title(self) -> &'static str {
        self.status_code().2
    }
}

impl From<OAuthFailure> for ApiError {
    fn from(f: OAuthFailure) -> Self {
        Self::OAuth(f)
    }
}

impl From<tessera_oauth::OAuthError> for OAuthFailure {
    fn from(e: tessera_oauth::OAuthError) -> Self {
        use tessera_oauth::OAuthError;
        match e {
            OAuthError::Unavailable(why) => {
                tracing::warn!(error = %why, "OAuth provider unavailable");
                Self::ProviderUnavailable
            }
            OAuthError::CodeRejected(why) => {
                tracing::info!(error = %why, "OAuth code rejected");
                Self::CodeRejected
            }
            OAuthError::IdTokenInvalid(why) => {
                tracing::warn!(error = %why, "OAuth id_token invalid");
                Self::IdTokenInvalid
            }
            OAuthError::NonceMismatch => {
                tracing::warn!("OAuth id_token nonce mismatch");
                Self::NonceMismatch
            }
            OAuthError::TokenRejected | OAuthError::WrongTokenType => Self::CodeRejected,
            OAuthError::Misconfigured(why) => {
                tracing::error!(error = %why, "OAuth provider misconfigured");
                Self::ProviderUnavailable
            }
        }
    }
}

/// How long a client should wait before retrying after a 503.
const STORE_RETRY_AFTER: Duration = Duration::from_secs(5);
const HASHER_RETRY_AFTER: Duration = Duration::from_secs(1);

struct Shape {
    status: StatusCode,
    code: &'static str,
    title: &'static str,
    detail: Option<String>,
    errors: Vec<FieldError>,
    retry_after: Option<Duration>,
    challenge: Option<String>,
}

fn shape(status: StatusCode, code: &'static str, title: &'static str) -> Shape {
    Shape {
        status,
        code,
        title,
        detail: None,
        errors: Vec::new(),
        retry_after: None,
        challenge: None,
    }
}

impl Shape {
    fn detail(self, detail: impl Into<String>) -> Self {
        Self {
            detail: Some(detail.into()),
            ..self
        }
    }
    fn retry_after(self, after: Duration) -> Self {
        Self {
            retry_after: Some(after),
            ..self
        }
    }
    fn errors(self, errors: Vec<FieldError>) -> Self {
        Self { errors, ..self }
    }
}

impl ApiError {
    fn shape(self) -> Shape {
        use StatusCode as S;
        match self {
            Self::InvalidJson(detail) => {
                shape(S::BAD_REQUEST, "invalid_json", "Malformed JSON body").detail(detail)
            }
            Self::UnsupportedMediaType => shape(
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Unsupported media type",
            )
            .detail("send Content-Type: application/json"),
            Self::PayloadTooLarge => {
                shape(S::PAYLOAD_TOO_LARGE, "payload_too_large", "Body too large")
                    .detail("the body limit is 64 KiB")
            }
            Self::CsrfFailed => shape(S::FORBIDDEN, "csrf_failed", "CSRF check failed").detail(
                "send the X-CSRF-Token header with the value of the __Host-tessera_csrf cookie",
            ),
            Self::OriginForbidden => shape(
                S::FORBIDDEN,
                "origin_forbidden",
                "Cross-origin request refused",
            ),
            Self::BffKeyInvalid => {
                shape(S::FORBIDDEN, "bff_key_invalid", "Missing or wrong BFF key")
            }
            Self::AdminRequired(why) => {
                shape(S::FORBIDDEN, "admin_required", "Administrators only").detail(why)
            }
            Self::NotFound => shape(S::NOT_FOUND, "not_found", "Not found"),
            Self::MethodNotAllowed => shape(
                S::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Method not allowed",
            ),
            Self::Auth(e) => auth_shape(e),
            Self::OAuth(f) => {
                let (status, code, title) = f.status_code();
                shape(status, code, title)
            }
        }
    }
}

fn auth_shape(e: AuthError) -> Shape {
    use StatusCode as S;
    match e {
        AuthError::Validation(errors) => shape(
            S::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "Validation failed",
        )
        .errors(errors),
        AuthError::EmailTaken => shape(S::CONFLICT, "email_taken", "Email already registered"),
        AuthError::InvalidCredentials => shape(
            S::UNAUTHORIZED,
            "invalid_credentials",
            "Invalid email or password",
        ),
        AuthError::AccountExists => shape(S::CONFLICT, "account_exists", "Account exists").detail(
            "an account with this email exists: \
             sign in with it and link the provider from the account page",
        ),
        AuthError::IdentityTaken => shape(
            S::CONFLICT,
            "identity_taken",
            "This provider account is linked to another user",
        ),
        AuthError::ProviderAlreadyLinked => shape(
            S::CONFLICT,
            "provider_already_linked",
            "Another account at this provider is linked",
        )
        .detail("unlink the other account at this provider first"),
        AuthError::EmailRequired => shape(
            S::UNPROCESSABLE_ENTITY,
            "email_required",
            "The provider gave no verified email",
        ),
        AuthError::AccountDisabled => shape(S::FORBIDDEN, "account_disabled", "Account disabled"),
        AuthError::LastSignInMethod => shape(
            S::CONFLICT,
            "last_sign_in_method",
            "This is the last way to sign in",
        )
        .detail("set a password or link another provider first"),
        AuthError::RegistrationClosed => {
            shape(S::FORBIDDEN, "registration_closed", "Sign-up is closed")
        }
        AuthError::EmailDomainNotAllowed => shape(
            S::FORBIDDEN,
            "email_domain_not_allowed",
            "Sign-up is not open to this email domain",
        ),
        AuthError::Unauthenticated => shape(S::UNAUTHORIZED, "unauthenticated", "Not signed in"),
        e @ (AuthError::InvalidToken
        | AuthError::EmailNotVerified
        | AuthError::ReauthenticationRequired
        | AuthError::MfaRequired(_)
        | AuthError::MfaCodeInvalid
        | AuthError::MfaChallengeInvalid
        | AuthError::TotpAlreadyEnabled
        | AuthError::TotpNotPending
        | AuthError::TotpNotEnabled
        | AuthError::PasskeyInvalid
        | AuthError::PasskeyExists
        | AuthError::PasskeysUnavailable) => account_shape(e),
        AuthError::NotFound => shape(S::NOT_FOUND, "not_found", "Not found"),
        AuthError::RateLimited { retry_after } => {
            shape(S::TOO_MANY_REQUESTS, "rate_limited", "Too many attempts")
                .retry_after(retry_after)
        }
        AuthError::HasherBusy => shape(
            S::SERVICE_UNAVAILABLE,
            "hasher_busy",
            "Too many sign-ins at once",
        )
        .retry_after(HASHER_RETRY_AFTER),
        AuthError::Store(StoreError::Unavailable(why)) => {
            tracing::warn!(error = %why, "store unavailable");
            unavailable()
        }
        AuthError::Store(StoreError::Conflict(what)) => {
            tracing::error!(conflict = what, "unexpected store conflict");
            shape(S::CONFLICT, "conflict", "Conflict")
        }
        AuthError::Store(StoreError::Backend(why)) => {
            tracing::error!(error = %why, "store error");
            unavailable()
        }
        AuthError::Internal(why) => {
            tracing::error!(error = %why, "internal error");
            shape(S::INTERNAL_SERVER_ERROR, "internal", "Internal error")
        }
    }
}

/// The account flows' and second factors' errors.
fn account_shape(e: AuthError) -> Shape {
    use StatusCode as S;
    match e {
        AuthError::InvalidToken => shape(
            S::BAD_REQUEST,
            "invalid_token",
            "This link is invalid or has expired",
        )
        .detail("ask for a new link"),
        AuthError::EmailNotVerified => shape(
            S::FORBIDDEN,
            "email_not_verified",
            "Email address not verified",
        )
        .detail("follow the link mailed to you, or ask for a new one"),
        AuthError::ReauthenticationRequired => shape(
            S::FORBIDDEN,
            "reauthentication_required",
            "Sign in again first",
        )
        .detail("this needs a sign-in in the last 5 minutes"),
        AuthError::MfaRequired(challenge) => Shape {
            challenge: Some(challenge.expose().to_owned()),
            ..shape(S::UNAUTHORIZED, "mfa_required", "Second factor required").detail(
                "send a code from your authenticator app, or a recovery code, \
                 to POST /v1/login/mfa within 5 minutes",
            )
        },
        AuthError::MfaCodeInvalid => shape(S::UNAUTHORIZED, "mfa_code_invalid", "Wrong code")
            .detail("a code works once; wait for the next one, or use a recovery code"),
        AuthError::MfaChallengeInvalid => shape(
            S::UNAUTHORIZED,
            "mfa_challenge_invalid",
            "This sign-in has expired",
        )
        .detail("sign in again"),
        AuthError::TotpAlreadyEnabled => shape(
            S::CONFLICT,
            "totp_already_enabled",
            "An authenticator app is set up already",
        ),
        AuthError::TotpNotPending => shape(
            S::CONFLICT,
            "totp_not_pending",
            "No authenticator app is being set up",
        )
        .detail("start again with POST /v1/mfa/totp"),
        AuthError::TotpNotEnabled => shape(
            S::CONFLICT,
            "totp_not_enabled",
            "No authenticator app is set up",
        ),
        AuthError::PasskeyInvalid => shape(
            S::UNAUTHORIZED,
            "passkey_invalid",
            "The passkey could not be verified",
        )
        .detail("start again"),
        AuthError::PasskeyExists => shape(
            S::CONFLICT,
            "passkey_exists",
            "This passkey is registered already",
        ),
        AuthError::PasskeysUnavailable => shape(
            S::NOT_FOUND,
            "passkeys_unavailable",
            "Passkeys are not available here",
        )
        .detail("WebAuthn needs the public origin to be a domain name (such as localhost), not an IP address"),
        other => auth_shape(other),
    }
}

/// A store failure: 503, retry soon (fail closed, never "signed out").
fn unavailable() -> Shape {
    shape(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "Service temporarily unavailable",
    )
    .retry_after(STORE_RETRY_AFTER)
}

impl ApiError {
    /// The response with its stable code (the OAuth pages send people to
    /// `/login?error=<code>`).
    pub(crate) fn into_coded_response(self) -> (Response, &'static str) {
        let s = self.shape();
        let code = s.code;
        (respond(s), code)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        respond(self.shape())
    }
}

fn respond(s: Shape) -> Response {
    let body = Problem {
        kind: format!("urn:tessera:error:{}", s.code),
        title: s.title.to_owned(),
        status: s.status.as_u16(),
        detail: s.detail,
        code: s.code.to_owned(),
        errors: s
            .errors
            .into_iter()
            .map(|e| FieldProblem {
                field: e.field,
                message: e.message,
            })
            .collect(),
        challenge: s.challenge,
    };
    let json = serde_json::to_vec(&body).unwrap_or_default();
    let mut response = (s.status, json).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    if let Some(after) = s.retry_after {
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from(after.as_secs().max(1)),
        );
    }
    if let Some(challenge) = &body.challenge {
        headers.append(header::SET_COOKIE, crate::cookies::mfa(challenge));
    }
    response
}
