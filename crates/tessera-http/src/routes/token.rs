//! The token endpoint (RFC 6749), revocation (RFC 7009) and JWKS.
//!
//! Errors here are OAuth 2.0 JSON (`{"error": "invalid_grant", …}`,
//! [`TokenError`]), not problem+json, because OAuth clients expect them
//! (RFC 6749 §5.2, RFC 7009).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tessera_core::mfa::{Amr, Method};
use tessera_core::store::StoreError;
use tessera_core::tokens::{GrantError, Issued};
use tessera_core::{AuthError, SecondFactor};
use utoipa::ToSchema;

use crate::AppState;
use crate::extract::{Client, authenticate};
use crate::problem::ApiError;

/// A token request, form-encoded (RFC 6749) or JSON.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// `password`, `refresh_token`, `session`,
    /// `urn:ietf:params:oauth:grant-type:token-exchange` or
    /// `urn:tessera:params:oauth:grant-type:mfa`.
    #[schema(example = "refresh_token")]
    pub grant_type: String,
    /// The email, for `password`.
    pub username: Option<String>,
    #[schema(value_type = Option<String>, format = Password)]
    pub password: Option<SecretString>,
    #[schema(value_type = Option<String>)]
    pub refresh_token: Option<SecretString>,
    /// Accepted and ignored: tokens carry the user's roles.
    pub scope: Option<String>,
    /// Accepted and ignored: clients are public.
    pub client_id: Option<String>,
    /// Token exchange: the configured provider that issued `subject_token`.
    #[schema(example = "github")]
    pub provider: Option<String>,
    /// Token exchange: the provider's access token (GitHub) or `id_token` (OIDC).
    #[schema(value_type = Option<String>)]
    pub subject_token: Option<SecretString>,
    /// Token exchange: `urn:ietf:params:oauth:token-type:access_token`
    /// (GitHub) or `urn:ietf:params:oauth:token-type:id_token` (OIDC).
    pub subject_token_type: Option<String>,
    /// MFA grant: the `challenge` of the `mfa_required` answer.
    #[schema(value_type = Option<String>)]
    pub challenge: Option<SecretString>,
    /// MFA grant: a TOTP code…
    #[schema(value_type = Option<String>, example = "123456")]
    pub code: Option<SecretString>,
    /// …or a recovery code.
    #[schema(value_type = Option<String>)]
    pub recovery_code: Option<SecretString>,
}

/// Completes a password grant or token exchange that answered
/// `mfa_required`: `challenge` and `code` or `recovery_code`.
pub const MFA_GRANT: &str = "urn:tessera:params:oauth:grant-type:mfa";
/// RFC 8693.
pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
pub const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
/// Provider tokens longer than this are refused without asking anyone.
const MAX_SUBJECT_TOKEN_BYTES: usize = 4096;

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Token exchange only (RFC 8693): what `access_token` is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<&'static str>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RevokeRequest {
    #[schema(value_type = String)]
    pub token: SecretString,
    pub token_type_hint: Option<String>,
}

/// The token endpoint's error response (RFC 6749 §5.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenError {
    #[schema(example = "invalid_grant")]
    pub error: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// With `mfa_required`: the challenge to send back with the MFA grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge: Option<String>,
    #[serde(skip)]
    status: StatusCode,
    #[serde(skip)]
    retry_after: Option<u64>,
}

