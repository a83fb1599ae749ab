//! [`UserStore`]: the `users` table.

use async_trait::async_trait;
use tessera_core::store::{StoreError, UserStore};
use tessera_core::user::{NewUser, User, UserId, UserRecord};
use time::OffsetDateTime;

use crate::codec::{err, roles_to_json};
use crate::db::{Cols, SqlDb, SqlStore, Stmt};

const USER_COLUMNS: &str =
    "id, email, name, email_verified, roles, password_hash, created_at, disabled_at";

/// The insert of a user; a taken email is
/// [`StoreError::Conflict`]`("email")`. Also the first half of a provider
/// sign-up (`identities.rs`).
pub(crate) fn insert_user<DB: SqlDb>(rec: &NewUser) -> Stmt<'_, DB> {
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
}

/// The names of a user's columns in one table.
struct UserColumns {
    id: &'static str,
    email: &'static str,
    name: &'static str,
    email_verified: &'static str,
    roles: &'static str,
    created_at: &'static str,
}

/// In `users`.
const USERS: UserColumns = UserColumns {
    id: "id",
    email: "email",
    name: "name",
    email_verified: "email_verified",
    roles: "roles",
    created_at: "created_at",
};

/// The `user_*` columns: sessions carry a copy of their user, and a
/// refresh record joins its family's.
const USER_COPY: UserColumns = UserColumns {
    id: "user_id",
    email: "user_email",
    name: "user_name",
    email_verified: "user_email_verified",
    roles: "user_roles",
    created_at: "user_created_at",
};

fn user_in<DB: SqlDb>(row: &DB::Row, c: &UserColumns) -> Result<User, StoreError> {
    let r = Cols::<DB>(row);
    Ok(User {
        id: UserId(r.uuid(c.id)?),
        email: r.text(c.email)?,
        name: r.opt_text(c.name)?,
        email_verified: r.flag(c.email_verified)?,
        roles: r.roles(c.roles)?,
        created_at: r.time(c.created_at)?,
    })
}

fn user_from_row<DB: SqlDb>(row: &DB::Row) -> Result<UserRecord, StoreError> {
    let r = Cols::<DB>(row);
    Ok(UserRecord {
        user: user_in::<DB>(row, &USERS)?,
        password_hash: r.opt_text("password_hash")?,
        disabled_at: r.opt_time("disabled_at")?,
    })
}

/// A user from the `user_*` columns (see [`USER_COPY`]).
pub(crate) fn user_columns<DB: SqlDb>(row: &DB::Row) -> Result<User, StoreError> {
    user_in::<DB>(row, &USER_COPY)
}

#[async_trait]
impl<DB: SqlDb> UserStore for SqlStore<DB> {
    async fn insert_user(&self, rec: &NewUser) -> Result<(), StoreError> {
        self.writer().await?.execute(insert_user::<DB>(rec)).await?;
        Ok(())
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        self.read_one(Stmt::new(&sql).text(email), user_from_row::<DB>)
            .await
    }

    async fn find_user(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        self.read_one(Stmt::new(&sql).id(id), user_from_row::<DB>)
            .await
    }

    async fn set_password_hash(&self, id: UserId, phc: &str) -> Result<bool, StoreError> {
        let sql = "UPDATE users SET password_hash = $1 WHERE id = $2";
        self.write_one(Stmt::new(sql).text(phc).id(id)).await
    }

    async fn replace_password_hash(
        &self,
        id: UserId,
        current: &str,
        phc: &str,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3";
        self.write_one(Stmt::new(sql).text(phc).id(id).text(current))
            .await
    }

    async fn set_disabled(
        &self,
        id: UserId,
        at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE users SET disabled_at = $1 WHERE id = $2";
        self.write_one(Stmt::new(sql).opt_time(at).id(id)).await
    }

    async fn set_email_verified(&self, id: UserId, email: &str) -> Result<bool, StoreError> {
        let sql = "UPDATE users SET email_verified = $1 WHERE id = $2 AND email = $3";
        self.write_one(Stmt::new(sql).flag(true).id(id).text(email))
            .await
    }

