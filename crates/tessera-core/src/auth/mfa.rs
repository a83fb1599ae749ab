//! Second factors: enrolling TOTP, recovery codes, and the sign-in
//! challenge that stands between a first factor and a session.
//!
//! Every session starts in [`Auth::start_session`], which refuses a user
//! with TOTP on unless the sign-in proved a second factor; it leaves a
//! challenge instead ([`Auth::challenge`]). [`Auth::complete_sign_in`] (or
//! the token endpoint's MFA grant, through [`Auth::pass_challenge`]) takes
//! it with a code: a TOTP code whose step was never used, or a recovery
//! code, once. Every try counts against the account's login limit; five
//! wrong codes end the challenge.

use secrecy::{ExposeSecret, SecretString};

use super::{Auth, ClientInfo, Started};
use crate::audit::{Actor, EventKind};
use crate::error::AuthError;
use crate::mfa::{
    self, Amr, CHALLENGE_MAX_FAILURES, CHALLENGE_TTL, Method, Pending, TOTP_SEAL_PURPOSE,
};
use crate::session::Session;
use crate::token::{SessionToken, TokenHash};
use crate::user::{User, UserId, UserRecord};
use serde_json::json;

/// A TOTP enrolment under way: what the user's app needs.
#[derive(Debug)]
pub struct TotpEnrolment {
    /// The secret in base32, for typing in by hand.
    pub secret: SecretString,
    /// `otpauth://totp/…`, for a QR code.
    pub otpauth_uri: SecretString,
}

/// What a user has on, for their security page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MfaStatus {
    pub totp_enabled: bool,
    pub recovery_codes_remaining: u64,
    pub passkeys: u64,
}

/// A second factor as presented.
#[derive(Debug)]
pub enum SecondFactor {
    /// A TOTP code.
    Code(SecretString),
    /// One of the recovery codes.
    RecoveryCode(SecretString),
}

/// How a signed-in user confirms a change to their second factors: the
/// current password, or a TOTP code.
#[derive(Debug)]
pub enum Confirmation {
    Password(SecretString),
    Code(SecretString),
}

impl Auth {
    /// Whether the user has TOTP enabled (a pending enrolment does not
    /// count).
    pub async fn second_factor_on(&self, user: UserId) -> Result<bool, AuthError> {
        Ok(self
            .mfa
            .find_totp(user)
            .await?
            .is_some_and(|t| t.enabled_at.is_some()))
    }

    pub async fn mfa_status(&self, session: &Session) -> Result<MfaStatus, AuthError> {
        self.mfa_status_of(session.user.id).await
    }

    pub async fn mfa_status_of(&self, user: UserId) -> Result<MfaStatus, AuthError> {
        Ok(MfaStatus {
            totp_enabled: self.second_factor_on(user).await?,
            recovery_codes_remaining: self.mfa.recovery_codes_left(user).await?,
            passkeys: self.mfa.list_passkeys(user).await?.len() as u64,
        })
    }

    /// Starts (or restarts) a TOTP enrolment once the user confirmed who
    /// they are (see [`Self::reauthenticate`]). Nothing changes for
    /// sign-in until [`Self::confirm_totp`].
    pub async fn begin_totp(
        &self,
        session: &Session,
        current_password: SecretString,
        client: &ClientInfo,
    ) -> Result<TotpEnrolment, AuthError> {
        let record = self
            .reauthenticate(session, current_password, client)
            .await?;
        if self.second_factor_on(record.user.id).await? {
            return Err(AuthError::TotpAlreadyEnabled);
        }
        let secret = mfa::new_totp_secret();
        let sealed = self.second.sealer.seal(TOTP_SEAL_PURPOSE, &secret);
        if !self
            .mfa
            .put_pending_totp(record.user.id, &sealed, self.clock.now())
            .await?
        {
            return Err(AuthError::TotpAlreadyEnabled);
        }
        let uri = mfa::otpauth_uri(&secret, &self.second.issuer, &record.user.email)
            .ok_or_else(|| AuthError::Internal("could not build the otpauth URI".into()))?;
        Ok(TotpEnrolment {
            secret: mfa::totp_secret_base32(&secret).into(),
            otpauth_uri: uri.into(),
        })
    }

