//! [`AuditStore`]: the `audit_events` table.

use async_trait::async_trait;
use tessera_core::audit::{Actor, AuditEvent, AuditQuery, EventKind};
use tessera_core::store::{AuditStore, StoreError};
use tessera_core::user::UserId;
use time::OffsetDateTime;

use tessera_core::webhook::OutboxMessage;

use crate::db::{Cols, SqlDb, SqlStore, Stmt, end};

const COLUMNS: &str = "id, at, kind, user_id, actor, ip, user_agent, detail";

fn event_from_row<DB: SqlDb>(row: &DB::Row) -> Result<AuditEvent, StoreError> {
    let r = Cols::<DB>(row);
    let bad = |what: &str, v: &str| StoreError::Backend(format!("audit_events: bad {what} {v:?}"));
    let kind = r.text("kind")?;
    let actor = r.text("actor")?;
    let detail = r.text("detail")?;
    Ok(AuditEvent {
        seq: r.int("seq")?,
        id: r.uuid("id")?,
        at: r.time("at")?,
        kind: EventKind::parse(&kind).ok_or_else(|| bad("kind", &kind))?,
        user_id: match r.opt_text("user_id")? {
            Some(id) => Some(UserId(crate::codec::uuid(&id)?)),
            None => None,
        },
        actor: Actor::parse_field(&actor).ok_or_else(|| bad("actor", &actor))?,
        ip: r.opt_text("ip")?,
        user_agent: r.opt_text("user_agent")?,
        detail: serde_json::from_str(&detail).map_err(|_| bad("detail", &detail))?,
    })
}

#[async_trait]
impl<DB: SqlDb> AuditStore for SqlStore<DB> {
    async fn append_event(
        &self,
        e: &AuditEvent,
        webhook: Option<&OutboxMessage>,
    ) -> Result<(), StoreError> {
        let sql =
            format!("INSERT INTO audit_events ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");
        let stmt = Stmt::<DB>::new(&sql)
            .id(e.id)
            .time(e.at)
            .text(e.kind.as_str())
            .opt_id(e.user_id)
            .string(e.actor.to_field())
            .opt_text(e.ip.as_deref())
            .opt_text(e.user_agent.as_deref())
            .string(e.detail.to_string())
            .unique("audit event");
        let Some(message) = webhook else {
            self.write(stmt).await?;
            return Ok(());
        };
        // The event and its message, or neither: a crash between two
        // commits would log an event that is never sent.
        let mut writer = self.writer().await?;
        let mut tx = writer.transaction().await?;
        let written = async {
            stmt.execute(&mut *tx).await?;
            crate::webhooks::enqueue::<DB>(message, e.at)
                .execute(&mut *tx)
                .await
        }
        .await;
        // A refused statement (a taken id) is rolled back.
        let answer = end(tx, written).await?;
        writer.done();
        answer.map(drop)
    }

    async fn list_events(&self, q: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        // Placeholders are numbered in the order the conditions are added,
        // and bound in the same order below.
        let mut conditions = Vec::new();
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if q.user.is_some() {
            conditions.push(format!("user_id = {}", next()));
        }
        if q.kind.is_some() {
            conditions.push(format!("kind = {}", next()));
        }
        if q.since.is_some() {
            conditions.push(format!("at >= {}", next()));
        }
        if q.before.is_some() {
            conditions.push(format!("seq < {}", next()));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let limit = next();
        let sql = format!(
            "SELECT seq, {COLUMNS} FROM audit_events {filter} ORDER BY seq DESC LIMIT {limit}"
        );
        let mut stmt = Stmt::new(&sql);
        if let Some(user) = q.user {
            stmt = stmt.id(user);
        }
        if let Some(kind) = q.kind {
            stmt = stmt.text(kind.as_str());
        }
        if let Some(since) = q.since {
            stmt = stmt.time(since);
        }
        if let Some(seq) = q.before {
            stmt = stmt.int(seq);
        }
        stmt = stmt.int(i64::from(q.limit));
        self.read_all(stmt, event_from_row::<DB>).await
    }

    async fn prune_events(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        self.write(Stmt::new("DELETE FROM audit_events WHERE at < $1").time(before))
            .await
    }
}
