//! Sessions and their two clocks.
//!
//! The idle expiry slides forward as the session is used; the absolute
//! expiry never moves. Sliding costs a store write, so it happens only once
//! the idle expiry is less than half away (or `last_seen_at` is older than
//! the activity interval, so the device list stays useful): the common
//! whoami is one read and no write.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::mfa::Amr;
use crate::token::TokenHash;
use crate::user::User;

/// The public handle of a session, used to list and revoke it. Knowing it
/// grants nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(pub Uuid);

impl SessionId {
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }
}

impl Default for SessionId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub token_hash: TokenHash,
    pub user: User,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub idle_expires_at: OffsetDateTime,
    pub absolute_expires_at: OffsetDateTime,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// How the sign-in was proven (RFC 8176); empty for sessions made
    /// before this was recorded.
    pub amr: Amr,
}

impl Session {
    /// When the session ends if nothing happens: the earlier of the clocks.
    pub fn expires_at(&self) -> OffsetDateTime {
        self.idle_expires_at.min(self.absolute_expires_at)
    }

    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        now < self.expires_at()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    pub idle_timeout: Duration,
    pub absolute_timeout: Duration,
    /// `last_seen_at` is refreshed at least this often while in use.
    pub activity_interval: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::days(30),
            absolute_timeout: Duration::days(90),
            activity_interval: Duration::hours(1),
        }
    }
}

/// Longest accepted `User-Agent`; longer ones are cut, not refused.
const USER_AGENT_MAX_CHARS: usize = 512;

impl SessionPolicy {
    pub fn start(
        &self,
        user: User,
        token_hash: TokenHash,
        now: OffsetDateTime,
        user_agent: Option<&str>,
        ip: Option<&str>,
    ) -> Session {
        let absolute_expires_at = now + self.absolute_timeout;
        Session {
            id: SessionId::new(),
            token_hash,
            user,
            created_at: now,
            last_seen_at: now,
            idle_expires_at: (now + self.idle_timeout).min(absolute_expires_at),
            absolute_expires_at,
            user_agent: user_agent.map(|ua| ua.chars().take(USER_AGENT_MAX_CHARS).collect()),
            ip: ip.map(str::to_owned),
            amr: Amr::default(),
        }
    }

    /// Whether this read should also write: renewal past half-life, or a
    /// stale `last_seen_at`.
    pub fn needs_touch(&self, session: &Session, now: OffsetDateTime) -> bool {
        let past_half_life = session.idle_expires_at - now < self.idle_timeout / 2;
        let stale_activity = now - session.last_seen_at >= self.activity_interval;
        past_half_life || stale_activity
    }

    /// The new `(last_seen_at, idle_expires_at)`; never past the absolute cap.
    pub fn touched(
        &self,
        session: &Session,
        now: OffsetDateTime,
    ) -> (OffsetDateTime, OffsetDateTime) {
        (
            now,
            (now + self.idle_timeout).min(session.absolute_expires_at),
        )
    }

    /// What is left of the absolute lifetime: the cookie's `Max-Age`.
    pub fn remaining_lifetime(session: &Session, now: OffsetDateTime) -> Duration {
        (session.absolute_expires_at - now).max(Duration::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::SessionToken;
    use crate::user::UserId;

    fn user(now: OffsetDateTime) -> User {
        User {
            id: UserId::new(),
            email: "a@example.com".into(),
            name: None,
            email_verified: false,
            roles: vec![],
            created_at: now,
        }
    }

    fn policy() -> SessionPolicy {
        SessionPolicy {
            idle_timeout: Duration::days(30),
            absolute_timeout: Duration::days(90),
            activity_interval: Duration::hours(1),
        }
    }

    #[test]
    fn new_session_has_both_clocks() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let s = policy().start(
            user(now),
            SessionToken::generate().hash(),
            now,
            Some("ua"),
            None,
        );
        assert_eq!(s.idle_expires_at, now + Duration::days(30));
        assert_eq!(s.absolute_expires_at, now + Duration::days(90));
        assert_eq!(s.expires_at(), s.idle_expires_at);
        assert!(s.is_live(now));
        assert!(!s.is_live(now + Duration::days(30)));
    }

    #[test]
    fn touch_only_past_half_life_or_stale_activity() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let p = SessionPolicy {
            activity_interval: Duration::days(365),
            ..policy()
        };
        let s = p.start(user(now), SessionToken::generate().hash(), now, None, None);
        assert!(!p.needs_touch(&s, now));
        assert!(!p.needs_touch(&s, now + Duration::days(15)));
        assert!(p.needs_touch(&s, now + Duration::days(15) + Duration::seconds(1)));
        let p = policy();
        assert!(p.needs_touch(&s, now + Duration::hours(1)));
    }

    #[test]
    fn renewal_never_passes_the_absolute_cap() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let p = policy();
        let s = p.start(user(now), SessionToken::generate().hash(), now, None, None);
        let late = now + Duration::days(80);
        let (_, idle) = p.touched(&s, late);
        assert_eq!(idle, s.absolute_expires_at);
    }

    #[test]
    fn long_user_agents_are_cut() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let ua = "x".repeat(5000);
        let s = policy().start(
            user(now),
            SessionToken::generate().hash(),
            now,
            Some(&ua),
            None,
        );
        assert_eq!(s.user_agent.unwrap().len(), USER_AGENT_MAX_CHARS);
    }
}
