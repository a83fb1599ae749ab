//! The user's own record: their name, and deleting the account.

use secrecy::{ExposeSecret, SecretString};
use time::Duration;

use super::{Auth, ClientInfo};
use crate::error::{AuthError, FieldError};
use crate::session::Session;
use crate::user::{self, User, UserId, UserRecord};

/// How recent a sign-in must be to stand in for a password, for a user who
/// has none (the contract's 5 minutes).
pub const RECENT_SIGN_IN: Duration = Duration::minutes(5);

impl Auth {
    /// Sets (or, with an empty one, clears) the display name.
    pub async fn update_profile(
        &self,
        session: &Session,
        name: Option<&str>,
    ) -> Result<User, AuthError> {
        let mut errors = Vec::new();
        let name = user::normalize_name(name, &mut errors);
        if !errors.is_empty() {
            return Err(AuthError::Validation(errors));
        }
        self.live_user(session.user.id).await?;
        if !self
            .users
            .set_name(session.user.id, name.as_deref())
            .await?
        {
            return Err(AuthError::Unauthenticated);
        }
        self.refresh_snapshots(session.user.id).await
    }

    /// Deletes the signed-in user once they confirmed who they are: the
    /// user, identities, refresh families, mail tokens and queued mail in
    /// one transaction, then every session.
    pub async fn delete_account(
        &self,
        session: &Session,
        current_password: SecretString,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let record = self
            .reauthenticate(session, current_password, client)
            .await?;
        self.users.delete_user(record.user.id).await?;
        self.sessions
            .delete_user_sessions(record.user.id, None)
            .await?;
        self.record_for(
            crate::audit::EventKind::UserDeleted,
            Some(record.user.id),
            crate::audit::Actor::User,
            client,
            serde_json::json!({}),
        )
        .await;
        Ok(())
    }

    /// Confirms that the signed-in user is who the session says, before
    /// something that cannot be undone: the current password (counted as a
    /// login attempt, so a stolen session cannot guess it), or for a user
    /// without a password a session started in the last 5 minutes.
    pub(super) async fn reauthenticate(
        &self,
        session: &Session,
        current_password: SecretString,
        client: &ClientInfo,
    ) -> Result<UserRecord, AuthError> {
        let record = self.live_user(session.user.id).await?;
        let Some(stored) = record.password_hash.clone() else {
            if self.clock.now() - session.created_at > RECENT_SIGN_IN {
                return Err(AuthError::ReauthenticationRequired);
            }
            return Ok(record);
        };
        if current_password.expose_secret().is_empty() {
            return Err(AuthError::Validation(vec![FieldError::new(
                "current_password",
                "is required",
            )]));
        }
        let now = self.clock.now();
        let attempt = self
            .guard
            .attempt(&record.user.email, client.ip.as_deref(), now)
            .await?;
        if !self
            .hasher
            .verify(current_password, Some(stored))
            .await?
            .matches
        {
            return Err(AuthError::Validation(vec![FieldError::new(
                "current_password",
                "is incorrect",
            )]));
        }
        self.guard.succeeded(attempt, now).await?;
        Ok(record)
    }

    /// The user as stored now, if they exist and are enabled.
    pub(super) async fn live_user(&self, id: UserId) -> Result<UserRecord, AuthError> {
        self.users
            .find_user(id)
            .await?
            .filter(|r| r.disabled_at.is_none())
            .ok_or(AuthError::Unauthenticated)
    }

    /// Reads the user and rewrites the snapshot in each of their sessions,
    /// so every device sees a change at once.
    pub(super) async fn refresh_snapshots(&self, id: UserId) -> Result<User, AuthError> {
        let user = self
            .users
            .find_user(id)
            .await?
            .ok_or(AuthError::InvalidToken)?
            .user;
        self.sessions.update_user_snapshot(&user).await?;
        Ok(user)
    }
}
