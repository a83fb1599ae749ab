//! `tessera-bench-tools argon2 SECONDS`: Argon2id hashes per second with
//! tessera's default parameters on the calling thread (pin it with
//! taskset), printed as `hashes_per_sec N`.
//!
//! `tessera-bench-tools load URL RATE SECONDS [METHOD [BODY]]` with
//! optional env `LOAD_COOKIE`, `LOAD_CONTENT_TYPE` and `LOAD_HEADER`
//! (`name: value`): sends RATE requests
//! per second on a fixed schedule (open loop: a slow answer does not delay
//! the next request, so queueing shows up in the latencies, which are
//! measured from each request's scheduled time), then prints
//! `sent N ok N non2xx N errors N p50_ms X p99_ms X max_ms X` and the
//! counts per status. `{n}` in BODY becomes the request's number, so every
//! request can name something new (the key-flood scenario's emails).
//! With `LOAD_TRACE=FILE` it also writes one line per request to FILE:
//! its scheduled offset from the start, its latency, and how late this
//! tool's task for it started (timer and spawn delay; taking a pooled
//! connection and sending come after, inside the latency), all in ms, and
//! its status: to see when a stall happened, what it hit, and whether it
//! was the sender's.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Params, Version};

fn argon2_rate(seconds: f64) {
    let d = tessera_core::Argon2Settings::default();
    let params = Params::new(d.m_cost, d.t_cost, d.p_cost, Some(32)).expect("valid parameters");
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut out = [0u8; 32];
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed().as_secs_f64() < seconds {
        argon
            .hash_password_into(b"benchmark password", b"sixteen byte salt", &mut out)
            .expect("hashing works");
        n += 1;
    }
    #[allow(clippy::cast_precision_loss)]
    let rate = n as f64 / started.elapsed().as_secs_f64();
    println!(
        "hashes_per_sec {rate:.1} (m={} t={} p={})",
        d.m_cost, d.t_cost, d.p_cost
    );
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    /// (scheduled offset µs, latency µs, how late its task started µs,
    /// status), with `LOAD_TRACE`.
    trace: Option<Vec<(u64, u64, u64, String)>>,
    statuses: BTreeMap<String, u64>,
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    #[allow(clippy::cast_precision_loss)]
    let ms = sorted[i] as f64 / 1000.0;
    ms
}

async fn load(url: String, rate: f64, seconds: f64, method: String, body: Option<String>) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let cookie = std::env::var("LOAD_COOKIE").ok();
    let content_type = std::env::var("LOAD_CONTENT_TYPE").ok();
    let extra = std::env::var("LOAD_HEADER").ok().map(|h| {
        let (name, value) = h.split_once(':').expect("LOAD_HEADER is name: value");
        (name.trim().to_owned(), value.trim().to_owned())
    });
    let method: reqwest::Method = method.parse().expect("an HTTP method");
    let trace_file = std::env::var("LOAD_TRACE").ok().filter(|p| !p.is_empty());
    let tally = Arc::new(Mutex::new(Tally {
        trace: trace_file.as_ref().map(|_| Vec::new()),
        ..Tally::default()
    }));
    let interval = Duration::from_secs_f64(1.0 / rate);
    let start = Instant::now();
    let mut tasks = Vec::new();
    let mut i = 0u32;
    loop {
        let scheduled = start + interval * i;
        if scheduled.duration_since(start).as_secs_f64() >= seconds {
            break;
        }
        tokio::time::sleep_until(scheduled.into()).await;
        let mut req = client.request(method.clone(), &url);
        if let Some(c) = &cookie {
            req = req.header("cookie", c);
        }
        if let Some(t) = &content_type {
            req = req.header("content-type", t);
        }
        if let Some((name, value)) = &extra {
            req = req.header(name.as_str(), value.as_str());
        }
        if let Some(b) = &body {
            req = req.body(b.replace("{n}", &i.to_string()));
        }
        let tally = Arc::clone(&tally);
        tasks.push(tokio::spawn(async move {
            let late = scheduled.elapsed();
            let outcome = match req.send().await {
                Ok(r) => {
                    let status = r.status().as_u16().to_string();
                    let _ = r.bytes().await;
                    status
                }
                Err(_) => "error".to_owned(),
            };
            let waited = u64::try_from(scheduled.elapsed().as_micros()).unwrap_or(u64::MAX);
            let offset = u64::try_from((scheduled - start).as_micros()).unwrap_or(u64::MAX);
            let mut t = tally.lock().expect("tally");
            t.latencies_us.push(waited);
            if let Some(trace) = t.trace.as_mut() {
                let late = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
                trace.push((offset, waited, late, outcome.clone()));
            }
            *t.statuses.entry(outcome).or_default() += 1;
        }));
        i += 1;
    }
    for t in tasks {
        let _ = t.await;
    }
    let mut t = tally.lock().expect("tally");
    if let (Some(path), Some(trace)) = (&trace_file, t.trace.as_mut()) {
        write_trace(path, trace);
    }
    t.latencies_us.sort_unstable();
    let sent = t.latencies_us.len();
    let ok: u64 = t
        .statuses
        .iter()
        .filter(|(k, _)| k.starts_with('2'))
        .map(|(_, v)| v)
        .sum();
    let errors = t.statuses.get("error").copied().unwrap_or(0);
    let non2xx = u64::try_from(sent).unwrap_or(0) - ok - errors;
    println!(
        "sent {sent} ok {ok} non2xx {non2xx} errors {errors} p50_ms {:.3} p99_ms {:.3} max_ms {:.3}",
        percentile(&t.latencies_us, 0.50),
        percentile(&t.latencies_us, 0.99),
        percentile(&t.latencies_us, 1.0),
    );
    let statuses: Vec<String> = t.statuses.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    println!("statuses {}", statuses.join(" "));
}

/// `LOAD_TRACE`'s file: one line per request, in the order scheduled (a
/// failure to write it is reported, and the figures are still printed).
fn write_trace(path: &str, trace: &mut [(u64, u64, u64, String)]) {
    #[allow(clippy::cast_precision_loss)]
    let ms = |us: &u64| *us as f64 / 1000.0;
    trace.sort_unstable();
    let mut lines = String::new();
    for (offset, waited, late, status) in &*trace {
        let _ = writeln!(
            lines,
            "{:.3} {:.3} {:.3} {status}",
            ms(offset),
            ms(waited),
            ms(late)
        );
    }
    if let Err(e) = std::fs::write(path, lines) {
        eprintln!("LOAD_TRACE {path}: {e}");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("argon2") => argon2_rate(args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5.0)),
        Some("load") if args.len() >= 4 => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(load(
                args[1].clone(),
                args[2].parse().expect("RATE"),
                args[3].parse().expect("SECONDS"),
                args.get(4).cloned().unwrap_or_else(|| "GET".into()),
                args.get(5).cloned(),
            ));
        }
        _ => {
            eprintln!(
                "usage: tessera-bench-tools argon2 SECONDS | load URL RATE SECONDS [METHOD [BODY]]"
            );
            std::process::exit(2);
        }
    }
}
