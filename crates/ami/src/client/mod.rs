//! The async client: a thin tokio shell around the codec.

mod config;
mod conn;
mod task;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot};

pub use config::{AmiConfig, AuthMode, ReconnectPolicy, TlsConfig};
use task::{Expect, Reply, Request, Task};

use crate::{Action, AmiError, Event, OriginateResponse, Response};

/// Why the link dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The server closed the connection.
    Eof,
    /// A socket error.
    Io(String),
    /// A keepalive `Ping` went unanswered.
    KeepaliveTimeout,
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisconnectReason::Eof => f.write_str("connection closed by the server"),
            DisconnectReason::Io(e) => write!(f, "I/O error: {e}"),
            DisconnectReason::KeepaliveTimeout => f.write_str("keepalive Ping unanswered"),
        }
    }
}

/// What a subscriber receives.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ClientEvent {
    /// An AMI event.
    Event(Event),
    /// This subscriber fell behind and missed this many items: resync (e.g. `CoreShowChannels`).
    Lagged(u64),
    /// Logged in (first connection).
    Connected,
    /// The link dropped; in-flight actions failed with [`AmiError::ConnectionLost`].
    Disconnected {
        /// Why.
        reason: DisconnectReason,
    },
    /// Logged in again after a drop: events in between are lost, resync.
    Reconnected,
}

/// A subscription to the client's events, with bounded buffering.
///
/// When the subscriber falls more than [`AmiConfig::event_buffer`] items behind, the oldest are
/// dropped for it and it receives [`ClientEvent::Lagged`] with how many it missed. The stream
/// [`AmiClient::connect`] returns under [`AmiConfig::backpressure`] is the exception: it never
/// lags, the client stops reading the socket instead.
#[derive(Debug)]
pub struct EventStream {
    rx: StreamRx,
}

#[derive(Debug)]
enum StreamRx {
    Lossy(broadcast::Receiver<ClientEvent>),
    Lossless(mpsc::Receiver<ClientEvent>),
}

impl EventStream {
    /// The next item; `None` once the client task has stopped and the buffer is drained.
    ///
    /// # Cancel safety
    /// Cancel safe: an item is either returned or stays queued.
    pub async fn recv(&mut self) -> Option<ClientEvent> {
        match &mut self.rx {
            StreamRx::Lossy(rx) => match rx.recv().await {
                Ok(e) => Some(e),
                Err(broadcast::error::RecvError::Lagged(n)) => Some(ClientEvent::Lagged(n)),
                Err(broadcast::error::RecvError::Closed) => None,
            },
            StreamRx::Lossless(rx) => rx.recv().await,
        }
    }

    /// The next item if one is ready.
    pub fn try_recv(&mut self) -> Option<ClientEvent> {
        match &mut self.rx {
            StreamRx::Lossy(rx) => match rx.try_recv() {
                Ok(e) => Some(e),
                Err(broadcast::error::TryRecvError::Lagged(n)) => Some(ClientEvent::Lagged(n)),
                Err(_) => None,
            },
            StreamRx::Lossless(rx) => rx.try_recv().ok(),
        }
    }
}

/// A cheap-to-clone handle to one AMI connection (and its reconnects).
///
/// See the crate docs for the behaviour contracts.
#[derive(Clone)]
pub struct AmiClient {
    tx: mpsc::Sender<Request>,
    // Held while a request waits for room in `tx`: a full bounded channel hands its free
    // slots to whichever waiting task is polled first, so without this, actions queued while
    // the channel is full could reach the wire out of call order. tokio's Mutex is FIFO.
    queue_order: Arc<tokio::sync::Mutex<()>>,
    events: broadcast::Sender<ClientEvent>,
    connected: Arc<AtomicBool>,
    action_timeout: Duration,
}

impl fmt::Debug for AmiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmiClient")
            .field("connected", &self.is_connected())
            .finish_non_exhaustive()
    }
}

