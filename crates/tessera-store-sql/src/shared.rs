//! The SQL shared by every backend, written once.
//!
//! Statements use `$n` placeholders, which both SQLite and PostgreSQL
//! accept (bound by number, so a statement may use them in any order and
//! more than once), and only portable SQL (`ON CONFLICT … DO
//! NOTHING`, `LIMIT … OFFSET`). Timestamps are Unix seconds, roles a JSON
//! array in a text column. [`sql_store!`] expands the store traits for one
//! backend's pool and row types.

/// A connection to write with. On SQLite it also holds the store's write
/// turn: see [`crate::sqlite::SqliteStore`]. Dropping it returns both.
pub(crate) struct Writer<'a, DB: sqlx::Database> {
    pub(crate) conn: sqlx::pool::PoolConnection<DB>,
    pub(crate) _turn: Option<tokio::sync::MutexGuard<'a, ()>>,
}

impl<DB: sqlx::Database> std::ops::Deref for Writer<'_, DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &DB::Connection {
        &self.conn
    }
}

impl<DB: sqlx::Database> std::ops::DerefMut for Writer<'_, DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        &mut self.conn
    }
}

macro_rules! sql_store {
    ($store:ty, $row:ty) => {
const USER_COLUMNS: &str = "id, email, name, email_verified, roles, password_hash, created_at, disabled_at";
const SESSION_COLUMNS: &str = "id, token_hash, user_id, user_email, user_name, user_email_verified, user_roles, \
     user_created_at, created_at, last_seen_at, idle_expires_at, absolute_expires_at, user_agent, ip";

type Db = <$row as sqlx::Row>::Database;
type Query<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>;

fn insert_user_query(rec: &NewUser) -> Query<'_> {
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
}

fn insert_identity_query(identity: &tessera_core::identity::Identity) -> Query<'_> {
    sqlx::query(
        "INSERT INTO identities (provider, subject, user_id, email, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&identity.provider)
    .bind(&identity.subject)
    .bind(identity.user_id.to_string())
    .bind(&identity.email)
    .bind(ts(identity.created_at))
}

/// A backend's spend statement(s) with their arguments: `$1` presented
/// hash, `$2` now, `$3` successor hash, `$4` the successor's expiry.
fn spend_query<'q>(
    sql: &'static str,
    presented: &'q TokenHash,
    successor: &'q TokenHash,
    successor_expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Query<'q> {
    sqlx::query(sql)
        .bind(&presented.0[..])
        .bind(ts(now))
        .bind(&successor.0[..])
        .bind(ts(successor_expires_at))
}

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

/// A user from the `user_*` columns (sessions carry a copy; a refresh
/// record joins the family's user).
fn user_columns(row: &$row) -> Result<User, StoreError> {
    Ok(User {
        id: UserId(uuid(row.try_get::<&str, _>("user_id").map_err(err)?)?),
        email: row.try_get("user_email").map_err(err)?,
        name: row.try_get("user_name").map_err(err)?,
        email_verified: row.try_get::<bool, _>("user_email_verified").map_err(err)?,
        roles: roles_from_json(row.try_get::<&str, _>("user_roles").map_err(err)?)?,
        created_at: from_ts(row.try_get("user_created_at").map_err(err)?)?,
    })
}

