//! The store conformance suite.
//!
//! Generic async test functions: a backend crate calls them from its own
//! tests against a real, fresh store (a SQLite file, a PostgreSQL database,
//! a Redis keyspace). A backend is done when all of them pass unchanged.
//! They panic on the first broken rule, naming it.
//!
//! Every function makes its own users with random emails, so the suite can
//! share a database with other tests.
#![allow(
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    clippy::too_many_lines
)]

use std::time::Duration as StdDuration;

use tessera_core::session::{Session, SessionId, SessionPolicy};
use tessera_core::store::{
    RateLimitStore, SecretStore, SessionStore, StoreError, Unlink, UserStore,
};
use tessera_core::token::SessionToken;
use tessera_core::user::{User, UserId, UserRecord};
use time::{Duration, OffsetDateTime};

/// Runs every part of the suite that applies to a backend that stores users,
/// sessions and secrets.
pub async fn all(users: &dyn UserStore, sessions: &dyn SessionStore, secrets: &dyn SecretStore) {
    self::users(users).await;
    self::sessions(sessions).await;
    self::secrets(secrets).await;
}

/// "Now" for the suite: the wall clock, in whole seconds. Backends that
/// expire keys on their own clock (Redis) must see realistic times.
fn suite_now() -> OffsetDateTime {
    tessera_core::clock::whole_seconds(OffsetDateTime::now_utc())
}

fn unique_email(tag: &str) -> String {
    format!("{tag}-{}@example.com", uuid_like())
}

fn uuid_like() -> String {
    SessionId::new().to_string()
}

pub fn sample_user(email: &str, created_at: OffsetDateTime) -> UserRecord {
    UserRecord {
        user: User {
            id: UserId::new(),
            email: email.to_owned(),
            name: Some("Ada Lovelace".into()),
            email_verified: false,
            roles: vec!["admin".into(), "beta".into()],
            created_at,
        },
        password_hash: Some(
            "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into(),
        ),
        disabled_at: None,
    }
}

