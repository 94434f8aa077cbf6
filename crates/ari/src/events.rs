//! The events WebSocket: typed events in arrival order, reconnects with backoff, lifecycle
//! events, and per-channel / per-bridge subscriptions for stage-then-execute.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use rand::Rng;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::client::Credentials;
use crate::{ApplicationReplaced, Client, Error, Event};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

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

/// Where and how to connect.
struct Target {
    url: String,
    credentials: Credentials,
    connect_timeout: Duration,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl Target {
    fn new(client: &Client, apps: &[String], subscribe_all: bool) -> Result<Self, Error> {
        let mut url = client.base_url().clone();
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        let invalid = |reason| Error::InvalidUrl {
            url: client.base_url().to_string(),
            reason,
        };
        if apps.is_empty() {
            return Err(invalid(
                "the events WebSocket needs at least one application",
            ));
        }
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push("events");
        }
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("app", &apps.join(","));
            q.append_pair("subscribeAll", if subscribe_all { "true" } else { "false" });
            if let Some(key) = client.credentials().api_key() {
                q.append_pair("api_key", &key);
            }
        }
        // `Url::set_scheme` refuses http -> ws, so swap the prefix textually.
        let text = url.to_string();
        let rest = text.split_once("://").map(|(_, r)| r).unwrap_or(&text);
        let tls = if scheme == "wss" {
            let roots =
                rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map_err(|_| invalid("TLS setup failed"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
            Some(Arc::new(config))
        } else {
            None
        };
        Ok(Self {
            url: format!("{scheme}://{rest}"),
            credentials: client.credentials().clone(),
            connect_timeout: client.connect_timeout(),
            tls,
        })
    }

    async fn connect(&self) -> Result<Socket, Error> {
        let mut request = self
            .url
            .as_str()
            .into_client_request()
            .map_err(|e| Error::WebSocket(Box::new(e)))?;
        if let Credentials::Basic { username, password } = &self.credentials {
            let token = base64(format!("{username}:{password}").as_bytes());
            if let Ok(mut value) = HeaderValue::from_str(&format!("Basic {token}")) {
                value.set_sensitive(true);
                request.headers_mut().insert("Authorization", value);
            }
        }
        let connector = self
            .tls
            .clone()
            .map(Connector::Rustls)
            .or(Some(Connector::Plain));
        let fut = tokio_tungstenite::connect_async_tls_with_config(request, None, false, connector);
        match tokio::time::timeout(self.connect_timeout, fut).await {
            Err(_) => Err(Error::ConnectTimeout(self.connect_timeout)),
            Ok(Ok((socket, _))) => Ok(socket),
            Ok(Err(tungstenite::Error::Http(resp))) => {
                let status = resp.status().as_u16();
                let body = resp.body().clone().unwrap_or_default();
                Err(Error::from_response(status, &body))
            }
            Ok(Err(e)) => Err(Error::WebSocket(Box::new(e))),
        }
    }
}

struct Task {
    target: Target,
    tx: mpsc::Sender<StreamEvent>,
    routes: Weak<Mutex<Routes>>,
    backoff: Backoff,
    capacity: usize,
    keepalive: Duration,
}

enum Ended {
    /// The consumer is gone or asked to stop.
    Stop,
    /// Another connection took the application.
    Replaced,
    /// The socket closed or failed.
    Lost(Option<Error>),
}

impl Task {
    async fn run(self, socket: Socket, stop: oneshot::Receiver<()>) {
        self.serve(socket, stop).await;
        // Ends every subscription: their `recv` returns `None` from now on.
        if let Some(routes) = self.routes.upgrade()
            && let Ok(mut routes) = routes.lock()
        {
            routes.map.clear();
            routes.closed = true;
        }
        tracing::debug!("ARI events task stopped");
    }