fn session_from_row(row: &$row) -> Result<Session, StoreError> {
    let hash: Vec<u8> = row.try_get("token_hash").map_err(err)?;
    Ok(Session {
        id: SessionId(uuid(row.try_get::<&str, _>("id").map_err(err)?)?),
        token_hash: TokenHash::from_slice(&hash)
            .ok_or_else(|| StoreError::Backend("bad token hash".into()))?,
        user: user_columns(row)?,
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
        insert_user_query(rec)
        .execute(&mut *self.writer().await?)
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
            .execute(&mut *self.writer().await?)
            .await
            .map_err(err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn replace_password_hash(
        &self,
        id: UserId,
        current: &str,
        phc: &str,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3")
                .bind(phc)
                .bind(id.to_string())
                .bind(current)
                .execute(&mut *self.writer().await?)
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
            .execute(&mut *self.writer().await?)
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
        .execute(&mut *self.writer().await?)
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
                .execute(&mut *self.writer().await?)
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
            .execute(&mut *self.writer().await?)
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
            .execute(&mut *self.writer().await?)
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
            .execute(&mut *self.writer().await?)
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
        .execute(&mut *self.writer().await?)
        .await
        .map_err(err)?;
        Ok(done.rows_affected())
    }

    async fn sweep_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM sessions WHERE idle_expires_at <= $1 OR absolute_expires_at <= $1",
        )
        .bind(ts(now))
        .execute(&mut *self.writer().await?)
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
        .execute(&mut *self.writer().await?)
        .await
        .map_err(err)?;
        sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .map_err(err)
    }
}

#[async_trait]
impl tessera_core::store::KeyStore for $store {
    async fn insert_signing_key(&self, key: &tessera_core::store::StoredKey) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, private_der, public_jwk, created_at, retired_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.private_der[..])
        .bind(&key.public_jwk)
        .bind(ts(key.created_at))
        .bind(key.retired_at.map(ts))
        .execute(&mut *self.writer().await?)
        .await
        .map_err(|e| store_error(e, "kid"))?;
        Ok(())
    }

    async fn list_signing_keys(&self) -> Result<Vec<tessera_core::store::StoredKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT kid, alg, private_der, public_jwk, created_at, retired_at FROM signing_keys \
             ORDER BY created_at, kid",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(err)?;
        rows.iter()
            .map(|row| {
                Ok(tessera_core::store::StoredKey {
                    kid: row.try_get("kid").map_err(err)?,
                    alg: row.try_get("alg").map_err(err)?,
                    private_der: row.try_get("private_der").map_err(err)?,
                    public_jwk: row.try_get("public_jwk").map_err(err)?,
                    created_at: from_ts(row.try_get("created_at").map_err(err)?)?,
                    retired_at: row
                        .try_get::<Option<i64>, _>("retired_at")
                        .map_err(err)?
                        .map(from_ts)
                        .transpose()?,
                })
            })
            .collect()
    }

    async fn retire_signing_key(&self, kid: &str, at: OffsetDateTime) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE kid = $2 AND retired_at IS NULL")
            .bind(ts(at))
            .bind(kid)
            .execute(&mut *self.writer().await?)
            .await
            .map_err(err)?;
        Ok(done.rows_affected() == 1)
    }
}

const REFRESH_SELECT: &str = concat!("SELECT ", crate::shared::refresh_record!());

fn refresh_from_row(row: &$row) -> Result<tessera_core::store::RefreshRecord, StoreError> {
    let hash: Vec<u8> = row.try_get("hash").map_err(err)?;
    let successor: Option<Vec<u8>> = row.try_get("successor_hash").map_err(err)?;
    let opt_ts = |name: &str| -> Result<Option<OffsetDateTime>, StoreError> {
        row.try_get::<Option<i64>, _>(name).map_err(err)?.map(from_ts).transpose()
    };
    Ok(tessera_core::store::RefreshRecord {
        hash: TokenHash::from_slice(&hash).ok_or_else(|| StoreError::Backend("bad refresh hash".into()))?,
        family: tessera_core::store::RefreshFamily {
            id: uuid(row.try_get::<&str, _>("family_id").map_err(err)?)?,
            user_id: UserId(uuid(row.try_get::<&str, _>("user_id").map_err(err)?)?),
            created_at: from_ts(row.try_get("family_created_at").map_err(err)?)?,
            absolute_expires_at: from_ts(row.try_get("absolute_expires_at").map_err(err)?)?,
            revoked_at: opt_ts("revoked_at")?,
        },
        created_at: from_ts(row.try_get("created_at").map_err(err)?)?,
        expires_at: from_ts(row.try_get("expires_at").map_err(err)?)?,
        spent_at: opt_ts("spent_at")?,
        successor: successor.as_deref().and_then(TokenHash::from_slice),
        holder: match row.try_get::<Option<&str>, _>("user_email").map_err(err)? {
            None => None,
            Some(_) => Some(tessera_core::store::RefreshHolder {
                user: user_columns(row)?,
                disabled_at: opt_ts("user_disabled_at")?,
            }),
        },
    })
}