impl AmiClient {
    /// Connects, logs in, and spawns the connection task (on the current tokio runtime).
    ///
    /// Fails with [`AmiError::Authentication`] on bad credentials; connection errors of this
    /// first attempt are returned, not retried. The returned stream starts with
    /// [`ClientEvent::Connected`].
    pub async fn connect(config: AmiConfig) -> Result<(AmiClient, EventStream), AmiError> {
        let prefix = config
            .action_id_prefix
            .clone()
            .unwrap_or_else(conn::random_prefix);
        let mut ids = conn::ActionIds::new(prefix);
        let link = conn::open(&config, &mut ids).await?;
        let (tx, rx) = mpsc::channel(config.request_buffer.max(1));
        let (events, first) = broadcast::channel(config.event_buffer.max(1));
        let connected = Arc::new(AtomicBool::new(true));
        let _ = events.send(ClientEvent::Connected);
        let (primary, first) = if config.backpressure {
            drop(first);
            let (tx, rx) = mpsc::channel(config.event_buffer.max(1));
            // Room for one item in a fresh channel.
            let _ = tx.try_send(ClientEvent::Connected);
            (Some(tx), StreamRx::Lossless(rx))
        } else {
            (None, StreamRx::Lossy(first))
        };
        let client = AmiClient {
            tx,
            queue_order: Arc::new(tokio::sync::Mutex::new(())),
            events: events.clone(),
            connected: connected.clone(),
            action_timeout: config.action_timeout,
        };
        let task = Task {
            config,
            ids,
            rx,
            events,
            primary,
            connected,
        };
        tokio::spawn(task.run(link));
        Ok((client, EventStream { rx: first }))
    }

    /// A new subscription (sees events from now on).
    pub fn subscribe(&self) -> EventStream {
        EventStream {
            rx: StreamRx::Lossy(self.events.subscribe()),
        }
    }

    /// True while logged in.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }

    async fn request(
        &self,
        action: Action,
        expect: Expect,
        timeout: Duration,
    ) -> Result<Reply, AmiError> {
        action.validate()?;
        let (reply, rx) = oneshot::channel();
        {
            let _in_order = self.queue_order.lock().await;
            self.tx
                .send(Request {
                    action,
                    expect,
                    timeout,
                    reply,
                })
                .await
                .map_err(|_| AmiError::Closed)?;
        }
        match rx.await {
            Ok(r) => r,
            Err(_) => Err(AmiError::Closed),
        }
    }

    /// Sends an action and returns its response.
    ///
    /// A `Response: Error` is [`AmiError::ActionFailed`]. The client sets the ActionID.
    pub async fn send(&self, action: Action) -> Result<Response, AmiError> {
        match self
            .request(action, Expect::Response, self.action_timeout)
            .await?
        {
            Reply::Response(r) | Reply::List(r, _) | Reply::Originate(r, _) => Ok(r),
        }
    }

    /// Sends an event-list action (`CoreShowChannels`, `Status`, `QueueStatus`, `BridgeList`...)
    /// and returns its response with the events up to and including the `...Complete` event.
    ///
    /// List events are delivered here, not to subscribers.
    pub async fn send_list(&self, action: Action) -> Result<(Response, Vec<Event>), AmiError> {
        match self
            .request(action, Expect::List, self.action_timeout)
            .await?
        {
            Reply::List(r, events) => Ok((r, events)),
            Reply::Response(r) | Reply::Originate(r, _) => Ok((r, Vec::new())),
        }
    }

    /// Sends an `Originate` with `Async: true` (added if absent) and waits for its
    /// `OriginateResponse` event, matched by ActionID (it may come before the response).
    ///
    /// The wait is the action timeout plus the Originate's own `Timeout` (ms, 30 s if absent).
    /// On a dropped link this fails with [`AmiError::ConnectionLost`]: the call may exist; the
    /// Originate is never re-sent. The `OriginateResponse` is also delivered to subscribers.
    pub async fn originate_async(&self, mut action: Action) -> Result<OriginateResponse, AmiError> {
        if action.get("Async").is_none() {
            action.push("Async", "true");
        }
        let ring = action
            .get("Timeout")
            .and_then(|t| t.trim().parse::<u64>().ok())
            .unwrap_or(30_000);
        let timeout = self.action_timeout + Duration::from_millis(ring);
        match self.request(action, Expect::Originate, timeout).await? {
            Reply::Originate(_, o) => Ok(*o),
            Reply::Response(r) | Reply::List(r, _) => Err(AmiError::Protocol(format!(
                "Originate answered without OriginateResponse: {r:?}"
            ))),
        }
    }

    /// Runs a CLI command and returns its output (`Output:` lines or a legacy `Follows` body).
    pub async fn command(&self, command: &str) -> Result<String, AmiError> {
        let r = self
            .send(Action::new("Command").header("Command", command))
            .await?;
        Ok(r.output())
    }
}
