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
    /// Address to listen on (`127.0.0.1:0` picks a free port)
    listen: SocketAddr = "TESSERA_LISTEN",
    /// Directory for the SQLite database
    data_dir: PathBuf = "TESSERA_DATA_DIR",
    /// Comma-separated origins allowed on unsafe requests
    public_origin: String = "TESSERA_PUBLIC_ORIGIN",
    /// Shared secret the BFF sends in Tessera-Bff-Key; required to listen beyond loopback
    bff_key: Secret = "TESSERA_BFF_KEY",
    /// File holding the BFF key (first line), instead of TESSERA_BFF_KEY
    bff_key_file: PathBuf = "TESSERA_BFF_KEY_FILE",
    /// Secret a server-to-server caller sends in Tessera-Admin-Key for /v1/admin/* (≥ 32 chars; never through the BFF)
    admin_key: Secret = "TESSERA_ADMIN_KEY",
    /// Database for users and secrets: postgres://… or sqlite:…
    database_url: Secret = "TESSERA_DATABASE_URL",
    /// Session and rate-limit store: redis://… or redis+cluster://h1:p,h2:p
    session_store: Secret = "TESSERA_SESSION_STORE",
    /// Idle timeout of a session; slides while in use
    session_idle_timeout: Dur = "TESSERA_SESSION_IDLE_TIMEOUT",
    /// Absolute lifetime of a session; never moves
    session_absolute_timeout: Dur = "TESSERA_SESSION_ABSOLUTE_TIMEOUT",
    /// How stale last_seen_at may get before a whoami refreshes it
    session_activity_interval: Dur = "TESSERA_SESSION_ACTIVITY_INTERVAL",
    /// How often expired sessions, and refresh-token families past their
    /// absolute expiry, are deleted
    session_sweep_interval: Dur = "TESSERA_SESSION_SWEEP_INTERVAL",
    /// Audit events older than this are deleted (by the sweep)
    audit_retention: Dur = "TESSERA_AUDIT_RETENTION",
    /// Access token (JWT) lifetime
    access_token_ttl: Dur = "TESSERA_ACCESS_TOKEN_TTL",
    /// Refresh token lifetime; each rotation starts a new one
    refresh_token_ttl: Dur = "TESSERA_REFRESH_TOKEN_TTL",
    /// Longest a chain of refresh tokens lives, however often rotated
    refresh_absolute_ttl: Dur = "TESSERA_REFRESH_ABSOLUTE_TTL",
    /// A spent refresh token presented again within this gets the same successor
    refresh_reuse_grace: Dur = "TESSERA_REFRESH_REUSE_GRACE",
    /// The token exchange takes a provider id_token issued at most this long ago, and each only once
    exchange_max_age: Dur = "TESSERA_EXCHANGE_MAX_AGE",
    /// JWT issuer (iss)
    jwt_issuer: String = "TESSERA_JWT_ISSUER",
    /// JWT audience (aud)
    jwt_audience: String = "TESSERA_JWT_AUDIENCE",
    /// Signing algorithm for new keys: EdDSA or ES256
    jwt_alg: String = "TESSERA_JWT_ALG",
    /// How long a rotated-in key is published before it signs; keep it above the JWKS max-age (300s)
    key_activation_delay: Dur = "TESSERA_KEY_ACTIVATION_DELAY",
    /// Argon2id memory cost in KiB
    argon2_m_cost: u32 = "TESSERA_ARGON2_M_COST",
    /// Argon2id iterations
    argon2_t_cost: u32 = "TESSERA_ARGON2_T_COST",
    /// Argon2id parallelism
    argon2_p_cost: u32 = "TESSERA_ARGON2_P_COST",
    /// Password hashes run at once
    hash_workers: usize = "TESSERA_HASH_WORKERS",
    /// Password hashes allowed to wait; beyond that 503
    hash_queue: usize = "TESSERA_HASH_QUEUE",
    /// Failed logins per account per window before 429
    login_max_failures_per_account: u64 = "TESSERA_LOGIN_MAX_FAILURES_PER_ACCOUNT",
    /// Failed logins per client IP per window before 429
    login_max_failures_per_ip: u64 = "TESSERA_LOGIN_MAX_FAILURES_PER_IP",
    /// Window of the login failure counters
    login_failure_window: Dur = "TESSERA_LOGIN_FAILURE_WINDOW",
    /// Registrations per client IP per window before 429
    register_max_per_ip: u64 = "TESSERA_REGISTER_MAX_PER_IP",
    /// Window of the registration counter
    register_window: Dur = "TESSERA_REGISTER_WINDOW",
    /// Longest a request may take before 408
    request_timeout: Dur = "TESSERA_REQUEST_TIMEOUT",
    /// A client must send its request headers within this, or is disconnected (slowloris)
    header_read_timeout: Dur = "TESSERA_HEADER_READ_TIMEOUT",
    /// Connections served at once; more wait in the backlog
    max_connections: usize = "TESSERA_MAX_CONNECTIONS",
    /// Who may sign up: open, or closed (only `tessera user create`; providers already linked still sign in)
    registration: String = "TESSERA_REGISTRATION",
    /// Comma-separated email domains new users must be at (password and provider sign-ups)
    registration_email_domains: String = "TESSERA_REGISTRATION_EMAIL_DOMAINS",
    /// SMTP server for mail: smtps://user:pass@host:465, smtp://host:587 (STARTTLS required) or smtp+insecure://127.0.0.1:2525 (loopback only)
    smtp_url: Secret = "TESSERA_SMTP_URL",
    /// Sender of every mail, e.g. "Acme <no-reply@acme.example>"
    mail_from: String = "TESSERA_MAIL_FROM",
    /// The product name in mail subjects and text
    app_name: String = "TESSERA_APP_NAME",
    /// Email verification: off, send (a link on sign-up) or required (also no sign-in before it)
    email_verification: String = "TESSERA_EMAIL_VERIFICATION",
    /// Path of the app's page that verifies an address (links are {first public origin}{path}?token=…)
    verify_email_path: String = "TESSERA_VERIFY_EMAIL_PATH",
    /// Path of the app's page that sets a new password from a reset link
    reset_password_path: String = "TESSERA_RESET_PASSWORD_PATH",
    /// Path of the app's page that confirms an email change
    confirm_email_path: String = "TESSERA_CONFIRM_EMAIL_PATH",
    /// Forgot-password and resend requests per address per window; more are answered the same and send nothing
    mail_max_per_address: u64 = "TESSERA_MAIL_MAX_PER_ADDRESS",
    /// Forgot-password and resend requests per client IP per window before 429
    mail_max_per_ip: u64 = "TESSERA_MAIL_MAX_PER_IP",
    /// Window of the mail request counters
    mail_window: Dur = "TESSERA_MAIL_WINDOW",
    /// How often the mail queue is checked for mail to send
    mail_queue_interval: Dur = "TESSERA_MAIL_QUEUE_INTERVAL",
    /// Comma-separated OAuth/OIDC provider names; each is set up by TESSERA_OAUTH_<NAME>_* variables or an [oauth.<name>] file table
    oauth_providers: String = "TESSERA_OAUTH_PROVIDERS",
    /// Base of the redirect URIs given to providers: {base}/{name}/callback
    oauth_redirect_base: String = "TESSERA_OAUTH_REDIRECT_BASE",
    /// Endpoint every audit event is POSTed to, signed as Standard Webhooks says (https://, or http:// to loopback); needs TESSERA_WEBHOOK_SECRET
    webhook_url: String = "TESSERA_WEBHOOK_URL",
    /// Signing secret of the webhooks: whsec_ and the base64 of 24 to 64 random bytes (`tessera webhooks secret` makes one)
    webhook_secret: Secret = "TESSERA_WEBHOOK_SECRET",
    /// Longest one webhook delivery may take; a message being sent is held for three times this
    webhook_timeout: Dur = "TESSERA_WEBHOOK_TIMEOUT",
    /// Log filter (tracing EnvFilter syntax)
    log: String = "TESSERA_LOG",
}

