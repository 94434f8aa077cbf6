use std::collections::HashMap;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::codec::{
    AgiCodec, DEFAULT_MAX_ENV_VARS, DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_USAGE_LINES,
};
use crate::error::AgiError;
use crate::session::{AgiIo, AgiSession};

/// The FastAGI port Asterisk uses when the URL names none (`AGI_PORT` in `res_agi.c`).
pub const DEFAULT_PORT: u16 = 4573;

/// What a FastAGI script does with one session.
///
/// The server calls [`AgiHandler::handle`] once per connection whose script path routes to
/// it; when it returns, the server closes the connection, which ends `AGI()` in the
/// dialplan (it goes on with the next priority unless the channel hung up).
#[async_trait::async_trait]
pub trait AgiHandler: Send + Sync + 'static {
    /// Runs the script.
    ///
    /// # Errors
    /// Any; the server logs it and closes the connection.
    async fn handle(&self, session: &mut AgiSession) -> Result<(), AgiError>;
}

/// Script paths to handlers: `agi://host:port/<path>` reaches the handler of `<path>`.
#[derive(Clone, Default)]
pub struct Router {
    routes: HashMap<String, Arc<dyn AgiHandler>>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut paths: Vec<_> = self.routes.keys().collect();
        paths.sort();
        f.debug_struct("Router").field("paths", &paths).finish()
    }
}

impl Router {
    /// An empty router: every connection is refused (closed) until a route is added.
    pub fn new() -> Self {
        Router::default()
    }

    /// Routes `path` (leading `/` ignored; `""` for a URL without a path) to `handler`.
    pub fn route(mut self, path: &str, handler: impl AgiHandler) -> Self {
        self.routes
            .insert(path.trim_start_matches('/').to_owned(), Arc::new(handler));
        self
    }

    /// The handler of a script path (as [`crate::AgiEnv::script_path`] gives it).
    pub fn find(&self, path: &str) -> Option<Arc<dyn AgiHandler>> {
        self.routes.get(path).cloned()
    }
}

/// The FastAGI server's settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Where to listen; default `127.0.0.1:4573`. AGI has no authentication, so a
    /// non-loopback address is refused unless [`ServerConfig::allow_non_loopback`] is set.
    pub bind: SocketAddr,
    /// Allows binding a non-loopback address (on a private network next to Asterisk).
    pub allow_non_loopback: bool,
    /// At most this many sessions at once (default 256); a connection beyond it is closed
    /// at once, so Asterisk's `AGI()` fails fast (`AGISTATUS=FAILURE`) instead of waiting.
    pub max_sessions: usize,
    /// How long one command may wait for its reply (default 60 s: `GET DATA` with a long
    /// prompt takes a while). A timed-out command may have run; the session is closed.
    pub command_timeout: Duration,
    /// How long the environment block may take to arrive (default 5 s).
    pub env_timeout: Duration,
    /// On shutdown, how long running sessions get to finish before they are aborted
    /// (default 10 s).
    pub shutdown_grace: Duration,
    /// The codec's line limit (default [`DEFAULT_MAX_LINE_BYTES`]).
    pub max_line_bytes: usize,
    /// The codec's environment variable limit (default [`DEFAULT_MAX_ENV_VARS`]).
    pub max_env_vars: usize,
    /// The codec's usage text limit (default [`DEFAULT_MAX_USAGE_LINES`]).
    pub max_usage_lines: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT)),
            allow_non_loopback: false,
            max_sessions: 256,
            command_timeout: Duration::from_secs(60),
            env_timeout: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(10),
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            max_env_vars: DEFAULT_MAX_ENV_VARS,
            max_usage_lines: DEFAULT_MAX_USAGE_LINES,
        }
    }
}

impl ServerConfig {
    /// Sets [`ServerConfig::bind`].
    pub fn with_bind(mut self, bind: SocketAddr) -> Self {
        self.bind = bind;
        self
    }

    /// Sets [`ServerConfig::allow_non_loopback`].
    pub fn with_allow_non_loopback(mut self, allow: bool) -> Self {
        self.allow_non_loopback = allow;
        self
    }

    /// Sets [`ServerConfig::max_sessions`] (at least 1).
    pub fn with_max_sessions(mut self, n: usize) -> Self {
        self.max_sessions = n.max(1);
        self
    }

    /// Sets [`ServerConfig::command_timeout`].
    pub fn with_command_timeout(mut self, t: Duration) -> Self {
        self.command_timeout = t;
        self
    }

    /// Sets [`ServerConfig::env_timeout`].
    pub fn with_env_timeout(mut self, t: Duration) -> Self {
        self.env_timeout = t;
        self
    }

    /// Sets [`ServerConfig::shutdown_grace`].
    pub fn with_shutdown_grace(mut self, t: Duration) -> Self {
        self.shutdown_grace = t;
        self
    }

