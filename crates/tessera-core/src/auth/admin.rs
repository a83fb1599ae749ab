//! What operators do to users (the `tessera user` commands).

use super::Auth;
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
        let email = user::normalize_email(email);
        let record = self
            .users
            .find_user_by_email(&email)
            .await?
            .ok_or(AuthError::NotFound)?;
        self.users
            .set_disabled(record.user.id, Some(self.clock.now()))
            .await?;
        self.revoke_refresh_families(record.user.id).await?;
        Ok(self
            .sessions
            .delete_user_sessions(record.user.id, None)
            .await?)
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
