//! The floor a session check is measured against: an axum server whose
//! `GET /v1/session` does exactly one Redis `GET` (of the cookie's value)
//! and returns a small JSON. Nothing a real session check can skip.
//!
//! With a PostgreSQL URL as third argument it also answers `POST /write`
//! with exactly one durable write: an `UPDATE` of one of 64 rows (in turn)
//! in autocommit, then a small JSON. The floor for what a refresh-token
//! rotation cannot skip either.
//!
//! `tessera-bench-floor ADDR REDIS_URL [POSTGRES_URL]`; prints
//! `floor listening on http://ADDR`.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::routing::post;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use sqlx::PgPool;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone)]
struct Write {
    pool: PgPool,
    next: Arc<AtomicU64>,
}

async fn write(State(w): State<Write>) -> Response {
    let id = i64::try_from(w.next.fetch_add(1, Ordering::Relaxed) % 64).unwrap_or(0);
    match sqlx::query("UPDATE bench_floor SET n = n + 1 WHERE id = $1")
        .bind(id)
        .execute(&w.pool)
        .await
    {
        Ok(done) if done.rows_affected() == 1 => (
            [(header::CONTENT_TYPE, "application/json")],
            format!("{{\"row\":{id}}}"),
        )
            .into_response(),
        _ => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

async fn whoami(State(mut redis): State<ConnectionManager>, headers: HeaderMap) -> Response {
    let key = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split('=').nth(1))
        .unwrap_or("missing")
        .to_owned();
    match redis.get::<_, Option<String>>(format!("floor:{key}")).await {
        Ok(Some(user)) => (
            [(header::CONTENT_TYPE, "application/json")],
            format!("{{\"user\":{{\"id\":\"{user}\"}}}}"),
        )
            .into_response(),
        Ok(None) => StatusCode::UNAUTHORIZED.into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:4300".into());
    let url = args
        .next()
        .unwrap_or_else(|| "redis://127.0.0.1:6379".into());
    let redis = redis::Client::open(url)?.get_connection_manager().await?;
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let mut app = Router::new()
        .route("/v1/session", get(whoami))
        .with_state(redis);
    if let Some(pg) = args.next() {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(16)
            .connect(&pg)
            .await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS bench_floor (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)",
        )
        .execute(&pool)
        .await?;
        sqlx::query("INSERT INTO bench_floor SELECT g, 0 FROM generate_series(0, 63) g ON CONFLICT DO NOTHING")
            .execute(&pool)
            .await?;
        let w = Write {
            pool,
            next: Arc::default(),
        };
        app = app.merge(Router::new().route("/write", post(write)).with_state(w));
    }
    println!("floor listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
