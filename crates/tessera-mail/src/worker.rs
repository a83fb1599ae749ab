//! The queue worker: due jobs out of the database, mails out through the
//! transport, retried with backoff until delivered.

use std::sync::Arc;
use std::time::Duration;

use tessera_core::Auth;
use tessera_core::mail::{QueuedMail, retry_delay};
use time::OffsetDateTime;

use crate::{MailConfig, Transport, compose};

/// How long a claimed mail is hidden from other workers (other instances)
/// while this one sends it: longer than an SMTP exchange may take.
const HOLD: time::Duration = time::Duration::minutes(2);
/// Mails per claim.
const BATCH: u32 = 20;
/// A mail still undelivered this long after it was queued is dropped, with
/// an error in the log: by then nobody is waiting for it.
pub const GIVE_UP_AFTER: time::Duration = time::Duration::days(3);

/// Told the outcome of every delivery attempt: the job's kind and
/// `sent`, `skipped` (nothing to send any more), `rejected` (refused for
/// good by the SMTP server), `failed` (will be retried) or `dropped`
/// (undelivered for 3 days). For metrics.
pub type Observer = Arc<dyn Fn(&'static str, &'static str) + Send + Sync>;

#[derive(Clone)]
pub struct Mailer {
    auth: Auth,
    transport: Arc<Transport>,
    config: Arc<MailConfig>,
    observer: Option<Observer>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("transport", &self.transport)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What one attempt came to.
enum Outcome {
    Sent,
    Skipped,
    /// The SMTP server refused it for good (5xx): not retried.
    Rejected(String),
}

impl Mailer {
    pub fn new(auth: Auth, transport: Transport, config: MailConfig) -> Self {
        Self {
            auth,
            transport: Arc::new(transport),
            config: Arc::new(config),
            observer: None,
        }
    }

    /// Reports every attempt's outcome to `observer` (metrics).
    #[must_use]
    pub fn observed(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    fn observe(&self, kind: &'static str, result: &'static str) {
        if let Some(o) = &self.observer {
            o(kind, result);
        }
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Claims the due mails and tries each once; how many were claimed.
    pub async fn run_once(&self) -> Result<usize, tessera_core::AuthError> {
        let now = self.auth.now();
        let batch = self.auth.mail().claim_mail(now, now + HOLD, BATCH).await?;
        let claimed = batch.len();
        for queued in batch {
            match self.deliver(&queued).await {
                Ok(outcome) => {
                    self.auth.mail().mail_done(queued.id).await?;
                    self.observe(
                        queued.job.kind(),
                        match outcome {
                            Outcome::Sent => "sent",
                            Outcome::Skipped => "skipped",
                            Outcome::Rejected(why) => {
                                tracing::warn!(id = %queued.id, kind = queued.job.kind(), error = why, "mail refused for good by the SMTP server; not retried");
                                "rejected"
                            }
                        },
                    );
                }
                Err(why) => self.failed(&queued, now, &why).await?,
            }
        }
        Ok(claimed)
    }

    async fn deliver(&self, queued: &QueuedMail) -> Result<Outcome, String> {
        let letter = match self.auth.letter_for(&queued.job).await {
            Ok(Some(letter)) => letter,
            // Nothing to send any more (nobody holds the address, …).
            Ok(None) => {
                tracing::debug!(id = %queued.id, kind = queued.job.kind(), "mail not needed any more");
                return Ok(Outcome::Skipped);
            }
            Err(e) => return Err(e.to_string()),
        };
        let message = compose(&letter, &self.config).map_err(|e| e.to_string())?;
        if let Err(e) = self.transport.send(&message).await {
            if e.is_permanent() {
                return Ok(Outcome::Rejected(e.to_string()));
            }
            return Err(e.to_string());
        }
        tracing::info!(id = %queued.id, kind = queued.job.kind(), attempts = queued.attempts, "mail sent");
        Ok(Outcome::Sent)
    }

    async fn failed(
        &self,
        queued: &QueuedMail,
        now: OffsetDateTime,
        why: &str,
    ) -> Result<(), tessera_core::AuthError> {
        if now - queued.created_at > GIVE_UP_AFTER {
            tracing::error!(id = %queued.id, kind = queued.job.kind(), attempts = queued.attempts, error = why, "mail dropped: undelivered for 3 days");
            self.auth.mail().mail_done(queued.id).await?;
            self.observe(queued.job.kind(), "dropped");
            return Ok(());
        }
        let retry_at = now + retry_delay(queued.attempts);
        tracing::warn!(id = %queued.id, kind = queued.job.kind(), attempts = queued.attempts, error = why, retry_at = %retry_at, "mail not sent; will retry");
        self.auth
            .mail()
            .mail_failed(queued.id, retry_at, why)
            .await?;
        self.observe(queued.job.kind(), "failed");
        Ok(())
    }

    /// Runs the queue every `every` until the task is dropped.
    pub fn spawn(self, every: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                // Drain: a full batch means more may be due.
                loop {
                    match self.run_once().await {
                        Ok(n) if usize::try_from(BATCH).is_ok_and(|b| n >= b) => {}
                        Ok(_) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "mail queue unavailable");
                            break;
                        }
                    }
                }
            }
        })
    }
}
