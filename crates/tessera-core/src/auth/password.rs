//! Changing the password of a signed-in user.

use secrecy::{ExposeSecret, SecretString};

use super::{Auth, ClientInfo};
use crate::error::{AuthError, FieldError};
use crate::session::Session;
use crate::token::SessionToken;
use crate::user;

impl Auth {
    /// Changes the password, ends every other session and gives the current
    /// one a new token. A wrong current password counts as a login failure.
    pub async fn change_password(
        &self,
        current: &Session,
        current_password: SecretString,
        new_password: SecretString,
        client: &ClientInfo,
    ) -> Result<(Session, SessionToken, u64), AuthError> {
        let mut errors = Vec::new();
        if current_password.expose_secret().is_empty() {
            errors.push(FieldError::new("current_password", "is required"));
        }
        user::check_password(new_password.expose_secret(), "new_password", &mut errors);
        if !errors.is_empty() {
            return Err(AuthError::Validation(errors));
        }
        let now = self.clock.now();
        let attempt = self
            .guard
            .attempt(&current.user.email, client.ip.as_deref(), now)
            .await?;
        let record = self
            .users
            .find_user(current.user.id)
            .await?
            .filter(|r| r.disabled_at.is_none())
            .ok_or(AuthError::Unauthenticated)?;
        let checked = record.password_hash.clone();
        let verified = self
            .hasher
            .verify(current_password, record.password_hash)
            .await?;
        let incorrect =
            || AuthError::Validation(vec![FieldError::new("current_password", "is incorrect")]);
        let Some(checked) = checked.filter(|_| verified.matches) else {
            return Err(incorrect());
        };
        self.guard.succeeded(attempt, now).await?;
        let phc = self.hasher.hash(new_password).await?;
        // Only over the hash just checked: of two changes at once (the owner
        // and someone who knows the old password), the second finds the
        // password changed and is refused, instead of silently winning.
        if !self
            .users
            .replace_password_hash(current.user.id, &checked, &phc)
            .await?
        {
            return Err(incorrect());
        }
        let ended = self
            .sessions
            .delete_user_sessions(current.user.id, Some(current.id))
            .await?;
        let token = SessionToken::generate();
        if !self
            .sessions
            .rotate_session_token(current, &token.hash())
            .await?
        {
            return Err(AuthError::Unauthenticated);
        }
        self.revoke_refresh_families(current.user.id).await?;
        // A reset link mailed before the change must not undo it.
        self.mail
            .delete_mail_tokens(current.user.id, Some(crate::mail::TokenPurpose::Reset))
            .await?;
        self.record_for(
            crate::audit::EventKind::PasswordChanged,
            Some(current.user.id),
            crate::audit::Actor::User,
            client,
            serde_json::json!({"sessions_ended": ended}),
        )
        .await;
        let mut session = current.clone();
        session.token_hash = token.hash();
        Ok((session, token, ended))
    }
}
