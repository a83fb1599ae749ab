//! What goes out through mail: limits on requests that name an address,
//! taking a link's token back, and what the queue worker sends for each
//! queued job (it mints the token then, so no plain token rests in the
//! database).

use super::{Auth, ClientInfo};
use crate::error::AuthError;
use crate::mail::{Letter, LetterKind, MailJob, MailToken, TokenPurpose};
use crate::ratelimit::{email_key, ip_bucket};
use crate::token::SessionToken;
use crate::user;

impl Auth {
    /// A request that mails an address someone typed (forgot password,
    /// resend verification): validates it, counts it per client IP (429
    /// over the limit) and per address. The normalised address to mail,
    /// or `None` when the address is over its limit: the caller then
    /// answers as if it had queued the mail, so the limit neither floods
    /// an inbox nor tells anyone anything, nor lets a stranger block
    /// someone's recovery with a 429.
    pub(super) async fn mail_request(
        &self,
        email: &str,
        client: &ClientInfo,
    ) -> Result<Option<String>, AuthError> {
        let email = user::normalize_email(email);
        let mut errors = Vec::new();
        user::check_email(&email, "email", &mut errors);
        if !errors.is_empty() {
            return Err(AuthError::Validation(errors));
        }
        let limits = self.settings.mail.limits;
        let now = self.clock.now();
        if let Some(ip) = client.ip.as_deref() {
            let key = format!("mail:ip:{}", ip_bucket(ip));
            if let Err(retry_after) = self
                .guard
                .within(&key, limits.max_per_ip, limits.window, now)
                .await?
            {
                return Err(AuthError::RateLimited { retry_after });
            }
        }
        let key = format!("mail:address:{}", email_key(&email));
        Ok(self
            .guard
            .within(&key, limits.max_per_address, limits.window, now)
            .await?
            .is_ok()
            .then_some(email))
    }

    /// Spends a link's token of `purpose`: unknown, used, expired or of
    /// another purpose is [`AuthError::InvalidToken`].
    pub(super) async fn take_mail_token(
        &self,
        token: &str,
        purpose: TokenPurpose,
    ) -> Result<MailToken, AuthError> {
        let token = SessionToken::parse(token).ok_or(AuthError::InvalidToken)?;
        self.mail
            .take_mail_token(&token.hash(), purpose)
            .await?
            .filter(|t| self.clock.now() < t.expires_at)
            .ok_or(AuthError::InvalidToken)
    }

    /// The mail a queued job becomes, with a fresh token stored (by hash)
    /// for it; `None` when there is nothing to send any more (nobody holds
    /// the address, the user is gone or disabled, already verified).
    pub async fn letter_for(&self, job: &MailJob) -> Result<Option<Letter>, AuthError> {
        let now = self.clock.now();
        let (record, purpose) = match job {
            MailJob::Verify { address } => (
                self.users
                    .find_user_by_email(address)
                    .await?
                    .filter(|r| !r.user.email_verified),
                Some(TokenPurpose::Verify),
            ),
            MailJob::Reset { address } => (
                self.users.find_user_by_email(address).await?,
                Some(TokenPurpose::Reset),
            ),
            MailJob::ChangeEmail { user_id, .. } => (
                self.users.find_user(*user_id).await?,
                Some(TokenPurpose::ChangeEmail),
            ),
            MailJob::ChangeNotice { user_id, .. } => (self.users.find_user(*user_id).await?, None),
        };
        let Some(record) = record.filter(|r| r.disabled_at.is_none()) else {
            return Ok(None);
        };
        let to = job.to().to_owned();
        let token = match purpose {
            Some(purpose) => {
                let (token, stored) = MailToken::issue(purpose, record.user.id, &to, now);
                // One live reset link and one pending change at a time:
                // the newest voids the older ones.
                let replace = purpose != TokenPurpose::Verify;
                self.mail.insert_mail_token(&stored, replace).await?;
                Some(token)
            }
            None => None,
        };
        let kind = match (job, token) {
            (MailJob::Verify { .. }, Some(token)) => LetterKind::Verify { token },
            (MailJob::Reset { .. }, Some(token)) => LetterKind::Reset { token },
            (MailJob::ChangeEmail { new_address, .. }, Some(token)) => LetterKind::ChangeEmail {
                token,
                new_address: new_address.clone(),
            },
            (MailJob::ChangeNotice { new_address, .. }, _) => LetterKind::ChangeNotice {
                new_address: new_address.clone(),
            },
            _ => return Ok(None),
        };
        Ok(Some(Letter {
            to,
            name: record.user.name,
            kind,
        }))
    }
}
