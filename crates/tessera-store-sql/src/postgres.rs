//! PostgreSQL: users, secrets (and sessions, when no Redis is configured)
//! for deployments of several instances.

use std::str::FromStr;
use std::time::Duration;

use std::sync::{Arc, LazyLock};

use sqlx::Postgres;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tessera_core::store::StoreError;

use crate::codec::err;
use crate::conns::Conns;
use crate::db::{Dialect, SqlStore, check_when_idle};
use crate::refresh::{REFRESH_RECORD, SPEND_LIVE_UPDATE, live_family_columns};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How long an idle connection is kept open.
const IDLE_TIMEOUT: Duration = Duration::from_mins(5);

/// Pool limits: enough connections for two cores' worth of requests, and
/// short timeouts so an unreachable database is a quick 503, never a hang.
#[derive(Debug, Clone, Copy)]
pub struct PgSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    pub statement_timeout: Duration,
}

impl Default for PgSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(5),
        }
    }
}

/// The PostgreSQL store.
pub type PgStore = SqlStore<Postgres>;

impl SqlStore<Postgres> {
    /// Connects lazily: the pool opens connections on first use, so a
    /// server can start (and answer 503) while the database is down, and
    /// recovers by itself when it comes back.
    pub fn connect_lazy(url: &str, settings: PgSettings) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("bad PostgreSQL URL: {e}")))?
            .application_name("tessera")
            .options([(
                "statement_timeout",
                format!("{}ms", settings.statement_timeout.as_millis()),
            )]);
        // sqlx's pool only for the migrations, `tessera copy` and
        // `tessera doctor`; the store's statements use connections of its
        // own, given back without sqlx's round trip (`conns.rs`).
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections.min(2))
            .min_connections(0)
            .acquire_timeout(settings.acquire_timeout)
            .idle_timeout(Some(IDLE_TIMEOUT))
            .test_before_acquire(false)
            .before_acquire(check_when_idle)
            .connect_lazy_with(options.clone());
        // A connection cut short is given its statement's time to finish
        // (`conns.rs`); without a statement timeout (`tessera copy`), 30 s.
        let drain = if settings.statement_timeout.is_zero() {
            Duration::from_secs(30)
        } else {
            settings.statement_timeout + Duration::from_secs(1)
        };
        let own = Conns::new(
            options,
            settings.max_connections,
            settings.acquire_timeout,
            IDLE_TIMEOUT,
            drain,
        );
        Ok(Self {
            pool,
            own: Some(Arc::new(own)),
            writes: None,
            direct: None,
        })
    }

    /// Applies the embedded migrations that have not run yet. Several
    /// instances may race here; sqlx takes an advisory lock.
    ///
    /// Without the pool's statement timeout: a migration that builds an
    /// index or rewrites rows takes as long as its table is large, and
    /// timing it out would stop every start. The connection used is closed
    /// afterwards, so its setting reaches no other statement.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(err)?;
        sqlx::query("SET statement_timeout = 0")
            .execute(&mut *conn)
            .await
            .map_err(err)?;
        let result = MIGRATOR.run(&mut *conn).await;
        if let Err(e) = conn.close().await {
            tracing::debug!(error = %e, "closing the migration connection");
        }
        result.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(inner) => err(inner),
            other => StoreError::Backend(format!("migration failed: {other}")),
        })
    }

    /// The database server's clock, in Unix seconds (for `tessera doctor`).
    pub async fn server_time(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT EXTRACT(EPOCH FROM now())::BIGINT")
            .fetch_one(&self.pool)
            .await
            .map_err(err)
    }
}

