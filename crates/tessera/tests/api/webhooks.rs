//! Issue 22: webhooks. Every audit event reaches the receiver at least
//! once, signed as the Standard Webhooks spec says, through a receiver that
//! is killed and comes back, and through a tessera that is killed in the
//! middle of a delivery. The receiver checks each request with the spec's
//! own Python library (`common/webhook_receiver.rs`).

use std::collections::HashSet;
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::PASSWORD;
use crate::common::process::{Running, command, serve};
use crate::common::unique;
use crate::common::webhook_receiver::{Received, Receiver, arrivals};

const ADMIN_KEY: &str = "webhook-test-admin-key-0123456789abcdef";

/// `tessera` set up to send webhooks to `receiver`, with a 2 s delivery
/// timeout (so a message being sent is held for 6 s).
fn with_webhooks(dir: &std::path::Path, receiver: &Receiver) -> Command {
    let mut cmd = command(dir);
    cmd.env("TESSERA_WEBHOOK_URL", receiver.url())
        .env("TESSERA_WEBHOOK_SECRET", &receiver.secret)
        .env("TESSERA_WEBHOOK_TIMEOUT", "2s")
        .env("TESSERA_ADMIN_KEY", ADMIN_KEY);
    cmd
}

fn cli(mut cmd: Command, args: &[&str]) -> String {
    let out = cmd.args(args).output().unwrap();
    assert!(
        out.status.success(),
        "tessera {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A fresh secret from `tessera webhooks secret`.
fn new_secret() -> String {
    let dir = tempfile::tempdir().unwrap();
    let secret = cli(command(dir.path()), &["webhooks", "secret"])
        .trim()
        .to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    secret
}

async fn register(base: &str, email: &str) {
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/register"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

async fn failed_login(base: &str, email: &str) {
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/login"))
        .json(&json!({"email": email, "password": "not the password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

/// Every audit event, as the admin API shows it, oldest first.
async fn audit_log(base: &str) -> Vec<Value> {
    let mut events = Vec::new();
    let mut cursor = String::new();
    loop {
        let page: Value = reqwest::Client::new()
            .get(format!("{base}/v1/admin/audit?limit=100&cursor={cursor}"))
            .header("tessera-admin-key", ADMIN_KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        events.extend(page["events"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => c.clone_into(&mut cursor),
            None => break,
        }
    }
    events.reverse();
    events
}

fn ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Nothing arrived unsigned or altered, and every arrival is the event as
/// logged: `{type: kind, timestamp: at, data: event}`.
fn check_arrivals(received: &[Received], events: &[Value]) {
    let refused: Vec<_> = received
        .iter()
        .filter(|r| !r.valid)
        .map(|r| (&r.id, &r.error))
        .collect();
    assert!(refused.is_empty(), "refused by the receiver: {refused:?}");
    for r in received {
        let event = events
            .iter()
            .find(|e| Some(e["id"].as_str().unwrap()) == r.event_id.as_deref())
            .unwrap_or_else(|| panic!("a message for no logged event: {r:?}"));
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["type"], event["kind"]);
        assert_eq!(body["timestamp"], event["at"]);
        assert_eq!(
            &body["data"], event,
            "the message carries the event as logged"
        );
        assert_eq!(
            r.id,
            format!("msg_{}", r.event_id.as_deref().unwrap().replace('-', ""))
        );
        assert_eq!(r.kind.as_deref(), event["kind"].as_str());
    }
}

/// Requests received, distinct messages, and messages that came more than
/// once.
fn figures(received: &[Received]) -> (usize, usize, usize) {
    let n = arrivals(received);
    (
        received.len(),
        n.len(),
        n.values().filter(|c| **c > 1).count(),
    )
}

/// Waits until the outbox holds nothing pending (each 2xx recorded).
async fn wait_delivered(dir: &std::path::Path, receiver: &Receiver) {
    let started = Instant::now();
    loop {
        let pending = cli(
            with_webhooks(dir, receiver),
            &["webhooks", "list", "--state", "pending"],
        );
        if pending.is_empty() {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "{pending}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn metric(base: &str, line_start: &str) -> f64 {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(line_start))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn a_receiver_that_dies_and_comes_back_gets_every_event_signed() {
    let mut receiver = Receiver::start(&new_secret());
    let dir = tempfile::tempdir().unwrap();
    let server = serve(with_webhooks(dir.path(), &receiver));
    let tag = unique("hook");
    for i in 0..5 {
        register(&server.base, &format!("{i}-{tag}")).await;
    }
    let before = audit_log(&server.base).await;
    assert!(before.len() >= 10, "sign-ups and their sign-ins");
    receiver
        .wait_for(&ids(&before), Duration::from_secs(20))
        .await;
    wait_delivered(dir.path(), &receiver).await;

    // The receiver dies; events go on.
    receiver.stop();
    for i in 5..10 {
        register(&server.base, &format!("{i}-{tag}")).await;
        failed_login(&server.base, &format!("{i}-{tag}")).await;
    }
    let during = audit_log(&server.base).await.len() - before.len();
    assert!(during >= 15);
    tokio::time::sleep(Duration::from_secs(4)).await;
    let pending = cli(
        with_webhooks(dir.path(), &receiver),
        &["webhooks", "list", "--state", "pending"],
    );
    assert_eq!(
        pending.lines().count(),
        during,
        "what the dead receiver missed waits in the outbox:\n{pending}"
    );
    assert!(
        pending.lines().all(|l| l
            .split('\t')
            .nth(3)
            .is_some_and(|a| a.parse::<u32>().unwrap() >= 2)),
        "each tried again with backoff:\n{pending}"
    );
    assert!(
        metric(
            &server.base,
            "tessera_webhook_attempts_total{result=\"failed\"}"
        )
        .await
            >= 2.0
    );
    assert!(metric(&server.base, "tessera_webhook_outbox_pending").await >= 15.0);

    // It comes back: everything arrives, signed, as logged.
    receiver.restart();
    let events = audit_log(&server.base).await;
    let arrived = receiver
        .wait_for(&ids(&events), Duration::from_secs(30))
        .await;
    check_arrivals(&arrived, &events);
    let (requests, messages, duplicates) = figures(&arrived);
    assert_eq!(messages, events.len());
    wait_delivered(dir.path(), &receiver).await;
    let delivered = cli(
        with_webhooks(dir.path(), &receiver),
        &[
            "webhooks",
            "list",
            "--state",
            "delivered",
            "--limit",
            "1000",
        ],
    );
    assert_eq!(delivered.lines().count(), events.len());
    let tries: Vec<u32> = delivered
        .lines()
        .map(|l| l.split('\t').nth(3).unwrap().parse().unwrap())
        .collect();
    println!(
        "killed receiver: {} events; tessera made {} attempts, {} messages needed more than one; the receiver got {requests} requests, {messages} distinct, {duplicates} more than once; 0 refused",
        events.len(),
        tries.iter().sum::<u32>(),
        tries.iter().filter(|t| **t > 1).count()
    );
    assert!(metric(&server.base, "tessera_webhook_outbox_pending").await < 0.5);
    drop(server);
}

#[tokio::test]
async fn a_tessera_killed_mid_delivery_sends_it_again_and_what_came_meanwhile() {
    let receiver = Receiver::start(&new_secret());
    // Slow answers: deliveries are in flight when tessera dies.
    receiver.set_delay(3.0);
    let dir = tempfile::tempdir().unwrap();
    let mut server: Running = serve(with_webhooks(dir.path(), &receiver));
    let tag = unique("hook-kill");
    for i in 0..4 {
        register(&server.base, &format!("{i}-{tag}")).await;
    }
    let started = Instant::now();
    while receiver.received().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(10), "nothing sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let in_flight: HashSet<String> = receiver.received().into_iter().map(|r| r.id).collect();

    // While no server runs, the command line changes a user: its event is
    // queued with it.
    let out = cli(
        with_webhooks(dir.path(), &receiver),
        &["user", "disable", "--email", &format!("0-{tag}")],
    );
    assert!(!out.is_empty());
    receiver.set_delay(0.0);
    let server = serve(with_webhooks(dir.path(), &receiver));
    let events = audit_log(&server.base).await;
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "user_disabled" && e["actor"] == "cli")
    );
    let arrived = receiver
        .wait_for(&ids(&events), Duration::from_secs(30))
        .await;
    check_arrivals(&arrived, &events);
    // What was cut off mid-delivery is sent again once its hold (three
    // times the timeout) runs out.
    let started = Instant::now();
    let arrived = loop {
        let arrived = receiver.received();
        let n = arrivals(&arrived);
        if in_flight
            .iter()
            .all(|id| n.get(id).is_some_and(|c| *c >= 2))
        {
            break arrived;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "cut off mid-delivery and never sent again: {in_flight:?} {n:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    check_arrivals(&arrived, &events);
    let (requests, messages, duplicates) = figures(&arrived);
    assert_eq!(messages, events.len());
    println!(
        "killed tessera: {} events, {} in flight at the kill, {requests} requests received, {messages} distinct, {duplicates} more than once",
        events.len(),
        in_flight.len()
    );
}

#[tokio::test]
async fn a_message_is_sent_again_by_hand_and_odd_commands_are_refused() {
    let receiver = Receiver::start(&new_secret());
    let dir = tempfile::tempdir().unwrap();
    let server = serve(with_webhooks(dir.path(), &receiver));
    register(&server.base, &unique("hook-retry")).await;
    let events = audit_log(&server.base).await;
    receiver
        .wait_for(&ids(&events), Duration::from_secs(20))
        .await;
    wait_delivered(dir.path(), &receiver).await;
    let listed = cli(with_webhooks(dir.path(), &receiver), &["webhooks", "list"]);
    let line = listed.lines().next().unwrap();
    let fields: Vec<_> = line.split('\t').collect();
    assert_eq!(fields[2], "delivered", "{line}");
    assert!(fields[5].starts_with("delivered 20"), "{line}");
    let id = fields[0].to_owned();
    // Unknown ids, bad states and a retry naming nothing are refused in words.
    for (args, says) in [
        (
            &["webhooks", "retry", "--id", "msg_nope"][..],
            "no webhook message msg_nope",
        ),
        (
            &["webhooks", "list", "--state", "lost"][..],
            "use pending, delivered or failed",
        ),
        (&["webhooks", "retry"][..], "--id"),
    ] {
        let out = with_webhooks(dir.path(), &receiver)
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // A delivered message sent again: the receiver gets it a second time,
    // under the same id, signed afresh.
    let out = cli(
        with_webhooks(dir.path(), &receiver),
        &["webhooks", "retry", "--id", &id],
    );
    assert!(out.starts_with("1 queued again"), "{out}");
    let started = Instant::now();
    while arrivals(&receiver.received()).get(&id) != Some(&2) {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "not sent again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    check_arrivals(&receiver.received(), &events);
}

#[test]
fn webhook_settings_are_both_or_neither_and_refuse_what_is_unsafe() {
    let dir = tempfile::tempdir().unwrap();
    let good = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    for (url, secret, says) in [
        (
            Some("https://hooks.example.com/t"),
            None,
            "needs TESSERA_WEBHOOK_SECRET",
        ),
        (None, Some(good), "without TESSERA_WEBHOOK_URL"),
        (
            Some("http://hooks.example.com/t"),
            Some(good),
            "use https://",
        ),
        (Some("ftp://127.0.0.1/t"), Some(good), "is not http(s)"),
        (
            Some("https://u:p@hooks.example.com/t"),
            Some(good),
            "credentials",
        ),
        (Some("not a url"), Some(good), "is not a URL"),
        (
            Some("https://hooks.example.com/t"),
            Some("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            "must be whsec_",
        ),
        (
            Some("https://hooks.example.com/t"),
            Some("whsec_c2hvcnQ="),
            "holds 5 bytes",
        ),
    ] {
        let mut cmd = command(dir.path());
        if let Some(u) = url {
            cmd.env("TESSERA_WEBHOOK_URL", u);
        }
        if let Some(s) = secret {
            cmd.env("TESSERA_WEBHOOK_SECRET", s);
        }
        let out = cmd.args(["webhooks", "list"]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{url:?} {secret:?} accepted");
        assert!(err.contains(says), "{url:?} {secret:?}: {err}");
        assert!(
            !err.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            "the secret is never printed: {err}"
        );
    }
    // http:// to loopback and https:// anywhere are fine.
    for url in [
        "http://127.0.0.1:9/t",
        "http://localhost:9/t",
        "https://hooks.example.com/t",
    ] {
        let mut cmd = command(dir.path());
        cmd.env("TESSERA_WEBHOOK_URL", url)
            .env("TESSERA_WEBHOOK_SECRET", good);
        let out = cmd.args(["webhooks", "list"]).output().unwrap();
        assert!(
            out.status.success(),
            "{url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
