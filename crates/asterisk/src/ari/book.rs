//! What the provider knows about its channels, calls and bridges, and the translation of ARI
//! events into leg events and into the call-control steps they trigger.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::facts::{failed_dial, local_pair_of};
use chrono::{DateTime, Utc};
use hookflash_ari::{Channel, Event};
use hookflash_provider::{
    CallId, Correlation, DialOutcome, DtmfDirection, HangupCause, HangupSide, LegEvent,
    LegEventKind, LegId, LegRole,
};

/// The first `appArgs` word of each leg the provider puts into Stasis.
pub(super) const ARG_AGENT: &str = "agent";
pub(super) const ARG_CUSTOMER: &str = "customer";
pub(super) const ARG_TARGET: &str = "target";

#[derive(Debug, Default)]
pub(super) struct ChannelInfo {
    pub(super) call_id: Option<CallId>,
    pub(super) role: Option<LegRole>,
    pub(super) name: Option<String>,
    pub(super) created: bool,
    pub(super) remote_hangup: bool,
    pub(super) destroyed: bool,
    /// Created by the provider with a chosen id (it is in the application from the start).
    pub(super) staged: bool,
    /// The application was subscribed to it explicitly.
    pub(super) subscribed: bool,
}

/// The customer half of a call, kept until the agent answers.
#[derive(Debug, Clone)]
pub(super) struct CustomerPlan {
    pub(super) number: String,
    pub(super) ring_timeout: Duration,
    pub(super) caller_id: Option<String>,
    pub(super) variables: serde_json::Map<String, serde_json::Value>,
    /// The trunk of this call when not the configured one.
    pub(super) trunk: Option<String>,
    pub(super) record: bool,
}

#[derive(Debug, Default)]
pub(super) struct CallCtl {
    /// The leg acting as the agent (a completed attended transfer hands it to the target).
    pub(super) agent: Option<String>,
    pub(super) customer: Option<String>,
    pub(super) bridge: Option<String>,
    pub(super) customer_plan: Option<CustomerPlan>,
    pub(super) customer_in_bridge: bool,
    pub(super) customer_dialled: bool,
    /// The customer left our control on purpose (blind transfer, park): its end ends nothing.
    pub(super) released: bool,
    pub(super) consult: Option<Consult>,
}

/// An attended transfer in progress.
#[derive(Debug, Clone)]
pub(super) struct Consult {
    pub(super) id: String,
    pub(super) bridge: String,
    pub(super) target: String,
    pub(super) destination: String,
}

/// A call-control step an event calls for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    /// The agent answered: make the call's bridge, put the agent in, place the customer.
    AgentAnswered { call_id: CallId, agent: String },
    /// Dial a customer leg made with `channels/create`.
    Dial { channel: String, timeout_secs: i64 },
    /// Put a channel into a bridge.
    AddToBridge { bridge: String, channel: String },
    /// Hang a channel up (normal clearing).
    Hangup { channel: String },
    /// Destroy a bridge.
    DestroyBridge { bridge: String },
    /// Start the call's recording (the originate asked for it).
    Record { call_id: CallId, leg: String },
    /// Subscribe the application to a channel it did not create (one our leg dialled after
    /// leaving Stasis), so that its end is seen.
    Subscribe { channel: String },
}

/// The provider's memory.
#[derive(Debug, Default)]
pub(super) struct Book {
    pub(super) channels: HashMap<String, ChannelInfo>,
    pub(super) calls: HashMap<CallId, CallCtl>,
    pub(super) bridges: HashMap<String, CallId>,
    /// Recording name → the leg its events are reported on.
    pub(super) recordings: HashMap<String, String>,
    /// Asterisk's clock: the latest event time seen, and when it was seen here.
    clock: Option<(DateTime<Utc>, Instant)>,
}

/// ARI timestamps look like `2026-11-22T02:48:25.205+0000`.
pub(super) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The `timestamp` of the events that move calls along (the clock needs no others).
fn event_time(event: &Event) -> Option<DateTime<Utc>> {
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
        _ => return None,
    };
    parse_time(text)
}

fn leg_id(id: &str) -> Option<LegId> {
    LegId::new(id).ok()
}

