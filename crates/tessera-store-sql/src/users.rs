//! [`UserStore`]: the `users` table.

use async_trait::async_trait;
use tessera_core::store::{StoreError, UserStore};
use tessera_core::user::{NewUser, User, UserId, UserRecord};
use time::OffsetDateTime;

use crate::codec::roles_to_json;
use crate::db::{Cols, SqlDb, SqlStore, Stmt};

const USER_COLUMNS: &str =
    "id, email, name, email_verified, roles, password_hash, created_at, disabled_at";

/// Inserts a user; a taken email is [`StoreError::Conflict`]`("email")`.
/// Also the first half of a provider sign-up (`identities.rs`).
pub(crate) async fn insert_user<DB: SqlDb>(
    conn: &mut DB::Connection,
    rec: &NewUser,
) -> Result<(), StoreError> {
    Stmt::<DB>::new(
        "INSERT INTO users (id, email, name, email_verified, roles, password_hash, created_at, disabled_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .id(rec.user.id)
    .text(&rec.user.email)
    .opt_text(rec.user.name.as_deref())
    .flag(rec.user.email_verified)
    .string(roles_to_json(&rec.user.roles))
    .opt_text(rec.password_hash.as_deref())
    .time(rec.user.created_at)
    .opt_time(rec.disabled_at)
    .unique("email")
        .execute(conn)
    .await?;
    Ok(())
}

fn user_from_row<DB: SqlDb>(row: &DB::Row) -> Result<UserRecord, StoreError> {
    let r = Cols::<DB>(row);
    Ok(UserRecord {
        user: User {
            id: UserId(r.uuid("id")?),
            email: r.text("email")?,
            name: r.opt_text("name")?,
            email_verified: r.flag("email_verified")?,
            roles: r.roles("roles")?,
            created_at: r.time("created_at")?,
        },
        password_hash: r.opt_text("password_hash")?,
        disabled_at: r.opt_time("disabled_at")?,
    })
}

/// A user from the `user_*` columns: sessions carry a copy of their user,
/// and a refresh record joins its family's.
pub(crate) fn user_columns<DB: SqlDb>(row: &DB::Row) -> Result<User, StoreError> {
    let r = Cols::<DB>(row);
    Ok(User {
        id: UserId(r.uuid("user_id")?),
        email: r.text("user_email")?,
        name: r.opt_text("user_name")?,
        email_verified: r.flag("user_email_verified")?,
        roles: r.roles("user_roles")?,
        created_at: r.time("user_created_at")?,
    })
}

#[async_trait]
impl<DB: SqlDb> UserStore for SqlStore<DB> {
    async fn insert_user(&self, rec: &NewUser) -> Result<(), StoreError> {
        insert_user::<DB>(&mut *self.writer().await?, rec).await
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        let row = Stmt::<DB>::new(&sql)
            .text(email)
            .fetch_optional(&mut *self.reader().await?)
            .await?;
        row.as_ref().map(user_from_row::<DB>).transpose()
    }

    async fn find_user(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = Stmt::<DB>::new(&sql)
            .id(id)
            .fetch_optional(&mut *self.reader().await?)
            .await?;
        row.as_ref().map(user_from_row::<DB>).transpose()
    }

    async fn set_password_hash(&self, id: UserId, phc: &str) -> Result<bool, StoreError> {
        let changed = Stmt::<DB>::new("UPDATE users SET password_hash = $1 WHERE id = $2")
            .text(phc)
            .id(id)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(changed == 1)
    }

    async fn replace_password_hash(
        &self,
        id: UserId,
        current: &str,
        phc: &str,
    ) -> Result<bool, StoreError> {
        let changed = Stmt::<DB>::new(
            "UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3",
        )
        .text(phc)
        .id(id)
        .text(current)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(changed == 1)
    }

    async fn set_disabled(
        &self,
        id: UserId,
        at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError> {
        let changed = Stmt::<DB>::new("UPDATE users SET disabled_at = $1 WHERE id = $2")
            .opt_time(at)
            .id(id)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(changed == 1)
    }

    async fn list_users(&self, limit: u32, offset: u32) -> Result<Vec<UserRecord>, StoreError> {
        let sql =
            format!("SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id LIMIT $1 OFFSET $2");
        let rows = Stmt::<DB>::new(&sql)
            .int(i64::from(limit))
            .int(i64::from(offset))
            .fetch_all(&mut *self.reader().await?)
            .await?;
        rows.iter().map(user_from_row::<DB>).collect()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Stmt::<DB>::new("SELECT 1")
            .execute(&mut *self.reader().await?)
            .await?;
        Ok(())
    }
}