    async fn change_email(&self, id: UserId, from: &str, to: &str) -> Result<bool, StoreError> {
        let sql = "UPDATE users SET email = $1, email_verified = $2 WHERE id = $3 AND email = $4";
        let stmt = Stmt::new(sql)
            .text(to)
            .flag(true)
            .id(id)
            .text(from)
            .unique("email");
        self.write_one(stmt).await
    }

    async fn reset_password(&self, id: UserId, email: &str, phc: &str) -> Result<bool, StoreError> {
        let sql =
            "UPDATE users SET password_hash = $1, email_verified = $2 WHERE id = $3 AND email = $4";
        self.write_one(Stmt::new(sql).text(phc).flag(true).id(id).text(email))
            .await
    }

    async fn set_name(&self, id: UserId, name: Option<&str>) -> Result<bool, StoreError> {
        let sql = "UPDATE users SET name = $1 WHERE id = $2";
        self.write_one(Stmt::new(sql).opt_text(name).id(id)).await
    }

    async fn set_roles(&self, id: UserId, roles: &[String]) -> Result<bool, StoreError> {
        let stmt = Stmt::new("UPDATE users SET roles = $1 WHERE id = $2")
            .string(roles_to_json(roles))
            .id(id);
        self.write_one(stmt).await
    }

    async fn delete_user(&self, id: UserId) -> Result<bool, StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.transaction().await?;
        // Refresh tokens go with their families (ON DELETE CASCADE);
        // identities with the user.
        for sql in [
            "DELETE FROM refresh_tokens WHERE family_id IN (SELECT id FROM refresh_families WHERE user_id = $1)",
            "DELETE FROM refresh_families WHERE user_id = $1",
            "DELETE FROM identities WHERE user_id = $1",
            "DELETE FROM mail_tokens WHERE user_id = $1",
            "DELETE FROM mail_queue WHERE user_id = $1",
            "DELETE FROM recovery_codes WHERE user_id = $1",
            "DELETE FROM totp WHERE user_id = $1",
            "DELETE FROM passkeys WHERE user_id = $1",
        ] {
            Stmt::<DB>::new(sql).id(id).execute(&mut *tx).await?;
        }
        let deleted = Stmt::<DB>::new("DELETE FROM users WHERE id = $1")
            .id(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await.map_err(err)?;
        writer.done();
        Ok(deleted == 1)
    }

    async fn search_users(
        &self,
        query: Option<&str>,
        after: Option<(OffsetDateTime, UserId)>,
        limit: u32,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let mut conditions = Vec::new();
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if query.is_some() {
            let (a, b) = (next(), next());
            conditions.push(format!(
                "(email LIKE {a} ESCAPE '\\' OR LOWER(COALESCE(name, '')) LIKE {b} ESCAPE '\\')"
            ));
        }
        if after.is_some() {
            let (at, at_again, id) = (next(), next(), next());
            conditions.push(format!(
                "(created_at > {at} OR (created_at = {at_again} AND id > {id}))"
            ));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let limit_at = next();
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users {filter} ORDER BY created_at, id LIMIT {limit_at}"
        );
        let pattern = query.map(|q| {
            let escaped = q
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
        let mut stmt = Stmt::new(&sql);
        if let Some(p) = &pattern {
            stmt = stmt.text(p).text(p);
        }
        if let Some((at, id)) = after {
            stmt = stmt.time(at).time(at).id(id);
        }
        stmt = stmt.int(i64::from(limit));
        self.read_all(stmt, user_from_row::<DB>).await
    }

    async fn list_users(&self, limit: u32, offset: u32) -> Result<Vec<UserRecord>, StoreError> {
        let sql =
            format!("SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id LIMIT $1 OFFSET $2");
        let stmt = Stmt::new(&sql).int(i64::from(limit)).int(i64::from(offset));
        self.read_all(stmt, user_from_row::<DB>).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read_one(Stmt::new("SELECT 1"), |_| Ok(())).await?;
        Ok(())
    }
}
