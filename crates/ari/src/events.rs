//! The events WebSocket: typed events in arrival order, reconnects with backoff, lifecycle
//! events, and per-channel / per-bridge subscriptions for stage-then-execute.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use rand::Rng;
use tokio::sync::{mpsc, oneshot};

use crate::{ApplicationReplaced, Client, Error, Event};

mod connection;

use connection::{Target, Task};

/// One item of the event stream: an ARI event or a change of the connection's state.
#[derive(Debug)]
#[non_exhaustive]
pub enum StreamEvent {
    /// The first connection is up.
    Connected,
    /// An event from Asterisk, in arrival order.
    Event(Event),
    /// A message whose `type` is known but whose body does not match the api-docs, or that is
    /// not JSON at all: kept as received, with the reason.
    Malformed {
        /// The text as received.
        raw: String,
        /// Why it did not parse.
        error: serde_json::Error,
    },
    /// The connection was lost; a reconnect follows (with backoff). Asterisk replays nothing.
    Disconnected {
        /// Why, when known (`None` for an orderly close by the server).
        error: Option<Error>,
    },
    /// The connection is back after `attempts` tries. Events in between are lost and Asterisk
    /// sends no new `StasisStart` for channels already in the app: resync by listing channels
    /// and bridges.
    Reconnected {
        /// How many connection attempts it took.
        attempts: u32,
    },
    /// Another connection took the application over. Asterisk keeps this socket open but sends
    /// it nothing more; the stream stops here and does not reconnect (that would steal the app
    /// back and start a reconnect war).
    ApplicationReplaced(ApplicationReplaced),
}

/// Reconnect backoff: exponential from `initial` up to `max`, with jitter (each delay is drawn
/// between half and all of the exponential value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay.
    pub initial: Duration,
    /// The largest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The delay before reconnect attempt `attempt` (1-based), jittered with `rng`.
    pub fn delay(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let exp = self
            .initial
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let full = exp.min(self.max);
        let half = full / 2;
        let extra = rng.random_range(0..=half.as_millis() as u64);
        half + Duration::from_millis(extra)
    }
}

/// Configures and opens the events WebSocket; from [`Client::event_stream`].
#[derive(Debug)]
pub struct EventsBuilder {
    client: Client,
    apps: Vec<String>,
    subscribe_all: bool,
    capacity: usize,
    backoff: Backoff,
    keepalive: Duration,
}

impl Client {
    /// Prepares the events WebSocket (`/ari/events?app=...`) for one or more Stasis applications.
    pub fn event_stream<I, S>(&self, apps: I) -> EventsBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        EventsBuilder {
            client: self.clone(),
            apps: apps.into_iter().map(Into::into).collect(),
            subscribe_all: false,
            capacity: 1024,
            backoff: Backoff::default(),
            keepalive: Duration::from_secs(20),
        }
    }
}

impl EventsBuilder {
    /// Sends `subscribeAll=true`: the apps receive every Asterisk event, not only those of the
    /// resources they are subscribed to.
    pub fn subscribe_all(mut self, yes: bool) -> Self {
        self.subscribe_all = yes;
        self
    }

    /// Bound of the stream's queue (each subscription's is twice that); default 1024. When
    /// the stream's queue is full the reader waits: nothing is dropped, the socket applies
    /// back-pressure. A subscription whose queue is full is closed instead (see
    /// [`Subscription::lagged`]): one unread subscription never stalls the stream, the other
    /// subscriptions or the keepalive.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// Reconnect backoff (default 0.5 s doubling up to 30 s).
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Sends a WebSocket ping this often (default 20 s); a connection that has received nothing
    /// (not even the pong) for more than two periods is taken as lost and reconnected. This catches a
    /// peer that vanished without closing the TCP connection.
    pub fn keepalive(mut self, period: Duration) -> Self {
        self.keepalive = period.max(Duration::from_millis(10));
        self
    }

