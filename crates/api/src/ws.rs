//! The WebSocket hub: `/api/v1/ws`.
//!
//! Auth: `?token=...` or `Sec-WebSocket-Protocol: bearer, <token>` (the server answers with the
//! `bearer` subprotocol), checked before the upgrade. Each client gets the bus messages of its
//! own tenant; an agent only those about their own calls and their own state. An agent also
//! gets `offer` when an inbound call rings their endpoint, then `answered` or `withdrawn`: the
//! call tracker decides each offer ([`hookflash_calls::CallRecord::offers`]); the hub only
//! renders the changes a client has not been told.
//!
//! Sessions end when the credential does: the stream closes with [`CLOSE_SESSION_EXPIRED`]
//! when the token (or api key) expires, with [`CLOSE_SESSION_REVOKED`] when the user is
//! deactivated or deleted, their password changes or the api key is revoked, and with
//! [`CLOSE_ROLE_CHANGED`] when the user's role changes (reconnect to stream with the new role).
//! The credential is checked again at once on every change to the user made through this
//! process, and at every heartbeat for changes made elsewhere (another api-server, the store).
//!
//! `{"type":"resync","reason":...}`: messages may have been missed (the api-server's bus relay
//! lost its PostgreSQL LISTEN connection and listens again); read the calls shown again.
//!
//! Heartbeats: a `{"type":"heartbeat"}` text frame and a WebSocket ping every interval.
//! A client that falls behind the bus (it missed messages) or whose socket does not take a
//! frame within [`SEND_TIMEOUT`] is closed with code [`CLOSE_TOO_SLOW`]; nothing is buffered
//! for it beyond the bus's bounded queue.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Utc};
use futures::{SinkExt, StreamExt};
use hookflash_calls::{CallRecord, Direction, OfferRecord, OfferState};
use hookflash_provider::CallId;
use hookflash_store::{Agent, ContactFilter};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use utoipa::IntoParams;

use crate::auth::{Caller, SessionChange, authenticate_session, bearer_from_headers};
use crate::bus::BusMessage;
use crate::error::{ApiError, ErrorBody, Result};
use crate::extract::ApiQuery;
use crate::routes::scope::{channel_of_endpoint, my_agent};
use crate::state::AppState;
use crate::views::NumberReading;
use crate::ws_messages::{CallDeltas, WsMessage, call_message};

/// Close code for a client that cannot keep up (application range, "try again later" meaning).
pub const CLOSE_TOO_SLOW: u16 = 4008;
/// Close code when the token or api key expires: reconnect with a fresh one.
pub const CLOSE_SESSION_EXPIRED: u16 = 4001;
/// Close code when access was revoked: user deactivated or deleted, password changed, api key
/// revoked.
pub const CLOSE_SESSION_REVOKED: u16 = 4003;
/// Close code when the user's role changed: reconnect to get the stream of the new role.
pub const CLOSE_ROLE_CHANGED: u16 = 4004;
/// Offers one client may have open at once (an agent rings with a handful at most).
const MAX_OPEN_OFFERS: usize = 1024;
/// How long one frame may take to be accepted by the socket.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Query of `/api/v1/ws`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct WsParams {
    /// An access token or api key (else the `bearer` subprotocol carries it).
    pub token: Option<String>,
}

fn token_from_protocol(headers: &HeaderMap) -> Option<String> {
    let v = headers.get("sec-websocket-protocol")?.to_str().ok()?;
    let mut parts = v.split(',').map(str::trim);
    while let Some(p) = parts.next() {
        if p.eq_ignore_ascii_case("bearer") {
            return parts.next().map(str::to_owned);
        }
    }
    None
}

