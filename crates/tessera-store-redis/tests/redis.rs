//! The store conformance suite against a real Redis (a fresh key prefix per
//! test) and a real three-master Redis Cluster started here; and failing
//! closed while Redis is down.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tessera_core::SessionToken;
use tessera_core::clock::whole_seconds;
use tessera_core::session::{Session, SessionPolicy};
use tessera_core::user::User;
use time::OffsetDateTime;

use tessera_core::store::{SessionStore, StoreError};
use tessera_store_redis::testing::{
    RedisCluster, RedisServer, free_port, fresh_prefix, shared_url,
};
use tessera_store_redis::{RedisSettings, RedisStore};

fn store(url: &str) -> RedisStore {
    RedisStore::open(
        url,
        &RedisSettings {
            key_prefix: fresh_prefix(),
            ..RedisSettings::default()
        },
    )
    .unwrap()
}

#[tokio::test]
async fn conformance_sessions_on_redis() {
    tessera_store::conformance::sessions(&store(&shared_url())).await;
}

#[tokio::test]
async fn conformance_challenges_on_redis() {
    tessera_store::conformance::challenges(&store(&shared_url())).await;
}

#[tokio::test]
async fn conformance_rate_limits_on_redis() {
    tessera_store::conformance::rate_limits(&store(&shared_url())).await;
}

#[tokio::test]
async fn conformance_on_a_redis_cluster() {
    let cluster = tokio::task::spawn_blocking(RedisCluster::start)
        .await
        .unwrap();
    let s = store(&cluster.url());
    tessera_store::conformance::sessions(&s).await;
    tessera_store::conformance::rate_limits(&s).await;
    tessera_store::conformance::challenges(&s).await;
}

#[tokio::test]
async fn redis_down_is_unavailable_quickly_and_recovers_alone() {
    let mut server = RedisServer::start(free_port(), false);
    let s = store(&server.url());
    s.ping().await.unwrap();

    server.stop();
    let started = Instant::now();
    let err = s.ping().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let err = s
        .find_session(&tessera_core::SessionToken::generate().hash())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Unavailable(_)),
        "a lookup fails closed, never reads as no session"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "bounded by the op timeout"
    );

    server.restart();
    let deadline = Instant::now() + Duration::from_secs(20);
    while s.ping().await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the store did not reconnect by itself"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A Redis that keeps the connection open but stops answering (frozen,
/// overloaded, a network black hole) fails the operation at the store's
/// op timeout, the only timer on it: redis-rs's own response timeout is off.
#[tokio::test]
async fn a_redis_that_stops_answering_is_unavailable_at_the_op_timeout_and_recovers() {
    let (server, s) = private_server_and_store().await;

    server.pause();
    let hash = tessera_core::SessionToken::generate().hash();
    let started = Instant::now();
    // Far beyond the op timeout: without one the lookup would wait forever.
    let outcome = tokio::time::timeout(Duration::from_secs(30), s.find_session(&hash)).await;
    let waited = started.elapsed();
    server.resume();
    let err = outcome
        .expect("the lookup must end at the op timeout, not wait for Redis")
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Unavailable(_)),
        "a lookup fails closed, never reads as no session: {err:?}"
    );
    assert!(
        waited >= Duration::from_millis(450),
        "not before the op timeout: {waited:?}"
    );

    let deadline = Instant::now() + Duration::from_secs(20);
    while s.find_session(&hash).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the store did not recover by itself"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A private Redis (one test can freeze it) and a store on it with a
/// 500 ms op timeout, connected.
async fn private_server_and_store() -> (RedisServer, RedisStore) {
    let server = RedisServer::start(free_port(), false);
    let s = RedisStore::open(
        &server.url(),
        &RedisSettings {
            op_timeout: Duration::from_millis(500),
            key_prefix: fresh_prefix(),
        },
    )
    .unwrap();
    s.ping().await.unwrap();
    (server, s)
}

