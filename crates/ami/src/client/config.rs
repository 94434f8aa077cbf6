use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// How to log in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// `Login` with the plain `Secret`.
    #[default]
    Plain,
    /// `Challenge` (AuthType MD5), then `Login` with `Key` = md5(challenge + secret).
    Md5,
}

/// TLS settings: the server name to verify and a rustls client configuration (ring provider).
#[derive(Clone)]
pub struct TlsConfig {
    /// The name the server certificate must match.
    pub server_name: String,
    /// The rustls configuration.
    pub client_config: Arc<rustls::ClientConfig>,
}

impl TlsConfig {
    /// A configuration trusting `roots`, with rustls' `ring` provider.
    pub fn with_roots(
        server_name: impl Into<String>,
        roots: rustls::RootCertStore,
    ) -> Result<Self, crate::AmiError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| crate::AmiError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(TlsConfig {
            server_name: server_name.into(),
            client_config: Arc::new(config),
        })
    }
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

/// Reconnect policy: exponential backoff with jitter, capped.
#[derive(Clone, Debug)]
pub struct ReconnectPolicy {
    /// Reconnect at all after the link drops.
    pub enabled: bool,
    /// First delay.
    pub initial: Duration,
    /// Largest delay.
    pub max: Duration,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            enabled: true,
            initial: Duration::from_millis(250),
            max: Duration::from_secs(30),
        }
    }
}

impl ReconnectPolicy {
    /// The delay before attempt `attempt` (0-based): `min(initial * 2^attempt, max)`, of which
    /// a random half is taken away (jitter), so many clients do not reconnect in step.
    pub fn delay(&self, attempt: u32, random: f64) -> Duration {
        let base = self
            .initial
            .saturating_mul(1u32 << attempt.min(20))
            .min(self.max);
        let half = base / 2;
        half + half.mul_f64(random.clamp(0.0, 1.0))
    }
}

/// Client configuration. `Debug` never shows the secret.
#[derive(Clone)]
pub struct AmiConfig {
    /// Host name or address.
    pub host: String,
    /// Port (5038 for plain AMI, 5039 commonly for TLS).
    pub port: u16,
    /// AMI user.
    pub username: String,
    /// AMI secret (never logged).
    pub secret: String,
    /// Plain or MD5 challenge login.
    pub auth: AuthMode,
    /// `Events` header of the Login (`on`, `off`, or a class list such as `call,agent`).
    pub events: String,
    /// TLS, when set.
    pub tls: Option<TlsConfig>,
    /// TCP connect (and login) timeout.
    pub connect_timeout: Duration,
    /// Default time an action may wait for its response.
    pub action_timeout: Duration,
    /// Send a `Ping` after this much time; `None` disables keepalive.
    pub keepalive: Option<Duration>,
    /// A keepalive `Ping` unanswered for this long means the link is dead.
    pub ping_timeout: Duration,
    /// Reconnect policy.
    pub reconnect: ReconnectPolicy,
    /// Events buffered per subscriber before it is told it lagged.
    pub event_buffer: usize,
    /// Backpressure instead of loss for the stream [`AmiClient::connect`](crate::AmiClient)
    /// returns: when it holds `event_buffer` unread items the connection task stops reading
    /// the socket (it still writes actions), so Asterisk's TCP buffer is the queue and the
    /// stream never lags. Its consumer must keep reading while it awaits an action of the same
    /// client (the action's response is behind the unread events). Other subscribers stay
    /// lossy. Off by default: a held but unread stream would stall the client.
    pub backpressure: bool,
    /// Actions queued towards the connection task.
    pub request_buffer: usize,
    /// ActionID prefix; `None` picks a random one per client (unique per process and run).
    pub action_id_prefix: Option<String>,
    /// Frame size limit for the decoder.
    pub max_frame_bytes: usize,
}

impl AmiConfig {
    /// Defaults for `host:port` with the given credentials.
    pub fn new(
        host: impl Into<String>,
        port: u16,
        username: impl Into<String>,
        secret: impl Into<String>,
    ) -> Self {
        AmiConfig {
            host: host.into(),
            port,
            username: username.into(),
            secret: secret.into(),
            auth: AuthMode::Plain,
            events: "on".into(),
            tls: None,
            connect_timeout: Duration::from_secs(10),
            action_timeout: Duration::from_secs(10),
            keepalive: Some(Duration::from_secs(20)),
            ping_timeout: Duration::from_secs(10),
            reconnect: ReconnectPolicy::default(),
            event_buffer: 4096,
            backpressure: false,
            request_buffer: 256,
            action_id_prefix: None,
            max_frame_bytes: crate::DEFAULT_MAX_FRAME_BYTES,
        }
    }
}

impl AmiConfig {
    /// Sets [`AmiConfig::backpressure`].
    pub fn with_backpressure(mut self, on: bool) -> Self {
        self.backpressure = on;
        self
    }
}

impl fmt::Debug for AmiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmiConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("secret", &"<redacted>")
            .field("auth", &self.auth)
            .field("events", &self.events)
            .field("tls", &self.tls)
            .field("connect_timeout", &self.connect_timeout)
            .field("action_timeout", &self.action_timeout)
            .field("keepalive", &self.keepalive)
            .field("ping_timeout", &self.ping_timeout)
            .field("reconnect", &self.reconnect)
            .field("event_buffer", &self.event_buffer)
            .field("backpressure", &self.backpressure)
            .field("request_buffer", &self.request_buffer)
            .field("action_id_prefix", &self.action_id_prefix)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let config = AmiConfig::new("pbx", 5038, "ami", "s3cr3t-ami-pass");
        let text = format!("{config:?}");
        assert!(!text.contains("s3cr3t-ami-pass"), "{text}");
        assert!(
            text.contains("ami") && text.contains("<redacted>"),
            "{text}"
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let p = ReconnectPolicy {
            enabled: true,
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
        };
        assert_eq!(p.delay(0, 0.0), Duration::from_millis(50));
        assert_eq!(p.delay(0, 1.0), Duration::from_millis(100));
        assert_eq!(p.delay(3, 1.0), Duration::from_millis(800));
        for attempt in [5, 10, 31, u32::MAX] {
            for r in [0.0, 0.5, 1.0] {
                let d = p.delay(attempt, r);
                assert!(
                    d >= Duration::from_secs(1) && d <= Duration::from_secs(2),
                    "{attempt} {r} {d:?}"
                );
            }
        }
    }
}
