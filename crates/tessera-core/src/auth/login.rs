//! Sign-in with a password, and what every sign-in shares: starting the
//! session, ending the one the client still presented, and the re-check
//! that a sign-in racing a disable or a password change never survives it.

use secrecy::{ExposeSecret, SecretString};

use super::{Auth, ClientInfo, Started};
use crate::audit::{Actor, EventKind};
use crate::error::{AuthError, FieldError};
use crate::mfa::{Amr, Method};
use crate::token::SessionToken;
use crate::user::{self, User, UserId, UserRecord};

impl Auth {
    /// Checks credentials and starts a new session. A session the client
    /// still presented is ended: login never reuses or keeps a token it was
    /// handed (no fixation).
    pub async fn login(
        &self,
        email: &str,
        password: SecretString,
        client: &ClientInfo,
        presented: Option<&SessionToken>,
    ) -> Result<Started, AuthError> {
        let record = self.check_credentials(email, password, client).await?;
        self.end_presented(presented).await?;
        let started = self
            .start_session(record.user, client, Amr::of(&[Method::Pwd]))
            .await?;
        self.still_allowed(
            started,
            Some(&record.password_hash),
            AuthError::InvalidCredentials,
        )
        .await
    }

    /// The password check shared by login and the token endpoint's password
    /// grant: validation, login limits, constant-time answer for unknown
    /// emails, rehash when the parameters changed.
    pub async fn check_credentials(
        &self,
        email: &str,
        password: SecretString,
        client: &ClientInfo,
    ) -> Result<UserRecord, AuthError> {
        let email = user::normalize_email(email);
        let mut errors = Vec::new();
        user::check_email(&email, "email", &mut errors);
        if password.expose_secret().is_empty() {
            errors.push(FieldError::new("password", "is required"));
        } else if password.expose_secret().len() > user::PASSWORD_MAX_BYTES {
            errors.push(FieldError::new("password", "must be at most 1024 bytes"));
        }
        if !errors.is_empty() {
            return Err(AuthError::Validation(errors));
        }
        // Refused at once, before any store call, when it could only end
        // in "busy": a storm's excess costs next to nothing.
        if self.hasher.is_full() {
            return Err(AuthError::HasherBusy);
        }
        let now = self.clock.now();
        let attempt = self
            .guard
            .attempt(&email, client.ip.as_deref(), now)
            .await?;

        let record = self.users.find_user_by_email(&email).await?;
        let stored = record.as_ref().and_then(|r| r.password_hash.clone());
        let verified = self.hasher.verify(password.clone(), stored).await?;
        let mut record = match record {
            Some(r) if verified.matches && r.disabled_at.is_none() => r,
            // The attempt stays counted.
            other => {
                self.record_for(
                    EventKind::SignInFailed,
                    other.map(|r| r.user.id),
                    Actor::User,
                    client,
                    serde_json::json!({"reason": "invalid_credentials"}),
                )
                .await;
                return Err(AuthError::InvalidCredentials);
            }
        };
        // With a second factor on, the attempt stays counted until the
        // second factor is proven too: knowing the password alone must not
        // reset the account's count, or the codes could be guessed forever.
        if !self.second_factor_on(record.user.id).await? {
            self.guard.succeeded(attempt, now).await?;
        }
        // Only once the password is right: the answer tells nothing to
        // someone who does not know it.
        if self.settings.mail.verification == crate::mail::Verification::Required
            && !record.user.email_verified
        {
            return Err(AuthError::EmailNotVerified);
        }
        if verified.needs_rehash
            && let Some(checked) = &record.password_hash
            && let Some(phc) = self.rehash(record.user.id, checked, password).await
        {
            record.password_hash = Some(phc);
        }
        Ok(record)
    }

    /// Best effort: a failed rehash leaves the old, still valid, hash.
    /// Replaces only the hash that was checked (`checked`), so a password
    /// change that landed meanwhile stays. The new hash, once stored.
    async fn rehash(&self, id: UserId, checked: &str, password: SecretString) -> Option<String> {
        match self.hasher.hash(password).await {
            Ok(phc) => match self.users.replace_password_hash(id, checked, &phc).await {
                Ok(true) => Some(phc),
                Ok(false) => None,
                Err(e) => {
                    tracing::warn!(user = %id, error = %e, "could not store rehashed password");
                    None
                }
            },
            Err(e) => {
                tracing::info!(user = %id, error = %e, "rehash skipped");
                None
            }
        }
    }

    /// Every session starts here. A user with a second factor on gets a
    /// session only from a sign-in that proved it (`amr` has `mfa`);
    /// anything else ends in [`AuthError::MfaRequired`] with a challenge,
    /// so no path to a session (password, provider, reset link) can skip
    /// the second factor.
    pub(super) async fn start_session(
        &self,
        user: User,
        client: &ClientInfo,
        amr: Amr,
    ) -> Result<Started, AuthError> {
        if !amr.is_mfa() && self.second_factor_on(user.id).await? {
            return Err(AuthError::MfaRequired(self.challenge(&user, amr).await?));
        }
        let token = SessionToken::generate();
        let mut session = self.settings.sessions.start(
            user.clone(),
            token.hash(),
            self.clock.now(),
            client.user_agent.as_deref(),
            client.ip.as_deref(),
        );
        session.amr = amr;
        self.sessions.insert_session(&session).await?;
        self.record_for(
            EventKind::SignIn,
            Some(user.id),
            Actor::User,
            client,
            serde_json::json!({"session_id": session.id, "amr": session.amr}),
        )
        .await;
        Ok(Started {
            user,
            session,
            token,
        })
    }

    pub(super) async fn end_presented(
        &self,
        presented: Option<&SessionToken>,
    ) -> Result<(), AuthError> {
        if let Some(old) = presented
            && let Some(old) = self.sessions.find_session(&old.hash()).await?
        {
            self.sessions.end_presented_session(&old).await?;
        }
        Ok(())
    }

    /// Reads the user again once a new session is stored, and ends that
    /// session if the user was disabled or (with `password`, the hash the
    /// sign-in checked) changed their password since the sign-in checked.
    /// Both `disable-user` and a password change first write the user and
    /// then end sessions, so either this read sees their write, or their
    /// session sweep runs after this session was stored and ends it: a
    /// sign-in that raced them never survives them.
    pub(super) async fn still_allowed(
        &self,
        started: Started,
        password: Option<&Option<String>>,
        refused: AuthError,
    ) -> Result<Started, AuthError> {
        if !self
            .unchanged_since_check(started.user.id, password)
            .await?
        {
            self.sessions
                .delete_user_session(started.user.id, started.session.id)
                .await?;
            return Err(refused);
        }
        Ok(started)
    }

    /// Whether the user is still enabled and (with `password`, the hash a
    /// sign-in checked) still has that password hash. Read once what the
    /// sign-in created (a session, a refresh family) is stored: see
    /// [`Self::still_allowed`].
    pub async fn unchanged_since_check(
        &self,
        user: UserId,
        password: Option<&Option<String>>,
    ) -> Result<bool, AuthError> {
        Ok(self.users.find_user(user).await?.is_some_and(|now| {
            now.disabled_at.is_none() && password.is_none_or(|p| *p == now.password_hash)
        }))
    }
}
