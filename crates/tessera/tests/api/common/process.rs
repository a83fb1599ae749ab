//! The real `tessera` binary as a child process.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_tessera");

/// A running `tessera serve`, killed on drop.
pub struct Running {
    pub child: Child,
    pub base: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tessera` with a clean environment, cheap hashing and quiet logs.
pub fn command(data_dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TESSERA_DATA_DIR", data_dir)
        .env("TESSERA_ARGON2_M_COST", "64")
        .env("TESSERA_ARGON2_T_COST", "1")
        .env("TESSERA_LOG", "warn");
    c
}

/// Starts `tessera serve --listen 127.0.0.1:0` and waits for its
/// "listening" line.
pub fn serve(mut cmd: Command) -> Running {
    let mut child = cmd
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn tessera");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the first line");
    let base = line
        .trim()
        .strip_prefix("tessera listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Running { child, base }
}

/// `GET /v1/session` with the jar's cookies; the status.
pub async fn whoami(base: &str, jar: &super::Jar) -> reqwest::StatusCode {
    reqwest::Client::new()
        .get(format!("{base}/v1/session"))
        .header("cookie", jar.header())
        .send()
        .await
        .expect("send")
        .status()
}
