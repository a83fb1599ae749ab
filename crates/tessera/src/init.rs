//! `tessera init`: a commented `tessera.toml` and the BFF key file for one
//! public origin, so the server and the Next.js app are configured from
//! one generated secret (the app gets the same key in `.env.local`).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// What `tessera init` was asked for.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The folder the files go to.
    pub dir: PathBuf,
    /// The Next.js app's origin, e.g. `https://app.example.com`.
    pub public_origin: String,
    /// Replace files that exist.
    pub force: bool,
    /// The data dir the config names; `<dir>/data` by default.
    pub data_dir: Option<PathBuf>,
}

/// What `tessera init` did.
#[derive(Debug)]
pub struct InitReport {
    pub config: PathBuf,
    pub key_file: PathBuf,
    /// The BFF key now in the key file (new, or the one found there).
    pub key: String,
    /// Files left as they were (exist, no `--force`).
    pub skipped: Vec<PathBuf>,
    pub written: Vec<PathBuf>,
}

pub const CONFIG_FILE: &str = "tessera.toml";
pub const KEY_FILE: &str = "bff.key";

/// Writes `tessera.toml` and `bff.key` (0600) into `options.dir`, keeping
/// what exists unless `force`. An existing key file is reused, so running
/// it again changes nothing and the app's `.env.local` stays valid.
pub fn init(options: &InitOptions) -> anyhow::Result<InitReport> {
    let origin = options.public_origin.trim_end_matches('/');
    crate::config::check_origin(origin)?;
    std::fs::create_dir_all(&options.dir)
        .with_context(|| format!("creating {}", options.dir.display()))?;
    let dir = options
        .dir
        .canonicalize()
        .with_context(|| format!("reading {}", options.dir.display()))?;
    let config = dir.join(CONFIG_FILE);
    let key_file = dir.join(KEY_FILE);
    let mut report = InitReport {
        config: config.clone(),
        key_file: key_file.clone(),
        key: String::new(),
        skipped: Vec::new(),
        written: Vec::new(),
    };
    let existing_key = match std::fs::read_to_string(&key_file) {
        Ok(k) => Some(k.lines().next().unwrap_or_default().trim().to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", key_file.display())),
    };
    report.key = match existing_key {
        Some(key) if !options.force => {
            if key.len() < 16 {
                bail!(
                    "{} holds a key shorter than 16 characters; remove it or run with --force",
                    key_file.display()
                );
            }
            report.skipped.push(key_file.clone());
            key
        }
        _ => {
            let key = hex::encode(tessera_core::token::random_bytes::<32>());
            write_private(&key_file, &format!("{key}\n"), options.force)?;
            report.written.push(key_file.clone());
            key
        }
    };
    if config.exists() && !options.force {
        report.skipped.push(config);
    } else {
        let data_dir = options.data_dir.clone().unwrap_or_else(|| dir.join("data"));
        write_private(
            &config,
            &config_text(origin, &dir, &data_dir, &key_file),
            options.force,
        )?;
        report.written.push(config);
    }
    Ok(report)
}

/// Creates `path` with mode 0600 (replacing it only with `replace`).
fn write_private(path: &Path, text: &str, replace: bool) -> anyhow::Result<()> {
    if replace {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("replacing {}", path.display())),
        }
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// TOML string syntax for a value (quotes and backslashes escaped).
fn quoted(value: &str) -> String {
    toml::Value::String(value.to_owned()).to_string()
}

fn config_text(origin: &str, dir: &Path, data_dir: &Path, key_file: &Path) -> String {
    format!(
        r#"# tessera.toml, written by `tessera init`. Start with:
#   tessera serve --config {config}
# Every setting can also be a TESSERA_* environment variable or a flag
# (flags beat the environment, which beats this file); `tessera serve
# --help` lists them all with their defaults.

# Where tessera listens. Only your Next.js app (the BFF) should reach it.
listen = "127.0.0.1:4000"

# The embedded SQLite database and the outbox of mails (when no SMTP is set).
data_dir = {data_dir}

# The origin your users' browsers load the app from; unsafe requests from
# any other origin are refused. Several: "https://a.example,https://b.example".
public_origin = {origin}

# The secret the app sends as Tessera-Bff-Key (the same value is
# TESSERA_BFF_KEY in the app's .env.local). Keep the file 0600.
bff_key_file = {key_file}

# Production: users in PostgreSQL, sessions and rate limits in Redis, so
# several instances behave as one (see docs and `tessera doctor`).
# database_url = "postgres://tessera:PASSWORD@127.0.0.1/tessera"
# session_store = "redis://127.0.0.1:6379"

# Mail (verification, password reset, email change). Without smtp_url each
# mail is an .eml file in the data dir's outbox/.
# smtp_url = "smtps://USER:PASSWORD@smtp.example.com:465"
# mail_from = "Acme <no-reply@example.com>"
# app_name = "Acme"
# email_verification = "send"    # off | send | required

# Who may sign up.
# registration = "open"          # open | closed
# registration_email_domains = "example.com"

# Sessions.
# session_idle_timeout = "30d"
# session_absolute_timeout = "90d"

# log = "info"
"#,
        config = dir.join(CONFIG_FILE).display(),
        data_dir = quoted(&data_dir.to_string_lossy()),
        origin = quoted(origin),
        key_file = quoted(&key_file.to_string_lossy()),
    )
}
