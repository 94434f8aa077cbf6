//! The connection task: owns the link and the pending-ActionID map; one per client.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant;

use super::config::AmiConfig;
use super::conn::{self, ActionIds, Link};
use super::{ClientEvent, DisconnectReason};
use crate::{Action, AmiError, Event, Frame, Message, MessageKind, OriginateResponse, Response};

/// What a request waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    Response,
    List,
    Originate,
}

#[derive(Debug)]
pub(crate) enum Reply {
    Response(Response),
    List(Response, Vec<Event>),
    Originate(Response, Box<OriginateResponse>),
}

pub(crate) struct Request {
    pub(crate) action: Action,
    pub(crate) expect: Expect,
    pub(crate) timeout: Duration,
    pub(crate) reply: oneshot::Sender<Result<Reply, AmiError>>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("action", &self.action.name())
            .field("expect", &self.expect)
            .finish()
    }
}

struct Pending {
    name: String,
    expect: Expect,
    deadline: Instant,
    timeout: Duration,
    reply: oneshot::Sender<Result<Reply, AmiError>>,
    response: Option<Response>,
    events: Vec<Event>,
    originate: Option<Box<OriginateResponse>>,
}

pub(crate) struct Task {
    pub(crate) config: AmiConfig,
    pub(crate) ids: ActionIds,
    pub(crate) rx: mpsc::Receiver<Request>,
    pub(crate) events: broadcast::Sender<ClientEvent>,
    /// The lossless subscriber ([`AmiConfig::backpressure`]); its only sender.
    pub(crate) primary: Option<mpsc::Sender<ClientEvent>>,
    pub(crate) connected: Arc<AtomicBool>,
}

enum LinkEnd {
    /// Every handle is gone: stop.
    Shutdown,
    /// The link dropped.
    Lost(DisconnectReason),
}

impl Task {
    pub(crate) async fn run(mut self, mut link: Link) {
        loop {
            self.connected.store(true, Ordering::SeqCst);
            let end = self.serve(&mut link).await;
            self.connected.store(false, Ordering::SeqCst);
            let reason = match end {
                LinkEnd::Shutdown => return,
                LinkEnd::Lost(r) => r,
            };
            tracing::warn!(reason = %reason, "AMI link lost");
            self.announce(ClientEvent::Disconnected { reason }).await;
            if !self.config.reconnect.enabled {
                return;
            }
            match self.reconnect().await {
                Some(l) => {
                    link = l;
                    self.announce(ClientEvent::Reconnected).await;
                }
                None => return,
            }
        }
    }

    /// Link state changes reach every subscriber; the lossless one waits for room.
    async fn announce(&mut self, item: ClientEvent) {
        let _ = self.events.send(item.clone());
        if let Some(p) = &self.primary
            && p.send(item).await.is_err()
        {
            self.primary = None;
        }
    }

    /// Whether the lossless subscriber has no room for one more event (reading the socket
    /// waits until it has). A subscriber that went away no longer holds the client back.
    fn primary_full(&mut self) -> bool {
        match &self.primary {
            Some(p) if p.is_closed() => {
                self.primary = None;
                false
            }
            Some(p) => p.capacity() == 0,
            None => false,
        }
    }

    /// Hands an event to every subscriber. Called only after [`Task::primary_full`] said
    /// there is room, and this task is the primary's only sender, so nothing is dropped.
    fn deliver(&mut self, ev: Event) {
        let item = ClientEvent::Event(ev);
        match &self.primary {
            Some(p) => {
                let _ = self.events.send(item.clone());
                if let Err(mpsc::error::TrySendError::Closed(_)) = p.try_send(item) {
                    self.primary = None;
                }
            }
            // Receivers may all be gone; events are then simply not kept.
            None => {
                let _ = self.events.send(item);
            }
        }
    }

