//! Wiring: from a [`Config`] to a running server. The binary (`main.rs`)
//! only parses the command line and calls in here; tests call in here too,
//! with a fake clock.

pub mod config;
pub mod doctor;
pub mod files;
pub mod init;
pub mod oauth_config;
pub mod webhooks;

use std::sync::Arc;

use anyhow::Context;
use secrecy::ExposeSecret;
use tessera_core::keys::KeyRing;
use tessera_core::seal::Sealer;
use tessera_core::store::{
    AuditStore, ChallengeStore, IdentityStore, KeyStore, MailStore, MfaStore, RefreshStore,
    WebhookStore,
};
use tessera_core::store::{RateLimitStore, SecretStore, SessionStore, UserStore};
use tessera_core::tokens::{TokenSettings, Tokens};
use tessera_core::{
    Auth, AuthSettings, AuthStores, Clock, CsrfKey, PasswordHasher, SecondFactors, SessionPolicy,
};
use tessera_http::{AppState, ConnLimits, HttpConfig, Metrics};
use tessera_store::MemoryRateLimits;
use tessera_store_redis::{RedisSettings, RedisStore};
use tessera_store_sql::{PgSettings, PgStore, SqliteStore};
use tokio::net::TcpListener;

pub use config::{Config, Settings};

pub use files::DATABASE_FILE;

/// The SQL database: users and secrets, and sessions unless Redis has them.
#[derive(Debug, Clone)]
pub enum Database {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl Database {
    /// Opens the configured database and applies pending migrations.
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        let url = config
            .database_url
            .as_ref()
            .map(ExposeSecret::expose_secret);
        let db = match url {
            Some(url) if url.starts_with("sqlite:") => Self::Sqlite(
                SqliteStore::open_url(url)
                    .await
                    .context("opening the SQLite database")?,
            ),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Self::Postgres(
                    PgStore::connect_lazy(url, PgSettings::default())
                        .context("configuring PostgreSQL")?,
                )
            }
            Some(url) => anyhow::bail!(
                "TESSERA_DATABASE_URL: unsupported scheme {:?} (use postgres:// or sqlite:)",
                url.split(':').next().unwrap_or_default()
            ),
            None => {
                let file = files::prepare_database(&config.data_dir)?;
                Self::Sqlite(
                    SqliteStore::open(&file)
                        .await
                        .context("opening the SQLite database")?,
                )
            }
        };
        match &db {
            Self::Sqlite(s) => s.migrate().await,
            Self::Postgres(p) => p.migrate().await,
        }
        .context("migrating the database")?;
        Ok(db)
    }

    pub async fn close(&self) {
        match self {
            Self::Sqlite(s) => s.close().await,
            Self::Postgres(p) => p.close().await,
        }
    }

    fn parts(&self) -> SqlParts {
        fn of<S>(s: &S) -> SqlParts
        where
            S: UserStore
                + MailStore
                + SessionStore
                + SecretStore
                + KeyStore
                + RefreshStore
                + IdentityStore
                + MfaStore
                + ChallengeStore
                + AuditStore
                + WebhookStore
                + Clone
                + 'static,
        {
            SqlParts {
                mfa: Arc::new(s.clone()),
                challenges: Arc::new(s.clone()),
                audit: Arc::new(s.clone()),
                webhooks: Arc::new(s.clone()),
                users: Arc::new(s.clone()),
                sessions: Arc::new(s.clone()),
                secrets: Arc::new(s.clone()),
                keys: Arc::new(s.clone()),
                refresh: Arc::new(s.clone()),
                identities: Arc::new(s.clone()),
                mail: Arc::new(s.clone()),
            }
        }
        match self {
            Self::Sqlite(s) => of(s),
            Self::Postgres(p) => of(p),
        }
    }
}

struct SqlParts {
    users: Arc<dyn UserStore>,
    sessions: Arc<dyn SessionStore>,
    secrets: Arc<dyn SecretStore>,
    keys: Arc<dyn KeyStore>,
    refresh: Arc<dyn RefreshStore>,
    identities: Arc<dyn IdentityStore>,
    mail: Arc<dyn MailStore>,
    mfa: Arc<dyn MfaStore>,
    challenges: Arc<dyn ChallengeStore>,
    audit: Arc<dyn AuditStore>,
    webhooks: Arc<dyn WebhookStore>,
}

/// The stores kept with the sessions: Redis when configured.
type SessionSide = (
    Arc<dyn SessionStore>,
    Arc<dyn RateLimitStore>,
    Arc<dyn ChallengeStore>,
);

/// Every store the server uses, as chosen by the configuration.
#[derive(Debug, Clone)]
pub struct Stores {
    pub database: Database,
    pub users: Arc<dyn UserStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub secrets: Arc<dyn SecretStore>,
    pub limits: Arc<dyn RateLimitStore>,
    pub keys: Arc<dyn KeyStore>,
    pub refresh: Arc<dyn RefreshStore>,
    pub identities: Arc<dyn IdentityStore>,
    pub mail: Arc<dyn MailStore>,
    pub mfa: Arc<dyn MfaStore>,
    /// Sign-in challenges and passkey ceremonies: with the sessions.
    pub challenges: Arc<dyn ChallengeStore>,
    pub audit: Arc<dyn AuditStore>,
    /// The webhook outbox, with the audit log.
    pub webhooks: Arc<dyn WebhookStore>,
}

