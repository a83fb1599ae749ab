//! [`IdentityStore`]: provider identities linked to users.

use async_trait::async_trait;
use tessera_core::identity::Identity;
use tessera_core::store::{IdentityStore, StoreError, Unlink};
use tessera_core::user::{NewUser, UserId};

use crate::codec::err;
use crate::db::{Cols, SqlDb, SqlStore, Stmt, end};
use crate::users::insert_user;

const IDENTITY_COLUMNS: &str = "provider, subject, user_id, email, created_at";

fn insert_identity<DB: SqlDb>(identity: &Identity) -> Stmt<'_, DB> {
    Stmt::<DB>::new(
        "INSERT INTO identities (provider, subject, user_id, email, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .text(&identity.provider)
    .text(&identity.subject)
    .id(identity.user_id)
    .opt_text(identity.email.as_deref())
    .time(identity.created_at)
    .unique("identity")
}

fn identity_from_row<DB: SqlDb>(row: &DB::Row) -> Result<Identity, StoreError> {
    let r = Cols::<DB>(row);
    Ok(Identity {
        provider: r.text("provider")?,
        subject: r.text("subject")?,
        user_id: UserId(r.uuid("user_id")?),
        email: r.opt_text("email")?,
        created_at: r.time("created_at")?,
    })
}

#[async_trait]
impl<DB: SqlDb> IdentityStore for SqlStore<DB> {
    async fn insert_identity(&self, identity: &Identity) -> Result<(), StoreError> {
        self.writer()
            .await?
            .execute(insert_identity::<DB>(identity))
            .await?;
        Ok(())
    }

    async fn find_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<Identity>, StoreError> {
        let sql = format!(
            "SELECT {IDENTITY_COLUMNS} FROM identities WHERE provider = $1 AND subject = $2"
        );
        let stmt = Stmt::new(&sql).text(provider).text(subject);
        self.read_one(stmt, identity_from_row::<DB>).await
    }

    async fn list_identities(&self, user: UserId) -> Result<Vec<Identity>, StoreError> {
        let sql = format!(
            "SELECT {IDENTITY_COLUMNS} FROM identities WHERE user_id = $1 ORDER BY created_at, provider"
        );
        self.read_all(Stmt::new(&sql).id(user), identity_from_row::<DB>)
            .await
    }

    async fn delete_identity(&self, user: UserId, provider: &str) -> Result<Unlink, StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.transaction().await?;
        // Writing the user's row first serialises concurrent unlinks of the
        // same user (a row lock in PostgreSQL, the one writer in SQLite), so
        // the count below cannot be stale.
        let locked =
            Stmt::<DB>::new("UPDATE users SET id = id WHERE id = $1 RETURNING password_hash")
                .id(user)
                .fetch_optional(&mut *tx)
                .await?;
        // Early answers roll back before the writer (and on SQLite its write
        // turn) is given back: a dropped transaction's ROLLBACK would only be
        // queued, and the next writer could find the lock still held.
        let Some(row) = locked else {
            tx.rollback().await.map_err(err)?;
            writer.done();
            return Ok(Unlink::NotLinked);
        };
        let has_password = Cols::<DB>(&row).opt_text("password_hash")?.is_some();
        let providers = Stmt::<DB>::new("SELECT provider FROM identities WHERE user_id = $1")
            .id(user)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| Cols::<DB>(r).text("provider"))
            .collect::<Result<Vec<_>, _>>()?;
        if !providers.iter().any(|p| p == provider) {
            tx.rollback().await.map_err(err)?;
            writer.done();
            return Ok(Unlink::NotLinked);
        }
        let passkeys = Stmt::<DB>::new("SELECT COUNT(*) AS n FROM passkeys WHERE user_id = $1")
            .id(user)
            .fetch_optional(&mut *tx)
            .await?
            .map_or(Ok(0), |r| Cols::<DB>(&r).int("n"))?;
        if !has_password && providers.len() == 1 && passkeys == 0 {
            tx.rollback().await.map_err(err)?;
            writer.done();
            return Ok(Unlink::LastWayIn);
        }
        Stmt::<DB>::new("DELETE FROM identities WHERE user_id = $1 AND provider = $2")
            .id(user)
            .text(provider)
            .execute(&mut *tx)
            .await?;
        tx.commit().await.map_err(err)?;
        writer.done();
        Ok(Unlink::Deleted)
    }

    async fn insert_user_with_identity(
        &self,
        rec: &NewUser,
        identity: &Identity,
    ) -> Result<(), StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.transaction().await?;
        let written = async {
            insert_user::<DB>(rec).execute(&mut *tx).await?;
            insert_identity::<DB>(identity).execute(&mut *tx).await
        }
        .await;
        // A taken email or identity is rolled back.
        let answer = end(tx, written).await?;
        writer.done();
        answer.map(drop)
    }
}