/// A store on the shared Redis under a fresh prefix, that prefix, and a plain
/// connection to look at and write its keys directly.
async fn store_with_raw_access() -> (String, RedisStore, redis::aio::MultiplexedConnection) {
    let prefix = fresh_prefix();
    let s = RedisStore::open(
        &shared_url(),
        &RedisSettings {
            key_prefix: prefix.clone(),
            ..RedisSettings::default()
        },
    )
    .unwrap();
    let raw = redis::Client::open(shared_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    (prefix, s, raw)
}

/// A value of another format version (a later release's) is refused, never
/// rewritten by this one's renewal or snapshot update.
#[tokio::test]
async fn a_session_value_of_another_format_is_never_overwritten() {
    use tessera_core::session::SessionPolicy;
    use tessera_core::{SessionToken, clock::whole_seconds};

    let (prefix, s, mut raw) = store_with_raw_access().await;
    let now = whole_seconds(time::OffsetDateTime::now_utc());
    let user = tessera_store::conformance::sample_user("future@example.com", now).user;
    let token = SessionToken::generate();
    let session = SessionPolicy::default().start(user.clone(), token.hash(), now, None, None);
    s.insert_session(&session).await.unwrap();
    let key = format!("{prefix}s:{}", token.hash().to_hex());
    let _: i64 = redis::cmd("SETRANGE")
        .arg(&key)
        .arg(0)
        .arg("2")
        .query_async(&mut raw)
        .await
        .unwrap();
    let before: Vec<u8> = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut raw)
        .await
        .unwrap();

    let later = now + time::Duration::hours(2);
    assert!(
        s.touch_session(&session, later, later + time::Duration::days(1))
            .await
            .is_err()
    );
    assert!(s.update_user_snapshot(&user).await.is_err());
    assert!(
        s.find_session(&token.hash()).await.is_err(),
        "not read as some session"
    );
    let after: Vec<u8> = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(after, before);
}

/// Sessions written by earlier versions are hashes. They must keep working
/// until they expire: read, renewed, updated, listed, rotated (into the
/// current format) and revoked.
#[tokio::test]
async fn sessions_of_the_earlier_hash_format_keep_working() {
    use tessera_core::session::SessionPolicy;
    use tessera_core::{SessionToken, clock::whole_seconds};
    use time::OffsetDateTime;

    let (prefix, s, mut raw) = store_with_raw_access().await;

    let now = whole_seconds(OffsetDateTime::now_utc());
    let user = tessera_store::conformance::sample_user("legacy@example.com", now).user;
    let token = SessionToken::generate();
    let session = SessionPolicy::default().start(
        user.clone(),
        token.hash(),
        now,
        Some("Mozilla/5.0 (legacy)"),
        Some("198.51.100.7"),
    );
    write_legacy(&mut raw, &prefix, &session).await;
    let key = format!("{prefix}s:{}", token.hash().to_hex());

    assert_eq!(
        s.find_session(&token.hash()).await.unwrap().as_ref(),
        Some(&session),
        "read from the hash"
    );

    let seen = now + time::Duration::hours(2);
    let idle = seen + time::Duration::days(30);
    assert!(s.touch_session(&session, seen, idle).await.unwrap());
    let touched = s.find_session(&token.hash()).await.unwrap().unwrap();
    assert_eq!(
        (touched.last_seen_at, touched.idle_expires_at),
        (seen, idle)
    );
    let expiry: i64 = redis::cmd("PEXPIRETIME")
        .arg(&key)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(
        expiry,
        idle.min(session.absolute_expires_at).unix_timestamp() * 1000
    );

    let mut renamed = user.clone();
    renamed.name = None;
    renamed.email_verified = true;
    renamed.roles = vec![];
    assert_eq!(s.update_user_snapshot(&renamed).await.unwrap(), 1);
    let updated = s.find_session(&token.hash()).await.unwrap().unwrap();
    assert_eq!(updated.user, renamed);

    let listed = s.list_user_sessions(user.id, seen).await.unwrap();
    assert_eq!(listed, vec![updated.clone()]);

    let next = SessionToken::generate();
    assert!(
        s.rotate_session_token(&updated, &next.hash())
            .await
            .unwrap()
    );
    assert_eq!(s.find_session(&token.hash()).await.unwrap(), None);
    let rotated = s.find_session(&next.hash()).await.unwrap().unwrap();
    assert_eq!(rotated.id, session.id);
    assert_eq!(rotated.user, renamed);
    let kind: String = redis::cmd("TYPE")
        .arg(format!("{prefix}s:{}", next.hash().to_hex()))
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(kind, "string", "a rotation writes the current format");

    assert!(s.delete_user_session(user.id, session.id).await.unwrap());
    assert_eq!(s.find_session(&next.hash()).await.unwrap(), None);
}

