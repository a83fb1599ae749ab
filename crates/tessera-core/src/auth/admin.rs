//! What operators do to users (the `tessera user` commands).

use super::Auth;
use crate::error::AuthError;
use crate::user::{self, UserId, UserRecord};

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