fn token_error(
    status: StatusCode,
    error: &'static str,
    description: impl Into<String>,
) -> TokenError {
    TokenError {
        error,
        error_description: Some(description.into()),
        challenge: None,
        status,
        retry_after: None,
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let (status, retry) = (self.status, self.retry_after);
        let mut r = (status, Json(self)).into_response();
        let h = r.headers_mut();
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if let Some(secs) = retry {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        r
    }
}

impl From<AuthError> for TokenError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Validation(errors) => {
                let why: Vec<String> = errors
                    .iter()
                    .map(|e| format!("{} {}", e.field, e.message))
                    .collect();
                token_error(StatusCode::BAD_REQUEST, "invalid_request", why.join("; "))
            }
            AuthError::InvalidCredentials | AuthError::Unauthenticated | AuthError::NotFound => {
                token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "invalid credentials",
                )
            }
            AuthError::RateLimited { retry_after } => TokenError {
                retry_after: Some(retry_after.as_secs().max(1)),
                ..token_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    "too many attempts",
                )
            },
            AuthError::HasherBusy => TokenError {
                retry_after: Some(1),
                ..token_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "too many sign-ins at once",
                )
            },
            AuthError::Store(
                StoreError::Conflict(_) | StoreError::Unavailable(_) | StoreError::Backend(_),
            ) => {
                tracing::warn!(error = %e, "token endpoint: store failure");
                TokenError {
                    retry_after: Some(5),
                    ..token_error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "temporarily_unavailable",
                        "try again shortly",
                    )
                }
            }
            AuthError::AccountExists
            | AuthError::IdentityTaken
            | AuthError::EmailRequired
            | AuthError::AccountDisabled
            | AuthError::RegistrationClosed
            | AuthError::EmailDomainNotAllowed
            | AuthError::EmailNotVerified => {
                let why = match e {
                    AuthError::EmailNotVerified => {
                        "email_not_verified: verify your email address first"
                    }
                    AuthError::RegistrationClosed => "registration_closed: sign-up is closed",
                    AuthError::EmailDomainNotAllowed => {
                        "email_domain_not_allowed: sign-up is not open to this email domain"
                    }
                    AuthError::AccountExists => {
                        "account_exists: an account with this email exists; link the provider from it"
                    }
                    AuthError::IdentityTaken => "identity_taken",
                    AuthError::EmailRequired => {
                        "email_required: the provider gave no verified email"
                    }
                    _ => "account_disabled",
                };
                token_error(StatusCode::BAD_REQUEST, "invalid_grant", why)
            }
            e @ (AuthError::MfaRequired(_)
            | AuthError::MfaCodeInvalid
            | AuthError::MfaChallengeInvalid) => second_factor_error(e),
            AuthError::LastSignInMethod
            | AuthError::TotpAlreadyEnabled
            | AuthError::TotpNotPending
            | AuthError::TotpNotEnabled
            | AuthError::PasskeyInvalid
            | AuthError::PasskeyExists
            | AuthError::PasskeysUnavailable
            | AuthError::ProviderAlreadyLinked
            | AuthError::EmailTaken
            | AuthError::InvalidToken
            | AuthError::ReauthenticationRequired
            | AuthError::Internal(_) => {
                tracing::error!(error = %e, "token endpoint: internal error");
                token_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "internal error",
                )
            }
        }
    }
}

/// A grant of a user with a second factor on.
fn second_factor_error(e: AuthError) -> TokenError {
    match e {
        AuthError::MfaRequired(challenge) => TokenError {
            challenge: Some(challenge.expose().to_owned()),
            ..token_error(
                StatusCode::UNAUTHORIZED,
                "mfa_required",
                format!(
                    "a second factor is required: grant_type={MFA_GRANT} with the challenge and a code"
                ),
            )
        },
        AuthError::MfaCodeInvalid => token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "mfa_code_invalid: wrong code",
        ),
        AuthError::MfaChallengeInvalid => token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the challenge is unknown, used or expired",
        ),
        other => other.into(),
    }
}

impl From<GrantError> for TokenError {
    fn from(e: GrantError) -> Self {
        match e {
            GrantError::InvalidGrant(why) => {
                token_error(StatusCode::BAD_REQUEST, "invalid_grant", why)
            }
            GrantError::Auth(e) => e.into(),
        }
    }
}

/// Reads a form-encoded or JSON body.
fn parse_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<T, TokenError> {
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            token_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                "the body limit is 64 KiB",
            )
        } else {
            token_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the body could not be read",
            )
        }
    })?;
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match essence.as_str() {
        "application/x-www-form-urlencoded" => serde_urlencoded::from_bytes(&body)
            .map_err(|e| token_error(StatusCode::BAD_REQUEST, "invalid_request", e.to_string())),
        "application/json" => crate::json::parse(&body).map_err(|e| match e {
            ApiError::Auth(AuthError::Validation(errors)) => AuthError::Validation(errors).into(),
            _ => token_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "malformed JSON body",
            ),
        }),
        _ => Err(token_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
            "send application/x-www-form-urlencoded or application/json",
        )),
    }
}

fn issued(state: &AppState, grant: &str, i: Issued) -> Response {
    issued_as(state, grant, i, None)
}

