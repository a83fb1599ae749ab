//! A real SMTP server for the tests: `aiosmtpd` (from `PyPI`) as a child
//! process, storing what it receives in a Maildir the tests read.
//! `scripts/test.sh` installs it into a virtualenv
//! (`~/.cache/tessera/mail-venv`, or `TESSERA_TEST_SMTPD_PYTHON` names
//! the interpreter).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `aiosmtpd`, killed on drop.
pub struct Smtpd {
    pub port: u16,
    pub maildir: PathBuf,
    _dir: tempfile::TempDir,
    child: Child,
}

impl Drop for Smtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One received mail, decoded.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub from: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub raw: String,
}

impl Mail {
    /// The token of the first link in the text part.
    pub fn token(&self) -> String {
        let at = self.text.find("?token=").expect("a link with a token") + 7;
        self.text[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    }

    /// The first link in the text part.
    pub fn link(&self) -> String {
        let at = self.text.find("http").expect("a link");
        self.text[at..]
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    }
}

pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("TESSERA_TEST_SMTPD_PYTHON") {
        return p.into();
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    PathBuf::from(home).join(".cache/tessera/mail-venv/bin/python")
}

impl Smtpd {
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        Self::start_on(port)
    }

    /// A server that answers `550` to every recipient whose address starts
    /// with `bounce` (as a real server does for an unknown mailbox), and
    /// stores the rest.
    pub fn start_rejecting() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        Self::spawn(port, true)
    }

    pub fn start_on(port: u16) -> Self {
        Self::spawn(port, false)
    }

    fn spawn(port: u16, rejecting: bool) -> Self {
        let python = python();
        assert!(
            python.exists(),
            "aiosmtpd is needed: python3 -m venv ~/.cache/tessera/mail-venv && ~/.cache/tessera/mail-venv/bin/pip install aiosmtpd==1.4.6 (scripts/test.sh does this)"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let maildir = dir.path().join("maildir");
        let handler = if rejecting {
            std::fs::write(
                dir.path().join("rejecting.py"),
                "from aiosmtpd.handlers import Mailbox\n\n\
                 class Rejecting(Mailbox):\n    \
                 async def handle_RCPT(self, server, session, envelope, address, rcpt_options):\n        \
                 if address.startswith('bounce'):\n            \
                 return '550 5.1.1 no such mailbox'\n        \
                 envelope.rcpt_tos.append(address)\n        \
                 return '250 OK'\n",
            )
            .expect("write the handler");
            "rejecting.Rejecting"
        } else {
            "aiosmtpd.handlers.Mailbox"
        };
        let child = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", handler])
            .arg(&maildir)
            .env("PYTHONPATH", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn aiosmtpd");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "aiosmtpd did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            port,
            maildir,
            _dir: dir,
            child,
        }
    }

    /// `smtp+insecure://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp+insecure://127.0.0.1:{}", self.port)
    }

    /// Every mail received so far, oldest first.
    pub fn mails(&self) -> Vec<Mail> {
        let mut files: Vec<_> = ["new", "cur"]
            .iter()
            .filter_map(|d| std::fs::read_dir(self.maildir.join(d)).ok())
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files
            .iter()
            .map(|p| parse(&std::fs::read(p).expect("read mail")))
            .collect()
    }

    /// The mails to `to`, waiting up to 10 s until there are `n` of them.
    pub async fn wait_for(&self, to: &str, n: usize) -> Vec<Mail> {
        let started = Instant::now();
        loop {
            let mine: Vec<Mail> = self.mails().into_iter().filter(|m| m.to == to).collect();
            if mine.len() >= n {
                return mine;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "expected {n} mails to {to}, got {}",
                mine.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn parse(raw: &[u8]) -> Mail {
    let m = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("a parseable mail");
    let addr = |a: Option<&mail_parser::Address>| {
        a.and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_owned()
    };
    Mail {
        to: addr(m.to()),
        from: addr(m.from()),
        subject: m.subject().unwrap_or_default().to_owned(),
        text: m
            .body_text(0)
            .map(std::borrow::Cow::into_owned)
            .unwrap_or_default(),
        html: m
            .body_html(0)
            .map(std::borrow::Cow::into_owned)
            .unwrap_or_default(),
        raw: String::from_utf8_lossy(raw).into_owned(),
    }
}

/// The mails in a data dir's outbox (no SMTP configured), oldest first.
pub fn outbox(data_dir: &std::path::Path) -> Vec<Mail> {
    let mut files: Vec<_> = std::fs::read_dir(data_dir.join("outbox"))
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| parse(&std::fs::read(p).expect("read mail")))
        .collect()
}
