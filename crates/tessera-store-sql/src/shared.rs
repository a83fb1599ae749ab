//! The SQL shared by every backend, written once.
//!
//! Statements use `$n` placeholders in ascending order, which both SQLite
//! and PostgreSQL accept, and only portable SQL (`ON CONFLICT … DO
//! NOTHING`, `LIMIT … OFFSET`). Timestamps are Unix seconds, roles a JSON
//! array in a text column. [`sql_store!`] expands the store traits for one
//! backend's pool and row types.

macro_rules! sql_store {
    ($store:ty, $row:ty) => {
const USER_COLUMNS: &str = "id, email, name, email_verified, roles, password_hash, created_at, disabled_at";
const SESSION_COLUMNS: &str = "id, token_hash, user_id, user_email, user_name, user_email_verified, user_roles, \
     user_created_at, created_at, last_seen_at, idle_expires_at, absolute_expires_at, user_agent, ip";

fn user_from_row(row: &$row) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        user: User {
            id: UserId(uuid(row.try_get::<&str, _>("id").map_err(err)?)?),
            email: row.try_get("email").map_err(err)?,
            name: row.try_get("name").map_err(err)?,
            email_verified: row.try_get::<bool, _>("email_verified").map_err(err)?,
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

fn session_from_row(row: &$row) -> Result<Session, StoreError> {
    let hash: Vec<u8> = row.try_get("token_hash").map_err(err)?;
    Ok(Session {
        id: SessionId(uuid(row.try_get::<&str, _>("id").map_err(err)?)?),
        token_hash: TokenHash::from_slice(&hash)
            .ok_or_else(|| StoreError::Backend("bad token hash".into()))?,
        user: User {
            id: UserId(uuid(row.try_get::<&str, _>("user_id").map_err(err)?)?),
            email: row.try_get("user_email").map_err(err)?,
            name: row.try_get("user_name").map_err(err)?,
            email_verified: row.try_get::<bool, _>("user_email_verified").map_err(err)?,
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
impl UserStore for $store {
    async fn insert_user(&self, rec: &NewUser) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (id, email, name, email_verified, roles, password_hash, created_at, disabled_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(rec.user.id.to_string())
        .bind(&rec.user.email)
        .bind(&rec.user.name)
        .bind(rec.user.email_verified)
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
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        let row = sqlx::query(&sql)
            .bind(email)
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn find_user(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn set_password_hash(&self, id: UserId, phc: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
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
        let done = sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
            .bind(at.map(ts))
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_users(&self, limit: u32, offset: u32) -> Result<Vec<UserRecord>, StoreError> {
        let sql =
            format!("SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id LIMIT $1 OFFSET $2");
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
impl SessionStore for $store {
    async fn insert_session(&self, s: &Session) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id, token_hash, user_id, user_email, user_name, user_email_verified, user_roles, \
             user_created_at, created_at, last_seen_at, idle_expires_at, absolute_expires_at, user_agent, ip) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(s.id.to_string())
        .bind(&s.token_hash.0[..])
        .bind(s.user.id.to_string())
        .bind(&s.user.email)
        .bind(&s.user.name)
        .bind(s.user.email_verified)
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
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = $1");
        let row = sqlx::query(&sql)
            .bind(&token_hash.0[..])
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn touch_session(
        &self,
        session: &Session,
        last_seen_at: OffsetDateTime,
        idle_expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2 WHERE id = $3")
                .bind(ts(last_seen_at))
                .bind(ts(idle_expires_at))
                .bind(session.id.to_string())
                .execute(&self.pool)
                .await
                .map_err(err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn rotate_session_token(
        &self,
        session: &Session,
        new_hash: &TokenHash,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE sessions SET token_hash = $1 WHERE id = $2")
            .bind(&new_hash.0[..])
            .bind(session.id.to_string())
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
             WHERE user_id = $1 AND idle_expires_at > $2 AND absolute_expires_at > $2 \
             ORDER BY created_at DESC, id"
        );
        let rows = sqlx::query(&sql)
            .bind(user.to_string())
            .bind(ts(now))
            .fetch_all(&self.pool)
            .await
            .map_err(err)?;
        rows.iter().map(session_from_row).collect()
    }

    async fn delete_user_session(&self, user: UserId, id: SessionId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
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
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND ($2 IS NULL OR id <> $2)")
            .bind(user.to_string())
            .bind(except.map(|s| s.to_string()))
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(done.rows_affected())
    }

    async fn update_user_snapshot(&self, user: &User) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET user_email = $1, user_name = $2, user_email_verified = $3, user_roles = $4, \
             user_created_at = $5 WHERE user_id = $6",
        )
        .bind(&user.email)
        .bind(&user.name)
        .bind(user.email_verified)
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
            "DELETE FROM sessions WHERE idle_expires_at <= $1 OR absolute_expires_at <= $1",
        )
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
impl SecretStore for $store {
    async fn get_or_create_secret(
        &self,
        name: &str,
        candidate: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        sqlx::query(
            "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(candidate)
        .execute(&self.pool)
        .await
        .map_err(err)?;
        sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .map_err(err)
    }
}

    };
}

pub(crate) use sql_store;
