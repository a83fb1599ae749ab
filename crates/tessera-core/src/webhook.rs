//! Webhooks: every audit event, delivered at least once to the operator's
//! endpoint (`TESSERA_WEBHOOK_URL`), signed as the Standard Webhooks spec
//! says.
//!
//! The message is written to an outbox table in the same transaction as
//! its audit event, so an event that is in the log is also on its way out,
//! whatever crashes afterwards. Its id (`webhook-id`) and body are fixed
//! then: a retry sends the same bytes under the same id, with a fresh
//! timestamp and signature, so a receiver de-duplicates by `webhook-id`.
//! The sender (in the server crate) claims due messages for a while, so
//! that several instances never send one at the same time, and a claim
//! that outlives a crashed sender is taken again: at least once.

use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::audit::AuditEvent;

/// An event's message, ready for the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxMessage {
    /// `webhook-id`: `msg_` and the event's id (hex), the same on every
    /// attempt.
    pub id: String,
    /// The event's kind, for listing.
    pub kind: &'static str,
    /// The exact body sent: `{"type", "timestamp", "data"}`.
    pub body: String,
}

impl OutboxMessage {
    pub fn of(event: &AuditEvent) -> Self {
        let body = json!({
            "type": event.kind.as_str(),
            "timestamp": rfc3339(event.at),
            "data": event_json(event),
        });
        Self {
            id: format!("msg_{}", event.id.simple()),
            kind: event.kind.as_str(),
            body: body.to_string(),
        }
    }
}

/// An audit event as the API and webhooks show it: `{id, at, kind,
/// user_id, actor, ip, user_agent, detail}`.
pub fn event_json(e: &AuditEvent) -> Value {
    json!({
        "id": e.id,
        "at": rfc3339(e.at),
        "kind": e.kind.as_str(),
        "user_id": e.user_id.map(|u| u.0),
        "actor": e.actor.to_field(),
        "ip": e.ip,
        "user_agent": e.user_agent,
        "detail": e.detail,
    })
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// Where a message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookState {
    /// Not delivered yet; tried again at `next_attempt_at`.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Given up on ([`GIVE_UP_AFTER`]); `tessera webhooks retry` queues it
    /// again.
    Failed,
}

impl WebhookState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A message in the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedWebhook {
    pub id: String,
    pub kind: String,
    pub body: String,
    pub created_at: OffsetDateTime,
    pub state: WebhookState,
    /// Attempts begun (a claim counts as one).
    pub attempts: u32,
    pub next_attempt_at: OffsetDateTime,
    pub delivered_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

/// A message still undelivered this long after its event is given up on
/// (state `failed`, logged as an error); `tessera webhooks retry` sends it
/// again.
pub const GIVE_UP_AFTER: Duration = Duration::days(3);

/// Delivered messages are kept this long (for `tessera webhooks list`),
/// then deleted by the sweep.
pub const KEEP_DELIVERED: Duration = Duration::days(7);

/// How long to wait after the `attempts`-th failed attempt: 1 s, doubling,
/// at most an hour, with up to a fifth less at random so that the
/// messages of one outage do not all come back at once.
pub fn retry_delay(attempts: u32, jitter: f64) -> Duration {
    let exp = attempts.saturating_sub(1).min(12);
    let full = (1i64 << exp).min(3600);
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
    let millis = (full as f64 * 1000.0 * (1.0 - 0.2 * jitter.clamp(0.0, 1.0))) as i64;
    Duration::milliseconds(millis.max(500))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Actor, EventKind};
    use crate::user::UserId;

    #[test]
    fn the_body_is_type_timestamp_and_the_event() {
        let user = UserId::new();
        let mut e = AuditEvent::new(
            EventKind::RolesChanged,
            Some(user),
            OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
        );
        e.actor = Actor::AdminKey;
        e.ip = Some("203.0.113.7".into());
        e.detail = json!({"roles": ["admin"]});
        let m = OutboxMessage::of(&e);
        assert_eq!(m.id, format!("msg_{}", e.id.simple()));
        assert_eq!(m.kind, "roles_changed");
        let body: Value = serde_json::from_str(&m.body).unwrap();
        assert_eq!(body["type"], "roles_changed");
        assert_eq!(body["timestamp"], "2027-01-15T08:00:00Z");
        assert_eq!(body["data"]["id"], e.id.to_string());
        assert_eq!(body["data"]["user_id"], user.0.to_string());
        assert_eq!(body["data"]["actor"], "admin_key");
        assert_eq!(body["data"]["ip"], "203.0.113.7");
        assert_eq!(body["data"]["user_agent"], Value::Null);
        assert_eq!(body["data"]["detail"]["roles"][0], "admin");
        assert_eq!(body.as_object().unwrap().len(), 3);
    }

    #[test]
    fn retries_back_off_to_an_hour() {
        assert_eq!(retry_delay(1, 0.0), Duration::seconds(1));
        assert_eq!(retry_delay(2, 0.0), Duration::seconds(2));
        assert_eq!(retry_delay(5, 0.0), Duration::seconds(16));
        assert_eq!(retry_delay(40, 0.0), Duration::hours(1));
        assert_eq!(retry_delay(40, 1.0), Duration::minutes(48));
        assert!(retry_delay(3, 0.5) < retry_delay(3, 0.0));
        for s in [
            WebhookState::Pending,
            WebhookState::Delivered,
            WebhookState::Failed,
        ] {
            assert_eq!(WebhookState::parse(s.as_str()), Some(s));
        }
    }
}