/// The default of every setting that has one: the only place each is
/// written (the domain's own defaults where it has them). `--help` shows
/// them from here ([`with_defaults_in_help`]), and [`Settings::resolve`]
/// fills from here what neither flags, env nor file set.
struct Defaults {
    listen: SocketAddr,
    data_dir: &'static str,
    public_origin: &'static str,
    sessions: tessera_core::SessionPolicy,
    session_sweep_interval: Duration,
    audit_retention: Duration,
    access_token_ttl: Duration,
    refresh_token_ttl: Duration,
    refresh_absolute_ttl: Duration,
    refresh_reuse_grace: Duration,
    exchange_max_age: Duration,
    jwt_audience: &'static str,
    jwt_alg: &'static str,
    key_activation_delay: Duration,
    argon2: tessera_core::Argon2Settings,
    /// Waiting hashes allowed per hash worker.
    hash_queue_per_worker: usize,
    login_limits: tessera_core::LoginLimits,
    request_timeout: Duration,
    header_read_timeout: Duration,
    max_connections: usize,
    app_name: &'static str,
    links: tessera_mail::Links,
    mail: tessera_core::MailPolicy,
    mail_queue_interval: Duration,
    webhook_timeout: Duration,
    log: &'static str,
}

fn defaults() -> Defaults {
    Defaults {
        listen: SocketAddr::from(([127, 0, 0, 1], 4000)),
        data_dir: "./data",
        public_origin: "http://localhost:3000",
        sessions: tessera_core::SessionPolicy::default(),
        session_sweep_interval: Duration::from_mins(10),
        audit_retention: Duration::from_secs(400 * DAY),
        access_token_ttl: Duration::from_mins(5),
        refresh_token_ttl: Duration::from_secs(30 * DAY),
        refresh_absolute_ttl: Duration::from_secs(90 * DAY),
        refresh_reuse_grace: Duration::from_secs(10),
        exchange_max_age: Duration::from_mins(10),
        jwt_audience: "tessera",
        jwt_alg: "EdDSA",
        // Above the JWKS max-age (300 s), so every cache has the key
        // before it signs.
        key_activation_delay: Duration::from_secs(310),
        argon2: tessera_core::Argon2Settings::default(),
        hash_queue_per_worker: 8,
        login_limits: tessera_core::LoginLimits::default(),
        request_timeout: Duration::from_secs(30),
        header_read_timeout: Duration::from_secs(10),
        max_connections: 10_000,
        app_name: "Tessera",
        links: tessera_mail::Links::default(),
        mail: tessera_core::MailPolicy::default(),
        mail_queue_interval: Duration::from_secs(1),
        webhook_timeout: Duration::from_secs(10),
        log: "info",
    }
}

