//! PostgreSQL: users, secrets (and sessions, when no Redis is configured)
//! for deployments of several instances.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgPool, Row};
use tessera_core::session::{Session, SessionId};
use tessera_core::store::{SecretStore, SessionStore, Spend, StoreError, UserStore};
use tessera_core::token::TokenHash;
use tessera_core::user::{NewUser, User, UserId, UserRecord};
use time::OffsetDateTime;

use crate::codec::{err, from_ts, roles_from_json, roles_to_json, store_error, ts, uuid};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

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

#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
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
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .min_connections(0)
            .acquire_timeout(settings.acquire_timeout)
            .idle_timeout(Some(Duration::from_mins(5)))
            .connect_lazy_with(options);
        Ok(Self { pool })
    }

    /// Applies the embedded migrations that have not run yet. Several
    /// instances may race here; sqlx takes an advisory lock.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(inner) => err(inner),
            other => StoreError::Backend(format!("migration failed: {other}")),
        })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The database server's clock, in Unix seconds (for `tessera doctor`).
    pub async fn server_time(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT EXTRACT(EPOCH FROM now())::BIGINT")
            .fetch_one(&self.pool)
            .await
            .map_err(err)
    }
}

crate::shared::sql_store!(PgStore, PgRow);

/// A refresh spend as one statement, so one round trip and no explicit
/// transaction: the spend, the successor's insert (only if the spend
/// matched) and the record. The final SELECT sees the rows as they were
/// before the statement (PostgreSQL's rule for data-modifying WITH).
const SPEND: &str = concat!(
    "WITH spent AS (",
    crate::shared::spend_update!(),
    " RETURNING family_id), \
     successor AS (INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at) \
     SELECT $3, family_id, $2, $4 FROM spent RETURNING hash) \
     SELECT (SELECT count(*) FROM successor) AS rotated, ",
    crate::shared::refresh_record!()
);

impl PgStore {
    /// A pooled connection: PostgreSQL queues writers itself, row by row.
    async fn writer(&self) -> Result<crate::shared::Writer<'_, sqlx::Postgres>, StoreError> {
        Ok(crate::shared::Writer {
            conn: self.pool.acquire().await.map_err(err)?,
            _turn: None,
        })
    }

    async fn spend(
        &self,
        presented: &TokenHash,
        successor: &TokenHash,
        successor_expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Spend, StoreError> {
        let row = spend_query(SPEND, presented, successor, successor_expires_at, now)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| store_error(e, "refresh token"))?;
        // Unknown: final (a token reaches its holder only after the
        // statement that created it committed, so every later snapshot has it).
        let Some(row) = row else {
            return Ok(Spend::Unchanged(None));
        };
        if let Some(rotated) = spend_from_row(&row, successor, now)? {
            return Ok(rotated);
        }
        let seen = refresh_from_row(&row)?;
        if seen.spent_at.is_some() {
            // Spent before this statement began: final (a replay).
            return Ok(Spend::Unchanged(Some(seen)));
        }
        // Unspent in the snapshot, yet not spent by this call: a racing
        // spend committed meanwhile (this UPDATE waited for it and then
        // matched nothing), or the token is expired or its family revoked.
        // Read it as it stands now.
        Ok(Spend::Unchanged(
            <Self as tessera_core::store::RefreshStore>::find_refresh(self, presented).await?,
        ))
    }
}
