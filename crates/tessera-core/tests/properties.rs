//! Property tests: the expiry arithmetic, the CSRF binding and token
//! parsing hold for every input proptest can think of (a fixed number of
//! cases, reproducible from the seed it prints on failure).
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use tessera_core::session::{Session, SessionPolicy};
use tessera_core::user::{User, UserId};
use tessera_core::{CsrfKey, SessionId, SessionToken, TokenHash};
use time::{Duration, OffsetDateTime};

fn user(now: OffsetDateTime) -> User {
    User {
        id: UserId::new(),
        email: "p@example.com".into(),
        name: None,
        email_verified: false,
        roles: vec![],
        created_at: now,
    }
}

prop_compose! {
    fn policies()(idle in 1i64..10_000_000, absolute in 1i64..30_000_000, activity in 1i64..10_000_000) -> SessionPolicy {
        SessionPolicy {
            idle_timeout: Duration::seconds(idle),
            absolute_timeout: Duration::seconds(absolute),
            activity_interval: Duration::seconds(activity),
        }
    }
}

/// Replays a life of a session: requests at the given gaps, touching when
/// the policy says so, the way `Auth::authenticate` does.
fn live(policy: &SessionPolicy, gaps: &[i64]) -> (Session, Vec<(OffsetDateTime, bool, Session)>) {
    let start = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    let mut s = policy.start(
        user(start),
        SessionToken::generate().hash(),
        start,
        None,
        None,
    );
    let first = s.clone();
    let mut now = start;
    let mut seen = Vec::new();
    for gap in gaps {
        now += Duration::seconds(*gap);
        let live = s.is_live(now);
        if live && policy.needs_touch(&s, now) {
            (s.last_seen_at, s.idle_expires_at) = policy.touched(&s, now);
        }
        seen.push((now, live, s.clone()));
        if !live {
            break;
        }
    }
    (first, seen)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_absolute_expiry_never_moves_and_caps_everything(policy in policies(), gaps in prop::collection::vec(0i64..5_000_000, 1..40)) {
        let (first, seen) = live(&policy, &gaps);
        for (now, live, s) in seen {
            prop_assert_eq!(s.absolute_expires_at, first.absolute_expires_at);
            prop_assert!(s.idle_expires_at <= s.absolute_expires_at);
            prop_assert!(s.expires_at() <= first.absolute_expires_at);
            if now >= first.absolute_expires_at {
                prop_assert!(!live, "alive past the absolute expiry");
            }
        }
    }

    #[test]
    fn a_session_dies_after_one_idle_timeout_without_use(policy in policies(), gaps in prop::collection::vec(0i64..5_000_000, 1..40)) {
        let (_, seen) = live(&policy, &gaps);
        for w in seen.windows(2) {
            let (_, _, prev) = &w[0];
            let (now, live, _) = &w[1];
            // The state after the previous request decides: past its idle
            // expiry the session is dead, whatever came before.
            if *now >= prev.idle_expires_at {
                prop_assert!(!live, "alive past its idle expiry");
            }
            prop_assert!(prev.idle_expires_at <= prev.last_seen_at + policy.idle_timeout);
        }
    }

    #[test]
    fn reads_that_need_no_touch_leave_at_least_half_the_idle_time(policy in policies(), gaps in prop::collection::vec(0i64..5_000_000, 1..40)) {
        let (_, seen) = live(&policy, &gaps);
        for (now, live, s) in seen {
            if live && !policy.needs_touch(&s, now) {
                prop_assert!(s.idle_expires_at == s.absolute_expires_at || s.idle_expires_at - now >= policy.idle_timeout / 2);
                prop_assert!(now - s.last_seen_at < policy.activity_interval);
            }
        }
    }

    #[test]
    fn csrf_tokens_bind_to_their_session_and_token_only(key in any::<[u8; 32]>(), other in any::<[u8; 32]>(), t in any::<[u8; 32]>(), u in any::<[u8; 32]>(), junk in ".{0,80}") {
        let csrf = CsrfKey::from_bytes(key);
        let (a, b) = (SessionId::new(), SessionId::new());
        let (t, u) = (TokenHash(t), TokenHash(u));
        let token = csrf.token_for(a, &t);
        prop_assert!(csrf.verify(a, &t, &token));
        prop_assert!(!csrf.verify(b, &t, &token));
        if u != t {
            prop_assert!(!csrf.verify(a, &u, &token));
        }
        if other != key {
            prop_assert!(!CsrfKey::from_bytes(other).verify(a, &t, &token));
        }
        if junk != token {
            prop_assert!(!csrf.verify(a, &t, &junk));
        }
    }

    #[test]
    fn only_minted_shaped_tokens_parse(s in ".{0,100}") {
        if let Some(t) = SessionToken::parse(&s) {
            prop_assert_eq!(t.expose().len(), 43);
            prop_assert!(t.expose().bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        }
    }
}