/// A refresh spend as one statement, so one round trip and no explicit
/// transaction. The token, its successor (if any), family and user are read
/// once (`cur`); the successor is inserted from that row only when it shows
/// the token live and unspent; the final SELECT returns the row as read
/// (PostgreSQL's rule for data-modifying WITH: it does not see the INSERT).
///
/// A plain INSERT, not `ON CONFLICT DO NOTHING`: a spend that the read shows
/// unspent conflicts only with a racing spend that commits first, and that
/// one unique violation (the `predecessor` and `hash` keys) is the loser's
/// answer (`spend_refresh` reads the token again). Speculative insertion
/// paid a check of both unique indexes, a lock and a WAL record on every
/// rotation for that rare case; reading the token once instead of twice and
/// dropping the family foreign key (migration 0010) did the rest: about 35 %
/// less PostgreSQL CPU per rotation (docs/performance.md).
static SPEND: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH cur AS (SELECT {REFRESH_RECORD}), \
         successor AS (INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at, predecessor) \
         SELECT $3, family_id, $2, $4, hash FROM cur \
         WHERE spent_at IS NULL AND expires_at > $2 AND revoked_at IS NULL AND absolute_expires_at > $2 \
         RETURNING hash) \
         SELECT (SELECT count(*) FROM successor) AS rotated, cur.* FROM cur"
    )
});

/// A live-token spend as one statement: the UPDATE's RETURNING gives the
/// family as this call left it, joined with its user; no row when it
/// matched nothing (`spend_live` then reads the family in a statement of
/// its own, which sees any racing spend that got in first: the UPDATE
/// waited for it). Reading the family in the same statement when nothing
/// matched (a `UNION ALL` branch) cost every rotation about 20 % more
/// PostgreSQL CPU in `bench/pg-spend`, for the rare replay.
static SPEND_LIVE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH spent AS ({SPEND_LIVE_UPDATE} RETURNING *) \
         SELECT CAST(1 AS BIGINT) AS rotated, {cols} FROM spent f LEFT JOIN users u ON u.id = f.user_id",
        cols = live_family_columns!(),
    )
});

impl Dialect for Postgres {
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
                 JOIN refresh_families f ON f.id = t.family_id WHERE f.absolute_expires_at <= $1 \
                 LIMIT 1000 FOR UPDATE OF t SKIP LOCKED)",
            ),
            Some(
                "DELETE FROM refresh_families WHERE id IN (SELECT id FROM refresh_families WHERE absolute_expires_at <= $1 \
                 LIMIT 1000 FOR UPDATE SKIP LOCKED)",
            ),
            // No foreign key here (0010): a successor a spend inserted
            // while its user was being deleted is left without a family.
            Some(
                "DELETE FROM refresh_tokens WHERE hash IN (SELECT t.hash FROM refresh_tokens t \
                 WHERE t.expires_at <= $1 AND NOT EXISTS \
                 (SELECT 1 FROM refresh_families f WHERE f.id = t.family_id) \
                 LIMIT 1000 FOR UPDATE SKIP LOCKED)",
            ),
        ]
    }
}

const _: () = assert!(
    crate::db::SWEEP_BATCH == 1000,
    "the sweep statements' LIMIT"
);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::testing;

    /// Migrations run without the statement timeout (an index on a large
    /// table takes as long as it takes), and every other statement keeps
    /// it: with a 1 ms timeout all migrations apply, and afterwards a 50 ms
    /// sleep on the same one-connection pool is cut off.
    #[tokio::test]
    async fn migrations_run_without_the_statement_timeout_and_nothing_else_does() {
        let db = testing::fresh_database().await.unwrap();
        let settings = PgSettings {
            max_connections: 1,
            statement_timeout: Duration::from_millis(1),
            ..PgSettings::default()
        };
        let store = PgStore::connect_lazy(&db.url, settings).unwrap();
        store.migrate().await.expect("migrations are not timed out");
        let slow = sqlx::query("SELECT pg_sleep(0.05)")
            .execute(&store.pool)
            .await
            .unwrap_err();
        let code = slow
            .as_database_error()
            .and_then(sqlx::error::DatabaseError::code);
        assert_eq!(code.as_deref(), Some("57014"), "{slow:?}");
        store.close().await;
        db.drop_now().await.unwrap();
    }
}
