//! The AMI provider: owns an AMI client, turns its events into leg events, and sends the
//! actions behind each [`CallProvider`] command.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use chrono::Utc;
use hookflash_ami::{Action, AmiClient, AmiError, ClientEvent, EventStream};
use hookflash_provider::{
    CALL_ID_VARIABLE, CallId, LegEvent, LegEventKind, LegId, ProviderError, ProviderEvent,
};
use tokio::sync::{mpsc, oneshot};

use crate::fanout::Fanout;

use super::actions;
use super::config::AmiProviderConfig;
use super::translate::{AmiTranslator, OriginateKind, message_time};
use crate::dialplan;

const PROVIDER: &str = "asterisk-ami";

#[derive(Debug)]
struct Inner {
    client: AmiClient,
    config: AmiProviderConfig,
    translator: Arc<Mutex<AmiTranslator>>,
    tx: Arc<Fanout>,
    sync: mpsc::Sender<oneshot::Sender<Result<(), ProviderError>>>,
    /// Why hold is unavailable (a hold context missing from the dialplan), checked at connect
    /// and after every reconnect; `None`: the dialplan has them.
    hold_gap: Mutex<Option<String>>,
}

/// A [`CallProvider`] over the Asterisk Manager Interface.
///
/// Legs are channels, identified by their `Uniqueid`. Commands look the channel name up from
/// the events seen so far, so a leg is known once its `Newchannel` has been read. See the
/// crate docs for how each command maps to AMI actions.
#[derive(Debug, Clone)]
pub struct AmiProvider {
    inner: Arc<Inner>,
}

fn lock(m: &Mutex<AmiTranslator>) -> MutexGuard<'_, AmiTranslator> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Maps an AMI error to the provider vocabulary.
fn provider_error(e: AmiError) -> ProviderError {
    match e {
        AmiError::ActionFailed { action, response } => {
            let message = response.message().unwrap_or("(no message)").to_owned();
            if message.to_ascii_lowercase().contains("no such channel") {
                ProviderError::NotFound {
                    what: format!("channel ({action}: {message})"),
                }
            } else {
                ProviderError::Rejected {
                    reason: format!("{action}: {message}"),
                }
            }
        }
        AmiError::NotConnected | AmiError::Closed => ProviderError::NotConnected {
            provider: PROVIDER.to_owned(),
        },
        AmiError::Timeout(d) => ProviderError::Timeout {
            what: format!("an AMI response ({d:?})"),
        },
        AmiError::Authentication { message } => ProviderError::Auth { message },
        AmiError::HeaderInjection { key }
        | AmiError::InvalidKey { key }
        | AmiError::LineTooLong { key, .. } => ProviderError::InvalidRequest {
            field: key,
            reason: "not valid in an AMI header".to_owned(),
        },
        other => ProviderError::transport(other),
    }
}

impl AmiProvider {
    /// Connects and logs in to AMI, and starts translating its events.
    pub async fn connect(config: AmiProviderConfig) -> Result<Self, ProviderError> {
        // The translation task reads every event (backpressure, never a lag): a slow pipeline
        // holds the socket, it does not lose events.
        let (client, stream) = AmiClient::connect(config.ami.clone().with_backpressure(true))
            .await
            .map_err(provider_error)?;
        let tx = Arc::new(Fanout::new(config.event_buffer.max(16)));
        let hold_cap = config.ami.event_buffer.max(16);
        let translator = Arc::new(Mutex::new(AmiTranslator::new()));
        let (sync, sync_rx) = mpsc::channel(16);
        let inner = Arc::new(Inner {
            client,
            config,
            translator: translator.clone(),
            tx: tx.clone(),
            sync,
            hold_gap: Mutex::new(None),
        });
        let task = Translation {
            stream,
            inner: Arc::downgrade(&inner),
            translator,
            tx,
            held: VecDeque::new(),
            hold_cap,
            resync_due: None,
        };
        // Reading first: the client holds its socket while nobody reads its events, and the
        // check's answers are behind them.
        tokio::spawn(task.run(sync_rx));
        let hold_gap = check_hold(&inner.client, &inner.config).await;
        if let Some(gap) = &hold_gap {
            tracing::warn!(%gap, "AMI hold unavailable");
        }
        *inner
            .hold_gap
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = hold_gap;
        Ok(Self { inner })
    }

