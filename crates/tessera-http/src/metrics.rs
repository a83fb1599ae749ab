//! Prometheus metrics, one registry per app (so tests never share counters),
//! every name prefixed `tessera_`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};
use tessera_core::PasswordHasher;
use tower::{Layer, Service};

use crate::AppState;

#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub latency: HistogramVec,
    pub logins: IntCounterVec,
    /// Second-factor sign-ins (`POST /v1/login/mfa`) by result.
    pub mfa_sign_ins: IntCounterVec,
    pub registrations: IntCounter,
    pub sessions_created: IntCounter,
    pub sessions_ended: IntCounterVec,
    pub hash_queue_depth: IntGauge,
    pub hash_in_flight: IntGauge,
    pub tokens_issued: IntCounterVec,
    pub token_errors: IntCounterVec,
    pub oauth_started: IntCounterVec,
    pub oauth_signins: IntCounterVec,
    pub oauth_failures: IntCounterVec,
    pub mail: MailMetrics,
    pub webhooks: WebhookMetrics,
}

/// The webhook sender's metrics.
#[derive(Debug, Clone)]
pub struct WebhookMetrics {
    /// Attempts by result.
    pub deliveries: IntCounterVec,
    /// Set at scrape time.
    pub pending: IntGauge,
    pub failed: IntGauge,
    pub oldest_age: IntGauge,
}

impl WebhookMetrics {
    #[allow(clippy::expect_used)]
    fn new(registry: &Registry) -> Self {
        let deliveries = counters(
            "webhook_attempts_total",
            "Webhook delivery attempts by result: delivered, failed (retried with backoff), gave_up (undelivered for 3 days; `tessera webhooks retry` sends it again)",
            &["result"],
        );
        let gauge = |name: &str, help: &str| IntGauge::new(name, help).expect("valid metric");
        let pending = gauge(
            "webhook_outbox_pending",
            "Webhook messages not yet delivered",
        );
        let failed = gauge(
            "webhook_outbox_failed",
            "Webhook messages given up on (`tessera webhooks list --state failed`)",
        );
        let oldest_age = gauge(
            "webhook_outbox_oldest_age_seconds",
            "Age of the oldest undelivered webhook message (0 when none): grows while the endpoint is down",
        );
        for c in [
            Box::new(deliveries.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(pending.clone()),
            Box::new(failed.clone()),
            Box::new(oldest_age.clone()),
        ] {
            registry.register(c).expect("metric registered once");
        }
        Self {
            deliveries,
            pending,
            failed,
            oldest_age,
        }
    }
}

/// The mail queue's metrics.
#[derive(Debug, Clone)]
pub struct MailMetrics {
    /// Attempts by kind and result.
    pub attempts: IntCounterVec,
    /// Set at scrape time.
    pub queue_depth: IntGauge,
    pub queue_oldest_age: IntGauge,
}

#[allow(clippy::expect_used)]
fn counters(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric")
}

impl MailMetrics {
    #[allow(clippy::expect_used)]
    fn new(registry: &Registry) -> Self {
        let mail_sent = counters(
            "mail_attempts_total",
            "Mail delivery attempts by kind (verify, reset, change_email, change_notice) and result: sent, skipped (nothing to send any more), rejected (refused for good by the SMTP server), failed (retried), dropped (undelivered for 3 days)",
            &["kind", "result"],
        );
        let mail_queue_depth = IntGauge::new("mail_queue_depth", "Mails queued and not yet sent")
            .expect("valid metric");
        let mail_queue_oldest_age = IntGauge::new(
            "mail_queue_oldest_age_seconds",
            "Age of the oldest queued mail (0 when none): grows while SMTP is down",
        )
        .expect("valid metric");
        for c in [
            Box::new(mail_sent.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(mail_queue_depth.clone()),
            Box::new(mail_queue_oldest_age.clone()),
        ] {
            registry.register(c).expect("metric registered once");
        }
        Self {
            attempts: mail_sent,
            queue_depth: mail_queue_depth,
            queue_oldest_age: mail_queue_oldest_age,
        }
    }
}

impl Metrics {
    /// # Panics
    /// Only on a programming error: duplicate or invalid metric definitions.
    #[allow(clippy::expect_used)]
    // One definition per metric, then one registration each: long, flat.
    #[allow(clippy::too_many_lines)]
    pub fn new() -> Self {
        let registry =
            Registry::new_custom(Some("tessera".into()), None).expect("valid registry prefix");
        let requests = counters(
            "http_requests_total",
            "HTTP requests by method, route and status",
            &["method", "route", "status"],
        );
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by method and route",
            )
            .buckets(vec![
                0.000_25, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["method", "route"],
        )
        .expect("valid metric");
        let logins = counters(
            "logins_total",
            "Login attempts by result: success, failure, rate_limited, busy",
            &["result"],
        );
        let mfa_sign_ins = counters(
            "mfa_sign_ins_total",
            "Second-factor sign-ins by result: success, failure (wrong code), challenge_invalid, rate_limited, error",
            &["result"],
        );
        let registrations =
            IntCounter::new("registrations_total", "Users registered").expect("valid metric");
        let sessions_created =
            IntCounter::new("sessions_created_total", "Sessions started").expect("valid metric");
        let sessions_ended = counters(
            "sessions_ended_total",
            "Sessions ended by reason: logout, revoked, password_change, login, disabled, swept",
            &["reason"],
        );
        let hash_queue_depth = IntGauge::new(
            "password_hash_queue_depth",
            "Password hashes waiting for a worker",
        )
        .expect("valid metric");
        let hash_in_flight =
            IntGauge::new("password_hash_in_flight", "Password hashes running now")
                .expect("valid metric");
        let tokens_issued = counters(
            "tokens_issued_total",
            "Token responses by grant: password, refresh_token, session",
            &["grant"],
        );
        let token_errors = counters(
            "token_errors_total",
            "Token endpoint errors by OAuth error code",
            &["error"],
        );
        let oauth_started = counters(
            "oauth_started_total",
            "Provider sign-ins started, by provider",
            &["provider"],
        );
        let oauth_signins = counters(
            "oauth_signins_total",
            "Provider sign-ins completed, by provider and outcome: known, linked, created",
            &["provider", "outcome"],
        );
        let oauth_failures = counters(
            "oauth_failures_total",
            "Provider sign-ins that failed at start or callback, by error code",
            &["code"],
        );
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(logins.clone()),
            Box::new(mfa_sign_ins.clone()),
            Box::new(registrations.clone()),
            Box::new(sessions_created.clone()),
            Box::new(sessions_ended.clone()),
            Box::new(hash_queue_depth.clone()),
            Box::new(hash_in_flight.clone()),
            Box::new(tokens_issued.clone()),
            Box::new(token_errors.clone()),
            Box::new(oauth_started.clone()),
            Box::new(oauth_signins.clone()),
            Box::new(oauth_failures.clone()),
        ] {
            registry.register(c).expect("metric registered once");
        }
        let mail = MailMetrics::new(&registry);
        let webhooks = WebhookMetrics::new(&registry);
        Self {
            registry,
            requests,
            latency,
            logins,
            mfa_sign_ins,
            registrations,
            sessions_created,
            sessions_ended,
            hash_queue_depth,
            hash_in_flight,
            tokens_issued,
            token_errors,
            oauth_started,
            oauth_signins,
            oauth_failures,
            mail,
            webhooks,
        }
    }

