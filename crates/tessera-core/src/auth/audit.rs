//! Recording what happened (see [`crate::audit`]), and reading it back: a
//! user's own recent activity, and the log for operators.

use serde_json::{Value, json};

use super::{Auth, ClientInfo};
use crate::audit::{Actor, AuditEvent, AuditQuery, EventKind};
use crate::error::AuthError;
use crate::session::Session;
use crate::user::UserId;
use crate::webhook::OutboxMessage;

/// How many events a user sees of their own.
pub const ACTIVITY_EVENTS: u32 = 50;

impl Auth {
    /// Appends an event, and its webhook message when webhooks are on
    /// (one transaction). Best effort: the action has happened; a failed
    /// write is logged as an error.
    pub async fn record(&self, event: AuditEvent) {
        let message = self.settings.webhooks.then(|| OutboxMessage::of(&event));
        if let Err(e) = self.audit.append_event(&event, message.as_ref()).await {
            tracing::error!(error = %e, kind = event.kind.as_str(), "audit event not written");
        }
    }

    /// An event by `actor` about `user`, from the client that asked.
    pub async fn record_for(
        &self,
        kind: EventKind,
        user: Option<UserId>,
        actor: Actor,
        client: &ClientInfo,
        detail: Value,
    ) {
        let mut event = AuditEvent::new(kind, user, self.clock.now());
        event.actor = actor;
        event.ip.clone_from(&client.ip);
        event.user_agent.clone_from(&client.user_agent);
        event.detail = detail;
        self.record(event).await;
    }

    /// An event the signed-in user caused, from the client their session
    /// was started by.
    pub(super) async fn record_by(&self, kind: EventKind, session: &Session, detail: Value) {
        let client = ClientInfo {
            ip: session.ip.clone(),
            user_agent: session.user_agent.clone(),
        };
        self.record_for(kind, Some(session.user.id), Actor::User, &client, detail)
            .await;
    }

    /// The signed-in user's own last events, newest first.
    pub async fn activity(&self, session: &Session) -> Result<Vec<AuditEvent>, AuthError> {
        Ok(self
            .audit
            .list_events(&AuditQuery {
                user: Some(session.user.id),
                limit: ACTIVITY_EVENTS,
                ..AuditQuery::default()
            })
            .await?)
    }

    /// The log, for operators (the CLI, the admin API).
    pub async fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, AuthError> {
        Ok(self.audit.list_events(query).await?)
    }
}

/// `{"session_id": …}`, the detail of most session events.
pub(super) fn session_detail(session: &Session) -> Value {
    json!({"session_id": session.id})
}
