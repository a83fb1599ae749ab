//! Settings: command-line flags beat `TESSERA_*` environment variables,
//! which beat the optional TOML config file, which beats the defaults.
//!
//! One struct, [`Settings`], is both the clap arguments (flag + env) and the
//! file's schema, so a setting cannot exist in one place and not the other.
// The field docs are `--help` text, where Markdown backticks would show.
#![allow(clippy::doc_markdown)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// A humantime duration (`30d`, `15m`, `4s`) from a flag, env var or file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl FromStr for Dur {
    type Err = humantime::DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        humantime::parse_duration(s).map(Dur)
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A secret setting (BFF key, database URL with its password): never
/// printed by `Debug`, `--help` or error messages.
#[derive(Clone)]
pub struct Secret(pub SecretString);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(SecretString::from(s.to_owned())))
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| Self(SecretString::from(s)))
    }
}

macro_rules! settings {
    ($( $(#[doc = $doc:literal])* $field:ident : $ty:ty = $env:literal ),* $(,)?) => {
        /// Every setting, each optional until [`Settings::resolve`].
        #[derive(Debug, Clone, Default, clap::Args, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct Settings {
            $( $(#[doc = $doc])* #[arg(long, env = $env, hide_env_values = true)] pub $field: Option<$ty>, )*
        }

        impl Settings {
            /// Fills what `self` lacks from `lower`.
            fn or(self, lower: Settings) -> Settings {
                Settings { $( $field: self.$field.or(lower.$field), )* }
            }
        }
    };
}

settings! {
    /// Address to listen on (`127.0.0.1:0` picks a free port) [default: 127.0.0.1:4000]
    listen: SocketAddr = "TESSERA_LISTEN",
    /// Directory for the SQLite database [default: ./data]
    data_dir: PathBuf = "TESSERA_DATA_DIR",
    /// Comma-separated origins allowed on unsafe requests [default: http://localhost:3000]
    public_origin: String = "TESSERA_PUBLIC_ORIGIN",
    /// Shared secret the BFF sends in Tessera-Bff-Key; required to listen beyond loopback
    bff_key: Secret = "TESSERA_BFF_KEY",
    /// File holding the BFF key (first line), instead of TESSERA_BFF_KEY
    bff_key_file: PathBuf = "TESSERA_BFF_KEY_FILE",
    /// Database for users and secrets: postgres://… or sqlite:… [default: tessera.db in the data dir]
    database_url: Secret = "TESSERA_DATABASE_URL",
    /// Session and rate-limit store: redis://… or redis+cluster://h1:p,h2:p [default: the database, counters in memory]
    session_store: Secret = "TESSERA_SESSION_STORE",
    /// Idle timeout of a session; slides while in use [default: 30d]
    session_idle_timeout: Dur = "TESSERA_SESSION_IDLE_TIMEOUT",
    /// Absolute lifetime of a session; never moves [default: 90d]
    session_absolute_timeout: Dur = "TESSERA_SESSION_ABSOLUTE_TIMEOUT",
    /// How stale last_seen_at may get before a whoami refreshes it [default: 1h]
    session_activity_interval: Dur = "TESSERA_SESSION_ACTIVITY_INTERVAL",
    /// How often expired sessions are deleted [default: 10m]
    session_sweep_interval: Dur = "TESSERA_SESSION_SWEEP_INTERVAL",
    /// Access token (JWT) lifetime [default: 5m]
    access_token_ttl: Dur = "TESSERA_ACCESS_TOKEN_TTL",
    /// Refresh token lifetime; each rotation starts a new one [default: 30d]
    refresh_token_ttl: Dur = "TESSERA_REFRESH_TOKEN_TTL",
    /// Longest a chain of refresh tokens lives, however often rotated [default: 90d]
    refresh_absolute_ttl: Dur = "TESSERA_REFRESH_ABSOLUTE_TTL",
    /// A spent refresh token presented again within this gets the same successor [default: 10s]
    refresh_reuse_grace: Dur = "TESSERA_REFRESH_REUSE_GRACE",
    /// JWT issuer (iss) [default: the first public origin]
    jwt_issuer: String = "TESSERA_JWT_ISSUER",
    /// JWT audience (aud) [default: tessera]
    jwt_audience: String = "TESSERA_JWT_AUDIENCE",
    /// Signing algorithm for new keys: EdDSA or ES256 [default: EdDSA]
    jwt_alg: String = "TESSERA_JWT_ALG",
    /// How long a rotated-in key is published before it signs; keep it above the JWKS max-age (300s) [default: 310s]
    key_activation_delay: Dur = "TESSERA_KEY_ACTIVATION_DELAY",
    /// Argon2id memory cost in KiB [default: 19456]
    argon2_m_cost: u32 = "TESSERA_ARGON2_M_COST",
    /// Argon2id iterations [default: 2]
    argon2_t_cost: u32 = "TESSERA_ARGON2_T_COST",
    /// Argon2id parallelism [default: 1]
    argon2_p_cost: u32 = "TESSERA_ARGON2_P_COST",
    /// Password hashes run at once [default: number of cores]
    hash_workers: usize = "TESSERA_HASH_WORKERS",
    /// Password hashes allowed to wait; beyond that 503 [default: 8 per worker]
    hash_queue: usize = "TESSERA_HASH_QUEUE",
    /// Failed logins per account per window before 429 [default: 10]
    login_max_failures_per_account: u64 = "TESSERA_LOGIN_MAX_FAILURES_PER_ACCOUNT",
    /// Failed logins per client IP per window before 429 [default: 100]
    login_max_failures_per_ip: u64 = "TESSERA_LOGIN_MAX_FAILURES_PER_IP",
    /// Window of the login failure counters [default: 15m]
    login_failure_window: Dur = "TESSERA_LOGIN_FAILURE_WINDOW",
    /// Registrations per client IP per window before 429 [default: 50]
    register_max_per_ip: u64 = "TESSERA_REGISTER_MAX_PER_IP",
    /// Window of the registration counter [default: 1h]
    register_window: Dur = "TESSERA_REGISTER_WINDOW",
    /// Longest a request may take before 408 [default: 30s]
    request_timeout: Dur = "TESSERA_REQUEST_TIMEOUT",
    /// A client must send its request headers within this, or is disconnected (slowloris) [default: 10s]
    header_read_timeout: Dur = "TESSERA_HEADER_READ_TIMEOUT",
    /// Connections served at once; more wait in the backlog [default: 10000]
    max_connections: usize = "TESSERA_MAX_CONNECTIONS",
    /// Comma-separated OAuth/OIDC provider names; each is set up by TESSERA_OAUTH_<NAME>_* variables or an [oauth.<name>] file table
    oauth_providers: String = "TESSERA_OAUTH_PROVIDERS",
    /// Base of the redirect URIs given to providers: {base}/{name}/callback [default: {first public origin}/api/auth/oauth]
    oauth_redirect_base: String = "TESSERA_OAUTH_REDIRECT_BASE",
    /// Log filter (tracing EnvFilter syntax) [default: info]
    log: String = "TESSERA_LOG",
}

/// Every setting with its value decided.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub public_origins: Vec<String>,
    pub bff_key: Option<SecretString>,
    pub database_url: Option<SecretString>,
    pub session_store: Option<SecretString>,
    pub session_idle_timeout: Duration,
    pub session_absolute_timeout: Duration,
    pub session_activity_interval: Duration,
    pub session_sweep_interval: Duration,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub refresh_reuse_grace: Duration,
    pub refresh_absolute_ttl: Duration,
    pub jwt_alg: tessera_core::keys::SigningAlg,
    pub key_activation_delay: Duration,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub argon2: tessera_core::Argon2Settings,
    pub hash_workers: usize,
    pub hash_queue: usize,
    pub login_limits: tessera_core::LoginLimits,
    pub request_timeout: Duration,
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    pub oauth_providers: Vec<tessera_oauth::ProviderConfig>,
    pub log: String,
}

const DAY: u64 = 24 * 60 * 60;

impl Settings {
    /// Merges flags/env (`self`) over the file at `file`, then defaults.
    pub fn resolve(self, file: Option<&Path>) -> anyhow::Result<Config> {
        let (from_file, oauth_tables) = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading config file {}", path.display()))?;
                let mut table = toml::from_str::<toml::Table>(&text)
                    .with_context(|| format!("parsing config file {}", path.display()))?;
                let oauth = match table.remove("oauth") {
                    Some(toml::Value::Table(t)) => t,
                    Some(_) => bail!("{}: `oauth` must be a table of providers", path.display()),
                    None => toml::Table::new(),
                };
                let settings = Settings::deserialize(toml::Value::Table(table))
                    .with_context(|| format!("parsing config file {}", path.display()))?;
                (settings, oauth)
            }
            None => (Settings::default(), toml::Table::new()),
        };
        let merged = self.or(from_file);
        let mut config = merged.clone().finish()?;
        config.oauth_providers = crate::oauth_config::providers(
            merged.oauth_providers.as_deref(),
            merged.oauth_redirect_base.as_deref(),
            &config.public_origins[0],
            &oauth_tables,
            &|name| std::env::var(name).ok(),
        )?;
        Ok(config)
    }

    fn login_limits(&self) -> tessera_core::LoginLimits {
        let d = tessera_core::LoginLimits::default();
        tessera_core::LoginLimits {
            max_failures_per_account: self
                .login_max_failures_per_account
                .unwrap_or(d.max_failures_per_account),
            max_failures_per_ip: self
                .login_max_failures_per_ip
                .unwrap_or(d.max_failures_per_ip),
            window: self.login_failure_window.map_or(d.window, |w| w.0),
            max_registrations_per_ip: self
                .register_max_per_ip
                .unwrap_or(d.max_registrations_per_ip),
            registration_window: self.register_window.map_or(d.registration_window, |w| w.0),
        }
    }

    fn finish(self) -> anyhow::Result<Config> {
        let login_limits = self.login_limits();
        let argon_default = tessera_core::Argon2Settings::default();
        let public_origins = parse_origins(self.public_origin.as_deref())?;
        let bff_key = read_bff_key(self.bff_key, self.bff_key_file)?;
        let session_store = self
            .session_store
            .map(|s| s.0)
            .filter(|s| !s.expose_secret().is_empty());
        if let Some(store) = &session_store {
            let url = store.expose_secret();
            if !(url.starts_with("redis://")
                || url.starts_with("rediss://")
                || url.starts_with("redis+cluster://"))
            {
                bail!(
                    "TESSERA_SESSION_STORE must be redis://, rediss:// or redis+cluster:// (or unset for the database)"
                );
            }
        }
        let idle = self
            .session_idle_timeout
            .map_or(Duration::from_secs(30 * DAY), |d| d.0);
        let absolute = self
            .session_absolute_timeout
            .map_or(Duration::from_secs(90 * DAY), |d| d.0);
        if idle.is_zero() || absolute.is_zero() {
            bail!("session timeouts must be longer than zero");
        }
        let workers = self
            .hash_workers
            .unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
            })
            .max(1);
        Ok(Config {
            listen: self
                .listen
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 4000))),
            data_dir: self.data_dir.unwrap_or_else(|| PathBuf::from("./data")),
            jwt_issuer: self.jwt_issuer.unwrap_or_else(|| public_origins[0].clone()),
            public_origins,
            bff_key: bff_key.map(SecretString::from),
            database_url: self
                .database_url
                .map(|u| u.0)
                .filter(|u| !u.expose_secret().is_empty()),
            session_store,
            session_idle_timeout: idle,
            session_absolute_timeout: absolute,
            session_activity_interval: self
                .session_activity_interval
                .map_or(Duration::from_hours(1), |d| d.0),
            session_sweep_interval: self
                .session_sweep_interval
                .map_or(Duration::from_mins(10), |d| d.0),
            access_token_ttl: self
                .access_token_ttl
                .map_or(Duration::from_mins(5), |d| d.0),
            refresh_token_ttl: self
                .refresh_token_ttl
                .map_or(Duration::from_secs(30 * DAY), |d| d.0),
            refresh_reuse_grace: self
                .refresh_reuse_grace
                .map_or(Duration::from_secs(10), |d| d.0),
            jwt_audience: self.jwt_audience.unwrap_or_else(|| "tessera".into()),
            refresh_absolute_ttl: self
                .refresh_absolute_ttl
                .map_or(Duration::from_secs(90 * DAY), |d| d.0),
            key_activation_delay: self
                .key_activation_delay
                .map_or(Duration::from_secs(310), |d| d.0),
            jwt_alg: parse_alg(self.jwt_alg.as_deref())?,
            argon2: tessera_core::Argon2Settings {
                m_cost: self.argon2_m_cost.unwrap_or(argon_default.m_cost),
                t_cost: self.argon2_t_cost.unwrap_or(argon_default.t_cost),
                p_cost: self.argon2_p_cost.unwrap_or(argon_default.p_cost),
            },
            hash_workers: workers,
            hash_queue: self.hash_queue.unwrap_or(workers * 8),
            login_limits,
            request_timeout: self
                .request_timeout
                .map_or(Duration::from_secs(30), |d| d.0),
            header_read_timeout: self
                .header_read_timeout
                .map_or(Duration::from_secs(10), |d| d.0),
            max_connections: self.max_connections.unwrap_or(10_000),
            oauth_providers: Vec::new(),
            log: self.log.unwrap_or_else(|| "info".into()),
        })
    }
}