impl Defaults {
    /// The default of the setting `id` (a [`Settings`] field) as `--help`
    /// shows it; `None` for a setting without one.
    fn shown(&self, id: &str) -> Option<String> {
        let l = &self.login_limits;
        Some(match id {
            "listen" => self.listen.to_string(),
            "data_dir" => self.data_dir.into(),
            "public_origin" => self.public_origin.into(),
            "database_url" => "tessera.db in the data dir".into(),
            "session_store" => "the database, counters in memory".into(),
            "session_idle_timeout" => show_time(self.sessions.idle_timeout),
            "session_absolute_timeout" => show_time(self.sessions.absolute_timeout),
            "session_activity_interval" => show_time(self.sessions.activity_interval),
            "session_sweep_interval" => show(self.session_sweep_interval),
            "audit_retention" => show(self.audit_retention),
            "access_token_ttl" => show(self.access_token_ttl),
            "refresh_token_ttl" => show(self.refresh_token_ttl),
            "refresh_absolute_ttl" => show(self.refresh_absolute_ttl),
            "refresh_reuse_grace" => show(self.refresh_reuse_grace),
            "exchange_max_age" => show(self.exchange_max_age),
            "jwt_issuer" => "the first public origin".into(),
            "jwt_audience" => self.jwt_audience.into(),
            "jwt_alg" => self.jwt_alg.into(),
            "key_activation_delay" => show(self.key_activation_delay),
            "argon2_m_cost" => self.argon2.m_cost.to_string(),
            "argon2_t_cost" => self.argon2.t_cost.to_string(),
            "argon2_p_cost" => self.argon2.p_cost.to_string(),
            "hash_workers" => "number of cores".into(),
            "hash_queue" => format!("{} per worker", self.hash_queue_per_worker),
            "login_max_failures_per_account" => l.max_failures_per_account.to_string(),
            "login_max_failures_per_ip" => l.max_failures_per_ip.to_string(),
            "login_failure_window" => show(l.window),
            "register_max_per_ip" => l.max_registrations_per_ip.to_string(),
            "register_window" => show(l.registration_window),
            "request_timeout" => show(self.request_timeout),
            "header_read_timeout" => show(self.header_read_timeout),
            "max_connections" => self.max_connections.to_string(),
            "registration" => "open".into(),
            "registration_email_domains" => "any".into(),
            "oauth_redirect_base" => "{first public origin}/api/auth/oauth".into(),
            "smtp_url" => "none: each mail is an .eml file in {data dir}/outbox".into(),
            "mail_from" => "{app name} <no-reply@{host of the first public origin}>".into(),
            "app_name" => self.app_name.into(),
            "email_verification" => self.mail.verification.as_str().into(),
            "verify_email_path" => self.links.verify_path.clone(),
            "reset_password_path" => self.links.reset_path.clone(),
            "confirm_email_path" => self.links.confirm_path.clone(),
            "mail_max_per_address" => self.mail.limits.max_per_address.to_string(),
            "mail_max_per_ip" => self.mail.limits.max_per_ip.to_string(),
            "mail_window" => show(self.mail.limits.window),
            "mail_queue_interval" => show(self.mail_queue_interval),
            "webhook_url" => "none: no webhooks".into(),
            "webhook_timeout" => show(self.webhook_timeout),
            "log" => self.log.into(),
            _ => return None,
        })
    }
}