/// `PJSIP/agent1001-0000026e` → `PJSIP/agent1001`.
pub(super) fn endpoint_of(name: &str) -> String {
    match name.rsplit_once('-') {
        Some((ep, seq)) if !seq.is_empty() && seq.chars().all(|c| c.is_ascii_hexdigit()) => {
            ep.to_owned()
        }
        _ => name.to_owned(),
    }
}

fn role_of_arg(arg: &str) -> Option<LegRole> {
    match arg {
        ARG_AGENT => Some(LegRole::Agent),
        ARG_CUSTOMER => Some(LegRole::Customer),
        ARG_TARGET => Some(LegRole::SecondAgent),
        _ => None,
    }
}

fn cause(code: i64, text: Option<&str>) -> HangupCause {
    let code = u16::try_from(code).unwrap_or(0);
    match text {
        Some(t) if !t.is_empty() => HangupCause {
            code,
            text: t.to_owned(),
        },
        _ => HangupCause::from_code(code),
    }
}

impl Book {
    /// Registers a leg the provider is about to create with a chosen id (stage-then-execute),
    /// so its very first event is attributed to the call.
    pub(super) fn stage(&mut self, channel: &str, call_id: CallId, role: LegRole) {
        let info = self.channels.entry(channel.to_owned()).or_default();
        info.call_id = Some(call_id);
        info.role = Some(role);
        info.staged = true;
    }

    /// The correlation keys of a channel.
    pub(super) fn keys(&self, channel: &str) -> Correlation {
        let info = self.channels.get(channel);
        let name = info.and_then(|i| i.name.clone());
        Correlation {
            call_id: info.and_then(|i| i.call_id),
            linkedid: None,
            local_pair: name.as_deref().and_then(local_pair_of).map(str::to_owned),
            channel: name,
            peer: None,
        }
    }

    /// Now on Asterisk's clock: the latest event time plus the time since it arrived, so
    /// events the provider reports itself sort correctly among Asterisk's own even when the
    /// clocks differ (or a recorded session is replayed).
    pub(super) fn now(&self) -> DateTime<Utc> {
        match self.clock {
            Some((at, seen)) => {
                at + chrono::TimeDelta::from_std(seen.elapsed()).unwrap_or_default()
            }
            None => Utc::now(),
        }
    }

    fn tick(&mut self, event: &Event) {
        let Some(at) = event_time(event) else { return };
        if self.clock.is_none_or(|(t, _)| at >= t) {
            self.clock = Some((at, Instant::now()));
        }
    }

    /// A leg event about `channel` now (for effects ARI reports no event for).
    pub(super) fn event(&self, channel: &str, kind: LegEventKind) -> Option<LegEvent> {
        Some(LegEvent {
            leg: leg_id(channel)?,
            at: self.now(),
            keys: self.keys(channel),
            kind,
        })
    }

    /// Notes what a channel snapshot tells (name, call id from args), and emits `Created` the
    /// first time the channel is seen.
    fn see(&mut self, ch: &Channel, at: DateTime<Utc>, out: &mut Vec<LegEvent>) {
        let info = self.channels.entry(ch.id.clone()).or_default();
        info.name = Some(ch.name.clone());
        if info.created {
            return;
        }
        info.created = true;
        let role = info.role;
        let call_id = info.call_id;
        let called = match (role, call_id) {
            (Some(LegRole::Customer), Some(id)) => self
                .calls
                .get(&id)
                .and_then(|c| c.customer_plan.as_ref())
                .map(|p| p.number.clone()),
            _ => None,
        };
        let caller = (!ch.caller.number.is_empty()).then(|| ch.caller.number.clone());
        let kind = LegEventKind::Created {
            role,
            endpoint: Some(endpoint_of(&ch.name)),
            caller_number: caller,
            called_number: called,
        };
        self.push(&ch.id, at, kind, out);
    }

    fn push(&self, channel: &str, at: DateTime<Utc>, kind: LegEventKind, out: &mut Vec<LegEvent>) {
        if let Some(leg) = leg_id(channel) {
            out.push(LegEvent {
                leg,
                at,
                keys: self.keys(channel),
                kind,
            });
        }
    }