    /// Returns once every event Asterisk sent before this call has been translated and
    /// published (a `Ping` round trip, then the translation queue drained).
    pub async fn sync(&self) -> Result<(), ProviderError> {
        let (reply, done) = oneshot::channel();
        let closed = || ProviderError::NotConnected {
            provider: PROVIDER.to_owned(),
        };
        self.inner.sync.send(reply).await.map_err(|_| closed())?;
        done.await.map_err(|_| closed())?
    }

    /// Why hold is unavailable on this PBX (its dialplan lacks a hold context), as checked at
    /// connect and after the last reconnect; `None` when hold works.
    pub fn hold_gap(&self) -> Option<String> {
        self.inner
            .hold_gap
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The configuration this provider was built with.
    pub fn config(&self) -> &AmiProviderConfig {
        &self.inner.config
    }

    /// The underlying AMI client (for actions the provider does not wrap).
    pub fn client(&self) -> &AmiClient {
        &self.inner.client
    }

    /// The leg of a live channel, by channel name (`PJSIP/agent1001-00000004`).
    pub fn leg_for_channel(&self, channel: &str) -> Option<LegId> {
        lock(&self.inner.translator).leg_for_channel(channel)
    }

    /// A live leg's channel name.
    pub fn channel_of(&self, leg: &LegId) -> Option<String> {
        lock(&self.inner.translator)
            .channel_of(leg)
            .map(str::to_owned)
    }

    /// The live legs of a call known so far, oldest first.
    pub fn legs_of_call(&self, call_id: CallId) -> Vec<LegId> {
        lock(&self.inner.translator).legs_of_call(call_id)
    }

    /// The legs bridged with `leg` now.
    pub fn bridge_peers(&self, leg: &LegId) -> Vec<LegId> {
        lock(&self.inner.translator).bridge_peers(leg)
    }

    fn channel(&self, leg: &LegId) -> Result<String, ProviderError> {
        self.channel_of(leg).ok_or_else(|| ProviderError::NotFound {
            what: format!("leg {leg}"),
        })
    }

    async fn send(&self, action: Action) -> Result<(), ProviderError> {
        self.inner
            .client
            .send(action)
            .await
            .map(|_| ())
            .map_err(provider_error)
    }

    /// Sends an Async Originate in the background: the outcome arrives as an
    /// `originate_result` leg event (a refusal too).
    async fn spawn_originate(
        &self,
        call_id: CallId,
        endpoint: String,
        action: Action,
        record: Option<String>,
    ) -> Result<(), ProviderError> {
        action.validate().map_err(provider_error)?;
        if !self.inner.client.is_connected() {
            return Err(ProviderError::NotConnected {
                provider: PROVIDER.to_owned(),
            });
        }
        let client = self.inner.client.clone();
        let translator = self.inner.translator.clone();
        let tx = self.inner.tx.clone();
        let options = self.inner.config.mixmonitor_options.clone();
        let monitor_dir = self.inner.config.monitor_dir.clone();
        let sender = client.clone();
        // Unconstrained: tokio's cooperative budget must not make the first poll return
        // before the action is queued.
        let mut request = Box::pin(tokio::task::unconstrained(async move {
            sender.originate_async(action).await
        }));
        // One poll queues the action with the connection task (its queue is FIFO even when
        // full), so Originates go out in the order they were requested; the outcome is
        // awaited in the background.
        let first = match futures::poll!(request.as_mut()) {
            std::task::Poll::Ready(result) => Some(result),
            std::task::Poll::Pending => None,
        };
        tokio::spawn(async move {
            let result = match first {
                Some(result) => result,
                None => request.await,
            };
            match result {
                Ok(resp) => {
                    let at = message_time(&resp.raw, Utc::now());
                    let out = lock(&translator).on_originate_response(call_id, &resp, at);
                    tx.publish_legs(out).await;
                    let answered = resp
                        .response
                        .as_ref()
                        .is_some_and(|r| r.eq_ignore_case("Success"));
                    let channel = resp.channel.as_ref().map(|c| c.to_str_lossy().into_owned());
                    let uid = resp
                        .uniqueid
                        .as_ref()
                        .map(|u| u.to_str_lossy().into_owned());
                    if let (true, Some(file), Some(channel), Some(uid)) =
                        (answered, record, channel, uid)
                    {
                        if let Ok(leg) = LegId::new(uid) {
                            lock(&translator).note_recording(&leg, format!("{monitor_dir}/{file}"));
                        }
                        if let Err(e) = client
                            .send(actions::mixmonitor(&channel, &file, &options))
                            .await
                        {
                            tracing::warn!(%call_id, error = %e, "MixMonitor at answer failed");
                        }
                    }
                }
                Err(AmiError::ActionFailed { response, .. }) => {
                    let message = response.message().unwrap_or("Originate refused").to_owned();
                    let out = lock(&translator).on_originate_error(
                        call_id,
                        &endpoint,
                        &message,
                        Utc::now(),
                    );
                    tx.publish_legs(out).await;
                }
                Err(e) => {
                    // The outcome is unknown (link lost or no answer in time): the call's legs
                    // tell, and a resync closes what ended meanwhile.
                    tracing::warn!(%call_id, error = %e, "Originate outcome unknown");
                }
            }
        });
        Ok(())
    }

    /// Picks up a parked call: originates `endpoint` (ringing it for `ring_timeout`) into the
    /// parking context's `slot`. `pickup_call_id` is the id the new leg carries; the tracker
    /// ties it to the parked call through `UnParkedCall`.
    pub async fn pickup_parked(
        &self,
        pickup_call_id: CallId,
        endpoint: &str,
        slot: &str,
        ring_timeout: Duration,
    ) -> Result<(), ProviderError> {
        lock(&self.inner.translator).expect_originate(pickup_call_id, OriginateKind::ParkPickup);
        let action = actions::pickup_parked(
            &self.inner.config,
            pickup_call_id,
            endpoint,
            slot,
            ring_timeout,
        );
        self.spawn_originate(pickup_call_id, endpoint.to_owned(), action, None)
            .await
    }

    /// Plays DTMF digits on a leg as if its own party had pressed them (`PlayDTMF` with
    /// `Receive: true`): the bridge peer hears them and features (transfer codes) see them.
    pub async fn inject_dtmf(&self, leg: &LegId, digits: &str) -> Result<(), ProviderError> {
        let channel = self.channel(leg)?;
        for digit in digits.chars() {
            check_digit(digit)?;
            let action = actions::play_dtmf(&channel, digit, self.inner.config.dtmf_duration, true);
            self.send(action).await?;
        }
        Ok(())
    }

    /// Refuses a transfer whose destination is not an extension of the transfer context, before
    /// anything is sent: Asterisk would accept it and then drop the customer.
    async fn check_destination(&self, destination: &str) -> Result<(), ProviderError> {
        let context = &self.inner.config.transfer_context;
        let action = dialplan::exists_action("destination", context, destination)?;
        let response = self
            .inner
            .client
            .send(action)
            .await
            .map_err(provider_error)?;
        match dialplan::exists_answer(&response) {
            Some(true) => Ok(()),
            Some(false) => Err(dialplan::missing_destination(context, destination)),
            None => Err(ProviderError::Rejected {
                reason: format!(
                    "could not check that {destination} exists in {context} (Getvar: {}): \
                     nothing was transferred",
                    response.message().unwrap_or("no value")
                ),
            }),
        }
    }

    async fn synth(&self, leg: &LegId, kind: LegEventKind) {
        let call = lock(&self.inner.translator).call_of(leg);
        let channel = self.channel_of(leg);
        let mut ev = LegEvent::new(leg.clone(), Utc::now(), kind);
        ev.keys.call_id = call;
        ev.keys.channel = channel;
        self.inner.tx.publish_legs(vec![ev]).await;
    }

    async fn list_channels(&self) -> Result<Vec<hookflash_ami::Event>, ProviderError> {
        let (_, events) = self
            .inner
            .client
            .send_list(actions::core_show_channels())
            .await
            .map_err(provider_error)?;
        Ok(events)
    }
}

/// Reads back `HOOKFLASH_CALL_ID` of listed channels the translator could not place
/// ([`AmiTranslator::unkeyed`]): a pipeline that (re)starts mid-call keeps their legs with
/// the call the API placed instead of taking them for a new inbound call. `None`: the channel
/// has no call id (a call hookflash did not place); a channel gone meanwhile is left out.
pub(crate) async fn call_ids_of(
    client: &AmiClient,
    unkeyed: Vec<(LegId, String)>,
) -> Vec<(LegId, Option<CallId>)> {
    let mut out = Vec::new();
    for (leg, channel) in unkeyed {
        match client
            .send(actions::getvar(&channel, CALL_ID_VARIABLE))
            .await
        {
            Ok(r) if r.is_success() => {
                let id = r
                    .get("Value")
                    .and_then(|v| v.to_str_lossy().trim().parse::<CallId>().ok());
                out.push((leg, id));
            }
            Ok(_) => {}
            // Hung up since the listing.
            Err(AmiError::ActionFailed { .. }) => {}
            Err(e) => {
                tracing::warn!(error = %e, %channel, "reading a listed channel's call id");
                break;
            }
        }
    }
    out
}

/// Asks whether the hold contexts exist; `Some(why)` when hold cannot work.
async fn check_hold(client: &AmiClient, config: &AmiProviderConfig) -> Option<String> {
    let mut checks = Vec::new();
    for context in [&config.hold_context, &config.hold_wait_context] {
        let found = match dialplan::exists_action("context", context, "s") {
            Ok(action) => match client.send(action).await {
                Ok(response) => dialplan::exists_answer(&response),
                Err(e) => {
                    tracing::warn!(error = %e, %context, "checking the hold dialplan");
                    None
                }
            },
            Err(_) => Some(false),
        };
        checks.push((context.as_str(), found));
    }
    dialplan::hold_gap(&checks)
}

fn check_digit(digit: char) -> Result<(), ProviderError> {
    if digit.is_ascii_digit() || matches!(digit, '*' | '#' | 'A'..='D' | 'a'..='d') {
        Ok(())
    } else {
        Err(ProviderError::InvalidRequest {
            field: "digits".to_owned(),
            reason: format!("{digit:?} is not a DTMF digit"),
        })
    }
}

/// The task reading the client's events: translates them, and resyncs after a reconnect.
struct Translation {
    stream: EventStream,
    inner: Weak<Inner>,
    translator: Arc<Mutex<AmiTranslator>>,
    tx: Arc<Fanout>,
    /// Events read while this task waited for an action of its own (a resync listing, a sync
    /// Ping): the action's response is behind them on the socket, and the client stops
    /// reading it while its lossless stream is full. Past `hold_cap` the oldest are
    /// translated and published at once.
    held: VecDeque<ClientEvent>,
    hold_cap: usize,
    /// A reconnect (or loss) seen while waiting: resync once the wait is over.
    resync_due: Option<ClientEvent>,
}

type SyncRequest = oneshot::Sender<Result<(), ProviderError>>;

impl Translation {
    async fn run(mut self, mut sync_rx: mpsc::Receiver<SyncRequest>) {
        let mut syncs_open = true;
        loop {
            if let Some(item) = self.held.pop_front().or_else(|| self.resync_due.take()) {
                self.handle(item).await;
                continue;
            }
            tokio::select! {
                item = self.stream.recv() => match item {
                    Some(item) => self.handle(item).await,
                    None => break,
                },
                req = sync_rx.recv(), if syncs_open => match req {
                    Some(reply) => {
                        let result = self.sync().await;
                        let _ = reply.send(result);
                    }
                    None => syncs_open = false,
                },
            }
        }
    }

