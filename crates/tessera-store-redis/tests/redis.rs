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