pub async fn users(store: &dyn UserStore) {
    let t0 = suite_now();
    store.ping().await.unwrap();
    let email = unique_email("users");
    let rec = sample_user(&email, t0);
    store.insert_user(&rec).await.unwrap();

    let by_email = store
        .find_user_by_email(&email)
        .await
        .unwrap()
        .expect("find by email");
    assert_eq!(
        by_email.user, rec.user,
        "user round-trips through the store"
    );
    assert_eq!(
        by_email.password_hash, rec.password_hash,
        "hash round-trips"
    );
    assert_eq!(by_email.disabled_at, None);
    let by_id = store
        .find_user(rec.user.id)
        .await
        .unwrap()
        .expect("find by id");
    assert_eq!(by_id.user, rec.user);
    assert!(
        store
            .find_user_by_email(&unique_email("nobody"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.find_user(UserId::new()).await.unwrap().is_none());

    let mut dup = sample_user(&email, t0);
    dup.user.name = None;
    assert!(
        matches!(
            store.insert_user(&dup).await,
            Err(StoreError::Conflict("email"))
        ),
        "a second user with the same email is a Conflict(\"email\")"
    );

    let mut bare = sample_user(&unique_email("bare"), t0);
    bare.user.name = None;
    bare.user.roles = vec![];
    bare.password_hash = None;
    store.insert_user(&bare).await.unwrap();
    let got = store.find_user(bare.user.id).await.unwrap().unwrap();
    assert_eq!(got.user, bare.user, "empty name and roles round-trip");
    assert_eq!(got.password_hash, None);

    assert!(
        store
            .set_password_hash(rec.user.id, "$argon2id$new")
            .await
            .unwrap()
    );
    let got = store.find_user(rec.user.id).await.unwrap().unwrap();
    assert_eq!(got.password_hash.as_deref(), Some("$argon2id$new"));
    assert!(!store.set_password_hash(UserId::new(), "x").await.unwrap());
    // A rehash replaces only the hash it checked: never a newer one.
    assert!(
        !store
            .replace_password_hash(rec.user.id, "$argon2id$old", "$argon2id$rehash")
            .await
            .unwrap()
    );
    let got = store.find_user(rec.user.id).await.unwrap().unwrap();
    assert_eq!(got.password_hash.as_deref(), Some("$argon2id$new"));
    assert!(
        store
            .replace_password_hash(rec.user.id, "$argon2id$new", "$argon2id$rehash")
            .await
            .unwrap()
    );
    let got = store.find_user(rec.user.id).await.unwrap().unwrap();
    assert_eq!(got.password_hash.as_deref(), Some("$argon2id$rehash"));
    assert!(
        store
            .set_password_hash(rec.user.id, "$argon2id$new")
            .await
            .unwrap()
    );

    let when = t0 + Duration::hours(1);
    assert!(store.set_disabled(rec.user.id, Some(when)).await.unwrap());
    assert_eq!(
        store
            .find_user(rec.user.id)
            .await
            .unwrap()
            .unwrap()
            .disabled_at,
        Some(when)
    );
    assert!(store.set_disabled(rec.user.id, None).await.unwrap());
    assert_eq!(
        store
            .find_user(rec.user.id)
            .await
            .unwrap()
            .unwrap()
            .disabled_at,
        None
    );
    assert!(!store.set_disabled(UserId::new(), Some(when)).await.unwrap());

    // Listing pages through users oldest first.
    let listed = store.list_users(10_000, 0).await.unwrap();
    let pos_rec = listed
        .iter()
        .position(|r| r.user.id == rec.user.id)
        .expect("listed");
    let pos_bare = listed
        .iter()
        .position(|r| r.user.id == bare.user.id)
        .expect("listed");
    assert!(
        pos_rec < pos_bare || listed[pos_rec].user.created_at == listed[pos_bare].user.created_at
    );
    let page = store.list_users(1, 0).await.unwrap();
    assert_eq!(page.len(), 1, "limit is honoured");
}

fn start(user: &User, now: OffsetDateTime, policy: &SessionPolicy) -> (Session, SessionToken) {
    let token = SessionToken::generate();
    let mut s = policy.start(
        user.clone(),
        token.hash(),
        now,
        Some("Mozilla/5.0 (conformance)"),
        Some("203.0.113.9"),
    );
    // Stored and read back with the rest (whoami and tokens show it).
    s.amr = tessera_core::mfa::Amr::parse_field("pwd otp mfa");
    (s, token)
}

pub async fn sessions(store: &dyn SessionStore) {
    store.ping().await.unwrap();
    sessions_lifecycle(store).await;
    sessions_sweep(store).await;
}

async fn sessions_lifecycle(store: &dyn SessionStore) {
    let t0 = suite_now();
    let policy = SessionPolicy::default();
    let alice = sample_user(&unique_email("alice"), t0).user;
    let bob = sample_user(&unique_email("bob"), t0).user;

    let (s1, t1) = start(&alice, t0, &policy);
    store.insert_session(&s1).await.unwrap();
    let found = store
        .find_session(&t1.hash())
        .await
        .unwrap()
        .expect("find by token hash");
    assert_eq!(found, s1, "session round-trips, user snapshot included");
    assert!(
        store
            .find_session(&SessionToken::generate().hash())
            .await
            .unwrap()
            .is_none()
    );

    // Touch slides the idle expiry.
    let later = t0 + Duration::days(20);
    let idle = later + Duration::days(30);
    assert!(store.touch_session(&s1, later, idle).await.unwrap());
    let found = store.find_session(&t1.hash()).await.unwrap().unwrap();
    assert_eq!((found.last_seen_at, found.idle_expires_at), (later, idle));
    assert_eq!(
        found.absolute_expires_at, s1.absolute_expires_at,
        "absolute expiry never moves"
    );

    // Rotation: the old token stops working, the new one finds the same session.
    let t1b = SessionToken::generate();
    assert!(
        store
            .rotate_session_token(&found, &t1b.hash())
            .await
            .unwrap()
    );
    assert!(
        store.find_session(&t1.hash()).await.unwrap().is_none(),
        "old token is dead"
    );
    assert_eq!(
        store.find_session(&t1b.hash()).await.unwrap().unwrap().id,
        s1.id
    );
    assert!(
        !store
            .rotate_session_token(
                &start(&alice, t0, &policy).0,
                &SessionToken::generate().hash()
            )
            .await
            .unwrap()
    );

    // Listing: only the user's live sessions, newest first.
    let (s2, t2) = start(&alice, t0 + Duration::minutes(1), &policy);
    let (s3, _) = start(&alice, t0 + Duration::minutes(2), &policy);
    let (b1, tb1) = start(&bob, t0, &policy);
    let mut expired = start(&alice, t0 - Duration::days(100), &policy).0;
    expired.idle_expires_at = t0 - Duration::days(1);
    for s in [&s2, &s3, &b1, &expired] {
        store.insert_session(s).await.unwrap();
    }
    let now = t0 + Duration::minutes(5);
    let listed: Vec<SessionId> = store
        .list_user_sessions(alice.id, now)
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(
        listed,
        vec![s3.id, s2.id, s1.id],
        "live sessions of alice, newest first"
    );

    // Deleting someone else's session by id does nothing.
    assert!(!store.delete_user_session(alice.id, b1.id).await.unwrap());
    assert!(store.find_session(&tb1.hash()).await.unwrap().is_some());
    assert!(store.delete_user_session(alice.id, s2.id).await.unwrap());
    assert!(store.find_session(&t2.hash()).await.unwrap().is_none());
    assert!(
        !store.delete_user_session(alice.id, s2.id).await.unwrap(),
        "second delete finds nothing"
    );
    // A deleted session is not resurrected by a late touch.
    assert!(
        !store
            .touch_session(&s2, now, now + Duration::days(1))
            .await
            .unwrap()
    );
    assert!(store.find_session(&t2.hash()).await.unwrap().is_none());

    // Snapshot update reaches every session of the user.
    let mut renamed = alice.clone();
    renamed.name = Some("Ada King".into());
    renamed.roles = vec!["member".into()];
    renamed.email_verified = true;
    assert!(store.update_user_snapshot(&renamed).await.unwrap() >= 2);
    let found = store.find_session(&t1b.hash()).await.unwrap().unwrap();
    assert_eq!(found.user, renamed);
    assert_eq!(
        store.find_session(&tb1.hash()).await.unwrap().unwrap().user,
        bob,
        "others untouched"
    );

    // Revoke all but one.
    let ended = store
        .delete_user_sessions(alice.id, Some(s1.id))
        .await
        .unwrap();
    assert!(ended >= 1, "s3 (and the expired one) ended");
    let left: Vec<SessionId> = store
        .list_user_sessions(alice.id, now)
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(left, vec![s1.id]);
    assert_eq!(store.delete_user_sessions(alice.id, None).await.unwrap(), 1);
    assert!(
        store
            .list_user_sessions(alice.id, now)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store.find_session(&tb1.hash()).await.unwrap().is_some(),
        "bob keeps his session"
    );
}

/// Sweeping removes what is expired at `now`, by either clock.
async fn sessions_sweep(store: &dyn SessionStore) {
    let t0 = suite_now();
    let policy = SessionPolicy::default();
    let carol = sample_user(&unique_email("carol"), t0).user;
    if store.expires_on_its_own() {
        // The store's own clock ends a session at its expiry, with no sweep.
        let (mut short, ts) = start(&carol, t0, &policy);
        short.idle_expires_at = t0 + Duration::seconds(1);
        store.insert_session(&short).await.unwrap();
        let (live, tl) = start(&carol, t0, &policy);
        store.insert_session(&live).await.unwrap();
        let deadline = std::time::Instant::now() + StdDuration::from_secs(10);
        while store.find_session(&ts.hash()).await.unwrap().is_some() {
            assert!(
                std::time::Instant::now() < deadline,
                "the store never expired the session"
            );
            tokio::time::sleep(StdDuration::from_millis(100)).await;
        }
        assert!(store.find_session(&tl.hash()).await.unwrap().is_some());
        let listed = store
            .list_user_sessions(carol.id, suite_now())
            .await
            .unwrap();
        assert_eq!(
            listed.len(),
            1,
            "expired sessions leave the user's list too"
        );
        return;
    }
    let (live, tl) = start(&carol, t0, &policy);
    let (mut idle_dead, ti) = start(&carol, t0, &policy);
    idle_dead.idle_expires_at = t0 + Duration::seconds(10);
    let (mut abs_dead, ta) = start(&carol, t0, &policy);
    abs_dead.absolute_expires_at = t0 + Duration::seconds(10);
    for s in [&live, &idle_dead, &abs_dead] {
        store.insert_session(s).await.unwrap();
    }
    let swept = store
        .sweep_expired(t0 + Duration::seconds(10))
        .await
        .unwrap();
    assert!(swept >= 2, "both expired sessions swept, got {swept}");
    assert!(store.find_session(&ti.hash()).await.unwrap().is_none());
    assert!(store.find_session(&ta.hash()).await.unwrap().is_none());
    assert!(store.find_session(&tl.hash()).await.unwrap().is_some());
}

pub async fn secrets(store: &dyn SecretStore) {
    let name = format!("conformance-{}", uuid_like());
    let first = store.get_or_create_secret(&name, &[1; 32]).await.unwrap();
    assert_eq!(first, vec![1; 32]);
    let second = store.get_or_create_secret(&name, &[2; 32]).await.unwrap();
    assert_eq!(second, first, "the first secret stored wins");
}

pub async fn rate_limits(store: &dyn RateLimitStore) {
    let t0 = suite_now();
    let key = format!("conformance:{}", uuid_like());
    let window = StdDuration::from_mins(1);
    assert!(store.peek(&key, t0).await.unwrap().is_none());
    let c1 = store.hit(&key, window, t0).await.unwrap();
    assert_eq!(c1.hits, 1);
    assert_eq!(c1.resets_at, t0 + Duration::seconds(60));
    let c2 = store
        .hit(&key, window, t0 + Duration::seconds(30))
        .await
        .unwrap();
    assert_eq!(c2.hits, 2);
    assert_eq!(
        c2.resets_at, c1.resets_at,
        "a window does not slide with hits"
    );
    assert_eq!(
        store
            .peek(&key, t0 + Duration::seconds(59))
            .await
            .unwrap()
            .unwrap()
            .hits,
        2
    );
    assert!(
        store
            .peek(&key, t0 + Duration::seconds(60))
            .await
            .unwrap()
            .is_none(),
        "window over"
    );
    let c3 = store
        .hit(&key, window, t0 + Duration::seconds(61))
        .await
        .unwrap();
    assert_eq!(c3.hits, 1, "a new window starts from zero");
    store
        .release(&key, t0 + Duration::seconds(61))
        .await
        .unwrap();
    assert_eq!(
        store
            .peek(&key, t0 + Duration::seconds(61))
            .await
            .unwrap()
            .unwrap()
            .hits,
        0,
        "release takes one back"
    );
    store
        .release(&key, t0 + Duration::seconds(61))
        .await
        .unwrap();
    assert_eq!(
        store
            .peek(&key, t0 + Duration::seconds(61))
            .await
            .unwrap()
            .unwrap()
            .hits,
        0,
        "never below zero"
    );
    store
        .hit(&key, window, t0 + Duration::seconds(61))
        .await
        .unwrap();
    store.clear(&key).await.unwrap();
    assert!(
        store
            .peek(&key, t0 + Duration::seconds(62))
            .await
            .unwrap()
            .is_none()
    );
    let other = format!("conformance:{}", uuid_like());
    store.hit(&key, window, t0).await.unwrap();
    assert!(
        store.peek(&other, t0).await.unwrap().is_none(),
        "keys are independent"
    );
}

/// Signing keys round-trip, oldest first; retiring is once only.
pub async fn keys(store: &dyn tessera_core::store::KeyStore) {
    use tessera_core::store::StoredKey;
    let t0 = suite_now();
    let key = |kid: &str, at: OffsetDateTime| StoredKey {
        kid: kid.to_owned(),
        alg: "EdDSA".into(),
        private_der: vec![1, 2, 3, 255],
        public_jwk: format!("{{\"kid\":\"{kid}\"}}"),
        created_at: at,
        retired_at: None,
    };
    let (a, b) = (format!("a-{}", uuid_like()), format!("b-{}", uuid_like()));
    store
        .insert_signing_key(&key(&b, t0 + Duration::seconds(1)))
        .await
        .unwrap();
    store.insert_signing_key(&key(&a, t0)).await.unwrap();
    assert!(
        store.insert_signing_key(&key(&a, t0)).await.is_err(),
        "kids are unique"
    );
    let listed: Vec<StoredKey> = store
        .list_signing_keys()
        .await
        .unwrap()
        .into_iter()
        .filter(|k| k.kid == a || k.kid == b)
        .collect();
    assert_eq!(
        listed.iter().map(|k| k.kid.clone()).collect::<Vec<_>>(),
        vec![a.clone(), b.clone()],
        "oldest first"
    );
    assert_eq!(listed[0].private_der, vec![1, 2, 3, 255]);
    assert_eq!(listed[0].public_jwk, format!("{{\"kid\":\"{a}\"}}"));
    assert!(
        store
            .retire_signing_key(&a, t0 + Duration::seconds(5))
            .await
            .unwrap()
    );
    assert!(
        !store
            .retire_signing_key(&a, t0 + Duration::seconds(9))
            .await
            .unwrap(),
        "retired once"
    );
    let retired = store
        .list_signing_keys()
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.kid == a)
        .unwrap();
    assert_eq!(retired.retired_at, Some(t0 + Duration::seconds(5)));
}

/// Refresh rotation: spent once, reuse visible, revocation, and exactly one
/// winner among concurrent spends. Every read carries the family's user as
/// it stands (the token endpoint reads nothing else). `users` must be the
/// same database.
pub async fn refresh(users: &dyn UserStore, store: &dyn tessera_core::store::RefreshStore) {
    use tessera_core::store::{RefreshFamily, RefreshHolder, Spend};
    let t0 = suite_now();
    let holder = sample_user(&unique_email("refresh-holder"), t0);
    users.insert_user(&holder).await.unwrap();
    let user = holder.user.id;
    let live = Some(RefreshHolder {
        user: holder.user.clone(),
        disabled_at: None,
    });
    let family = RefreshFamily {
        id: uuid::Uuid::new_v4(),
        user_id: user,
        created_at: t0,
        absolute_expires_at: t0 + Duration::days(90),
        revoked_at: None,
        amr: tessera_core::mfa::Amr::parse_field("pwd otp mfa"),
    };
    let hash = || SessionToken::generate().hash();
    let (first, second, third) = (hash(), hash(), hash());
    store
        .create_family(&family, &first, t0 + Duration::days(30))
        .await
        .unwrap();
    let found = store
        .find_refresh(&first)
        .await
        .unwrap()
        .expect("first token stored");
    assert_eq!(found.family, family);
    assert_eq!((found.spent_at, found.successor), (None, None));
    assert_eq!(found.holder, live, "the family's user comes with the token");

    let now = t0 + Duration::minutes(1);
    let Spend::Rotated(spent) = store
        .spend_refresh(&first, &second, now + Duration::days(30), now)
        .await
        .unwrap()
    else {
        panic!("an unspent token rotates")
    };
    assert_eq!((spent.spent_at, spent.successor), (Some(now), Some(second)));
    assert_eq!(
        spent.holder, live,
        "a rotation reads the user with the spend"
    );
    let again = store
        .spend_refresh(&first, &second, now + Duration::days(30), now)
        .await
        .unwrap();
    assert_eq!(
        again,
        Spend::Unchanged(Some(spent.clone())),
        "a spent token never rotates twice"
    );
    let succ = store
        .find_refresh(&second)
        .await
        .unwrap()
        .expect("successor stored");
    assert_eq!(succ.family.id, family.id);
    assert_eq!(succ.expires_at, now + Duration::days(30));
    assert!(users.set_disabled(user, Some(now)).await.unwrap());
    let disabled = store.find_refresh(&second).await.unwrap().unwrap();
    assert_eq!(
        disabled.holder.map(|h| h.disabled_at),
        Some(Some(now)),
        "a disabled user is seen as disabled"
    );
    assert!(users.set_disabled(user, None).await.unwrap());
    let orphan = RefreshFamily {
        id: uuid::Uuid::new_v4(),
        user_id: UserId::new(),
        ..family.clone()
    };
    let orphan_token = hash();
    store
        .create_family(&orphan, &orphan_token, t0 + Duration::days(30))
        .await
        .unwrap();
    assert!(
        matches!(
            store.spend_refresh(&orphan_token, &hash(), now + Duration::days(30), now).await.unwrap(),
            Spend::Rotated(r) if r.holder.is_none()
        ),
        "a family whose user is gone has no holder"
    );
    assert!(matches!(
        store
            .spend_refresh(&second, &third, now + Duration::days(30), now)
            .await
            .unwrap(),
        Spend::Rotated(_)
    ));
    assert_eq!(
        store
            .spend_refresh(&hash(), &hash(), now, now)
            .await
            .unwrap(),
        Spend::Unchanged(None)
    );

    // Expired tokens do not rotate.
    let f2 = RefreshFamily {
        id: uuid::Uuid::new_v4(),
        ..family.clone()
    };
    let old = hash();
    store
        .create_family(&f2, &old, t0 + Duration::seconds(30))
        .await
        .unwrap();
    assert!(matches!(
        store.spend_refresh(&old, &hash(), now + Duration::days(30), now).await.unwrap(),
        Spend::Unchanged(Some(r)) if r.spent_at.is_none()
    ));

    // Revocation: one family, then all of a user's.
    assert!(store.revoke_family(family.id, now).await.unwrap());
    assert!(!store.revoke_family(family.id, now).await.unwrap());
    assert!(matches!(
        store.spend_refresh(&third, &hash(), now + Duration::days(30), now).await.unwrap(),
        Spend::Unchanged(Some(r)) if r.family.revoked_at == Some(now)
    ));
    let f3 = RefreshFamily {
        id: uuid::Uuid::new_v4(),
        ..family.clone()
    };
    store
        .create_family(&f3, &hash(), t0 + Duration::days(30))
        .await
        .unwrap();
    assert_eq!(
        store.revoke_user_families(user, now).await.unwrap(),
        2,
        "f2 and f3; f1 was revoked already"
    );

    // Twelve concurrent spends of one token: exactly one rotates.
    let f4 = RefreshFamily {
        id: uuid::Uuid::new_v4(),
        ..family.clone()
    };
    let (presented, successor) = (hash(), hash());
    store
        .create_family(&f4, &presented, t0 + Duration::days(30))
        .await
        .unwrap();
    let spends =
        (0..12).map(|_| store.spend_refresh(&presented, &successor, now + Duration::days(30), now));
    let results = futures_util::future::join_all(spends).await;
    let rotated = results
        .iter()
        .filter(|r| matches!(r, Ok(Spend::Rotated(_))))
        .count();
    assert_eq!(rotated, 1, "exactly one winner: {results:?}");
    for r in &results {
        let record = match r.as_ref().expect("no errors under concurrency") {
            Spend::Rotated(r) | Spend::Unchanged(Some(r)) => r,
            Spend::Unchanged(None) => panic!("token vanished"),
        };
        assert_eq!(
            record.successor,
            Some(successor),
            "every caller sees the one successor"
        );
    }
    exchanged_marks(store, t0).await;
}

/// Families that hold their live token (the current token format): one
/// row per family, rotated by one conditional write; the family keeps the
/// live token and the one before it, with when each was stored.
pub async fn live_refresh(users: &dyn UserStore, store: &dyn tessera_core::store::RefreshStore) {
    use tessera_core::store::{LiveFamily, LiveSpend, RefreshFamily, RefreshHolder};
    let t0 = suite_now();
    let holder = sample_user(&unique_email("live-holder"), t0);
    users.insert_user(&holder).await.unwrap();
    let user = holder.user.id;
    let live = Some(RefreshHolder {
        user: holder.user.clone(),
        disabled_at: None,
    });
    let family = RefreshFamily {
        id: uuid::Uuid::new_v4(),
        user_id: user,
        created_at: t0,
        absolute_expires_at: t0 + Duration::days(90),
        revoked_at: None,
        amr: tessera_core::mfa::Amr::parse_field("pwd otp mfa"),
    };
    let hash = || SessionToken::generate().hash();
    let (first, second, third) = (hash(), hash(), hash());
    let days30 = Duration::days(30);
    store
        .create_live_family(&family, &first, t0 + days30)
        .await
        .unwrap();
    let created = store
        .find_live_family(family.id)
        .await
        .unwrap()
        .expect("family stored");
    assert_eq!(
        created,
        LiveFamily {
            family: family.clone(),
            generation: 0,
            live: first,
            live_expires_at: t0 + days30,
            previous: None,
            created: vec![t0],
            holder: live.clone(),
        }
    );

    let t1 = t0 + Duration::minutes(1);
    let LiveSpend::Rotated(rotated) = store
        .spend_live(family.id, 0, &first, &second, t1 + days30, t1)
        .await
        .unwrap()
    else {
        panic!("the live token rotates")
    };
    let after_one = LiveFamily {
        generation: 1,
        live: second,
        live_expires_at: t1 + days30,
        previous: Some(first),
        created: vec![t1, t0],
        ..created.clone()
    };
    assert_eq!(rotated, after_one, "the family as the spend left it");
    assert_eq!(
        store.find_live_family(family.id).await.unwrap(),
        Some(after_one.clone())
    );
    assert_eq!(
        store
            .spend_live(family.id, 0, &first, &second, t1 + days30, t1)
            .await
            .unwrap(),
        LiveSpend::Unchanged(Some(after_one.clone())),
        "a spent token never rotates twice"
    );
    for (generation, presented) in [(1, &first), (0, &second), (2, &second)] {
        assert_eq!(
            store
                .spend_live(family.id, generation, presented, &hash(), t1 + days30, t1)
                .await
                .unwrap(),
            LiveSpend::Unchanged(Some(after_one.clone())),
            "generation and hash must both match ({generation})"
        );
    }
    let t2 = t1 + Duration::minutes(1);
    let LiveSpend::Rotated(two) = store
        .spend_live(family.id, 1, &second, &third, t2 + days30, t2)
        .await
        .unwrap()
    else {
        panic!("the successor rotates")
    };
    assert_eq!(
        (two.generation, two.live, two.previous, two.created.clone()),
        (2, third, Some(second), vec![t2, t1, t0]),
        "the family keeps the token before the live one, and when each was stored"
    );
    assert_eq!(
        (
            two.created_at(2),
            two.created_at(0),
            two.created_at(3),
            two.created_at(-1)
        ),
        (Some(t2), Some(t0), None, None)
    );

    // The creation log keeps the newest entries only.
    let long = RefreshFamily {
        id: uuid::Uuid::new_v4(),
        ..family.clone()
    };
    let mut token = hash();
    store
        .create_live_family(&long, &token, t0 + days30)
        .await
        .unwrap();
    let rotations = i64::try_from(tessera_core::store::CREATED_LOG_LEN).unwrap() + 8;
    for generation in 0..rotations {
        let next = hash();
        let at = t0 + Duration::seconds(generation + 1);
        assert!(matches!(
            store
                .spend_live(long.id, generation, &token, &next, at + days30, at)
                .await
                .unwrap(),
            LiveSpend::Rotated(_)
        ));
        token = next;
    }
    let long = store.find_live_family(long.id).await.unwrap().unwrap();
    assert_eq!(long.created.len(), tessera_core::store::CREATED_LOG_LEN);
    assert_eq!(
        long.created_at(rotations),
        Some(t0 + Duration::seconds(rotations))
    );
    assert_eq!(
        long.created_at(rotations - 31),
        Some(t0 + Duration::seconds(rotations - 31))
    );
    assert_eq!(long.created_at(rotations - 32), None, "forgotten");

    // The user as the same read sees it.
    assert!(users.set_disabled(user, Some(t2)).await.unwrap());
    let disabled = store.find_live_family(family.id).await.unwrap().unwrap();
    assert_eq!(
        disabled.holder.map(|h| h.disabled_at),
        Some(Some(t2)),
        "a disabled user is seen as disabled"
    );
    assert!(users.set_disabled(user, None).await.unwrap());
    let orphan = RefreshFamily {
        id: uuid::Uuid::new_v4(),
        user_id: UserId::new(),
        ..family.clone()
    };
    let orphan_token = hash();
    store
        .create_live_family(&orphan, &orphan_token, t0 + days30)
        .await
        .unwrap();
    assert!(
        matches!(
            store.spend_live(orphan.id, 0, &orphan_token, &hash(), t1 + days30, t1).await.unwrap(),
            LiveSpend::Rotated(r) if r.holder.is_none()
        ),
        "a family whose user is gone has no holder"
    );

    // Unknown families; families of the older format.
    assert_eq!(
        store
            .spend_live(uuid::Uuid::new_v4(), 0, &hash(), &hash(), t1, t1)
            .await
            .unwrap(),
        LiveSpend::Unchanged(None)
    );
    let chained = RefreshFamily {
        id: uuid::Uuid::new_v4(),
        ..family.clone()
    };
    let chained_token = hash();
    store
        .create_family(&chained, &chained_token, t0 + days30)
        .await
        .unwrap();
    assert_eq!(
        store
            .spend_live(chained.id, 0, &chained_token, &hash(), t1 + days30, t1)
            .await
            .unwrap(),
        LiveSpend::Unchanged(None),
        "a family of the older format is not spent this way"
    );
    assert_eq!(store.find_live_family(chained.id).await.unwrap(), None);
    assert!(
        store.find_refresh(&chained_token).await.unwrap().is_some(),
        "and its token still reads the older way"
    );

    // An expired live token, an expired family, a revoked family: no
    // rotation, the family as it stands.
    let short = RefreshFamily {
        id: uuid::Uuid::new_v4(),
        ..family.clone()
    };
    let short_token = hash();
    store
        .create_live_family(&short, &short_token, t0 + Duration::seconds(30))
        .await
        .unwrap();
    assert!(matches!(
        store.spend_live(short.id, 0, &short_token, &hash(), t1 + days30, t1).await.unwrap(),
        LiveSpend::Unchanged(Some(f)) if f.generation == 0 && f.live == short_token
    ));
    let ended = RefreshFamily {
        id: uuid::Uuid::new_v4(),
        absolute_expires_at: t0 + Duration::seconds(30),
        ..family.clone()
    };
    let ended_token = hash();
    store
        .create_live_family(&ended, &ended_token, t0 + days30)
        .await
        .unwrap();
    assert!(matches!(
        store.spend_live(ended.id, 0, &ended_token, &hash(), t1 + days30, t1).await.unwrap(),
        LiveSpend::Unchanged(Some(f)) if f.generation == 0
    ));
    assert!(store.revoke_family(family.id, t2).await.unwrap());
    assert!(matches!(
        store.spend_live(family.id, 2, &third, &hash(), t2 + days30, t2).await.unwrap(),
        LiveSpend::Unchanged(Some(f)) if f.family.revoked_at == Some(t2) && f.generation == 2
    ));
    assert_eq!(
        store.revoke_user_families(user, t2).await.unwrap(),
        4,
        "long, short, ended and chained; the first was revoked already"
    );

    // Twelve concurrent spends of one live token: exactly one rotates, and
    // every caller sees the one successor.
    let raced = RefreshFamily {
        id: uuid::Uuid::new_v4(),
        ..family.clone()
    };
    let (presented, successor) = (hash(), hash());
    store
        .create_live_family(&raced, &presented, t0 + days30)
        .await
        .unwrap();
    let spends =
        (0..12).map(|_| store.spend_live(raced.id, 0, &presented, &successor, t1 + days30, t1));
    let results = futures_util::future::join_all(spends).await;
    let rotated = results
        .iter()
        .filter(|r| matches!(r, Ok(LiveSpend::Rotated(_))))
        .count();
    assert_eq!(rotated, 1, "exactly one winner: {results:?}");
    for r in &results {
        let family = match r.as_ref().expect("no errors under concurrency") {
            LiveSpend::Rotated(f) | LiveSpend::Unchanged(Some(f)) => f,
            LiveSpend::Unchanged(None) => panic!("family vanished"),
        };
        assert_eq!(
            (family.generation, family.live, family.previous),
            (1, successor, Some(presented)),
            "every caller sees the one successor"
        );
    }
}

/// The sweep of refresh-token families: a family goes with its tokens
/// once its absolute expiry has come (revoked or not, either format), not a
/// second before; a family not yet past it stays, whatever its tokens' own
/// expiry; a swept family's tokens are unknown from then on.
pub async fn refresh_sweep(users: &dyn UserStore, store: &dyn tessera_core::store::RefreshStore) {
    use tessera_core::store::{LiveSpend, RefreshFamily, Spend};
    let t0 = suite_now();
    let holder = sample_user(&unique_email("sweep-holder"), t0);
    users.insert_user(&holder).await.unwrap();
    let family = |ends: OffsetDateTime| RefreshFamily {
        id: uuid::Uuid::new_v4(),
        user_id: holder.user.id,
        created_at: t0,
        absolute_expires_at: ends,
        revoked_at: None,
        amr: tessera_core::mfa::Amr::parse_field("pwd"),
    };
    let hash = || SessionToken::generate().hash();
    let (day1, day2) = (t0 + Duration::days(1), t0 + Duration::days(2));
    // Ending on day 1: one of each format (the older one rotated once).
    let (live1, live1_token) = (family(day1), hash());
    store
        .create_live_family(&live1, &live1_token, day1)
        .await
        .unwrap();
    let (chain1, chain1_first, chain1_second) = (family(day1), hash(), hash());
    store
        .create_family(&chain1, &chain1_first, day1)
        .await
        .unwrap();
    let t1 = t0 + Duration::minutes(1);
    assert!(matches!(
        store
            .spend_refresh(&chain1_first, &chain1_second, day1, t1)
            .await
            .unwrap(),
        Spend::Rotated(_)
    ));
    // Ending on day 2: a revoked family, and one whose live token expired
    // long before the family does.
    let (revoked2, revoked2_token) = (family(day2), hash());
    store
        .create_live_family(&revoked2, &revoked2_token, day2)
        .await
        .unwrap();
    assert!(store.revoke_family(revoked2.id, t1).await.unwrap());
    let (chain2, chain2_token) = (family(day2), hash());
    store
        .create_family(&chain2, &chain2_token, t0 + Duration::hours(1))
        .await
        .unwrap();

    assert_eq!(
        store
            .sweep_families(day1 - Duration::seconds(1))
            .await
            .unwrap(),
        0,
        "nothing goes before its absolute expiry"
    );
    assert!(store.find_live_family(live1.id).await.unwrap().is_some());
    assert!(store.find_refresh(&chain1_second).await.unwrap().is_some());

    // Every instance sweeps: four at once delete each family once, and
    // none fails.
    let sweeps = (0..4).map(|_| store.sweep_families(day1));
    let swept: u64 = futures_util::future::join_all(sweeps)
        .await
        .into_iter()
        .map(Result::unwrap)
        .sum();
    assert_eq!(swept, 2, "both families ending on day 1 go at its second");
    assert_eq!(store.find_live_family(live1.id).await.unwrap(), None);
    assert_eq!(
        store
            .spend_live(live1.id, 0, &live1_token, &hash(), day2, day1)
            .await
            .unwrap(),
        LiveSpend::Unchanged(None),
        "a swept family's token is unknown"
    );
    for token in [&chain1_first, &chain1_second] {
        assert_eq!(
            store.find_refresh(token).await.unwrap(),
            None,
            "the older format's tokens go with their family"
        );
    }
    let revoked = store
        .find_live_family(revoked2.id)
        .await
        .unwrap()
        .expect("a revoked family stays until its absolute expiry");
    assert_eq!(revoked.family.revoked_at, Some(t1));
    assert!(
        store.find_refresh(&chain2_token).await.unwrap().is_some(),
        "an expired token stays while its family does (its reuse is still told)"
    );

    assert_eq!(store.sweep_families(day2).await.unwrap(), 2);
    assert_eq!(store.find_live_family(revoked2.id).await.unwrap(), None);
    assert_eq!(store.find_refresh(&chain2_token).await.unwrap(), None);
    assert_eq!(store.sweep_families(day2).await.unwrap(), 0);
}

/// Identities: the (provider, subject) pair and the (user, provider) pair
/// are each unique; listing and deleting are per user. `users` must be the
/// same database (identities reference users).
pub async fn identities(users: &dyn UserStore, store: &dyn tessera_core::store::IdentityStore) {
    use tessera_core::identity::Identity;
    let t0 = suite_now();
    let ada = sample_user(&unique_email("ident-ada"), t0);
    let bob = sample_user(&unique_email("ident-bob"), t0);
    users.insert_user(&ada).await.unwrap();
    users.insert_user(&bob).await.unwrap();
    let provider = format!("acme-{}", uuid_like());
    let subject = uuid_like();
    let linked = Identity {
        provider: provider.clone(),
        subject: subject.clone(),
        user_id: ada.user.id,
        email: Some(ada.user.email.clone()),
        created_at: t0,
    };
    assert!(
        store
            .find_identity(&provider, &subject)
            .await
            .unwrap()
            .is_none()
    );
    store.insert_identity(&linked).await.unwrap();
    assert_eq!(
        store.find_identity(&provider, &subject).await.unwrap(),
        Some(linked.clone()),
        "an identity reads back as written"
    );
    assert!(
        store
            .find_identity(&provider, "other")
            .await
            .unwrap()
            .is_none(),
        "lookup is by provider and subject"
    );
    assert!(
        store
            .find_identity("other", &subject)
            .await
            .unwrap()
            .is_none(),
        "the same subject at another provider is another identity"
    );

    let stolen = Identity {
        user_id: bob.user.id,
        ..linked.clone()
    };
    assert!(
        matches!(
            store.insert_identity(&stolen).await,
            Err(StoreError::Conflict(_))
        ),
        "a (provider, subject) pair belongs to one user"
    );
    let second_at_same_provider = Identity {
        subject: uuid_like(),
        created_at: t0 + Duration::seconds(1),
        ..linked.clone()
    };
    assert!(
        matches!(
            store.insert_identity(&second_at_same_provider).await,
            Err(StoreError::Conflict(_))
        ),
        "one identity per provider and user"
    );
    let other_provider = Identity {
        provider: format!("github-{}", uuid_like()),
        subject: subject.clone(),
        email: None,
        created_at: t0 + Duration::seconds(2),
        ..linked.clone()
    };
    store.insert_identity(&other_provider).await.unwrap();
    assert_eq!(
        store.list_identities(ada.user.id).await.unwrap(),
        vec![linked.clone(), other_provider.clone()],
        "a user's identities, oldest first"
    );
    assert!(store.list_identities(bob.user.id).await.unwrap().is_empty());

    assert_eq!(
        store.delete_identity(bob.user.id, &provider).await.unwrap(),
        Unlink::NotLinked,
        "deleting is only ever of the user's own identity"
    );
    assert_eq!(
        store.delete_identity(ada.user.id, &provider).await.unwrap(),
        Unlink::Deleted
    );
    assert_eq!(
        store.delete_identity(ada.user.id, &provider).await.unwrap(),
        Unlink::NotLinked
    );
    assert!(
        store
            .find_identity(&provider, &subject)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.list_identities(ada.user.id).await.unwrap(),
        vec![other_provider.clone()]
    );
    // Ada has a password: her last identity may go too.
    assert_eq!(
        store
            .delete_identity(ada.user.id, &other_provider.provider)
            .await
            .unwrap(),
        Unlink::Deleted
    );
    // Freed, the pair can be linked to someone else.
    store.insert_identity(&stolen).await.unwrap();

    // A password-less user and their identities, created together.
    let mut carol = sample_user(&unique_email("ident-carol"), t0);
    carol.password_hash = None;
    let first = Identity {
        provider: format!("gh-{}", uuid_like()),
        subject: uuid_like(),
        user_id: carol.user.id,
        email: None,
        created_at: t0,
    };
    store
        .insert_user_with_identity(&carol, &first)
        .await
        .unwrap();
    assert_eq!(
        users.find_user(carol.user.id).await.unwrap().unwrap().user,
        carol.user
    );
    assert_eq!(
        store.list_identities(carol.user.id).await.unwrap(),
        vec![first.clone()]
    );
    // Both or neither: a taken identity leaves no user behind.
    let dave = sample_user(&unique_email("ident-dave"), t0);
    let taken = Identity {
        user_id: dave.user.id,
        ..first.clone()
    };
    assert!(matches!(
        store.insert_user_with_identity(&dave, &taken).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        users.find_user(dave.user.id).await.unwrap().is_none(),
        "no half-made user"
    );
    let same_email = UserRecord {
        user: User {
            id: UserId::new(),
            ..carol.user.clone()
        },
        ..carol.clone()
    };
    let fresh = Identity {
        subject: uuid_like(),
        user_id: same_email.user.id,
        ..first.clone()
    };
    assert!(matches!(
        store.insert_user_with_identity(&same_email, &fresh).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        store
            .find_identity(&fresh.provider, &fresh.subject)
            .await
            .unwrap()
            .is_none()
    );
    // Her only way in cannot be unlinked; with a second one it can.
    assert_eq!(
        store
            .delete_identity(carol.user.id, &first.provider)
            .await
            .unwrap(),
        Unlink::LastWayIn
    );
    let second = Identity {
        provider: format!("oidc-{}", uuid_like()),
        subject: uuid_like(),
        created_at: t0 + Duration::seconds(1),
        ..first.clone()
    };
    store.insert_identity(&second).await.unwrap();
    assert_eq!(
        store
            .delete_identity(carol.user.id, &first.provider)
            .await
            .unwrap(),
        Unlink::Deleted
    );
    assert_eq!(
        store
            .delete_identity(carol.user.id, &second.provider)
            .await
            .unwrap(),
        Unlink::LastWayIn
    );

    // Two unlinks racing, each of one of a password-less user's two
    // identities: exactly one wins, one way in always remains.
    let third = Identity {
        provider: format!("third-{}", uuid_like()),
        subject: uuid_like(),
        created_at: t0 + Duration::seconds(2),
        ..first.clone()
    };
    store.insert_identity(&third).await.unwrap();
    let (a, b) = futures_util::future::join(
        store.delete_identity(carol.user.id, &second.provider),
        store.delete_identity(carol.user.id, &third.provider),
    )
    .await;
    let mut outcomes = [a.unwrap(), b.unwrap()];
    outcomes.sort_by_key(|o| *o == Unlink::Deleted);
    assert_eq!(
        outcomes,
        [Unlink::LastWayIn, Unlink::Deleted],
        "racing unlinks"
    );
    assert_eq!(store.list_identities(carol.user.id).await.unwrap().len(), 1);
}

/// An exchanged provider token's mark: the first claim wins, a live mark
/// refuses every later one, an expired mark is taken over, concurrent
/// claims let exactly one through, and the sweep drops expired marks only.
async fn exchanged_marks(store: &dyn tessera_core::store::RefreshStore, now: OffsetDateTime) {
    let hash = SessionToken::generate().hash();
    let until = now + Duration::minutes(10);
    assert!(store.claim_exchanged(&hash, until, now).await.unwrap());
    assert!(
        !store.claim_exchanged(&hash, until, now).await.unwrap(),
        "a second claim of a live mark is refused"
    );
    assert!(
        !store
            .claim_exchanged(
                &hash,
                until + Duration::hours(1),
                until - Duration::seconds(1)
            )
            .await
            .unwrap(),
        "still live a second before it expires"
    );
    assert!(
        store
            .claim_exchanged(&hash, until + Duration::hours(1), until)
            .await
            .unwrap(),
        "an expired mark is taken over"
    );
    let raced = SessionToken::generate().hash();
    let claims = (0..12).map(|_| store.claim_exchanged(&raced, until, now));
    let won = futures_util::future::join_all(claims)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(won, 1, "of twelve concurrent claims exactly one wins");
    let later = SessionToken::generate().hash();
    assert!(
        store
            .claim_exchanged(&later, until + Duration::days(1), now)
            .await
            .unwrap()
    );
    assert!(
        store
            .sweep_exchanged(until + Duration::hours(2))
            .await
            .unwrap()
            >= 1
    );
    assert!(
        !store
            .claim_exchanged(&later, until + Duration::days(1), now)
            .await
            .unwrap(),
        "a mark not yet expired survives the sweep"
    );
}

/// Mail tokens, the mail queue, and the user updates the account flows
/// make (verify, change email, reset, name, delete). Needs a fresh store:
/// it claims every due mail.
pub async fn mail(users: &dyn UserStore, store: &dyn tessera_core::store::MailStore) {
    use tessera_core::mail::{MailJob, MailToken, TokenPurpose};
    let t0 = suite_now();
    let email = unique_email("mail");
    let rec = sample_user(&email, t0);
    let id = rec.user.id;
    users.insert_user(&rec).await.unwrap();

    // Tokens: one purpose, taken once, found only by hash.
    let (_, verify) = MailToken::issue(TokenPurpose::Verify, id, &email, t0);
    store.insert_mail_token(&verify, false).await.unwrap();
    assert_eq!(
        store
            .take_mail_token(&verify.hash, TokenPurpose::Reset)
            .await
            .unwrap(),
        None,
        "a token of another purpose is not taken"
    );
    assert_eq!(
        store
            .take_mail_token(&verify.hash, TokenPurpose::Verify)
            .await
            .unwrap(),
        Some(verify.clone()),
        "a token round-trips"
    );
    assert_eq!(
        store
            .take_mail_token(&verify.hash, TokenPurpose::Verify)
            .await
            .unwrap(),
        None,
        "and is taken once"
    );
    // Concurrent takes: exactly one gets it.
    let (_, raced) = MailToken::issue(TokenPurpose::Verify, id, &email, t0);
    store.insert_mail_token(&raced, false).await.unwrap();
    let racing = futures_util::future::join_all(
        (0..8).map(|_| store.take_mail_token(&raced.hash, TokenPurpose::Verify)),
    )
    .await;
    assert_eq!(
        racing
            .into_iter()
            .filter(|t| matches!(t, Ok(Some(_))))
            .count(),
        1,
        "of concurrent takes, exactly one gets the token"
    );
    // `replace` voids the user's older tokens of that purpose only.
    let (_, old_reset) = MailToken::issue(TokenPurpose::Reset, id, &email, t0);
    let (_, other_verify) = MailToken::issue(TokenPurpose::Verify, id, &email, t0);
    store.insert_mail_token(&old_reset, false).await.unwrap();
    store.insert_mail_token(&other_verify, false).await.unwrap();
    let (_, new_reset) = MailToken::issue(TokenPurpose::Reset, id, &email, t0);
    store.insert_mail_token(&new_reset, true).await.unwrap();
    assert_eq!(
        store
            .take_mail_token(&old_reset.hash, TokenPurpose::Reset)
            .await
            .unwrap(),
        None,
        "a new reset token voids the older"
    );
    assert!(
        store
            .take_mail_token(&other_verify.hash, TokenPurpose::Verify)
            .await
            .unwrap()
            .is_some(),
        "other purposes stay"
    );
    assert_eq!(
        store
            .delete_mail_tokens(id, Some(TokenPurpose::Reset))
            .await
            .unwrap(),
        1
    );
    // Sweep: only expired ones go.
    let (_, live) = MailToken::issue(TokenPurpose::ChangeEmail, id, "new@example.com", t0);
    store.insert_mail_token(&live, false).await.unwrap();
    assert_eq!(store.sweep_mail_tokens(t0).await.unwrap(), 0);
    assert_eq!(
        store
            .sweep_mail_tokens(t0 + Duration::hours(2))
            .await
            .unwrap(),
        1,
        "an email-change token lives an hour"
    );

    // The queue: claimed once, hidden while held, back when released.
    let (count, oldest) = store.mail_backlog().await.unwrap();
    assert_eq!((count, oldest), (0, None), "a fresh store has no mail");
    let jobs = [
        MailJob::Verify {
            address: email.clone(),
        },
        MailJob::Reset {
            address: email.clone(),
        },
        MailJob::ChangeEmail {
            user_id: id,
            new_address: "new@example.com".into(),
        },
        MailJob::ChangeNotice {
            user_id: id,
            old_address: email.clone(),
            new_address: "new@example.com".into(),
        },
    ];
    for job in &jobs {
        store.enqueue_mail(job, t0).await.unwrap();
    }
    assert_eq!(store.mail_backlog().await.unwrap(), (4, Some(t0)));
    assert!(
        store
            .claim_mail(t0 - Duration::seconds(1), t0, 10)
            .await
            .unwrap()
            .is_empty(),
        "nothing is due before it was queued"
    );
    let held_until = t0 + Duration::minutes(2);
    let claims =
        futures_util::future::join_all((0..4).map(|_| store.claim_mail(t0, held_until, 10))).await;
    let mut claimed: Vec<_> = claims.into_iter().flat_map(Result::unwrap).collect();
    assert_eq!(
        claimed.len(),
        4,
        "of concurrent claims, each mail goes to one"
    );
    claimed.sort_by_key(|q| q.job.kind());
    let mut kinds: Vec<_> = jobs.iter().map(MailJob::kind).collect();
    kinds.sort_unstable();
    assert_eq!(
        claimed.iter().map(|q| q.job.kind()).collect::<Vec<_>>(),
        kinds
    );
    for q in &claimed {
        assert_eq!(q.attempts, 1);
        assert_eq!(q.created_at, t0);
        assert!(jobs.contains(&q.job), "jobs round-trip: {:?}", q.job);
    }
    assert!(
        store
            .claim_mail(t0, held_until, 10)
            .await
            .unwrap()
            .is_empty(),
        "held mails are not claimed again"
    );
    let (failed, done) = (&claimed[0], &claimed[1]);
    store.mail_done(done.id).await.unwrap();
    store
        .mail_failed(failed.id, t0 + Duration::seconds(30), "connection refused")
        .await
        .unwrap();
    assert!(
        store
            .claim_mail(t0 + Duration::seconds(29), t0 + Duration::minutes(3), 10)
            .await
            .unwrap()
            .is_empty(),
        "a failed mail waits for its retry time"
    );
    let again = store
        .claim_mail(t0 + Duration::seconds(30), t0 + Duration::minutes(3), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].attempts), (failed.id, 2));
    // A worker that died holding mail: they come back once the hold ends.
    let back = store
        .claim_mail(held_until, held_until + Duration::minutes(2), 10)
        .await
        .unwrap();
    assert_eq!(back.len(), 2, "the two still held since the first claim");
    assert_eq!(store.mail_backlog().await.unwrap().0, 3);

    // The user updates of the account flows.
    assert!(
        !users
            .set_email_verified(id, "other@example.com")
            .await
            .unwrap()
    );
    assert!(users.set_email_verified(id, &email).await.unwrap());
    assert!(
        users
            .find_user(id)
            .await
            .unwrap()
            .unwrap()
            .user
            .email_verified
    );
    assert!(users.set_name(id, Some("Grace")).await.unwrap());
    assert!(users.set_name(id, None).await.unwrap());
    assert_eq!(users.find_user(id).await.unwrap().unwrap().user.name, None);
    let phc = "$argon2id$v=19$m=64,t=1,p=1$bmV3c2FsdA$bmV3aGFzaG5ld2hhc2g";
    assert!(
        !users
            .reset_password(id, "other@example.com", phc)
            .await
            .unwrap()
    );
    assert!(users.reset_password(id, &email, phc).await.unwrap());
    assert_eq!(
        users
            .find_user(id)
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .as_deref(),
        Some(phc)
    );
    let taken = unique_email("taken");
    users.insert_user(&sample_user(&taken, t0)).await.unwrap();
    assert!(
        matches!(
            users.change_email(id, &email, &taken).await,
            Err(StoreError::Conflict("email"))
        ),
        "moving to a taken address is a Conflict(\"email\")"
    );
    let moved = unique_email("moved");
    assert!(
        !users
            .change_email(id, "stale@example.com", &moved)
            .await
            .unwrap()
    );
    assert!(users.change_email(id, &email, &moved).await.unwrap());
    let now = users.find_user(id).await.unwrap().unwrap();
    assert_eq!(now.user.email, moved);
    assert!(now.user.email_verified);
    assert!(users.find_user_by_email(&email).await.unwrap().is_none());

    // Deleting takes the user's tokens and queued mail along.
    let (_, mine) = MailToken::issue(TokenPurpose::Reset, id, &moved, t0);
    store.insert_mail_token(&mine, false).await.unwrap();
    assert!(users.delete_user(id).await.unwrap());
    assert!(users.find_user(id).await.unwrap().is_none());
    assert!(!users.delete_user(id).await.unwrap(), "gone already");
    assert_eq!(
        store
            .take_mail_token(&mine.hash, TokenPurpose::Reset)
            .await
            .unwrap(),
        None
    );
    // Left: the failed change_email (sorted first), reset and verify; the
    // user's change mail goes with them, the address-only jobs stay (they
    // find nobody when their turn comes).
    assert_eq!(failed.job.kind(), "change_email");
    assert_eq!(
        store.mail_backlog().await.unwrap().0,
        2,
        "the user's change mail went with them; the address-only jobs stay"
    );
}

/// TOTP, recovery codes and passkeys ([`tessera_core::store::MfaStore`]).
pub async fn mfa(
    users: &dyn UserStore,
    store: &dyn tessera_core::store::MfaStore,
    identities: &dyn tessera_core::store::IdentityStore,
) {
    use tessera_core::mfa::PasskeyRecord;
    let t0 = suite_now();
    let ada = sample_user(&unique_email("mfa-ada"), t0);
    users.insert_user(&ada).await.unwrap();
    let user = ada.user.id;
    assert_eq!(store.find_totp(user).await.unwrap(), None);

    // Pending, replaced while pending, then enabled only with the secret
    // that is pending.
    assert!(store.put_pending_totp(user, b"sealed-1", t0).await.unwrap());
    assert!(store.put_pending_totp(user, b"sealed-2", t0).await.unwrap());
    let pending = store.find_totp(user).await.unwrap().unwrap();
    assert_eq!(
        (
            pending.sealed_secret.as_slice(),
            pending.enabled_at,
            pending.last_step
        ),
        (&b"sealed-2"[..], None, None)
    );
    let codes: Vec<_> = (0..10).map(|_| SessionToken::generate().hash()).collect();
    assert!(
        !store
            .enable_totp(user, b"sealed-1", 100, &codes, t0)
            .await
            .unwrap(),
        "an enrolment replaced meanwhile does not enable"
    );
    assert!(
        !store.use_totp_step(user, 100).await.unwrap(),
        "pending: no step is used"
    );
    assert!(
        store
            .enable_totp(user, b"sealed-2", 100, &codes, t0)
            .await
            .unwrap()
    );
    assert!(
        !store
            .enable_totp(user, b"sealed-2", 101, &codes, t0)
            .await
            .unwrap()
    );
    assert!(
        !store.put_pending_totp(user, b"sealed-3", t0).await.unwrap(),
        "an enabled TOTP is not replaced by a new enrolment"
    );
    let on = store.find_totp(user).await.unwrap().unwrap();
    assert_eq!((on.enabled_at, on.last_step), (Some(t0), Some(100)));
    assert_eq!(on.sealed_secret, b"sealed-2");

    // Steps: never the same or an earlier one again; of concurrent uses of
    // one step, exactly one wins.
    assert!(
        !store.use_totp_step(user, 100).await.unwrap(),
        "the enrolment's step"
    );
    assert!(!store.use_totp_step(user, 99).await.unwrap());
    let racing = (0..8).map(|_| store.use_totp_step(user, 101));
    let won = futures_util::future::join_all(racing)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(won, 1, "one of 8 concurrent uses of a step");

    // Recovery codes: each once, also under concurrency; replaced as a set.
    assert_eq!(store.recovery_codes_left(user).await.unwrap(), 10);
    assert!(store.use_recovery_code(user, &codes[0]).await.unwrap());
    assert!(!store.use_recovery_code(user, &codes[0]).await.unwrap());
    let other = sample_user(&unique_email("mfa-other"), t0);
    users.insert_user(&other).await.unwrap();
    assert!(
        !store
            .use_recovery_code(other.user.id, &codes[1])
            .await
            .unwrap(),
        "a code is only its user's"
    );
    let racing = (0..8).map(|_| store.use_recovery_code(user, &codes[1]));
    let won = futures_util::future::join_all(racing)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(won, 1, "one of 8 concurrent uses of a code");
    assert_eq!(store.recovery_codes_left(user).await.unwrap(), 8);
    let fresh: Vec<_> = (0..10).map(|_| SessionToken::generate().hash()).collect();
    store
        .replace_recovery_codes(user, &fresh, t0)
        .await
        .unwrap();
    assert!(
        !store.use_recovery_code(user, &codes[2]).await.unwrap(),
        "old set gone"
    );
    assert!(store.use_recovery_code(user, &fresh[2]).await.unwrap());

    assert!(store.delete_totp(user).await.unwrap());
    assert!(!store.delete_totp(user).await.unwrap());
    assert_eq!(store.find_totp(user).await.unwrap(), None);
    assert_eq!(
        store.recovery_codes_left(user).await.unwrap(),
        0,
        "codes go with it"
    );

    // Passkeys.
    let passkey = |user: UserId, name: &str| PasskeyRecord {
        id: uuid::Uuid::new_v4(),
        user_id: user,
        credential_id: SessionToken::generate().hash().0.to_vec(),
        data: r#"{"cred":{}}"#.into(),
        name: name.into(),
        sign_count: 0,
        backup_eligible: true,
        backup_state: false,
        created_at: t0,
        last_used_at: None,
    };
    let first = passkey(user, "laptop");
    store.insert_passkey(&first).await.unwrap();
    let dup = PasskeyRecord {
        id: uuid::Uuid::new_v4(),
        ..first.clone()
    };
    assert!(matches!(
        store.insert_passkey(&dup).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.find_passkey(&first.credential_id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.find_passkey(b"nope").await.unwrap(), None);
    let later = t0 + Duration::minutes(1);
    assert!(
        store
            .passkey_used(first.id, "{}", 7, true, later)
            .await
            .unwrap()
    );
    let listed = store.list_passkeys(user).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (
            listed[0].sign_count,
            listed[0].backup_state,
            listed[0].last_used_at,
            listed[0].data.as_str()
        ),
        (7, true, Some(later), "{}")
    );
    assert!(store.rename_passkey(user, first.id, "work").await.unwrap());
    assert!(
        !store
            .rename_passkey(other.user.id, first.id, "mine")
            .await
            .unwrap(),
        "someone else's passkey is not renamed"
    );
    assert_eq!(store.list_passkeys(user).await.unwrap()[0].name, "work");
    assert_eq!(
        store.delete_passkey(other.user.id, first.id).await.unwrap(),
        Unlink::NotLinked,
        "nor deleted"
    );

    // The last way in: a user without a password or identity keeps their
    // last passkey; with another way in, it goes.
    let bare = UserRecord {
        password_hash: None,
        ..sample_user(&unique_email("mfa-bare"), t0)
    };
    users.insert_user(&bare).await.unwrap();
    let only = passkey(bare.user.id, "only");
    store.insert_passkey(&only).await.unwrap();
    assert_eq!(
        store.delete_passkey(bare.user.id, only.id).await.unwrap(),
        Unlink::LastWayIn
    );
    let second = passkey(bare.user.id, "second");
    store.insert_passkey(&second).await.unwrap();
    // Two concurrent deletes of the two passkeys: one stays.
    let outcomes: Vec<Unlink> = futures_util::future::join_all([
        store.delete_passkey(bare.user.id, only.id),
        store.delete_passkey(bare.user.id, second.id),
    ])
    .await
    .into_iter()
    .map(Result::unwrap)
    .collect();
    assert!(
        outcomes.contains(&Unlink::Deleted) && outcomes.contains(&Unlink::LastWayIn),
        "{outcomes:?}"
    );
    assert_eq!(store.list_passkeys(bare.user.id).await.unwrap().len(), 1);
    // A passkey counts as a way in when unlinking a provider, too.
    let provider = format!("acme-{}", uuid_like());
    identities
        .insert_identity(&tessera_core::identity::Identity {
            provider: provider.clone(),
            subject: uuid_like(),
            user_id: bare.user.id,
            email: None,
            created_at: t0,
        })
        .await
        .unwrap();
    assert_eq!(
        identities
            .delete_identity(bare.user.id, &provider)
            .await
            .unwrap(),
        Unlink::Deleted,
        "the passkey is left to sign in with"
    );

    // Deleting the user takes their second factors along.
    assert!(store.put_pending_totp(user, b"s", t0).await.unwrap());
    assert!(users.delete_user(user).await.unwrap());
    assert_eq!(store.find_totp(user).await.unwrap(), None);
    assert!(store.list_passkeys(user).await.unwrap().is_empty());
}

/// Sign-in challenges and ceremonies ([`tessera_core::store::ChallengeStore`]).
pub async fn challenges(store: &dyn tessera_core::store::ChallengeStore) {
    let now = suite_now();
    let key = SessionToken::generate().hash();
    assert_eq!(store.find_challenge(&key, now).await.unwrap(), None);
    store
        .put_challenge(&key, b"value", now + Duration::minutes(5))
        .await
        .unwrap();
    assert!(matches!(
        store
            .put_challenge(&key, b"other", now + Duration::minutes(5))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.find_challenge(&key, now).await.unwrap().as_deref(),
        Some(&b"value"[..])
    );
    assert_eq!(
        store.find_challenge(&key, now).await.unwrap().as_deref(),
        Some(&b"value"[..]),
        "finding does not spend it"
    );
    assert_eq!(
        store
            .find_challenge(&key, now + Duration::minutes(5))
            .await
            .unwrap(),
        None,
        "expired at its expiry"
    );
    // Of 8 concurrent takes, one gets it.
    let takes = (0..8).map(|_| store.take_challenge(&key, now));
    let got: Vec<_> = futures_util::future::join_all(takes)
        .await
        .into_iter()
        .filter_map(Result::unwrap)
        .collect();
    assert_eq!(got, vec![b"value".to_vec()]);
    assert_eq!(store.find_challenge(&key, now).await.unwrap(), None);

    // An expired one is not taken.
    let old = SessionToken::generate().hash();
    store
        .put_challenge(&old, b"old", now + Duration::seconds(30))
        .await
        .unwrap();
    assert_eq!(
        store
            .take_challenge(&old, now + Duration::minutes(1))
            .await
            .unwrap(),
        None
    );
    store
        .sweep_challenges(now + Duration::minutes(10))
        .await
        .unwrap();
}

/// The audit log ([`tessera_core::store::AuditStore`]).
pub async fn audit(store: &dyn tessera_core::store::AuditStore) {
    use tessera_core::audit::{Actor, AuditEvent, AuditQuery, EventKind};
    let t0 = suite_now();
    let (ada, bob) = (UserId::new(), UserId::new());
    let admin = UserId::new();
    let mut written = Vec::new();
    for (i, (kind, user)) in [
        (EventKind::SignUp, Some(ada)),
        (EventKind::SignIn, Some(ada)),
        (EventKind::SignInFailed, None),
        (EventKind::SignIn, Some(bob)),
        (EventKind::RolesChanged, Some(ada)),
    ]
    .into_iter()
    .enumerate()
    {
        // Several events share a second, as a sign-up and its sign-in do.
        let at = t0 + Duration::seconds(i64::try_from(i / 2).unwrap());
        let mut e = AuditEvent::new(kind, user, at);
        e.ip = Some("203.0.113.9".into());
        e.user_agent = Some("conformance".into());
        e.actor = if kind == EventKind::RolesChanged {
            Actor::Admin(admin)
        } else {
            Actor::User
        };
        e.detail = serde_json::json!({"i": i, "text": "with \"quotes\" and ünïcode"});
        store.append_event(&e, None).await.unwrap();
        written.push(e);
    }
    let ada_events = store
        .list_events(&AuditQuery {
            user: Some(ada),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let kinds: Vec<_> = ada_events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::RolesChanged,
            EventKind::SignIn,
            EventKind::SignUp
        ],
        "newest first, in the order written even within a second"
    );
    let mut first = ada_events[2].clone();
    assert!(first.seq > 0);
    first.seq = 0;
    assert_eq!(first, written[0], "read back as written");
    assert_eq!(ada_events[0].actor, Actor::Admin(admin));
    assert!(ada_events[0].seq > ada_events[1].seq);

    // Pages: the cursor is the last event of the page before.
    let page = store
        .list_events(&AuditQuery {
            user: Some(ada),
            limit: 2,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 2);
    let rest = store
        .list_events(&AuditQuery {
            user: Some(ada),
            before: Some(page[1].seq),
            limit: 2,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].kind, EventKind::SignUp);

    let failed = store
        .list_events(&AuditQuery {
            kind: Some(EventKind::SignInFailed),
            since: Some(t0),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert!(
        failed
            .iter()
            .any(|e| e.id == written[2].id && e.user_id.is_none())
    );
    let later = store
        .list_events(&AuditQuery {
            user: Some(ada),
            since: Some(t0 + Duration::seconds(2)),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(later.len(), 1, "since is inclusive of that second");

    // Pruning removes what is older than the cut, nothing later.
    let pruned = store.prune_events(t0 + Duration::seconds(1)).await.unwrap();
    assert!(pruned >= 2, "{pruned}");
    let left = store
        .list_events(&AuditQuery {
            user: Some(ada),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(left.len(), 1, "only the event at t0+2 s stays");
}

/// The webhook outbox ([`tessera_core::store::WebhookStore`]), filled by
/// [`tessera_core::store::AuditStore::append_event`] in the event's
/// transaction.
pub async fn webhooks<S>(store: &S)
where
    S: tessera_core::store::AuditStore + tessera_core::store::WebhookStore,
{
    use tessera_core::audit::{AuditEvent, AuditQuery, EventKind};
    use tessera_core::webhook::{OutboxMessage, WebhookState};
    let t0 = suite_now();
    let hold = Duration::seconds(30);
    let ada = UserId::new();
    let event = |kind| AuditEvent::new(kind, Some(ada), t0);

    // With a message: both written. Without: the event alone.
    let signed_up = event(EventKind::SignUp);
    let message = OutboxMessage::of(&signed_up);
    store
        .append_event(&signed_up, Some(&message))
        .await
        .unwrap();
    let quiet = event(EventKind::SignIn);
    store.append_event(&quiet, None).await.unwrap();
    let listed = store.list_webhooks(None, 10).await.unwrap();
    assert_eq!(listed.len(), 1, "only the event sent with a message");
    let queued = &listed[0];
    assert_eq!(
        (
            queued.id.as_str(),
            queued.kind.as_str(),
            queued.body.as_str()
        ),
        (message.id.as_str(), "sign_up", message.body.as_str())
    );
    assert_eq!(
        (queued.state, queued.attempts, queued.created_at),
        (WebhookState::Pending, 0, t0)
    );

    // Both or neither: an event whose message cannot be queued (its id is
    // taken) is not logged either.
    let mut clash = event(EventKind::SignOut);
    let clash_message = OutboxMessage {
        id: message.id.clone(),
        ..OutboxMessage::of(&clash)
    };
    clash.detail = serde_json::json!({"clash": true});
    assert!(
        store
            .append_event(&clash, Some(&clash_message))
            .await
            .is_err()
    );
    let logged = store
        .list_events(&AuditQuery {
            user: Some(ada),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        logged.len(),
        2,
        "the event of a failed queueing is rolled back"
    );
    assert!(logged.iter().all(|e| e.id != clash.id));

    // Eight senders claim at once: each message goes to one of them.
    let second = event(EventKind::RolesChanged);
    store
        .append_event(&second, Some(&OutboxMessage::of(&second)))
        .await
        .unwrap();
    let claims =
        futures_util::future::join_all((0..8).map(|_| store.claim_webhooks(t0, t0 + hold, 10)))
            .await;
    let mut claimed: Vec<_> = claims
        .into_iter()
        .flat_map(Result::unwrap)
        .map(|m| (m.id, m.attempts))
        .collect();
    claimed.sort();
    let mut expected = vec![(message.id.clone(), 1), (OutboxMessage::of(&second).id, 1)];
    expected.sort();
    assert_eq!(claimed, expected, "every message claimed exactly once");
    assert!(
        store
            .claim_webhooks(t0 + hold - Duration::seconds(1), t0 + hold, 10)
            .await
            .unwrap()
            .is_empty(),
        "held messages are not claimed again"
    );

    // A sender that crashed: its hold runs out and the message is due again.
    let again = store
        .claim_webhooks(t0 + hold, t0 + hold * 2, 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 2);
    assert!(again.iter().all(|m| m.attempts == 2));

    // A failed attempt: not before the retry time, then again.
    let retry_at = t0 + hold * 3;
    let delivered_id = OutboxMessage::of(&second).id;
    store
        .webhook_failed(&message.id, Some(retry_at), "HTTP 503")
        .await
        .unwrap();
    store
        .webhook_delivered(&delivered_id, t0 + hold)
        .await
        .unwrap();
    let due = |at| async move { store.claim_webhooks(at, at + hold, 10).await.unwrap() };
    assert!(due(retry_at - Duration::seconds(1)).await.is_empty());
    let retried = due(retry_at).await;
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].id, message.id);
    assert_eq!(retried[0].last_error.as_deref(), Some("HTTP 503"));
    assert_eq!(retried[0].attempts, 3);
    // Given up: failed, never claimed, until retried by hand.
    store
        .webhook_failed(&message.id, None, "gave up")
        .await
        .unwrap();
    assert!(due(retry_at + hold * 10).await.is_empty());
    let failed = store
        .list_webhooks(Some(WebhookState::Failed), 10)
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].id, message.id);
    let (pending, n_failed, _) = store.webhook_backlog().await.unwrap();
    assert_eq!((pending, n_failed), (0, 1));
    assert_eq!(store.retry_webhooks(None, retry_at).await.unwrap(), 1);
    let (pending, n_failed, oldest) = store.webhook_backlog().await.unwrap();
    assert_eq!((pending, n_failed, oldest), (1, 0, Some(t0)));
    assert_eq!(due(retry_at).await.len(), 1);
    store
        .webhook_delivered(&message.id, retry_at)
        .await
        .unwrap();

    // Delivered stays delivered, even when a slower sender reports failure.
    store
        .webhook_failed(&delivered_id, Some(t0), "late")
        .await
        .unwrap();
    let delivered = store
        .list_webhooks(Some(WebhookState::Delivered), 10)
        .await
        .unwrap();
    assert_eq!(delivered.len(), 2);
    assert!(delivered.iter().all(|m| m.delivered_at.is_some()));
    assert!(due(retry_at + hold * 10).await.is_empty());
    // Sent again by hand, by id, whatever its state.
    assert_eq!(
        store
            .retry_webhooks(Some(&delivered_id), retry_at)
            .await
            .unwrap(),
        1
    );
    assert_eq!(due(retry_at).await.len(), 1);
    store
        .webhook_delivered(&delivered_id, retry_at)
        .await
        .unwrap();
    assert_eq!(
        store
            .retry_webhooks(Some("msg_nope"), retry_at)
            .await
            .unwrap(),
        0
    );

    // Pruning deletes delivered messages older than the first cut, and
    // anything queued before the second (its event has left the log).
    let pending = event(EventKind::SignOut);
    store
        .append_event(&pending, Some(&OutboxMessage::of(&pending)))
        .await
        .unwrap();
    let mut later = AuditEvent::new(EventKind::SignIn, Some(ada), t0 + hold);
    later.detail = serde_json::json!({"later": true});
    store
        .append_event(&later, Some(&OutboxMessage::of(&later)))
        .await
        .unwrap();
    assert_eq!(
        store
            .prune_webhooks(retry_at + Duration::seconds(1), t0)
            .await
            .unwrap(),
        2
    );
    let left = store.list_webhooks(None, 10).await.unwrap();
    assert_eq!(left.len(), 2);
    assert_eq!(left[1].id, OutboxMessage::of(&pending).id);
    assert_eq!(
        store
            .prune_webhooks(t0, t0 + Duration::seconds(1))
            .await
            .unwrap(),
        1,
        "the pending message queued before the cut"
    );
    let left = store.list_webhooks(None, 10).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, OutboxMessage::of(&later).id);
}
