//! Passkeys: register one while signed in, sign in with one (no password,
//! no second factor), list, rename and delete. Each ceremony is two
//! requests; the first answers a `flow` value that the second sends back.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tessera_core::PasskeyCeremony;
use tessera_core::mfa::PasskeyRecord;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use super::account::started;
use crate::AppState;
use crate::extract::{Authenticated, Client, session_cookie};
use crate::json::JsonBody;
use crate::problem::{ApiError, Problem};

/// One registered passkey.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyView {
    pub id: Uuid,
    #[schema(example = "MacBook")]
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    /// The authenticator may sync it to the user's other devices.
    pub backup_eligible: bool,
    /// It is synced (backed up) now.
    pub backup_state: bool,
}

impl From<&PasskeyRecord> for PasskeyView {
    fn from(p: &PasskeyRecord) -> Self {
        Self {
            id: p.id,
            name: p.name.clone(),
            created_at: p.created_at,
            last_used_at: p.last_used_at,
            backup_eligible: p.backup_eligible,
            backup_state: p.backup_state,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyResponse {
    pub passkey: PasskeyView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyList {
    pub passkeys: Vec<PasskeyView>,
}

/// The first half of a ceremony.
#[derive(Debug, Serialize, ToSchema)]
pub struct CeremonyStart {
    /// Send it back with the second half, within 5 minutes.
    pub flow: String,
    /// `{publicKey: …}` for `navigator.credentials.create()` / `.get()`
    /// (base64url strings, as `@simplewebauthn/browser` takes them).
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}

impl From<PasskeyCeremony> for CeremonyStart {
    fn from(c: PasskeyCeremony) -> Self {
        Self {
            flow: c.flow.expose().to_owned(),
            options: c.options,
        }
    }
}

/// An empty body, or one naming nothing: both are fine.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct Empty {}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegistrationFinish {
    pub flow: String,
    /// The authenticator's answer (`RegistrationResponseJSON`).
    #[schema(value_type = Object)]
    pub credential: RegisterPublicKeyCredential,
    /// At most 100 characters; none is "Passkey".
    #[schema(example = "MacBook")]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SignInFinish {
    pub flow: String,
    /// The authenticator's answer (`AuthenticationResponseJSON`).
    #[schema(value_type = Object)]
    pub credential: PublicKeyCredential,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasskeyRename {
    #[schema(example = "Work laptop")]
    pub name: Option<String>,
}

/// Start registering a passkey for the signed-in user.
#[utoipa::path(
    post, path = "/v1/passkeys/register/start", tag = "passkeys",
    request_body = Empty,
    responses(
        (status = 404, description = "passkeys_unavailable: the public origin is an IP address, which WebAuthn does not allow", body = Problem, content_type = "application/problem+json"),
        (status = 200, description = "Options for navigator.credentials.create()", body = CeremonyStart),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "CSRF or origin check failed, or missing BFF key", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body is not a JSON object", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub async fn register_start(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(_): JsonBody<Empty>,
) -> Result<Json<CeremonyStart>, ApiError> {
    let c = state.auth.begin_passkey_registration(&auth.session).await?;
    Ok(Json(c.into()))
}

/// Finish registering: verify the authenticator's answer, store the
/// passkey.
#[utoipa::path(
    post, path = "/v1/passkeys/register/finish", tag = "passkeys",
    request_body = RegistrationFinish,
    responses(
        (status = 404, description = "passkeys_unavailable: the public origin is an IP address, which WebAuthn does not allow", body = Problem, content_type = "application/problem+json"),
        (status = 201, description = "Registered", body = PasskeyResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in; passkey_invalid (unknown or expired flow, or a refused answer)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "CSRF or origin check failed, or missing BFF key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "passkey_exists", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name or credential", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub async fn register_finish(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(req): JsonBody<RegistrationFinish>,
) -> Result<Response, ApiError> {
    let passkey = state
        .auth
        .finish_passkey_registration(
            &auth.session,
            &req.flow,
            &req.credential,
            req.name.as_deref(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(PasskeyResponse {
            passkey: PasskeyView::from(&passkey),
        }),
    )
        .into_response())
}

/// Start a passwordless sign-in with a passkey.
#[utoipa::path(
    post, path = "/v1/passkeys/login/start", tag = "passkeys",
    request_body = Empty,
    responses(
        (status = 404, description = "passkeys_unavailable: the public origin is an IP address, which WebAuthn does not allow", body = Problem, content_type = "application/problem+json"),
        (status = 200, description = "Options for navigator.credentials.get()", body = CeremonyStart),
        (status = 403, description = "Foreign origin or missing BFF key", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many sign-ins started from this address (Retry-After)", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body is not a JSON object", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login_start(
    State(state): State<AppState>,
    Client(client): Client,
    JsonBody(_): JsonBody<Empty>,
) -> Result<Json<CeremonyStart>, ApiError> {
    let c = state.auth.begin_passkey_sign_in(&client).await?;
    Ok(Json(c.into()))
}

/// Finish a passkey sign-in: a new session.
#[utoipa::path(
    post, path = "/v1/passkeys/login/finish", tag = "passkeys",
    request_body = SignInFinish,
    responses(
        (status = 404, description = "passkeys_unavailable: the public origin is an IP address, which WebAuthn does not allow", body = Problem, content_type = "application/problem+json"),
        (status = 200, description = "Signed in; session and CSRF cookies set", body = super::views::AuthResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "passkey_invalid", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Foreign origin or missing BFF key; account_disabled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid credential", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login_finish(
    State(state): State<AppState>,
    Client(client): Client,
    parts: Parts,
    JsonBody(req): JsonBody<SignInFinish>,
) -> Result<Response, ApiError> {
    let presented = session_cookie(&parts);
    let new = state
        .auth
        .finish_passkey_sign_in(&req.flow, &req.credential, &client, presented.as_ref())
        .await?;
    Ok(started(&state, StatusCode::OK, &new))
}

/// The signed-in user's passkeys, oldest first.
#[utoipa::path(
    get, path = "/v1/passkeys", tag = "passkeys",
    responses(
        (status = 200, description = "The passkeys", body = PasskeyList),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Missing BFF key", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<PasskeyList>, ApiError> {
    let passkeys = state.auth.list_passkeys(&auth.session).await?;
    Ok(Json(PasskeyList {
        passkeys: passkeys.iter().map(PasskeyView::from).collect(),
    }))
}

/// Rename one of the user's passkeys.
#[utoipa::path(
    patch, path = "/v1/passkeys/{id}", tag = "passkeys",
    params(("id" = Uuid, Path, description = "The passkey's id")),
    request_body = PasskeyRename,
    responses(
        (status = 200, description = "Renamed", body = PasskeyResponse),
        (status = 400, description = "Malformed JSON or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "CSRF or origin check failed, or missing BFF key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such passkey of this user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub async fn rename(
    State(state): State<AppState>,
    auth: Authenticated,
    id: Result<Path<String>, PathRejection>,
    JsonBody(req): JsonBody<PasskeyRename>,
) -> Result<Json<PasskeyResponse>, ApiError> {
    let id = passkey_id(id)?;
    let passkey = state
        .auth
        .rename_passkey(&auth.session, id, req.name.as_deref())
        .await?;
    Ok(Json(PasskeyResponse {
        passkey: PasskeyView::from(&passkey),
    }))
}

/// Delete one of the user's passkeys (not their last way to sign in).
#[utoipa::path(
    delete, path = "/v1/passkeys/{id}", tag = "passkeys",
    params(("id" = Uuid, Path, description = "The passkey's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "CSRF or origin check failed, or missing BFF key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such passkey of this user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "last_sign_in_method", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    auth: Authenticated,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = passkey_id(id)?;
    state.auth.delete_passkey(&auth.session, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A malformed id (even one that is not UTF-8) is just an id that is not
/// the user's.
fn passkey_id(id: Result<Path<String>, PathRejection>) -> Result<Uuid, ApiError> {
    id.ok()
        .and_then(|Path(id)| Uuid::parse_str(&id).ok())
        .ok_or(ApiError::NotFound)
}