/// Writes a session exactly as the earlier version did: a hash and its
/// expiry, and the user's index entry.
async fn write_legacy(
    raw: &mut redis::aio::MultiplexedConnection,
    prefix: &str,
    session: &tessera_core::session::Session,
) {
    use redis::AsyncCommands;
    use time::OffsetDateTime;
    let key = format!("{prefix}s:{}", session.token_hash.to_hex());
    let user = &session.user;
    let secs = |t: OffsetDateTime| t.unix_timestamp().to_string();
    let fields: Vec<(&str, String)> = vec![
        ("id", session.id.to_string()),
        ("user_id", user.id.to_string()),
        ("email", user.email.clone()),
        ("verified", "0".into()),
        ("roles", serde_json::to_string(&user.roles).unwrap()),
        ("user_created", secs(user.created_at)),
        ("created", secs(session.created_at)),
        ("seen", secs(session.last_seen_at)),
        ("idle", secs(session.idle_expires_at)),
        ("abs", secs(session.absolute_expires_at)),
        ("name", user.name.clone().unwrap()),
        ("ua", session.user_agent.clone().unwrap()),
        ("ip", session.ip.clone().unwrap()),
    ];
    let _: () = raw.hset_multiple(&key, &fields).await.unwrap();
    let _: () = raw
        .pexpire_at(&key, session.expires_at().unix_timestamp() * 1000)
        .await
        .unwrap();
    let _: () = raw
        .hset(
            format!("{prefix}u:{}", user.id),
            session.id.to_string(),
            session.token_hash.to_hex(),
        )
        .await
        .unwrap();
}

/// A store on `prefix` whose step hook runs `action` once, the first time
/// it reaches `at`; and whether it did.
fn hooked<F, Fut>(prefix: &str, at: &'static str, action: F) -> (RedisStore, Arc<AtomicBool>)
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let fired = Arc::new(AtomicBool::new(false));
    let (seen, action) = (fired.clone(), Arc::new(action));
    let s = RedisStore::open(
        &shared_url(),
        &RedisSettings {
            key_prefix: prefix.to_owned(),
            ..RedisSettings::default()
        },
    )
    .unwrap()
    .with_step_hook(move |point| {
        let (seen, action) = (seen.clone(), action.clone());
        async move {
            if point == at && !seen.swap(true, Ordering::SeqCst) {
                action().await;
            }
        }
    });
    (s, fired)
}

/// One user with one session on a fresh prefix, for the race tests.
struct Race {
    prefix: String,
    store: RedisStore,
    raw: redis::aio::MultiplexedConnection,
    now: OffsetDateTime,
    user: User,
    session: Session,
    token: SessionToken,
}

impl Race {
    async fn new(email: &str) -> Self {
        let (prefix, store, raw) = store_with_raw_access().await;
        let now = whole_seconds(OffsetDateTime::now_utc());
        let user = tessera_store::conformance::sample_user(email, now).user;
        let token = SessionToken::generate();
        let session = SessionPolicy::default().start(user.clone(), token.hash(), now, None, None);
        store.insert_session(&session).await.unwrap();
        Self {
            prefix,
            store,
            raw,
            now,
            user,
            session,
            token,
        }
    }