/// A duration in the largest whole unit, as a setting would be written
/// (`30d`, `1h`, `310s`).
fn show(d: Duration) -> String {
    let secs = d.as_secs();
    for (unit, len) in [("d", DAY), ("h", 3600), ("m", 60)] {
        if secs >= len && secs.is_multiple_of(len) {
            return format!("{}{unit}", secs / len);
        }
    }
    format!("{secs}s")
}

fn show_time(d: time::Duration) -> String {
    show(std_duration(d))
}

fn std_duration(d: time::Duration) -> Duration {
    Duration::try_from(d).unwrap_or_default()
}

/// `command` (and its subcommands) with each setting's default at the end
/// of its help, from [`defaults`].
pub fn with_defaults_in_help(command: clap::Command) -> clap::Command {
    let d = defaults();
    command
        .mut_args(|arg| {
            let Some(default) = d.shown(arg.get_id().as_str()) else {
                return arg;
            };
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            arg.help(format!("{help} [default: {default}]"))
        })
        .mut_subcommands(with_defaults_in_help)
}

/// Every setting with its value decided.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub public_origins: Vec<String>,
    pub bff_key: Option<SecretString>,
    pub admin_key: Option<SecretString>,
    pub database_url: Option<SecretString>,
    pub session_store: Option<SecretString>,
    pub session_idle_timeout: Duration,
    pub session_absolute_timeout: Duration,
    pub session_activity_interval: Duration,
    pub session_sweep_interval: Duration,
    pub audit_retention: Duration,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub refresh_reuse_grace: Duration,
    pub exchange_max_age: Duration,
    pub refresh_absolute_ttl: Duration,
    pub jwt_alg: tessera_core::keys::SigningAlg,
    pub key_activation_delay: Duration,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub argon2: tessera_core::Argon2Settings,
    pub hash_workers: usize,
    pub hash_queue: usize,
    pub login_limits: tessera_core::LoginLimits,
    pub registration: tessera_core::RegistrationPolicy,
    pub request_timeout: Duration,
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    pub oauth_providers: Vec<tessera_oauth::ProviderConfig>,
    pub mail: MailSettings,
    /// `None`: no webhooks.
    pub webhook: Option<WebhookSettings>,
    pub log: String,
}

/// Where audit events are sent, and how they are signed.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    pub url: url::Url,
    /// `whsec_…`, checked to decode to 24–64 bytes.
    pub secret: SecretString,
    pub timeout: Duration,
}

