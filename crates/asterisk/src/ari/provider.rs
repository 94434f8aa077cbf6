use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use hookflash_ari::{
    BridgesAddChannelOptions, BridgesCreateOptions, BridgesRecordOptions, ChannelsCreateOptions,
    ChannelsDialOptions, ChannelsHangupOptions, ChannelsOriginateOptions, ChannelsRecordOptions,
    Client, Event, EventStream, StreamEvent,
};
use hookflash_provider::{
    CALL_ID_VARIABLE, CallId, Correlation, LegEventKind, LegId, LegRole, LegSnapshot, LegState,
    OriginateRequest, ProviderError, ProviderEvent, RecordingFormat, TransferId,
};
use serde_json::{Map, Value};
use tokio::sync::broadcast;

use super::book::{ARG_CUSTOMER, Book, CallCtl, Consult, CustomerPlan, Step, parse_time};
use super::config::{AriProviderConfig, CustomerLeg};
use super::translate::AriTranslator;
use crate::dialplan;

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
    pub(super) inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

pub(super) struct Inner {
    pub(super) client: Client,
    pub(super) config: AriProviderConfig,
    pub(super) book: Mutex<Book>,
    pub(super) tx: broadcast::Sender<ProviderEvent>,
    pub(super) connected: AtomicBool,
    pub(super) handled: AtomicU64,
    /// Why the link is down, while it is.
    pub(super) down_reason: Mutex<Option<String>>,
    /// Blind transfers whose target is ringing, by the target's channel id.
    pub(super) blind: Mutex<std::collections::HashMap<String, super::transfer::PendingBlind>>,
    /// The calls this provider parked, and agent legs ringing for them.
    pub(super) lot: Mutex<super::park::Lot>,
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

pub(super) fn check_text(field: &str, value: &str) -> Result<(), ProviderError> {
    if value.contains(['\r', '\n']) {
        return Err(ProviderError::InvalidRequest {
            field: field.to_owned(),
            reason: "contains CR or LF".to_owned(),
        });
    }
    Ok(())
}

pub(super) fn caller_id_of(request: &OriginateRequest, default: Option<&str>) -> Option<String> {
    match (&request.caller_name, &request.caller_id) {
        (Some(name), Some(number)) => Some(format!("\"{name}\" <{number}>")),
        (None, Some(number)) => Some(number.clone()),
        _ => default.map(str::to_owned),
    }
}

pub(super) fn secs(d: std::time::Duration) -> i64 {
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
            // Every channel's events, not only those in the application: an inbound call that
            // the dialplan queues to agents never enters Stasis (AriTranslator says which
            // channels are part of a call).
            .subscribe_all(true)
            .connect()
            .await
            .map_err(|e| map_error("events WebSocket", e))?;
        let (tx, _) = broadcast::channel(EVENT_BUFFER);
        let translator =
            AriTranslator::new().with_inbound_contexts(config.inbound_contexts.iter().cloned());
        let inner = Arc::new(Inner {
            client,
            config,
            book: Mutex::new(Book::new(translator)),
            tx,
            connected: AtomicBool::new(true),
            handled: AtomicU64::new(0),
            down_reason: Mutex::new(None),
            blind: Mutex::default(),
            lot: Mutex::default(),
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
            trunk: None,
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
    pub(super) fn book(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn set_down(&self, reason: Option<String>) {
        self.connected.store(reason.is_none(), Ordering::Relaxed);
        *self.down_reason.lock().unwrap_or_else(|e| e.into_inner()) = reason;
    }

    pub(super) fn send(&self, event: ProviderEvent) {
        // No subscriber is not an error: events are not buffered for later subscribers.
        let _ = self.tx.send(event);
    }

    pub(super) fn report(&self, channel: &str, kind: LegEventKind) {
        let event = self.book().event(channel, kind);
        if let Some(e) = event {
            self.send(ProviderEvent::Leg(e));
        }
    }

    pub(super) fn not_connected(&self) -> Result<(), ProviderError> {
        if self.connected.load(Ordering::Relaxed) {
            Ok(())
        } else {
            Err(ProviderError::NotConnected {
                provider: self.config.name.clone(),
            })
        }
    }

    pub(super) fn call_of(&self, leg: &LegId) -> Option<CallId> {
        self.book().translator.call_of(leg)
    }

    pub(super) fn variables(call_id: CallId, extra: &Map<String, Value>) -> Map<String, Value> {
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

    pub(super) fn customer_endpoint(&self, number: &str, trunk: Option<&str>) -> String {
        if number.contains('/') {
            number.to_owned()
        } else {
            format!("PJSIP/{number}@{}", trunk.unwrap_or(&self.config.trunk))
        }
    }

    /// Creates (and, for `CreateAndDial`, later dials) the customer leg of `call_id`.
    pub(super) async fn place_customer(
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
        let endpoint = self.customer_endpoint(&plan.number, plan.trunk.as_deref());
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
                book.translator.forget_channel(&id);
                if let Some(call) = book.calls.get_mut(&call_id) {
                    call.customer = None;
                }
                Err(map_error("placing the customer", e))
            }
        }
    }

    /// Refuses a transfer of `leg` whose destination is not an extension of the transfer
    /// context, before anything moves: ARI's `continue` would succeed and Asterisk would then
    /// drop the customer ("sent to invalid extension"). Read on the leg itself, since ARI
    /// evaluates functions only in a channel's variable read.
    pub(super) async fn check_destination(
        &self,
        leg: &str,
        destination: &str,
    ) -> Result<(), ProviderError> {
        let context = &self.config.transfer_context;
        let function = dialplan::exists_function("destination", context, destination)?;
        let value = self
            .client
            .channels()
            .get_channel_var(leg, &function)
            .await
            .map_err(|e| map_error(&format!("channel {leg}"), e))?;
        match dialplan::exists_value(&value.value) {
            Some(true) => Ok(()),
            Some(false) => Err(dialplan::missing_destination(context, destination)),
            None => Err(ProviderError::Rejected {
                reason: format!(
                    "could not check that {destination} exists in {context} ({function} read \
                     {:?}): nothing was transferred",
                    value.value
                ),
            }),
        }
    }

    /// Refuses to park when the park context is missing from the dialplan (the parked leg
    /// would be dropped instead): a declared gap, checked on the leg like a destination.
    pub(super) async fn check_park_context(&self, leg: &str) -> Result<(), ProviderError> {
        let context = &self.config.park_context;
        let function = dialplan::exists_function("context", context, "s")?;
        let value = self
            .client
            .channels()
            .get_channel_var(leg, &function)
            .await
            .map_err(|e| map_error(&format!("channel {leg}"), e))?;
        match dialplan::exists_value(&value.value) {
            Some(true) => Ok(()),
            _ => Err(ProviderError::Unsupported {
                capability: hookflash_provider::Capability::Park,
                why: format!(
                    "the dialplan has no extension s,1 in {context}: ARI park needs the \
                     contexts of examples/asterisk/extensions_hookflash.conf"
                ),
            }),
        }
    }

    pub(super) async fn hangup_channel(&self, channel: &str) {
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

    /// Records the call's bridge (or `leg` outside one) as `name`, which hookflash built from
    /// its own ids. An existing recording of that name is never overwritten: Asterisk refuses
    /// and so does this.
    pub(super) async fn start_bridge_recording(
        &self,
        call_id: CallId,
        leg: &str,
        name: String,
        format: Option<RecordingFormat>,
    ) -> Result<String, ProviderError> {
        check_text("name", &name)?;
        let bridge = self
            .book()
            .calls
            .get(&call_id)
            .and_then(|c| c.bridge.clone());
        self.book().translator.note_recording(name.clone(), leg);
        let format = format.map_or_else(
            || self.config.recording_format.clone(),
            |f| f.as_str().to_owned(),
        );
        let max = self.config.recording_max_duration.map(secs);
        let result = match bridge {
            Some(bridge) => {
                let mut options = BridgesRecordOptions::new().if_exists("fail").beep(false);
                options.max_duration_seconds = max;
                self.client
                    .bridges()
                    .record(&bridge, &name, &format, options)
                    .await
            }
            None => {
                let mut options = ChannelsRecordOptions::new();
                options.max_duration_seconds = max;
                options.if_exists = Some("fail".to_owned());
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
                self.book().translator.forget_recording(&name);
                Err(map_error("recording", e))
            }
        }
    }

    /// Carries out one step an event called for. Failures are logged: nobody waits for them.
    pub(super) async fn execute(&self, step: Step) {
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
                            LegEventKind::DialFailed {
                                status: hookflash_provider::DialOutcome::ChanUnavail,
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
                let name = format!("hookflash-bridge-{call_id}");
                if let Err(e) = self
                    .start_bridge_recording(call_id, &agent, name, None)
                    .await
                {
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
            .r#type(self.config.bridge_type.as_str())
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

    pub(super) fn customer_number(&self, call_id: CallId) -> Option<String> {
        self.book()
            .calls
            .get(&call_id)
            .and_then(|c| c.customer_plan.as_ref())
            .map(|p| p.number.clone())
    }

    pub(super) fn consult_of(&self, transfer: &TransferId) -> Option<ConsultParts> {
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
pub(super) type ConsultParts = (
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
    inner.on_blind_transfer_event(event).await;
    inner.on_park_event(event).await;
    inner.handled.fetch_add(1, Ordering::Release);
}

fn leg_state(state: &str) -> LegState {
    match state {
        "Up" => LegState::Up,
        "Ringing" | "Ring" => LegState::Ringing,
        _ => LegState::Down,
    }
}

pub(super) async fn snapshot(inner: &Inner) -> Result<Vec<LegSnapshot>, ProviderError> {
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
        let known = book.translator.channel(&ch.id).filter(|i| i.tracked);
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
                linkedid: known.and_then(|k| k.conversation.clone()),
                channel: Some(ch.name.clone()),
                peer: None,
                local_pair: crate::facts::local_pair_of(&ch.name).map(str::to_owned),
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
