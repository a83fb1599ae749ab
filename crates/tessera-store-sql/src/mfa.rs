//! [`MfaStore`]: TOTP, recovery codes and passkeys; and [`ChallengeStore`]
//! (the `challenges` table), used when no Redis holds sessions.

use async_trait::async_trait;
use tessera_core::mfa::{PasskeyRecord, TotpRecord};
use tessera_core::store::{ChallengeStore, MfaStore, StoreError, Unlink};
use tessera_core::token::TokenHash;
use tessera_core::user::UserId;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::codec::err;
use crate::db::{Cols, SqlDb, SqlStore, Stmt};

fn totp_from_row<DB: SqlDb>(row: &DB::Row) -> Result<TotpRecord, StoreError> {
    let r = Cols::<DB>(row);
    Ok(TotpRecord {
        user_id: UserId(r.uuid("user_id")?),
        sealed_secret: r.blob("sealed_secret")?,
        enabled_at: r.opt_time("enabled_at")?,
        last_step: DB::get_int(row, "last_step").map_err(err)?,
        created_at: r.time("created_at")?,
    })
}

const PASSKEY_COLUMNS: &str = "id, user_id, credential_id, data, name, sign_count, backup_eligible, \
     backup_state, created_at, last_used_at";

fn passkey_from_row<DB: SqlDb>(row: &DB::Row) -> Result<PasskeyRecord, StoreError> {
    let r = Cols::<DB>(row);
    Ok(PasskeyRecord {
        id: r.uuid("id")?,
        user_id: UserId(r.uuid("user_id")?),
        credential_id: r.blob("credential_id")?,
        data: r.text("data")?,
        name: r.text("name")?,
        sign_count: u32::try_from(r.int("sign_count")?).unwrap_or(u32::MAX),
        backup_eligible: r.flag("backup_eligible")?,
        backup_state: r.flag("backup_state")?,
        created_at: r.time("created_at")?,
        last_used_at: r.opt_time("last_used_at")?,
    })
}

#[async_trait]
impl<DB: SqlDb> MfaStore for SqlStore<DB> {
    async fn find_totp(&self, user: UserId) -> Result<Option<TotpRecord>, StoreError> {
        let stmt = Stmt::new(
            "SELECT user_id, sealed_secret, enabled_at, last_step, created_at FROM totp WHERE user_id = $1",
        )
        .id(user);
        self.read_one(stmt, totp_from_row::<DB>).await
    }

    async fn put_pending_totp(
        &self,
        user: UserId,
        sealed_secret: &[u8],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.transaction().await?;
        Stmt::<DB>::new("DELETE FROM totp WHERE user_id = $1 AND enabled_at IS NULL")
            .id(user)
            .execute(&mut *tx)
            .await?;
        // An enabled row stays, and this insert then changes nothing.
        let inserted = Stmt::<DB>::new(
            "INSERT INTO totp (user_id, sealed_secret, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO NOTHING",
        )
        .id(user)
        .blob(sealed_secret)
        .time(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await.map_err(err)?;
        writer.done();
        Ok(inserted == 1)
    }

    async fn enable_totp(
        &self,
        user: UserId,
        sealed_secret: &[u8],
        step: i64,
        recovery_codes: &[TokenHash],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.transaction().await?;
        let enabled = Stmt::<DB>::new(
            "UPDATE totp SET enabled_at = $1, last_step = $2 \
             WHERE user_id = $3 AND enabled_at IS NULL AND sealed_secret = $4",
        )
        .time(now)
        .int(step)
        .id(user)
        .blob(sealed_secret)
        .execute(&mut *tx)
        .await?;
        if enabled != 1 {
            tx.rollback().await.map_err(err)?;
            writer.done();
            return Ok(false);
        }
        replace_codes::<DB>(&mut tx, user, recovery_codes, now).await?;
        tx.commit().await.map_err(err)?;
        writer.done();
        Ok(true)
    }

    async fn use_totp_step(&self, user: UserId, step: i64) -> Result<bool, StoreError> {
        let stmt = Stmt::new(
            "UPDATE totp SET last_step = $1 WHERE user_id = $2 AND enabled_at IS NOT NULL \
             AND (last_step IS NULL OR last_step < $1)",
        )
        .int(step)
        .id(user);
        self.write_one(stmt).await
    }

    async fn delete_totp(&self, user: UserId) -> Result<bool, StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.transaction().await?;
        Stmt::<DB>::new("DELETE FROM recovery_codes WHERE user_id = $1")
            .id(user)
            .execute(&mut *tx)
            .await?;
        let deleted = Stmt::<DB>::new("DELETE FROM totp WHERE user_id = $1")
            .id(user)
            .execute(&mut *tx)
            .await?;
        tx.commit().await.map_err(err)?;
        writer.done();
        Ok(deleted == 1)
    }

    async fn replace_recovery_codes(
        &self,
        user: UserId,
        codes: &[TokenHash],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.transaction().await?;
        replace_codes::<DB>(&mut tx, user, codes, now).await?;
        tx.commit().await.map_err(err)?;
        writer.done();
        Ok(())
    }

    async fn use_recovery_code(&self, user: UserId, code: &TokenHash) -> Result<bool, StoreError> {
        let stmt = Stmt::new("DELETE FROM recovery_codes WHERE user_id = $1 AND hash = $2")
            .id(user)
            .hash(code);
        self.write_one(stmt).await
    }