fn issued_as(
    state: &AppState,
    grant: &str,
    i: Issued,
    issued_token_type: Option<&'static str>,
) -> Response {
    state
        .metrics
        .tokens_issued
        .with_label_values(&[grant])
        .inc();
    let mut r = Json(TokenResponse {
        access_token: i.access_token,
        token_type: "Bearer",
        expires_in: i.expires_in,
        refresh_token: i.refresh_token.map(|t| t.expose_secret().to_owned()),
        issued_token_type,
    })
    .into_response();
    r.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

fn required<'a, T>(value: Option<&'a T>, name: &str) -> Result<&'a T, TokenError> {
    value.ok_or_else(|| {
        token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("{name} is required"),
        )
    })
}

/// Exchange credentials, a refresh token or the current session for tokens.
#[utoipa::path(
    post, path = "/v1/token", tag = "tokens",
    request_body(content(
        (TokenRequest = "application/x-www-form-urlencoded"),
        (TokenRequest = "application/json"),
    )),
    responses(
        (status = 200, description = "Tokens (Cache-Control: no-store)", body = TokenResponse),
        (status = 400, description = "invalid_request, invalid_grant or unsupported_grant_type", body = TokenError),
        (status = 401, description = "mfa_required: the user has a second factor on; `challenge` goes back with the MFA grant", body = TokenError),
        (status = 403, description = "Session grant: CSRF or origin check failed; or missing BFF key", body = TokenError),
        (status = 413, description = "Body over 64 KiB", body = TokenError),
        (status = 415, description = "Neither form nor JSON", body = TokenError),
        (status = 429, description = "Too many failed password grants (Retry-After)", body = TokenError),
        (status = 502, description = "Token exchange: the provider could not be reached", body = TokenError),
        (status = 503, description = "Store down or hasher saturated (Retry-After)", body = TokenError),
    )
)]
pub async fn token(
    State(state): State<AppState>,
    Client(client): Client,
    parts: Parts,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match grant(&state, &client, &parts, body).await {
        Ok(r) => r,
        Err(e) => {
            state
                .metrics
                .token_errors
                .with_label_values(&[e.error])
                .inc();
            e.into_response()
        }
    }
}

async fn grant(
    state: &AppState,
    client: &tessera_core::ClientInfo,
    parts: &Parts,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, TokenError> {
    let req: TokenRequest = parse_body(&parts.headers, body)?;
    match req.grant_type.as_str() {
        "password" => {
            let username = required(req.username.as_ref(), "username")?;
            let password = required(req.password.as_ref(), "password")?.clone();
            let i = state
                .tokens
                .password_grant(username, password, client)
                .await?;
            Ok(issued(state, "password", i))
        }
        "refresh_token" => {
            let presented = required(req.refresh_token.as_ref(), "refresh_token")?;
            let i = state
                .tokens
                .refresh_grant(presented.expose_secret())
                .await?;
            Ok(issued(state, "refresh_token", i))
        }
        "session" => {
            let auth = match authenticate(parts, state).await {
                Ok(Some(a)) => a,
                Ok(None) => {
                    return Err(token_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "no live session",
                    ));
                }
                Err(ApiError::CsrfFailed) => {
                    return Err(token_error(
                        StatusCode::FORBIDDEN,
                        "access_denied",
                        "CSRF check failed",
                    ));
                }
                Err(ApiError::Auth(e)) => return Err(e.into()),
                Err(_) => {
                    return Err(token_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        "bad request",
                    ));
                }
            };
            let i = state.tokens.session_grant(&auth.session)?;
            Ok(issued(state, "session", i))
        }
        TOKEN_EXCHANGE => exchange(state, client, &req).await,
        MFA_GRANT => {
            let challenge = required(req.challenge.as_ref(), "challenge")?;
            let factor = match (req.code, req.recovery_code) {
                (Some(code), None) => SecondFactor::Code(code),
                (None, Some(code)) => SecondFactor::RecoveryCode(code),
                _ => {
                    return Err(token_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        "send code or recovery_code",
                    ));
                }
            };
            let i = state
                .tokens
                .mfa_grant(challenge.expose_secret(), factor, client)
                .await?;
            Ok(issued(state, "mfa", i))
        }
        _ => Err(token_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "use password, refresh_token, session, token exchange or the MFA grant",
        )),
    }
}

