//! The embedded default: everything in one SQLite file, in WAL mode.

use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tessera_core::store::StoreError;

use crate::codec::err;
use crate::db::{Dialect, SqlStore, check_when_idle};
use crate::direct::DirectReads;
use crate::refresh::{LIVE_FAMILY, REFRESH_RECORD, SPEND_INSERT, SPEND_LIVE_UPDATE};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The SQLite store.
///
/// Its write turn: SQLite lets one transaction write at a time; the others
/// wait in its busy handler, which sleeps 1, 2, 5 … 100 ms between tries,
/// so under load a waiter kept losing the lock (refresh p99 in the hundreds
/// of ms), and a transaction that read before writing could fail outright.
/// Every write of this store takes its turn first (FIFO, a mutex), so
/// writers of this store do not meet on the lock (other processes on the
/// same file still can; SQLite's busy handler covers them). Reads take no
/// turn (WAL lets them run beside the writer).
pub type SqliteStore = SqlStore<Sqlite>;

impl SqlStore<Sqlite> {
    /// Opens (creating if needed) `path`, in WAL mode. Does not migrate.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        Self::connect(options).await
    }

    /// Opens a database from a `sqlite://` URL.
    pub async fn open_url(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("bad SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5));
        Self::connect(options).await
    }

    async fn connect(options: SqliteConnectOptions) -> Result<Self, StoreError> {
        // SQLite work is CPU, not waiting: each connection is a worker
        // thread, and many more of them than cores only add thread switches
        // and writers queueing on the one write lock (docs/performance.md).
        // At least 4, so a refresh spend and a long write (the sweeper) at
        // once still leave connections for reads.
        let cores = std::thread::available_parallelism().map_or(4, std::num::NonZero::get);
        let path = options.get_filename().to_owned();
        let pool = SqlitePoolOptions::new()
            .max_connections(u32::try_from(cores.max(4)).unwrap_or(4))
            .acquire_timeout(Duration::from_secs(5))
            .test_before_acquire(false)
            .before_acquire(check_when_idle)
            .connect_with(options)
            .await
            .map_err(err)?;
        // Only a file (its pool has opened it by now): an in-memory
        // database is the pool's alone. Its absolute path, so that a later
        // change of directory cannot point the reads at another file.
        let direct = std::fs::canonicalize(&path)
            .ok()
            .filter(|p| p.is_file())
            .map(|p| Arc::new(DirectReads::new(&p, cores.max(4))));
        Ok(Self {
            pool,
            own: None,
            writes: Some(Arc::default()),
            direct,
        })
    }

    /// Applies the embedded migrations that have not run yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Backend(format!("migration failed: {e}")))
    }
}

/// A refresh spend as one query of two statements: each query is a round
/// trip to the connection's worker thread (two thread switches), which
/// costs more than the statements themselves. No transaction: the INSERT
/// decides alone (atomic, and the write turn orders this process's writes),
/// the SELECT then reads the token as it stands. `changes()` is the
/// INSERT's count while the SELECT runs: 1 only for the call that spent it.
static SPEND: LazyLock<String> =
    LazyLock::new(|| format!("{SPEND_INSERT};\nSELECT changes() AS rotated, {REFRESH_RECORD}"));

/// A live-token spend the same way: the UPDATE decides alone, the SELECT
/// then reads the family as it stands (after this call's UPDATE, or the
/// racing one that got in first); `changes()` is the UPDATE's count.
static SPEND_LIVE: LazyLock<String> =
    LazyLock::new(|| format!("{SPEND_LIVE_UPDATE};\nSELECT changes() AS rotated, {LIVE_FAMILY}"));

impl Dialect for Sqlite {
    fn spend_sql() -> &'static str {
        &SPEND
    }

    fn spend_live_sql() -> &'static str {
        &SPEND_LIVE
    }

    fn sweep_families_sql() -> [Option<&'static str>; 3] {
        [
            Some(
                "DELETE FROM refresh_tokens WHERE hash IN (SELECT t.hash FROM refresh_tokens t \
                 JOIN refresh_families f ON f.id = t.family_id WHERE f.absolute_expires_at <= $1 LIMIT 1000)",
            ),
            Some(
                "DELETE FROM refresh_families WHERE id IN (SELECT id FROM refresh_families WHERE absolute_expires_at <= $1 LIMIT 1000)",
            ),
            // The foreign key (kept here, 0010) leaves no token without
            // its family.
            None,
        ]
    }
}