    /// Connects, then hands the socket to a background task; the first item is
    /// [`StreamEvent::Connected`].
    ///
    /// # Errors
    ///
    /// The first connection's failure: e.g. [`Error::Unauthorized`] for bad credentials,
    /// [`Error::ConnectTimeout`], [`Error::WebSocket`].
    pub async fn connect(self) -> Result<EventStream, Error> {
        let target = Target::new(&self.client, &self.apps, self.subscribe_all)?;
        let socket = target.connect().await?;
        let (tx, rx) = mpsc::channel(self.capacity);
        let (stop_tx, stop_rx) = oneshot::channel();
        let routes = Arc::new(Mutex::new(Routes::default()));
        let task = Task {
            target,
            tx,
            routes: Arc::downgrade(&routes),
            backoff: self.backoff,
            capacity: self.capacity,
            keepalive: self.keepalive,
        };
        tokio::spawn(task.run(socket, stop_rx));
        Ok(EventStream {
            rx,
            routes,
            capacity: self.capacity,
            _stop: stop_tx,
        })
    }
}

/// The stream of events of one WebSocket; dropping it closes the socket and stops reconnecting.
///
/// Events are delivered in arrival order; a consumer must keep receiving (the queue is bounded
/// and the reader waits when it is full). Also a [`futures::Stream`].
pub struct EventStream {
    rx: mpsc::Receiver<StreamEvent>,
    routes: Arc<Mutex<Routes>>,
    capacity: usize,
    _stop: oneshot::Sender<()>,
}

impl fmt::Debug for EventStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStream")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl EventStream {
    /// The next item; `None` once the stream has stopped (after `ApplicationReplaced`).
    pub async fn recv(&mut self) -> Option<StreamEvent> {
        self.rx.recv().await
    }

    /// Receives the events about channel `id` (every event with a `Channel` field of that id),
    /// also delivered to this stream. Register before originating with that id
    /// (stage-then-execute) so the first event cannot be missed.
    pub fn subscribe_channel(&self, id: impl Into<String>) -> Subscription {
        self.subscribe(Kind::Channel, id.into())
    }

    /// Receives the events about bridge `id`.
    pub fn subscribe_bridge(&self, id: impl Into<String>) -> Subscription {
        self.subscribe(Kind::Bridge, id.into())
    }

    /// Receives the events about playback `id`.
    pub fn subscribe_playback(&self, id: impl Into<String>) -> Subscription {
        self.subscribe(Kind::Playback, id.into())
    }

    /// Receives the events about the live recording `name`.
    pub fn subscribe_recording(&self, name: impl Into<String>) -> Subscription {
        self.subscribe(Kind::Recording, name.into())
    }

    fn subscribe(&self, kind: Kind, id: String) -> Subscription {
        // Twice the stream's: the reader hands an event to the subscriptions before the
        // stream, so one read in step with the stream may run a queue's length behind.
        let (tx, rx) = mpsc::channel(self.capacity.saturating_mul(2));
        let key = (kind, id);
        let lagged = Arc::new(AtomicBool::new(false));
        if let Ok(mut routes) = self.routes.lock()
            && !routes.closed
        {
            routes.map.entry(key.clone()).or_default().push(Route {
                tx,
                lagged: Arc::clone(&lagged),
            });
        }
        Subscription {
            rx,
            key,
            lagged,
            routes: Arc::downgrade(&self.routes),
        }
    }
}

impl futures::Stream for EventStream {
    type Item = StreamEvent;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<StreamEvent>> {
        self.rx.poll_recv(cx)
    }
}

/// Events about one channel, bridge, playback or recording; from [`EventStream`]'s
/// `subscribe_*`. Dropping it unregisters it.
///
/// Its queue holds twice the stream's capacity; a subscription that falls that far behind is
/// closed rather than allowed to stall the stream: it yields what it holds, then `None`, and
/// [`Subscription::lagged`] tells that events were lost.
#[derive(Debug)]
pub struct Subscription {
    rx: mpsc::Receiver<Event>,
    key: (Kind, String),
    lagged: Arc<AtomicBool>,
    routes: Weak<Mutex<Routes>>,
}

