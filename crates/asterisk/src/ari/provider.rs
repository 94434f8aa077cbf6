use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use futures::StreamExt;
use hookflash_ari::{
    BridgesAddChannelOptions, BridgesCreateOptions, BridgesRecordOptions,
    ChannelsContinueInDialplanOptions, ChannelsCreateOptions, ChannelsDialOptions,
    ChannelsHangupOptions, ChannelsMuteOptions, ChannelsOriginateOptions, ChannelsRecordOptions,
    ChannelsSendDTMFOptions, ChannelsUnmuteOptions, Client, Event, EventStream, StreamEvent,
};
use hookflash_provider::{
    AttendedTransferRequest, BlindTransferRequest, CALL_ID_VARIABLE, CallId, CallProvider,
    Capabilities, Capability, Correlation, DtmfDirection, HangupCause, LegEventKind,
    LegEventStream, LegId, LegRole, LegSnapshot, LegState, MediaDirection, OriginateRequest,
    ParkRequest, ProviderError, ProviderEvent, RecordingRequest, TransferId, TransferKind,
    TransferOutcome,
};
use serde_json::{Map, Value};
use tokio::sync::broadcast;

use super::book::{
    ARG_AGENT, ARG_CUSTOMER, ARG_TARGET, Book, CallCtl, Consult, CustomerPlan, Step, parse_time,
};
use super::config::{AriProviderConfig, CustomerLeg};

/// How many provider events a slow consumer may fall behind before it gets `Lagged`.
const EVENT_BUFFER: usize = 4096;

