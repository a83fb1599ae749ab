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
use tessera_core::store::{SecretStore, SessionStore, StoreError, UserStore};
use tessera_core::token::TokenHash;
use tessera_core::user::{NewUser, User, UserId, UserRecord};
use time::OffsetDateTime;

use crate::codec::{err, from_ts, roles_from_json, roles_to_json, store_error, ts, uuid};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

const USER_COLUMNS: &str =
    "id, email, name, email_verified, roles, password_hash, created_at, disabled_at";
const SESSION_COLUMNS: &str = "id, token_hash, user_id, user_email, user_name, user_email_verified, user_roles, \
     user_created_at, created_at, last_seen_at, idle_expires_at, absolute_expires_at, user_agent, ip";

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
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(err)?;
        Ok(Self { pool })
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

fn user_from_row(row: &SqliteRow) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        user: User {
            id: UserId(uuid(row.try_get::<&str, _>("id").map_err(err)?)?),
            email: row.try_get("email").map_err(err)?,
            name: row.try_get("name").map_err(err)?,
            email_verified: row.try_get::<i64, _>("email_verified").map_err(err)? != 0,
            roles: roles_from_json(row.try_get::<&str, _>("roles").map_err(err)?)?,
            created_at: from_ts(row.try_get("created_at").map_err(err)?)?,
        },
        password_hash: row.try_get("password_hash").map_err(err)?,
        disabled_at: row
            .try_get::<Option<i64>, _>("disabled_at")
            .map_err(err)?
            .map(from_ts)
            .transpose()?,
    })
}

