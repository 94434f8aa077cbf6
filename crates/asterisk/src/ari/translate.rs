//! ARI events in, provider [`LegEvent`]s out: sans-IO, no clock of its own.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};
use hookflash_ari::Event;
use hookflash_provider::{CallId, Correlation, LegEvent, LegEventKind, LegId, LegRole};

use crate::facts::local_pair_of;

mod events;
#[cfg(test)]
mod tests;

/// The first `appArgs` word of each leg the provider puts into Stasis.
pub(crate) const ARG_AGENT: &str = "agent";
pub(crate) const ARG_CUSTOMER: &str = "customer";
pub(crate) const ARG_TARGET: &str = "target";

/// What a channel looked like when first seen, kept until the channel turns out to be part
/// of a call (its `Created` event is then reported with that first time).
#[derive(Debug, Clone)]
struct FirstSight {
    at: DateTime<Utc>,
    endpoint: String,
    caller_number: Option<String>,
}

/// What the translator (and the provider around it) knows of one channel.
#[derive(Debug, Default)]
pub(crate) struct ChannelInfo {
    /// Our call id, when the leg carries one (stage, `appArgs`, `HOOKFLASH_CALL_ID`, or the
    /// call of the leg that dialled it).
    pub(crate) call_id: Option<CallId>,
    pub(crate) role: Option<LegRole>,
    pub(crate) name: Option<String>,
    /// For a leg of an inbound call (which carries no call id): the id of the call's first
    /// channel, reported as [`Correlation::linkedid`] on every leg of the conversation.
    pub(crate) conversation: Option<String>,
    /// The number this leg was placed to (a customer leg of ours; the DID of an inbound call).
    pub(crate) called_number: Option<String>,
    /// Part of a call: its events are reported. Channels of other applications, of the
    /// dialplan and of other engineers' calls on the same Asterisk are not.
    pub(crate) tracked: bool,
    /// `Created` was reported.
    pub(crate) created: bool,
    pub(crate) remote_hangup: bool,
    pub(crate) destroyed: bool,
    /// Created by the provider with a chosen id (it is in the application from the start).
    pub(crate) staged: bool,
    /// The application was subscribed to it explicitly.
    pub(crate) subscribed: bool,
    first: Option<FirstSight>,
}

/// Translates ARI events into provider-neutral [`LegEvent`]s.
///
/// Sans-IO: [`AriTranslator::on_event`] takes an event and `now` (used only for an event
/// whose `timestamp` cannot be read) and returns the leg events it means; it reads no clock,
/// opens no socket and takes no lock, so a recorded event stream replays to the same output
/// (see `benches/ari_translate.rs`).
///
/// A leg is a channel, its [`LegId`] the channel's `id` (AMI's `Uniqueid`). The translator
/// reports the channels that are part of a call and nothing else, since an application
/// subscribed to all of Asterisk's channels (`subscribeAll`) sees every other application's
/// and the dialplan's channels too:
///
/// * a channel [`staged`](AriTranslator::stage) by the provider (stage-then-execute: its very
///   first event already carries the call id and role);
/// * a channel that enters the Stasis application (`StasisStart`; `appArgs`
///   `agent|customer|target,<call id>` give its role and call);
/// * an **inbound call**: a channel first seen in one of the
///   [inbound contexts](AriTranslator::with_inbound_contexts) (`hookflash-inbound`, where the
///   carrier's calls land) starts a conversation keyed by its own id; it is the customer, its
///   called number the dialplan extension (the DID). ARI has no linkedid, so that key is
///   reported as [`Correlation::linkedid`] on every leg of the conversation, and the tracker
///   derives the call's id from it;
/// * a channel dialled by a reported one (`Dial` with a `caller`): a queue member dialled by
///   an inbound call is an agent, a leg our call dials after leaving Stasis (a transfer
///   target) a second agent of that call.
///
/// A channel's `Created` is reported when it becomes part of a call, at the time it was first
/// seen: a queue member's `ChannelCreated` comes before the `Dial` that makes it a member.
///
/// Facts it relies on (observed on Asterisk 22, `testdata/asterisk-22/ari/` and
/// `tests/data/ari-inbound-queue.jsonl`):
///
/// * `ChannelHangupRequest` without `soft` is the leg's own side hanging up (a BYE, a 486);
///   with `soft: true` Asterisk or an application (our `DELETE`) asked. A leg Asterisk tears
///   down after its peer left gets no request at all, only `ChannelDestroyed`.
/// * `ChannelVarset DIALSTATUS` on the dialling leg is the only word on a dial that reached
///   nobody (no peer channel exists): passed on as [`LegEventKind::DialFailed`].
/// * `Dial` events with an empty `dialstatus` start a dial; `RINGING` is ringing; the rest are
///   the dial's outcome.
/// * A recording names its target (`channel:<id>` or `bridge:<id>`), not the leg its events
///   belong on: the provider says where with [`AriTranslator::note_recording`]; otherwise a
///   bridge recording is reported on the bridge's agent.
///
/// Memory is bounded: a channel is forgotten once destroyed unless the provider still needs
/// it (a leg of one of our calls, forgotten with [`AriTranslator::forget_call`]); past
/// [`AriTranslator::max_channels`] the channel seen first is forgotten
/// ([`AriTranslator::evicted_channels`] counts them).
#[derive(Debug)]
pub struct AriTranslator {
    pub(crate) channels: HashMap<String, ChannelInfo>,
    /// Channel ids in first-seen order (may hold forgotten ones; compacted as it grows).
    order: VecDeque<String>,
    max_channels: usize,
    evicted: u64,
    /// Recording name → the leg its events are reported on.
    recordings: HashMap<String, String>,
    /// Bridge id → the reported channels in it.
    bridges: HashMap<String, Vec<String>>,
    inbound_contexts: Vec<String>,
}