/// What a spend read: `rotated` (this call spent the token) and the record
/// as the statement saw it. PostgreSQL's single statement sees the row
/// before its own UPDATE, so a rotation fills in what it wrote.
fn spend_from_row(
    row: &$row,
    successor: &TokenHash,
    now: OffsetDateTime,
) -> Result<Option<tessera_core::store::Spend>, StoreError> {
    let mut record = refresh_from_row(row)?;
    if row.try_get::<i64, _>("rotated").map_err(err)? == 1 {
        record.spent_at = Some(now);
        record.successor = Some(*successor);
        Ok(Some(tessera_core::store::Spend::Rotated(record)))
    } else {
        Ok(None)
    }
}

#[async_trait]
impl tessera_core::store::RefreshStore for $store {
    async fn create_family(
        &self,
        family: &tessera_core::store::RefreshFamily,
        first: &TokenHash,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = sqlx::Connection::begin(&mut *writer).await.map_err(err)?;
        sqlx::query(
            "INSERT INTO refresh_families (id, user_id, created_at, absolute_expires_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(family.id.to_string())
        .bind(family.user_id.to_string())
        .bind(ts(family.created_at))
        .bind(ts(family.absolute_expires_at))
        .bind(family.revoked_at.map(ts))
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        sqlx::query("INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(&first.0[..])
            .bind(family.id.to_string())
            .bind(ts(family.created_at))
            .bind(ts(expires_at))
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        tx.commit().await.map_err(err)
    }

    async fn spend_refresh(
        &self,
        presented: &TokenHash,
        successor: &TokenHash,
        successor_expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<tessera_core::store::Spend, StoreError> {
        // One conditional UPDATE decides the race: the row lock (PostgreSQL)
        // or the single writer (SQLite) lets exactly one caller match
        // `spent_at IS NULL`; the successor is inserted atomically with it,
        // so no one sees a spent token without its successor. How is the
        // backend's own (`spend`): each round trip to the database costs
        // more than the statements themselves.
        self.spend(presented, successor, successor_expires_at, now).await
    }

    async fn find_refresh(&self, hash: &TokenHash) -> Result<Option<tessera_core::store::RefreshRecord>, StoreError> {
        let row = sqlx::query(REFRESH_SELECT)
            .bind(&hash.0[..])
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        row.as_ref().map(refresh_from_row).transpose()
    }

    async fn revoke_family(&self, id: uuid::Uuid, at: OffsetDateTime) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE refresh_families SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(ts(at))
            .bind(id.to_string())
            .execute(&mut *self.writer().await?)
            .await
            .map_err(err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn revoke_user_families(&self, user: UserId, at: OffsetDateTime) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE refresh_families SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
            .bind(ts(at))
            .bind(user.to_string())
            .execute(&mut *self.writer().await?)
            .await
            .map_err(err)?;
        Ok(done.rows_affected())
    }
}

fn identity_from_row(row: &$row) -> Result<tessera_core::identity::Identity, StoreError> {
    Ok(tessera_core::identity::Identity {
        provider: row.try_get("provider").map_err(err)?,
        subject: row.try_get("subject").map_err(err)?,
        user_id: UserId(uuid(row.try_get::<&str, _>("user_id").map_err(err)?)?),
        email: row.try_get("email").map_err(err)?,
        created_at: from_ts(row.try_get("created_at").map_err(err)?)?,
    })
}

#[async_trait]
impl tessera_core::store::IdentityStore for $store {
    async fn insert_identity(&self, identity: &tessera_core::identity::Identity) -> Result<(), StoreError> {
        insert_identity_query(identity)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(|e| store_error(e, "identity"))?;
        Ok(())
    }

    async fn find_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<tessera_core::identity::Identity>, StoreError> {
        let row = sqlx::query(
            "SELECT provider, subject, user_id, email, created_at FROM identities WHERE provider = $1 AND subject = $2",
        )
        .bind(provider)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await
        .map_err(err)?;
        row.as_ref().map(identity_from_row).transpose()
    }

    async fn list_identities(&self, user: UserId) -> Result<Vec<tessera_core::identity::Identity>, StoreError> {
        let rows = sqlx::query(
            "SELECT provider, subject, user_id, email, created_at FROM identities WHERE user_id = $1 \
             ORDER BY created_at, provider",
        )
        .bind(user.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(err)?;
        rows.iter().map(identity_from_row).collect()
    }

    async fn delete_identity(
        &self,
        user: UserId,
        provider: &str,
    ) -> Result<tessera_core::store::Unlink, StoreError> {
        use tessera_core::store::Unlink;
        let mut writer = self.writer().await?;
        let mut tx = sqlx::Connection::begin(&mut *writer).await.map_err(err)?;
        // Writing the user's row first serialises concurrent unlinks of the
        // same user (a row lock in PostgreSQL, the one writer in SQLite), so
        // the count below cannot be stale.
        let locked = sqlx::query("UPDATE users SET id = id WHERE id = $1 RETURNING password_hash")
            .bind(user.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(err)?;
        // Early answers roll back before the writer (and on SQLite its write
        // turn) is given back: a dropped transaction's ROLLBACK would only be
        // queued, and the next writer could find the lock still held.
        let Some(row) = locked else {
            tx.rollback().await.map_err(err)?;
            return Ok(Unlink::NotLinked);
        };
        let has_password = row
            .try_get::<Option<String>, _>("password_hash")
            .map_err(err)?
            .is_some();
        let providers: Vec<String> = sqlx::query("SELECT provider FROM identities WHERE user_id = $1")
            .bind(user.to_string())
            .fetch_all(&mut *tx)
            .await
            .map_err(err)?
            .iter()
            .map(|r| r.try_get::<String, _>("provider"))
            .collect::<Result<_, _>>()
            .map_err(err)?;
        if !providers.iter().any(|p| p == provider) {
            tx.rollback().await.map_err(err)?;
            return Ok(Unlink::NotLinked);
        }
        if !has_password && providers.len() == 1 {
            tx.rollback().await.map_err(err)?;
            return Ok(Unlink::LastWayIn);
        }
        sqlx::query("DELETE FROM identities WHERE user_id = $1 AND provider = $2")
            .bind(user.to_string())
            .bind(provider)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(Unlink::Deleted)
    }

    async fn insert_user_with_identity(
        &self,
        rec: &NewUser,
        identity: &tessera_core::identity::Identity,
    ) -> Result<(), StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = sqlx::Connection::begin(&mut *writer).await.map_err(err)?;
        insert_user_query(rec)
        .execute(&mut *tx)
        .await
        .map_err(|e| store_error(e, "email"))?;
        insert_identity_query(identity)
        .execute(&mut *tx)
        .await
        .map_err(|e| store_error(e, "identity"))?;
        tx.commit().await.map_err(err)
    }
}

    };
}

/// Spends a live refresh token: `$1` the presented token's hash, `$2` now,
/// `$3` the successor's hash. Matches only an unspent, unexpired token of a
/// live family, so of racing spends exactly one changes a row.
macro_rules! spend_update {
    () => {
        "UPDATE refresh_tokens SET spent_at = $2, successor_hash = $3 \
         WHERE hash = $1 AND spent_at IS NULL AND expires_at > $2 \
         AND family_id IN (SELECT id FROM refresh_families WHERE revoked_at IS NULL AND absolute_expires_at > $2)"
    };
}

/// The columns of a refresh record, its family and the family's user (if
/// it still exists), for the token whose hash is `$1`.
macro_rules! refresh_record {
    () => {
        "t.hash, t.created_at, t.expires_at, t.spent_at, t.successor_hash, \
         f.id AS family_id, f.user_id, f.created_at AS family_created_at, f.absolute_expires_at, f.revoked_at, \
         u.email AS user_email, u.name AS user_name, u.email_verified AS user_email_verified, \
         u.roles AS user_roles, u.created_at AS user_created_at, u.disabled_at AS user_disabled_at \
         FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id \
         LEFT JOIN users u ON u.id = f.user_id WHERE t.hash = $1"
    };
}

pub(crate) use {refresh_record, spend_update, sql_store};
