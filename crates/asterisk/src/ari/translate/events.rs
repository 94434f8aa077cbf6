//! What each ARI event becomes.

use chrono::{DateTime, Utc};
use hookflash_ari::{Channel, Event};
use hookflash_provider::{
    CALL_ID_VARIABLE, CallId, DialOutcome, DtmfDirection, HangupCause, HangupSide, LegEvent,
    LegEventKind, LegRole,
};

use super::{ARG_AGENT, ARG_CUSTOMER, ARG_TARGET, AriTranslator, FirstSight, endpoint_of, leg_id};
use crate::facts::{HANGUP_BY_VARIABLE, failed_dial, hangup_ordered};

fn role_of_arg(arg: &str) -> Option<LegRole> {
    match arg {
        ARG_AGENT => Some(LegRole::Agent),
        ARG_CUSTOMER => Some(LegRole::Customer),
        ARG_TARGET => Some(LegRole::SecondAgent),
        _ => None,
    }
}

/// A Q.850 cause with Asterisk's text when it sent one.
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

impl AriTranslator {
    /// The leg events an ARI event means; `now` stands in for the event's own `timestamp`
    /// when it has none that parses. Events of channels that are part of no call yield none.
    pub fn on_event(&mut self, event: &Event, now: DateTime<Utc>) -> Vec<LegEvent> {
        let at = Self::event_time(event).unwrap_or(now);
        let mut out = Vec::new();
        match event {
            Event::StasisStart(e) => {
                let role = e.args.first().and_then(|a| role_of_arg(a));
                let call_id = e.args.get(1).and_then(|a| a.parse::<CallId>().ok());
                self.first_sight(&e.channel, at);
                let info = self.entry(&e.channel.id);
                info.tracked = true;
                if info.role.is_none() {
                    info.role = role;
                }
                if info.call_id.is_none() {
                    info.call_id = call_id;
                }
                self.see(&e.channel, at, &mut out);
            }
            Event::ChannelCreated(e) => self.see(&e.channel, at, &mut out),
            Event::Dial(e) => self.dial(e, at, &mut out),
            Event::ChannelStateChange(e) => {
                self.see(&e.channel, at, &mut out);
                match e.channel.state.as_str() {
                    "Ringing" => self.push(&e.channel.id, at, LegEventKind::Ringing, &mut out),
                    "Up" => self.push(&e.channel.id, at, LegEventKind::Answered, &mut out),
                    _ => {}
                }
            }
            Event::ChannelEnteredBridge(e) => {
                if let Some(ch) = &e.channel {
                    self.see(ch, at, &mut out);
                    if self.is_tracked(&ch.id) {
                        let members: Vec<String> = e
                            .bridge
                            .channels
                            .iter()
                            .filter(|c| self.is_tracked(c))
                            .cloned()
                            .collect();
                        self.bridges.insert(e.bridge.id.clone(), members);
                    }
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
                if let Some(members) = self.bridges.get_mut(&e.bridge.id) {
                    members.retain(|c| *c != e.channel.id);
                    if members.is_empty() {
                        self.bridges.remove(&e.bridge.id);
                    }
                }
                let kind = LegEventKind::Unbridged {
                    bridge: e.bridge.id.clone(),
                };
                self.push(&e.channel.id, at, kind, &mut out);
            }
            Event::BridgeDestroyed(e) => {
                self.bridges.remove(&e.bridge.id);
            }
            Event::ChannelHold(e) => self.push(&e.channel.id, at, LegEventKind::Held, &mut out),
            Event::ChannelUnhold(e) => {
                self.push(&e.channel.id, at, LegEventKind::Unheld, &mut out);
            }
            Event::ChannelDtmfReceived(e) => {
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
                // `soft` marks a hangup asked by Asterisk or an application (our DELETE); a
                // request without it comes from the leg's own side (a BYE, a 486).
                let side = if e.soft == Some(true) {
                    HangupSide::Local
                } else {
                    HangupSide::Remote
                };
                if side == HangupSide::Remote
                    && let Some(info) = self.channels.get_mut(&e.channel.id)
                {
                    info.remote_hangup = true;
                }
                let kind = LegEventKind::HangupRequested {
                    side,
                    cause: e.cause.map(|c| cause(c, None)),
                };
                self.push(&e.channel.id, at, kind, &mut out);
            }
            Event::ChannelDestroyed(e) => {
                self.see(&e.channel, at, &mut out);
                let info = self.entry(&e.channel.id);
                info.destroyed = true;
                let side = if info.remote_hangup {
                    HangupSide::Remote
                } else {
                    HangupSide::Local
                };
                let keep = info.call_id.is_some();
                let kind = LegEventKind::HungUp {
                    cause: cause(e.cause, Some(&e.cause_txt)),
                    side,
                };
                self.push(&e.channel.id, at, kind, &mut out);
                // The provider still needs a leg of our calls (its teardown asks whether the
                // other party is gone); nothing asks about any other channel any more.
                if !keep {
                    self.channels.remove(&e.channel.id);
                }
            }
            Event::ChannelVarset(e) => self.varset(e, at, &mut out),
            Event::RecordingStarted(e) => {
                if let Some(leg) = self.recording_leg(&e.recording.name, &e.recording.target_uri) {
                    let kind = LegEventKind::RecordingStarted {
                        file: Some(e.recording.name.clone()),
                    };
                    self.push(&leg, at, kind, &mut out);
                }
            }
            Event::RecordingFinished(e) => {
                self.recording_stopped(&e.recording.name, &e.recording.target_uri, at, &mut out);
            }
            Event::RecordingFailed(e) => {
                self.recording_stopped(&e.recording.name, &e.recording.target_uri, at, &mut out);
            }
            _ => {}
        }
        out
    }

    fn is_tracked(&self, channel: &str) -> bool {
        self.channels.get(channel).is_some_and(|i| i.tracked)
    }

    /// Notes how a channel looked when first seen; a channel first seen in an inbound context
    /// starts an inbound call.
    fn first_sight(&mut self, ch: &Channel, at: DateTime<Utc>) {
        let known = self.channels.contains_key(&ch.id);
        let inbound = !known && self.inbound_contexts.contains(&ch.dialplan.context);
        let info = self.entry(&ch.id);
        if info.first.is_some() || info.created {
            return;
        }
        info.first = Some(FirstSight {
            at,
            endpoint: endpoint_of(&ch.name),
            caller_number: (!ch.caller.number.is_empty()).then(|| ch.caller.number.clone()),
        });
        if inbound && info.call_id.is_none() {
            info.tracked = true;
            info.conversation = Some(ch.id.clone());
            info.role = Some(LegRole::Customer);
            let exten = &ch.dialplan.exten;
            if !exten.is_empty() && exten != "s" {
                info.called_number = Some(exten.clone());
            }
        }
    }

    /// Learns what a channel snapshot tells (its name), and reports `Created` the first time
    /// a channel that is part of a call is seen.
    fn see(&mut self, ch: &Channel, at: DateTime<Utc>, out: &mut Vec<LegEvent>) {
        self.first_sight(ch, at);
        let info = self.entry(&ch.id);
        info.name = Some(ch.name.clone());
        if info.created || !info.tracked {
            return;
        }
        info.created = true;
        let first = info.first.take();
        let kind = LegEventKind::Created {
            role: info.role,
            endpoint: Some(
                first
                    .as_ref()
                    .map_or_else(|| endpoint_of(&ch.name), |f| f.endpoint.clone()),
            ),
            caller_number: first.as_ref().and_then(|f| f.caller_number.clone()),
            called_number: info.called_number.clone(),
        };
        let at = first.map_or(at, |f| f.at);
        self.push(&ch.id, at, kind, out);
    }

    /// Reports `kind` on a channel that is part of a call.
    pub(crate) fn push(
        &self,
        channel: &str,
        at: DateTime<Utc>,
        kind: LegEventKind,
        out: &mut Vec<LegEvent>,
    ) {
        if !self.is_tracked(channel) {
            return;
        }
        if let Some(leg) = leg_id(channel) {
            out.push(LegEvent {
                leg,
                at,
                keys: self.keys(channel),
                kind,
            });
        }
    }

    fn dial(&mut self, e: &hookflash_ari::Dial, at: DateTime<Utc>, out: &mut Vec<LegEvent>) {
        if let Some(caller) = &e.caller {
            let from = self
                .channels
                .get(&caller.id)
                .filter(|i| i.tracked)
                .map(|i| (i.call_id, i.conversation.clone()));
            if let Some((call, conversation)) = from {
                self.first_sight(&e.peer, at);
                let peer = self.entry(&e.peer.id);
                peer.tracked = true;
                if peer.call_id.is_none() {
                    if call.is_some() {
                        // A leg of ours dialling a new one (after `continue`): the new leg
                        // belongs to the same call.
                        peer.call_id = call;
                        peer.role = Some(LegRole::SecondAgent);
                    } else if conversation.is_some() && peer.conversation.is_none() {
                        // An inbound call ringing its agents (a queue's members).
                        peer.conversation = conversation;
                        peer.role.get_or_insert(LegRole::Agent);
                    }
                }
            }
        }
        self.see(&e.peer, at, out);
        if let Some(caller) = &e.caller
            && e.dialstatus.is_empty()
        {
            self.see(caller, at, out);
            let kind = LegEventKind::Dialing {
                target: leg_id(&e.peer.id),
                destination: e.dialstring.clone(),
            };
            self.push(&caller.id, at, kind, out);
        }
        let caller = e.caller.as_ref().and_then(|c| leg_id(&c.id));
        match e.dialstatus.as_str() {
            "RINGING" => self.push(&e.peer.id, at, LegEventKind::Ringing, out),
            status => {
                if let Some(status) = DialOutcome::parse(status) {
                    let kind = LegEventKind::DialResult { status, caller };
                    self.push(&e.peer.id, at, kind, out);
                }
            }
        }
    }

    fn varset(
        &mut self,
        e: &hookflash_ari::ChannelVarset,
        at: DateTime<Utc>,
        out: &mut Vec<LegEvent>,
    ) {
        let Some(ch) = &e.channel else { return };
        if e.variable == "DIALSTATUS" {
            // The dialling leg's word on a dial that reached nobody.
            if let Some(status) = failed_dial(&e.value) {
                self.push(&ch.id, at, LegEventKind::DialFailed { status }, out);
            }
        } else if e.variable == HANGUP_BY_VARIABLE {
            // Who asked hookflash for this leg's hangup, stamped right before it.
            if let Some(kind) = hangup_ordered(&e.value) {
                self.push(&ch.id, at, kind, out);
            }
        } else if e.variable.starts_with("HOOKFLASH_") || e.variable.starts_with("PARK") {
            if e.variable == CALL_ID_VARIABLE
                && let Ok(id) = e.value.parse::<CallId>()
                && let Some(info) = self.channels.get_mut(&ch.id)
            {
                info.call_id.get_or_insert(id);
            }
            let kind = LegEventKind::VariableSet {
                name: e.variable.clone(),
                value: e.value.clone(),
            };
            self.push(&ch.id, at, kind, out);
        }
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
    /// recorded channel, else the agent (or else the customer) in the recorded bridge.
    fn recording_leg(&self, name: &str, target_uri: &str) -> Option<String> {
        if let Some(leg) = self.recordings.get(name) {
            return Some(leg.clone());
        }
        match target_uri.split_once(':') {
            Some(("channel", id)) => Some(id.to_owned()),
            Some(("bridge", id)) => {
                let members = self.bridges.get(id)?;
                let with_role = |role: LegRole| {
                    members
                        .iter()
                        .find(|c| self.channels.get(*c).and_then(|i| i.role) == Some(role))
                };
                with_role(LegRole::Agent)
                    .or_else(|| with_role(LegRole::Customer))
                    .or_else(|| members.first())
                    .cloned()
            }
            _ => None,
        }
    }
}