impl Default for AriTranslator {
    fn default() -> Self {
        Self::new()
    }
}

/// ARI timestamps look like `2026-11-22T02:48:25.205+0000`.
pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `PJSIP/agent1001-0000026e` → `PJSIP/agent1001`.
pub(crate) fn endpoint_of(name: &str) -> String {
    match name.rsplit_once('-') {
        Some((ep, seq)) if !seq.is_empty() && seq.chars().all(|c| c.is_ascii_hexdigit()) => {
            ep.to_owned()
        }
        _ => name.to_owned(),
    }
}

fn leg_id(id: &str) -> Option<LegId> {
    LegId::new(id).ok()
}

impl AriTranslator {
    /// How many channels are kept by default.
    pub const DEFAULT_MAX_CHANNELS: usize = 100_000;

    /// A translator for one Asterisk, with the inbound context `hookflash-inbound` (the one
    /// `examples/asterisk/extensions.conf` ships).
    pub fn new() -> Self {
        Self {
            channels: HashMap::new(),
            order: VecDeque::new(),
            max_channels: Self::DEFAULT_MAX_CHANNELS,
            evicted: 0,
            recordings: HashMap::new(),
            bridges: HashMap::new(),
            inbound_contexts: vec!["hookflash-inbound".to_owned()],
        }
    }

    /// The dialplan contexts where calls from outside (a carrier's trunk) land: a channel
    /// first seen in one of them is the customer leg of an inbound call. None: no inbound
    /// calls are reported.
    #[must_use]
    pub fn with_inbound_contexts<I, S>(mut self, contexts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.inbound_contexts = contexts.into_iter().map(Into::into).collect();
        self
    }

    /// Keeps at most `max` channels (at least 1); past it, the channel seen first is
    /// forgotten, so a channel whose `ChannelDestroyed` never arrives does not stay forever.
    #[must_use]
    pub fn with_max_channels(mut self, max: usize) -> Self {
        self.max_channels = max.max(1);
        self
    }

    /// The bound on kept channels.
    pub fn max_channels(&self) -> usize {
        self.max_channels
    }

    /// How many channels were forgotten because of [`AriTranslator::max_channels`].
    pub fn evicted_channels(&self) -> u64 {
        self.evicted
    }

    /// How many channels the translator holds now.
    pub fn live_channels(&self) -> usize {
        self.channels.len()
    }

    /// Registers a channel the provider is about to create with a chosen id
    /// (stage-then-execute), so that its very first event is attributed to the call and role;
    /// `called_number` is the number a customer leg is placed to.
    pub fn stage(
        &mut self,
        channel: &str,
        call_id: CallId,
        role: LegRole,
        called_number: Option<String>,
    ) {
        let info = self.entry(channel);
        info.call_id = Some(call_id);
        info.role = Some(role);
        info.staged = true;
        info.tracked = true;
        if called_number.is_some() {
            info.called_number = called_number;
        }
    }