/// Opens the event stream.
#[utoipa::path(get, path = "/api/v1/ws", tag = "events", params(WsParams),
    responses((status = 101, description = "Switching to WebSocket"),
        (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn ws_handler(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<WsParams>,
    upgrade: std::result::Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response> {
    let token = q
        .token
        .or_else(|| token_from_protocol(&headers))
        .or_else(|| bearer_from_headers(&headers))
        .ok_or(ApiError::Unauthorized)?;
    // Subscribed before the check, so no change between the check and the upgrade is missed.
    let changes = state.sessions().subscribe();
    let session = authenticate_session(&state, &token).await?;
    let caller = session.caller;
    // Credentials first: an unauthenticated request learns nothing, not even upgrade errors.
    let upgrade = upgrade.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let agent = my_agent(&state, &caller).await?;
    let rx = state.bus().subscribe();
    Ok(upgrade
        .protocols(["bearer"])
        .on_upgrade(move |socket| async move {
            let metrics = state.metrics().clone();
            metrics.ws_clients.inc();
            let lifetime = Lifetime {
                token,
                expires_at: session.expires_at,
                changes,
            };
            Client::new(state, caller, agent)
                .run(socket, rx, lifetime)
                .await;
            metrics.ws_clients.dec();
        }))
}

/// What ends a session: its credential (checked again on changes) and its expiry.
struct Lifetime {
    token: String,
    expires_at: Option<DateTime<Utc>>,
    changes: tokio::sync::broadcast::Receiver<SessionChange>,
}

impl Lifetime {
    /// Resolves when the credential expires (never for one without expiry).
    async fn expired(expires_at: Option<DateTime<Utc>>) {
        match expires_at {
            Some(at) => {
                let left = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                tokio::time::sleep(left).await;
            }
            None => std::future::pending().await,
        }
    }

    /// Whether a published change concerns this session: the same user, or the whole
    /// tenant; a missed change (lag) might have.
    async fn next_relevant_change(&mut self, caller: &Caller) {
        loop {
            match self.changes.recv().await {
                Ok(c)
                    if c.tenant == caller.tenant
                        && (c.user.is_none() || c.user == caller.user_id) =>
                {
                    return;
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => return,
                Err(RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    }
}

/// Checks the session's credential again: revoked or expired closes, a changed role closes.
async fn recheck(state: &AppState, caller: &Caller, token: &str) -> Step {
    match authenticate_session(state, token).await {
        Ok(s) if s.caller.role == caller.role => Step::Continue,
        Ok(_) => Step::Close(CLOSE_ROLE_CHANGED, "role changed: reconnect"),
        Err(ApiError::Unauthorized) => Step::Close(
            CLOSE_SESSION_REVOKED,
            "access revoked: user deactivated, password changed or key revoked",
        ),
        Err(e) => {
            // The store is down: keep streaming, the next heartbeat checks again.
            tracing::warn!(error = %e, "could not re-check a WebSocket session");
            Step::Continue
        }
    }
}

struct Client {
    state: AppState,
    caller: Caller,
    agent: Option<Agent>,
    offered: HashSet<CallId>,
    /// What this client was last sent about each call (updates carry only the changes).
    deltas: CallDeltas,
}

enum Step {
    Continue,
    Close(u16, &'static str),
}

impl Client {
    fn new(state: AppState, caller: Caller, agent: Option<Agent>) -> Self {
        Self {
            state,
            caller,
            agent,
            offered: HashSet::new(),
            deltas: CallDeltas::default(),
        }
    }

    fn own_only(&self) -> bool {
        !self.caller.is_supervisor()
    }

    fn is_mine(&self, r: &CallRecord) -> bool {
        let Some(agent) = &self.agent else {
            return false;
        };
        r.agent_endpoint.as_deref() == Some(agent.endpoint.as_str())
            || r.agent_channel
                .as_deref()
                .is_some_and(|c| channel_of_endpoint(c, &agent.endpoint))
    }

    /// This agent's offer of an inbound call, as the tracker decided it (the latest, should
    /// the agent's phone ring twice).
    fn my_offer<'r>(&self, r: &'r CallRecord) -> Option<&'r OfferRecord> {
        let agent = self.agent.as_ref()?;
        if r.direction != Direction::Inbound {
            return None;
        }
        r.offers.iter().rev().find(|o| {
            o.endpoint.as_deref() == Some(agent.endpoint.as_str())
                || o.channel
                    .as_deref()
                    .is_some_and(|c| channel_of_endpoint(c, &agent.endpoint))
        })
    }

    async fn contact_for(&self, number: &str) -> Option<serde_json::Value> {
        let settings = self.state.settings();
        // The configured check, as for outbound numbers: with `possible`, test numbers such
        // as the unassigned 555 area code still find their contact.
        let e164 = crate::phone::normalize_e164_with(
            "from",
            number,
            &settings.default_region,
            settings.phone_validation,
        )
        .ok()?;
        let found = self
            .state
            .store()
            .contacts()
            .list(
                self.caller.tenant,
                &ContactFilter {
                    phone_number: Some(e164),
                    limit: Some(1),
                    ..ContactFilter::default()
                },
            )
            .await
            .ok()?;
        found.into_iter().next().map(|c| {
            json!({
                "id": c.id.to_string(),
                "name": c.name,
                "phone_number": c.phone_number,
                "attributes": c.attributes,
            })
        })
    }

    /// The frames one bus message becomes for this client.
    async fn frames(&mut self, msg: &BusMessage) -> Vec<serde_json::Value> {
        if msg.tenant() != self.caller.tenant {
            return Vec::new();
        }
        let mut out = Vec::new();
        if let BusMessage::Resync { reason, .. } = msg {
            // Messages may have been missed: the client re-reads its calls from the API.
            out.push(serde_json::json!({"type": "resync", "reason": reason}));
            return out;
        }
        if let BusMessage::AgentState {
            agent_id,
            state,
            pause_reason,
            at,
            ..
        } = msg
        {
            let mine = self.agent.as_ref().is_some_and(|a| a.id == *agent_id);
            if !self.own_only() || mine {
                let m = WsMessage::AgentState {
                    agent_id: agent_id.to_string(),
                    state: state.clone(),
                    pause_reason: pause_reason.clone(),
                    at: *at,
                };
                out.push(serde_json::to_value(m).unwrap_or_default());
            }
            return out;
        }
        let Some(record) = msg.record() else {
            return out;
        };
        // Offers: the tracker decides where each stands; this only renders the changes this
        // client has not been told.
        let id = record.call_id;
        let told = self.offered.contains(&id);
        match self.my_offer(record).map(|o| o.state) {
            Some(OfferState::Offered)
                if !told && !record.is_ended() && self.offered.len() < MAX_OPEN_OFFERS =>
            {
                self.offered.insert(id);
                let contact = match record.from.as_deref() {
                    Some(n) => self.contact_for(n).await,
                    None => None,
                };
                out.push(json!({
                    "type": "offer",
                    "call_id": id.to_string(),
                    "caller_number": record.from,
                    "called_number": called_number(&self.state, record),
                    "contact": contact,
                }));
            }
            Some(OfferState::Answered) if told => {
                self.offered.remove(&id);
                out.push(json!({"type": "answered", "call_id": id.to_string()}));
            }
            // Withdrawn, or an offer the record no longer shows (or still shows on an ended
            // call, which a tracker never does): the client's offer is gone.
            Some(OfferState::Withdrawn) | None if told => {
                self.offered.remove(&id);
                out.push(json!({"type": "withdrawn", "call_id": id.to_string()}));
            }
            Some(OfferState::Offered) if told && record.is_ended() => {
                self.offered.remove(&id);
                out.push(json!({"type": "withdrawn", "call_id": id.to_string()}));
            }
            _ => {}
        }
        if !self.own_only() || self.is_mine(record) {
            let tenant = self.caller.tenant;
            // `call_ended` follows the bus message, not the record's state: the pipeline
            // writes a call's final row before it publishes `CallEnded`, so a client that
            // reads the call after `call_ended` finds it ended (an update of a call that is
            // ending may still show `ended` while its last events are gathered).
            let ended = matches!(msg, BusMessage::CallEnded { .. });
            if let Some(m) =
                call_message(&self.state, &mut self.deltas, tenant, record, ended).await
            {
                out.push(serde_json::to_value(m).unwrap_or_default());
            }
        }
        out
    }

    async fn run(
        mut self,
        socket: WebSocket,
        mut rx: tokio::sync::broadcast::Receiver<Arc<BusMessage>>,
        mut lifetime: Lifetime,
    ) {
        let expiry = Lifetime::expired(lifetime.expires_at);
        tokio::pin!(expiry);
        let (mut tx, mut incoming) = socket.split();
        let mut heartbeat = tokio::time::interval(self.state.settings().ws_heartbeat);
        heartbeat.tick().await;
        let hello = json!({
            "type": "hello",
            "tenant": self.caller.tenant.to_string(),
            "agent_id": self.agent.as_ref().map(|a| a.id.to_string()),
        });
        let mut step = send(&mut tx, hello).await;
        while matches!(step, Step::Continue) {
            step = tokio::select! {
                msg = rx.recv() => match msg {
                    Ok(m) => {
                        let mut s = Step::Continue;
                        for frame in self.frames(&m).await {
                            s = send(&mut tx, frame).await;
                            if !matches!(s, Step::Continue) {
                                break;
                            }
                        }
                        s
                    }
                    Err(RecvError::Lagged(_)) => {
                        self.state.metrics().ws_slow_closed.inc();
                        Step::Close(CLOSE_TOO_SLOW, "client too slow: events were missed")
                    }
                    Err(RecvError::Closed) => Step::Close(1001, "server shutting down"),
                },
                () = &mut expiry => Step::Close(
                    CLOSE_SESSION_EXPIRED,
                    "token expired: reconnect with a fresh token",
                ),
                () = lifetime.next_relevant_change(&self.caller) => {
                    recheck(&self.state, &self.caller, &lifetime.token).await
                }
                _ = heartbeat.tick() => {
                    match recheck(&self.state, &self.caller, &lifetime.token).await {
                        Step::Continue => {
                            let s = send(&mut tx, json!({"type": "heartbeat", "at": Utc::now()}))
                                .await;
                            if matches!(s, Step::Continue) {
                                ping(&mut tx).await
                            } else {
                                s
                            }
                        }
                        closed => closed,
                    }
                }
                frame = incoming.next() => match frame {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                    Some(Ok(_)) => Step::Continue,
                },
            };
        }
        if let Step::Close(code, reason) = step {
            if code == CLOSE_TOO_SLOW {
                tracing::info!(tenant = %self.caller.tenant, "closing a slow WebSocket client");
            }
            let close = Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            }));
            let _ = tokio::time::timeout(Duration::from_secs(1), tx.send(close)).await;
        }
    }
}

/// The number an inbound call dialled, in E.164 as the call's `to_number` shows it.
fn called_number(state: &AppState, record: &CallRecord) -> Option<String> {
    let settings = state.settings();
    let numbers = NumberReading::new(settings.default_region.clone(), settings.phone_validation);
    let to = record.to.as_deref()?;
    numbers.e164(to).or_else(|| Some(to.to_owned()))
}

type Tx = futures::stream::SplitSink<WebSocket, Message>;

async fn send(tx: &mut Tx, value: serde_json::Value) -> Step {
    let text = value.to_string();
    match tokio::time::timeout(SEND_TIMEOUT, tx.send(Message::Text(text.into()))).await {
        Ok(Ok(())) => Step::Continue,
        Ok(Err(_)) => Step::Close(1011, "send failed"),
        Err(_) => Step::Close(CLOSE_TOO_SLOW, "client too slow: send timed out"),
    }
}

async fn ping(tx: &mut Tx) -> Step {
    match tokio::time::timeout(SEND_TIMEOUT, tx.send(Message::Ping(Vec::new().into()))).await {
        Ok(Ok(())) => Step::Continue,
        Ok(Err(_)) => Step::Close(1011, "send failed"),
        Err(_) => Step::Close(CLOSE_TOO_SLOW, "client too slow: send timed out"),
    }
}
