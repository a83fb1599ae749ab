//! [`SessionStore`]: the `sessions` table, when no Redis holds sessions.
//! Each row carries a snapshot of its user, so a whoami is one read.

use async_trait::async_trait;
use tessera_core::mfa::Amr;
use tessera_core::session::{Session, SessionId};
use tessera_core::store::{SessionStore, StoreError, UserStore};
use tessera_core::token::TokenHash;
use tessera_core::user::{User, UserId};
use time::OffsetDateTime;

use crate::codec::roles_to_json;
use crate::db::{Cols, SqlDb, SqlStore, Stmt};
use crate::direct::Direct;
use crate::users::user_columns;

const SESSION_COLUMNS: &str = "id, token_hash, user_id, user_email, user_name, user_email_verified, user_roles, \
     user_created_at, created_at, last_seen_at, idle_expires_at, absolute_expires_at, user_agent, ip, amr";

pub(crate) fn session_from_row<DB: SqlDb>(row: &DB::Row) -> Result<Session, StoreError> {
    let r = Cols::<DB>(row);
    Ok(Session {
        id: SessionId(r.uuid("id")?),
        token_hash: r.hash("token_hash")?,
        user: user_columns::<DB>(row)?,
        created_at: r.time("created_at")?,
        last_seen_at: r.time("last_seen_at")?,
        idle_expires_at: r.time("idle_expires_at")?,
        absolute_expires_at: r.time("absolute_expires_at")?,
        user_agent: r.opt_text("user_agent")?,
        ip: r.opt_text("ip")?,
        amr: Amr::parse_field(&r.text("amr")?),
    })
}

#[async_trait]
impl<DB: SqlDb> SessionStore for SqlStore<DB> {
    async fn insert_session(&self, s: &Session) -> Result<(), StoreError> {
        let stmt = Stmt::new(
            "INSERT INTO sessions (id, token_hash, user_id, user_email, user_name, user_email_verified, user_roles, \
             user_created_at, created_at, last_seen_at, idle_expires_at, absolute_expires_at, user_agent, ip, amr) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .id(s.id)
        .hash(&s.token_hash)
        .id(s.user.id)
        .text(&s.user.email)
        .opt_text(s.user.name.as_deref())
        .flag(s.user.email_verified)
        .string(roles_to_json(&s.user.roles))
        .time(s.user.created_at)
        .time(s.created_at)
        .time(s.last_seen_at)
        .time(s.idle_expires_at)
        .time(s.absolute_expires_at)
        .opt_text(s.user_agent.as_deref())
        .opt_text(s.ip.as_deref())
        .string(s.amr.to_field())
        .unique("session");
        self.write(stmt).await?;
        Ok(())
    }

    async fn find_session(&self, token_hash: &TokenHash) -> Result<Option<Session>, StoreError> {
        // A closed store reads nothing: its direct reads answer busy (they
        // are closed first), and its pool unavailable.
        if let Some(direct) = &self.direct
            && let Direct::Read(session) = direct.find_session(token_hash)?
        {
            return Ok(session);
        }
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = $1");
        self.read_one(Stmt::new(&sql).hash(token_hash), session_from_row::<DB>)
            .await
    }

    async fn touch_session(
        &self,
        session: &Session,
        last_seen_at: OffsetDateTime,
        idle_expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2 WHERE id = $3";
        let stmt = Stmt::new(sql)
            .time(last_seen_at)
            .time(idle_expires_at)
            .id(session.id);
        self.write_one(stmt).await
    }

    async fn rotate_session_token(
        &self,
        session: &Session,
        new_hash: &TokenHash,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE sessions SET token_hash = $1 WHERE id = $2";
        self.write_one(Stmt::new(sql).hash(new_hash).id(session.id))
            .await
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
        self.read_all(Stmt::new(&sql).id(user).time(now), session_from_row::<DB>)
            .await
    }

    async fn delete_user_session(&self, user: UserId, id: SessionId) -> Result<bool, StoreError> {
        let sql = "DELETE FROM sessions WHERE id = $1 AND user_id = $2";
        self.write_one(Stmt::new(sql).id(id).id(user)).await
    }

    async fn delete_user_sessions(
        &self,
        user: UserId,
        except: Option<SessionId>,
    ) -> Result<u64, StoreError> {
        let sql = "DELETE FROM sessions WHERE user_id = $1 AND ($2 IS NULL OR id <> $2)";
        self.write(Stmt::new(sql).id(user).opt_id(except)).await
    }

    async fn update_user_snapshot(&self, user: &User) -> Result<u64, StoreError> {
        let sql = "UPDATE sessions SET user_email = $1, user_name = $2, user_email_verified = $3, \
             user_roles = $4, user_created_at = $5 WHERE user_id = $6";
        let stmt = Stmt::new(sql)
            .text(&user.email)
            .opt_text(user.name.as_deref())
            .flag(user.email_verified)
            .string(roles_to_json(&user.roles))
            .time(user.created_at)
            .id(user.id);
        self.write(stmt).await
    }

    async fn sweep_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let sql = "DELETE FROM sessions WHERE idle_expires_at <= $1 OR absolute_expires_at <= $1";
        self.write(Stmt::new(sql).time(now)).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        UserStore::ping(self).await
    }
}
