//! [`RefreshStore`]: refresh-token families and their tokens.
//!
//! A spend is one conditional INSERT of one row: the successor, naming the
//! token it replaces (`predecessor`, unique). Of racing spends the unique
//! index lets exactly one in (the others do nothing), and a token is spent
//! exactly when its successor exists, so no one ever sees a spent token
//! without its successor. The spent token's row is not written: its
//! `spent_at` and `successor_hash` are the successor's `created_at` and
//! `hash`, read with a join. (A family row holding the live token's hash
//! would make the spend one UPDATE too, but reuse detection must still find
//! every spent token of the family, so each rotation would also write the
//! spent token somewhere: two rows.) How the INSERT and the read are sent
//! is each backend's ([`Dialect::spend_sql`]): each round trip to the
//! database costs more than the statements themselves.

use async_trait::async_trait;
use sqlx::Connection;
use tessera_core::store::{
    RefreshFamily, RefreshHolder, RefreshRecord, RefreshStore, Spend, StoreError,
};
use tessera_core::token::TokenHash;
use tessera_core::user::UserId;
use time::OffsetDateTime;

use crate::codec::err;
use crate::db::{Cols, Dialect, SqlDb, SqlStore, Stmt};
use crate::users::user_columns;
use tessera_core::mfa::Amr;

/// Spends a live refresh token by inserting its successor: `$1` the
/// presented token's hash, `$2` now, `$3` the successor's hash, `$4` its
/// expiry. Inserts only for an unexpired token of a live family, and (the
/// unique `predecessor`) only if no successor names it yet: of racing spends
/// exactly one inserts a row.
pub(crate) const SPEND_INSERT: &str = "INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at, predecessor) \
     SELECT $3, t.family_id, $2, $4, t.hash FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id \
     WHERE t.hash = $1 AND t.expires_at > $2 AND f.revoked_at IS NULL AND f.absolute_expires_at > $2 \
     ON CONFLICT DO NOTHING";

/// The columns of a refresh record, its family and the family's user (if
/// it still exists), for the token whose hash is `$1` (after `SELECT`). A
/// token is spent when its successor exists, at the successor's creation.
pub(crate) const REFRESH_RECORD: &str = "t.hash, t.created_at, t.expires_at, s.created_at AS spent_at, s.hash AS successor_hash, \
     f.id AS family_id, f.user_id, f.created_at AS family_created_at, f.absolute_expires_at, f.revoked_at, f.amr AS family_amr, \
     u.email AS user_email, u.name AS user_name, u.email_verified AS user_email_verified, \
     u.roles AS user_roles, u.created_at AS user_created_at, u.disabled_at AS user_disabled_at \
     FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id \
     LEFT JOIN refresh_tokens s ON s.predecessor = t.hash \
     LEFT JOIN users u ON u.id = f.user_id WHERE t.hash = $1";

fn refresh_from_row<DB: SqlDb>(row: &DB::Row) -> Result<RefreshRecord, StoreError> {
    let r = Cols::<DB>(row);
    Ok(RefreshRecord {
        hash: r.hash("hash")?,
        family: RefreshFamily {
            id: r.uuid("family_id")?,
            user_id: UserId(r.uuid("user_id")?),
            created_at: r.time("family_created_at")?,
            absolute_expires_at: r.time("absolute_expires_at")?,
            revoked_at: r.opt_time("revoked_at")?,
            amr: Amr::parse_field(&r.text("family_amr")?),
        },
        created_at: r.time("created_at")?,
        expires_at: r.time("expires_at")?,
        spent_at: r.opt_time("spent_at")?,
        successor: r.opt_hash("successor_hash")?,
        // The user's columns are NULL when the user no longer exists.
        holder: match r.opt_text("user_email")? {
            None => None,
            Some(_) => Some(RefreshHolder {
                user: user_columns::<DB>(row)?,
                disabled_at: r.opt_time("user_disabled_at")?,
            }),
        },
    })
}