    /// The Ping's response comes after every event sent before it, and the client broadcasts
    /// events as it reads them: once the Ping is answered, draining the stream catches up.
    async fn sync(&mut self) -> Result<(), ProviderError> {
        // Only while the provider is alive: the task must not keep the client open.
        let client = self
            .inner
            .upgrade()
            .map(|i| i.client.clone())
            .ok_or_else(|| ProviderError::NotConnected {
                provider: PROVIDER.to_owned(),
            })?;
        self.hold_aside(client.send(Action::new("Ping")))
            .await
            .map_err(provider_error)?;
        drop(client);
        while let Some(item) = self.held.pop_front() {
            self.handle(item).await;
        }
        while let Some(item) = self.stream.try_recv() {
            self.handle(item).await;
        }
        if let Some(item) = self.resync_due.take() {
            self.handle(item).await;
        }
        Ok(())
    }

    /// Awaits an action of this task's own client while still reading the event stream (up to
    /// `hold_cap` events, kept in order for later), so the action's response, which is behind
    /// those events on the socket, can be read.
    async fn hold_aside<F: Future>(&mut self, action: F) -> F::Output {
        tokio::pin!(action);
        let mut open = true;
        loop {
            tokio::select! {
                out = &mut action => return out,
                item = self.stream.recv(), if open => match item {
                    Some(item) => {
                        self.held.push_back(item);
                        if self.held.len() > self.hold_cap
                            && let Some(oldest) = self.held.pop_front()
                        {
                            match oldest {
                                ClientEvent::Reconnected | ClientEvent::Lagged(_) => {
                                    self.resync_due = Some(oldest);
                                }
                                other => self.translate_one(other).await,
                            }
                        }
                    }
                    None => open = false,
                },
            }
        }
    }

