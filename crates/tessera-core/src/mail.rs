//! Mail: the tokens that mailed links carry, the queue of mails to send, and
//! what each mail says (not how it looks, nor how it travels: that is
//! `tessera-mail`).
//!
//! A request that causes a mail only queues a [`MailJob`], in the database
//! and before it answers, so a crash or an SMTP outage after the answer
//! loses nothing. The mail's token is minted when the queue worker sends it
//! ([`crate::Auth::letter_for`]), so the plain token never rests in the
//! database: only its hash does, in `mail_tokens`, and the mail itself.

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::token::{SessionToken, TokenHash};
use crate::user::UserId;

/// What a mail token may be used for; a token of one purpose is refused by
/// every other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenPurpose {
    /// Proves control of the user's address.
    Verify,
    /// Sets a new password (or a first one).
    Reset,
    /// Moves the user to a new address (the token's `address`).
    ChangeEmail,
}

impl TokenPurpose {
    pub const ALL: [Self; 3] = [Self::Verify, Self::Reset, Self::ChangeEmail];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Reset => "reset",
            Self::ChangeEmail => "change_email",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// How long a token of this purpose works (the contract's lifetimes).
    pub fn lifetime(self) -> Duration {
        match self {
            Self::Verify => Duration::hours(24),
            Self::Reset => Duration::minutes(30),
            Self::ChangeEmail => Duration::hours(1),
        }
    }
}

/// A mail token as stored: only its hash, bound to one purpose, one user
/// and one address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailToken {
    pub hash: TokenHash,
    pub purpose: TokenPurpose,
    pub user_id: UserId,
    /// The address the mail went to (verify, reset) or the new address
    /// (email change). The token works only while this still holds.
    pub address: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

impl MailToken {
    /// A fresh token (256 bits from the OS) and its record.
    pub fn issue(
        purpose: TokenPurpose,
        user_id: UserId,
        address: &str,
        now: OffsetDateTime,
    ) -> (SessionToken, Self) {
        let token = SessionToken::generate();
        let record = Self {
            hash: token.hash(),
            purpose,
            user_id,
            address: address.to_owned(),
            created_at: now,
            expires_at: now + purpose.lifetime(),
        };
        (token, record)
    }
}

/// A mail to send, as queued. Jobs name people and addresses, never a
/// token: the worker mints it when it sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailJob {
    /// A link that verifies `address`, for whoever holds it then, if they
    /// have not verified it yet (a resend names only an address, and is
    /// answered the same whether or not anyone holds it).
    Verify { address: String },
    /// A reset link for whoever holds `address`; nothing if nobody does
    /// (the request was answered the same either way).
    Reset { address: String },
    /// A link to `new_address` that moves the user there.
    ChangeEmail {
        user_id: UserId,
        new_address: String,
    },
    /// A notice to the old address that a change to `new_address` was
    /// asked for.
    ChangeNotice {
        user_id: UserId,
        old_address: String,
        new_address: String,
    },
}

impl MailJob {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Verify { .. } => "verify",
            Self::Reset { .. } => "reset",
            Self::ChangeEmail { .. } => "change_email",
            Self::ChangeNotice { .. } => "change_notice",
        }
    }

    /// The user the job is about, where known when it was queued.
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Self::ChangeEmail { user_id, .. } | Self::ChangeNotice { user_id, .. } => {
                Some(*user_id)
            }
            Self::Verify { .. } | Self::Reset { .. } => None,
        }
    }

    /// The address the mail goes to.
    pub fn to(&self) -> &str {
        match self {
            Self::Verify { address } | Self::Reset { address } => address,
            Self::ChangeEmail { new_address, .. } => new_address,
            Self::ChangeNotice { old_address, .. } => old_address,
        }
    }

    /// The second address a job carries (the new one of a notice).
    pub fn other(&self) -> Option<&str> {
        match self {
            Self::ChangeNotice { new_address, .. } => Some(new_address),
            _ => None,
        }
    }

    /// Back from the stored columns (`kind`, `user_id`, `address`, `other`).
    pub fn from_parts(
        kind: &str,
        user_id: Option<UserId>,
        address: String,
        other: Option<String>,
    ) -> Option<Self> {
        Some(match (kind, user_id, other) {
            ("verify", _, _) => Self::Verify { address },
            ("reset", _, _) => Self::Reset { address },
            ("change_email", Some(user_id), _) => Self::ChangeEmail {
                user_id,
                new_address: address,
            },
            ("change_notice", Some(user_id), Some(new_address)) => Self::ChangeNotice {
                user_id,
                old_address: address,
                new_address,
            },
            _ => return None,
        })
    }
}