    /// The user's index as stored: session id → entry.
    async fn index(&mut self) -> HashMap<String, String> {
        redis::cmd("HGETALL")
            .arg(format!("{}u:{}", self.prefix, self.user.id))
            .query_async(&mut self.raw)
            .await
            .unwrap()
    }

    async fn live(&self, token: &SessionToken) -> Option<Session> {
        self.store.find_session(&token.hash()).await.unwrap()
    }
}

const ROTATION_STEPS: [&str; 3] = ["rotate:written", "rotate:moved", "rotate:taken"];

/// A session list or a "sign out everywhere" that runs while a sign-in is
/// storing its new session (between its key and its index entry) never
/// leaves that session unlisted: once the sign-in returns, the session is
/// listed and a later "sign out everywhere" ends it.
#[tokio::test]
async fn a_list_or_revocation_during_a_sign_in_never_hides_the_new_session() {
    for everywhere in [false, true] {
        let r = Race::new("signin@example.com").await;
        let (by, uid, now) = (r.store.clone(), r.user.id, r.now);
        let (signing_in, fired) = hooked(&r.prefix, "inserted", move || {
            let by = by.clone();
            async move {
                if everywhere {
                    by.delete_user_sessions(uid, None).await.unwrap();
                } else {
                    by.list_user_sessions(uid, now).await.unwrap();
                }
            }
        });
        let token = SessionToken::generate();
        let second = SessionPolicy::default().start(r.user.clone(), token.hash(), now, None, None);
        signing_in.insert_session(&second).await.unwrap();
        assert!(fired.load(Ordering::SeqCst), "the hook ran ({everywhere})");
        let listed = r.store.list_user_sessions(uid, now).await.unwrap();
        assert!(
            listed.iter().any(|s| s.id == second.id),
            "listed ({everywhere})"
        );
        r.store.delete_user_sessions(uid, None).await.unwrap();
        assert_eq!(r.live(&token).await, None, "ended ({everywhere})");
    }
}

/// Signing a session out (from another device, or everywhere) while that
/// session's password change rotates its token, at each step of the
/// rotation: the revocation wins. Neither token works afterwards, nothing
/// is listed, and the index is empty.
#[tokio::test]
async fn a_revocation_during_a_password_change_always_wins() {
    for at in ROTATION_STEPS {
        for everywhere in [false, true] {
            let mut r = Race::new("rotate-revoke@example.com").await;
            let (by, uid, sid) = (r.store.clone(), r.user.id, r.session.id);
            let (rotating, fired) = hooked(&r.prefix, at, move || {
                let by = by.clone();
                async move {
                    let ended = if everywhere {
                        by.delete_user_sessions(uid, None).await.unwrap() == 1
                    } else {
                        by.delete_user_session(uid, sid).await.unwrap()
                    };
                    assert!(ended, "the revocation found the session");
                }
            });
            let next = SessionToken::generate();
            rotating
                .rotate_session_token(&r.session, &next.hash())
                .await
                .unwrap();
            let case = format!("{at}, everywhere: {everywhere}");
            assert!(fired.load(Ordering::SeqCst), "the hook ran ({case})");
            assert_eq!(r.live(&r.token).await, None, "old token ({case})");
            assert_eq!(r.live(&next).await, None, "new token ({case})");
            assert_eq!(
                r.store.list_user_sessions(uid, r.now).await.unwrap(),
                vec![],
                "listed ({case})"
            );
            assert_eq!(r.index().await, HashMap::new(), "index ({case})");
        }
    }
}