/// Call control over the Asterisk REST Interface, as one Stasis application.
///
/// An agent-first call: the agent's endpoint is originated into the application with a
/// channel id chosen beforehand (stage-then-execute) and `appArgs` `agent,<call id>`; when it
/// enters Stasis (answered) the provider creates a mixing bridge, puts the agent in it and
/// places the customer (`PJSIP/<number>@<trunk>`, `appArgs` `customer,<call id>`), by
/// `channels/create` + `dial` or by originate ([`CustomerLeg`]); the answered customer joins the
/// bridge. When either party's channel ends, the provider hangs the other one up and destroys
/// the bridge. Every leg carries `HOOKFLASH_CALL_ID`.
///
/// ARI events become [`LegEvent`]s on [`CallProvider::events`]; effects Asterisk reports no
/// event for (REST hold, mute, DTMF sent, recording pause, transfers and park done by the
/// provider) are reported by the provider itself once Asterisk accepted the request. A lost
/// WebSocket is reported as [`ProviderEvent::Disconnected`], and after the reconnect the live
/// legs as [`ProviderEvent::Resynced`]. When another connection takes the application over
/// (`ApplicationReplaced`) the provider reports `Disconnected` and stops: it does not fight
/// for the application.
pub struct AriProvider {
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

struct Inner {
    client: Client,
    config: AriProviderConfig,
    book: Mutex<Book>,
    tx: broadcast::Sender<ProviderEvent>,
    connected: AtomicBool,
    handled: AtomicU64,
    /// Why the link is down, while it is.
    down_reason: Mutex<Option<String>>,
}

impl fmt::Debug for AriProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AriProvider")
            .field("client", &self.inner.client)
            .field("config", &self.inner.config)
            .field("connected", &self.inner.connected.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Drop for AriProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Maps an ARI client error to the provider vocabulary.
pub(super) fn map_error(what: &str, error: hookflash_ari::Error) -> ProviderError {
    use hookflash_ari::Error as E;
    match error {
        E::NotFound { message } => ProviderError::NotFound {
            what: format!("{what}: {message}"),
        },
        E::Unauthorized { message, .. } => ProviderError::Auth { message },
        E::Timeout => ProviderError::Timeout {
            what: what.to_owned(),
        },
        e @ (E::BadRequest { .. }
        | E::MethodNotAllowed { .. }
        | E::Conflict { .. }
        | E::PreconditionFailed { .. }
        | E::Unprocessable { .. }
        | E::Server { .. }
        | E::UnexpectedStatus { .. }) => ProviderError::Rejected {
            reason: format!(
                "{what}: {} {}",
                e.status().unwrap_or_default(),
                e.message().unwrap_or_default()
            ),
        },
        e => ProviderError::transport(e),
    }
}

fn check_text(field: &str, value: &str) -> Result<(), ProviderError> {
    if value.contains(['\r', '\n']) {
        return Err(ProviderError::InvalidRequest {
            field: field.to_owned(),
            reason: "contains CR or LF".to_owned(),
        });
    }
    Ok(())
}

fn caller_id_of(request: &OriginateRequest, default: Option<&str>) -> Option<String> {
    match (&request.caller_name, &request.caller_id) {
        (Some(name), Some(number)) => Some(format!("\"{name}\" <{number}>")),
        (None, Some(number)) => Some(number.clone()),
        _ => default.map(str::to_owned),
    }
}

fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl AriProvider {
    /// Opens the application's event WebSocket on `client` and starts the provider.
    ///
    /// # Errors
    ///
    /// [`ProviderError::Auth`] for refused credentials, [`ProviderError::Transport`] when the
    /// WebSocket cannot be opened.
    pub async fn connect(client: Client, config: AriProviderConfig) -> Result<Self, ProviderError> {
        let stream = client
            .event_stream([config.app.clone()])
            .subscribe_all(false)
            .connect()
            .await
            .map_err(|e| map_error("events WebSocket", e))?;
        let (tx, _) = broadcast::channel(EVENT_BUFFER);
        let inner = Arc::new(Inner {
            client,
            config,
            book: Mutex::new(Book::default()),
            tx,
            connected: AtomicBool::new(true),
            handled: AtomicU64::new(0),
            down_reason: Mutex::new(None),
        });
        let task = tokio::spawn(run(inner.clone(), stream));
        Ok(Self { inner, task })
    }

    /// The configuration.
    pub fn config(&self) -> &AriProviderConfig {
        &self.inner.config
    }

    /// The ARI client.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// Whether the events WebSocket is up (false after a loss until the reconnect, and for
    /// good after `ApplicationReplaced`).
    pub fn is_connected(&self) -> bool {
        self.inner.connected.load(Ordering::Relaxed)
    }

    /// How many ARI events the provider has handled so far (translated, published and acted
    /// upon): a progress counter for diagnostics and for replay tests.
    pub fn events_handled(&self) -> u64 {
        self.inner.handled.load(Ordering::Acquire)
    }

    /// Places only the customer leg of a call (no agent, no bridge): `channels/create` into
    /// the application with `appArgs` `customer,<call id>`, then `dial` with `ring_timeout`.
    /// Returns the leg's id. The agent-first [`CallProvider::originate`] does the same once the
    /// agent answered (with [`CustomerLeg::CreateAndDial`]).
    ///
    /// # Errors
    ///
    /// As [`CallProvider::originate`].
    pub async fn dial_customer(
        &self,
        call_id: CallId,
        number: &str,
        ring_timeout: std::time::Duration,
        caller_id: Option<&str>,
    ) -> Result<LegId, ProviderError> {
        check_text("customer_number", number)?;
        let plan = CustomerPlan {
            number: number.to_owned(),
            ring_timeout,
            caller_id: caller_id
                .map(str::to_owned)
                .or_else(|| self.inner.config.default_caller_id.clone()),
            variables: Map::new(),
            record: false,
        };
        self.inner.book().calls.insert(
            call_id,
            CallCtl {
                customer_plan: Some(plan),
                ..CallCtl::default()
            },
        );
        let id = self
            .inner
            .place_customer(call_id, CustomerLeg::CreateAndDial)
            .await?;
        LegId::new(id).map_err(|e| ProviderError::Rejected {
            reason: e.to_string(),
        })
    }
}

impl Inner {
    fn book(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_down(&self, reason: Option<String>) {
        self.connected.store(reason.is_none(), Ordering::Relaxed);
        *self.down_reason.lock().unwrap_or_else(|e| e.into_inner()) = reason;
    }

    fn send(&self, event: ProviderEvent) {
        // No subscriber is not an error: events are not buffered for later subscribers.
        let _ = self.tx.send(event);
    }

    fn report(&self, channel: &str, kind: LegEventKind) {
        let event = self.book().event(channel, kind);
        if let Some(e) = event {
            self.send(ProviderEvent::Leg(e));
        }
    }

    fn not_connected(&self) -> Result<(), ProviderError> {
        if self.connected.load(Ordering::Relaxed) {
            Ok(())
        } else {
            Err(ProviderError::NotConnected {
                provider: self.config.name.clone(),
            })
        }
    }

    fn call_of(&self, leg: &LegId) -> Option<CallId> {
        self.book()
            .channels
            .get(leg.as_str())
            .and_then(|i| i.call_id)
    }

    fn variables(call_id: CallId, extra: &Map<String, Value>) -> Map<String, Value> {
        let mut vars = Map::new();
        vars.insert(
            CALL_ID_VARIABLE.to_owned(),
            Value::String(call_id.to_string()),
        );
        for (k, v) in extra {
            vars.insert(k.clone(), v.clone());
        }
        vars
    }

    fn customer_endpoint(&self, number: &str) -> String {
        if number.contains('/') {
            number.to_owned()
        } else {
            format!("PJSIP/{number}@{}", self.config.trunk)
        }
    }

    /// Creates (and, for `CreateAndDial`, later dials) the customer leg of `call_id`.
    async fn place_customer(
        &self,
        call_id: CallId,
        how: CustomerLeg,
    ) -> Result<String, ProviderError> {
        let id = self.client.new_id();
        let plan = {
            let mut book = self.book();
            book.stage(&id, call_id, LegRole::Customer);
            let call = book.calls.entry(call_id).or_default();
            call.customer = Some(id.clone());
            call.customer_plan.clone()
        };
        let Some(plan) = plan else {
            return Err(ProviderError::NotFound {
                what: format!("call {call_id}"),
            });
        };
        let endpoint = self.customer_endpoint(&plan.number);
        let args = format!("{ARG_CUSTOMER},{call_id}");
        let result = match how {
            CustomerLeg::Originate => {
                if let Some(call) = self.book().calls.get_mut(&call_id) {
                    call.customer_dialled = true;
                }
                let mut options = ChannelsOriginateOptions::new();
                options.app = Some(self.config.app.clone());
                options.app_args = Some(args);
                options.caller_id = plan.caller_id.clone();
                options.timeout = Some(secs(plan.ring_timeout));
                options.variables = Some(Value::Object(Self::variables(call_id, &plan.variables)));
                options.channel_id = Some(id.clone());
                self.client
                    .channels()
                    .originate(&endpoint, options)
                    .await
                    .map(|_| ())
            }
            _ => {
                let mut vars = Self::variables(call_id, &plan.variables);
                if let Some(cid) = &plan.caller_id {
                    vars.insert("CALLERID(all)".to_owned(), Value::String(cid.clone()));
                }
                let mut options = ChannelsCreateOptions::new();
                options.app_args = Some(args);
                options.channel_id = Some(id.clone());
                options.variables = Some(Value::Object(vars));
                self.client
                    .channels()
                    .create(&endpoint, &self.config.app, options)
                    .await
                    .map(|_| ())
            }
        };
        match result {
            Ok(()) => Ok(id),
            Err(e) => {
                let mut book = self.book();
                book.channels.remove(&id);
                if let Some(call) = book.calls.get_mut(&call_id) {
                    call.customer = None;
                }
                Err(map_error("placing the customer", e))
            }
        }
    }

    async fn hangup_channel(&self, channel: &str) {
        let result = self
            .client
            .channels()
            .hangup(channel, ChannelsHangupOptions::new().reason("normal"))
            .await;
        if let Err(e) = result
            && !e.is_not_found()
        {
            tracing::warn!(channel, error = %e, "ARI hangup failed");
        }
    }

    async fn start_bridge_recording(
        &self,
        call_id: CallId,
        leg: &str,
        name: Option<String>,
    ) -> Result<String, ProviderError> {
        let name = name.unwrap_or_else(|| format!("hookflash-bridge-{call_id}"));
        check_text("name", &name)?;
        let bridge = self
            .book()
            .calls
            .get(&call_id)
            .and_then(|c| c.bridge.clone());
        self.book().recordings.insert(name.clone(), leg.to_owned());
        let format = self.config.recording_format.clone();
        let max = self.config.recording_max_duration.map(secs);
        let result = match bridge {
            Some(bridge) => {
                let mut options = BridgesRecordOptions::new()
                    .if_exists("overwrite")
                    .beep(false);
                options.max_duration_seconds = max;
                self.client
                    .bridges()
                    .record(&bridge, &name, &format, options)
                    .await
            }
            None => {
                let mut options = ChannelsRecordOptions::new();
                options.max_duration_seconds = max;
                options.if_exists = Some("overwrite".to_owned());
                options.beep = Some(false);
                self.client
                    .channels()
                    .record(leg, &name, &format, options)
                    .await
            }
        };
        match result {
            Ok(_) => Ok(name),
            Err(e) => {
                self.book().recordings.remove(&name);
                Err(map_error("recording", e))
            }
        }
    }

    /// Carries out one step an event called for. Failures are logged: nobody waits for them.
    async fn execute(&self, step: Step) {
        match step {
            Step::AgentAnswered { call_id, agent } => {
                match self.agent_answered(call_id, &agent).await {
                    Ok(()) => {}
                    Err(Setup::Bridge(e)) => {
                        tracing::warn!(%call_id, error = %e, "ARI bridge setup failed; hanging the agent up");
                        self.hangup_channel(&agent).await;
                    }
                    Err(Setup::Customer(e)) => {
                        // Asterisk could not even make the customer's channel (an endpoint
                        // without contact: 500 "Allocation failed"). Report it as Dial reports
                        // an unreachable destination, and end the agent's leg with cause 3.
                        tracing::warn!(%call_id, error = %e, "customer leg not placed");
                        self.report(
                            &agent,
                            LegEventKind::Dialing {
                                target: None,
                                destination: self.customer_number(call_id),
                            },
                        );
                        self.report(
                            &agent,
                            LegEventKind::VariableSet {
                                name: "DIALSTATUS".to_owned(),
                                value: "CHANUNAVAIL".to_owned(),
                            },
                        );
                        let options = ChannelsHangupOptions::new().reason_code("3");
                        if let Err(e) = self.client.channels().hangup(&agent, options).await {
                            tracing::warn!(error = %e, "ARI hangup failed");
                        }
                    }
                }
            }
            Step::Dial {
                channel,
                timeout_secs,
            } => {
                let mut options = ChannelsDialOptions::new();
                options.timeout = Some(timeout_secs);
                if let Err(e) = self.client.channels().dial(&channel, options).await {
                    tracing::warn!(channel, error = %e, "ARI dial failed");
                    self.hangup_channel(&channel).await;
                }
            }
            Step::AddToBridge { bridge, channel } => {
                let result = self
                    .client
                    .bridges()
                    .add_channel(&bridge, &[&channel], BridgesAddChannelOptions::new())
                    .await;
                if let Err(e) = result {
                    tracing::warn!(bridge, channel, error = %e, "ARI addChannel failed");
                }
            }
            Step::Hangup { channel } => self.hangup_channel(&channel).await,
            Step::DestroyBridge { bridge } => {
                if let Err(e) = self.client.bridges().destroy(&bridge).await
                    && !e.is_not_found()
                {
                    tracing::warn!(bridge, error = %e, "ARI bridge destroy failed");
                }
            }
            Step::Record { call_id, leg } => {
                let agent = self
                    .book()
                    .calls
                    .get(&call_id)
                    .and_then(|c| c.agent.clone())
                    .unwrap_or(leg);
                if let Err(e) = self.start_bridge_recording(call_id, &agent, None).await {
                    tracing::warn!(%call_id, error = %e, "ARI recording failed");
                }
            }
            Step::Subscribe { channel } => {
                let source = format!("channel:{channel}");
                if let Err(e) = self
                    .client
                    .applications()
                    .subscribe(&self.config.app, &[&source])
                    .await
                {
                    tracing::warn!(channel, error = %e, "ARI subscription failed");
                }
            }
        }
    }

    async fn agent_answered(&self, call_id: CallId, agent: &str) -> Result<(), Setup> {
        let bridge = self.client.new_id();
        {
            let mut book = self.book();
            book.bridges.insert(bridge.clone(), call_id);
            if let Some(call) = book.calls.get_mut(&call_id) {
                call.bridge = Some(bridge.clone());
            }
        }
        let options = BridgesCreateOptions::new()
            .r#type("mixing")
            .name(format!("hookflash-{call_id}"))
            .bridge_id(bridge.clone());
        self.client
            .bridges()
            .create(options)
            .await
            .map_err(|e| Setup::Bridge(map_error("creating the bridge", e)))?;
        self.client
            .bridges()
            .add_channel(&bridge, &[agent], BridgesAddChannelOptions::new())
            .await
            .map_err(|e| Setup::Bridge(map_error("adding the agent", e)))?;
        self.place_customer(call_id, self.config.customer_leg)
            .await
            .map_err(Setup::Customer)?;
        Ok(())
    }

    fn customer_number(&self, call_id: CallId) -> Option<String> {
        self.book()
            .calls
            .get(&call_id)
            .and_then(|c| c.customer_plan.as_ref())
            .map(|p| p.number.clone())
    }

    fn consult_of(&self, transfer: &TransferId) -> Option<ConsultParts> {
        self.book().calls.iter().find_map(|(id, c)| {
            c.consult.as_ref().filter(|x| x.id == transfer.0).map(|x| {
                (
                    *id,
                    x.clone(),
                    c.agent.clone(),
                    c.customer.clone(),
                    c.bridge.clone(),
                )
            })
        })
    }
}

/// Which part of an agent-first call's setup failed.
#[derive(Debug)]
enum Setup {
    /// The bridge (or putting the agent in it).
    Bridge(ProviderError),
    /// Making the customer's channel.
    Customer(ProviderError),
}

/// A transfer's call, consultation, agent, customer and call bridge.
type ConsultParts = (
    CallId,
    Consult,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The event loop: translate, publish, react.
async fn run(inner: Arc<Inner>, mut stream: EventStream) {
    while let Some(item) = stream.recv().await {
        match item {
            StreamEvent::Event(event) => handle(&inner, &event).await,
            StreamEvent::Disconnected { error } => {
                let reason = error.map_or_else(
                    || "ARI events WebSocket closed by Asterisk".to_owned(),
                    |e| format!("ARI events WebSocket lost: {e}"),
                );
                inner.set_down(Some(reason.clone()));
                inner.send(ProviderEvent::Disconnected { reason });
            }
            StreamEvent::Reconnected { .. } => {
                inner.set_down(None);
                match snapshot(&inner).await {
                    Ok(legs) => inner.send(ProviderEvent::Resynced { legs }),
                    Err(e) => {
                        tracing::warn!(error = %e, "ARI resync failed");
                        inner.send(ProviderEvent::Disconnected {
                            reason: format!("resync after reconnect failed: {e}"),
                        });
                    }
                }
            }
            StreamEvent::ApplicationReplaced(_) => {
                let reason = format!(
                    "ARI application `{}` was taken over by another connection (ApplicationReplaced); \
                     this provider no longer receives events and does not reconnect",
                    inner.config.app
                );
                inner.set_down(Some(reason.clone()));
                inner.handled.fetch_add(1, Ordering::Release);
                inner.send(ProviderEvent::Disconnected { reason });
                return;
            }
            StreamEvent::Malformed { raw, error } => {
                tracing::warn!(%error, len = raw.len(), "malformed ARI event ignored");
                inner.handled.fetch_add(1, Ordering::Release);
            }
            _ => {}
        }
    }
}

async fn handle(inner: &Inner, event: &Event) {
    let (legs, steps) = {
        let mut book = inner.book();
        let legs = book.translate(event);
        let steps = book.steps(event);
        (legs, steps)
    };
    for leg in legs {
        inner.send(ProviderEvent::Leg(leg));
    }
    for step in steps {
        inner.execute(step).await;
    }
    inner.handled.fetch_add(1, Ordering::Release);
}

fn leg_state(state: &str) -> LegState {
    match state {
        "Up" => LegState::Up,
        "Ringing" | "Ring" => LegState::Ringing,
        _ => LegState::Down,
    }
}

async fn snapshot(inner: &Inner) -> Result<Vec<LegSnapshot>, ProviderError> {
    let channels = inner
        .client
        .channels()
        .list()
        .await
        .map_err(|e| map_error("GET /channels", e))?;
    let bridges = inner
        .client
        .bridges()
        .list()
        .await
        .map_err(|e| map_error("GET /bridges", e))?;
    let app_prefix = format!("{},", inner.config.app);
    let book = inner.book();
    let mut legs = Vec::new();
    for ch in channels {
        let known = book.channels.get(&ch.id);
        // Other applications' and dialplan channels share the Asterisk: only ours count.
        let stasis_args = (ch.dialplan.app_name == "Stasis")
            .then(|| ch.dialplan.app_data.strip_prefix(&app_prefix))
            .flatten();
        if known.is_none() && stasis_args.is_none() {
            continue;
        }
        let call_id = known.and_then(|k| k.call_id).or_else(|| {
            stasis_args
                .and_then(|a| a.split(',').nth(1))
                .and_then(|id| id.parse().ok())
        });
        let Ok(leg) = LegId::new(ch.id.clone()) else {
            continue;
        };
        legs.push(LegSnapshot {
            leg,
            keys: Correlation {
                call_id,
                linkedid: None,
                channel: Some(ch.name.clone()),
                peer: None,
            },
            state: leg_state(&ch.state),
            bridge: bridges
                .iter()
                .find(|b| b.channels.contains(&ch.id))
                .map(|b| b.id.clone()),
            created_at: parse_time(&ch.creationtime),
        });
    }
    Ok(legs)
}

#[async_trait]
impl CallProvider for AriProvider {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
            .native(
                Capability::Originate,
                "POST /channels (agent into the Stasis app, chosen id), mixing bridge, then \
                 POST /channels/create + /dial (or POST /channels) of the customer",
            )
            .native(Capability::Hangup, "DELETE /channels/{id}")
            .native(Capability::Answer, "POST /channels/{id}/answer")
            .emulated(
                Capability::BlindTransfer,
                "POST /channels/{id}/continue into the transfer context, then the agent is hung \
                 up; ARI has no transfer event, the provider reports Transferred itself",
            )
            .emulated(
                Capability::AttendedTransfer,
                "a second mixing bridge for the consultation (the customer hears music on hold); \
                 complete moves the target into the call's bridge and hangs the agent up",
            )
            .emulated(
                Capability::Park,
                "POST /channels/{id}/continue to the parking lot's park extension; ARI reports \
                 neither the slot nor the pickup or timeout (Parked carries the park extension)",
            )
            .native(
                Capability::Hold,
                "POST/DELETE /channels/{id}/hold (no ARI event: Held/Unheld reported on the 204)",
            )
            .native(
                Capability::Mute,
                "POST/DELETE /channels/{id}/mute (no ARI event: Muted/Unmuted reported on the 204)",
            )
            .native(Capability::Dtmf, "POST /channels/{id}/dtmf")
            .native(
                Capability::Recording,
                "POST /bridges/{id}/record (POST /channels/{id}/record outside a bridge)",
            )
            .native(
                Capability::RecordingPause,
                "POST/DELETE /recordings/live/{name}/pause",
            )
            .native(Capability::Snapshot, "GET /channels + GET /bridges")
    }

    async fn originate(&self, request: OriginateRequest) -> Result<(), ProviderError> {
        let inner = &self.inner;
        inner.not_connected()?;
        check_text("agent_endpoint", &request.agent_endpoint)?;
        check_text("customer_number", &request.customer_number)?;
        let mut extra = Map::new();
        for (k, v) in &request.variables {
            check_text("variables", k)?;
            check_text("variables", v)?;
            extra.insert(k.clone(), Value::String(v.clone()));
        }
        let caller_id = caller_id_of(&request, inner.config.default_caller_id.as_deref());
        if let Some(c) = &caller_id {
            check_text("caller_id", c)?;
        }
        let call_id = request.call_id;
        let agent = inner.client.new_id();
        {
            let mut book = inner.book();
            book.stage(&agent, call_id, LegRole::Agent);
            book.calls.insert(
                call_id,
                CallCtl {
                    agent: Some(agent.clone()),
                    customer_plan: Some(CustomerPlan {
                        number: request.customer_number.clone(),
                        ring_timeout: request.customer_ring_timeout,
                        caller_id: caller_id.clone(),
                        variables: extra.clone(),
                        record: request.record,
                    }),
                    ..CallCtl::default()
                },
            );
        }
        let endpoint = if request.agent_endpoint.contains('/') {
            request.agent_endpoint.clone()
        } else {
            format!("PJSIP/{}", request.agent_endpoint)
        };
        let mut options = ChannelsOriginateOptions::new();
        options.app = Some(inner.config.app.clone());
        options.app_args = Some(format!("{ARG_AGENT},{call_id}"));
        options.caller_id = caller_id;
        options.timeout = Some(secs(request.agent_ring_timeout));
        options.variables = Some(Value::Object(Inner::variables(call_id, &extra)));
        options.channel_id = Some(agent.clone());
        match inner.client.channels().originate(&endpoint, options).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let mut book = inner.book();
                book.channels.remove(&agent);
                book.calls.remove(&call_id);
                Err(map_error("originating the agent", e))
            }
        }
    }

    async fn hangup(&self, leg: &LegId, cause: Option<HangupCause>) -> Result<(), ProviderError> {
        self.inner.not_connected()?;
        let options = match cause {
            Some(c) => ChannelsHangupOptions::new().reason_code(c.code.to_string()),
            None => ChannelsHangupOptions::new().reason("normal"),
        };
        self.inner
            .client
            .channels()
            .hangup(leg.as_str(), options)
            .await
            .map_err(|e| map_error(&format!("channel {leg}"), e))
    }

    async fn answer(&self, leg: &LegId) -> Result<(), ProviderError> {
        self.inner.not_connected()?;
        self.inner
            .client
            .channels()
            .answer(leg.as_str())
            .await
            .map_err(|e| map_error(&format!("channel {leg}"), e))
    }

    async fn blind_transfer(&self, request: BlindTransferRequest) -> Result<(), ProviderError> {
        let inner = &self.inner;
        inner.not_connected()?;
        check_text("destination", &request.destination)?;
        let context = request
            .context
            .clone()
            .unwrap_or_else(|| inner.config.transfer_context.clone());
        check_text("context", &context)?;
        let call_id = inner.call_of(&request.leg).unwrap_or(request.call_id);
        let agent = {
            let mut book = inner.book();
            let call = book.calls.get_mut(&call_id);
            let agent = call.as_ref().and_then(|c| c.agent.clone());
            if let Some(call) = call
                && call.customer.as_deref() == Some(request.leg.as_str())
            {
                call.released = true;
            }
            request
                .transferer
                .as_ref()
                .map(|t| t.as_str().to_owned())
                .or(agent)
                .filter(|a| a != request.leg.as_str())
        };
        let options = ChannelsContinueInDialplanOptions::new()
            .context(context)
            .extension(request.destination.clone())
            .priority(1);
        if let Err(e) = inner
            .client
            .channels()
            .continue_in_dialplan(request.leg.as_str(), options)
            .await
        {
            if let Some(call) = inner.book().calls.get_mut(&call_id) {
                call.released = false;
            }
            return Err(map_error(&format!("channel {}", request.leg), e));
        }
        inner.report(
            request.leg.as_str(),
            LegEventKind::Transferred {
                kind: TransferKind::Blind,
                to: Some(request.destination.clone()),
                target: None,
                outcome: TransferOutcome::Success,
            },
        );
        if let Some(agent) = agent {
            inner.hangup_channel(&agent).await;
        }
        Ok(())
    }

    async fn start_attended_transfer(
        &self,
        request: AttendedTransferRequest,
    ) -> Result<TransferId, ProviderError> {
        let inner = &self.inner;
        inner.not_connected()?;
        check_text("destination", &request.destination)?;
        let call_id = inner
            .call_of(&request.transferer)
            .unwrap_or(request.call_id);
        let (bridge, customer) = {
            let book = inner.book();
            let call = book
                .calls
                .get(&call_id)
                .ok_or_else(|| ProviderError::NotFound {
                    what: format!("call {call_id}"),
                })?;
            if call.consult.is_some() {
                return Err(ProviderError::Rejected {
                    reason: "an attended transfer is already under way".to_owned(),
                });
            }
            let bridge = call.bridge.clone().ok_or_else(|| ProviderError::Rejected {
                reason: "the call is not bridged".to_owned(),
            })?;
            let customer = request
                .transferee
                .as_ref()
                .map(|t| t.as_str().to_owned())
                .or_else(|| call.customer.clone());
            (bridge, customer)
        };
        let agent = request.transferer.as_str().to_owned();
        let consult_bridge = inner.client.new_id();
        let target = inner.client.new_id();
        let transfer = inner.client.new_id();
        let context = request
            .context
            .clone()
            .unwrap_or_else(|| inner.config.transfer_context.clone());
        let endpoint = if request.destination.contains('/') {
            request.destination.clone()
        } else {
            format!("Local/{}@{context}", request.destination)
        };
        check_text("context", &context)?;
        {
            let mut book = inner.book();
            book.stage(&target, call_id, LegRole::SecondAgent);
            book.bridges.insert(consult_bridge.clone(), call_id);
            if let Some(call) = book.calls.get_mut(&call_id) {
                call.consult = Some(Consult {
                    id: transfer.clone(),
                    bridge: consult_bridge.clone(),
                    target: target.clone(),
                    destination: request.destination.clone(),
                });
            }
        }
        let setup = async {
            let c = &inner.client;
            c.bridges()
                .create(
                    BridgesCreateOptions::new()
                        .r#type("mixing")
                        .name(format!("hookflash-consult-{call_id}"))
                        .bridge_id(consult_bridge.clone()),
                )
                .await?;
            if let Some(customer) = &customer {
                // The waiting customer hears music on hold (a REST hold would only signal the
                // customer's own hold towards the bridge).
                c.channels()
                    .start_moh(customer, hookflash_ari::ChannelsStartMohOptions::new())
                    .await?;
            }
            c.bridges().remove_channel(&bridge, &[&agent]).await?;
            c.bridges()
                .add_channel(&consult_bridge, &[&agent], BridgesAddChannelOptions::new())
                .await?;
            let mut options = ChannelsOriginateOptions::new();
            options.app = Some(inner.config.app.clone());
            options.app_args = Some(format!("{ARG_TARGET},{call_id}"));
            options.variables = Some(Value::Object(Inner::variables(call_id, &Map::new())));
            options.channel_id = Some(target.clone());
            c.channels().originate(&endpoint, options).await?;
            Ok::<(), hookflash_ari::Error>(())
        };
        if let Err(e) = setup.await {
            if let Some(call) = inner.book().calls.get_mut(&call_id) {
                call.consult = None;
            }
            let _ = inner.client.bridges().destroy(&consult_bridge).await;
            return Err(map_error("attended transfer", e));
        }
        if let Some(customer) = &customer {
            inner.report(customer, LegEventKind::Held);
        }
        Ok(TransferId(transfer))
    }

    async fn complete_attended_transfer(&self, transfer: &TransferId) -> Result<(), ProviderError> {
        let inner = &self.inner;
        inner.not_connected()?;
        let (call_id, consult, agent, customer, bridge) =
            inner
                .consult_of(transfer)
                .ok_or_else(|| ProviderError::NotFound {
                    what: format!("transfer {transfer}"),
                })?;
        let bridge = bridge.ok_or_else(|| ProviderError::Rejected {
            reason: "the call has no bridge".to_owned(),
        })?;
        {
            // The target takes the agent's place, so the old agent's end ends nothing.
            let mut book = inner.book();
            if let Some(call) = book.calls.get_mut(&call_id) {
                call.agent = Some(consult.target.clone());
                call.consult = None;
            }
            book.bridges.remove(&consult.bridge);
        }
        let c = &inner.client;
        let moved = async {
            c.bridges()
                .remove_channel(&consult.bridge, &[&consult.target])
                .await?;
            c.bridges()
                .add_channel(&bridge, &[&consult.target], BridgesAddChannelOptions::new())
                .await?;
            if let Some(customer) = &customer {
                c.channels().stop_moh(customer).await?;
            }
            Ok::<(), hookflash_ari::Error>(())
        };
        moved
            .await
            .map_err(|e| map_error("completing the transfer", e))?;
        if let Some(customer) = &customer {
            inner.report(customer, LegEventKind::Unheld);
            let target = LegId::new(consult.target.clone()).ok();
            inner.report(
                customer,
                LegEventKind::Transferred {
                    kind: TransferKind::Attended,
                    to: Some(consult.destination.clone()),
                    target,
                    outcome: TransferOutcome::Success,
                },
            );
        }
        if let Some(agent) = agent {
            inner.hangup_channel(&agent).await;
        }
        if let Err(e) = c.bridges().destroy(&consult.bridge).await
            && !e.is_not_found()
        {
            tracing::warn!(error = %e, "consultation bridge not destroyed");
        }
        Ok(())
    }

    async fn cancel_attended_transfer(&self, transfer: &TransferId) -> Result<(), ProviderError> {
        let inner = &self.inner;
        inner.not_connected()?;
        let (call_id, consult, agent, customer, bridge) =
            inner
                .consult_of(transfer)
                .ok_or_else(|| ProviderError::NotFound {
                    what: format!("transfer {transfer}"),
                })?;
        {
            let mut book = inner.book();
            if let Some(call) = book.calls.get_mut(&call_id) {
                call.consult = None;
            }
            book.bridges.remove(&consult.bridge);
        }
        inner.hangup_channel(&consult.target).await;
        let c = &inner.client;
        let back = async {
            if let (Some(agent), Some(bridge)) = (&agent, &bridge) {
                let _ = c.bridges().remove_channel(&consult.bridge, &[agent]).await;
                c.bridges()
                    .add_channel(bridge, &[agent], BridgesAddChannelOptions::new())
                    .await?;
            }
            if let Some(customer) = &customer {
                c.channels().stop_moh(customer).await?;
            }
            Ok::<(), hookflash_ari::Error>(())
        };
        back.await
            .map_err(|e| map_error("cancelling the transfer", e))?;
        if let Some(customer) = &customer {
            inner.report(customer, LegEventKind::Unheld);
            inner.report(
                customer,
                LegEventKind::Transferred {
                    kind: TransferKind::Attended,
                    to: Some(consult.destination.clone()),
                    target: None,
                    outcome: TransferOutcome::Cancelled,
                },
            );
        }
        if let Err(e) = c.bridges().destroy(&consult.bridge).await
            && !e.is_not_found()
        {
            tracing::warn!(error = %e, "consultation bridge not destroyed");
        }
        Ok(())
    }

    async fn park(&self, request: ParkRequest) -> Result<(), ProviderError> {
        let inner = &self.inner;
        inner.not_connected()?;
        let call_id = inner.call_of(&request.leg).unwrap_or(request.call_id);
        let agent = {
            let mut book = inner.book();
            let call = book.calls.get_mut(&call_id);
            let agent = call.as_ref().and_then(|c| c.agent.clone());
            if let Some(call) = call
                && call.customer.as_deref() == Some(request.leg.as_str())
            {
                call.released = true;
            }
            request
                .parker
                .as_ref()
                .map(|p| p.as_str().to_owned())
                .or(agent)
                .filter(|a| a != request.leg.as_str())
        };
        let options = ChannelsContinueInDialplanOptions::new()
            .context(inner.config.parking_context.clone())
            .extension(inner.config.parking_extension.clone())
            .priority(1);
        if let Err(e) = inner
            .client
            .channels()
            .continue_in_dialplan(request.leg.as_str(), options)
            .await
        {
            if let Some(call) = inner.book().calls.get_mut(&call_id) {
                call.released = false;
            }
            return Err(map_error(&format!("channel {}", request.leg), e));
        }
        inner.report(
            request.leg.as_str(),
            LegEventKind::Parked {
                slot: inner.config.parking_extension.clone(),
                lot: request.lot.clone(),
                timeout_secs: request
                    .timeout
                    .and_then(|t| u32::try_from(t.as_secs()).ok()),
            },
        );
        if let Some(agent) = agent {
            inner.hangup_channel(&agent).await;
        }
        Ok(())
    }

    async fn hold(&self, leg: &LegId) -> Result<(), ProviderError> {
        self.inner.not_connected()?;
        self.inner
            .client
            .channels()
            .hold(leg.as_str())
            .await
            .map_err(|e| map_error(&format!("channel {leg}"), e))?;
        self.inner.report(leg.as_str(), LegEventKind::Held);
        Ok(())
    }

    async fn unhold(&self, leg: &LegId) -> Result<(), ProviderError> {
        self.inner.not_connected()?;
        self.inner
            .client
            .channels()
            .unhold(leg.as_str())
            .await
            .map_err(|e| map_error(&format!("channel {leg}"), e))?;
        self.inner.report(leg.as_str(), LegEventKind::Unheld);
        Ok(())
    }

    async fn mute(&self, leg: &LegId, direction: MediaDirection) -> Result<(), ProviderError> {
        self.inner.not_connected()?;
        self.inner
            .client
            .channels()
            .mute(
                leg.as_str(),
                ChannelsMuteOptions::new().direction(direction.as_ari()),
            )
            .await
            .map_err(|e| map_error(&format!("channel {leg}"), e))?;
        self.inner
            .report(leg.as_str(), LegEventKind::Muted { direction });
        Ok(())
    }

    async fn unmute(&self, leg: &LegId, direction: MediaDirection) -> Result<(), ProviderError> {
        self.inner.not_connected()?;
        self.inner
            .client
            .channels()
            .unmute(
                leg.as_str(),
                ChannelsUnmuteOptions::new().direction(direction.as_ari()),
            )
            .await
            .map_err(|e| map_error(&format!("channel {leg}"), e))?;
        self.inner
            .report(leg.as_str(), LegEventKind::Unmuted { direction });
        Ok(())
    }

    async fn send_dtmf(&self, leg: &LegId, digits: &str) -> Result<(), ProviderError> {
        self.inner.not_connected()?;
        if digits.is_empty()
            || !digits
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D'))
        {
            return Err(ProviderError::InvalidRequest {
                field: "digits".to_owned(),
                reason: "only 0-9, *, # and A-D".to_owned(),
            });
        }
        self.inner
            .client
            .channels()
            .send_dtmf(leg.as_str(), ChannelsSendDTMFOptions::new().dtmf(digits))
            .await
            .map_err(|e| map_error(&format!("channel {leg}"), e))?;
        for digit in digits.chars() {
            self.inner.report(
                leg.as_str(),
                LegEventKind::Dtmf {
                    digit,
                    direction: DtmfDirection::Sent,
                    duration_ms: None,
                },
            );
        }
        Ok(())
    }

    async fn start_recording(&self, request: RecordingRequest) -> Result<String, ProviderError> {
        self.inner.not_connected()?;
        let call_id = self.inner.call_of(&request.leg).unwrap_or(request.call_id);
        self.inner
            .start_bridge_recording(call_id, request.leg.as_str(), request.name)
            .await
    }

    async fn stop_recording(&self, _leg: &LegId, recording: &str) -> Result<(), ProviderError> {
        self.inner.not_connected()?;
        self.inner
            .client
            .recordings()
            .stop(recording)
            .await
            .map_err(|e| map_error(&format!("recording {recording}"), e))
    }

    async fn pause_recording(&self, leg: &LegId, recording: &str) -> Result<(), ProviderError> {
        self.inner.not_connected()?;
        self.inner
            .client
            .recordings()
            .pause(recording)
            .await
            .map_err(|e| map_error(&format!("recording {recording}"), e))?;
        self.inner
            .report(leg.as_str(), LegEventKind::RecordingPaused);
        Ok(())
    }

    async fn resume_recording(&self, leg: &LegId, recording: &str) -> Result<(), ProviderError> {
        self.inner.not_connected()?;
        self.inner
            .client
            .recordings()
            .unpause(recording)
            .await
            .map_err(|e| map_error(&format!("recording {recording}"), e))?;
        self.inner
            .report(leg.as_str(), LegEventKind::RecordingResumed);
        Ok(())
    }

    /// A subscriber that arrives while the link is down first gets `Disconnected` with the
    /// reason, so it never takes silence for a quiet PBX.
    fn events(&self) -> LegEventStream {
        let rx = self.inner.tx.subscribe();
        let down = self
            .inner
            .down_reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .map(|reason| ProviderEvent::Disconnected { reason });
        let live = futures::stream::unfold(rx, |mut rx| async move {
            match rx.recv().await {
                Ok(event) => Some((event, rx)),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    Some((ProviderEvent::Lagged { missed }, rx))
                }
                Err(broadcast::error::RecvError::Closed) => None,
            }
        });
        Box::pin(futures::stream::iter(down).chain(live))
    }

