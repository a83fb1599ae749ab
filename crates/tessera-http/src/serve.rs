//! Serving the app on a TCP listener.
//!
//! hyper directly rather than `axum::serve`, for the two limits a public
//! listener needs: a client must send its request headers within
//! [`ConnLimits::header_read_timeout`] (slowloris), and at most
//! [`ConnLimits::max_connections`] are served at once; further connections
//! wait in the kernel's backlog.
//!
//! Each request gets the peer's address as `ConnectInfo<SocketAddr>`, which
//! [`crate::extract::Client`] reads (the client IP on a loopback server in
//! development, or when no BFF key vouches for `Tessera-Client-Ip`). An app
//! served some other way has no peer address: the client IP is then only
//! what a keyed BFF sends.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::AppService;

/// Largest HTTP/1 request head read (hyper's buffer; its minimum is 8 KiB).
const MAX_HEADER_BYTES: usize = 32 * 1024;
/// Largest HTTP/2 header list.
const MAX_HEADER_BYTES_H2: u32 = 32 * 1024;

/// Connection-level limits.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// A client must send its request head within this; also how long an
    /// idle kept-alive connection stays open (hyper restarts the timer
    /// while it waits for the next request).
    pub header_read_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

/// Serves `app` on `listener` until `shutdown` completes, then finishes the
/// requests in flight.
pub async fn serve(
    app: impl AppService,
    listener: TcpListener,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let mut builder =
        hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // The request head (line and headers) may not exceed this;
        // hyper answers 431. A browser's cookies and a BFF's headers fit
        // many times over.
        .max_buf_size(MAX_HEADER_BYTES);
    // At most 100 headers (more: 431) is hyper's default. Not set here:
    // `max_headers(100)`, the same limit, makes hyper build its header
    // arrays on the heap, element by element, for every request, where the
    // default leaves them uninitialised on the stack (docs/performance.md).
    // The 431 test (`limits.rs`) checks the boundary.
    builder.http2().max_header_list_size(MAX_HEADER_BYTES_H2);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&permits).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off, don't spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = tower::ServiceExt::map_request(
            app.clone(),
            move |req: axum::http::Request<hyper::body::Incoming>| {
                let mut req = req.map(axum::body::Body::new);
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo::<SocketAddr>(peer));
                req
            },
        );
        let conn = builder
            .serve_connection_with_upgrades(
                hyper_util::rt::TokioIo::new(stream),
                hyper_util::service::TowerToHyperService::new(service),
            )
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
