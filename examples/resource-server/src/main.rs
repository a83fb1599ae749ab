//! `tessera-resource-server`: configure with
//! `TESSERA_JWKS_URL` (default `http://127.0.0.1:4000/.well-known/jwks.json`),
//! `TESSERA_JWT_ISSUER` (default `http://localhost:3000`),
//! `TESSERA_JWT_AUDIENCE` (default `tessera`) and `LISTEN` (default
//! `127.0.0.1:4100`).

use tessera_verify::Verifier;

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(env("RUST_LOG", "info")))
        .init();
    let verifier = Verifier::builder(
        env("TESSERA_JWT_ISSUER", "http://localhost:3000"),
        env("TESSERA_JWT_AUDIENCE", "tessera"),
    )
    .jwks_url(env(
        "TESSERA_JWKS_URL",
        "http://127.0.0.1:4000/.well-known/jwks.json",
    ))
    .build()?;
    if let Err(e) = verifier.refresh().await {
        tracing::warn!(error = %e, "JWKS not reachable yet; will retry on the first request");
    }
    let listener = tokio::net::TcpListener::bind(env("LISTEN", "127.0.0.1:4100")).await?;
    println!(
        "resource server listening on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, tessera_resource_server::app(verifier)).await?;
    Ok(())
}