    /// The webhook outbox's gauges, from a backlog read at scrape time.
    pub fn set_webhook_backlog(&self, pending: u64, failed: u64, oldest_age_secs: i64) {
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.webhooks.pending.set(n(pending));
        self.webhooks.failed.set(n(failed));
        self.webhooks.oldest_age.set(oldest_age_secs.max(0));
    }

    /// The mail queue's gauges, from a backlog read (count, oldest) at
    /// scrape time.
    pub fn set_mail_backlog(&self, count: u64, oldest_age_secs: i64) {
        self.mail
            .queue_depth
            .set(i64::try_from(count).unwrap_or(i64::MAX));
        self.mail.queue_oldest_age.set(oldest_age_secs.max(0));
    }

    pub fn ended(&self, reason: &str, count: u64) {
        self.sessions_ended
            .with_label_values(&[reason])
            .inc_by(count);
    }

    /// The text exposition, with gauges read at scrape time.
    pub fn render(&self, hasher: &PasswordHasher) -> String {
        self.hash_queue_depth
            .set(i64::try_from(hasher.queue_depth()).unwrap_or(i64::MAX));
        self.hash_in_flight
            .set(i64::try_from(hasher.in_flight()).unwrap_or(i64::MAX));
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "metrics encoding failed");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Counts and times every request that matched a route, labelled by the
/// route template (bounded cardinality), never by the raw path. A tower
/// layer rather than `from_fn`: no boxed future or service clone per
/// request (this wraps every session check).
#[derive(Debug, Clone)]
pub struct TrackLayer(pub AppState);

impl<S> Layer<S> for TrackLayer {
    type Service = Track<S>;
    fn layer(&self, inner: S) -> Track<S> {
        Track {
            inner,
            state: self.0.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Track<S> {
    inner: S,
    state: AppState,
}

impl<S> Service<Request> for Track<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = TrackFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // Cheap clones (an `Arc<str>` and a standard method), no allocation.
        let route = req.extensions().get::<MatchedPath>().cloned();
        let method = req.method().clone();
        TrackFuture {
            started: Instant::now(),
            inner: self.inner.call(req),
            method,
            route,
            state: self.state.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    #[allow(missing_debug_implementations)]
    pub struct TrackFuture<F> {
        #[pin]
        inner: F,
        method: Method,
        route: Option<MatchedPath>,
        started: Instant,
        state: AppState,
    }
}

impl<F, E> Future for TrackFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        if let Ok(response) = &result {
            let route = this.route.as_ref().map_or("unmatched", MatchedPath::as_str);
            let status = response.status();
            let elapsed = this.started.elapsed();
            let m = &this.state.metrics;
            m.latency
                .with_label_values(&[this.method.as_str(), route])
                .observe(elapsed.as_secs_f64());
            m.requests
                .with_label_values(&[this.method.as_str(), route, status.as_str()])
                .inc();
            // Every 5xx in the log, whatever the level of the request span
            // (tower-http's TraceLayer did this; it now runs only at DEBUG).
            // A 503 is load or an outage the caller may retry (Retry-After):
            // a warning, so a login storm does not fill the log with errors.
            if status == StatusCode::SERVICE_UNAVAILABLE {
                tracing::warn!(method = %this.method, route, status = status.as_u16(), latency_ms = elapsed.as_millis(), "response failed");
            } else if status.is_server_error() {
                tracing::error!(method = %this.method, route, status = status.as_u16(), latency_ms = elapsed.as_millis(), "response failed");
            }
        }
        Poll::Ready(result)
    }
}