    async fn snapshot(&self) -> Result<Vec<LegSnapshot>, ProviderError> {
        snapshot(&self.inner).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_id_combines_name_and_number() {
        let mut r = OriginateRequest::new(
            CallId::new_random(),
            hookflash_provider::TenantId::new_random(),
            "PJSIP/agent1001",
            "5551204005",
        );
        assert_eq!(caller_id_of(&r, Some("x")), Some("x".to_owned()));
        r.caller_id = Some("18005550100".to_owned());
        r.caller_name = Some("Hookflash Outbound".to_owned());
        assert_eq!(
            caller_id_of(&r, None).as_deref(),
            Some("\"Hookflash Outbound\" <18005550100>")
        );
    }

    #[test]
    fn ari_errors_map_to_provider_errors() {
        let e = map_error(
            "x",
            hookflash_ari::Error::from_response(404, br#"{"message":"Channel not found"}"#),
        );
        assert_eq!(e.code(), "not_found");
        let e = map_error(
            "x",
            hookflash_ari::Error::from_response(
                409,
                br#"{"message":"Channel not in Stasis application"}"#,
            ),
        );
        assert_eq!(e.code(), "rejected");
        assert!(e.to_string().contains("Channel not in Stasis application"));
        let e = map_error(
            "x",
            hookflash_ari::Error::from_response(401, br#"{"message":"Authentication required"}"#),
        );
        assert_eq!(e.code(), "auth");
    }
}
