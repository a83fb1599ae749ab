//! The embedded default: users, sessions and secrets in one SQLite file.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};
use tessera_core::session::{Session, SessionId};
use tessera_core::store::{SecretStore, SessionStore, Spend, StoreError, UserStore};
use tessera_core::token::TokenHash;
use tessera_core::user::{NewUser, User, UserId, UserRecord};
use time::OffsetDateTime;

use crate::codec::{err, from_ts, roles_from_json, roles_to_json, store_error, ts, uuid};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Refresh spends queue here (FIFO) rather than on SQLite's write lock,
    /// whose busy handler sleeps 1, 2, 5 … 100 ms between tries: under
    /// load a waiter kept losing the lock (p99 in the hundreds of ms).
    spends: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl SqliteStore {
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
        // and writers queueing on the one write lock (measured on 2 cores:
        // 8 connections gave whoami -10 % and refresh -20 % against 2 or 4).
        // At least 4, so a refresh spend and a long write (the sweeper) at
        // once still leave connections for reads.
        let cores = std::thread::available_parallelism().map_or(4, std::num::NonZero::get);
        let pool = SqlitePoolOptions::new()
            .max_connections(u32::try_from(cores.max(4)).unwrap_or(4))
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(err)?;
        Ok(Self {
            pool,
            spends: std::sync::Arc::default(),
        })
    }

    /// Applies the embedded migrations that have not run yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Backend(format!("migration failed: {e}")))
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

crate::shared::sql_store!(SqliteStore, SqliteRow);

/// A refresh spend as one query of three statements, between BEGIN and
/// COMMIT: each query is a round trip to the connection's worker thread (two
/// thread switches), which costs more than the statements themselves.
/// `changes()` is the UPDATE's count while the INSERT runs, and the INSERT's
/// while the SELECT runs: 1 only for the call that spent the token.
const SPEND: &str = concat!(
    crate::shared::spend_update!(),
    ";\n",
    "INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at) \
     SELECT $3, family_id, $2, $4 FROM refresh_tokens WHERE hash = $1 AND changes() = 1;\n",
    "SELECT changes() AS rotated, ",
    crate::shared::refresh_record!()
);

impl SqliteStore {
    async fn spend(
        &self,
        presented: &TokenHash,
        successor: &TokenHash,
        successor_expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Spend, StoreError> {
        let _one_at_a_time = self.spends.lock().await;
        let mut tx = self.pool.begin().await.map_err(err)?;
        let row = spend_query(SPEND, presented, successor, successor_expires_at, now)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| store_error(e, "refresh token"))?;
        tx.commit().await.map_err(err)?;
        let Some(row) = row else {
            return Ok(Spend::Unchanged(None));
        };
        match spend_from_row(&row, successor, now)? {
            Some(rotated) => Ok(rotated),
            None => Ok(Spend::Unchanged(Some(refresh_from_row(&row)?))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    async fn conformance_refresh() {
        let (_dir, store) = fresh().await;
        tessera_store::conformance::refresh(&store, &store).await;
    }

    #[tokio::test]
    async fn conformance_secrets() {
        let (_dir, store) = fresh().await;
        tessera_store::conformance::secrets(&store).await;
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
