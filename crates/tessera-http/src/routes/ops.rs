//! Liveness, readiness, metrics, and the API description.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::views::Status;
use crate::AppState;
use crate::problem::{ApiError, Problem};

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, description = "Alive", body = Status)))]
pub async fn healthz() -> Json<Status> {
    Json(Status {
        status: "ok".into(),
    })
}

/// Every store answers.
#[utoipa::path(
    get, path = "/readyz", tag = "ops",
    responses(
        (status = 200, description = "Ready", body = Status),
        (status = 503, description = "A store is unreachable (Retry-After)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    state.auth.ready().await?;
    Ok(Json(Status {
        status: "ready".into(),
    }))
}

/// Prometheus text format; every metric is named `tessera_*`.
#[utoipa::path(
    get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", body = String, content_type = "text/plain"))
)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    match state.auth.mail().mail_backlog().await {
        Ok((count, oldest)) => {
            let age = oldest.map_or(0, |t| (state.auth.now() - t).whole_seconds());
            state.metrics.set_mail_backlog(count, age);
        }
        // The other metrics still answer; the gauges keep their last value.
        Err(e) => tracing::warn!(error = %e, "metrics: mail queue unreadable"),
    }
    match state.auth.webhooks().webhook_backlog().await {
        Ok((pending, failed, oldest)) => {
            let age = oldest.map_or(0, |t| (state.auth.now() - t).whole_seconds());
            state.metrics.set_webhook_backlog(pending, failed, age);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: webhook outbox unreadable"),
    }
    let body = state.metrics.render(state.auth.hasher());
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

/// This document.
#[utoipa::path(
    get, path = "/openapi.json", tag = "ops",
    responses((status = 200, description = "OpenAPI 3.1 description of the API", content_type = "application/json"))
)]
pub async fn openapi() -> Response {
    let mut r = crate::openapi::json().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}