    async fn serve(&self, socket: Socket, mut stop: oneshot::Receiver<()>) {
        tracing::debug!(capacity = self.capacity, "ARI events task started");
        if self.tx.send(StreamEvent::Connected).await.is_err() {
            return;
        }
        let mut socket = socket;
        loop {
            match self.read(&mut socket, &mut stop).await {
                Ended::Stop | Ended::Replaced => {
                    let _ = socket.close(None).await;
                    return;
                }
                Ended::Lost(error) => {
                    tracing::warn!(error = ?error, "ARI events WebSocket lost; reconnecting");
                    if self
                        .tx
                        .send(StreamEvent::Disconnected { error })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
            let mut attempts = 0u32;
            socket = loop {
                attempts += 1;
                let delay = self.backoff.delay(attempts, &mut rand::rng());
                tokio::select! {
                    _ = &mut stop => return,
                    () = tokio::time::sleep(delay) => {}
                }
                match self.target.connect().await {
                    Ok(s) => break s,
                    Err(e) => tracing::debug!(attempts, error = %e, "ARI events reconnect failed"),
                }
            };
            if self
                .tx
                .send(StreamEvent::Reconnected { attempts })
                .await
                .is_err()
            {
                return;
            }
        }
    }

    async fn read(&self, socket: &mut Socket, stop: &mut oneshot::Receiver<()>) -> Ended {
        let mut ticker = tokio::time::interval(self.keepalive);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        let mut silent_ticks = 0u32;
        loop {
            let msg = tokio::select! {
                _ = &mut *stop => return Ended::Stop,
                _ = ticker.tick() => {
                    silent_ticks += 1;
                    if silent_ticks > 2 {
                        return Ended::Lost(Some(Error::KeepaliveTimeout(self.keepalive * 2)));
                    }
                    if let Err(e) = socket.send(Message::Ping(Vec::new().into())).await {
                        return Ended::Lost(Some(Error::WebSocket(Box::new(e))));
                    }
                    continue;
                }
                msg = socket.next() => msg,
            };
            silent_ticks = 0;
            let text = match msg {
                None => return Ended::Lost(None),
                Some(Err(e)) => return Ended::Lost(Some(Error::WebSocket(Box::new(e)))),
                Some(Ok(Message::Text(t))) => t.as_str().to_owned(),
                Some(Ok(Message::Binary(b))) => String::from_utf8_lossy(&b).into_owned(),
                Some(Ok(Message::Close(_))) => return Ended::Lost(None),
                Some(Ok(_)) => continue,
            };
            let item = decode(text);
            if let StreamEvent::Event(event) = &item {
                if let Event::ApplicationReplaced(replaced) = event {
                    let replaced = replaced.as_ref().clone();
                    tracing::warn!(app = %replaced.application, "ARI application replaced by another connection; stopping");
                    let _ = self
                        .tx
                        .send(StreamEvent::ApplicationReplaced(replaced))
                        .await;
                    return Ended::Replaced;
                }
                fan_out(&self.routes, event);
            }
            if self.tx.send(item).await.is_err() {
                return Ended::Stop;
            }
        }
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
mod tests {
    use super::*;

    #[test]
    fn events_stay_small_and_cross_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Event>();
        send_sync::<crate::Client>();
        fn send<T: Send>() {}
        send::<EventStream>();
        send::<Subscription>();
        assert!(
            std::mem::size_of::<Event>() <= 40,
            "{}",
            std::mem::size_of::<Event>()
        );
        assert!(
            std::mem::size_of::<StreamEvent>() <= 128,
            "{}",
            std::mem::size_of::<StreamEvent>()
        );
    }

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"ari:aripass"), "YXJpOmFyaXBhc3M=");
    }

    #[test]
    fn backoff_grows_with_jitter_and_caps() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        let mut rng = rand::rng();
        for attempt in 1..20 {
            let d = b.delay(attempt, &mut rng);
            let full = (Duration::from_millis(100) * (1u32 << (attempt - 1).min(16))).min(b.max);
            assert!(
                d >= full / 2 && d <= full,
                "attempt {attempt}: {d:?} vs {full:?}"
            );
        }
    }

    #[test]
    fn unknown_type_is_kept_raw_and_bad_body_is_malformed() {
        match decode(r#"{"type":"FutureThing","x":1}"#.to_owned()) {
            StreamEvent::Event(e) => {
                assert!(matches!(e, Event::Unknown(_)));
                assert_eq!(e.type_name(), "FutureThing");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            decode(r#"{"type":"StasisStart","application":"a"}"#.to_owned()),
            StreamEvent::Malformed { .. }
        ));
        assert!(matches!(
            decode("not json".to_owned()),
            StreamEvent::Malformed { .. }
        ));
    }

    #[test]
    fn websocket_url_carries_apps_and_api_key() {
        let c = Client::builder("https://pbx.example:8089/", "u", "p")
            .api_key()
            .build()
            .unwrap();
        let t = Target::new(&c, &["a".to_owned(), "b".to_owned()], true).unwrap();
        assert_eq!(
            t.url,
            "wss://pbx.example:8089/ari/events?app=a%2Cb&subscribeAll=true&api_key=u%3Ap"
        );
        assert!(!format!("{t:?}").contains("u%3Ap"));
    }
}
