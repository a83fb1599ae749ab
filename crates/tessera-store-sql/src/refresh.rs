//! [`RefreshStore`]: refresh-token families and their tokens.
//!
//! Tokens that name their family and generation (the current format, see
//! `tessera_core::tokens`) live in the family's own row: a spend is one
//! conditional UPDATE of that row (generation, live hash, previous hash,
//! times), of columns no index covers. Reuse of an older token is told from
//! its generation (the token's MAC vouches for it), so spent tokens need no
//! rows of their own. How the UPDATE and the read are sent is each
//! backend's ([`Dialect::spend_live_sql`]).
//!
//! Families of the older format (tokens that are 32 random bytes) keep
//! their chain in `refresh_tokens` until it expires: a spend there is one
//! conditional INSERT of one row, the successor, naming the token it
//! replaces (`predecessor`, unique). Of racing spends the unique index lets
//! exactly one in (the others do nothing), and a token is spent exactly
//! when its successor exists. The spent token's `spent_at` and
//! `successor_hash` are the successor's `created_at` and `hash`, read with a
//! join ([`Dialect::spend_sql`]).

use async_trait::async_trait;
use tessera_core::store::{
    CREATED_LOG_LEN, LiveFamily, LiveSpend, RefreshFamily, RefreshHolder, RefreshRecord,
    RefreshStore, Spend, StoreError,
};
use tessera_core::token::TokenHash;
use tessera_core::user::UserId;
use time::OffsetDateTime;

use crate::codec::{err, from_ts};
use crate::db::{Cols, Dialect, SWEEP_BATCH, SqlDb, SqlStore, Stmt};
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

/// The columns of a family that holds its live token, and of its user (if
/// it still exists), from `f` and `u` (after `SELECT`).
macro_rules! live_family_columns {
    () => {
        "f.id AS family_id, f.user_id, f.created_at AS family_created_at, f.absolute_expires_at, f.revoked_at, f.amr AS family_amr, \
         f.generation, f.live_hash, f.live_expires_at, f.previous_hash, f.created_log, \
         u.email AS user_email, u.name AS user_name, u.email_verified AS user_email_verified, \
         u.roles AS user_roles, u.created_at AS user_created_at, u.disabled_at AS user_disabled_at"
    };
}
pub(crate) use live_family_columns;

/// The family whose id is `$1`, with its user (after `SELECT`).
pub(crate) const LIVE_FAMILY: &str = concat!(
    live_family_columns!(),
    " FROM refresh_families f LEFT JOIN users u ON u.id = f.user_id WHERE f.id = $1"
);

/// Makes the successor the live token: `$1` the family, `$2` the presented
/// token's generation, `$3` its hash, `$4` the successor's hash, `$5` now,
/// `$6` the successor's expiry, `$7` now as a creation-log entry
/// ([`log_entry`]). Only for a live family whose live token is the
/// presented one, unexpired; of racing spends exactly one matches (the row
/// lock orders them, and each rechecks the row as the one before left it).
/// The log keeps its newest 32 entries of 11 characters
/// ([`CREATED_LOG_LEN`]).
pub(crate) const SPEND_LIVE_UPDATE: &str = "UPDATE refresh_families SET generation = $2 + 1, live_hash = $4, live_expires_at = $6, previous_hash = $3, \
     created_log = substr($7 || created_log, 1, 352) \
     WHERE id = $1 AND generation = $2 AND live_hash = $3 AND live_expires_at > $5 AND revoked_at IS NULL AND absolute_expires_at > $5";

const _: () = assert!(CREATED_LOG_LEN * 11 == 352, "SPEND_LIVE_UPDATE's 352");

/// One creation-log entry: unix seconds, ten digits, and a space.
fn log_entry(at: OffsetDateTime) -> String {
    format!("{:010} ", at.unix_timestamp())
}

fn log_from(text: &str) -> Result<Vec<OffsetDateTime>, StoreError> {
    text.split_ascii_whitespace()
        .map(|entry| {
            entry
                .parse()
                .map_err(|_| StoreError::Backend(format!("bad creation log entry {entry:?}")))
                .and_then(from_ts)
        })
        .collect()
}

fn family_from_row<DB: SqlDb>(row: &DB::Row) -> Result<RefreshFamily, StoreError> {
    let r = Cols::<DB>(row);
    Ok(RefreshFamily {
        id: r.uuid("family_id")?,
        user_id: UserId(r.uuid("user_id")?),
        created_at: r.time("family_created_at")?,
        absolute_expires_at: r.time("absolute_expires_at")?,
        revoked_at: r.opt_time("revoked_at")?,
        amr: Amr::parse_field(&r.text("family_amr")?),
    })
}

