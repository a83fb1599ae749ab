//! [`MailStore`]: mail tokens and the mail queue.

use async_trait::async_trait;
use tessera_core::mail::{MailJob, MailToken, QueuedMail, TokenPurpose};
use tessera_core::store::{MailStore, StoreError};
use tessera_core::token::TokenHash;
use tessera_core::user::UserId;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::codec::err;
use crate::db::{Cols, SqlDb, SqlStore, Stmt};

const QUEUE_COLUMNS: &str = "id, kind, user_id, address, other, created_at, attempts";

fn queued_from_row<DB: SqlDb>(row: &DB::Row) -> Result<QueuedMail, StoreError> {
    let r = Cols::<DB>(row);
    let kind = r.text("kind")?;
    let user_id = match r.opt_text("user_id")? {
        Some(id) => Some(UserId(crate::codec::uuid(&id)?)),
        None => None,
    };
    let job = MailJob::from_parts(&kind, user_id, r.text("address")?, r.opt_text("other")?)
        .ok_or_else(|| StoreError::Backend(format!("mail_queue: bad job of kind {kind:?}")))?;
    Ok(QueuedMail {
        id: r.uuid("id")?,
        job,
        created_at: r.time("created_at")?,
        attempts: u32::try_from(r.int("attempts")?).unwrap_or(u32::MAX),
    })
}

fn token_from_row<DB: SqlDb>(row: &DB::Row) -> Result<MailToken, StoreError> {
    let r = Cols::<DB>(row);
    let purpose = r.text("purpose")?;
    Ok(MailToken {
        hash: r.hash("hash")?,
        purpose: TokenPurpose::parse(&purpose)
            .ok_or_else(|| StoreError::Backend(format!("mail_tokens: bad purpose {purpose:?}")))?,
        user_id: UserId(r.uuid("user_id")?),
        address: r.text("address")?,
        created_at: r.time("created_at")?,
        expires_at: r.time("expires_at")?,
    })
}

#[async_trait]
impl<DB: SqlDb> MailStore for SqlStore<DB> {
    async fn enqueue_mail(&self, job: &MailJob, now: OffsetDateTime) -> Result<(), StoreError> {
        let stmt = Stmt::new(
            "INSERT INTO mail_queue (id, kind, user_id, address, other, created_at, attempts, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 0, $7)",
        )
        .id(Uuid::new_v4())
        .text(job.kind())
        .opt_id(job.user_id())
        .text(job.to())
        .opt_text(job.other())
        .time(now)
        .time(now);
        self.write(stmt).await?;
        Ok(())
    }

    async fn claim_mail(
        &self,
        now: OffsetDateTime,
        hold_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        // The outer condition repeats the inner one: PostgreSQL rechecks it
        // on a row another claim updated meanwhile, so two instances never
        // both take a mail (SQLite has one writer at a time anyway).
        let sql = format!(
            "UPDATE mail_queue SET locked_until = $1, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM mail_queue WHERE next_attempt_at <= $2 \
             AND (locked_until IS NULL OR locked_until <= $2) ORDER BY next_attempt_at LIMIT $3) \
             AND (locked_until IS NULL OR locked_until <= $2) RETURNING {QUEUE_COLUMNS}"
        );
        let stmt = Stmt::<DB>::new(&sql)
            .time(hold_until)
            .time(now)
            .int(i64::from(limit));
        let rows = self.writer().await?.fetch_all(stmt).await?;
        rows.iter().map(queued_from_row::<DB>).collect()
    }

    async fn mail_done(&self, id: Uuid) -> Result<(), StoreError> {
        self.write(Stmt::new("DELETE FROM mail_queue WHERE id = $1").id(id))
            .await?;
        Ok(())
    }

    async fn mail_failed(
        &self,
        id: Uuid,
        retry_at: OffsetDateTime,
        error: &str,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE mail_queue SET locked_until = NULL, next_attempt_at = $1, last_error = $2 WHERE id = $3";
        let error: String = error.chars().take(500).collect();
        self.write(Stmt::new(sql).time(retry_at).string(error).id(id))
            .await?;
        Ok(())
    }

    async fn mail_backlog(&self) -> Result<(u64, Option<OffsetDateTime>), StoreError> {
        let stmt =
            Stmt::<DB>::new("SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM mail_queue");
        let row = self.reader().await?.fetch_optional(stmt).await?;
        let Some(row) = row else { return Ok((0, None)) };
        let r = Cols::<DB>(&row);
        Ok((
            u64::try_from(r.int("n")?).unwrap_or(0),
            r.opt_time("oldest")?,
        ))
    }

    async fn insert_mail_token(&self, token: &MailToken, replace: bool) -> Result<(), StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.transaction().await?;
        if replace {
            Stmt::<DB>::new("DELETE FROM mail_tokens WHERE user_id = $1 AND purpose = $2")
                .id(token.user_id)
                .text(token.purpose.as_str())
                .execute(&mut *tx)
                .await?;
        }
        Stmt::<DB>::new(
            "INSERT INTO mail_tokens (hash, purpose, user_id, address, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .hash(&token.hash)
        .text(token.purpose.as_str())
        .id(token.user_id)
        .text(&token.address)
        .time(token.created_at)
        .time(token.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await.map_err(err)?;
        writer.done();
        Ok(())
    }

    async fn take_mail_token(
        &self,
        hash: &TokenHash,
        purpose: TokenPurpose,
    ) -> Result<Option<MailToken>, StoreError> {
        let stmt = Stmt::<DB>::new(
            "DELETE FROM mail_tokens WHERE hash = $1 AND purpose = $2 \
             RETURNING hash, purpose, user_id, address, created_at, expires_at",
        )
        .hash(hash)
        .text(purpose.as_str());
        let row = self.writer().await?.fetch_optional(stmt).await?;
        row.as_ref().map(token_from_row::<DB>).transpose()
    }

    async fn delete_mail_tokens(
        &self,
        user: UserId,
        purpose: Option<TokenPurpose>,
    ) -> Result<u64, StoreError> {
        match purpose {
            Some(p) => {
                self.write(
                    Stmt::new("DELETE FROM mail_tokens WHERE user_id = $1 AND purpose = $2")
                        .id(user)
                        .text(p.as_str()),
                )
                .await
            }
            None => {
                self.write(Stmt::new("DELETE FROM mail_tokens WHERE user_id = $1").id(user))
                    .await
            }
        }
    }

    async fn sweep_mail_tokens(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.write(Stmt::new("DELETE FROM mail_tokens WHERE expires_at <= $1").time(now))
            .await
    }
}
