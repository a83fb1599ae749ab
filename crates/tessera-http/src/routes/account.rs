//! Register, login, whoami, logout.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use secrecy::SecretString;
use serde::Deserialize;
use tessera_core::{Registration, SessionPolicy, SignedUp, Started};
use utoipa::ToSchema;

use super::views::{AuthResponse, UserResponse, auth_answer};
use crate::extract::{Authenticated, Client, session_cookie};
use crate::json::JsonBody;
use crate::problem::{ApiError, Problem};
use crate::{AppState, cookies};

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// At least 8 characters and at most 1024 bytes (UTF-8).
    #[schema(value_type = String, format = Password, min_length = 8)]
    pub password: SecretString,
    /// Display name, at most 200 characters.
    #[schema(example = "Ada Lovelace", max_length = 200)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    #[schema(example = "ada@example.com")]
    pub email: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

/// The session and CSRF cookies for a session, both living as long as the
/// session's absolute lifetime.
pub(crate) fn session_cookies(
    state: &AppState,
    started: &Started,
) -> AppendHeaders<[(header::HeaderName, header::HeaderValue); 2]> {
    let max_age = SessionPolicy::remaining_lifetime(&started.session, state.auth.now());
    AppendHeaders([
        (
            header::SET_COOKIE,
            cookies::session(started.token.expose(), max_age),
        ),
        (
            header::SET_COOKIE,
            cookies::csrf(
                state
                    .csrf
                    .token_for(started.session.id, &started.session.token_hash),
                max_age,
            ),
        ),
    ])
}

pub(crate) fn started(state: &AppState, status: StatusCode, started: &Started) -> Response {
    state.metrics.sessions_created.inc();
    (
        status,
        session_cookies(state, started),
        auth_answer(&AuthResponse::from(&started.session)),
    )
        .into_response()
}

/// Create a user and sign them in.
#[utoipa::path(
    post, path = "/v1/register", tag = "account",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "User created; session and CSRF cookies set. With TESSERA_EMAIL_VERIFICATION=required: `{user}` only, no cookies, until the address is verified", body = AuthResponse,
            headers(("Set-Cookie" = String, description = "`__Host-tessera_session` (HttpOnly) and `__Host-tessera_csrf`"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Foreign origin or missing BFF key; registration_closed or email_domain_not_allowed (TESSERA_REGISTRATION, TESSERA_REGISTRATION_EMAIL_DOMAINS)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Email already registered", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid email, password or name", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many registrations from this address (Retry-After)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down or hasher saturated (Retry-After)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn register(
    State(state): State<AppState>,
    Client(client): Client,
    parts: Parts,
    JsonBody(req): JsonBody<RegisterRequest>,
) -> Result<Response, ApiError> {
    let presented = session_cookie(&parts);
    let new = state
        .auth
        .register(
            Registration {
                email: req.email,
                password: req.password,
                name: req.name,
            },
            &client,
            presented.as_ref(),
        )
        .await?;
    state.metrics.registrations.inc();
    Ok(match new {
        SignedUp::Started(new) => started(&state, StatusCode::CREATED, &new),
        // Verification required: no session until the link is followed.
        SignedUp::Unverified(user) => UserResponse::answer(&user, StatusCode::CREATED),
    })
}

/// Sign in with email and password. Always a new session; a session cookie
/// sent along is ended.
#[utoipa::path(
    post, path = "/v1/login", tag = "account",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in; session and CSRF cookies set", body = AuthResponse,
            headers(("Set-Cookie" = String, description = "`__Host-tessera_session` (HttpOnly) and `__Host-tessera_csrf`"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong email or password (one answer for both)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Foreign origin or missing BFF key; email_not_verified (TESSERA_EMAIL_VERIFICATION=required, right password)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid email or empty password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failures for this account or address (Retry-After)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down or hasher saturated (Retry-After)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    parts: Parts,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Result<Response, ApiError> {
    let presented = session_cookie(&parts);
    let result = state
        .auth
        .login(&req.email, req.password, &client, presented.as_ref())
        .await;
    let label = match &result {
        Ok(_) => "success",
        Err(tessera_core::AuthError::InvalidCredentials) => "failure",
        Err(tessera_core::AuthError::RateLimited { .. }) => "rate_limited",
        Err(tessera_core::AuthError::HasherBusy) => "busy",
        Err(_) => "error",
    };
    state.metrics.logins.with_label_values(&[label]).inc();
    let new = result?;
    Ok(started(&state, StatusCode::OK, &new))
}

/// Who am I. Slides the idle expiry when due (no new cookie needed).
#[utoipa::path(
    get, path = "/v1/session", tag = "account",
    responses(
        (status = 200, description = "The signed-in user and session", body = AuthResponse),
        (status = 401, description = "No, unknown or expired session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Missing BFF key", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After); never read as signed out", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub async fn session(auth: Authenticated) -> Response {
    auth_answer(&AuthResponse::from(&auth.session))
}

/// End the current session and clear the cookies. Idempotent: signed out
/// already is still 204.
#[utoipa::path(
    post, path = "/v1/logout", tag = "account",
    responses(
        (status = 204, description = "Session ended; cookies cleared with Max-Age=0",
            headers(("Set-Cookie" = String, description = "both cookies, expired"))),
        (status = 403, description = "CSRF token missing or wrong, foreign origin, or missing BFF key", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub async fn logout(
    State(state): State<AppState>,
    auth: Option<Authenticated>,
) -> Result<Response, ApiError> {
    if let Some(auth) = auth
        && state.auth.logout(&auth.session).await?
    {
        state.metrics.ended("logout", 1);
    }
    Ok(signed_out())
}

pub(crate) fn signed_out() -> Response {
    let [a, b] = cookies::cleared();
    (
        StatusCode::NO_CONTENT,
        AppendHeaders([(header::SET_COOKIE, a), (header::SET_COOKIE, b)]),
    )
        .into_response()
}
