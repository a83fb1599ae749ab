//! The store conformance suite against a real Redis (a fresh key prefix per
//! test) and a real three-master Redis Cluster started here; and failing
//! closed while Redis is down.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

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

/// A session list or a "sign out everywhere" that runs while a sign-in is
/// storing its new session (between its key and its index entry) never
/// leaves that session unlisted: once the sign-in returns, the session is
/// listed and a later "sign out everywhere" ends it.
#[tokio::test]
async fn a_list_or_revocation_during_a_sign_in_never_hides_the_new_session() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use tessera_core::session::SessionPolicy;
    use tessera_core::{SessionToken, clock::whole_seconds};

    for everywhere in [false, true] {
        let (prefix, other, _raw) = store_with_raw_access().await;
        let now = whole_seconds(time::OffsetDateTime::now_utc());
        let user = tessera_store::conformance::sample_user("signin@example.com", now).user;
        let first = SessionPolicy::default().start(
            user.clone(),
            SessionToken::generate().hash(),
            now,
            None,
            None,
        );
        other.insert_session(&first).await.unwrap();

        let fired = Arc::new(AtomicBool::new(false));
        let (by, uid, seen) = (other.clone(), user.id, fired.clone());
        let signing_in = RedisStore::open(
            &shared_url(),
            &RedisSettings {
                key_prefix: prefix.clone(),
                ..RedisSettings::default()
            },
        )
        .unwrap()
        .with_step_hook(move |at| {
            let (by, seen) = (by.clone(), seen.clone());
            async move {
                if at != "inserted" {
                    return;
                }
                if everywhere {
                    by.delete_user_sessions(uid, None).await.unwrap();
                } else {
                    by.list_user_sessions(uid, now).await.unwrap();
                }
                seen.store(true, Ordering::SeqCst);
            }
        });
        let token = SessionToken::generate();
        let second = SessionPolicy::default().start(user.clone(), token.hash(), now, None, None);
        signing_in.insert_session(&second).await.unwrap();
        assert!(fired.load(Ordering::SeqCst), "the hook ran ({everywhere})");
        let listed = other.list_user_sessions(user.id, now).await.unwrap();
        assert!(
            listed.iter().any(|s| s.id == second.id),
            "listed ({everywhere})"
        );
        other.delete_user_sessions(user.id, None).await.unwrap();
        assert_eq!(
            other.find_session(&token.hash()).await.unwrap(),
            None,
            "ended ({everywhere})"
        );
    }
}
