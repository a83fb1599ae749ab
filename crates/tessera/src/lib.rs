//! Wiring: from a [`Config`] to a running server. The binary (`main.rs`)
//! only parses the command line and calls in here; tests call in here too,
//! with a fake clock.

pub mod config;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use secrecy::ExposeSecret;
use tessera_core::{Auth, AuthSettings, Clock, CsrfKey, PasswordHasher, SessionPolicy};
use tessera_http::{AppState, HttpConfig, Metrics};
use tessera_store::MemoryRateLimits;
use tessera_store::SecretStore;
use tessera_store_sql::SqliteStore;
use tokio::net::TcpListener;

pub use config::{Config, Settings};

/// The SQLite file inside the data dir.
pub const DATABASE_FILE: &str = "tessera.db";

/// Opens the configured database and applies pending migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<SqliteStore> {
    let store = match config
        .database_url
        .as_ref()
        .map(ExposeSecret::expose_secret)
    {
        Some(url) if url.starts_with("sqlite:") => SqliteStore::open_url(url).await,
        Some(url) => anyhow::bail!(
            "TESSERA_DATABASE_URL={:?}: only sqlite: URLs are supported in this version",
            url.split(':').next().unwrap_or_default()
        ),
        None => {
            std::fs::create_dir_all(&config.data_dir)
                .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
            SqliteStore::open(&config.data_dir.join(DATABASE_FILE)).await
        }
    }
    .context("opening the database")?;
    store.migrate().await.context("migrating the database")?;
    Ok(store)
}

/// Everything a running server holds.
#[derive(Debug, Clone)]
pub struct Server {
    pub auth: Auth,
    pub state: AppState,
    pub store: SqliteStore,
}

impl Server {
    pub async fn build(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let store = open_store(config).await?;
        let csrf_key: [u8; 32] = store
            .get_or_create_secret("csrf", &tessera_core::token::random_bytes::<32>())
            .await
            .context("loading the CSRF key")?
            .try_into()
            .map_err(|_| anyhow::anyhow!("the stored CSRF key is not 32 bytes"))?;
        let hasher = PasswordHasher::new(config.argon2, config.hash_workers, config.hash_queue)
            .context("setting up password hashing")?;
        let settings = AuthSettings {
            sessions: SessionPolicy {
                idle_timeout: duration(config.session_idle_timeout)?,
                absolute_timeout: duration(config.session_absolute_timeout)?,
                activity_interval: duration(config.session_activity_interval)?,
            },
            login_limits: config.login_limits,
        };
        let shared = Arc::new(store.clone());
        let auth = Auth::new(
            shared.clone(),
            shared,
            Arc::new(MemoryRateLimits::new()),
            hasher,
            clock,
            settings,
        );
        let state = AppState::new(
            auth.clone(),
            CsrfKey::from_bytes(csrf_key),
            HttpConfig {
                public_origins: config.public_origins.clone(),
                bff_key: config.bff_key.clone(),
                request_timeout: config.request_timeout,
            },
            Metrics::new(),
        );
        Ok(Self { auth, state, store })
    }

    pub fn router(&self) -> axum::Router {
        tessera_http::app(self.state.clone())
    }

    /// Deletes expired sessions every `every`, until the task is dropped.
    pub fn spawn_sweeper(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let auth = self.auth.clone();
        let metrics = self.state.metrics.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match auth.sweep().await {
                    Ok(0) => {}
                    Ok(n) => {
                        metrics.ended("swept", n);
                        tracing::info!(count = n, "expired sessions swept");
                    }
                    Err(e) => tracing::warn!(error = %e, "session sweep failed"),
                }
            }
        })
    }

    /// Serves on `listener` until `shutdown` completes, then finishes the
    /// requests in flight.
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(
            listener,
            self.router()
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    }
}

fn duration(d: std::time::Duration) -> anyhow::Result<time::Duration> {
    time::Duration::try_from(d).context("duration out of range")
}
