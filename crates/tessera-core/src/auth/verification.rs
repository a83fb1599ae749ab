//! Verifying the user's address: the mail with the link, and the link's
//! token coming back.

use super::{Auth, ClientInfo};
use crate::error::AuthError;
use crate::mail::{MailJob, TokenPurpose};
use crate::session::Session;
use crate::user::User;

impl Auth {
    /// Queues a verification mail to the signed-in user's address; nothing
    /// if it is verified already. At most `max_verify_sends` an hour.
    pub async fn send_verification(&self, session: &Session) -> Result<(), AuthError> {
        let record = self.live_user(session.user.id).await?;
        if record.user.email_verified {
            return Ok(());
        }
        let limits = self.settings.mail.limits;
        let key = format!("verify-send:user:{}", record.user.id);
        let now = self.clock.now();
        if let Err(retry_after) = self
            .guard
            .within(
                &key,
                limits.max_verify_sends,
                std::time::Duration::from_hours(1),
                now,
            )
            .await?
        {
            return Err(AuthError::RateLimited { retry_after });
        }
        self.mail
            .enqueue_mail(
                &MailJob::Verify {
                    address: record.user.email,
                },
                now,
            )
            .await?;
        Ok(())
    }

    /// The link's token: the address it went to is verified, if it is
    /// still the user's. Every session of the user shows it at once.
    pub async fn verify_email(&self, token: &str) -> Result<User, AuthError> {
        let spent = self.take_mail_token(token, TokenPurpose::Verify).await?;
        if !self
            .users
            .set_email_verified(spent.user_id, &spent.address)
            .await?
        {
            return Err(AuthError::InvalidToken);
        }
        self.record_for(
            crate::audit::EventKind::EmailVerified,
            Some(spent.user_id),
            crate::audit::Actor::User,
            &super::ClientInfo::default(),
            serde_json::json!({}),
        )
        .await;
        self.refresh_snapshots(spent.user_id).await
    }

    /// Sends the verification mail again to an address, for someone who
    /// cannot sign in because it is not verified. The same answer whether
    /// or not anyone holds the address (see [`Self::mail_request`]).
    pub async fn resend_verification(
        &self,
        email: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let Some(address) = self.mail_request(email, client).await? else {
            return Ok(());
        };
        self.mail
            .enqueue_mail(&MailJob::Verify { address }, self.clock.now())
            .await?;
        Ok(())
    }
}
