//! The store conformance suite against a real PostgreSQL, one fresh
//! database per test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tessera_store_sql::{PgSettings, PgStore, testing};

async fn with_store<F, Fut>(run: F)
where
    F: FnOnce(PgStore) -> Fut,
    Fut: Future<Output = ()>,
{
    let db = testing::fresh_database()
        .await
        .expect("PostgreSQL reachable (see scripts/test.sh)");
    let store = PgStore::connect_lazy(&db.url, PgSettings::default()).unwrap();
    store.migrate().await.unwrap();
    run(store.clone()).await;
    store.close().await;
    db.drop_now().await.unwrap();
}

#[tokio::test]
async fn conformance_users() {
    with_store(|s| async move { tessera_store::conformance::users(&s).await }).await;
}

#[tokio::test]
async fn conformance_sessions() {
    with_store(|s| async move { tessera_store::conformance::sessions(&s).await }).await;
}

#[tokio::test]
async fn conformance_keys() {
    with_store(|s| async move { tessera_store::conformance::keys(&s).await }).await;
}

#[tokio::test]
async fn conformance_identities() {
    with_store(|s| async move { tessera_store::conformance::identities(&s, &s).await }).await;
}

#[tokio::test]
async fn conformance_mail() {
    with_store(|s| async move { tessera_store::conformance::mail(&s, &s).await }).await;
}

#[tokio::test]
async fn conformance_refresh() {
    with_store(|s| async move { tessera_store::conformance::refresh(&s, &s).await }).await;
}

#[tokio::test]
async fn conformance_mfa() {
    with_store(|s| async move { tessera_store::conformance::mfa(&s, &s, &s).await }).await;
}

#[tokio::test]
async fn conformance_audit() {
    with_store(|s| async move { tessera_store::conformance::audit(&s).await }).await;
}

#[tokio::test]
async fn conformance_challenges() {
    with_store(|s| async move { tessera_store::conformance::challenges(&s).await }).await;
}

#[tokio::test]
async fn conformance_secrets() {
    with_store(|s| async move { tessera_store::conformance::secrets(&s).await }).await;
}

#[tokio::test]
async fn migrations_are_idempotent_and_concurrent_safe() {
    with_store(|s| async move {
        let (a, b) = tokio::join!(s.migrate(), s.migrate());
        a.unwrap();
        b.unwrap();
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_database_is_unavailable_quickly() {
    // Nothing listens on port 9 (discard) on loopback.
    let store = PgStore::connect_lazy(
        "postgres://postgres@127.0.0.1:9/none",
        PgSettings {
            acquire_timeout: std::time::Duration::from_secs(1),
            ..PgSettings::default()
        },
    )
    .unwrap();
    let started = std::time::Instant::now();
    let err = tessera_core::store::UserStore::ping(&store)
        .await
        .unwrap_err();
    assert!(
        matches!(err, tessera_core::store::StoreError::Unavailable(_)),
        "{err:?}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "bounded, no hang"
    );
}

#[tokio::test]
async fn conformance_webhooks() {
    with_store(|s| async move { tessera_store::conformance::webhooks(&s).await }).await;
}
