//! Domain errors. The HTTP crate maps each variant to one response, in one
//! place; nothing here knows about status codes.

use std::time::Duration;

use crate::password::HashError;
use crate::store::StoreError;

/// A validation failure for one input field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("email already registered")]
    EmailTaken,
    /// Unknown email, wrong password or disabled account: one answer for all.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Missing, unknown or expired session.
    #[error("not authenticated")]
    Unauthenticated,
    #[error("not found")]
    NotFound,
    #[error("too many attempts")]
    RateLimited { retry_after: Duration },
    #[error("password hasher saturated")]
    HasherBusy,
    /// A provider identity is not linked and its email belongs to an
    /// existing user: sign in and link from the account page.
    #[error("an account with this email exists")]
    AccountExists,
    /// The provider identity is linked to another user.
    #[error("identity linked to another user")]
    IdentityTaken,
    /// The user already has another account at that provider linked.
    #[error("another account at this provider is linked")]
    ProviderAlreadyLinked,
    /// A new user needs an email and the provider gave no usable one.
    #[error("the provider gave no verified email")]
    EmailRequired,
    /// A provider sign-in for a disabled user.
    #[error("account disabled")]
    AccountDisabled,
    /// Unlinking would leave the user no way to sign in.
    #[error("last way to sign in")]
    LastSignInMethod,
    /// Sign-up is closed (`TESSERA_REGISTRATION=closed`): only operators
    /// create users, and identities already linked still sign in.
    #[error("registration is closed")]
    RegistrationClosed,
    /// Sign-up is limited to some email domains and this address is not
    /// at one of them.
    #[error("this email domain may not sign up")]
    EmailDomainNotAllowed,
    /// A mail token that is unknown, used, expired, of another purpose,
    /// or whose address is no longer the user's.
    #[error("invalid or expired token")]
    InvalidToken,
    /// `TESSERA_EMAIL_VERIFICATION=required` and the password user has
    /// not verified their address yet.
    #[error("email address not verified")]
    EmailNotVerified,
    /// A user without a password confirms who they are by a recent
    /// sign-in instead, and this session is not recent.
    #[error("sign in again first")]
    ReauthenticationRequired,
    /// The first factor was right and the user has a second one on: the
    /// sign-in waits, under this challenge, for `POST /v1/login/mfa`.
    #[error("second factor required")]
    MfaRequired(crate::token::SessionToken),
    /// A wrong, malformed or already used TOTP or recovery code.
    #[error("wrong code")]
    MfaCodeInvalid,
    /// A sign-in challenge that is unknown, expired, used, or ended by
    /// too many wrong codes: sign in again.
    #[error("invalid or expired sign-in challenge")]
    MfaChallengeInvalid,
    #[error("TOTP is enabled already")]
    TotpAlreadyEnabled,
    /// Confirming, with no enrolment under way.
    #[error("no TOTP enrolment under way")]
    TotpNotPending,
    #[error("TOTP is not enabled")]
    TotpNotEnabled,
    /// A passkey ceremony that failed: unknown or expired flow, a
    /// credential the verifier refused, an unknown passkey.
    #[error("passkey check failed")]
    PasskeyInvalid,
    /// The credential is registered already.
    #[error("passkey registered already")]
    PasskeyExists,
    /// Passkeys are off: the public origin is an IP address, which
    /// WebAuthn does not allow as a relying party.
    #[error("passkeys need the public origin to be a domain name")]
    PasskeysUnavailable,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<HashError> for AuthError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => Self::HasherBusy,
            HashError::Internal(m) => Self::Internal(m),
        }
    }
}
