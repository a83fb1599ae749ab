//! The admin API: `/v1/admin/*`, for a signed-in administrator (role
//! `admin`, a session that proved a second factor) or a server-to-server
//! caller with the admin key (see [`Admin`]). Every change is audited
//! with its actor.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tessera_core::audit::{AuditQuery, EventKind, cursor_of, parse_cursor};
use tessera_core::user::{UserId, UserRecord};
use tessera_core::{AuthError, FieldError, UserPatch};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::mfa::MfaStatusView;
use super::oauth::IdentityView;
use super::user::EventView;
use super::views::DeviceView;
use crate::AppState;
use crate::extract::Admin;
use crate::json::JsonBody;
use crate::problem::{ApiError, Problem};

/// A user as administrators see them: whoami's user, and whether they are
/// disabled.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserView {
    pub id: Uuid,
    pub email: String,
    pub name: Option<String>,
    pub email_verified: bool,
    pub roles: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub disabled: bool,
}

impl From<&UserRecord> for AdminUserView {
    fn from(r: &UserRecord) -> Self {
        Self {
            id: r.user.id.0,
            email: r.user.email.clone(),
            name: r.user.name.clone(),
            email_verified: r.user.email_verified,
            roles: r.user.roles.clone(),
            created_at: r.user.created_at,
            disabled: r.disabled_at.is_some(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub users: Vec<AdminUserView>,
    /// Send it as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserDetail {
    pub user: AdminUserView,
    pub identities: Vec<IdentityView>,
    pub sessions: Vec<DeviceView>,
    pub second_factors: MfaStatusView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserResponse {
    pub user: AdminUserView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    pub events: Vec<EventView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct UserSearch {
    /// Part of the email or name, any case.
    pub query: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 100; 50 if absent.
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditSearch {
    /// Only this user's events.
    pub user_id: Option<String>,
    /// Only events of this kind.
    pub kind: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 100; 50 if absent.
    pub limit: Option<u32>,
}

/// Absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminUserPatch {
    /// Disabling ends every session and refresh family of the user.
    pub disabled: Option<bool>,
    /// The whole list; each 1 to 64 of a-z, 0-9, `_ - . :`.
    pub roles: Option<Vec<String>>,
    /// Empty clears it.
    pub name: Option<String>,
    /// Only `true`.
    pub email_verified: Option<bool>,
}

fn user_id(id: Result<Path<String>, PathRejection>) -> Result<UserId, ApiError> {
    id.ok()
        .and_then(|Path(id)| Uuid::parse_str(&id).ok())
        .map(UserId)
        .ok_or(ApiError::NotFound)
}

fn page_size(limit: Option<u32>) -> u32 {
    limit.unwrap_or(50)
}

/// Find users: by part of their email or name, oldest first, a page at a
/// time.
#[utoipa::path(
    get, path = "/v1/admin/users", tag = "admin",
    params(UserSearch),
    responses(
        (status = 200, description = "A page of users", body = UserList),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "admin_required (no admin role, no second factor in the session, a wrong admin key), or a missing BFF key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad query, cursor or limit", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []), ("admin_key" = []))
)]
pub async fn users(
    State(state): State<AppState>,
    _admin: Admin,
    Query(q): Query<UserSearch>,
) -> Result<Json<UserList>, ApiError> {
    let page = state
        .auth
        .admin_users(q.query.as_deref(), q.cursor.as_deref(), page_size(q.limit))
        .await?;
    Ok(Json(UserList {
        users: page.users.iter().map(AdminUserView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One user, with their linked providers, live sessions and second factors.
#[utoipa::path(
    get, path = "/v1/admin/users/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user", body = AdminUserDetail),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "admin_required, or a missing BFF key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []), ("admin_key" = []))
)]
pub async fn user(
    State(state): State<AppState>,
    _admin: Admin,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<AdminUserDetail>, ApiError> {
    let (record, identities, sessions, factors) =
        state.auth.admin_user_detail(user_id(id)?).await?;
    Ok(Json(AdminUserDetail {
        user: AdminUserView::from(&record),
        identities: identities.into_iter().map(IdentityView::from).collect(),
        sessions: sessions.iter().map(|s| DeviceView::of(s, None)).collect(),
        second_factors: MfaStatusView {
            totp_enabled: factors.totp_enabled,
            recovery_codes_remaining: factors.recovery_codes_remaining,
            passkeys: factors.passkeys,
        },
    }))
}

/// Change a user: disable or enable, roles, name, mark the email verified.
#[utoipa::path(
    patch, path = "/v1/admin/users/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "The user's id")),
    request_body = AdminUserPatch,
    responses(
        (status = 200, description = "The user as changed", body = AdminUserResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "admin_required, CSRF or origin check failed, or a missing BFF key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid roles or name, email_verified false, an unknown field", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []), ("admin_key" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    admin: Admin,
    id: Result<Path<String>, PathRejection>,
    JsonBody(req): JsonBody<AdminUserPatch>,
) -> Result<Json<AdminUserResponse>, ApiError> {
    let patch = UserPatch {
        disabled: req.disabled,
        roles: req.roles,
        name: req.name.map(|n| Some(n).filter(|n| !n.trim().is_empty())),
        email_verified: req.email_verified,
    };
    let record = state
        .auth
        .admin_update_user(user_id(id)?, patch, admin.actor, &admin.client)
        .await?;
    Ok(Json(AdminUserResponse {
        user: AdminUserView::from(&record),
    }))
}

/// Sign the user out everywhere: every session and refresh family ends.
#[utoipa::path(
    delete, path = "/v1/admin/users/{id}/sessions", tag = "admin",
    params(("id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Signed out everywhere"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "admin_required, CSRF or origin check failed, or a missing BFF key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []), ("admin_key" = []))
)]
pub async fn revoke_sessions(
    State(state): State<AppState>,
    admin: Admin,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    state
        .auth
        .admin_revoke_sessions(user_id(id)?, admin.actor, &admin.client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mail the user a password reset link (nobody else ever sees a password).
#[utoipa::path(
    post, path = "/v1/admin/users/{id}/password-reset", tag = "admin",
    params(("id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 202, description = "The mail is queued"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "admin_required, CSRF or origin check failed, or a missing BFF key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []), ("admin_key" = []))
)]
pub async fn password_reset(
    State(state): State<AppState>,
    admin: Admin,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    state
        .auth
        .admin_password_reset(user_id(id)?, admin.actor, &admin.client)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// Delete the user and all that is theirs.
#[utoipa::path(
    delete, path = "/v1/admin/users/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "admin_required, CSRF or origin check failed, or a missing BFF key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []), ("admin_key" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    admin: Admin,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    state
        .auth
        .admin_delete_user(user_id(id)?, admin.actor, &admin.client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The audit log, newest first, a page at a time.
#[utoipa::path(
    get, path = "/v1/admin/audit", tag = "admin",
    params(AuditSearch),
    responses(
        (status = 200, description = "A page of events", body = EventList),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "admin_required, or a missing BFF key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad user id, kind, cursor or limit", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []), ("admin_key" = []))
)]
pub async fn audit(
    State(state): State<AppState>,
    _admin: Admin,
    Query(q): Query<AuditSearch>,
) -> Result<Json<EventList>, ApiError> {
    let mut errors = Vec::new();
    let user = match q.user_id.as_deref().filter(|u| !u.is_empty()) {
        Some(u) => Uuid::parse_str(u).ok().map(UserId).or_else(|| {
            errors.push(FieldError::new("user_id", "is not a user id"));
            None
        }),
        None => None,
    };
    let kind = match q.kind.as_deref().filter(|k| !k.is_empty()) {
        Some(k) => EventKind::parse(k).or_else(|| {
            errors.push(FieldError::new("kind", "is not an event kind"));
            None
        }),
        None => None,
    };
    let before = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => parse_cursor(c).or_else(|| {
            errors.push(FieldError::new("cursor", "is not a cursor this API gave"));
            None
        }),
        None => None,
    };
    let limit = page_size(q.limit);
    if !(1..=tessera_core::MAX_PAGE).contains(&limit) {
        errors.push(FieldError::new("limit", "must be 1 to 100"));
    }
    if !errors.is_empty() {
        return Err(AuthError::Validation(errors).into());
    }
    let mut events = state
        .auth
        .audit_log(&AuditQuery {
            user,
            kind,
            since: None,
            before,
            limit: limit + 1,
        })
        .await?;
    let next_cursor = if events.len() > limit as usize {
        events.truncate(limit as usize);
        events.last().map(cursor_of)
    } else {
        None
    };
    Ok(Json(EventList {
        events: events.iter().map(EventView::from).collect(),
        next_cursor,
    }))
}