/// The shortest and longest webhook secret, in bytes (what the Standard
/// Webhooks spec recommends).
const WEBHOOK_SECRET_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// Mail: how it leaves, what it says, where its links point.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `None`: mails go to `{data dir}/outbox`.
    pub smtp_url: Option<SecretString>,
    pub from: String,
    pub app_name: String,
    pub links: tessera_mail::Links,
    pub policy: tessera_core::MailPolicy,
    pub queue_interval: Duration,
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

    fn login_limits(&self, d: tessera_core::LoginLimits) -> tessera_core::LoginLimits {
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

    /// The mail settings: where mail goes, what it says, where its links
    /// point, and the verification mode and limits.
    fn mail_settings(
        &self,
        d: &Defaults,
        public_origins: &[String],
    ) -> anyhow::Result<MailSettings> {
        let app_name = self.app_name.clone().unwrap_or_else(|| d.app_name.into());
        let mail_from = if let Some(from) = self.mail_from.clone() {
            from
        } else {
            {
                let host = public_origins[0]
                    .split("://")
                    .nth(1)
                    .unwrap_or("localhost")
                    .split([':', '/'])
                    .next()
                    .unwrap_or("localhost")
                    .to_owned();
                format!("{app_name} <no-reply@{host}>")
            }
        };
        if mail_from.parse::<tessera_mail::Mailbox>().is_err() {
            bail!(
                "TESSERA_MAIL_FROM={mail_from:?} is not a mail address like \"Acme <no-reply@acme.example>\""
            );
        }
        let path = |v: Option<String>, default: &str, name: &str| -> anyhow::Result<String> {
            let p = v.unwrap_or_else(|| default.to_owned());
            if !p.starts_with('/') || p.starts_with("//") || p.contains(['?', '#', '\\']) {
                bail!("{name}={p:?} must be a path like /reset-password");
            }
            Ok(p)
        };
        let links = tessera_mail::Links {
            origin: public_origins[0].trim_end_matches('/').to_owned(),
            verify_path: path(
                self.verify_email_path.clone(),
                &d.links.verify_path,
                "TESSERA_VERIFY_EMAIL_PATH",
            )?,
            reset_path: path(
                self.reset_password_path.clone(),
                &d.links.reset_path,
                "TESSERA_RESET_PASSWORD_PATH",
            )?,
            confirm_path: path(
                self.confirm_email_path.clone(),
                &d.links.confirm_path,
                "TESSERA_CONFIRM_EMAIL_PATH",
            )?,
        };
        let verification = match self.email_verification.as_deref().map(str::trim) {
            None | Some("") => d.mail.verification,
            Some(v) => tessera_core::mail::Verification::parse(v).with_context(|| {
                format!("TESSERA_EMAIL_VERIFICATION={v:?}: use off, send or required")
            })?,
        };
        let policy = tessera_core::MailPolicy {
            verification,
            limits: tessera_core::mail::MailLimits {
                max_per_address: self
                    .mail_max_per_address
                    .unwrap_or(d.mail.limits.max_per_address),
                max_per_ip: self.mail_max_per_ip.unwrap_or(d.mail.limits.max_per_ip),
                window: self.mail_window.map_or(d.mail.limits.window, |w| w.0),
                ..d.mail.limits
            },
        };
        let smtp_url = self
            .smtp_url
            .clone()
            .map(|u| u.0)
            .filter(|u| !u.expose_secret().is_empty());
        if let Some(url) = &smtp_url {
            tessera_mail::Transport::smtp(url.expose_secret())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        Ok(MailSettings {
            smtp_url,
            from: mail_from,
            app_name,
            links,
            policy,
            queue_interval: self
                .mail_queue_interval
                .map_or(d.mail_queue_interval, |v| v.0),
        })
    }

    /// The webhook endpoint and secret: both or neither. An `http://`
    /// endpoint must be on loopback (events name users and addresses), and
    /// a secret must be one the spec's libraries accept.
    fn webhook_settings(&self, d: &Defaults) -> anyhow::Result<Option<WebhookSettings>> {
        let url = self
            .webhook_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty());
        let secret = self
            .webhook_secret
            .as_ref()
            .map(|s| s.0.expose_secret().trim().to_owned())
            .filter(|s| !s.is_empty());
        let (url, secret) = match (url, secret) {
            (None, None) => return Ok(None),
            (Some(_), None) => bail!(
                "TESSERA_WEBHOOK_URL needs TESSERA_WEBHOOK_SECRET (`tessera webhooks secret` makes one)"
            ),
            (None, Some(_)) => bail!("TESSERA_WEBHOOK_SECRET is set without TESSERA_WEBHOOK_URL"),
            (Some(u), Some(s)) => (u, s),
        };
        let parsed = url::Url::parse(url)
            .with_context(|| format!("TESSERA_WEBHOOK_URL={url:?} is not a URL"))?;
        let loopback = match parsed.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => bail!("TESSERA_WEBHOOK_URL={url:?} has no host"),
        };
        match parsed.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => bail!(
                "TESSERA_WEBHOOK_URL={url:?}: use https:// (http:// only to a loopback address): events name users and their addresses"
            ),
            other => bail!("TESSERA_WEBHOOK_URL={url:?}: {other}:// is not http(s)"),
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            bail!(
                "TESSERA_WEBHOOK_URL must not hold credentials: the signature authenticates tessera"
            );
        }
        check_webhook_secret(&secret)?;
        Ok(Some(WebhookSettings {
            url: parsed,
            secret: SecretString::from(secret),
            timeout: self.webhook_timeout.map_or(d.webhook_timeout, |v| v.0),
        }))
    }

    fn finish(self) -> anyhow::Result<Config> {
        let d = defaults();
        let login_limits = self.login_limits(d.login_limits);
        let argon_default = d.argon2;
        let public_origins =
            parse_origins(self.public_origin.as_deref().unwrap_or(d.public_origin))?;
        let mail = self.mail_settings(&d, &public_origins)?;
        let webhook = self.webhook_settings(&d)?;
        let bff_key = read_bff_key(self.bff_key, self.bff_key_file)?;
        let session_store = session_store(self.session_store)?;
        let idle = self
            .session_idle_timeout
            .map_or(std_duration(d.sessions.idle_timeout), |v| v.0);
        let absolute = self
            .session_absolute_timeout
            .map_or(std_duration(d.sessions.absolute_timeout), |v| v.0);
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
            listen: self.listen.unwrap_or(d.listen),
            data_dir: self.data_dir.unwrap_or_else(|| PathBuf::from(d.data_dir)),
            jwt_issuer: self.jwt_issuer.unwrap_or_else(|| public_origins[0].clone()),
            public_origins,
            bff_key: bff_key.map(SecretString::from),
            admin_key: match self.admin_key.map(|k| k.0) {
                Some(k) if k.expose_secret().len() < 32 => {
                    bail!(
                        "the admin key must be at least 32 characters (use e.g. `openssl rand -hex 32`)"
                    )
                }
                other => other,
            },
            database_url: self
                .database_url
                .map(|u| u.0)
                .filter(|u| !u.expose_secret().is_empty()),
            session_store,
            session_idle_timeout: idle,
            session_absolute_timeout: absolute,
            session_activity_interval: self
                .session_activity_interval
                .map_or(std_duration(d.sessions.activity_interval), |v| v.0),
            session_sweep_interval: self
                .session_sweep_interval
                .map_or(d.session_sweep_interval, |v| v.0),
            audit_retention: self.audit_retention.map_or(d.audit_retention, |v| v.0),
            access_token_ttl: self.access_token_ttl.map_or(d.access_token_ttl, |v| v.0),
            refresh_token_ttl: self.refresh_token_ttl.map_or(d.refresh_token_ttl, |v| v.0),
            refresh_reuse_grace: self
                .refresh_reuse_grace
                .map_or(d.refresh_reuse_grace, |v| v.0),
            exchange_max_age: self.exchange_max_age.map_or(d.exchange_max_age, |v| v.0),
            jwt_audience: self.jwt_audience.unwrap_or_else(|| d.jwt_audience.into()),
            refresh_absolute_ttl: self
                .refresh_absolute_ttl
                .map_or(d.refresh_absolute_ttl, |v| v.0),
            key_activation_delay: self
                .key_activation_delay
                .map_or(d.key_activation_delay, |v| v.0),
            jwt_alg: parse_alg(self.jwt_alg.as_deref().unwrap_or(d.jwt_alg))?,
            argon2: tessera_core::Argon2Settings {
                m_cost: self.argon2_m_cost.unwrap_or(argon_default.m_cost),
                t_cost: self.argon2_t_cost.unwrap_or(argon_default.t_cost),
                p_cost: self.argon2_p_cost.unwrap_or(argon_default.p_cost),
            },
            hash_workers: workers,
            hash_queue: self.hash_queue.unwrap_or(workers * d.hash_queue_per_worker),
            login_limits,
            registration: parse_registration(
                self.registration.as_deref(),
                self.registration_email_domains.as_deref(),
            )?,
            request_timeout: self.request_timeout.map_or(d.request_timeout, |v| v.0),
            header_read_timeout: self
                .header_read_timeout
                .map_or(d.header_read_timeout, |v| v.0),
            max_connections: self.max_connections.unwrap_or(d.max_connections),
            oauth_providers: Vec::new(),
            mail,
            webhook,
            log: self.log.unwrap_or_else(|| d.log.into()),
        })
    }
}