/// RFC 8693: a provider's token (say the one Auth.js holds after its own
/// sign-in) for Tessera tokens. The provider vouches for it, and only for
/// a token issued to this deployment's own client: GitHub access tokens are
/// checked against the OAuth app, OIDC `id_tokens` must carry our client id
/// as `aud`. (An OIDC access token is refused: userinfo would answer for a
/// token any other client of the provider obtained.) The user is found,
/// linked or created by the same rules as a provider sign-in.
async fn exchange(
    state: &AppState,
    client: &tessera_core::ClientInfo,
    req: &TokenRequest,
) -> Result<Response, TokenError> {
    let name = required(req.provider.as_ref(), "provider")?;
    let subject = required(req.subject_token.as_ref(), "subject_token")?;
    let kind = required(req.subject_token_type.as_ref(), "subject_token_type")?;
    let provider = state
        .oauth
        .as_ref()
        .and_then(|o| o.providers.get(name))
        .ok_or_else(|| {
            token_error(
                StatusCode::BAD_REQUEST,
                "invalid_target",
                "unknown provider",
            )
        })?;
    let expected = match provider.kind() {
        tessera_oauth::ProviderKind::Github => ACCESS_TOKEN_TYPE,
        tessera_oauth::ProviderKind::Oidc => ID_TOKEN_TYPE,
    };
    if kind != expected {
        return Err(token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("subject_token_type must be {expected} for this provider"),
        ));
    }
    let subject = subject.expose_secret();
    if subject.is_empty() || subject.len() > MAX_SUBJECT_TOKEN_BYTES {
        return Err(token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the provider did not accept the token",
        ));
    }
    let check = async {
        match provider.kind() {
            tessera_oauth::ProviderKind::Github => provider
                .identify_access_token(subject)
                .await
                .map(|identity| (identity, None)),
            tessera_oauth::ProviderKind::Oidc => provider
                .identify_id_token(subject)
                .await
                .map(|(identity, times)| (identity, Some(times))),
        }
    };
    let checked = state.auth.checked_with_provider(client, check).await?;
    let (verified, times) = checked.map_err(|e| match e {
        tessera_oauth::OAuthError::Unavailable(why)
        | tessera_oauth::OAuthError::Misconfigured(why) => {
            tracing::warn!(error = %why, "token exchange: provider unavailable");
            token_error(
                StatusCode::BAD_GATEWAY,
                "temporarily_unavailable",
                "the provider could not be reached",
            )
        }
        _ => token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the provider did not accept the token",
        ),
    })?;
    // Recent, and never exchanged before: one leaked provider token mints
    // at most one refresh family.
    state
        .tokens
        .admit_subject_token(
            subject,
            times.map(|t| t.issued_at),
            times.map(|t| t.expires_at),
        )
        .await?;
    let (user, _) = state
        .auth
        .resolve_identity(&verified, None, provider.link_policy(), client)
        .await?;
    let i = state
        .tokens
        .family_grant(&user, None, Amr::of(&[Method::Fed]), client)
        .await?;
    Ok(issued_as(
        state,
        "token_exchange",
        i,
        Some(ACCESS_TOKEN_TYPE),
    ))
}

/// Revoke a refresh token and its whole family (RFC 7009). Unknown tokens
/// are 200 too.
#[utoipa::path(
    post, path = "/v1/token/revoke", tag = "tokens",
    request_body(content(
        (RevokeRequest = "application/x-www-form-urlencoded"),
        (RevokeRequest = "application/json"),
    )),
    responses(
        (status = 200, description = "Revoked, or nothing to revoke"),
        (status = 400, description = "invalid_request", body = TokenError),
        (status = 415, description = "Neither form nor JSON", body = TokenError),
        (status = 503, description = "Store down (Retry-After)", body = TokenError),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    parts: Parts,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let req: RevokeRequest = match parse_body(&parts.headers, body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    match state.tokens.revoke(req.token.expose_secret()).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => TokenError::from(e).into_response(),
    }
}

/// The public signing keys. Cacheable: keys appear here before they sign
/// and stay until every token they signed has expired.
#[utoipa::path(
    get, path = "/.well-known/jwks.json", tag = "tokens",
    responses((status = 200, description = "JWK Set (RFC 7517)", content_type = "application/json"))
)]
pub async fn jwks(State(state): State<AppState>) -> Response {
    let mut r = Json(state.tokens.keys().jwks()).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}
