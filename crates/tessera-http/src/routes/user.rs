//! The signed-in user's own record: name, and deleting the account.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tessera_core::audit::AuditEvent;
use utoipa::ToSchema;

use super::account::signed_out;
use super::email::no_password;
use super::views::UserResponse;
use crate::AppState;
use crate::extract::{Authenticated, Client};
use crate::json::JsonBody;
use crate::problem::{ApiError, Problem};

#[derive(Debug, Deserialize, ToSchema)]
pub struct ProfileUpdate {
    /// Display name, at most 200 characters; empty or null clears it.
    #[schema(example = "Ada Lovelace", max_length = 200)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DeleteAccount {
    /// Not needed by a user without a password who signed in in the last
    /// 5 minutes.
    #[schema(value_type = String, format = Password)]
    #[serde(default = "no_password")]
    pub current_password: SecretString,
}

/// Change the display name. Every session of the user shows it at once.
#[utoipa::path(
    patch, path = "/v1/user", tag = "account",
    request_body = ProfileUpdate,
    responses(
        (status = 200, description = "Updated", body = UserResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Foreign origin, CSRF or missing BFF key", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(req): JsonBody<ProfileUpdate>,
) -> Result<Response, ApiError> {
    let user = state
        .auth
        .update_profile(&auth.session, req.name.as_deref())
        .await?;
    Ok(UserResponse::answer(&user, StatusCode::OK))
}

/// Delete the account: the user, their identities, sessions, refresh
/// families and mail tokens. Clears the cookies.
#[utoipa::path(
    delete, path = "/v1/user", tag = "account",
    request_body = DeleteAccount,
    responses(
        (status = 204, description = "Deleted; cookies cleared with Max-Age=0",
            headers(("Set-Cookie" = String, description = "both cookies, expired"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "CSRF or origin check failed; reauthentication_required (no password and no sign-in in the last 5 minutes)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong or missing current password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords (Retry-After)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down or hasher saturated (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    auth: Authenticated,
    Client(client): Client,
    JsonBody(req): JsonBody<DeleteAccount>,
) -> Result<Response, ApiError> {
    state
        .auth
        .delete_account(&auth.session, req.current_password, &client)
        .await?;
    state.metrics.ended("account_deleted", 1);
    Ok(signed_out())
}

/// One audit event, as users and operators see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub id: uuid::Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub at: time::OffsetDateTime,
    /// `sign_in`, `sign_in_failed`, `password_changed`, … (the contract's list).
    #[schema(example = "sign_in")]
    pub kind: &'static str,
    pub user_id: Option<uuid::Uuid>,
    /// `user`, `admin:<id>`, `admin_key`, `cli` or `system`.
    #[schema(example = "user")]
    pub actor: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// What else is known, never a secret (a session id, a provider, …).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<&AuditEvent> for EventView {
    fn from(e: &AuditEvent) -> Self {
        Self {
            id: e.id,
            at: e.at,
            kind: e.kind.as_str(),
            user_id: e.user_id.map(|u| u.0),
            actor: e.actor.to_field(),
            ip: e.ip.clone(),
            user_agent: e.user_agent.clone(),
            detail: e.detail.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityResponse {
    pub events: Vec<EventView>,
}

/// The signed-in user's own last 50 security events, newest first: sign-ins
/// (and failed ones), sign-outs, password and email changes, factors,
/// linked providers.
#[utoipa::path(
    get, path = "/v1/account/activity", tag = "account",
    responses(
        (status = 200, description = "Newest first", body = ActivityResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Missing BFF key", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub async fn activity(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<ActivityResponse>, ApiError> {
    let events = state.auth.activity(&auth.session).await?;
    Ok(Json(ActivityResponse {
        events: events.iter().map(EventView::from).collect(),
    }))
}
