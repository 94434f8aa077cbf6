//! The reader task's connection: where and how to connect, and the task that reads,
//! keeps alive and reconnects.

use std::fmt;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::client::Credentials;
use crate::{Client, Error, Event};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

use super::{Backoff, Routes, StreamEvent, base64, decode, fan_out};

/// Where and how to connect.
pub(super) struct Target {
    pub(super) url: String,
    pub(super) credentials: Credentials,
    pub(super) connect_timeout: Duration,
    pub(super) tls: Option<Arc<rustls::ClientConfig>>,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl Target {
    pub(super) fn new(
        client: &Client,
        apps: &[String],
        subscribe_all: bool,
    ) -> Result<Self, Error> {
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

    pub(super) async fn connect(&self) -> Result<Socket, Error> {
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

pub(super) struct Task {
    pub(super) target: Target,
    pub(super) tx: mpsc::Sender<StreamEvent>,
    pub(super) routes: Weak<Mutex<Routes>>,
    pub(super) backoff: Backoff,
    pub(super) capacity: usize,
    pub(super) keepalive: Duration,
}

pub(super) enum Ended {
    /// The consumer is gone or asked to stop.
    Stop,
    /// Another connection took the application.
    Replaced,
    /// The socket closed or failed.
    Lost(Option<Error>),
}

impl Task {
    pub(super) async fn run(self, socket: Socket, stop: oneshot::Receiver<()>) {
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

    pub(super) async fn serve(&self, socket: Socket, mut stop: oneshot::Receiver<()>) {
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

    pub(super) async fn read(
        &self,
        socket: &mut Socket,
        stop: &mut oneshot::Receiver<()>,
    ) -> Ended {
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