/// A queued job, as the worker claimed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedMail {
    pub id: Uuid,
    pub job: MailJob,
    pub created_at: OffsetDateTime,
    /// Delivery attempts so far, this one included.
    pub attempts: u32,
}

/// What one mail says, ready to be laid out: who it goes to, and its
/// facts. `tessera-mail` turns it into a message with a text and an HTML
/// part.
#[derive(Debug)]
pub struct Letter {
    pub to: String,
    /// The user's display name, if any (user-supplied: escape it).
    pub name: Option<String>,
    pub kind: LetterKind,
}

#[derive(Debug)]
pub enum LetterKind {
    /// `token` goes in a link to the verify page.
    Verify { token: SessionToken },
    /// `token` goes in a link to the reset page.
    Reset { token: SessionToken },
    /// `token` goes in a link to the confirm page; sent to `new_address`.
    ChangeEmail {
        token: SessionToken,
        new_address: String,
    },
    /// Sent to the old address: no link, only what happened.
    ChangeNotice { new_address: String },
}

impl Letter {
    /// The token in the mail's link, if it has one.
    pub fn token(&self) -> Option<&SessionToken> {
        match &self.kind {
            LetterKind::Verify { token }
            | LetterKind::Reset { token }
            | LetterKind::ChangeEmail { token, .. } => Some(token),
            LetterKind::ChangeNotice { .. } => None,
        }
    }
}

/// How sign-up treats unverified addresses (`TESSERA_EMAIL_VERIFICATION`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verification {
    /// No mail on sign-up.
    Off,
    /// A verification mail on sign-up; unverified users sign in.
    #[default]
    Send,
    /// As `Send`, and an unverified password user cannot sign in.
    Required,
}

impl Verification {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "off" => Some(Self::Off),
            "send" => Some(Self::Send),
            "required" => Some(Self::Required),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Send => "send",
            Self::Required => "required",
        }
    }
}

/// Limits on what makes mail go out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MailLimits {
    /// Reset and resend requests per address per window. Over it the
    /// answer stays the same (202) and no mail is sent: a stranger can
    /// neither flood someone's inbox nor learn that they exist, nor block
    /// their recovery with a 429 on their address.
    pub max_per_address: u64,
    /// Reset and resend requests per client IP per window; over it, 429.
    pub max_per_ip: u64,
    pub window: std::time::Duration,
    /// Verification mails a signed-in user may ask for per hour (the
    /// contract's 3).
    pub max_verify_sends: u64,
}

impl Default for MailLimits {
    fn default() -> Self {
        Self {
            max_per_address: 5,
            max_per_ip: 30,
            window: std::time::Duration::from_hours(1),
            max_verify_sends: 3,
        }
    }
}

/// How long after a failed delivery the next attempt is made: doubling
/// from 30 s, at most an hour.
pub fn retry_delay(attempts: u32) -> Duration {
    let exp = attempts.saturating_sub(1).min(7);
    Duration::seconds((30i64 << exp).min(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_round_trip_through_their_columns() {
        let user_id = UserId::new();
        for job in [
            MailJob::Verify {
                address: "a@example.com".into(),
            },
            MailJob::Reset {
                address: "a@example.com".into(),
            },
            MailJob::ChangeEmail {
                user_id,
                new_address: "b@example.com".into(),
            },
            MailJob::ChangeNotice {
                user_id,
                old_address: "a@example.com".into(),
                new_address: "b@example.com".into(),
            },
        ] {
            let back = MailJob::from_parts(
                job.kind(),
                job.user_id(),
                job.to().to_owned(),
                job.other().map(str::to_owned),
            );
            assert_eq!(back.as_ref(), Some(&job));
        }
        assert_eq!(
            MailJob::from_parts("change_email", None, "a".into(), None),
            None
        );
        assert_eq!(MailJob::from_parts("nope", None, "a".into(), None), None);
    }

    #[test]
    fn lifetimes_are_the_contracts() {
        assert_eq!(TokenPurpose::Verify.lifetime(), Duration::hours(24));
        assert_eq!(TokenPurpose::Reset.lifetime(), Duration::minutes(30));
        assert_eq!(TokenPurpose::ChangeEmail.lifetime(), Duration::hours(1));
        for p in TokenPurpose::ALL {
            assert_eq!(TokenPurpose::parse(p.as_str()), Some(p));
        }
    }

    #[test]
    fn retries_back_off_to_an_hour() {
        assert_eq!(retry_delay(1), Duration::seconds(30));
        assert_eq!(retry_delay(2), Duration::seconds(60));
        assert_eq!(retry_delay(5), Duration::seconds(480));
        assert_eq!(retry_delay(50), Duration::hours(1));
    }
}
