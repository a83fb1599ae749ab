//! The address: verifying it, and changing it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use utoipa::ToSchema;

use super::views::UserResponse;
use crate::AppState;
use crate::extract::{Authenticated, Client};
use crate::json::JsonBody;
use crate::problem::{ApiError, Problem};

/// A mailed link's token.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    #[schema(value_type = String)]
    pub token: SecretString,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResendRequest {
    #[schema(example = "ada@example.com")]
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EmailChangeRequest {
    #[schema(example = "ada@example.org")]
    pub new_email: String,
    /// Not needed by a user without a password who signed in in the last
    /// 5 minutes.
    #[schema(value_type = String, format = Password)]
    #[serde(default = "no_password")]
    pub current_password: SecretString,
}

pub(crate) fn no_password() -> SecretString {
    SecretString::from(String::new())
}

/// (Re)send the verification mail to the signed-in user's address; nothing
/// if it is verified already. At most 3 an hour.
#[utoipa::path(
    post, path = "/v1/email/verify/send", tag = "email",
    responses(
        (status = 202, description = "Queued (or verified already)"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "CSRF or origin check failed", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over 3 an hour (Retry-After)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub async fn send_verification(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<StatusCode, ApiError> {
    state.auth.send_verification(&auth.session).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Verify the address with the token from the verification link.
#[utoipa::path(
    post, path = "/v1/email/verify", tag = "email",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "Verified", body = UserResponse),
        (status = 400, description = "Malformed JSON, or a token that is invalid, used or expired (invalid_token)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Foreign origin or missing BFF key", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn verify(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<TokenRequest>,
) -> Result<Response, ApiError> {
    let user = state.auth.verify_email(req.token.expose_secret()).await?;
    Ok(UserResponse::answer(&user, StatusCode::OK))
}

/// Send the verification mail again to an address (for someone who cannot
/// sign in before verifying). The same answer whether or not an account
/// has it.
#[utoipa::path(
    post, path = "/v1/email/verify/resend", tag = "email",
    request_body = ResendRequest,
    responses(
        (status = 202, description = "Accepted: a link goes out if an unverified account has this address"),
        (status = 422, description = "Not an email address", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this address (Retry-After)", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Foreign origin, CSRF or missing BFF key", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn resend_verification(
    State(state): State<AppState>,
    Client(client): Client,
    JsonBody(req): JsonBody<ResendRequest>,
) -> Result<StatusCode, ApiError> {
    state.auth.resend_verification(&req.email, &client).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Ask to change the address: a confirmation link goes to the new one, a
/// notice to the old one. Nothing changes until the link is followed.
#[utoipa::path(
    post, path = "/v1/email/change", tag = "email",
    request_body = EmailChangeRequest,
    responses(
        (status = 202, description = "Mails queued"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "CSRF or origin check failed; email_domain_not_allowed; reauthentication_required (no password and no recent sign-in)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The new address belongs to an account", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid new address, or wrong current password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords (Retry-After)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down or hasher saturated (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub async fn change(
    State(state): State<AppState>,
    auth: Authenticated,
    Client(client): Client,
    JsonBody(req): JsonBody<EmailChangeRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .auth
        .request_email_change(&auth.session, &req.new_email, req.current_password, &client)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// Confirm an address change with the token from the confirmation link.
#[utoipa::path(
    post, path = "/v1/email/change/confirm", tag = "email",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "Changed and verified", body = UserResponse),
        (status = 400, description = "Malformed JSON, or a token that is invalid, used or expired (invalid_token)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Foreign origin or missing BFF key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The address was taken meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn confirm_change(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<TokenRequest>,
) -> Result<Response, ApiError> {
    let user = state
        .auth
        .confirm_email_change(req.token.expose_secret())
        .await?;
    Ok(UserResponse::answer(&user, StatusCode::OK))
}
