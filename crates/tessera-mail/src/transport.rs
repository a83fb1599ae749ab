//! How a mail leaves: SMTP, or a file in the outbox folder.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// `TESSERA_SMTP_URL` cannot be used as given.
    #[error("TESSERA_SMTP_URL: {0}")]
    Config(String),
    #[error("smtp: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("outbox: {0}")]
    Outbox(#[from] std::io::Error),
}

/// Where mails go.
#[derive(Clone)]
pub enum Transport {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        /// The URL without its credentials, for messages.
        shown: String,
    },
    /// `<data-dir>/outbox/`: one `.eml` file per mail, readable by the
    /// owner only.
    Outbox(PathBuf),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Smtp { shown, .. } => f.debug_tuple("Smtp").field(shown).finish(),
            Self::Outbox(dir) => f.debug_tuple("Outbox").field(dir).finish(),
        }
    }
}

/// How long one SMTP exchange may take before the mail is retried later.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

impl TransportError {
    /// The server refused this mail for good (a 5xx answer, e.g. "no such
    /// user"): sending it again cannot help.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Smtp(e) if e.is_permanent())
    }
}

impl Transport {
    /// From `TESSERA_SMTP_URL`: `smtps://` (TLS from the first byte, port
    /// 465 by default), `smtp://` (STARTTLS required, port 587), or
    /// `smtp+insecure://` (no TLS, port 25), which only a loopback host may
    /// use. Credentials come from the URL's user and password.
    pub fn smtp(url: &str) -> Result<Self, TransportError> {
        let parsed = url::Url::parse(url).map_err(|e| TransportError::Config(e.to_string()))?;
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| TransportError::Config("no host".into()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let builder = match parsed.scheme() {
            "smtps" => AsyncSmtpTransport::<Tokio1Executor>::relay(&host)?
                .port(parsed.port().unwrap_or(465)),
            "smtp" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host)?
                .port(parsed.port().unwrap_or(587)),
            "smtp+insecure" => {
                if !is_loopback(&host) {
                    return Err(TransportError::Config(format!(
                        "smtp+insecure:// sends mail (and its links) in clear text, so only a loopback host may use it, not {host:?}; use smtps:// or smtp:// (STARTTLS)"
                    )));
                }
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
                    .port(parsed.port().unwrap_or(25))
            }
            other => {
                return Err(TransportError::Config(format!(
                    "unsupported scheme {other:?}: use smtps://, smtp:// (STARTTLS required) or smtp+insecure:// (loopback only)"
                )));
            }
        };
        let builder = if parsed.username().is_empty() {
            builder
        } else {
            let decode = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            builder.credentials(Credentials::new(
                decode(parsed.username()),
                decode(parsed.password().unwrap_or_default()),
            ))
        };
        let mut shown = parsed.clone();
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        Ok(Self::Smtp {
            transport: builder.timeout(Some(SMTP_TIMEOUT)).build(),
            shown: shown.to_string(),
        })
    }

    pub fn outbox(dir: &Path) -> Self {
        Self::Outbox(dir.to_owned())
    }

    pub async fn send(&self, message: &Message) -> Result<(), TransportError> {
        match self {
            Self::Smtp { transport, .. } => {
                transport.send(message.clone()).await?;
                Ok(())
            }
            Self::Outbox(dir) => write_eml(dir, &message.formatted()).await,
        }
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Writes one mail as `<unix ms>-<uuid>.eml`, created new with mode 0600 in
/// a folder of mode 0700: the mail holds a live link.
async fn write_eml(dir: &Path, bytes: &[u8]) -> Result<(), TransportError> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dir = dir.to_owned();
    let bytes = bytes.to_owned();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)?;
        let now = time::OffsetDateTime::now_utc();
        let name = format!(
            "{}-{}.eml",
            now.unix_timestamp_nanos() / 1_000_000,
            uuid::Uuid::new_v4()
        );
        let tmp = dir.join(format!(".{name}.tmp"));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        std::io::Write::write_all(&mut file, &bytes)?;
        file.sync_all()?;
        // Renamed once whole, so a reader never sees half a mail.
        std::fs::rename(&tmp, dir.join(name))
    })
    .await
    .map_err(|e| std::io::Error::other(e.to_string()))??;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insecure_smtp_only_on_loopback() {
        for ok in [
            "smtp+insecure://127.0.0.1:2525",
            "smtp+insecure://localhost",
            "smtp+insecure://[::1]:25",
        ] {
            assert!(Transport::smtp(ok).is_ok(), "{ok}");
        }
        for bad in [
            "smtp+insecure://mail.example.com",
            "smtp+insecure://10.0.0.1:25",
            "http://127.0.0.1",
            "smtp://",
        ] {
            assert!(
                matches!(Transport::smtp(bad), Err(TransportError::Config(_))),
                "{bad}"
            );
        }
        assert!(Transport::smtp("smtps://user:p%40ss@mail.example.com").is_ok());
        assert!(Transport::smtp("smtp://mail.example.com:2587").is_ok());
    }

    #[test]
    fn the_shown_url_has_no_credentials() {
        let t = Transport::smtp("smtps://user:secret@mail.example.com").unwrap();
        let shown = format!("{t:?}");
        assert!(
            !shown.contains("secret") && !shown.contains("user"),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn outbox_files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let outbox = dir.path().join("outbox");
        write_eml(&outbox, b"Subject: hi\r\n\r\nbody")
            .await
            .unwrap();
        let files: Vec<_> = std::fs::read_dir(&outbox).unwrap().collect();
        assert_eq!(files.len(), 1);
        let file = files[0].as_ref().unwrap();
        assert!(file.file_name().to_string_lossy().ends_with(".eml"));
        let mode = file.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = std::fs::metadata(&outbox).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o700);
    }
}