/// A secret is `whsec_` and the standard base64 of 24 to 64 bytes.
pub fn check_webhook_secret(secret: &str) -> anyhow::Result<()> {
    use base64::Engine as _;
    let bytes = secret
        .strip_prefix("whsec_")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .context("TESSERA_WEBHOOK_SECRET must be whsec_ and base64 (`tessera webhooks secret` makes one)")?;
    if !WEBHOOK_SECRET_BYTES.contains(&bytes.len()) {
        bail!(
            "TESSERA_WEBHOOK_SECRET holds {} bytes; use 24 to 64 random bytes (`tessera webhooks secret` makes one)",
            bytes.len()
        );
    }
    Ok(())
}

/// A Redis URL, or `None` for the database.
fn session_store(setting: Option<Secret>) -> anyhow::Result<Option<SecretString>> {
    let store = setting
        .map(|s| s.0)
        .filter(|s| !s.expose_secret().is_empty());
    if let Some(store) = &store {
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
    Ok(store)
}

fn parse_alg(raw: &str) -> anyhow::Result<tessera_core::keys::SigningAlg> {
    match raw {
        "EdDSA" => Ok(tessera_core::keys::SigningAlg::EdDsa),
        "ES256" => Ok(tessera_core::keys::SigningAlg::Es256),
        other => bail!("TESSERA_JWT_ALG={other:?}: use EdDSA or ES256"),
    }
}

fn parse_registration(
    mode: Option<&str>,
    domains: Option<&str>,
) -> anyhow::Result<tessera_core::RegistrationPolicy> {
    let open = match mode.map(str::trim) {
        None | Some("" | "open") => true,
        Some("closed") => false,
        Some(other) => bail!("TESSERA_REGISTRATION={other:?}: use open or closed"),
    };
    let mut email_domains = Vec::new();
    for d in domains.unwrap_or("").split(',').map(str::trim) {
        if d.is_empty() {
            continue;
        }
        let d = d.trim_start_matches('@').to_lowercase();
        if d.contains(['@', '/', ' ']) || !d.contains('.') {
            bail!("TESSERA_REGISTRATION_EMAIL_DOMAINS: {d:?} is not a domain like example.com");
        }
        email_domains.push(d);
    }
    Ok(tessera_core::RegistrationPolicy {
        open,
        email_domains,
    })
}

/// Refuses what is not one origin (or a comma-separated list of them).
pub fn check_origin(raw: &str) -> anyhow::Result<()> {
    parse_origins(raw).map(|_| ())
}

fn parse_origins(raw: &str) -> anyhow::Result<Vec<String>> {
    let origins: Vec<String> = raw
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

    /// The settings that have no default (unset means "none").
    const WITHOUT_DEFAULT: [&str; 5] = [
        "bff_key",
        "bff_key_file",
        "admin_key",
        "oauth_providers",
        "webhook_secret",
    ];

    fn settings_command() -> clap::Command {
        <Settings as clap::Args>::augment_args(clap::Command::new("t"))
    }

    #[test]
    fn every_setting_shows_its_one_default_in_help() {
        let d = defaults();
        let command = with_defaults_in_help(settings_command());
        let mut ids = Vec::new();
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            ids.push(id.to_owned());
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            match d.shown(id) {
                Some(default) => assert!(
                    help.ends_with(&format!(" [default: {default}]")),
                    "{id}: {help}"
                ),
                None => assert!(WITHOUT_DEFAULT.contains(&id), "{id} has no default"),
            }
            assert_eq!(
                help.matches("[default:").count(),
                d.shown(id).map_or(0, |_| 1)
            );
        }
        for id in WITHOUT_DEFAULT {
            assert!(ids.iter().any(|i| i == id), "{id} is not a setting");
        }
        assert!(ids.len() > 30, "{ids:?}");
    }

    /// What help shows is what an unset setting gets.
    #[test]
    fn shown_defaults_are_the_applied_ones() {
        let d = defaults();
        let c = Config::defaults().unwrap();
        let shown = |id: &str| d.shown(id).unwrap();
        assert_eq!(shown("listen"), c.listen.to_string());
        assert_eq!(shown("session_idle_timeout"), show(c.session_idle_timeout));
        assert_eq!(shown("session_idle_timeout"), "30d");
        assert_eq!(
            shown("session_absolute_timeout"),
            show(c.session_absolute_timeout)
        );
        assert_eq!(
            shown("session_activity_interval"),
            show(c.session_activity_interval)
        );
        assert_eq!(
            shown("session_sweep_interval"),
            show(c.session_sweep_interval)
        );
        assert_eq!(shown("audit_retention"), "400d");
        assert_eq!(shown("access_token_ttl"), show(c.access_token_ttl));
        assert_eq!(shown("refresh_token_ttl"), show(c.refresh_token_ttl));
        assert_eq!(shown("refresh_absolute_ttl"), show(c.refresh_absolute_ttl));
        assert_eq!(shown("refresh_reuse_grace"), show(c.refresh_reuse_grace));
        assert_eq!(shown("key_activation_delay"), "310s");
        assert_eq!(shown("key_activation_delay"), show(c.key_activation_delay));
        assert_eq!(shown("argon2_m_cost"), c.argon2.m_cost.to_string());
        assert_eq!(shown("login_failure_window"), show(c.login_limits.window));
        assert_eq!(shown("request_timeout"), show(c.request_timeout));
        assert_eq!(shown("header_read_timeout"), show(c.header_read_timeout));
        assert_eq!(shown("max_connections"), c.max_connections.to_string());
        assert_eq!(shown("jwt_audience"), c.jwt_audience);
        assert_eq!(shown("log"), c.log);
        assert_eq!(c.public_origins, [shown("public_origin")]);
        assert_eq!(c.data_dir, PathBuf::from(shown("data_dir")));
        // Each shown duration parses back to itself.
        for id in [
            "session_idle_timeout",
            "key_activation_delay",
            "access_token_ttl",
        ] {
            let parsed: Dur = shown(id).parse().unwrap();
            assert_eq!(show(parsed.0), shown(id));
        }
    }

    /// README's configuration table says the same defaults.
    #[test]
    fn the_readme_table_agrees() {
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
                .unwrap();
        let d = defaults();
        let mut checked = 0;
        for line in readme.lines() {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let (Some(var), Some(default)) = (cells.get(1), cells.get(2)) else {
                continue;
            };
            let Some(var) = var
                .strip_prefix("`TESSERA_")
                .and_then(|v| v.strip_suffix('`'))
            else {
                continue;
            };
            let id = var.to_lowercase();
            let Some(shown) = d.shown(&id) else { continue };
            if let Some(literal) = default.strip_prefix('`').and_then(|v| v.strip_suffix('`')) {
                assert_eq!(literal, shown, "README's default of TESSERA_{var}");
                checked += 1;
            }
        }
        assert!(checked > 15, "only {checked} README rows checked");
    }

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