    /// Reports the events of recording `name` on `leg` (the provider started it for that leg).
    pub fn note_recording(&mut self, name: impl Into<String>, leg: impl Into<String>) {
        self.recordings.insert(name.into(), leg.into());
    }

    /// Forgets a recording that never started.
    pub fn forget_recording(&mut self, name: &str) {
        self.recordings.remove(name);
    }

    /// Our call id of a leg, when known.
    pub fn call_of(&self, leg: &LegId) -> Option<CallId> {
        self.channels.get(leg.as_str()).and_then(|i| i.call_id)
    }

    /// The channel name of a leg, when seen.
    pub fn channel_name(&self, leg: &LegId) -> Option<&str> {
        self.channels
            .get(leg.as_str())
            .and_then(|i| i.name.as_deref())
    }

    /// Forgets one channel (a leg the provider failed to create).
    pub fn forget_channel(&mut self, channel: &str) {
        self.channels.remove(channel);
    }

    /// Forgets every channel of a call that is over.
    pub fn forget_call(&mut self, call_id: CallId) {
        self.channels.retain(|_, i| i.call_id != Some(call_id));
    }

    /// The correlation keys of a channel.
    pub fn keys(&self, channel: &str) -> Correlation {
        let info = self.channels.get(channel);
        let name = info.and_then(|i| i.name.clone());
        Correlation {
            call_id: info.and_then(|i| i.call_id),
            linkedid: info.and_then(|i| i.conversation.clone()),
            local_pair: name.as_deref().and_then(local_pair_of).map(str::to_owned),
            channel: name,
            peer: None,
        }
    }

    /// A leg event about `channel` at `at`, for an effect ARI reports no event for (a REST
    /// hold, mute, DTMF sent): `None` when the channel id is not a valid leg id.
    pub fn leg_event(
        &self,
        channel: &str,
        kind: LegEventKind,
        at: DateTime<Utc>,
    ) -> Option<LegEvent> {
        Some(LegEvent {
            leg: leg_id(channel)?,
            at,
            keys: self.keys(channel),
            kind,
        })
    }

    /// The `timestamp` of an event that concerns channels (the clock of the Asterisk that
    /// sent it), if it has one that parses.
    pub fn event_time(event: &Event) -> Option<DateTime<Utc>> {
        let text = match event {
            Event::StasisStart(e) => &e.timestamp,
            Event::StasisEnd(e) => &e.timestamp,
            Event::ChannelCreated(e) => &e.timestamp,
            Event::ChannelDestroyed(e) => &e.timestamp,
            Event::ChannelStateChange(e) => &e.timestamp,
            Event::ChannelEnteredBridge(e) => &e.timestamp,
            Event::ChannelLeftBridge(e) => &e.timestamp,
            Event::ChannelHangupRequest(e) => &e.timestamp,
            Event::ChannelVarset(e) => &e.timestamp,
            Event::ChannelDtmfReceived(e) => &e.timestamp,
            Event::ChannelHold(e) => &e.timestamp,
            Event::ChannelUnhold(e) => &e.timestamp,
            Event::Dial(e) => &e.timestamp,
            Event::RecordingStarted(e) => &e.timestamp,
            Event::RecordingFinished(e) => &e.timestamp,
            Event::RecordingFailed(e) => &e.timestamp,
            _ => return None,
        };
        parse_time(text)
    }

    /// What the translator knows of a channel (for the provider's call control).
    pub(crate) fn channel(&self, channel: &str) -> Option<&ChannelInfo> {
        self.channels.get(channel)
    }

    /// The channel's entry, made (and counted against the bound) when new.
    pub(crate) fn entry(&mut self, channel: &str) -> &mut ChannelInfo {
        if !self.channels.contains_key(channel) {
            self.admit(channel);
        }
        self.channels.entry(channel.to_owned()).or_default()
    }

    /// Makes room for one more channel and notes its arrival.
    fn admit(&mut self, channel: &str) {
        while self.channels.len() >= self.max_channels {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if self.channels.remove(&oldest).is_some() {
                self.evicted = self.evicted.saturating_add(1);
            }
        }
        self.order.push_back(channel.to_owned());
        // Ids of channels already forgotten pile up in `order`; drop them once they
        // outnumber the live ones, so the queue stays within twice the bound.
        if self.order.len() > self.max_channels.saturating_mul(2) {
            let channels = &self.channels;
            self.order.retain(|c| channels.contains_key(c));
        }
    }
}
