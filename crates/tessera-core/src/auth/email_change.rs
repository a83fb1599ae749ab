//! Changing the address: a confirmation link to the new address, a notice
//! to the old one, and the link's token coming back.

use secrecy::SecretString;

use super::{Auth, ClientInfo};
use crate::error::{AuthError, FieldError};
use crate::mail::{MailJob, TokenPurpose};
use crate::session::Session;
use crate::store::StoreError;
use crate::user::{self, User};

impl Auth {
    /// Asks to move the signed-in user to `new_email`: checks who they are
    /// (the current password, or a recent sign-in for a user without
    /// one), then queues the confirmation to the new address and the
    /// notice to the old one. Nothing changes until the link is followed.
    pub async fn request_email_change(
        &self,
        session: &Session,
        new_email: &str,
        current_password: SecretString,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let new_email = user::normalize_email(new_email);
        let mut errors = Vec::new();
        user::check_email(&new_email, "new_email", &mut errors);
        if errors.is_empty() && new_email == session.user.email {
            errors.push(FieldError::new("new_email", "is your current address"));
        }
        if !errors.is_empty() {
            return Err(AuthError::Validation(errors));
        }
        // The sign-up domain list holds for every address a user has, or
        // a change would walk around it.
        self.settings.registration.admits_domain(&new_email)?;
        let record = self
            .reauthenticate(session, current_password, client)
            .await?;
        if self.users.find_user_by_email(&new_email).await?.is_some() {
            return Err(AuthError::EmailTaken);
        }
        let now = self.clock.now();
        self.mail
            .enqueue_mail(
                &MailJob::ChangeEmail {
                    user_id: record.user.id,
                    new_address: new_email.clone(),
                },
                now,
            )
            .await?;
        self.mail
            .enqueue_mail(
                &MailJob::ChangeNotice {
                    user_id: record.user.id,
                    old_address: record.user.email,
                    new_address: new_email,
                },
                now,
            )
            .await?;
        Ok(())
    }

    /// The confirmation link's token: the user moves to the new address,
    /// verified. Their other mail tokens (for the old address) are void.
    pub async fn confirm_email_change(&self, token: &str) -> Result<User, AuthError> {
        let spent = self
            .take_mail_token(token, TokenPurpose::ChangeEmail)
            .await?;
        let record = self.live_user(spent.user_id).await.map_err(|e| match e {
            AuthError::Unauthenticated => AuthError::InvalidToken,
            e => e,
        })?;
        match self
            .users
            .change_email(spent.user_id, &record.user.email, &spent.address)
            .await
        {
            Ok(true) => {}
            Ok(false) => return Err(AuthError::InvalidToken),
            Err(StoreError::Conflict(_)) => return Err(AuthError::EmailTaken),
            Err(e) => return Err(e.into()),
        }
        self.mail.delete_mail_tokens(spent.user_id, None).await?;
        // The addresses are the user's own data, not secrets; the old one
        // tells an operator where the account was.
        self.record_for(
            crate::audit::EventKind::EmailChanged,
            Some(spent.user_id),
            crate::audit::Actor::User,
            &super::ClientInfo::default(),
            serde_json::json!({"from": record.user.email, "to": spent.address}),
        )
        .await;
        self.refresh_snapshots(spent.user_id).await
    }
}