    /// Turns TOTP on with the first code from the user's app, and answers
    /// the recovery codes (shown once; only their hashes are kept).
    pub async fn confirm_totp(
        &self,
        session: &Session,
        code: &SecretString,
    ) -> Result<Vec<String>, AuthError> {
        let user = self.live_user(session.user.id).await?.user;
        let pending = self
            .mfa
            .find_totp(user.id)
            .await?
            .filter(|t| t.enabled_at.is_none())
            .ok_or(AuthError::TotpNotPending)?;
        let secret = self.open_totp_secret(&pending.sealed_secret)?;
        let step = mfa::totp_step(&secret, code.expose_secret(), self.clock.now())
            .ok_or(AuthError::MfaCodeInvalid)?;
        let codes = mfa::new_recovery_codes();
        let hashes = hash_codes(&codes)?;
        if !self
            .mfa
            .enable_totp(
                user.id,
                &pending.sealed_secret,
                step,
                &hashes,
                self.clock.now(),
            )
            .await?
        {
            return Err(AuthError::TotpNotPending);
        }
        self.record_by(EventKind::FactorAdded, session, json!({"factor": "totp"}))
            .await;
        Ok(codes)
    }

    /// Turns TOTP off (and drops the recovery codes), confirmed by the
    /// password or a current code.
    pub async fn disable_totp(
        &self,
        session: &Session,
        confirmation: Confirmation,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let user = self.confirm_change(session, confirmation, client).await?;
        if !self.mfa.delete_totp(user.id).await? {
            return Err(AuthError::TotpNotEnabled);
        }
        self.record_by(EventKind::FactorRemoved, session, json!({"factor": "totp"}))
            .await;
        Ok(())
    }

    /// A new set of recovery codes; the old ones stop working.
    pub async fn regenerate_recovery_codes(
        &self,
        session: &Session,
        confirmation: Confirmation,
        client: &ClientInfo,
    ) -> Result<Vec<String>, AuthError> {
        let user = self.confirm_change(session, confirmation, client).await?;
        if !self.second_factor_on(user.id).await? {
            return Err(AuthError::TotpNotEnabled);
        }
        let codes = mfa::new_recovery_codes();
        self.mfa
            .replace_recovery_codes(user.id, &hash_codes(&codes)?, self.clock.now())
            .await?;
        Ok(codes)
    }

    /// The password (as [`Self::reauthenticate`]) or a TOTP code, counted
    /// against the login limits like a sign-in's.
    async fn confirm_change(
        &self,
        session: &Session,
        confirmation: Confirmation,
        client: &ClientInfo,
    ) -> Result<User, AuthError> {
        match confirmation {
            Confirmation::Password(password) => {
                Ok(self.reauthenticate(session, password, client).await?.user)
            }
            Confirmation::Code(code) => {
                let record = self.live_user(session.user.id).await?;
                if !self.second_factor_on(record.user.id).await? {
                    return Err(AuthError::TotpNotEnabled);
                }
                let now = self.clock.now();
                let attempt = self
                    .guard
                    .attempt(&record.user.email, client.ip.as_deref(), now)
                    .await?;
                if !self
                    .check_factor(record.user.id, &SecondFactor::Code(code))
                    .await?
                {
                    return Err(AuthError::MfaCodeInvalid);
                }
                self.guard.succeeded(attempt, now).await?;
                Ok(record.user)
            }
        }
    }

    /// Leaves a sign-in challenge for `user`, whose first factor proved
    /// `amr`; the answer to hand to the client.
    pub async fn challenge(&self, user: &User, amr: Amr) -> Result<SessionToken, AuthError> {
        self.leave(&Pending::SignIn { user: user.id, amr }).await
    }

    /// Completes a sign-in that stopped at [`AuthError::MfaRequired`]: a
    /// new session (ending one the client still presented).
    pub async fn complete_sign_in(
        &self,
        challenge: &str,
        factor: SecondFactor,
        client: &ClientInfo,
        presented: Option<&SessionToken>,
    ) -> Result<Started, AuthError> {
        let (record, amr) = self.pass_challenge(challenge, factor, client).await?;
        self.end_presented(presented).await?;
        let started = self.start_session(record.user, client, amr).await?;
        self.still_allowed(started, None, AuthError::MfaChallengeInvalid)
            .await
    }

