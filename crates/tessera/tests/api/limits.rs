//! Connection and request limits: slow clients are cut off, connections
//! beyond the limit wait, and a request that runs too long gets 408.

use std::time::{Duration, Instant};

use crate::common::*;
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection or `limit` passes;
/// returns what arrived and whether it closed.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return (got, true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (got, false),
        }
    }
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let app = spawn_with(|c| c.header_read_timeout = Duration::from_secs(1)).await;
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let started = Instant::now();
    let (_, closed) = read_until_closed(&mut slow, Duration::from_secs(20)).await;
    assert!(closed, "a slowloris connection must not be held open");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "not before the timeout"
    );
    // Well-behaved clients are unaffected.
    assert_eq!(
        app.req(reqwest::Method::GET, "/healthz")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

/// hyper starts the header-read timer again while a kept-alive connection
/// waits for its next request, so the timeout is also the idle limit. Clients
/// that pool connections must let go sooner (`@tessera/next` does at 4 s) or
/// may write a request onto a connection as it closes.
#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_header_read_timeout() {
    let app = spawn_with(|c| c.header_read_timeout = Duration::from_secs(1)).await;
    let mut idle = TcpStream::connect(app.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
        "the first request is answered and the connection kept"
    );
    let answered = Instant::now();
    let (more, closed) = read_until_closed(&mut idle, Duration::from_secs(20)).await;
    assert!(closed, "an idle connection must not be held open");
    assert!(
        more.is_empty(),
        "nothing more is sent: {}",
        String::from_utf8_lossy(&more)
    );
    assert!(
        answered.elapsed() >= Duration::from_millis(900),
        "not before the timeout"
    );
}

#[tokio::test]
async fn oversized_request_headers_are_refused_with_431() {
    let app = spawn().await;
    // 40 KiB of cookie: over the 32 KiB limit on the request head.
    let r = app
        .req(reqwest::Method::GET, "/v1/session")
        .header("cookie", format!("junk={}", "a".repeat(40 * 1024)))
        .send()
        .await;
    match r {
        Ok(r) => assert_eq!(r.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE),
        // hyper may close the connection right after its 431.
        Err(e) => assert!(e.is_request() || e.is_connect(), "{e}"),
    }
    // Headers: 100 (Host and 99 more) are served, 101 are refused.
    for (extra, status) in [(99, "HTTP/1.1 200"), (100, "HTTP/1.1 431")] {
        let mut many = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".to_vec();
        for i in 1..extra {
            many.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        let mut s = TcpStream::connect(app.addr).await.unwrap();
        s.write_all(&many).await.unwrap();
        let (answer, _) = read_until_closed(&mut s, Duration::from_secs(10)).await;
        assert!(
            String::from_utf8_lossy(&answer).starts_with(status),
            "{} headers: {}",
            extra + 1,
            String::from_utf8_lossy(&answer)
        );
    }
    // A large but reasonable head (a browser with many cookies) is fine.
    let r = app
        .req(reqwest::Method::GET, "/healthz")
        .header("cookie", format!("big={}", "b".repeat(16 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_for_a_free_slot() {
    let app = spawn_with(|c| {
        c.max_connections = 2;
        c.header_read_timeout = Duration::from_mins(1);
    })
    .await;
    // Two connections hold both slots (headers still coming).
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(app.addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        held.push(s);
    }
    let mut third = TcpStream::connect(app.addr).await.unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (early, _) = read_until_closed(&mut third, Duration::from_millis(500)).await;
    assert!(
        early.is_empty(),
        "the third connection is not served while two are held"
    );
    drop(held.pop());
    let (late, closed) = read_until_closed(&mut third, Duration::from_secs(20)).await;
    assert!(closed);
    assert!(
        String::from_utf8_lossy(&late).starts_with("HTTP/1.1 200"),
        "served once a slot frees"
    );
}

#[tokio::test]
async fn a_request_that_runs_too_long_gets_408() {
    let app = spawn_with(|c| {
        c.request_timeout = Duration::from_millis(50);
        // A hash that takes far longer than 50 ms.
        c.argon2 = tessera_core::Argon2Settings {
            m_cost: 64 * 1024,
            t_cost: 8,
            p_cost: 1,
        };
    })
    .await;
    let r = app.login(&unique("slow"), PASSWORD).await;
    assert_eq!(r.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(r.headers()["cache-control"], "no-store");
}
