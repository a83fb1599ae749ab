//! Prometheus metrics, one registry per app (so tests never share counters),
//! every name prefixed `tessera_`.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};
use tessera_core::PasswordHasher;

use crate::AppState;

#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub latency: HistogramVec,
    pub logins: IntCounterVec,
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
}

#[allow(clippy::expect_used)]
fn counters(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric")
}

impl Metrics {
    /// # Panics
    /// Only on a programming error: duplicate or invalid metric definitions.
    #[allow(clippy::expect_used)]
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
        Self {
            registry,
            requests,
            latency,
            logins,
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
        }
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
/// route template (bounded cardinality), never by the raw path.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    let m = &state.metrics;
    m.latency
        .with_label_values(&[&method, &route])
        .observe(started.elapsed().as_secs_f64());
    m.requests
        .with_label_values(&[&method, &route, response.status().as_str()])
        .inc();
    response
}
