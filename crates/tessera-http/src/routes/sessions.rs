//! The device list: see and end your own sessions.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tessera_core::SessionId;
use uuid::Uuid;

use super::account::signed_out;
use super::views::{DeviceView, SessionList};
use crate::AppState;
use crate::extract::Authenticated;
use crate::problem::{ApiError, Problem};

/// The signed-in user's live sessions, newest first.
#[utoipa::path(
    get, path = "/v1/sessions", tag = "sessions",
    responses(
        (status = 200, description = "Live sessions of the user", body = SessionList),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<SessionList>, ApiError> {
    let current = auth.session.id;
    let sessions = state.auth.list_sessions(&auth.session).await?;
    Ok(Json(SessionList {
        sessions: sessions
            .iter()
            .map(|s| DeviceView::of(s, Some(current)))
            .collect(),
    }))
}

/// End one of your own sessions. Ending the current one also clears the
/// cookies. Another user's session id is 404, like one that never existed.
#[utoipa::path(
    delete, path = "/v1/sessions/{id}", tag = "sessions",
    params(("id" = Uuid, Path, description = "Session id from the list")),
    responses(
        (status = 204, description = "Session ended"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "CSRF or origin check failed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session of yours", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub async fn revoke(
    State(state): State<AppState>,
    auth: Authenticated,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    // A malformed id (even one that is not UTF-8) is just an id that is not yours.
    let id = id
        .ok()
        .and_then(|Path(id)| Uuid::parse_str(&id).ok())
        .map(SessionId)
        .ok_or(ApiError::NotFound)?;
    state.auth.revoke_session(&auth.session, id).await?;
    state.metrics.ended("revoked", 1);
    if id == auth.session.id {
        return Ok(signed_out());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// End every session of the user except this one ("sign out everywhere else").
#[utoipa::path(
    delete, path = "/v1/sessions", tag = "sessions",
    responses(
        (status = 204, description = "Other sessions ended"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "CSRF or origin check failed", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub async fn revoke_others(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<StatusCode, ApiError> {
    let ended = state.auth.revoke_other_sessions(&auth.session).await?;
    state.metrics.ended("revoked", ended);
    Ok(StatusCode::NO_CONTENT)
}