    /// Checks the second factor against the challenge and spends both: the
    /// user and the `amr` to sign them in with. Every try counts against
    /// the account's login limit (and the client's); the fifth wrong code
    /// ends the challenge.
    pub async fn pass_challenge(
        &self,
        challenge: &str,
        factor: SecondFactor,
        client: &ClientInfo,
    ) -> Result<(UserRecord, Amr), AuthError> {
        let token = SessionToken::parse(challenge).ok_or(AuthError::MfaChallengeInvalid)?;
        let key = token.hash();
        let now = self.clock.now();
        let Some(Pending::SignIn { user, amr }) = self
            .challenges
            .find_challenge(&key, now)
            .await?
            .as_deref()
            .and_then(Pending::decode)
        else {
            return Err(AuthError::MfaChallengeInvalid);
        };
        let record = self
            .users
            .find_user(user)
            .await?
            .filter(|r| r.disabled_at.is_none())
            .ok_or(AuthError::MfaChallengeInvalid)?;
        let attempt = self
            .guard
            .attempt(&record.user.email, client.ip.as_deref(), now)
            .await?;
        if !self.check_factor(user, &factor).await? {
            self.count_failure(&key).await?;
            self.record_for(
                EventKind::MfaChallengeFailed,
                Some(user),
                Actor::User,
                client,
                json!({"factor": match factor {
                    SecondFactor::Code(_) => "totp",
                    SecondFactor::RecoveryCode(_) => "recovery_code",
                }}),
            )
            .await;
            return Err(AuthError::MfaCodeInvalid);
        }
        // Single use: of two requests with right codes, one gets it.
        if self.challenges.take_challenge(&key, now).await?.is_none() {
            return Err(AuthError::MfaChallengeInvalid);
        }
        self.guard.succeeded(attempt, now).await?;
        // A recovery code is a one-time password too (RFC 8176 `otp`).
        Ok((record, amr.with(Method::Otp).with(Method::Mfa)))
    }

    /// A wrong code under the challenge `key`: the fifth ends it.
    async fn count_failure(&self, key: &TokenHash) -> Result<(), AuthError> {
        let mut counter = String::from("mfa-fail:");
        key.push_hex(&mut counter);
        let window = std::time::Duration::try_from(CHALLENGE_TTL).unwrap_or_default();
        let count = self.limits.hit(&counter, window, self.clock.now()).await?;
        if count.hits >= CHALLENGE_MAX_FAILURES {
            self.challenges
                .take_challenge(key, self.clock.now())
                .await?;
        }
        Ok(())
    }

    /// Whether the factor is right for `user`, spending it if so: the
    /// code's time step (never accepted again) or the recovery code.
    async fn check_factor(&self, user: UserId, factor: &SecondFactor) -> Result<bool, AuthError> {
        match factor {
            SecondFactor::Code(code) => {
                let Some(totp) = self
                    .mfa
                    .find_totp(user)
                    .await?
                    .filter(|t| t.enabled_at.is_some())
                else {
                    return Ok(false);
                };
                let secret = self.open_totp_secret(&totp.sealed_secret)?;
                match mfa::totp_step(&secret, code.expose_secret(), self.clock.now()) {
                    Some(step) => Ok(self.mfa.use_totp_step(user, step).await?),
                    None => Ok(false),
                }
            }
            SecondFactor::RecoveryCode(code) => match mfa::recovery_code_hash(code.expose_secret())
            {
                Some(hash) => Ok(self.mfa.use_recovery_code(user, &hash).await?),
                None => Ok(false),
            },
        }
    }

    fn open_totp_secret(&self, sealed: &[u8]) -> Result<Vec<u8>, AuthError> {
        self.second
            .sealer
            .open(TOTP_SEAL_PURPOSE, sealed)
            .ok_or_else(|| {
                AuthError::Internal("a TOTP secret does not open with this deployment's key".into())
            })
    }
}

fn hash_codes(codes: &[String]) -> Result<Vec<TokenHash>, AuthError> {
    codes
        .iter()
        .map(|c| {
            mfa::recovery_code_hash(c)
                .ok_or_else(|| AuthError::Internal("a fresh recovery code did not hash".into()))
        })
        .collect()
}