const _: () = assert!(
    crate::db::SWEEP_BATCH == 1000,
    "the sweep statements' LIMIT"
);

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::store::{SecretStore, SessionStore, UserStore};
    use time::OffsetDateTime;

    async fn fresh() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("tessera.db"))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn conformance_users() {
        let (_dir, store) = fresh().await;
        tessera_store::conformance::users(&store).await;
    }

    #[tokio::test]
    async fn conformance_sessions() {
        let (_dir, store) = fresh().await;
        tessera_store::conformance::sessions(&store).await;
    }

    #[tokio::test]
    async fn conformance_keys() {
        let (_dir, store) = fresh().await;
        tessera_store::conformance::keys(&store).await;
    }

    #[tokio::test]
    async fn conformance_identities() {
        let (_dir, store) = fresh().await;
        tessera_store::conformance::identities(&store, &store).await;
    }

    #[tokio::test]
    async fn conformance_mail() {
        let (_dir, store) = fresh().await;
        tessera_store::conformance::mail(&store, &store).await;
    }

    #[tokio::test]
    async fn conformance_refresh() {
        let (_dir, store) = fresh().await;
        tessera_store::conformance::refresh(&store, &store).await;
    }

    #[tokio::test]
    async fn conformance_live_refresh() {
        let (_dir, store) = fresh().await;
        tessera_store::conformance::live_refresh(&store, &store).await;
    }

    #[tokio::test]
    async fn conformance_refresh_sweep() {
        let (_dir, store) = fresh().await;
        tessera_store::conformance::refresh_sweep(&store, &store).await;
    }

    /// A backlog larger than one batch (the first sweep after an upgrade)
    /// goes in one sweep, batch after batch: 2 500 families at their cap,
    /// each with a token of the older format; one family short of its cap
    /// stays.
    #[tokio::test]
    async fn sweeps_a_backlog_in_batches() {
        use tessera_core::store::RefreshStore;
        let (_dir, store) = fresh().await;
        let t0 = tessera_core::clock::whole_seconds(OffsetDateTime::now_utc()).unix_timestamp();
        let holder = tessera_store::conformance::sample_user(
            "backlog@example.com",
            OffsetDateTime::from_unix_timestamp(t0).unwrap(),
        );
        store.insert_user(&holder).await.unwrap();
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 2500) \
             INSERT INTO refresh_families (id, user_id, created_at, absolute_expires_at, amr) \
             SELECT 'family-' || i, ?1, ?2, CASE WHEN i = 2500 THEN ?2 + 10 ELSE ?2 END, 'pwd' FROM n",
        )
        .bind(holder.user.id.to_string())
        .bind(t0)
        .execute(&store.pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at) \
             SELECT randomblob(32), id, created_at, absolute_expires_at FROM refresh_families",
        )
        .execute(&store.pool)
        .await
        .unwrap();
        let at = OffsetDateTime::from_unix_timestamp(t0).unwrap();
        assert_eq!(store.sweep_families(at).await.unwrap(), 2500);
        let left: (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM refresh_families), (SELECT count(*) FROM refresh_tokens)",
        )
        .fetch_one(&store.pool)
        .await
        .unwrap();
        assert_eq!(
            left,
            (1, 1),
            "only the family short of its cap, and its token"
        );
    }

    /// A swept family's tokens of the older format leave no row behind,
    /// even one whose own expiry lies past the family's cap (a rotated
    /// token's expiry is not capped by it).
    #[tokio::test]
    async fn the_sweep_leaves_no_token_rows_of_a_swept_family() {
        use tessera_core::store::{RefreshFamily, RefreshStore};
        let (_dir, store) = fresh().await;
        let t0 = tessera_core::clock::whole_seconds(OffsetDateTime::now_utc());
        let holder = tessera_store::conformance::sample_user("swept@example.com", t0);
        store.insert_user(&holder).await.unwrap();
        let ends = t0 + time::Duration::hours(1);
        let family = RefreshFamily {
            id: uuid::Uuid::new_v4(),
            user_id: holder.user.id,
            created_at: t0,
            absolute_expires_at: ends,
            revoked_at: None,
            amr: tessera_core::mfa::Amr::default(),
        };
        let first = tessera_core::SessionToken::generate().hash();
        let second = tessera_core::SessionToken::generate().hash();
        store.create_family(&family, &first, ends).await.unwrap();
        store
            .spend_refresh(&first, &second, ends + time::Duration::days(1), t0)
            .await
            .unwrap();
        let count = || async {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM refresh_tokens")
                .fetch_one(&store.pool)
                .await
                .unwrap()
        };
        assert_eq!(count().await, 2);
        assert_eq!(store.sweep_families(ends).await.unwrap(), 1);
        assert_eq!(count().await, 0);
    }

    #[tokio::test]
    async fn conformance_mfa() {
        let (_dir, store) = fresh().await;
        tessera_store::conformance::mfa(&store, &store, &store).await;
    }

    #[tokio::test]
    async fn conformance_audit() {
        let (_dir, store) = fresh().await;
        tessera_store::conformance::audit(&store).await;
    }

    #[tokio::test]
    async fn conformance_webhooks() {
        let (_dir, store) = fresh().await;
        tessera_store::conformance::webhooks(&store).await;
    }

    #[tokio::test]
    async fn conformance_challenges() {
        let (_dir, store) = fresh().await;
        tessera_store::conformance::challenges(&store).await;
    }

    #[tokio::test]
    async fn conformance_secrets() {
        let (_dir, store) = fresh().await;
        tessera_store::conformance::secrets(&store).await;
    }

    /// Every write waits for the store's write turn (so writers never meet
    /// on SQLite's lock and its sleeping busy handler); reads do not. Each
    /// write is started while the test holds the turn: it must not finish
    /// until the turn is given back. (A machine slower than 50 ms per
    /// write could only let a missing turn pass, never fail this.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[allow(clippy::too_many_lines)]
    async fn every_write_waits_for_the_write_turn_and_reads_do_not() {
        use tessera_core::identity::Identity;
        use tessera_core::session::SessionPolicy;
        use tessera_core::store::{
            IdentityStore, KeyStore, RefreshFamily, RefreshStore, StoredKey,
        };
        use time::Duration as Span;
        type Fut = std::pin::Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send>>;
        type Op = Box<dyn FnOnce(SqliteStore) -> Fut>;

        let (_dir, store) = fresh().await;
        let now = tessera_core::clock::whole_seconds(OffsetDateTime::now_utc());
        let rec = tessera_store::conformance::sample_user("turns@example.com", now);
        let user = rec.user.clone();
        store.insert_user(&rec).await.unwrap();
        let token = tessera_core::SessionToken::generate();
        let session = SessionPolicy::default().start(user.clone(), token.hash(), now, None, None);
        store.insert_session(&session).await.unwrap();
        let family = RefreshFamily {
            id: uuid::Uuid::new_v4(),
            user_id: user.id,
            created_at: now,
            absolute_expires_at: now + Span::days(1),
            revoked_at: None,
            amr: tessera_core::mfa::Amr::default(),
        };
        let first = tessera_core::SessionToken::generate().hash();
        let identity = Identity {
            provider: "acme".into(),
            subject: "42".into(),
            user_id: user.id,
            email: None,
            created_at: now,
        };
        let other = tessera_store::conformance::sample_user("other@example.com", now);
        let (u, s, f) = (user.clone(), session.clone(), family.clone());
        let ops: Vec<(&str, Op)> = vec![
            (
                "insert_user",
                Box::new(move |st| {
                    Box::pin(async move {
                        st.insert_user(&tessera_store::conformance::sample_user(
                            "new@example.com",
                            now,
                        ))
                        .await
                    })
                }),
            ),
            (
                "set_password_hash",
                Box::new({
                    let id = u.id;
                    move |st| Box::pin(async move { st.set_password_hash(id, "x").await.map(drop) })
                }),
            ),
            (
                "set_disabled",
                Box::new({
                    let id = u.id;
                    move |st| Box::pin(async move { st.set_disabled(id, None).await.map(drop) })
                }),
            ),
            (
                "insert_session",
                Box::new({
                    let u = u.clone();
                    move |st| {
                        Box::pin(async move {
                            let t = tessera_core::SessionToken::generate();
                            st.insert_session(&SessionPolicy::default().start(
                                u,
                                t.hash(),
                                now,
                                None,
                                None,
                            ))
                            .await
                        })
                    }
                }),
            ),
            (
                "touch_session",
                Box::new({
                    let s = s.clone();
                    move |st| {
                        Box::pin(async move {
                            st.touch_session(&s, now, now + Span::days(1))
                                .await
                                .map(drop)
                        })
                    }
                }),
            ),
            (
                "update_user_snapshot",
                Box::new({
                    let u = u.clone();
                    move |st| Box::pin(async move { st.update_user_snapshot(&u).await.map(drop) })
                }),
            ),
            (
                "sweep_expired",
                Box::new(move |st| Box::pin(async move { st.sweep_expired(now).await.map(drop) })),
            ),
            (
                "get_or_create_secret",
                Box::new(move |st| {
                    Box::pin(
                        async move { st.get_or_create_secret("turn", &[1; 8]).await.map(drop) },
                    )
                }),
            ),
            (
                "insert_signing_key",
                Box::new(move |st| {
                    Box::pin(async move {
                        st.insert_signing_key(&StoredKey {
                            kid: "k".into(),
                            alg: "EdDSA".into(),
                            private_der: vec![1],
                            public_jwk: "{}".into(),
                            created_at: now,
                            retired_at: None,
                        })
                        .await
                    })
                }),
            ),
            (
                "retire_signing_key",
                Box::new(move |st| {
                    Box::pin(async move { st.retire_signing_key("k", now).await.map(drop) })
                }),
            ),
            (
                "create_family",
                Box::new({
                    let f = f.clone();
                    move |st| {
                        Box::pin(
                            async move { st.create_family(&f, &first, now + Span::days(1)).await },
                        )
                    }
                }),
            ),
            (
                "spend_refresh",
                Box::new(move |st| {
                    Box::pin(async move {
                        st.spend_refresh(
                            &first,
                            &tessera_core::SessionToken::generate().hash(),
                            now + Span::days(1),
                            now,
                        )
                        .await
                        .map(drop)
                    })
                }),
            ),
            (
                "revoke_family",
                Box::new({
                    let id = f.id;
                    move |st| Box::pin(async move { st.revoke_family(id, now).await.map(drop) })
                }),
            ),
            (
                "revoke_user_families",
                Box::new({
                    let id = u.id;
                    move |st| {
                        Box::pin(async move { st.revoke_user_families(id, now).await.map(drop) })
                    }
                }),
            ),
            (
                "insert_identity",
                Box::new({
                    let i = identity.clone();
                    move |st| Box::pin(async move { st.insert_identity(&i).await })
                }),
            ),
            (
                "delete_identity",
                Box::new({
                    let id = u.id;
                    move |st| {
                        Box::pin(async move { st.delete_identity(id, "acme").await.map(drop) })
                    }
                }),
            ),
            (
                "insert_user_with_identity",
                Box::new(move |st| {
                    Box::pin(async move {
                        let i = Identity {
                            provider: "acme".into(),
                            subject: "43".into(),
                            user_id: other.user.id,
                            email: None,
                            created_at: now,
                        };
                        st.insert_user_with_identity(&other, &i).await
                    })
                }),
            ),
            (
                "rotate_session_token",
                Box::new({
                    let s = s.clone();
                    move |st| {
                        Box::pin(async move {
                            st.rotate_session_token(
                                &s,
                                &tessera_core::SessionToken::generate().hash(),
                            )
                            .await
                            .map(drop)
                        })
                    }
                }),
            ),
            (
                "delete_user_session",
                Box::new({
                    let s = s.clone();
                    move |st| {
                        Box::pin(
                            async move { st.delete_user_session(s.user.id, s.id).await.map(drop) },
                        )
                    }
                }),
            ),
            (
                "delete_user_sessions",
                Box::new({
                    let id = u.id;
                    move |st| {
                        Box::pin(async move { st.delete_user_sessions(id, None).await.map(drop) })
                    }
                }),
            ),
        ];
        for (name, op) in ops {
            let turn = store.writes.as_ref().unwrap().lock().await;
            let write = tokio::spawn(op(store.clone()));
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            assert!(!write.is_finished(), "{name} wrote without its turn");
            // Reads go on meanwhile.
            let reads = async {
                store.find_user(user.id).await.unwrap();
                store.find_session(&token.hash()).await.unwrap();
                store.list_user_sessions(user.id, now).await.unwrap();
                store.find_refresh(&first).await.unwrap();
                store.list_signing_keys().await.unwrap();
            };
            tokio::time::timeout(std::time::Duration::from_secs(10), reads)
                .await
                .unwrap_or_else(|_| panic!("a read waited for the write turn ({name})"));
            drop(turn);
            write
                .await
                .unwrap()
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        }
    }

    /// A write that cannot get its turn (a long write ahead of it) answers
    /// unavailable after the bounded wait instead of queueing forever.
    #[tokio::test]
    async fn a_write_that_cannot_get_its_turn_is_unavailable_not_stuck() {
        let (_dir, store) = fresh().await;
        let _turn = store.writes.as_ref().unwrap().lock().await;
        // Virtual time: the 5 s pass at once (nothing else is running).
        tokio::time::pause();
        let waited = tokio::time::timeout(
            std::time::Duration::from_mins(1),
            store.get_or_create_secret("k", &[1; 4]),
        )
        .await;
        tokio::time::resume();
        let err = waited.expect("the wait is bounded").unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    }

    /// 0009 keeps what a database made before it holds: a chain of
    /// rotations written the old way (the spent row marked, the successor
    /// inserted) reads back the same through the successors, and its live
    /// token rotates once more.
    #[tokio::test]
    async fn refresh_chains_written_before_0009_read_back_the_same() {
        use tessera_core::store::{RefreshStore, Spend};
        use tessera_core::token::TokenHash;
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("migrations");
        std::fs::create_dir(&old).unwrap();
        let all = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
        for entry in std::fs::read_dir(&all).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            if name.as_str() < "0009" {
                std::fs::copy(entry.path(), old.join(&name)).unwrap();
            }
        }
        let store = SqliteStore::open(&dir.path().join("tessera.db"))
            .await
            .unwrap();
        sqlx::migrate::Migrator::new(old.as_path())
            .await
            .unwrap()
            .run(&store.pool)
            .await
            .unwrap();
        let t0 = tessera_core::clock::whole_seconds(OffsetDateTime::now_utc());
        let holder = tessera_store::conformance::sample_user("chain@example.com", t0);
        store.insert_user(&holder).await.unwrap();
        let family = uuid::Uuid::new_v4().to_string();
        let hashes: Vec<Vec<u8>> = (0..3)
            .map(|_| tessera_core::SessionToken::generate().hash().0.to_vec())
            .collect();
        sqlx::query(
            "INSERT INTO refresh_families (id, user_id, created_at, absolute_expires_at, amr) \
             VALUES (?1, ?2, ?3, ?4, 'pwd')",
        )
        .bind(&family)
        .bind(holder.user.id.to_string())
        .bind(t0.unix_timestamp())
        .bind(t0.unix_timestamp() + 86_400)
        .execute(&store.pool)
        .await
        .unwrap();
        for (i, hash) in hashes.iter().enumerate() {
            let at = t0.unix_timestamp() + i64::try_from(i).unwrap();
            let next = hashes.get(i + 1);
            sqlx::query(
                "INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at, spent_at, successor_hash) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .bind(hash)
            .bind(&family)
            .bind(at)
            .bind(at + 3_600)
            .bind(next.map(|_| at + 1))
            .bind(next)
            .execute(&store.pool)
            .await
            .unwrap();
        }
        store.migrate().await.unwrap();
        let hash = |i: usize| TokenHash::from_slice(&hashes[i]).unwrap();
        for i in 0..3 {
            let record = store.find_refresh(&hash(i)).await.unwrap().unwrap();
            let spent =
                (i < 2).then(|| t0 + time::Duration::seconds(i64::try_from(i).unwrap() + 1));
            assert_eq!(record.spent_at, spent, "token {i}");
            assert_eq!(record.successor, (i < 2).then(|| hash(i + 1)), "token {i}");
        }
        let now = t0 + time::Duration::seconds(5);
        let next = tessera_core::SessionToken::generate().hash();
        assert!(matches!(
            store.spend_refresh(&hash(1), &next, now + time::Duration::hours(1), now).await.unwrap(),
            Spend::Unchanged(Some(r)) if r.successor == Some(hash(2))
        ));
        assert!(matches!(
            store.spend_refresh(&hash(2), &next, now + time::Duration::hours(1), now).await.unwrap(),
            Spend::Rotated(r) if r.successor == Some(next)
        ));
    }

    #[tokio::test]
    async fn data_survives_reopening_and_migrations_are_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tessera.db");
        let store = SqliteStore::open(&path).await.unwrap();
        store.migrate().await.unwrap();
        let secret = store.get_or_create_secret("k", &[9; 4]).await.unwrap();
        store.close().await;
        let store = SqliteStore::open(&path).await.unwrap();
        store.migrate().await.unwrap();
        assert_eq!(
            store.get_or_create_secret("k", &[1; 4]).await.unwrap(),
            secret
        );
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
    }
}
