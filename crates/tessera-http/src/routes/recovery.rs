//! Forgot password and reset.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;

use super::account::started;
use super::views::AuthResponse;
use crate::AppState;
use crate::extract::{Client, session_cookie};
use crate::json::JsonBody;
use crate::problem::{ApiError, Problem};

#[derive(Debug, Deserialize, ToSchema)]
pub struct ForgotRequest {
    #[schema(example = "ada@example.com")]
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetRequest {
    /// The token from the reset link.
    #[schema(value_type = String)]
    pub token: SecretString,
    /// At least 8 characters and at most 1024 bytes (UTF-8).
    #[schema(value_type = String, format = Password, min_length = 8)]
    pub new_password: SecretString,
}

/// Mail a reset link to this address if an account has it. The answer is
/// the same, in bytes and time, whether or not one does.
#[utoipa::path(
    post, path = "/v1/password/forgot", tag = "recovery",
    request_body = ForgotRequest,
    responses(
        (status = 202, description = "Accepted: a link goes out if an account has this address"),
        (status = 422, description = "Not an email address", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this address (Retry-After)", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Foreign origin, CSRF or missing BFF key", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn forgot(
    State(state): State<AppState>,
    Client(client): Client,
    JsonBody(req): JsonBody<ForgotRequest>,
) -> Result<StatusCode, ApiError> {
    state.auth.forgot_password(&req.email, &client).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Set a new password (or a first one) with a reset link's token. Every
/// session and refresh family of the user ends; this browser is signed in.
#[utoipa::path(
    post, path = "/v1/password/reset", tag = "recovery",
    request_body = ResetRequest,
    responses(
        (status = 200, description = "Password set; signed in", body = AuthResponse,
            headers(("Set-Cookie" = String, description = "`__Host-tessera_session` (HttpOnly) and `__Host-tessera_csrf`"))),
        (status = 400, description = "Malformed JSON, or a token that is invalid, used or expired (invalid_token)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Foreign origin or missing BFF key", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid new password", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down or hasher saturated (Retry-After)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reset(
    State(state): State<AppState>,
    Client(client): Client,
    parts: Parts,
    JsonBody(req): JsonBody<ResetRequest>,
) -> Result<Response, ApiError> {
    use secrecy::ExposeSecret;
    let presented = session_cookie(&parts);
    let new = state
        .auth
        .reset_password(
            req.token.expose_secret(),
            req.new_password,
            &client,
            presented.as_ref(),
        )
        .await?;
    Ok(started(&state, StatusCode::OK, &new).into_response())
}