/// The other way round: a password change that runs while a revocation
/// is under way (it has read the index entry, not yet deleted anything)
/// never leaves the rotated session alive.
#[tokio::test]
async fn a_password_change_during_a_revocation_never_outlives_it() {
    for everywhere in [false, true] {
        let mut r = Race::new("revoke-rotate@example.com").await;
        let next = SessionToken::generate();
        let (by, session, hash) = (r.store.clone(), r.session.clone(), next.hash());
        let (revoking, fired) = hooked(&r.prefix, "end:read", move || {
            let (by, session) = (by.clone(), session.clone());
            async move {
                assert!(by.rotate_session_token(&session, &hash).await.unwrap());
            }
        });
        let ended = if everywhere {
            revoking
                .delete_user_sessions(r.user.id, None)
                .await
                .unwrap()
                == 1
        } else {
            revoking
                .delete_user_session(r.user.id, r.session.id)
                .await
                .unwrap()
        };
        assert!(fired.load(Ordering::SeqCst), "the hook ran ({everywhere})");
        assert!(ended, "it ended the rotated session ({everywhere})");
        assert_eq!(r.live(&r.token).await, None, "old token ({everywhere})");
        assert_eq!(r.live(&next).await, None, "new token ({everywhere})");
        assert_eq!(r.index().await, HashMap::new(), "index ({everywhere})");
    }
}

/// A session list during a password change, at each step of the rotation
/// or with the rotation run between the list's read of the index and its
/// read of the sessions, never prunes the session: afterwards the rotated
/// token works, the session is listed once, and the index names the new
/// token alone.
#[tokio::test]
async fn a_session_list_during_a_password_change_never_hides_the_session() {
    let check = |mut r: Race, next: SessionToken, case: String| async move {
        let rotated = r.live(&next).await.expect(&case);
        assert_eq!(rotated.id, r.session.id, "{case}");
        assert_eq!(r.live(&r.token).await, None, "old token ({case})");
        let listed = r.store.list_user_sessions(r.user.id, r.now).await.unwrap();
        assert_eq!(listed, vec![rotated], "listed ({case})");
        assert_eq!(
            r.index().await,
            HashMap::from([(r.session.id.to_string(), next.hash().to_hex())]),
            "index ({case})"
        );
    };
    for at in ROTATION_STEPS {
        let r = Race::new("rotate-list@example.com").await;
        let (by, uid, now) = (r.store.clone(), r.user.id, r.now);
        let (rotating, fired) = hooked(&r.prefix, at, move || {
            let by = by.clone();
            async move {
                let listed = by.list_user_sessions(uid, now).await.unwrap();
                assert_eq!(listed.len(), 1, "listed meanwhile");
            }
        });
        let next = SessionToken::generate();
        assert!(
            rotating
                .rotate_session_token(&r.session, &next.hash())
                .await
                .unwrap()
        );
        assert!(fired.load(Ordering::SeqCst), "the hook ran ({at})");
        check(r, next, at.to_owned()).await;
    }

    let r = Race::new("list-rotate@example.com").await;
    let next = SessionToken::generate();
    let (by, session, hash) = (r.store.clone(), r.session.clone(), next.hash());
    let (listing, fired) = hooked(&r.prefix, "list:indexed", move || {
        let (by, session) = (by.clone(), session.clone());
        async move {
            assert!(by.rotate_session_token(&session, &hash).await.unwrap());
        }
    });
    listing.list_user_sessions(r.user.id, r.now).await.unwrap();
    assert!(fired.load(Ordering::SeqCst), "the hook ran (list)");
    check(r, next, "list:indexed".to_owned()).await;
}