fn parse_alg(raw: Option<&str>) -> anyhow::Result<tessera_core::keys::SigningAlg> {
    match raw {
        None | Some("EdDSA") => Ok(tessera_core::keys::SigningAlg::EdDsa),
        Some("ES256") => Ok(tessera_core::keys::SigningAlg::Es256),
        Some(other) => bail!("TESSERA_JWT_ALG={other:?}: use EdDSA or ES256"),
    }
}

fn parse_origins(raw: Option<&str>) -> anyhow::Result<Vec<String>> {
    let origins: Vec<String> = raw
        .unwrap_or("http://localhost:3000")
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(str::to_owned)
        .collect();
    if origins.is_empty() {
        bail!("TESSERA_PUBLIC_ORIGIN names no origin");
    }
    for o in &origins {
        if !(o.starts_with("http://") || o.starts_with("https://"))
            || o.trim_end_matches('/').matches('/').count() != 2
        {
            bail!("TESSERA_PUBLIC_ORIGIN: {o:?} is not an origin like https://app.example.com");
        }
    }
    Ok(origins)
}

fn read_bff_key(key: Option<Secret>, file: Option<PathBuf>) -> anyhow::Result<Option<String>> {
    let key = match (key, file) {
        (Some(k), _) => Some(k.0.expose_secret().to_owned()),
        (None, Some(path)) => Some(
            std::fs::read_to_string(&path)
                .with_context(|| format!("reading BFF key file {}", path.display()))?
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned(),
        ),
        (None, None) => None,
    };
    if let Some(k) = &key
        && k.len() < 16
    {
        bail!("the BFF key must be at least 16 characters (use e.g. `openssl rand -hex 32`)");
    }
    Ok(key)
}