    async fn recovery_codes_left(&self, user: UserId) -> Result<u64, StoreError> {
        let stmt =
            Stmt::new("SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1").id(user);
        let n = self
            .read_one(stmt, |row| Cols::<DB>(row).int("n"))
            .await?
            .unwrap_or(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn insert_passkey(&self, p: &PasskeyRecord) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO passkeys ({PASSKEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        );
        let stmt = Stmt::new(&sql)
            .id(p.id)
            .id(p.user_id)
            .blob(&p.credential_id)
            .text(&p.data)
            .text(&p.name)
            .int(i64::from(p.sign_count))
            .flag(p.backup_eligible)
            .flag(p.backup_state)
            .time(p.created_at)
            .opt_time(p.last_used_at)
            .unique("passkey");
        self.write(stmt).await?;
        Ok(())
    }

    async fn list_passkeys(&self, user: UserId) -> Result<Vec<PasskeyRecord>, StoreError> {
        let sql = format!(
            "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, id"
        );
        self.read_all(Stmt::new(&sql).id(user), passkey_from_row::<DB>)
            .await
    }

    async fn find_passkey(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<PasskeyRecord>, StoreError> {
        let sql = format!("SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE credential_id = $1");
        self.read_one(Stmt::new(&sql).blob(credential_id), passkey_from_row::<DB>)
            .await
    }

    async fn passkey_used(
        &self,
        id: Uuid,
        data: &str,
        sign_count: u32,
        backup_state: bool,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let stmt = Stmt::new(
            "UPDATE passkeys SET data = $1, sign_count = $2, backup_state = $3, last_used_at = $4 WHERE id = $5",
        )
        .text(data)
        .int(i64::from(sign_count))
        .flag(backup_state)
        .time(at)
        .id(id);
        self.write_one(stmt).await
    }

    async fn rename_passkey(&self, user: UserId, id: Uuid, name: &str) -> Result<bool, StoreError> {
        let stmt = Stmt::new("UPDATE passkeys SET name = $1 WHERE id = $2 AND user_id = $3")
            .text(name)
            .id(id)
            .id(user);
        self.write_one(stmt).await
    }

    async fn delete_passkey(&self, user: UserId, id: Uuid) -> Result<Unlink, StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.transaction().await?;
        // Writing the user's row first serialises concurrent removals of
        // the user's ways in (see `identities.rs`).
        let locked =
            Stmt::<DB>::new("UPDATE users SET id = id WHERE id = $1 RETURNING password_hash")
                .id(user)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(row) = locked else {
            tx.rollback().await.map_err(err)?;
            writer.done();
            return Ok(Unlink::NotLinked);
        };
        let has_password = Cols::<DB>(&row).opt_text("password_hash")?.is_some();
        let counts = Stmt::<DB>::new(
            "SELECT (SELECT COUNT(*) FROM identities WHERE user_id = $1) AS identities, \
             (SELECT COUNT(*) FROM passkeys WHERE user_id = $1) AS passkeys, \
             (SELECT COUNT(*) FROM passkeys WHERE user_id = $1 AND id = $2) AS this",
        )
        .id(user)
        .id(id)
        .fetch_optional(&mut *tx)
        .await?;
        let (identities, passkeys, this) = match &counts {
            Some(row) => {
                let r = Cols::<DB>(row);
                (r.int("identities")?, r.int("passkeys")?, r.int("this")?)
            }
            None => (0, 0, 0),
        };
        if this == 0 {
            tx.rollback().await.map_err(err)?;
            writer.done();
            return Ok(Unlink::NotLinked);
        }
        if !has_password && identities == 0 && passkeys == 1 {
            tx.rollback().await.map_err(err)?;
            writer.done();
            return Ok(Unlink::LastWayIn);
        }
        Stmt::<DB>::new("DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
            .id(id)
            .id(user)
            .execute(&mut *tx)
            .await?;
        tx.commit().await.map_err(err)?;
        writer.done();
        Ok(Unlink::Deleted)
    }
}

async fn replace_codes<DB: SqlDb>(
    tx: &mut DB::Connection,
    user: UserId,
    codes: &[TokenHash],
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    Stmt::<DB>::new("DELETE FROM recovery_codes WHERE user_id = $1")
        .id(user)
        .execute(tx)
        .await?;
    for code in codes {
        Stmt::<DB>::new(
            "INSERT INTO recovery_codes (user_id, hash, created_at) VALUES ($1, $2, $3)",
        )
        .id(user)
        .hash(code)
        .time(now)
        .execute(tx)
        .await?;
    }
    Ok(())
}

#[async_trait]
impl<DB: SqlDb> ChallengeStore for SqlStore<DB> {
    async fn put_challenge(
        &self,
        key: &TokenHash,
        value: &[u8],
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let stmt =
            Stmt::new("INSERT INTO challenges (hash, value, expires_at) VALUES ($1, $2, $3)")
                .hash(key)
                .blob(value)
                .time(expires_at)
                .unique("challenge");
        self.write(stmt).await?;
        Ok(())
    }

    async fn find_challenge(
        &self,
        key: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let stmt = Stmt::new("SELECT value FROM challenges WHERE hash = $1 AND expires_at > $2")
            .hash(key)
            .time(now);
        self.read_one(stmt, |row| Cols::<DB>(row).blob("value"))
            .await
    }

    async fn take_challenge(
        &self,
        key: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let stmt =
            Stmt::<DB>::new("DELETE FROM challenges WHERE hash = $1 RETURNING value, expires_at")
                .hash(key);
        let row = self.writer().await?.fetch_optional(stmt).await?;
        let Some(row) = row else { return Ok(None) };
        let r = Cols::<DB>(&row);
        Ok((r.time("expires_at")? > now)
            .then(|| r.blob("value"))
            .transpose()?)
    }

    async fn sweep_challenges(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.write(Stmt::new("DELETE FROM challenges WHERE expires_at <= $1").time(now))
            .await
    }
}