#[async_trait]
impl<DB: Dialect> RefreshStore for SqlStore<DB> {
    async fn create_family(
        &self,
        family: &RefreshFamily,
        first: &TokenHash,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await.map_err(err)?;
        Stmt::<DB>::new(
            "INSERT INTO refresh_families (id, user_id, created_at, absolute_expires_at, revoked_at, amr) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .id(family.id)
        .id(family.user_id)
        .time(family.created_at)
        .time(family.absolute_expires_at)
        .opt_time(family.revoked_at)
        .string(family.amr.to_field())
        .execute(&mut *tx)
        .await?;
        Stmt::<DB>::new(
            "INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .hash(first)
        .id(family.id)
        .time(family.created_at)
        .time(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await.map_err(err)
    }

    async fn spend_refresh(
        &self,
        presented: &TokenHash,
        successor: &TokenHash,
        successor_expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Spend, StoreError> {
        let spend = Stmt::<DB>::new(DB::spend_sql())
            .hash(presented)
            .time(now)
            .hash(successor)
            .time(successor_expires_at)
            .unique("refresh token");
        let answer = spend.fetch_optional(&mut *self.writer().await?).await;
        let row = match answer {
            Ok(row) => row,
            // PostgreSQL: a racing spend inserted the same successor and
            // committed first. Read the token as it stands now.
            Err(StoreError::Conflict(_)) => {
                return Ok(Spend::Unchanged(self.find_refresh(presented).await?));
            }
            Err(e) => return Err(e),
        };
        // Unknown: final (a token reaches its holder only after the
        // statement that created it committed, so every later read has it).
        let Some(row) = row else {
            return Ok(Spend::Unchanged(None));
        };
        let mut record = refresh_from_row::<DB>(&row)?;
        if Cols::<DB>(&row).int("rotated")? == 1 {
            // PostgreSQL's one statement reads the rows as they were before
            // its own INSERT: fill in what this spend wrote.
            record.spent_at = Some(now);
            record.successor = Some(*successor);
            return Ok(Spend::Rotated(record));
        }
        if record.spent_at.is_some() {
            // Spent before this call: final (a replay).
            return Ok(Spend::Unchanged(Some(record)));
        }
        // Unspent as read, yet not spent by this call: expired, a revoked
        // family, or (SQLite's `ON CONFLICT DO NOTHING`) a racing spend that
        // got in first. Read it as it stands now.
        Ok(Spend::Unchanged(self.find_refresh(presented).await?))
    }

    async fn find_refresh(&self, hash: &TokenHash) -> Result<Option<RefreshRecord>, StoreError> {
        let sql = format!("SELECT {REFRESH_RECORD}");
        self.read_one(Stmt::new(&sql).hash(hash), refresh_from_row::<DB>)
            .await
    }

    async fn revoke_family(&self, id: uuid::Uuid, at: OffsetDateTime) -> Result<bool, StoreError> {
        let sql =
            "UPDATE refresh_families SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";
        self.write_one(Stmt::new(sql).time(at).id(id)).await
    }

    async fn revoke_user_families(
        &self,
        user: UserId,
        at: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let sql =
            "UPDATE refresh_families SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL";
        self.write(Stmt::new(sql).time(at).id(user)).await
    }

    async fn claim_exchanged(
        &self,
        hash: &TokenHash,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        // One statement decides: a new row, or taking over a mark that has
        // expired; a live mark changes nothing.
        let sql = "INSERT INTO exchanged_tokens (hash, expires_at) VALUES ($1, $2) \
             ON CONFLICT (hash) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE exchanged_tokens.expires_at <= $3";
        self.write_one(Stmt::new(sql).hash(hash).time(until).time(now))
            .await
    }

    async fn sweep_exchanged(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let sql = "DELETE FROM exchanged_tokens WHERE expires_at <= $1";
        self.write(Stmt::new(sql).time(now)).await
    }
}