impl Stores {
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        let database = Database::open(config).await?;
        let SqlParts {
            users,
            sessions: sql_sessions,
            secrets,
            keys,
            refresh,
            identities,
            mail,
            mfa,
            challenges: sql_challenges,
            audit,
            webhooks,
        } = database.parts();
        let (sessions, limits, challenges): SessionSide = match &config.session_store {
            Some(url) => {
                let redis = Arc::new(
                    RedisStore::open(url.expose_secret(), &RedisSettings::default())
                        .context("configuring the Redis session store")?,
                );
                (redis.clone(), redis.clone(), redis)
            }
            None => (
                sql_sessions,
                Arc::new(MemoryRateLimits::new()),
                sql_challenges,
            ),
        };
        Ok(Self {
            database,
            users,
            sessions,
            secrets,
            limits,
            keys,
            refresh,
            identities,
            mail,
            mfa,
            challenges,
            audit,
            webhooks,
        })
    }
}

/// Provider sign-in, when providers are configured: the providers and the
/// flow cookie's sealing key, made once and kept in the database so every
/// instance shares it.
async fn oauth(
    config: &Config,
    stores: &Stores,
) -> anyhow::Result<Option<tessera_http::routes::oauth::OAuth>> {
    if config.oauth_providers.is_empty() {
        return Ok(None);
    }
    let key = stores
        .secrets
        .get_or_create_secret("oauth-seal", &tessera_oauth::Sealer::generate_key())
        .await
        .context("loading the OAuth sealing key")?;
    let sealer = tessera_oauth::Sealer::new(&key)
        .ok_or_else(|| anyhow::anyhow!("the stored OAuth sealing key is not 32 bytes"))?;
    let http = tessera_oauth::HttpClient::new(std::time::Duration::from_secs(10))
        .context("setting up TLS for provider calls")?;
    let providers = tessera_oauth::Providers::new(config.oauth_providers.clone(), &http)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Some(tessera_http::routes::oauth::OAuth {
        providers,
        sealer,
    }))
}

/// TOTP secrets are sealed with a key made once and kept in the database
/// (every instance opens what another sealed); passkeys are for the first
/// public origin's host (the RP ID), from any of the public origins.
async fn second_factors(config: &Config, stores: &Stores) -> anyhow::Result<SecondFactors> {
    let key = stores
        .secrets
        .get_or_create_secret("mfa-seal", &Sealer::generate_key())
        .await
        .context("loading the TOTP sealing key")?;
    SecondFactors::new(&key, &config.public_origins, &config.mail.app_name)
        .map_err(|e| anyhow::anyhow!(e))
}

/// Everything a running server holds.
#[derive(Debug, Clone)]
pub struct Server {
    pub auth: Auth,
    pub tokens: Arc<Tokens>,
    pub state: AppState,
    pub stores: Stores,
    /// Sends what the mail queue holds; [`Server::spawn_mailer`] runs it.
    pub mailer: tessera_mail::Mailer,
    /// Sends the webhook outbox, when webhooks are configured;
    /// [`Server::spawn_webhooks`] runs it.
    pub webhooks: Option<webhooks::Sender>,
    pub limits: ConnLimits,
}

impl Server {
    pub async fn build(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let stores = Stores::open(config).await?;
        let csrf_key = shared_key(&stores, "csrf", "the CSRF key").await?;
        let hasher = PasswordHasher::new(config.argon2, config.hash_workers, config.hash_queue)
            .context("setting up password hashing")?;
        let settings = auth_settings(config)?;
        let auth = Auth::new(
            AuthStores {
                users: stores.users.clone(),
                sessions: stores.sessions.clone(),
                limits: stores.limits.clone(),
                refresh: stores.refresh.clone(),
                identities: stores.identities.clone(),
                mail: stores.mail.clone(),
                mfa: stores.mfa.clone(),
                challenges: stores.challenges.clone(),
                audit: stores.audit.clone(),
                webhooks: stores.webhooks.clone(),
            },
            hasher,
            clock.clone(),
            settings,
            second_factors(config, &stores).await?,
        );
        let access_ttl = duration(config.access_token_ttl)?;
        let keys = Arc::new(
            KeyRing::open(
                stores.keys.clone(),
                clock,
                config.jwt_alg,
                access_ttl,
                duration(config.key_activation_delay)?,
            )
            .await
            .context("loading the signing keys")?,
        );
        let successor_key =
            shared_key(&stores, "refresh-successor", "the refresh-token key").await?;
        let tokens = Arc::new(Tokens::new(
            auth.clone(),
            keys,
            stores.refresh.clone(),
            successor_key,
            TokenSettings {
                issuer: config.jwt_issuer.clone(),
                audience: config.jwt_audience.clone(),
                access_ttl,
                refresh_ttl: duration(config.refresh_token_ttl)?,
                refresh_absolute_ttl: duration(config.refresh_absolute_ttl)?,
                reuse_grace: duration(config.refresh_reuse_grace)?,
                exchange_max_age: duration(config.exchange_max_age)?,
            },
        ));
        let state = AppState::new(
            auth.clone(),
            tokens.clone(),
            CsrfKey::from_bytes(csrf_key),
            HttpConfig {
                public_origins: config.public_origins.clone(),
                bff_key: config.bff_key.clone(),
                admin_key: config.admin_key.clone(),
                request_timeout: config.request_timeout,
            },
            Metrics::new(),
        );
        let state = match oauth(config, &stores).await? {
            Some(o) => state.with_oauth(o),
            None => state,
        };
        let metrics = state.metrics.clone();
        let mailer = mailer(config, &auth)?.observed(std::sync::Arc::new(move |kind, result| {
            metrics
                .mail
                .attempts
                .with_label_values(&[kind, result])
                .inc();
        }));
        let webhooks = webhook_sender(config, &auth, &state.metrics)?;
        Ok(Self {
            auth,
            tokens,
            state,
            stores,
            mailer,
            webhooks,
            limits: ConnLimits {
                header_read_timeout: config.header_read_timeout,
                max_connections: config.max_connections,
            },
        })
    }

