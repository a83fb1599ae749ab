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

#[derive(Debug, Clone)]
pub struct Mailer {
    auth: Auth,
    transport: Arc<Transport>,
    config: Arc<MailConfig>,
}

impl Mailer {
    pub fn new(auth: Auth, transport: Transport, config: MailConfig) -> Self {
        Self {
            auth,
            transport: Arc::new(transport),
            config: Arc::new(config),
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
                Ok(()) => {
                    self.auth.mail().mail_done(queued.id).await?;
                }
                Err(why) => self.failed(&queued, now, &why).await?,
            }
        }
        Ok(claimed)
    }

    async fn deliver(&self, queued: &QueuedMail) -> Result<(), String> {
        let letter = match self.auth.letter_for(&queued.job).await {
            Ok(Some(letter)) => letter,
            // Nothing to send any more (nobody holds the address, …).
            Ok(None) => {
                tracing::debug!(id = %queued.id, kind = queued.job.kind(), "mail not needed any more");
                return Ok(());
            }
            Err(e) => return Err(e.to_string()),
        };
        let message = compose(&letter, &self.config).map_err(|e| e.to_string())?;
        self.transport
            .send(&message)
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(id = %queued.id, kind = queued.job.kind(), attempts = queued.attempts, "mail sent");
        Ok(())
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
            return Ok(());
        }
        let retry_at = now + retry_delay(queued.attempts);
        tracing::warn!(id = %queued.id, kind = queued.job.kind(), attempts = queued.attempts, error = why, retry_at = %retry_at, "mail not sent; will retry");
        self.auth
            .mail()
            .mail_failed(queued.id, retry_at, why)
            .await?;
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
