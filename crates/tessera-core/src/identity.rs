//! Identities at external providers (GitHub, any OpenID Connect issuer)
//! linked to users, and the rules for signing in with one.

use serde::Serialize;
use time::OffsetDateTime;

use crate::user::UserId;

/// A (provider, subject) pair linked to one user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// The configured provider name (`github`, `acme`, …).
    pub provider: String,
    /// The provider's stable id for the account (`sub`, GitHub's numeric id).
    pub subject: String,
    #[serde(skip)]
    pub user_id: UserId,
    /// The email the provider gave when the identity was linked.
    pub email: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What a provider vouched for, after the code exchange (or the token
/// exchange) and every check on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedIdentity {
    pub provider: String,
    pub subject: String,
    /// As the provider gave it; normalised before it is compared or stored.
    pub email: Option<String>,
    /// The provider says it verified `email`.
    pub email_verified: bool,
    pub name: Option<String>,
}

/// How a verified identity may be matched to a user.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkPolicy {
    /// An unlinked identity whose verified email belongs to an existing user
    /// is linked to that user (the provider's `_LINK_VERIFIED_EMAIL`).
    /// Otherwise such a sign-in is refused with `account_exists`.
    pub link_verified_email: bool,
}

/// How [`crate::Auth::resolve_identity`] matched the identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// The identity was linked already.
    Known,
    /// Newly linked to an existing user (the signed-in one, or by verified
    /// email where allowed).
    Linked,
    /// A new user was created for it.
    Created,
}