    /// The leg events an ARI event means.
    pub(super) fn translate(&mut self, event: &Event) -> Vec<LegEvent> {
        self.tick(event);
        let mut out = Vec::new();
        match event {
            Event::StasisStart(e) => {
                let at = parse_time(&e.timestamp).unwrap_or_else(Utc::now);
                let role = e.args.first().and_then(|a| role_of_arg(a));
                let call_id = e.args.get(1).and_then(|a| a.parse::<CallId>().ok());
                let info = self.channels.entry(e.channel.id.clone()).or_default();
                if info.role.is_none() {
                    info.role = role;
                }
                if info.call_id.is_none() {
                    info.call_id = call_id;
                }
                self.see(&e.channel, at, &mut out);
            }
            Event::ChannelCreated(e) => {
                let at = parse_time(&e.timestamp).unwrap_or_else(Utc::now);
                self.see(&e.channel, at, &mut out);
            }
            Event::Dial(e) => {
                let at = parse_time(&e.timestamp).unwrap_or_else(Utc::now);
                if let Some(caller) = &e.caller {
                    // A leg of ours dialling a new one (after `continue`): the new leg belongs to
                    // the same call.
                    let call = self.channels.get(&caller.id).and_then(|i| i.call_id);
                    let peer = self.channels.entry(e.peer.id.clone()).or_default();
                    if peer.call_id.is_none() {
                        peer.call_id = call;
                        peer.role = Some(LegRole::SecondAgent);
                    }
                }
                self.see(&e.peer, at, &mut out);
                if let Some(caller) = &e.caller
                    && e.dialstatus.is_empty()
                {
                    self.see(caller, at, &mut out);
                    let kind = LegEventKind::Dialing {
                        target: leg_id(&e.peer.id),
                        destination: e.dialstring.clone(),
                    };
                    self.push(&caller.id, at, kind, &mut out);
                }
                let caller = e.caller.as_ref().and_then(|c| leg_id(&c.id));
                match e.dialstatus.as_str() {
                    "RINGING" => self.push(&e.peer.id, at, LegEventKind::Ringing, &mut out),
                    status => {
                        if let Some(status) = DialOutcome::parse(status) {
                            let kind = LegEventKind::DialResult { status, caller };
                            self.push(&e.peer.id, at, kind, &mut out);
                        }
                    }
                }
            }
            Event::ChannelStateChange(e) => {
                let at = parse_time(&e.timestamp).unwrap_or_else(Utc::now);
                self.see(&e.channel, at, &mut out);
                match e.channel.state.as_str() {
                    "Ringing" => self.push(&e.channel.id, at, LegEventKind::Ringing, &mut out),
                    "Up" => self.push(&e.channel.id, at, LegEventKind::Answered, &mut out),
                    _ => {}
                }
            }
            Event::ChannelEnteredBridge(e) => {
                if let Some(ch) = &e.channel {
                    let at = parse_time(&e.timestamp).unwrap_or_else(Utc::now);
                    self.see(ch, at, &mut out);
                    let with = e
                        .bridge
                        .channels
                        .iter()
                        .find(|c| **c != ch.id)
                        .and_then(|c| leg_id(c));
                    let kind = LegEventKind::Bridged {
                        bridge: e.bridge.id.clone(),
                        with,
                    };
                    self.push(&ch.id, at, kind, &mut out);
                }
            }
            Event::ChannelLeftBridge(e) => {
                let at = parse_time(&e.timestamp).unwrap_or_else(Utc::now);
                let kind = LegEventKind::Unbridged {
                    bridge: e.bridge.id.clone(),
                };
                self.push(&e.channel.id, at, kind, &mut out);
            }
            Event::ChannelHold(e) => {
                let at = parse_time(&e.timestamp).unwrap_or_else(Utc::now);
                self.push(&e.channel.id, at, LegEventKind::Held, &mut out);
            }
            Event::ChannelUnhold(e) => {
                let at = parse_time(&e.timestamp).unwrap_or_else(Utc::now);
                self.push(&e.channel.id, at, LegEventKind::Unheld, &mut out);
            }
            Event::ChannelDtmfReceived(e) => {
                let at = parse_time(&e.timestamp).unwrap_or_else(Utc::now);
                if let Some(digit) = e.digit.chars().next() {
                    let kind = LegEventKind::Dtmf {
                        digit,
                        direction: DtmfDirection::Received,
                        duration_ms: u32::try_from(e.duration_ms).ok(),
                    };
                    self.push(&e.channel.id, at, kind, &mut out);
                }
            }
            Event::ChannelHangupRequest(e) => {
                let at = parse_time(&e.timestamp).unwrap_or_else(Utc::now);
                // `soft` marks a hangup asked by Asterisk or an application (our DELETE); a
                // request without it comes from the leg's own side (a BYE, a 486).
                let side = if e.soft == Some(true) {
                    HangupSide::Local
                } else {
                    HangupSide::Remote
                };
                let info = self.channels.entry(e.channel.id.clone()).or_default();
                if side == HangupSide::Remote {
                    info.remote_hangup = true;
                }
                let kind = LegEventKind::HangupRequested {
                    side,
                    cause: e.cause.map(|c| cause(c, None)),
                };
                self.push(&e.channel.id, at, kind, &mut out);
            }
            Event::ChannelDestroyed(e) => {
                let at = parse_time(&e.timestamp).unwrap_or_else(Utc::now);
                self.see(&e.channel, at, &mut out);
                let info = self.channels.entry(e.channel.id.clone()).or_default();
                info.destroyed = true;
                let side = if info.remote_hangup {
                    HangupSide::Remote
                } else {
                    HangupSide::Local
                };
                let kind = LegEventKind::HungUp {
                    cause: cause(e.cause, Some(&e.cause_txt)),
                    side,
                };
                self.push(&e.channel.id, at, kind, &mut out);
            }
            Event::ChannelVarset(e) => {
                if let Some(ch) = &e.channel
                    && e.variable == "DIALSTATUS"
                {
                    // The dialling leg's word on a dial that reached nobody.
                    if let Some(status) = failed_dial(&e.value) {
                        let at = parse_time(&e.timestamp).unwrap_or_else(Utc::now);
                        let kind = LegEventKind::DialFailed { status };
                        self.push(&ch.id, at, kind, &mut out);
                    }
                } else if let Some(ch) = &e.channel
                    && (e.variable.starts_with("HOOKFLASH_") || e.variable.starts_with("PARK"))
                {
                    let at = parse_time(&e.timestamp).unwrap_or_else(Utc::now);
                    if e.variable == hookflash_provider::CALL_ID_VARIABLE
                        && let Ok(id) = e.value.parse::<CallId>()
                    {
                        self.channels
                            .entry(ch.id.clone())
                            .or_default()
                            .call_id
                            .get_or_insert(id);
                    }
                    let kind = LegEventKind::VariableSet {
                        name: e.variable.clone(),
                        value: e.value.clone(),
                    };
                    self.push(&ch.id, at, kind, &mut out);
                }
            }
            Event::RecordingStarted(e) => {
                let at = parse_time(&e.timestamp).unwrap_or_else(Utc::now);
                if let Some(leg) = self.recording_leg(&e.recording.name, &e.recording.target_uri) {
                    let kind = LegEventKind::RecordingStarted {
                        file: Some(e.recording.name.clone()),
                    };
                    self.push(&leg, at, kind, &mut out);
                }
            }
            Event::RecordingFinished(e) => {
                let at = parse_time(&e.timestamp).unwrap_or_else(Utc::now);
                self.recording_stopped(&e.recording.name, &e.recording.target_uri, at, &mut out);
            }
            Event::RecordingFailed(e) => {
                let at = parse_time(&e.timestamp).unwrap_or_else(Utc::now);
                self.recording_stopped(&e.recording.name, &e.recording.target_uri, at, &mut out);
            }
            _ => {}
        }
        out
    }