    /// Translates and publishes an AMI event, or announces a lost link.
    async fn translate_one(&mut self, item: ClientEvent) {
        match item {
            ClientEvent::Event(event) => {
                let out = lock(&self.translator).on_event(&event, Utc::now());
                self.tx.publish_legs(out).await;
                // Asterisk's billing record of a leg that ended, for the pipeline to store.
                if let Some(cdr) = super::cdr::cdr_of(&event) {
                    self.tx.publish(ProviderEvent::Cdr(Box::new(cdr))).await;
                }
            }
            ClientEvent::Disconnected { reason } => {
                self.tx
                    .publish(ProviderEvent::Disconnected {
                        reason: reason.to_string(),
                    })
                    .await;
            }
            _ => {}
        }
    }

    async fn handle(&mut self, item: ClientEvent) {
        match item {
            ClientEvent::Event(_) | ClientEvent::Disconnected { .. } => {
                self.translate_one(item).await;
            }
            ClientEvent::Reconnected | ClientEvent::Lagged(_) => {
                if let ClientEvent::Lagged(n) = item {
                    tracing::warn!(missed = n, "AMI events lost: resyncing");
                }
                let Some(inner) = self.inner.upgrade() else {
                    return;
                };
                let client = inner.client.clone();
                if matches!(item, ClientEvent::Reconnected) {
                    // The dialplan may have been reloaded (or the PBX replaced) meanwhile.
                    let gap = self.hold_aside(check_hold(&client, &inner.config)).await;
                    *inner
                        .hold_gap
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = gap;
                }
                drop(inner);
                match self
                    .hold_aside(client.send_list(actions::core_show_channels()))
                    .await
                {
                    Ok((_, listing)) => {
                        let (mut legs, unkeyed) = {
                            let mut t = lock(&self.translator);
                            let legs = t.resync(&listing, Utc::now());
                            let unkeyed = t.unkeyed(&legs);
                            (legs, unkeyed)
                        };
                        let found = self.hold_aside(call_ids_of(&client, unkeyed)).await;
                        {
                            let mut t = lock(&self.translator);
                            t.resolve_unkeyed(&found, &mut legs);
                        }
                        self.tx.publish(ProviderEvent::Resynced { legs }).await;
                    }
                    Err(e) => tracing::warn!(error = %e, "resync after reconnect failed"),
                }
            }
            _ => {}
        }
    }
}

mod commands;