impl Subscription {
    /// The next event about the resource; `None` once the stream has stopped or this
    /// subscription was closed for lagging ([`Subscription::lagged`]).
    pub async fn recv(&mut self) -> Option<Event> {
        self.rx.recv().await
    }

    /// True once the subscription was closed because its queue was full: events about the
    /// resource after the ones it still holds were dropped for it (the stream itself lost
    /// nothing). Read the resource's state over REST, or subscribe again.
    pub fn lagged(&self) -> bool {
        self.lagged.load(Ordering::Relaxed)
    }

    /// The id this subscription follows.
    pub fn id(&self) -> &str {
        &self.key.1
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(routes) = self.routes.upgrade()
            && let Ok(mut routes) = routes.lock()
            && let Some(list) = routes.map.get_mut(&self.key)
        {
            list.retain(|r| !r.tx.is_closed());
            if list.is_empty() {
                routes.map.remove(&self.key);
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Channel,
    Bridge,
    Playback,
    Recording,
}

/// One subscription's end in the reader.
#[derive(Debug, Clone)]
struct Route {
    tx: mpsc::Sender<Event>,
    lagged: Arc<AtomicBool>,
}

#[derive(Debug, Default)]
struct Routes {
    map: HashMap<(Kind, String), Vec<Route>>,
    /// The task has stopped: new subscriptions end at once.
    closed: bool,
}

impl Routes {
    fn targets(&self, event: &Event) -> Vec<Route> {
        if self.map.is_empty() {
            return Vec::new();
        }
        let mut out: Vec<Route> = Vec::new();
        let keys = [
            (Kind::Channel, event.channel_ids()),
            (Kind::Bridge, event.bridge_ids()),
            (Kind::Playback, event.playback_ids()),
            (Kind::Recording, event.recording_names()),
        ];
        for (kind, ids) in keys {
            for id in ids {
                if let Some(list) = self.map.get(&(kind, id.to_owned())) {
                    for route in list {
                        if !out.iter().any(|o| o.tx.same_channel(&route.tx)) {
                            out.push(route.clone());
                        }
                    }
                }
            }
        }
        out
    }

    /// Drops the routes of subscriptions that lagged (closing them once drained).
    fn drop_lagged(&mut self, lagged: &[Route]) {
        self.map.retain(|_, list| {
            list.retain(|r| !lagged.iter().any(|l| l.tx.same_channel(&r.tx)));
            !list.is_empty()
        });
    }
}

/// Hands an event to each subscription without waiting: a full one is marked lagged and
/// closed, so it can stall neither the stream nor the keepalive.
fn fan_out(routes: &Weak<Mutex<Routes>>, event: &Event) {
    let Some(routes) = routes.upgrade() else {
        return;
    };
    let targets = routes.lock().map(|r| r.targets(event)).unwrap_or_default();
    let mut lagged = Vec::new();
    for route in targets {
        if let Err(mpsc::error::TrySendError::Full(_)) = route.tx.try_send(event.clone()) {
            tracing::warn!(
                event = event.type_name(),
                "an ARI subscription fell behind; closing it (lagged)"
            );
            route.lagged.store(true, Ordering::Relaxed);
            lagged.push(route);
        }
    }
    if !lagged.is_empty()
        && let Ok(mut r) = routes.lock()
    {
        r.drop_lagged(&lagged);
    }
}

/// Turns one WebSocket text message into a stream item, never losing it.
pub(crate) fn decode(text: String) -> StreamEvent {
    let value: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(error) => return StreamEvent::Malformed { raw: text, error },
    };
    match Event::from_value(value) {
        Ok(event) => StreamEvent::Event(event),
        Err(error) => StreamEvent::Malformed { raw: text, error },
    }
}

pub(crate) fn base64(input: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
