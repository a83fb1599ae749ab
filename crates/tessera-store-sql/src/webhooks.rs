//! [`WebhookStore`]: the `webhook_outbox` table (see
//! [`tessera_core::webhook`]). Messages are put in by
//! [`AuditStore::append_event`](tessera_core::store::AuditStore), in the
//! event's transaction (`audit.rs`).

use async_trait::async_trait;
use tessera_core::store::{StoreError, WebhookStore};
use tessera_core::webhook::{OutboxMessage, QueuedWebhook, WebhookState};
use time::OffsetDateTime;

use crate::db::{Cols, SqlDb, SqlStore, Stmt};

const COLUMNS: &str =
    "id, kind, body, created_at, state, attempts, next_attempt_at, delivered_at, last_error";

/// The statement that queues `message`, due at once.
pub(crate) fn enqueue<DB: SqlDb>(message: &OutboxMessage, at: OffsetDateTime) -> Stmt<'_, DB> {
    Stmt::new(
        "INSERT INTO webhook_outbox (id, kind, body, created_at, state, attempts, next_attempt_at) \
         VALUES ($1, $2, $3, $4, 'pending', 0, $5)",
    )
    .text(&message.id)
    .text(message.kind)
    .text(&message.body)
    .time(at)
    .time(at)
    .unique("webhook message")
}

fn from_row<DB: SqlDb>(row: &DB::Row) -> Result<QueuedWebhook, StoreError> {
    let r = Cols::<DB>(row);
    let state = r.text("state")?;
    Ok(QueuedWebhook {
        id: r.text("id")?,
        kind: r.text("kind")?,
        body: r.text("body")?,
        created_at: r.time("created_at")?,
        state: WebhookState::parse(&state)
            .ok_or_else(|| StoreError::Backend(format!("webhook_outbox: bad state {state:?}")))?,
        attempts: u32::try_from(r.int("attempts")?).unwrap_or(u32::MAX),
        next_attempt_at: r.time("next_attempt_at")?,
        delivered_at: r.opt_time("delivered_at")?,
        last_error: r.opt_text("last_error")?,
    })
}

#[async_trait]
impl<DB: SqlDb> WebhookStore for SqlStore<DB> {
    async fn claim_webhooks(
        &self,
        now: OffsetDateTime,
        hold_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<QueuedWebhook>, StoreError> {
        // As the mail queue's claim: the outer condition repeats the inner
        // one, which PostgreSQL rechecks on a row another claim updated
        // meanwhile, so two instances never both take a message (SQLite
        // has one writer at a time anyway).
        let due = "state = 'pending' AND next_attempt_at <= $2 \
                   AND (locked_until IS NULL OR locked_until <= $2)";
        let sql = format!(
            "UPDATE webhook_outbox SET locked_until = $1, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM webhook_outbox WHERE {due} ORDER BY next_attempt_at LIMIT $3) \
             AND {due} RETURNING {COLUMNS}"
        );
        let stmt = Stmt::<DB>::new(&sql)
            .time(hold_until)
            .time(now)
            .int(i64::from(limit));
        let rows = self.writer().await?.fetch_all(stmt).await?;
        rows.iter().map(from_row::<DB>).collect()
    }

    async fn webhook_delivered(&self, id: &str, at: OffsetDateTime) -> Result<(), StoreError> {
        let sql = "UPDATE webhook_outbox SET state = 'delivered', delivered_at = $1, \
                   locked_until = NULL, last_error = NULL WHERE id = $2";
        self.write(Stmt::new(sql).time(at).text(id)).await?;
        Ok(())
    }

    async fn webhook_failed(
        &self,
        id: &str,
        retry_at: Option<OffsetDateTime>,
        error: &str,
    ) -> Result<(), StoreError> {
        let error: String = error.chars().take(500).collect();
        // A message delivered meanwhile (by a sender that held it after
        // this one's hold ran out) stays delivered.
        let stmt = match retry_at {
            Some(at) => Stmt::new(
                "UPDATE webhook_outbox SET locked_until = NULL, next_attempt_at = $1, \
                 last_error = $2 WHERE id = $3 AND state = 'pending'",
            )
            .time(at),
            None => Stmt::new(
                "UPDATE webhook_outbox SET state = 'failed', locked_until = NULL, \
                 last_error = $1 WHERE id = $2 AND state = 'pending'",
            ),
        };
        self.write(stmt.string(error).text(id)).await?;
        Ok(())
    }

    async fn list_webhooks(
        &self,
        state: Option<WebhookState>,
        limit: u32,
    ) -> Result<Vec<QueuedWebhook>, StoreError> {
        let stmt = match state {
            Some(s) => Stmt::new(
                "SELECT id, kind, body, created_at, state, attempts, next_attempt_at, delivered_at, last_error \
                 FROM webhook_outbox WHERE state = $1 ORDER BY created_at DESC, id LIMIT $2",
            )
            .text(s.as_str()),
            None => Stmt::new(
                "SELECT id, kind, body, created_at, state, attempts, next_attempt_at, delivered_at, last_error \
                 FROM webhook_outbox ORDER BY created_at DESC, id LIMIT $1",
            ),
        };
        self.read_all(stmt.int(i64::from(limit)), from_row::<DB>)
            .await
    }

    async fn retry_webhooks(
        &self,
        id: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let set = "SET state = 'pending', next_attempt_at = $1, locked_until = NULL";
        if let Some(id) = id {
            let sql = format!("UPDATE webhook_outbox {set} WHERE id = $2");
            self.write(Stmt::new(&sql).time(now).text(id)).await
        } else {
            let sql = format!("UPDATE webhook_outbox {set} WHERE state = 'failed'");
            self.write(Stmt::new(&sql).time(now)).await
        }
    }

    async fn prune_webhooks(
        &self,
        delivered_before: OffsetDateTime,
        queued_before: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        self.write(
            Stmt::new(
                "DELETE FROM webhook_outbox WHERE (state = 'delivered' AND delivered_at < $1) \
                 OR created_at < $2",
            )
            .time(delivered_before)
            .time(queued_before),
        )
        .await
    }

    async fn webhook_backlog(&self) -> Result<(u64, u64, Option<OffsetDateTime>), StoreError> {
        let stmt = Stmt::<DB>::new(
            "SELECT \
             COUNT(CASE WHEN state = 'pending' THEN 1 END) AS pending, \
             COUNT(CASE WHEN state = 'failed' THEN 1 END) AS failed, \
             MIN(CASE WHEN state = 'pending' THEN created_at END) AS oldest \
             FROM webhook_outbox WHERE state <> 'delivered'",
        );
        let row = self.reader().await?.fetch_optional(stmt).await?;
        let Some(row) = row else {
            return Ok((0, 0, None));
        };
        let r = Cols::<DB>(&row);
        let count = |c| r.int(c).map(|n| u64::try_from(n).unwrap_or(0));
        Ok((count("pending")?, count("failed")?, r.opt_time("oldest")?))
    }
}
