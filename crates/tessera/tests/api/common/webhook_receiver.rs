//! A webhook receiver for the tests: a Python process that checks every
//! request with the Standard Webhooks project's own Python library
//! (`standardwebhooks` from `PyPI`, in the same virtualenv as `aiosmtpd`:
//! `scripts/test.sh` installs both), an implementation independent of the
//! Rust crate tessera signs with. It answers 204 to a valid message and
//! 400 to anything else, and writes one JSON line per request to a log
//! the tests read: `{id, valid, error, type, data_id, body}`.
//!
//! While the file `delay` in its folder holds a number, it waits that many
//! seconds after logging a request and before answering (a receiver that
//! is slow, so a test can kill tessera mid-delivery).

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const SCRIPT: &str = r#"
import json, sys, threading, time, os
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
from standardwebhooks.webhooks import Webhook

port, secret, folder = int(sys.argv[1]), sys.argv[2], sys.argv[3]
hook = Webhook(secret)
lock = threading.Lock()

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        entry = {"id": headers.get("webhook-id"), "valid": False, "error": None,
                 "type": None, "data_id": None, "body": body.decode("utf-8", "replace")}
        try:
            payload = hook.verify(body, headers)
            entry.update(valid=True, type=payload.get("type"), data_id=payload["data"]["id"])
        except Exception as e:
            entry["error"] = repr(e)
        with lock:
            with open(os.path.join(folder, "received.jsonl"), "a") as f:
                f.write(json.dumps(entry) + "\n")
        try:
            with open(os.path.join(folder, "delay")) as f:
                time.sleep(float(f.read().strip() or "0"))
        except FileNotFoundError:
            pass
        self.send_response(204 if entry["valid"] else 400)
        self.end_headers()

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
"#;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub valid: bool,
    pub error: Option<String>,
    pub kind: Option<String>,
    /// The audit event's id (`data.id`).
    pub event_id: Option<String>,
    pub body: String,
}

/// A running receiver; killed on drop. Its log outlives restarts.
pub struct Receiver {
    pub port: u16,
    pub secret: String,
    folder: tempfile::TempDir,
    child: Option<Child>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Receiver {
    pub fn start(secret: &str) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let folder = tempfile::tempdir().unwrap();
        std::fs::write(folder.path().join("receiver.py"), SCRIPT).unwrap();
        let mut r = Self {
            port,
            secret: secret.to_owned(),
            folder,
            child: None,
        };
        r.restart();
        r
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/tessera", self.port)
    }

    /// Starts it again on the same port, keeping its log.
    pub fn restart(&mut self) {
        self.stop();
        let python = super::smtp::python();
        let child = Command::new(&python)
            .arg(self.folder.path().join("receiver.py"))
            .arg(self.port.to_string())
            .arg(&self.secret)
            .arg(self.folder.path())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{} (scripts/test.sh installs standardwebhooks): {e}",
                    python.display()
                )
            });
        self.child = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the webhook receiver did not start (is standardwebhooks installed?)"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills it (`SIGKILL`): connections in flight are cut.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Seconds to wait before answering each request (0: none).
    pub fn set_delay(&self, seconds: f64) {
        std::fs::write(self.folder.path().join("delay"), seconds.to_string()).unwrap();
    }

    pub fn received(&self) -> Vec<Received> {
        let Ok(text) = std::fs::read_to_string(self.log()) else {
            return Vec::new();
        };
        text.lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                let s = |k: &str| v[k].as_str().map(str::to_owned);
                Received {
                    id: s("id").unwrap_or_default(),
                    valid: v["valid"].as_bool().unwrap(),
                    error: s("error"),
                    kind: s("type"),
                    event_id: s("data_id"),
                    body: s("body").unwrap_or_default(),
                }
            })
            .collect()
    }

    fn log(&self) -> PathBuf {
        self.folder.path().join("received.jsonl")
    }

    /// Waits until every one of `event_ids` has arrived validly; panics
    /// after `within`.
    pub async fn wait_for(&self, event_ids: &[String], within: Duration) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let got = self.received();
            let seen: std::collections::HashSet<_> = got
                .iter()
                .filter(|r| r.valid)
                .filter_map(|r| r.event_id.clone())
                .collect();
            let missing: Vec<_> = event_ids.iter().filter(|id| !seen.contains(*id)).collect();
            if missing.is_empty() {
                return got;
            }
            assert!(
                started.elapsed() < within,
                "{} of {} events never arrived, e.g. {:?}",
                missing.len(),
                event_ids.len(),
                missing.first()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// How often each message id arrived (validly).
pub fn arrivals(received: &[Received]) -> HashMap<String, usize> {
    let mut n = HashMap::new();
    for r in received.iter().filter(|r| r.valid) {
        *n.entry(r.id.clone()).or_insert(0) += 1;
    }
    n
}