    fn recording_stopped(
        &mut self,
        name: &str,
        target: &str,
        at: DateTime<Utc>,
        out: &mut Vec<LegEvent>,
    ) {
        if let Some(leg) = self.recording_leg(name, target) {
            let kind = LegEventKind::RecordingStopped {
                file: Some(name.to_owned()),
            };
            self.push(&leg, at, kind, out);
        }
        self.recordings.remove(name);
    }

    /// The leg a recording's events are reported on: the one it was started for, else the
    /// recorded channel, else the agent of the recorded bridge's call.
    fn recording_leg(&self, name: &str, target_uri: &str) -> Option<String> {
        if let Some(leg) = self.recordings.get(name) {
            return Some(leg.clone());
        }
        match target_uri.split_once(':') {
            Some(("channel", id)) => Some(id.to_owned()),
            Some(("bridge", id)) => {
                let call = self.bridges.get(id)?;
                let ctl = self.calls.get(call)?;
                ctl.agent.clone().or_else(|| ctl.customer.clone())
            }
            _ => None,
        }
    }

    /// The call-control steps an event calls for, with the book updated as if they were done.
    pub(super) fn steps(&mut self, event: &Event) -> Vec<Step> {
        let mut steps = Vec::new();
        match event {
            Event::StasisStart(e) => {
                let id = &e.channel.id;
                let Some(info) = self.channels.get(id) else {
                    return steps;
                };
                let (Some(call_id), Some(role)) = (info.call_id, info.role) else {
                    return steps;
                };
                let Some(call) = self.calls.get_mut(&call_id) else {
                    return steps;
                };
                match role {
                    LegRole::Agent
                        if call.agent.as_deref() == Some(id) && call.bridge.is_none() =>
                    {
                        steps.push(Step::AgentAnswered {
                            call_id,
                            agent: id.clone(),
                        });
                    }
                    LegRole::Customer if call.customer.as_deref() == Some(id) => {
                        if e.channel.state == "Up" {
                            Self::customer_up(call, id, call_id, &mut steps);
                        } else if !call.customer_dialled {
                            call.customer_dialled = true;
                            let timeout = call.customer_plan.as_ref().map_or(30, |p| {
                                i64::try_from(p.ring_timeout.as_secs()).unwrap_or(30)
                            });
                            steps.push(Step::Dial {
                                channel: id.clone(),
                                timeout_secs: timeout,
                            });
                        }
                    }
                    LegRole::SecondAgent => {
                        if let Some(consult) = &call.consult
                            && consult.target == *id
                        {
                            steps.push(Step::AddToBridge {
                                bridge: consult.bridge.clone(),
                                channel: id.clone(),
                            });
                        }
                    }
                    _ => {}
                }
            }
            Event::Dial(e) => {
                let ours = e
                    .caller
                    .as_ref()
                    .and_then(|c| self.channels.get(&c.id))
                    .is_some_and(|i| i.call_id.is_some());
                if let Some(peer) = self.channels.get_mut(&e.peer.id)
                    && ours
                    && !peer.staged
                    && !peer.subscribed
                {
                    peer.subscribed = true;
                    steps.push(Step::Subscribe {
                        channel: e.peer.id.clone(),
                    });
                }
            }
            Event::ChannelStateChange(e) if e.channel.state == "Up" => {
                let id = &e.channel.id;
                let Some(call_id) = self.channels.get(id).and_then(|i| i.call_id) else {
                    return steps;
                };
                if let Some(call) = self.calls.get_mut(&call_id)
                    && call.customer.as_deref() == Some(id)
                    && call.customer_dialled
                {
                    Self::customer_up(call, id, call_id, &mut steps);
                }
            }
            Event::ChannelDestroyed(e) => {
                let id = &e.channel.id;
                let Some(call_id) = self.channels.get(id).and_then(|i| i.call_id) else {
                    // Not part of any call of ours: nothing more will be asked about it.
                    self.channels.remove(id);
                    return steps;
                };
                let Some(call) = self.calls.get(&call_id) else {
                    self.forget_if_over(call_id);
                    return steps;
                };
                let is_agent = call.agent.as_deref() == Some(id);
                let is_customer = call.customer.as_deref() == Some(id);
                let alive = |c: &Option<String>| {
                    c.as_ref()
                        .filter(|c| self.channels.get(*c).is_none_or(|i| !i.destroyed))
                        .cloned()
                };
                if (is_customer && !call.released) || is_agent {
                    // One party gone: the call is over for the other one too.
                    let other = if is_agent {
                        alive(&call.customer).filter(|_| !call.released)
                    } else {
                        alive(&call.agent)
                    };
                    if let Some(other) = other {
                        steps.push(Step::Hangup { channel: other });
                    }
                    if let Some(consult) = &call.consult
                        && let Some(t) = alive(&Some(consult.target.clone()))
                    {
                        steps.push(Step::Hangup { channel: t });
                    }
                }
                let all_gone = alive(&call.agent).is_none()
                    && (call.released || alive(&call.customer).is_none());
                if all_gone {
                    let mut bridges: Vec<String> = call.bridge.iter().cloned().collect();
                    bridges.extend(call.consult.as_ref().map(|c| c.bridge.clone()));
                    if let Some(call) = self.calls.get_mut(&call_id) {
                        call.bridge = None;
                        call.consult = None;
                    }
                    for bridge in bridges {
                        self.bridges.remove(&bridge);
                        steps.push(Step::DestroyBridge { bridge });
                    }
                }
                self.forget_if_over(call_id);
            }
            _ => {}
        }
        steps
    }

