//! Sign-up: a new user with a password, and (from the web) their first
//! session.

use secrecy::ExposeSecret;

use super::{Auth, ClientInfo, Registration, Started};
use crate::audit::{Actor, EventKind};
use crate::error::AuthError;
use crate::mail::{MailJob, Verification};
use crate::mfa::{Amr, Method};
use crate::store::StoreError;
use crate::token::SessionToken;
use crate::user::{self, User, UserId, UserRecord};

impl Auth {
    /// Creates a user without starting a session: the operator's `tessera
    /// user create`, which the registration policy does not limit.
    pub async fn create_user(&self, input: Registration) -> Result<User, AuthError> {
        let user = self.create_user_from(input, None, false).await?;
        self.record_for(
            EventKind::SignUp,
            Some(user.id),
            Actor::Cli,
            &ClientInfo::default(),
            serde_json::json!({}),
        )
        .await;
        Ok(user)
    }

    /// Validates, then (a sign-up, `by_client`) applies the registration
    /// policy, then (for a client with a known address) counts the
    /// registration against its IP, then creates the user. Invalid input is
    /// refused before it counts; a taken email counts, so 409s cannot be
    /// used to scan for accounts.
    async fn create_user_from(
        &self,
        input: Registration,
        ip: Option<&str>,
        by_client: bool,
    ) -> Result<User, AuthError> {
        let mut errors = Vec::new();
        let email = user::normalize_email(&input.email);
        user::check_email(&email, "email", &mut errors);
        user::check_password(input.password.expose_secret(), "password", &mut errors);
        let name = user::normalize_name(input.name.as_deref(), &mut errors);
        if !errors.is_empty() {
            return Err(AuthError::Validation(errors));
        }
        if by_client {
            self.settings.registration.admits(&email)?;
        }
        if self.hasher.is_full() {
            return Err(AuthError::HasherBusy);
        }
        self.guard.registration(ip, self.clock.now()).await?;
        // Cheap check first so a taken email costs no hashing.
        if self.users.find_user_by_email(&email).await?.is_some() {
            return Err(AuthError::EmailTaken);
        }
        let phc = self.hasher.hash(input.password).await?;
        let record = UserRecord {
            user: User {
                id: UserId::new(),
                email,
                name,
                email_verified: false,
                roles: Vec::new(),
                created_at: self.clock.now(),
            },
            password_hash: Some(phc),
            disabled_at: None,
        };
        match self.users.insert_user(&record).await {
            Err(StoreError::Conflict(_)) => Err(AuthError::EmailTaken),
            other => other.map_err(AuthError::from),
        }?;
        Ok(record.user)
    }

    /// Creates a user, queues the verification mail (unless verification
    /// is off) and signs them in, ending any session the client still
    /// presented (as login does). With verification required there is no
    /// session until the address is verified.
    pub async fn register(
        &self,
        input: Registration,
        client: &ClientInfo,
        presented: Option<&SessionToken>,
    ) -> Result<SignedUp, AuthError> {
        let user = self
            .create_user_from(input, client.ip.as_deref(), true)
            .await?;
        self.record_for(
            EventKind::SignUp,
            Some(user.id),
            Actor::User,
            client,
            serde_json::json!({}),
        )
        .await;
        let verification = self.settings.mail.verification;
        if verification != Verification::Off {
            self.mail
                .enqueue_mail(
                    &MailJob::Verify {
                        address: user.email.clone(),
                    },
                    self.clock.now(),
                )
                .await?;
        }
        if verification == Verification::Required {
            return Ok(SignedUp::Unverified(user));
        }
        self.end_presented(presented).await?;
        let started = self
            .start_session(user, client, Amr::of(&[Method::Pwd]))
            .await?;
        Ok(SignedUp::Started(Box::new(
            self.still_allowed(started, None, AuthError::AccountDisabled)
                .await?,
        )))
    }
}

/// What a sign-up ended in.
#[derive(Debug)]
pub enum SignedUp {
    /// Signed in.
    Started(Box<Started>),
    /// Created, and waiting for the address to be verified before the
    /// first sign-in (`TESSERA_EMAIL_VERIFICATION=required`).
    Unverified(User),
}

impl SignedUp {
    /// The session, if the sign-up started one.
    pub fn into_started(self) -> Option<Started> {
        match self {
            Self::Started(s) => Some(*s),
            Self::Unverified(_) => None,
        }
    }
}