fn session_from_row(row: &SqliteRow) -> Result<Session, StoreError> {
    let hash: &[u8] = row.try_get("token_hash").map_err(err)?;
    Ok(Session {
        id: SessionId(uuid(row.try_get::<&str, _>("id").map_err(err)?)?),
        token_hash: TokenHash::from_slice(hash)
            .ok_or_else(|| StoreError::Backend("bad token hash".into()))?,
        user: User {
            id: UserId(uuid(row.try_get::<&str, _>("user_id").map_err(err)?)?),
            email: row.try_get("user_email").map_err(err)?,
            name: row.try_get("user_name").map_err(err)?,
            email_verified: row.try_get::<i64, _>("user_email_verified").map_err(err)? != 0,
            roles: roles_from_json(row.try_get::<&str, _>("user_roles").map_err(err)?)?,
            created_at: from_ts(row.try_get("user_created_at").map_err(err)?)?,
        },
        created_at: from_ts(row.try_get("created_at").map_err(err)?)?,
        last_seen_at: from_ts(row.try_get("last_seen_at").map_err(err)?)?,
        idle_expires_at: from_ts(row.try_get("idle_expires_at").map_err(err)?)?,
        absolute_expires_at: from_ts(row.try_get("absolute_expires_at").map_err(err)?)?,
        user_agent: row.try_get("user_agent").map_err(err)?,
        ip: row.try_get("ip").map_err(err)?,
    })
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn insert_user(&self, rec: &NewUser) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (id, email, name, email_verified, roles, password_hash, created_at, disabled_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(rec.user.id.to_string())
        .bind(&rec.user.email)
        .bind(&rec.user.name)
        .bind(i64::from(rec.user.email_verified))
        .bind(roles_to_json(&rec.user.roles))
        .bind(&rec.password_hash)
        .bind(ts(rec.user.created_at))
        .bind(rec.disabled_at.map(ts))
        .execute(&self.pool)
        .await
        .map_err(|e| store_error(e, "email"))?;
        Ok(())
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?");
        let row = sqlx::query(&sql)
            .bind(email)
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn find_user(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn set_password_hash(&self, id: UserId, phc: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(phc)
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_disabled(
        &self,
        id: UserId,
        at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET disabled_at = ? WHERE id = ?")
            .bind(at.map(ts))
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_users(&self, limit: u32, offset: u32) -> Result<Vec<UserRecord>, StoreError> {
        let sql =
            format!("SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id LIMIT ? OFFSET ?");
        let rows = sqlx::query(&sql)
            .bind(i64::from(limit))
            .bind(i64::from(offset))
            .fetch_all(&self.pool)
            .await
            .map_err(err)?;
        rows.iter().map(user_from_row).collect()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn insert_session(&self, s: &Session) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id, token_hash, user_id, user_email, user_name, user_email_verified, user_roles, \
             user_created_at, created_at, last_seen_at, idle_expires_at, absolute_expires_at, user_agent, ip) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(s.id.to_string())
        .bind(&s.token_hash.0[..])
        .bind(s.user.id.to_string())
        .bind(&s.user.email)
        .bind(&s.user.name)
        .bind(i64::from(s.user.email_verified))
        .bind(roles_to_json(&s.user.roles))
        .bind(ts(s.user.created_at))
        .bind(ts(s.created_at))
        .bind(ts(s.last_seen_at))
        .bind(ts(s.idle_expires_at))
        .bind(ts(s.absolute_expires_at))
        .bind(&s.user_agent)
        .bind(&s.ip)
        .execute(&self.pool)
        .await
        .map_err(|e| store_error(e, "session"))?;
        Ok(())
    }

    async fn find_session(&self, token_hash: &TokenHash) -> Result<Option<Session>, StoreError> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = ?");
        let row = sqlx::query(&sql)
            .bind(&token_hash.0[..])
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn touch_session(
        &self,
        id: SessionId,
        last_seen_at: OffsetDateTime,
        idle_expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE sessions SET last_seen_at = ?, idle_expires_at = ? WHERE id = ?")
                .bind(ts(last_seen_at))
                .bind(ts(idle_expires_at))
                .bind(id.to_string())
                .execute(&self.pool)
                .await
                .map_err(err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn rotate_session_token(
        &self,
        id: SessionId,
        new_hash: &TokenHash,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE sessions SET token_hash = ? WHERE id = ?")
            .bind(&new_hash.0[..])
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_user_sessions(
        &self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<Session>, StoreError> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions \
             WHERE user_id = ? AND idle_expires_at > ? AND absolute_expires_at > ? \
             ORDER BY created_at DESC, id"
        );
        let rows = sqlx::query(&sql)
            .bind(user.to_string())
            .bind(ts(now))
            .bind(ts(now))
            .fetch_all(&self.pool)
            .await
            .map_err(err)?;
        rows.iter().map(session_from_row).collect()
    }

    async fn delete_user_session(&self, user: UserId, id: SessionId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE id = ? AND user_id = ?")
            .bind(id.to_string())
            .bind(user.to_string())
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_user_sessions(
        &self,
        user: UserId,
        except: Option<SessionId>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = ? AND id IS NOT ?")
            .bind(user.to_string())
            .bind(except.map(|s| s.to_string()))
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(done.rows_affected())
    }

    async fn update_user_snapshot(&self, user: &User) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET user_email = ?, user_name = ?, user_email_verified = ?, user_roles = ?, \
             user_created_at = ? WHERE user_id = ?",
        )
        .bind(&user.email)
        .bind(&user.name)
        .bind(i64::from(user.email_verified))
        .bind(roles_to_json(&user.roles))
        .bind(ts(user.created_at))
        .bind(user.id.to_string())
        .execute(&self.pool)
        .await
        .map_err(err)?;
        Ok(done.rows_affected())
    }

    async fn sweep_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM sessions WHERE idle_expires_at <= ? OR absolute_expires_at <= ?",
        )
        .bind(ts(now))
        .bind(ts(now))
        .execute(&self.pool)
        .await
        .map_err(err)?;
        Ok(done.rows_affected())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        UserStore::ping(self).await
    }
}

#[async_trait]
impl SecretStore for SqliteStore {
    async fn get_or_create_secret(
        &self,
        name: &str,
        candidate: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        sqlx::query(
            "INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(candidate)
        .execute(&self.pool)
        .await
        .map_err(err)?;
        sqlx::query_scalar("SELECT value FROM secrets WHERE name = ?")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .map_err(err)
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
