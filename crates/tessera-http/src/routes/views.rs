//! Response bodies. Built from domain values; nothing secret has a field
//! here to leak through.

use serde::{Deserialize, Serialize};
use tessera_core::{Session, User};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// The user as answered. Borrows from the session it describes: the whoami
/// answer copies no string on its way out.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView<'a> {
    pub id: Uuid,
    #[schema(example = "ada@example.com")]
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub email_verified: bool,
    #[schema(value_type = Vec<String>)]
    pub roles: &'a [String],
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl<'a> From<&'a User> for UserView<'a> {
    fn from(u: &'a User) -> Self {
        Self {
            id: u.id.0,
            email: &u.email,
            name: u.name.as_deref(),
            email_verified: u.email_verified,
            roles: &u.roles,
            created_at: u.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the session ends if unused: the earlier of the idle and absolute expiry.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// When the session ends no matter what.
    #[serde(with = "time::serde::rfc3339")]
    pub absolute_expires_at: OffsetDateTime,
}

impl From<&Session> for SessionView {
    fn from(s: &Session) -> Self {
        Self {
            id: s.id.0,
            created_at: s.created_at,
            expires_at: s.expires_at(),
            absolute_expires_at: s.absolute_expires_at,
        }
    }
}

/// The answer as `application/json`, as axum's `Json` writes it but into a
/// buffer sized for an [`AuthResponse`] at once (axum's starts at 128 bytes
/// and grows twice on the way to the whoami answer's ~350).
pub fn json_answer<T: Serialize>(value: &T) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut body = Vec::with_capacity(512);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => (
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        Err(e) => crate::problem::ApiError::Auth(tessera_core::AuthError::Internal(format!(
            "answer not serializable: {e}"
        )))
        .into_response(),
    }
}

/// `{user, session}`: the answer of register, login and whoami.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthResponse<'a> {
    pub user: UserView<'a>,
    pub session: SessionView,
}

impl<'a> From<&'a Session> for AuthResponse<'a> {
    fn from(s: &'a Session) -> Self {
        Self {
            user: UserView::from(&s.user),
            session: SessionView::from(s),
        }
    }
}

/// One device in the session list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeviceView {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// This is the session making the request.
    pub current: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionList {
    pub sessions: Vec<DeviceView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Status {
    #[schema(example = "ok")]
    pub status: String,
}