/// A user update (a role taken away, say) that races a password change
/// reaches the rotated session, whichever runs first: at each step of the
/// rotation, and with the rotation run between the update's read of the
/// index and its writes.
#[tokio::test]
async fn a_user_update_during_a_password_change_reaches_the_rotated_session() {
    let demoted = |user: &User| {
        let mut u = user.clone();
        u.roles = vec![];
        u.name = Some("Demoted".into());
        u
    };
    for at in ROTATION_STEPS {
        let r = Race::new("rotate-update@example.com").await;
        let changed = demoted(&r.user);
        let (by, update) = (r.store.clone(), changed.clone());
        let (rotating, fired) = hooked(&r.prefix, at, move || {
            let (by, update) = (by.clone(), update.clone());
            async move {
                assert_eq!(by.update_user_snapshot(&update).await.unwrap(), 1);
            }
        });
        let next = SessionToken::generate();
        assert!(
            rotating
                .rotate_session_token(&r.session, &next.hash())
                .await
                .unwrap()
        );
        assert!(fired.load(Ordering::SeqCst), "the hook ran ({at})");
        assert_eq!(r.live(&next).await.unwrap().user, changed, "{at}");
    }

    let r = Race::new("update-rotate@example.com").await;
    let changed = demoted(&r.user);
    let next = SessionToken::generate();
    let (by, session, hash) = (r.store.clone(), r.session.clone(), next.hash());
    let (updating, fired) = hooked(&r.prefix, "snapshot:indexed", move || {
        let (by, session) = (by.clone(), session.clone());
        async move {
            assert!(by.rotate_session_token(&session, &hash).await.unwrap());
        }
    });
    assert_eq!(updating.update_user_snapshot(&changed).await.unwrap(), 1);
    assert!(fired.load(Ordering::SeqCst), "the hook ran (update)");
    assert_eq!(r.live(&next).await.unwrap().user, changed);
}

