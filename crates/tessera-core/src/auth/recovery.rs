//! Forgot password and reset: a link to the address, and a new password
//! (or a first one, for a user who only had a provider) from its token.

use secrecy::{ExposeSecret, SecretString};

use super::{Auth, ClientInfo, Started};
use crate::error::{AuthError, FieldError};
use crate::mail::{MailJob, TokenPurpose};
use crate::mfa::{Amr, Method};
use crate::token::SessionToken;
use crate::user;

impl Auth {
    /// Queues a reset mail for `email`. Whether anyone holds the address is
    /// decided by the queue worker, later: this request does the same
    /// work, and answers the same, either way.
    pub async fn forgot_password(&self, email: &str, client: &ClientInfo) -> Result<(), AuthError> {
        let Some(address) = self.mail_request(email, client).await? else {
            return Ok(());
        };
        self.mail
            .enqueue_mail(&MailJob::Reset { address }, self.clock.now())
            .await?;
        Ok(())
    }

    /// Sets the password from a reset link's token, marks the address
    /// verified (the link proved control of it), voids every other reset
    /// token, ends every session and refresh family of the user, and
    /// starts a new session (ending one the client still presented).
    pub async fn reset_password(
        &self,
        token: &str,
        new_password: SecretString,
        client: &ClientInfo,
        presented: Option<&SessionToken>,
    ) -> Result<Started, AuthError> {
        let mut errors = Vec::new();
        if token.is_empty() {
            errors.push(FieldError::new("token", "is required"));
        }
        user::check_password(new_password.expose_secret(), "new_password", &mut errors);
        if !errors.is_empty() {
            return Err(AuthError::Validation(errors));
        }
        // Hashed before the token is spent: a busy hasher leaves the link
        // working for another try.
        let phc = self.hasher.hash(new_password).await?;
        let spent = self.take_mail_token(token, TokenPurpose::Reset).await?;
        let record = self.live_user(spent.user_id).await.map_err(|e| match e {
            AuthError::Unauthenticated => AuthError::InvalidToken,
            e => e,
        })?;
        if !self
            .users
            .reset_password(spent.user_id, &spent.address, &phc)
            .await?
        {
            return Err(AuthError::InvalidToken);
        }
        self.mail
            .delete_mail_tokens(spent.user_id, Some(TokenPurpose::Reset))
            .await?;
        self.sessions
            .delete_user_sessions(spent.user_id, None)
            .await?;
        self.revoke_refresh_families(spent.user_id).await?;
        self.record_for(
            crate::audit::EventKind::PasswordReset,
            Some(spent.user_id),
            crate::audit::Actor::User,
            client,
            serde_json::json!({}),
        )
        .await;
        self.end_presented(presented).await?;
        let mut user = record.user;
        user.email_verified = true;
        let started = self
            .start_session(user, client, Amr::of(&[Method::Pwd]))
            .await?;
        self.still_allowed(started, Some(&Some(phc)), AuthError::InvalidToken)
            .await
    }
}