impl Config {
    /// Defaults, for tests and embedding.
    pub fn defaults() -> anyhow::Result<Self> {
        Settings::default().finish()
    }

    /// With no BFF key, listening anywhere but loopback would let any
    /// browser on the network talk to tessera directly.
    pub fn check_listen(&self) -> anyhow::Result<()> {
        if self.bff_key.is_none() && !self.listen.ip().is_loopback() {
            bail!(
                "refusing to listen on {} without a BFF key: anyone on the network could call tessera directly. \
                 Set TESSERA_BFF_KEY (or --bff-key / TESSERA_BFF_KEY_FILE) to a long random secret shared with \
                 your Next.js app, or listen on 127.0.0.1",
                self.listen
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_env_beat_the_file_which_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tessera.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:5000\"\nsession_idle_timeout = \"2h\"\nargon2_t_cost = 3\n",
        )
        .unwrap();
        let cli = Settings {
            listen: Some("127.0.0.1:6000".parse().unwrap()),
            ..Settings::default()
        };
        let c = cli.resolve(Some(&file)).unwrap();
        assert_eq!(c.listen.port(), 6000, "flag wins over file");
        assert_eq!(
            c.session_idle_timeout,
            Duration::from_hours(2),
            "file wins over default"
        );
        assert_eq!(c.argon2.t_cost, 3);
        assert_eq!(
            c.session_absolute_timeout,
            Duration::from_secs(90 * DAY),
            "default"
        );
    }

    #[test]
    fn unknown_file_keys_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tessera.toml");
        std::fs::write(&file, "lisen = \"127.0.0.1:5000\"\n").unwrap();
        assert!(Settings::default().resolve(Some(&file)).is_err());
    }

    #[test]
    fn no_bff_key_means_loopback_only() {
        let mut c = Config::defaults().unwrap();
        c.listen = "0.0.0.0:4000".parse().unwrap();
        let err = c.check_listen().unwrap_err().to_string();
        assert!(err.contains("TESSERA_BFF_KEY"), "{err}");
        c.bff_key = Some("0123456789abcdef0123".to_owned().into());
        assert!(c.check_listen().is_ok());
        c.bff_key = None;
        c.listen = "[::1]:4000".parse().unwrap();
        assert!(c.check_listen().is_ok());
    }

    #[test]
    fn origins_are_checked() {
        let s = Settings {
            public_origin: Some("http://localhost:3000, https://app.example.com".into()),
            ..Settings::default()
        };
        assert_eq!(s.finish().unwrap().public_origins.len(), 2);
        let s = Settings {
            public_origin: Some("localhost:3000".into()),
            ..Settings::default()
        };
        assert!(s.finish().is_err());
        let s = Settings {
            public_origin: Some("https://app.example.com/path".into()),
            ..Settings::default()
        };
        assert!(s.finish().is_err());
    }
}