/// The family's user from the `user_*` columns, NULL when the user no
/// longer exists.
fn holder_from_row<DB: SqlDb>(row: &DB::Row) -> Result<Option<RefreshHolder>, StoreError> {
    let r = Cols::<DB>(row);
    Ok(match r.opt_text("user_email")? {
        None => None,
        Some(_) => Some(RefreshHolder {
            user: user_columns::<DB>(row)?,
            disabled_at: r.opt_time("user_disabled_at")?,
        }),
    })
}

fn refresh_from_row<DB: SqlDb>(row: &DB::Row) -> Result<RefreshRecord, StoreError> {
    let r = Cols::<DB>(row);
    Ok(RefreshRecord {
        hash: r.hash("hash")?,
        family: family_from_row::<DB>(row)?,
        created_at: r.time("created_at")?,
        expires_at: r.time("expires_at")?,
        spent_at: r.opt_time("spent_at")?,
        successor: r.opt_hash("successor_hash")?,
        holder: holder_from_row::<DB>(row)?,
    })
}

/// `None` for a family of the older token format (no live token).
fn live_from_row<DB: SqlDb>(row: &DB::Row) -> Result<Option<LiveFamily>, StoreError> {
    let r = Cols::<DB>(row);
    let Some(live) = r.opt_hash("live_hash")? else {
        return Ok(None);
    };
    Ok(Some(LiveFamily {
        family: family_from_row::<DB>(row)?,
        generation: r.int("generation")?,
        live,
        live_expires_at: r.time("live_expires_at")?,
        previous: r.opt_hash("previous_hash")?,
        created: log_from(&r.text("created_log")?)?,
        holder: holder_from_row::<DB>(row)?,
    }))
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
        let mut tx = writer.transaction().await?;
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
        tx.commit().await.map_err(err)?;
        writer.done();
        Ok(())
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
        let answer = self.writer().await?.fetch_optional(spend).await;
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

    async fn create_live_family(
        &self,
        family: &RefreshFamily,
        first: &TokenHash,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO refresh_families (id, user_id, created_at, absolute_expires_at, revoked_at, amr, \
             generation, live_hash, live_expires_at, created_log) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9)";
        self.write(
            Stmt::new(sql)
                .id(family.id)
                .id(family.user_id)
                .time(family.created_at)
                .time(family.absolute_expires_at)
                .opt_time(family.revoked_at)
                .string(family.amr.to_field())
                .hash(first)
                .time(expires_at)
                .string(log_entry(family.created_at)),
        )
        .await
        .map(drop)
    }

    async fn spend_live(
        &self,
        id: uuid::Uuid,
        generation: i64,
        presented: &TokenHash,
        successor: &TokenHash,
        successor_expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<LiveSpend, StoreError> {
        let spend = Stmt::<DB>::new(DB::spend_live_sql())
            .id(id)
            .int(generation)
            .hash(presented)
            .hash(successor)
            .time(now)
            .time(successor_expires_at)
            .string(log_entry(now));
        let row = self.writer().await?.fetch_optional(spend).await?;
        let Some(row) = row else {
            // Not spent by this call (PostgreSQL), or no family (SQLite):
            // read the family as it stands now, after any racing spend that
            // got in first.
            return Ok(LiveSpend::Unchanged(self.find_live_family(id).await?));
        };
        let Some(family) = live_from_row::<DB>(&row)? else {
            return Ok(LiveSpend::Unchanged(None));
        };
        // Both backends answer with the row as this call left it.
        if Cols::<DB>(&row).int("rotated")? == 1 {
            return Ok(LiveSpend::Rotated(family));
        }
        Ok(LiveSpend::Unchanged(Some(family)))
    }

    async fn find_live_family(&self, id: uuid::Uuid) -> Result<Option<LiveFamily>, StoreError> {
        let sql = format!("SELECT {LIVE_FAMILY}");
        Ok(self
            .read_one(Stmt::new(&sql).id(id), live_from_row::<DB>)
            .await?
            .flatten())
    }

    async fn sweep_families(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        // Batches of SWEEP_BATCH rows, each statement its own short write,
        // until one deletes fewer (none left, or only rows another
        // transaction holds, which the next sweep takes). The tokens go
        // first, so deleting the families cascades nothing on SQLite.
        let [tokens, families, orphans] = DB::sweep_families_sql();
        let mut swept = [0; 3];
        for (sql, count) in [tokens, families, orphans].into_iter().zip(&mut swept) {
            let Some(sql) = sql else { continue };
            loop {
                let n = self.write(Stmt::new(sql).time(now)).await?;
                *count += n;
                if n < SWEEP_BATCH {
                    break;
                }
            }
        }
        Ok(swept[1])
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