    /// Backs off and reconnects; answers requests with `NotConnected` meanwhile.
    async fn reconnect(&mut self) -> Option<Link> {
        let mut attempt = 0u32;
        loop {
            let delay = self.config.reconnect.delay(attempt, conn::jitter());
            attempt = attempt.saturating_add(1);
            let wake = Instant::now() + delay;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(wake) => break,
                    req = self.rx.recv() => match req {
                        None => return None,
                        Some(r) => { let _ = r.reply.send(Err(AmiError::NotConnected)); }
                    },
                }
            }
            tracing::info!(attempt, host = %self.config.host, "AMI reconnecting");
            let open = conn::open(&self.config, &mut self.ids);
            tokio::pin!(open);
            let result = loop {
                tokio::select! {
                    r = &mut open => break r,
                    req = self.rx.recv() => match req {
                        None => return None,
                        Some(r) => { let _ = r.reply.send(Err(AmiError::NotConnected)); }
                    },
                }
            };
            match result {
                Ok(link) => return Some(link),
                Err(e) => tracing::warn!(error = %e, attempt, "AMI reconnect failed"),
            }
        }
    }

    async fn serve(&mut self, link: &mut Link) -> LinkEnd {
        let mut pending: HashMap<String, Pending> = HashMap::new();
        for m in std::mem::take(&mut link.early) {
            if let Some(ev) = self.dispatch(m, &mut pending) {
                self.deliver(ev);
            }
        }
        let mut tick = tokio::time::interval(conn::TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_ping = Instant::now();
        let mut ping: Option<(String, Instant)> = None;
        // The lossless subscriber is full: the socket is not read until it has room.
        let mut stalled = false;
        let end = loop {
            // Frames already buffered first.
            loop {
                if self.primary_full() {
                    stalled = true;
                    break;
                }
                match link.codec.decode_frame(&mut link.buf) {
                    Ok(Some(Frame::Message(m))) => {
                        if let Some((id, _)) = &ping
                            && m.kind() == MessageKind::Response
                            && m.action_id() == Some(id.as_bytes())
                        {
                            ping = None;
                            continue;
                        }
                        if let Some(ev) = self.dispatch(m, &mut pending) {
                            self.deliver(ev);
                        }
                    }
                    Ok(Some(Frame::Banner(_))) => {}
                    Ok(None) => break,
                    Err(e) => tracing::warn!(error = %e, "skipping bad AMI frame"),
                }
            }
            if !stalled {
                link.buf.reserve(16 * 1024);
            }
            let primary = &self.primary;
            let room = async move {
                match primary {
                    Some(p) => p.reserve().await.is_ok(),
                    None => false,
                }
            };
            tokio::select! {
                open = room, if stalled => {
                    stalled = false;
                    if !open {
                        self.primary = None;
                    }
                }
                req = self.rx.recv() => match req {
                    None => {
                        let bye = Action::new("Logoff").with_action_id(self.ids.next_id());
                        let _ = tokio::time::timeout(Duration::from_secs(1), link.write_action(&bye)).await;
                        break LinkEnd::Shutdown;
                    }
                    Some(mut req) => {
                        let id = self.ids.next_id();
                        req.action.set_action_id(id.clone());
                        // Validate before registering: a refused action was never sent.
                        if let Err(e) = req.action.validate() {
                            let _ = req.reply.send(Err(e));
                            continue;
                        }
                        tracing::debug!(action = req.action.name(), action_id = %id, "AMI send");
                        let now = Instant::now();
                        pending.insert(id, Pending {
                            name: req.action.name().to_string(),
                            expect: req.expect,
                            deadline: now + req.timeout,
                            timeout: req.timeout,
                            reply: req.reply,
                            response: None,
                            events: Vec::new(),
                            originate: None,
                        });
                        if let Err(e) = link.write_action(&req.action).await {
                            break LinkEnd::Lost(DisconnectReason::Io(e.to_string()));
                        }
                    }
                },
                r = link.io.read_buf(&mut link.buf), if !stalled => match r {
                    Ok(0) => break LinkEnd::Lost(DisconnectReason::Eof),
                    Ok(_) => {}
                    Err(e) => break LinkEnd::Lost(DisconnectReason::Io(e.to_string())),
                },
                _ = tick.tick() => {
                    let now = Instant::now();
                    expire(&mut pending, now);
                    if stalled && let Some((_, sent)) = &mut ping {
                        // Its answer is behind the events we are not reading yet: the wait
                        // is ours, not the peer's.
                        *sent = now;
                    }
                    if let Some(every) = self.config.keepalive {
                        if let Some((_, sent)) = &ping {
                            if now.duration_since(*sent) > self.config.ping_timeout {
                                break LinkEnd::Lost(DisconnectReason::KeepaliveTimeout);
                            }
                        } else if now.duration_since(last_ping) >= every {
                            let id = self.ids.next_id();
                            let a = Action::new("Ping").with_action_id(id.clone());
                            if let Err(e) = link.write_action(&a).await {
                                break LinkEnd::Lost(DisconnectReason::Io(e.to_string()));
                            }
                            ping = Some((id, now));
                            last_ping = now;
                        }
                    }
                }
            }
        };
        let reason = match &end {
            LinkEnd::Shutdown => "client closed".to_string(),
            LinkEnd::Lost(r) => r.to_string(),
        };
        for (_, p) in pending.drain() {
            let err = match &end {
                LinkEnd::Shutdown => AmiError::Closed,
                LinkEnd::Lost(_) => AmiError::ConnectionLost {
                    reason: reason.clone(),
                },
            };
            let _ = p.reply.send(Err(err));
        }
        end
    }

    /// Routes a message to its pending action; returns the event to hand to subscribers.
    fn dispatch(&self, m: Message, pending: &mut HashMap<String, Pending>) -> Option<Event> {
        match m.kind() {
            MessageKind::Response => {
                let Ok(r) = Response::from_message(m) else {
                    return None;
                };
                let Some(id) = r.action_id().map(str::to_string) else {
                    tracing::debug!("AMI response without ActionID");
                    return None;
                };
                let Some(p) = pending.get_mut(&id) else {
                    tracing::debug!(action_id = %id, "AMI response for no pending action (timed out?)");
                    return None;
                };
                if r.is_error() {
                    if let Some(p) = pending.remove(&id) {
                        let name = p.name;
                        let _ = p.reply.send(Err(AmiError::ActionFailed {
                            action: name,
                            response: Box::new(r),
                        }));
                    }
                    return None;
                }
                match p.expect {
                    Expect::Response => {
                        if let Some(p) = pending.remove(&id) {
                            let _ = p.reply.send(Ok(Reply::Response(r)));
                        }
                    }
                    Expect::List => {
                        if r.starts_event_list() {
                            p.response = Some(r);
                        } else if let Some(p) = pending.remove(&id) {
                            let _ = p.reply.send(Ok(Reply::List(r, Vec::new())));
                        }
                    }
                    Expect::Originate => {
                        if p.originate.is_some() {
                            if let Some(p) = pending.remove(&id)
                                && let Some(o) = p.originate
                            {
                                let _ = p.reply.send(Ok(Reply::Originate(r, o)));
                            }
                        } else {
                            p.response = Some(r);
                        }
                    }
                }
                None
            }
            MessageKind::Event => {
                let Ok(ev) = Event::from_message(m) else {
                    return None;
                };
                let id = ev.action_id().map(str::to_string);
                if let Some(id) = id
                    && let Some(p) = pending.get_mut(&id)
                {
                    match p.expect {
                        Expect::List => {
                            let done = ev.is_list_complete();
                            p.events.push(ev);
                            if done && let Some(p) = pending.remove(&id) {
                                let resp = p.response.unwrap_or_else(Response::synthetic_success);
                                let _ = p.reply.send(Ok(Reply::List(resp, p.events)));
                            }
                            return None;
                        }
                        Expect::Originate => {
                            if let Event::OriginateResponse(o) = &ev {
                                if p.response.is_some() {
                                    if let Some(p) = pending.remove(&id)
                                        && let Some(r) = p.response
                                    {
                                        let _ = p.reply.send(Ok(Reply::Originate(r, o.clone())));
                                    }
                                } else {
                                    p.originate = Some(o.clone());
                                }
                            }
                        }
                        Expect::Response => {}
                    }
                }
                Some(ev)
            }
            _ => {
                tracing::debug!("AMI message that is neither response nor event");
                None
            }
        }
    }
}

fn expire(pending: &mut HashMap<String, Pending>, now: Instant) {
    let expired: Vec<String> = pending
        .iter()
        .filter(|(_, p)| p.deadline <= now)
        .map(|(k, _)| k.clone())
        .collect();
    for id in expired {
        if let Some(p) = pending.remove(&id) {
            tracing::warn!(action = %p.name, action_id = %id, "AMI action timed out");
            let _ = p.reply.send(Err(AmiError::Timeout(p.timeout)));
        }
    }
}
