//! The floor a session check is measured against: an axum server whose
//! `GET /v1/session` does exactly one Redis `GET` (of the cookie's value)
//! and returns a small JSON. Nothing a real session check can skip.
//!
//! `tessera-bench-floor ADDR REDIS_URL`; prints `floor listening on http://ADDR`.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;

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
    println!("floor listening on http://{}", listener.local_addr()?);
    let app = Router::new()
        .route("/v1/session", get(whoami))
        .with_state(redis);
    axum::serve(listener, app).await?;
    Ok(())
}
