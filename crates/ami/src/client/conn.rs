//! One AMI link: connect (TCP or TLS), read the banner, log in; then frame reads and writes.

use std::time::Duration;

use bytes::BytesMut;
use md5::{Digest, Md5};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::config::{AmiConfig, AuthMode};
use crate::{Action, AmiCodec, AmiError, Frame, Message, MessageKind, Response};

pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// Makes ActionIDs: `<prefix>-<connection>-<n>`, unique per client, connection and action.
#[derive(Debug)]
pub(crate) struct ActionIds {
    prefix: String,
    connection: u64,
    next: u64,
}

impl ActionIds {
    pub(crate) fn new(prefix: String) -> Self {
        ActionIds {
            prefix,
            connection: 0,
            next: 0,
        }
    }

    pub(crate) fn new_connection(&mut self) {
        self.connection += 1;
        self.next = 0;
    }

    pub(crate) fn next_id(&mut self) -> String {
        self.next += 1;
        format!("{}-{}-{}", self.prefix, self.connection, self.next)
    }
}

pub(crate) struct Link {
    pub(crate) io: Box<dyn Io>,
    pub(crate) codec: AmiCodec,
    pub(crate) buf: BytesMut,
    /// Events that arrived during login, to deliver first.
    pub(crate) early: Vec<Message>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("buffered", &self.buf.len())
            .finish_non_exhaustive()
    }
}

impl Link {
    /// Reads until one frame is available. `Ok(None)` on EOF.
    pub(crate) async fn read_frame(&mut self) -> Result<Option<Frame>, AmiError> {
        loop {
            match self.codec.decode_frame(&mut self.buf) {
                Ok(Some(f)) => return Ok(Some(f)),
                Ok(None) => {}
                Err(e) if e.is_frame_error() => {
                    tracing::warn!(error = %e, "skipping bad AMI frame");
                    continue;
                }
                Err(e) => return Err(e),
            }
            self.buf.reserve(16 * 1024);
            if self.io.read_buf(&mut self.buf).await? == 0 {
                return Ok(None);
            }
        }
    }

    pub(crate) async fn write_action(&mut self, action: &Action) -> Result<(), AmiError> {
        let mut out = BytesMut::new();
        action.encode(&mut out)?;
        self.io.write_all(&out).await?;
        self.io.flush().await?;
        Ok(())
    }

    /// Sends `action` and waits for its response, keeping any event for later.
    async fn request(&mut self, action: &Action) -> Result<Response, AmiError> {
        self.write_action(action).await?;
        let id = action.action_id().unwrap_or_default().to_string();
        loop {
            match self.read_frame().await? {
                None => {
                    return Err(AmiError::Protocol(format!(
                        "connection closed during {}",
                        action.name()
                    )));
                }
                Some(Frame::Banner(_)) => {}
                Some(Frame::Message(m)) => {
                    if m.kind() == MessageKind::Response && m.action_id() == Some(id.as_bytes()) {
                        return Response::from_message(m)
                            .map_err(|_| AmiError::Protocol("not a response".into()));
                    }
                    if m.kind() == MessageKind::Event {
                        self.early.push(m);
                    }
                }
            }
        }
    }
}

/// Connects, reads the banner and logs in.
pub(crate) async fn open(config: &AmiConfig, ids: &mut ActionIds) -> Result<Link, AmiError> {
    let fut = open_inner(config, ids);
    match tokio::time::timeout(config.connect_timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(AmiError::Timeout(config.connect_timeout)),
    }
}

async fn open_inner(config: &AmiConfig, ids: &mut ActionIds) -> Result<Link, AmiError> {
    ids.new_connection();
    let tcp = TcpStream::connect((config.host.as_str(), config.port)).await?;
    let _ = tcp.set_nodelay(true);
    let io: Box<dyn Io> = match &config.tls {
        None => Box::new(tcp),
        Some(tls) => {
            let name = rustls::pki_types::ServerName::try_from(tls.server_name.clone())
                .map_err(|e| AmiError::Tls(e.to_string()))?;
            let connector = tokio_rustls::TlsConnector::from(tls.client_config.clone());
            Box::new(
                connector
                    .connect(name, tcp)
                    .await
                    .map_err(|e| AmiError::Tls(e.to_string()))?,
            )
        }
    };
    let mut link = Link {
        io,
        codec: AmiCodec::new(config.max_frame_bytes, crate::DEFAULT_MAX_HEADERS),
        buf: BytesMut::with_capacity(64 * 1024),
        early: Vec::new(),
    };
    match link.read_frame().await? {
        Some(Frame::Banner(b)) if b.as_bytes().starts_with(b"Asterisk Call Manager") => {
            tracing::debug!(banner = %b, "AMI banner");
        }
        Some(Frame::Banner(b)) => {
            return Err(AmiError::BadBanner {
                banner: b.to_string(),
            });
        }
        Some(Frame::Message(m)) => {
            return Err(AmiError::BadBanner {
                banner: format!("{m:?}"),
            });
        }
        None => {
            return Err(AmiError::Protocol(
                "connection closed before the banner".into(),
            ));
        }
    }
    login(&mut link, config, ids).await?;
    Ok(link)
}

async fn login(link: &mut Link, config: &AmiConfig, ids: &mut ActionIds) -> Result<(), AmiError> {
    let login = match config.auth {
        AuthMode::Plain => Action::new("Login")
            .with_action_id(ids.next_id())
            .header("Username", config.username.clone())
            .header("Secret", config.secret.clone())
            .header("Events", config.events.clone()),
        AuthMode::Md5 => {
            let challenge = Action::new("Challenge")
                .with_action_id(ids.next_id())
                .header("AuthType", "MD5");
            let r = link.request(&challenge).await?;
            if !r.is_success() {
                return Err(AmiError::Authentication {
                    message: r.message().unwrap_or("challenge refused").to_string(),
                });
            }
            let ch = r
                .get("Challenge")
                .ok_or_else(|| AmiError::Protocol("no Challenge".into()))?;
            let mut md5 = Md5::new();
            md5.update(ch.as_bytes());
            md5.update(config.secret.as_bytes());
            let key: String = md5.finalize().iter().map(|b| format!("{b:02x}")).collect();
            Action::new("Login")
                .with_action_id(ids.next_id())
                .header("AuthType", "MD5")
                .header("Username", config.username.clone())
                .header("Key", key)
                .header("Events", config.events.clone())
        }
    };
    let r = link.request(&login).await?;
    if r.is_success() {
        tracing::info!(host = %config.host, port = config.port, user = %config.username, "AMI logged in");
        Ok(())
    } else {
        Err(AmiError::Authentication {
            message: r.message().unwrap_or("login refused").to_string(),
        })
    }
}

/// A random prefix for ActionIDs: 48 random bits.
pub(crate) fn random_prefix() -> String {
    format!("hf{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}

pub(crate) fn jitter() -> f64 {
    rand::random::<f64>()
}

pub(crate) const TICK: Duration = Duration::from_millis(100);
