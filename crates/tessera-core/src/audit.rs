//! The audit log: security events, append-only, each `{id, at, kind,
//! user_id, actor, ip, user_agent, detail}`. Never a secret: `detail`
//! holds only what an operator may read (a provider's name, a session or
//! passkey id, the roles given), never a password, token, code or hash.
//!
//! Writing an event is best effort: the action it records has happened
//! (and may have touched another store, such as Redis) by then, so a failed
//! write is logged as an error and counted, not turned into a failure of
//! the action.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::user::UserId;

/// What happened. The contract's list, in its words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    SignUp,
    SignIn,
    SignInFailed,
    MfaChallengeFailed,
    SignOut,
    SessionRevoked,
    PasswordChanged,
    PasswordReset,
    EmailVerified,
    EmailChanged,
    FactorAdded,
    FactorRemoved,
    IdentityLinked,
    IdentityUnlinked,
    RefreshReuseDetected,
    UserDisabled,
    UserEnabled,
    RolesChanged,
    UserDeleted,
}

impl EventKind {
    pub const ALL: [Self; 19] = [
        Self::SignUp,
        Self::SignIn,
        Self::SignInFailed,
        Self::MfaChallengeFailed,
        Self::SignOut,
        Self::SessionRevoked,
        Self::PasswordChanged,
        Self::PasswordReset,
        Self::EmailVerified,
        Self::EmailChanged,
        Self::FactorAdded,
        Self::FactorRemoved,
        Self::IdentityLinked,
        Self::IdentityUnlinked,
        Self::RefreshReuseDetected,
        Self::UserDisabled,
        Self::UserEnabled,
        Self::RolesChanged,
        Self::UserDeleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignUp => "sign_up",
            Self::SignIn => "sign_in",
            Self::SignInFailed => "sign_in_failed",
            Self::MfaChallengeFailed => "mfa_challenge_failed",
            Self::SignOut => "sign_out",
            Self::SessionRevoked => "session_revoked",
            Self::PasswordChanged => "password_changed",
            Self::PasswordReset => "password_reset",
            Self::EmailVerified => "email_verified",
            Self::EmailChanged => "email_changed",
            Self::FactorAdded => "factor_added",
            Self::FactorRemoved => "factor_removed",
            Self::IdentityLinked => "identity_linked",
            Self::IdentityUnlinked => "identity_unlinked",
            Self::RefreshReuseDetected => "refresh_reuse_detected",
            Self::UserDisabled => "user_disabled",
            Self::UserEnabled => "user_enabled",
            Self::RolesChanged => "roles_changed",
            Self::UserDeleted => "user_deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Who did it: the user themselves, an administrator (by the admin API,
/// as a user or with the admin key), the command line, or the server on
/// its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The user the event is about (or, for a failed sign-in, whoever
    /// tried).
    User,
    /// A signed-in administrator.
    Admin(UserId),
    /// A server-to-server caller holding `TESSERA_ADMIN_KEY`.
    AdminKey,
    /// `tessera user …` on the command line.
    Cli,
    System,
}

impl Actor {
    pub fn to_field(&self) -> String {
        match self {
            Self::User => "user".into(),
            Self::Admin(id) => format!("admin:{id}"),
            Self::AdminKey => "admin_key".into(),
            Self::Cli => "cli".into(),
            Self::System => "system".into(),
        }
    }

    pub fn parse_field(s: &str) -> Option<Self> {
        Some(match s {
            "user" => Self::User,
            "admin_key" => Self::AdminKey,
            "cli" => Self::Cli,
            "system" => Self::System,
            other => Self::Admin(UserId(Uuid::parse_str(other.strip_prefix("admin:")?).ok()?)),
        })
    }
}

/// One event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// Its place in the log: later events have larger numbers (assigned
    /// by the store; 0 before it is stored).
    pub seq: i64,
    pub id: Uuid,
    pub at: OffsetDateTime,
    pub kind: EventKind,
    /// Whom it is about; `None` for a failed sign-in of an unknown email.
    pub user_id: Option<UserId>,
    pub actor: Actor,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// A JSON object; never a secret.
    pub detail: Value,
}

impl AuditEvent {
    pub fn new(kind: EventKind, user_id: Option<UserId>, at: OffsetDateTime) -> Self {
        Self {
            seq: 0,
            id: Uuid::new_v4(),
            at,
            kind,
            user_id,
            actor: Actor::User,
            ip: None,
            user_agent: None,
            detail: Value::Object(serde_json::Map::new()),
        }
    }
}

/// Which events to read, newest first.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub user: Option<UserId>,
    pub kind: Option<EventKind>,
    /// Only events at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Only events before this one in the log (the cursor: the last
    /// event of the page before).
    pub before: Option<i64>,
    pub limit: u32,
}

/// A page's cursor: the last event's place in the log, opaque to clients.
pub fn cursor_of(event: &AuditEvent) -> String {
    format!("e{}", event.seq)
}

pub fn parse_cursor(s: &str) -> Option<i64> {
    s.strip_prefix('e')?.parse().ok().filter(|n: &i64| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_actors_round_trip_through_their_text() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                Value::String(kind.as_str().into())
            );
        }
        let admin = Actor::Admin(UserId::new());
        for actor in [
            Actor::User,
            admin,
            Actor::AdminKey,
            Actor::Cli,
            Actor::System,
        ] {
            assert_eq!(Actor::parse_field(&actor.to_field()), Some(actor));
        }
        assert_eq!(Actor::parse_field("admin:nope"), None);
    }

    #[test]
    fn cursors_round_trip_and_refuse_junk() {
        let mut e = AuditEvent::new(
            EventKind::SignIn,
            None,
            OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
        );
        e.seq = 42;
        assert_eq!(parse_cursor(&cursor_of(&e)), Some(42));
        for junk in ["", "e", "42", "e-1", "e0", "ex", "e99999999999999999999"] {
            assert_eq!(parse_cursor(junk), None, "{junk}");
        }
    }
}
