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
    // Every use gave its connection back: none was opened while another
    // sat idle (a use that does not say it is done closes its connection,
    // so the suite would open more than it ever held at once).
    let (opened, peak) = store.connection_counts().unwrap();
    assert!(
        opened <= peak,
        "{opened} connections opened, at most {peak} in use at once"
    );
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
async fn conformance_live_refresh() {
    with_store(|s| async move { tessera_store::conformance::live_refresh(&s, &s).await }).await;
}

#[tokio::test]
async fn conformance_refresh_sweep() {
    with_store(|s| async move { tessera_store::conformance::refresh_sweep(&s, &s).await }).await;
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

/// A spend that reads its token unspent, then finds the successor's keys
/// taken by a racing spend that commits first, gets that one unique
/// violation as its answer: the token as it stands (spent, with the
/// racer's successor), never an error. The race is forced here: the other
/// spend's INSERT is held open in a transaction until this one waits on it.
#[tokio::test]
async fn a_spend_that_loses_the_race_on_the_unique_keys_reads_the_winners_successor() {
    use sqlx::Connection;
    use tessera_core::store::{RefreshFamily, RefreshStore, Spend};
    use tessera_core::token::TokenHash;
    use time::{Duration, OffsetDateTime};

    let db = testing::fresh_database().await.unwrap();
    let store = PgStore::connect_lazy(&db.url, PgSettings::default()).unwrap();
    store.migrate().await.unwrap();
    let now =
        OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp()).unwrap();
    let family = RefreshFamily {
        id: uuid::Uuid::new_v4(),
        user_id: tessera_core::user::UserId(uuid::Uuid::new_v4()),
        created_at: now,
        absolute_expires_at: now + Duration::days(90),
        revoked_at: None,
        amr: tessera_core::mfa::Amr::default(),
    };
    let (presented, successor) = (TokenHash([1; 32]), TokenHash([2; 32]));
    store
        .create_family(&family, &presented, now + Duration::days(30))
        .await
        .unwrap();

    let mut racer = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let mut tx = racer.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at, predecessor) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(successor.0.to_vec())
    .bind(family.id.to_string())
    .bind(now.unix_timestamp())
    .bind((now + Duration::days(30)).unix_timestamp())
    .bind(presented.0.to_vec())
    .execute(&mut *tx)
    .await
    .unwrap();

    let spend = tokio::spawn({
        let store = store.clone();
        async move {
            store
                .spend_refresh(&presented, &successor, now + Duration::days(30), now)
                .await
        }
    });
    // The spend read the token unspent and now waits on the racer's keys.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !spend.is_finished(),
        "the spend waits for the racing insert"
    );
    tx.commit().await.unwrap();

    match spend.await.unwrap() {
        Ok(Spend::Unchanged(Some(record))) => {
            assert_eq!(record.successor, Some(successor));
            assert_eq!(record.spent_at, Some(now));
        }
        other => panic!("the loser reads the winner's successor: {other:?}"),
    }
    store.close().await;
    db.drop_now().await.unwrap();
}

/// PostgreSQL's refresh tokens have no foreign key (0010). The sweep
/// deletes a swept family's tokens of the older format at once (even one
/// whose own expiry lies past the cap), and a token left without a family
/// (a spend that raced its user's deletion) once it has expired, not
/// before.
#[tokio::test]
async fn the_sweep_deletes_tokens_without_a_family_once_expired() {
    use sqlx::Connection;
    use tessera_core::store::{RefreshFamily, RefreshStore};
    use tessera_core::token::TokenHash;
    use time::{Duration, OffsetDateTime};

    let db = testing::fresh_database().await.unwrap();
    let store = PgStore::connect_lazy(&db.url, PgSettings::default()).unwrap();
    store.migrate().await.unwrap();
    let t0 =
        OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp()).unwrap();
    let ends = t0 + Duration::hours(1);
    let family = RefreshFamily {
        id: uuid::Uuid::new_v4(),
        user_id: tessera_core::user::UserId(uuid::Uuid::new_v4()),
        created_at: t0,
        absolute_expires_at: ends,
        revoked_at: None,
        amr: tessera_core::mfa::Amr::default(),
    };
    let (first, second) = (TokenHash([1; 32]), TokenHash([2; 32]));
    store.create_family(&family, &first, ends).await.unwrap();
    store
        .spend_refresh(&first, &second, ends + Duration::days(2), t0)
        .await
        .unwrap();
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let orphan_expires = t0 + Duration::days(1);
    sqlx::query("INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(TokenHash([3; 32]).0.to_vec())
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(t0.unix_timestamp())
        .bind(orphan_expires.unix_timestamp())
        .execute(&mut conn)
        .await
        .unwrap();
    let mut count = async || -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM refresh_tokens")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(count().await, 3);
    assert_eq!(store.sweep_families(ends).await.unwrap(), 1);
    assert_eq!(count().await, 1, "only the token without a family is left");
    store
        .sweep_families(orphan_expires - Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(count().await, 1, "kept until it expires");
    store.sweep_families(orphan_expires).await.unwrap();
    assert_eq!(count().await, 0);
    store.close().await;
    db.drop_now().await.unwrap();
}

/// Ends tessera's pooled connections to the test database from outside
/// (as a database restart or a dropped link would); how many it ended.
async fn end_pooled_connections(url: &str) -> i64 {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = 'tessera') ended",
    )
    .fetch_one(&mut admin)
    .await
    .unwrap()
}

/// A pool of one connection, used once and back in the pool.
async fn one_connection_pool(url: &str) -> PgStore {
    use tessera_core::store::UserStore;
    let store = PgStore::connect_lazy(
        url,
        PgSettings {
            max_connections: 1,
            ..PgSettings::default()
        },
    )
    .unwrap();
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
    // The migrations' connection (sqlx's pool) is closed; give its backend
    // time to leave, so only the store's own one is counted below.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    store
}

/// A busy pool hands out its connections without a round trip to check
/// them (docs/performance.md); one that sat idle for a while is checked
/// first, so a connection PostgreSQL ended meanwhile is replaced, not used.
#[tokio::test]
async fn a_connection_ended_while_idle_is_replaced_before_use() {
    use tessera_core::store::UserStore;
    let db = testing::fresh_database().await.unwrap();
    let store = one_connection_pool(&db.url).await;
    assert_eq!(end_pooled_connections(&db.url).await, 1);
    tokio::time::sleep(
        tessera_store_sql::CHECK_WHEN_IDLE_FOR + std::time::Duration::from_millis(300),
    )
    .await;
    store
        .ping()
        .await
        .expect("the ended connection was replaced");
    store.close().await;
    db.drop_now().await.unwrap();
}

/// A connection that ends between two uses close together fails the
/// statement that meets it (a 503 at the HTTP layer: fail closed, never a
/// wrong answer), and only that one: the next gets a new connection.
#[tokio::test]
async fn a_connection_ended_while_busy_fails_one_statement_and_is_replaced() {
    use tessera_core::store::{StoreError, UserStore};
    let db = testing::fresh_database().await.unwrap();
    let store = one_connection_pool(&db.url).await;
    assert_eq!(end_pooled_connections(&db.url).await, 1);
    let err = store.ping().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    store.ping().await.expect("a new connection");
    store.close().await;
    db.drop_now().await.unwrap();
}
