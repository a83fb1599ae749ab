//! What operators do to users (the `tessera user` commands).

use serde_json::json;

use super::{Auth, ClientInfo};
use crate::audit::{Actor, EventKind};
use crate::error::{AuthError, FieldError};
use crate::store::StoreError;
use crate::user::{self, User, UserId, UserRecord};

/// A user from another auth system (`tessera user import`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportedUser {
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
    /// Argon2id, bcrypt, scrypt (PHC) or Better Auth's `salt:key`; none
    /// for a user who signs in by provider or resets their password.
    #[serde(default)]
    pub password_hash: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_at: Option<time::OffsetDateTime>,
}

/// What importing one user did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imported {
    Created(UserId),
    /// A user with that email exists; left as it is.
    Exists,
}

impl Auth {
    /// Disables a user and ends all their sessions; returns how many ended.
    pub async fn disable_user(&self, email: &str) -> Result<u64, AuthError> {
        let record = self.user_by_email(email).await?;
        self.users
            .set_disabled(record.user.id, Some(self.clock.now()))
            .await?;
        self.revoke_refresh_families(record.user.id).await?;
        self.record_for(
            crate::audit::EventKind::UserDisabled,
            Some(record.user.id),
            crate::audit::Actor::Cli,
            &super::ClientInfo::default(),
            serde_json::json!({}),
        )
        .await;
        Ok(self
            .sessions
            .delete_user_sessions(record.user.id, None)
            .await?)
    }

    /// Enables a disabled user (they sign in again as before).
    pub async fn enable_user(&self, email: &str, actor: Actor) -> Result<(), AuthError> {
        let record = self.user_by_email(email).await?;
        self.users.set_disabled(record.user.id, None).await?;
        self.record_for(
            EventKind::UserEnabled,
            Some(record.user.id),
            actor,
            &ClientInfo::default(),
            json!({}),
        )
        .await;
        Ok(())
    }

    /// Adds and removes roles; every session of the user shows the new
    /// roles at once (whoami), and new access tokens carry them. The
    /// roles afterwards, sorted.
    pub async fn change_roles(
        &self,
        email: &str,
        add: &[String],
        remove: &[String],
        actor: Actor,
    ) -> Result<Vec<String>, AuthError> {
        check_roles(add.iter().chain(remove))?;
        let record = self.user_by_email(email).await?;
        let before = record.user.roles.clone();
        let roles: Vec<String> = before
            .iter()
            .filter(|r| !remove.contains(r))
            .cloned()
            .chain(add.iter().cloned())
            .collect();
        self.set_user_roles(&record, roles, actor, &ClientInfo::default())
            .await
    }

    /// Sets the user's roles (sorted, without repeats; at most 32), shows
    /// them in every session at once, and records the change.
    pub(super) async fn set_user_roles(
        &self,
        record: &UserRecord,
        mut roles: Vec<String>,
        actor: Actor,
        client: &ClientInfo,
    ) -> Result<Vec<String>, AuthError> {
        check_roles(roles.iter())?;
        roles.sort();
        roles.dedup();
        if roles.len() > MAX_ROLES {
            return Err(AuthError::Validation(vec![FieldError::new(
                "roles",
                "at most 32 roles",
            )]));
        }
        if !self.users.set_roles(record.user.id, &roles).await? {
            return Err(AuthError::NotFound);
        }
        self.refresh_snapshots(record.user.id).await?;
        if roles != record.user.roles {
            self.record_for(
                EventKind::RolesChanged,
                Some(record.user.id),
                actor,
                client,
                json!({"before": record.user.roles, "after": roles}),
            )
            .await;
        }
        Ok(roles)
    }

    /// Ends every session and refresh family of a user (signed out
    /// everywhere, the account stays as it is); how many sessions ended.
    pub async fn revoke_user_sessions(&self, email: &str, actor: Actor) -> Result<u64, AuthError> {
        let record = self.user_by_email(email).await?;
        let ended = self
            .sessions
            .delete_user_sessions(record.user.id, None)
            .await?;
        self.revoke_refresh_families(record.user.id).await?;
        self.record_for(
            EventKind::SessionRevoked,
            Some(record.user.id),
            actor,
            &ClientInfo::default(),
            json!({"all": true, "ended": ended}),
        )
        .await;
        Ok(ended)
    }

    /// Mails the user a password reset link (the same mail as "forgot
    /// password"); the operator never chooses or sees the password.
    pub async fn send_password_reset(&self, email: &str, actor: Actor) -> Result<(), AuthError> {
        let record = self.user_by_email(email).await?;
        self.admin_password_reset(record.user.id, actor, &ClientInfo::default())
            .await
    }

    async fn user_by_email(&self, email: &str) -> Result<UserRecord, AuthError> {
        self.users
            .find_user_by_email(&user::normalize_email(email))
            .await?
            .ok_or(AuthError::NotFound)
    }

    /// Imports one user with their password hash as it is (checked at their
    /// next sign-in with its own algorithm, then replaced by Argon2id).
    /// Existing emails are left alone, so an import can be run again.
    pub async fn import_user(&self, input: ImportedUser) -> Result<Imported, AuthError> {
        let mut errors = Vec::new();
        let email = user::normalize_email(&input.email);
        user::check_email(&email, "email", &mut errors);
        let name = user::normalize_name(input.name.as_deref(), &mut errors);
        let password_hash = match input.password_hash.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(h) => match crate::imported::normalize(h) {
                Ok(h) => Some(h),
                Err(why) => {
                    errors.push(FieldError::new("password_hash", why));
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(AuthError::Validation(errors));
        }
        let record = UserRecord {
            user: User {
                id: UserId::new(),
                email,
                name,
                email_verified: input.email_verified,
                roles: Vec::new(),
                created_at: crate::clock::whole_seconds(
                    input.created_at.unwrap_or_else(|| self.clock.now()),
                ),
            },
            password_hash,
            disabled_at: None,
        };
        match self.users.insert_user(&record).await {
            Ok(()) => Ok(Imported::Created(record.user.id)),
            Err(StoreError::Conflict(_)) => Ok(Imported::Exists),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn list_users(&self, limit: u32, offset: u32) -> Result<Vec<UserRecord>, AuthError> {
        Ok(self.users.list_users(limit, offset).await?)
    }

    /// Revokes every refresh-token family of the user.
    pub async fn revoke_refresh_families(&self, user: UserId) -> Result<u64, AuthError> {
        Ok(self
            .refresh
            .revoke_user_families(user, self.clock.now())
            .await?)
    }
}

/// Most roles a user may hold.
const MAX_ROLES: usize = 32;

/// Every role valid, or one error per bad one.
fn check_roles<'a>(roles: impl Iterator<Item = &'a String>) -> Result<(), AuthError> {
    let errors: Vec<FieldError> = roles
        .filter(|r| !valid_role(r))
        .map(|role| {
            FieldError::new(
                "roles",
                format!("{role:?}: 1 to 64 of a-z, 0-9, '_', '-', '.', ':'"),
            )
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AuthError::Validation(errors))
    }
}

/// A role name: 1 to 64 of `a-z 0-9 _ - . :`.
fn valid_role(role: &str) -> bool {
    (1..=64).contains(&role.len())
        && role
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.:".contains(&b))
}