    /// Sets the codec limits (line bytes, environment variables, usage lines).
    pub fn with_limits(mut self, line_bytes: usize, env_vars: usize, usage_lines: usize) -> Self {
        self.max_line_bytes = line_bytes;
        self.max_env_vars = env_vars;
        self.max_usage_lines = usage_lines;
        self
    }

    fn codec(&self) -> AgiCodec {
        AgiCodec::new(self.max_line_bytes, self.max_env_vars, self.max_usage_lines)
    }
}

/// How one connection ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionEnd {
    /// The handler returned `Ok`.
    Done {
        /// The script path.
        path: String,
        /// Whether Asterisk had sent `HANGUP` by then.
        hung_up: bool,
    },
    /// No handler for the script path; the connection was closed.
    NoRoute {
        /// The script path.
        path: String,
    },
    /// The handler returned an error.
    Failed {
        /// The script path.
        path: String,
        /// Whether Asterisk had sent `HANGUP` by then.
        hung_up: bool,
        /// The handler's error.
        error: AgiError,
    },
}

/// Serves one connection: reads the environment, routes it, runs the handler.
///
/// This is what the server runs per accepted connection; tests drive it over an in-memory
/// duplex.
///
/// # Errors
/// Only when no session could be started (the environment block is missing or malformed);
/// handler failures are a [`SessionEnd::Failed`].
pub async fn serve_connection(
    io: Box<dyn AgiIo>,
    router: &Router,
    config: &ServerConfig,
) -> Result<SessionEnd, AgiError> {
    let mut session = AgiSession::start(
        io,
        config.codec(),
        config.env_timeout,
        config.command_timeout,
    )
    .await?;
    let path = session.env().script_path().to_owned();
    let span = tracing::info_span!(
        "agi",
        path = %path,
        uniqueid = session.uniqueid().unwrap_or(""),
        channel = session.channel().unwrap_or("")
    );
    async move {
        let Some(handler) = router.find(&path) else {
            tracing::warn!("AGI: no handler for this script path; closing");
            return Ok(SessionEnd::NoRoute { path });
        };
        let result = handler.handle(&mut session).await;
        let hung_up = session.is_hung_up();
        Ok(match result {
            Ok(()) => SessionEnd::Done { path, hung_up },
            Err(error) => {
                if hung_up {
                    tracing::info!(%error, "AGI: script ended after the caller hung up");
                } else {
                    tracing::warn!(%error, "AGI: script failed");
                }
                SessionEnd::Failed {
                    path,
                    hung_up,
                    error,
                }
            }
        })
    }
    .instrument(span)
    .await
}

/// A bound FastAGI server.
#[derive(Debug)]
pub struct AgiServer {
    listener: TcpListener,
    router: Arc<Router>,
    config: Arc<ServerConfig>,
}

impl AgiServer {
    /// Binds the listener.
    ///
    /// # Errors
    /// [`AgiError::NonLoopbackBind`] for a non-loopback address not explicitly allowed;
    /// [`AgiError::Io`] when binding fails.
    pub async fn bind(config: ServerConfig, router: Router) -> Result<Self, AgiError> {
        if !config.bind.ip().is_loopback() && !config.allow_non_loopback {
            return Err(AgiError::NonLoopbackBind(config.bind));
        }
        let listener = TcpListener::bind(config.bind).await?;
        Ok(AgiServer {
            listener,
            router: Arc::new(router),
            config: Arc::new(config),
        })
    }

    /// The address actually bound (port 0 resolved).
    ///
    /// # Errors
    /// [`AgiError::Io`].
    pub fn local_addr(&self) -> Result<SocketAddr, AgiError> {
        Ok(self.listener.local_addr()?)
    }

    /// Accepts and serves connections until `shutdown` completes, then stops accepting,
    /// gives running sessions [`ServerConfig::shutdown_grace`] to finish and aborts the rest.
    ///
    /// # Errors
    /// Never for a single connection's failure (logged); only if accepting fails for good.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Result<(), AgiError> {
        let permits = Arc::new(Semaphore::new(self.config.max_sessions));
        let mut sessions = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
                accepted = self.listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            // Per-connection failures (e.g. reset before accept, out of
                            // descriptors) must not end the server.
                            tracing::warn!(error = %e, "AGI: accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let Ok(permit) = permits.clone().try_acquire_owned() else {
                        tracing::warn!(%peer, max = self.config.max_sessions,
                            "AGI: session limit reached; connection closed");
                        drop(stream);
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let router = self.router.clone();
                    let config = self.config.clone();
                    sessions.spawn(async move {
                        match serve_connection(Box::new(stream), &router, &config).await {
                            Ok(end) => tracing::debug!(?end, "AGI: session ended"),
                            Err(e) => tracing::warn!(%peer, error = %e, "AGI: no session"),
                        }
                        drop(permit);
                    });
                }
            }
        }
        drop(self.listener);
        let grace = self.config.shutdown_grace;
        let drained = tokio::time::timeout(grace, async {
            while sessions.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                left = sessions.len(),
                "AGI: aborting sessions after the grace period"
            );
            sessions.shutdown().await;
        }
        Ok(())
    }
}
