//! The webhook sender: due messages out of the outbox (see
//! [`tessera_core::webhook`]), each sent (`POST`) to `TESSERA_WEBHOOK_URL`, signed
//! as the Standard Webhooks spec says, until the endpoint answers 2xx.
//!
//! Every instance runs one; the outbox's claim keeps two from sending a
//! message at once. A message is held for three times the delivery timeout
//! while it is sent, so one whose sender died is sent again after that: at
//! least once, and the receiver de-duplicates by `webhook-id`.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use secrecy::ExposeSecret as _;
use tessera_core::Auth;
use tessera_core::store::StoreError;
use tessera_core::webhook::{GIVE_UP_AFTER, QueuedWebhook, retry_delay};
use tessera_oauth::HttpClient;
use tessera_oauth::http::HttpError;

use crate::config::WebhookSettings;

/// Messages per claim, all sent at once: a claim's hold (three times the
/// timeout) then outlasts every send of its batch, so another instance
/// never takes a message this one is still about to send.
const BATCH: u32 = 8;
/// Deliveries in flight at once: the whole batch.
const IN_FLIGHT: usize = BATCH as usize;
/// How often the outbox is checked when it was empty.
const POLL: Duration = Duration::from_secs(1);

/// Told the result of every attempt: `delivered`, `failed` (retried) or
/// `gave_up` (undelivered for [`GIVE_UP_AFTER`]). For metrics.
pub type Observer = Arc<dyn Fn(&'static str) + Send + Sync>;

#[derive(Clone)]
pub struct Sender {
    auth: Auth,
    client: HttpClient,
    url: String,
    signer: Arc<standardwebhooks::Webhook>,
    hold: time::Duration,
    observer: Option<Observer>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Sender {
    pub fn new(auth: Auth, settings: &WebhookSettings) -> anyhow::Result<Self> {
        let signer = standardwebhooks::Webhook::new(settings.secret.expose_secret())
            .map_err(|e| anyhow::anyhow!("TESSERA_WEBHOOK_SECRET: {e}"))?;
        let client = HttpClient::new(settings.timeout)
            .map_err(|e| anyhow::anyhow!("the webhook client's TLS: {e}"))?;
        Ok(Self {
            auth,
            client,
            url: settings.url.to_string(),
            signer: Arc::new(signer),
            hold: time::Duration::try_from(settings.timeout * 3)?,
            observer: None,
        })
    }

    /// Reports every attempt's result to `observer` (metrics).
    #[must_use]
    pub fn observed(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Claims the due messages and tries each once; how many were claimed.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let now = self.auth.now();
        let batch = self
            .auth
            .webhooks()
            .claim_webhooks(now, now + self.hold, BATCH)
            .await?;
        let claimed = batch.len();
        let results: Vec<Result<(), StoreError>> = futures_util::stream::iter(batch)
            .map(|m| async move { self.attempt(&m).await })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        results.into_iter().collect::<Result<(), _>>()?;
        Ok(claimed)
    }

    async fn attempt(&self, m: &QueuedWebhook) -> Result<(), StoreError> {
        let store = self.auth.webhooks();
        match self.deliver(m).await {
            Ok(()) => {
                tracing::debug!(
                    id = m.id,
                    kind = m.kind,
                    attempts = m.attempts,
                    "webhook delivered"
                );
                store.webhook_delivered(&m.id, self.auth.now()).await?;
                self.observe("delivered");
            }
            Err(why) => {
                let now = self.auth.now();
                if now - m.created_at > GIVE_UP_AFTER {
                    tracing::error!(
                        id = m.id,
                        kind = m.kind,
                        attempts = m.attempts,
                        error = why,
                        "webhook given up: undelivered for 3 days (`tessera webhooks retry` sends it again)"
                    );
                    store.webhook_failed(&m.id, None, &why).await?;
                    self.observe("gave_up");
                } else {
                    let jitter =
                        f64::from(u16::from_le_bytes(tessera_core::token::random_bytes::<2>()))
                            / f64::from(u16::MAX);
                    let retry_at = now + retry_delay(m.attempts, jitter);
                    tracing::warn!(id = m.id, kind = m.kind, attempts = m.attempts, error = why, retry_at = %retry_at, "webhook not delivered; will retry");
                    store.webhook_failed(&m.id, Some(retry_at), &why).await?;
                    self.observe("failed");
                }
            }
        }
        Ok(())
    }

    /// One POST of the stored body under its id, signed now.
    async fn deliver(&self, m: &QueuedWebhook) -> Result<(), String> {
        let timestamp = self.auth.now().unix_timestamp();
        let signature = self
            .signer
            .sign(&m.id, timestamp, m.body.as_bytes())
            .map_err(|e| format!("signing: {e}"))?;
        let request = http::Request::post(&self.url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &m.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(m.body.clone().into_bytes())
            .map_err(|e| format!("building the request: {e}"))?;
        let response = self.client.send(request).await.map_err(|e| match e {
            HttpError::Timeout(d) => format!("no answer within {d:?}"),
            HttpError::TooLarge => "answer too large".into(),
            HttpError::Transport(why) => why,
        })?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else if status.is_redirection() {
            Err(format!("HTTP {status}: redirects are not followed"))
        } else {
            Err(format!("HTTP {status}"))
        }
    }

    fn observe(&self, result: &'static str) {
        if let Some(o) = &self.observer {
            o(result);
        }
    }

    /// Sends due messages until the task is dropped: again at once while
    /// batches come back full, else after [`POLL`].
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                match self.run_once().await {
                    Ok(n) if usize::try_from(BATCH).is_ok_and(|b| n >= b) => continue,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "webhook outbox unavailable"),
                }
                tokio::time::sleep(POLL).await;
            }
        })
    }
}
