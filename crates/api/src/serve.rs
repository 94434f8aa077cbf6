//! Serving a router over TCP with every wait bounded.
//!
//! `axum::serve` waits forever for a request's headers and accepts connections until the
//! process runs out of file descriptors: a few thousand half-sent requests keep the API busy
//! and twenty thousand stop `/healthz` from answering. [`serve`] is the same accept loop with
//! the limits an exposed server needs:
//!
//! - **header read timeout**: a connection that has not sent a complete request head within
//!   [`ServeConfig::header_read_timeout`] is closed. Hyper restarts this timer whenever it
//!   waits for the next request of a kept-alive connection, so it is also the idle keep-alive
//!   limit;
//! - **body read timeout**: a request body that stalls for longer than
//!   [`ServeConfig::body_read_timeout`] between two chunks fails, and the handler answers
//!   `408 request_timeout`;
//! - **connection limit**: at most [`ServeConfig::max_connections`] connections are served at
//!   once; further ones wait in the kernel's accept queue until one closes (never an accept
//!   that runs the process out of descriptors);
//! - **graceful shutdown**: when `shutdown` completes, no connection is accepted and every
//!   open one finishes its request in progress, for at most [`ServeConfig::shutdown_grace`].
//!
//! Upgraded connections (WebSockets) leave hyper once upgraded: they have their own limits
//! (the hub's send timeout) and do not count against the connection limit.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;
use tower_http::timeout::RequestBodyTimeoutLayer;

/// The limits [`serve`] applies; every field has a safe default.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServeConfig {
    /// How long a connection may take to send a complete request head, and how long a
    /// kept-alive connection may sit idle between requests (default 10 s).
    pub header_read_timeout: Duration,
    /// How long a request body may stall between two chunks (default 30 s).
    pub body_read_timeout: Duration,
    /// How many connections are served at once (default 1,000: well below the usual
    /// 1,024-descriptor limit's worth of sockets plus the database pool and PBX links).
    pub max_connections: usize,
    /// Whether a connection may carry several requests (default true; false closes each
    /// connection after its response).
    pub keep_alive: bool,
    /// How long open connections get to finish after shutdown starts (default 5 s).
    pub shutdown_grace: Duration,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            max_connections: 1_000,
            keep_alive: true,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

impl ServeConfig {
    /// Sets [`ServeConfig::header_read_timeout`].
    pub fn with_header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Sets [`ServeConfig::body_read_timeout`].
    pub fn with_body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// Sets [`ServeConfig::max_connections`] (at least 1).
    pub fn with_max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Sets [`ServeConfig::keep_alive`].
    pub fn with_keep_alive(mut self, keep_alive: bool) -> Self {
        self.keep_alive = keep_alive;
        self
    }

    /// Sets [`ServeConfig::shutdown_grace`].
    pub fn with_shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }
}

/// Serves `app` on `listener` (HTTP/1.1 with upgrades) within `config`'s limits until
/// `shutdown` completes, then lets open connections finish for the grace period.
///
/// Each request carries the peer address as `ConnectInfo<SocketAddr>` (the login limiter
/// reads it), as `into_make_service_with_connect_info` would.
///
/// # Errors
/// None today: a failed accept (e.g. out of descriptors) is logged and retried after a short
/// pause; the `Result` leaves room for listener errors that should stop the server.
pub async fn serve<F>(
    listener: TcpListener,
    app: Router,
    config: ServeConfig,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let app = app.layer(RequestBodyTimeoutLayer::new(config.body_read_timeout));
    let max = u32::try_from(config.max_connections.max(1)).unwrap_or(u32::MAX);
    let slots = Arc::new(Semaphore::new(max as usize));
    let (stopping, stop) = watch::channel(false);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .keep_alive(config.keep_alive);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            p = Arc::clone(&slots).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: pause instead of spinning; the connection limit
                    // keeps this rare.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, %peer, "TCP_NODELAY not set");
        }
        let service = app.clone().map_request(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            req
        });
        let conn = http
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .with_upgrades();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            tokio::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                _ = async { stop.wait_for(|s| *s).await.map(|_| ()) } => {
                    // Finish the request in progress, then close.
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    // Every connection holds a slot until it ends: all slots back means all closed.
    tokio::select! {
        _ = slots.acquire_many(max) => {}
        () = tokio::time::sleep(config.shutdown_grace) => {
            tracing::info!("closing the connections still open");
        }
    }
    Ok(())
}
