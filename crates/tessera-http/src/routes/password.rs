//! Password change.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde::Deserialize;
use tessera_core::Started;
use utoipa::ToSchema;

use super::account::session_cookies;
use crate::AppState;
use crate::extract::{Authenticated, Client};
use crate::json::JsonBody;
use crate::problem::{ApiError, Problem};

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordChange {
    #[schema(value_type = String, format = Password)]
    pub current_password: SecretString,
    /// At least 8 characters and at most 1024 bytes (UTF-8).
    #[schema(value_type = String, format = Password, min_length = 8)]
    pub new_password: SecretString,
}

/// Change the password. Every other session ends; this one gets a new token
/// (new cookies). A wrong current password is a 422 on `current_password`
/// and counts toward the login failure limits.
#[utoipa::path(
    post, path = "/v1/password", tag = "account",
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed; new session cookie set",
            headers(("Set-Cookie" = String, description = "`__Host-tessera_session` with the new token, and `__Host-tessera_csrf`"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "CSRF or origin check failed", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong current password or invalid new one", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failures (Retry-After)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down or hasher saturated (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub async fn change(
    State(state): State<AppState>,
    auth: Authenticated,
    Client(client): Client,
    JsonBody(req): JsonBody<PasswordChange>,
) -> Result<Response, ApiError> {
    let (session, token, ended) = state
        .auth
        .change_password(
            &auth.session,
            req.current_password,
            req.new_password,
            &client,
        )
        .await?;
    state.metrics.ended("password_change", ended);
    let rotated = Started {
        user: session.user.clone(),
        session,
        token,
    };
    Ok((StatusCode::NO_CONTENT, session_cookies(&state, &rotated)).into_response())
}