    /// Drops a call and its channels once every channel of it is gone and nothing of it is
    /// left to tear down, so a long-running provider does not grow.
    fn forget_if_over(&mut self, call_id: CallId) {
        let busy = self.calls.get(&call_id).is_some_and(|c| {
            c.consult.is_some() || c.bridge.is_some() || (c.agent.is_none() && c.customer.is_none())
        });
        let live = self
            .channels
            .values()
            .any(|i| i.call_id == Some(call_id) && !i.destroyed);
        if busy || live {
            return;
        }
        self.calls.remove(&call_id);
        self.channels.retain(|_, i| i.call_id != Some(call_id));
        self.bridges.retain(|_, c| *c != call_id);
    }

    fn customer_up(call: &mut CallCtl, id: &str, call_id: CallId, steps: &mut Vec<Step>) {
        if call.customer_in_bridge {
            return;
        }
        let Some(bridge) = call.bridge.clone() else {
            return;
        };
        call.customer_in_bridge = true;
        steps.push(Step::AddToBridge {
            bridge,
            channel: id.to_owned(),
        });
        if call.customer_plan.as_ref().is_some_and(|p| p.record) {
            steps.push(Step::Record {
                call_id,
                leg: id.to_owned(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_drop_the_channel_sequence() {
        assert_eq!(endpoint_of("PJSIP/agent1001-0000026e"), "PJSIP/agent1001");
        assert_eq!(endpoint_of("PJSIP/trunk-0000026f"), "PJSIP/trunk");
        assert_eq!(
            endpoint_of("Local/1002@hookflash-transfer-00000000;1"),
            "Local/1002@hookflash-transfer-00000000;1"
        );
    }

    fn fixture_events(name: &str) -> Vec<Event> {
        let path = format!(
            "{}/../../testdata/asterisk-22/ari/{name}.jsonl",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["kind"] == "ws")
            .map(|v| Event::from_value(v["message"].clone()).unwrap())
            .collect()
    }

    fn kinds(book: &mut Book, events: &[Event]) -> Vec<LegEventKind> {
        events
            .iter()
            .flat_map(|e| book.translate(e))
            .map(|e| e.kind)
            .filter(|k| !matches!(k, LegEventKind::VariableSet { .. }))
            .collect()
    }

    #[test]
    fn a_busy_customer_is_a_remote_hangup_with_cause_17() {
        let mut book = Book::default();
        let call: CallId = "ac76f9c6-1a13-49f8-a3d9-8519246b0832".parse().unwrap();
        book.stage("1795315734.632", call, LegRole::Customer);
        let kinds = kinds(&mut book, &fixture_events("ari-dial-busy"));
        let busy = HangupCause {
            code: 17,
            text: "User busy".to_owned(),
        };
        assert!(matches!(
            kinds[0],
            LegEventKind::Created {
                role: Some(LegRole::Customer),
                ..
            }
        ));
        assert_eq!(
            kinds[1..],
            [
                LegEventKind::HangupRequested {
                    side: HangupSide::Remote,
                    cause: Some(HangupCause::from_code(17)),
                },
                LegEventKind::HungUp {
                    cause: busy,
                    side: HangupSide::Remote,
                },
            ]
        );
    }

    /// The bridge the provider made for the call (its recording is reported on the agent).
    fn own_bridge(book: &mut Book, call: CallId) {
        let bridge = "e29d81f1-5064-443d-bddd-fb6a7496ccee".to_owned();
        book.bridges.insert(bridge.clone(), call);
        book.calls.insert(
            call,
            CallCtl {
                agent: Some("1795315704.624".to_owned()),
                bridge: Some(bridge),
                ..CallCtl::default()
            },
        );
    }

    #[test]
    fn agent_first_bridge_events_translate_in_order() {
        let mut book = Book::default();
        let call: CallId = "5af92377-4fc6-49f3-8582-8f3d5f62c1f0".parse().unwrap();
        book.stage("1795315704.624", call, LegRole::Agent);
        book.stage("1795315705.625", call, LegRole::Customer);
        own_bridge(&mut book, call);
        let events = fixture_events("ari-agent-first-bridge");
        let names: Vec<&str> = kinds(&mut book, &events)
            .iter()
            .map(LegEventKind::name)
            .collect();
        assert_eq!(
            names,
            [
                "created",
                "ringing",
                "ringing",
                "answered",
                "dial_result", // agent
                "bridged",     // agent enters the bridge
                "created",
                "ringing",
                "ringing",
                "answered",
                "dial_result", // customer
                "bridged",
                "recording_started",
                "recording_stopped",
                "hangup_requested",
                "unbridged",
                "hung_up", // the customer hangs up
                "hangup_requested",
                "unbridged",
                "hung_up", // the provider ends the agent
            ]
        );
        // The customer's BYE is remote, the provider's DELETE of the agent is soft.
        let all: Vec<LegEvent> = {
            let mut b = Book::default();
            b.stage("1795315704.624", call, LegRole::Agent);
            b.stage("1795315705.625", call, LegRole::Customer);
            own_bridge(&mut b, call);
            events.iter().flat_map(|e| b.translate(e)).collect()
        };
        let sides: Vec<(String, HangupSide)> = all
            .iter()
            .filter_map(|e| match &e.kind {
                LegEventKind::HangupRequested { side, .. } => Some((e.leg.to_string(), *side)),
                _ => None,
            })
            .collect();
        assert_eq!(
            sides,
            [
                ("1795315705.625".to_owned(), HangupSide::Remote),
                ("1795315704.624".to_owned(), HangupSide::Local),
            ]
        );
        assert!(all.iter().all(|e| e.keys.call_id == Some(call)));
    }

    #[test]
    fn a_finished_call_is_forgotten() {
        let mut book = Book::default();
        let call: CallId = "5af92377-4fc6-49f3-8582-8f3d5f62c1f0".parse().unwrap();
        book.stage("1795315704.624", call, LegRole::Agent);
        book.stage("1795315705.625", call, LegRole::Customer);
        own_bridge(&mut book, call);
        if let Some(c) = book.calls.get_mut(&call) {
            c.customer = Some("1795315705.625".to_owned());
        }
        let mut steps = Vec::new();
        for e in fixture_events("ari-agent-first-bridge") {
            book.translate(&e);
            steps.extend(book.steps(&e));
        }
        // The customer's end hangs the agent up; the agent's end destroys the bridge.
        assert!(steps.contains(&Step::Hangup {
            channel: "1795315704.624".to_owned()
        }));
        assert_eq!(
            steps.last(),
            Some(&Step::DestroyBridge {
                bridge: "e29d81f1-5064-443d-bddd-fb6a7496ccee".to_owned()
            })
        );
        assert!(book.calls.is_empty() && book.channels.is_empty() && book.bridges.is_empty());
    }

    #[test]
    fn ari_timestamps_parse() {
        let t = parse_time("2026-11-22T02:48:25.205+0000").unwrap();
        assert_eq!(t.timestamp_millis() % 1000, 205);
    }
}