/// Waits (10 s at most, the stalled step takes 300 ms) until the user's
/// index reads `expected`: the operation's last step.
async fn settle(r: &Race, expected: HashMap<String, String>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut raw = r.raw.clone();
    loop {
        let index: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(format!("{}u:{}", r.prefix, r.user.id))
            .query_async(&mut raw)
            .await
            .unwrap();
        if index == expected {
            return;
        }
        assert!(Instant::now() < deadline, "it never finished: {index:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A revocation or a rotation whose caller goes away between two steps
/// (a closed connection drops its request) still finishes.
#[tokio::test]
async fn a_revocation_or_rotation_dropped_halfway_still_finishes() {
    let stall = || async { tokio::time::sleep(Duration::from_millis(300)).await };

    let r = Race::new("dropped-revoke@example.com").await;
    let (revoking, _) = hooked(&r.prefix, "end:read", stall);
    let dropped = tokio::time::timeout(
        Duration::from_millis(50),
        revoking.delete_user_sessions(r.user.id, None),
    )
    .await;
    assert!(dropped.is_err(), "the caller went away mid-way");
    settle(&r, HashMap::new()).await;
    assert_eq!(r.live(&r.token).await, None);

    let r = Race::new("dropped-rotate@example.com").await;
    let (rotating, _) = hooked(&r.prefix, "rotate:moved", stall);
    let next = SessionToken::generate();
    let dropped = tokio::time::timeout(
        Duration::from_millis(50),
        rotating.rotate_session_token(&r.session, &next.hash()),
    )
    .await;
    assert!(dropped.is_err(), "the caller went away mid-way");
    settle(
        &r,
        HashMap::from([(r.session.id.to_string(), next.hash().to_hex())]),
    )
    .await;
    assert_eq!(r.live(&r.token).await, None, "the old token is spent");
    assert!(r.live(&next).await.is_some());
}

/// A rotation cut off after it moved the entry (a crash, a Redis timeout;
/// here a panic in the step hook) never handed its token out. The session
/// still rotates afterwards: the next password change takes the entry
/// over, and only its token works.
#[tokio::test]
async fn a_rotation_cut_off_halfway_does_not_stop_the_next_one() {
    let mut r = Race::new("cut-off@example.com").await;
    let (cut, _) = hooked(&r.prefix, "rotate:moved", || async {
        panic!("cut off after the move (expected by this test)")
    });
    let abandoned = SessionToken::generate();
    assert!(
        cut.rotate_session_token(&r.session, &abandoned.hash())
            .await
            .is_err()
    );
    assert!(r.live(&r.token).await.is_some(), "still the client's token");

    let next = SessionToken::generate();
    assert!(
        r.store
            .rotate_session_token(&r.session, &next.hash())
            .await
            .unwrap()
    );
    assert_eq!(r.live(&r.token).await, None, "old token");
    assert_eq!(r.live(&abandoned).await, None, "abandoned token");
    assert!(r.live(&next).await.is_some());
    assert_eq!(
        r.index().await,
        HashMap::from([(r.session.id.to_string(), next.hash().to_hex())])
    );
}

/// Two user updates around a password change: a role granted while the
/// rotation copies the session, then taken away again (the snapshot text
/// is the original one) before the rotation's fix-up. The later update
/// wins: the rotated session ends without the role.
#[tokio::test]
async fn a_later_user_update_is_never_undone_by_a_rotation() {
    let r = Race::new("aba@example.com").await;
    let mut granted = r.user.clone();
    granted.roles.push("superuser".into());
    let original = r.user.clone();
    let (by, fired) = (r.store.clone(), Arc::new(AtomicUsize::new(0)));
    let count = fired.clone();
    let rotating = RedisStore::open(
        &shared_url(),
        &RedisSettings {
            key_prefix: r.prefix.clone(),
            ..RedisSettings::default()
        },
    )
    .unwrap()
    .with_step_hook(move |point| {
        let (by, granted, original, count) =
            (by.clone(), granted.clone(), original.clone(), count.clone());
        async move {
            match point {
                "rotate:written" => {
                    assert_eq!(by.update_user_snapshot(&granted).await.unwrap(), 1);
                }
                "rotate:taken" => {
                    assert_eq!(by.update_user_snapshot(&original).await.unwrap(), 1);
                }
                _ => return,
            }
            count.fetch_add(1, Ordering::SeqCst);
        }
    });
    let next = SessionToken::generate();
    assert!(
        rotating
            .rotate_session_token(&r.session, &next.hash())
            .await
            .unwrap()
    );
    assert_eq!(fired.load(Ordering::SeqCst), 2, "both updates ran");
    assert_eq!(r.live(&next).await.unwrap().user, r.user);
}

/// A session with no index entry (an earlier version could leave one
/// unlisted) still rotates: the rotation lists it again, under an index
/// that expires.
#[tokio::test]
async fn an_unlisted_session_still_rotates_and_is_listed_again() {
    let mut r = Race::new("unlisted@example.com").await;
    let index_key = format!("{}u:{}", r.prefix, r.user.id);
    let _: i64 = redis::cmd("DEL")
        .arg(&index_key)
        .query_async(&mut r.raw)
        .await
        .unwrap();
    let next = SessionToken::generate();
    assert!(
        r.store
            .rotate_session_token(&r.session, &next.hash())
            .await
            .unwrap()
    );
    assert_eq!(r.live(&r.token).await, None);
    let listed = r.store.list_user_sessions(r.user.id, r.now).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].token_hash, next.hash());
    let expiry: i64 = redis::cmd("PEXPIRETIME")
        .arg(&index_key)
        .query_async(&mut r.raw)
        .await
        .unwrap();
    assert_eq!(
        expiry,
        r.session.absolute_expires_at.unix_timestamp() * 1000
    );
}

/// Signing out ends the presented session even when the user's index lost
/// its entry (an earlier version's leftovers, or an evicted index).
#[tokio::test]
async fn signing_out_ends_a_session_the_index_lost() {
    let mut r = Race::new("lost-entry@example.com").await;
    let _: i64 = redis::cmd("DEL")
        .arg(format!("{}u:{}", r.prefix, r.user.id))
        .query_async(&mut r.raw)
        .await
        .unwrap();
    assert!(r.store.end_presented_session(&r.session).await.unwrap());
    assert_eq!(r.live(&r.token).await, None);
}

/// A user who signs in often and never lists sessions does not grow the
/// index without bound: the sign-in that brings it to 64 entries prunes the
/// ones whose session is gone.
#[tokio::test]
async fn frequent_sign_ins_keep_the_index_pruned() {
    let mut r = Race::new("frequent@example.com").await;
    let mut gone = Vec::new();
    for _ in 0..62 {
        let t = SessionToken::generate();
        let s = SessionPolicy::default().start(r.user.clone(), t.hash(), r.now, None, None);
        r.store.insert_session(&s).await.unwrap();
        gone.push(t);
    }
    for t in &gone {
        let _: i64 = redis::cmd("DEL")
            .arg(format!("{}s:{}", r.prefix, t.hash().to_hex()))
            .query_async(&mut r.raw)
            .await
            .unwrap();
    }
    assert_eq!(r.index().await.len(), 63, "not pruned before the 64th");
    let last = SessionToken::generate();
    let s = SessionPolicy::default().start(r.user.clone(), last.hash(), r.now, None, None);
    r.store.insert_session(&s).await.unwrap();
    let index = r.index().await;
    assert_eq!(index.len(), 2, "the two live sessions remain");
    assert!(index.contains_key(&r.session.id.to_string()));
    assert!(index.contains_key(&s.id.to_string()));
}

/// Many reads at once, gathered into pipelines while others are in flight:
/// each gets its own session, an unknown token reads as none, and sessions
/// of the earlier hash format among them are still read.
#[tokio::test]
async fn concurrent_reads_each_get_their_own_session() {
    use tessera_core::token::TokenHash;

    let (prefix, s, mut raw) = store_with_raw_access().await;
    let now = whole_seconds(OffsetDateTime::now_utc());
    let mut expected: Vec<(TokenHash, Option<Session>)> = Vec::new();
    for i in 0..48 {
        let user =
            tessera_store::conformance::sample_user(&format!("many-{i}@example.com"), now).user;
        let token = SessionToken::generate();
        let session = SessionPolicy::default().start(
            user,
            token.hash(),
            now,
            Some("Mozilla/5.0"),
            Some("198.51.100.7"),
        );
        if i % 16 == 0 {
            write_legacy(&mut raw, &prefix, &session).await;
        } else {
            s.insert_session(&session).await.unwrap();
        }
        expected.push((token.hash(), Some(session)));
    }
    for _ in 0..16 {
        expected.push((SessionToken::generate().hash(), None));
    }
    for round in 0..3 {
        // Each session read four times, interleaved with the others.
        let reads = (0..4)
            .flat_map(|_| expected.iter())
            .map(|(hash, _)| s.find_session(hash));
        let got = futures_util::future::join_all(reads).await;
        for (i, read) in got.into_iter().enumerate() {
            let (_, want) = &expected[i % expected.len()];
            assert_eq!(
                read.unwrap().as_ref(),
                want.as_ref(),
                "round {round}, read {i}"
            );
        }
    }
}

/// Reads gathered into one pipeline fail closed together when Redis stops
/// answering (each at its op timeout, never as "no session"), and read
/// again once it is back.
#[tokio::test]
async fn concurrent_reads_of_a_redis_that_stops_answering_fail_closed_and_recover() {
    let (server, s) = private_server_and_store().await;
    let hashes: Vec<_> = (0..16).map(|_| SessionToken::generate().hash()).collect();
    let read_all = || futures_util::future::join_all(hashes.iter().map(|h| s.find_session(h)));

    server.pause();
    let started = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(30), read_all()).await;
    let waited = started.elapsed();
    server.resume();
    for read in outcome.expect("every read ends at the op timeout") {
        assert!(
            matches!(read, Err(StoreError::Unavailable(_))),
            "fails closed, never reads as no session: {read:?}"
        );
    }
    assert!(
        waited >= Duration::from_millis(450),
        "not before the op timeout: {waited:?}"
    );

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let reads = read_all().await;
        if reads.iter().all(|r| matches!(r, Ok(None))) {
            break;
        }
        assert!(Instant::now() < deadline, "did not recover: {reads:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