    pub fn router(&self) -> impl tessera_http::AppService {
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

    /// Sends queued mail every `every`, until the task is dropped.
    pub fn spawn_mailer(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        self.mailer.clone().spawn(every)
    }

    /// Sends the webhook outbox until the task is dropped; `None` without
    /// webhooks configured.
    pub fn spawn_webhooks(&self) -> Option<tokio::task::JoinHandle<()>> {
        self.webhooks.clone().map(webhooks::Sender::spawn)
    }

    /// Rereads the signing keys every `every`, so a `tessera keys rotate`
    /// made anywhere reaches this instance.
    pub fn spawn_key_reloader(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let keys = self.tokens.keys().clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = keys.reload().await {
                    tracing::warn!(error = %e, "reloading signing keys failed; keeping the loaded ones");
                }
            }
        })
    }

    /// Serves on `listener` until `shutdown` completes, then finishes the
    /// requests in flight (see [`tessera_http::serve`]).
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        tessera_http::serve(self.router(), listener, self.limits, shutdown).await
    }
}

/// The flows' settings, from the configuration.
fn auth_settings(config: &Config) -> anyhow::Result<AuthSettings> {
    Ok(AuthSettings {
        sessions: SessionPolicy {
            idle_timeout: duration(config.session_idle_timeout)?,
            absolute_timeout: duration(config.session_absolute_timeout)?,
            activity_interval: duration(config.session_activity_interval)?,
        },
        login_limits: config.login_limits,
        registration: config.registration.clone(),
        mail: config.mail.policy,
        audit_retention: tessera_core::auth::AuditRetention(duration(config.audit_retention)?),
        webhooks: config.webhook.is_some(),
    })
}

/// The webhook sender, when webhooks are configured, counting its attempts.
fn webhook_sender(
    config: &Config,
    auth: &Auth,
    metrics: &Metrics,
) -> anyhow::Result<Option<webhooks::Sender>> {
    let Some(settings) = &config.webhook else {
        return Ok(None);
    };
    let metrics = metrics.clone();
    let observer = Arc::new(move |result: &'static str| {
        metrics
            .webhooks
            .deliveries
            .with_label_values(&[result])
            .inc();
    });
    Ok(Some(
        webhooks::Sender::new(auth.clone(), settings)?.observed(observer),
    ))
}

/// The mail queue's sender, as configured: SMTP, or the outbox folder in
/// the data dir.
fn mailer(config: &Config, auth: &Auth) -> anyhow::Result<tessera_mail::Mailer> {
    let mail = &config.mail;
    let transport = match &mail.smtp_url {
        Some(url) => tessera_mail::Transport::smtp(url.expose_secret())
            .map_err(|e| anyhow::anyhow!("{e}"))?,
        None => tessera_mail::Transport::outbox(&config.data_dir.join("outbox")),
    };
    let from = mail
        .from
        .parse()
        .map_err(|e| anyhow::anyhow!("TESSERA_MAIL_FROM: {e}"))?;
    Ok(tessera_mail::Mailer::new(
        auth.clone(),
        transport,
        tessera_mail::MailConfig {
            app_name: mail.app_name.clone(),
            from,
            links: mail.links.clone(),
        },
    ))
}

/// A 32-byte server secret shared by every instance: the stored one, or a
/// fresh random one stored now by whichever instance comes first.
async fn shared_key(stores: &Stores, name: &str, what: &str) -> anyhow::Result<[u8; 32]> {
    stores
        .secrets
        .get_or_create_secret(name, &tessera_core::token::random_bytes::<32>())
        .await
        .with_context(|| format!("loading {what}"))?
        .try_into()
        .map_err(|_| anyhow::anyhow!("{what} stored is not 32 bytes"))
}

fn duration(d: std::time::Duration) -> anyhow::Result<time::Duration> {
    time::Duration::try_from(d).context("duration out of range")
}
