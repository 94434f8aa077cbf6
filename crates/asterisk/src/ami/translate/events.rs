//! [`AmiTranslator::on_event`]: one AMI event in, the legs' neutral events out.

use chrono::{DateTime, Utc};
use hookflash_ami::{ChannelInfo, Event};

use super::wire::{endpoint_of, event_time, known, leg, local_exten, transfer_outcome};
use super::{AmiTranslator, OriginateKind, Pending};

use hookflash_provider::{
    CALL_ID_VARIABLE, CallId, DialOutcome, DtmfDirection, HangupCause, HangupSide, LegEvent,
    LegEventKind, LegRole, LegState, TransferKind, UnparkReason,
};

use crate::facts::{HANGUP_BY_VARIABLE, failed_dial, hangup_ordered};

impl AmiTranslator {
    /// Translates one AMI event. `now` is used when the event has no `Timestamp`.
    pub fn on_event(&mut self, event: &Event, now: DateTime<Utc>) -> Vec<LegEvent> {
        let at = event_time(event, now);
        let mut out = Vec::new();
        // Held events of channels a listing placed since go first, in their order.
        self.release(&mut out);
        match event {
            Event::Newchannel(e) => {
                let Some(info) = &e.channel else { return out };
                let known_before = info.uniqueid().is_some_and(|u| self.chans.contains_key(u));
                let Some(uid) = self.see(info, at) else {
                    return out;
                };
                if !known_before {
                    let name = info.channel().unwrap_or_default();
                    // A new group, or a new leg of a group seen from its start (or placed by
                    // a listing); a leg joining a call first seen mid-call waits with it.
                    let placed = match self.chans.get(&uid).and_then(|c| c.linkedid.clone()) {
                        Some(l) if l != uid => self.chans.get(&l).is_some_and(|h| h.placed),
                        _ => true,
                    };
                    if let Some(c) = self.chans.get_mut(&uid) {
                        c.created_at = at;
                        c.placed = placed;
                        c.pending = Some(Pending {
                            at,
                            endpoint: (!name.is_empty()).then(|| endpoint_of(name)),
                            caller_number: known(info.caller_id_num()).map(str::to_owned),
                            called_number: known(info.exten()).map(str::to_owned),
                        });
                    }
                }
            }
            Event::VarSet(e) => {
                let Some(uid) = e.channel.as_ref().and_then(|i| self.see(i, at)) else {
                    return out;
                };
                let name = e.variable.as_ref().map(|v| v.to_str_lossy().into_owned());
                let value = e
                    .value
                    .as_ref()
                    .map(|v| v.to_str_lossy().into_owned())
                    .unwrap_or_default();
                match name.as_deref() {
                    Some(CALL_ID_VARIABLE) => {
                        if let Ok(id) = value.parse::<CallId>() {
                            if let Some(c) = self.chans.get_mut(&uid) {
                                c.call_id = Some(id);
                                if let Some(l) = c.linkedid.clone() {
                                    self.linked_calls.entry(l).or_insert(id);
                                }
                            }
                            if self.originates.get(&id) != Some(&OriginateKind::ParkPickup) {
                                self.call_agent.entry(id).or_insert_with(|| uid.clone());
                            }
                        }
                    }
                    // MixMonitor's own word on where it writes: it wins over the name the
                    // provider asked for (a relative name lands in the monitor directory).
                    Some("MIXMONITOR_FILENAME") if !value.is_empty() => {
                        self.recordings.insert(uid, value);
                    }
                    Some("DIALSTATUS") => {
                        if let Some(status) = failed_dial(&value) {
                            let kind = LegEventKind::DialFailed { status };
                            self.emit(&uid, at, kind, &mut out);
                        }
                    }
                    // Who asked hookflash for this leg's hangup, stamped right before it.
                    Some(HANGUP_BY_VARIABLE) => {
                        if let Some(kind) = hangup_ordered(&value) {
                            self.emit(&uid, at, kind, &mut out);
                        }
                    }
                    Some(n @ "HOOKFLASH_TENANT_ID") if !value.is_empty() => {
                        let kind = LegEventKind::VariableSet {
                            name: n.to_owned(),
                            value,
                        };
                        self.emit(&uid, at, kind, &mut out);
                    }
                    _ => {}
                }
            }
            Event::Newstate(e) => {
                let Some(info) = &e.channel else { return out };
                let Some(uid) = self.see(info, at) else {
                    return out;
                };
                let state = match info.state() {
                    Some(5) => LegState::Ringing,
                    Some(6) => LegState::Up,
                    _ => return out,
                };
                let changed = self.chans.get_mut(&uid).is_some_and(|c| {
                    let changed = c.state != state;
                    c.state = state;
                    changed
                });
                if changed {
                    let kind = match state {
                        LegState::Up => LegEventKind::Answered,
                        _ => LegEventKind::Ringing,
                    };
                    self.emit(&uid, at, kind, &mut out);
                }
            }
            Event::Rename(e) => {
                let Some(uid) = e.channel.as_ref().and_then(|i| self.see(i, at)) else {
                    return out;
                };
                let Some(new_name) = e.new_name.as_ref().map(|n| n.to_str_lossy().into_owned())
                else {
                    return out;
                };
                if let Some(c) = self.chans.get_mut(&uid) {
                    self.by_name.remove(&c.name);
                    c.name = new_name.clone();
                }
                self.by_name.insert(new_name.clone(), uid.clone());
                self.emit(&uid, at, LegEventKind::Renamed { new_name }, &mut out);
            }
            Event::DialBegin(e) => self.dial_begin(e, at, &mut out),
            Event::DialEnd(e) => {
                let Some(dest) = e.dest.as_ref().and_then(|i| self.see(i, at)) else {
                    return out;
                };
                let caller = e.channel.as_ref().and_then(|i| self.see(i, at));
                let status = e
                    .dial_status
                    .as_ref()
                    .and_then(|s| DialOutcome::parse(&s.to_str_lossy()));
                if let Some(status) = status {
                    let kind = LegEventKind::DialResult {
                        status,
                        caller: caller.as_deref().and_then(leg),
                    };
                    self.emit(&dest, at, kind, &mut out);
                }
            }
            Event::OriginateResponse(e) => {
                let call = e
                    .action_id
                    .as_ref()
                    .and_then(|a| self.action_calls.remove(a.to_str_lossy().as_ref()));
                if let Some(call_id) = call {
                    out = self.on_originate_response(call_id, e, at);
                }
            }
            Event::BridgeEnter(e) => {
                let Some(uid) = e.channel.as_ref().and_then(|i| self.see(i, at)) else {
                    return out;
                };
                let Some(bridge) = e.bridge.as_ref().and_then(|b| b.uniqueid()) else {
                    return out;
                };
                let members = self.bridges.entry(bridge.to_owned()).or_default();
                let with = members.iter().find(|m| **m != uid).cloned();
                if !members.contains(&uid) {
                    members.push(uid.clone());
                }
                if let Some(c) = self.chans.get_mut(&uid) {
                    c.bridge = Some(bridge.to_owned());
                }
                let kind = LegEventKind::Bridged {
                    bridge: bridge.to_owned(),
                    with: with.as_deref().and_then(leg),
                };
                self.emit(&uid, at, kind, &mut out);
            }
            Event::BridgeLeave(e) => {
                let Some(uid) = e.channel.as_ref().and_then(|i| self.see(i, at)) else {
                    return out;
                };
                let Some(bridge) = e.bridge.as_ref().and_then(|b| b.uniqueid()) else {
                    return out;
                };
                self.leave_bridge(&uid, bridge);
                let kind = LegEventKind::Unbridged {
                    bridge: bridge.to_owned(),
                };
                self.emit(&uid, at, kind, &mut out);
            }
            Event::BridgeDestroy(e) => {
                if let Some(b) = e.bridge.as_ref().and_then(|b| b.uniqueid()) {
                    self.bridges.remove(b);
                }
            }
            Event::Hold(e) => {
                if let Some(uid) = e.channel.as_ref().and_then(|i| self.see(i, at)) {
                    self.emit(&uid, at, LegEventKind::Held, &mut out);
                }
            }
            Event::Unhold(e) => {
                if let Some(uid) = e.channel.as_ref().and_then(|i| self.see(i, at)) {
                    self.emit(&uid, at, LegEventKind::Unheld, &mut out);
                }
            }
            Event::MusicOnHoldStart(e) => {
                if let Some(uid) = e.channel.as_ref().and_then(|i| self.see(i, at))
                    && self.held.iter().any(|h| h.held == uid)
                {
                    self.emit(&uid, at, LegEventKind::Held, &mut out);
                }
            }
            Event::MusicOnHoldStop(e) => {
                if let Some(uid) = e.channel.as_ref().and_then(|i| self.see(i, at))
                    && self.held.iter().any(|h| h.held == uid)
                {
                    self.emit(&uid, at, LegEventKind::Unheld, &mut out);
                    self.held.retain(|h| h.held != uid);
                }
            }
            Event::BlindTransfer(e) => {
                let Some(uid) = e.transferee.as_ref().and_then(|i| self.see(i, at)) else {
                    return out;
                };
                let kind = LegEventKind::Transferred {
                    kind: TransferKind::Blind,
                    to: e.extension.as_ref().map(|x| x.to_str_lossy().into_owned()),
                    target: None,
                    outcome: transfer_outcome(e.result.as_ref().map(|r| r.to_str_lossy())),
                };
                self.emit(&uid, at, kind, &mut out);
            }
            Event::AttendedTransfer(e) => {
                let target = e.transfer_target.as_ref().and_then(|i| self.see(i, at));
                let to = e
                    .transfer_target
                    .as_ref()
                    .and_then(|i| i.channel())
                    .and_then(local_exten)
                    .or_else(|| {
                        e.transfer_target
                            .as_ref()
                            .and_then(|i| i.channel())
                            .map(endpoint_of)
                    });
                let Some(uid) = e.transferee.as_ref().and_then(|i| self.see(i, at)) else {
                    return out;
                };
                let kind = LegEventKind::Transferred {
                    kind: TransferKind::Attended,
                    to,
                    target: target.as_deref().and_then(leg),
                    outcome: transfer_outcome(e.result.as_ref().map(|r| r.to_str_lossy())),
                };
                self.emit(&uid, at, kind, &mut out);
            }
            Event::ParkedCall(e) => {
                let Some(uid) = e.parkee.as_ref().and_then(|i| self.see(i, at)) else {
                    return out;
                };
                let kind = LegEventKind::Parked {
                    slot: e
                        .parking_space
                        .as_ref()
                        .map(|s| s.to_str_lossy().into_owned())
                        .unwrap_or_default(),
                    lot: e.parkinglot.as_ref().map(|s| s.to_str_lossy().into_owned()),
                    timeout_secs: e.parking_timeout.and_then(|t| u32::try_from(t).ok()),
                };
                self.emit(&uid, at, kind, &mut out);
            }
            Event::UnParkedCall(e) => {
                let by = e.retriever.as_ref().and_then(|i| self.see(i, at));
                if let Some(uid) = e.parkee.as_ref().and_then(|i| self.see(i, at)) {
                    let kind = LegEventKind::Unparked {
                        reason: UnparkReason::Retrieved,
                        by: by.as_deref().and_then(leg),
                    };
                    self.emit(&uid, at, kind, &mut out);
                }
            }
            Event::ParkedCallTimeOut(e) => {
                if let Some(uid) = e.parkee.as_ref().and_then(|i| self.see(i, at)) {
                    let kind = LegEventKind::Unparked {
                        reason: UnparkReason::TimedOut,
                        by: None,
                    };
                    self.emit(&uid, at, kind, &mut out);
                }
            }
            Event::ParkedCallGiveUp(e) => {
                if let Some(uid) = e.parkee.as_ref().and_then(|i| self.see(i, at)) {
                    let kind = LegEventKind::Unparked {
                        reason: UnparkReason::GaveUp,
                        by: None,
                    };
                    self.emit(&uid, at, kind, &mut out);
                }
            }
            Event::MixMonitorStart(e) => {
                if let Some(uid) = e.channel.as_ref().and_then(|i| self.see(i, at)) {
                    let file = self.recordings.get(&uid).cloned();
                    self.emit(&uid, at, LegEventKind::RecordingStarted { file }, &mut out);
                }
            }
            Event::MixMonitorStop(e) => {
                if let Some(uid) = e.channel.as_ref().and_then(|i| self.see(i, at)) {
                    let file = self.recordings.get(&uid).cloned();
                    self.emit(&uid, at, LegEventKind::RecordingStopped { file }, &mut out);
                }
            }
            Event::MixMonitorMute(e) => {
                if let Some(uid) = e.channel.as_ref().and_then(|i| self.see(i, at)) {
                    let on = e.state.as_ref().is_some_and(|s| {
                        let s = s.to_str_lossy();
                        s == "1" || s.eq_ignore_ascii_case("on") || s.eq_ignore_ascii_case("true")
                    });
                    let kind = if on {
                        LegEventKind::RecordingPaused
                    } else {
                        LegEventKind::RecordingResumed
                    };
                    self.emit(&uid, at, kind, &mut out);
                }
            }
            Event::DTMFEnd(e) => {
                let Some(uid) = e.channel.as_ref().and_then(|i| self.see(i, at)) else {
                    return out;
                };
                let Some(digit) = e
                    .digit
                    .as_ref()
                    .and_then(|d| d.to_str_lossy().chars().next())
                else {
                    return out;
                };
                let direction = match e.direction.as_ref() {
                    Some(d) if d.eq_ignore_case("Sent") => DtmfDirection::Sent,
                    _ => DtmfDirection::Received,
                };
                let kind = LegEventKind::Dtmf {
                    digit,
                    direction,
                    duration_ms: e.duration_ms.and_then(|d| u32::try_from(d).ok()),
                };
                self.emit(&uid, at, kind, &mut out);
            }
            Event::HangupRequest(e) => {
                self.hangup_request(
                    e.channel.as_ref(),
                    e.cause,
                    HangupSide::Remote,
                    at,
                    &mut out,
                );
            }
            Event::SoftHangupRequest(e) => {
                self.hangup_request(e.channel.as_ref(), e.cause, HangupSide::Local, at, &mut out);
            }
            Event::Hangup(e) => {
                let Some(uid) = e.channel.as_ref().and_then(|i| self.see(i, at)) else {
                    return out;
                };
                let code = e.cause.and_then(|c| u16::try_from(c).ok()).unwrap_or(0);
                let text = e
                    .cause_txt
                    .as_ref()
                    .map(|t| t.to_str_lossy().into_owned())
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| HangupCause::standard_text(code).to_owned());
                let side = self
                    .chans
                    .get(&uid)
                    .and_then(|c| c.side)
                    .unwrap_or(HangupSide::Unknown);
                let kind = LegEventKind::HungUp {
                    cause: HangupCause { code, text },
                    side,
                };
                self.emit(&uid, at, kind, &mut out);
                self.forget(&uid);
            }
            _ => {}
        }
        out
    }

    fn dial_begin(
        &mut self,
        e: &hookflash_ami::DialBegin,
        at: DateTime<Utc>,
        out: &mut Vec<LegEvent>,
    ) {
        let Some(dest) = e.dest.as_ref().and_then(|i| self.see(i, at)) else {
            return;
        };
        let caller = e.channel.as_ref().and_then(|i| self.see(i, at));
        if let Some(caller) = &caller {
            // The caller's role is decided (and its Created emitted) first.
            self.flush(caller, out);
            let caller_role = self.role_of(caller);
            let caller_outbound = self
                .chans
                .get(caller)
                .is_some_and(|c| self.call_id_of(c).is_some());
            // A caller first seen mid-call, not placed yet, says nothing of the dialled
            // channel's role: it is decided once the caller is placed.
            let caller_known = self.passes(caller);
            let dest_role = match caller_role {
                Some(LegRole::Agent) => LegRole::Customer,
                Some(LegRole::Customer) if !caller_outbound => LegRole::Agent,
                Some(_) => LegRole::SecondAgent,
                None if caller_outbound => LegRole::Customer,
                None => LegRole::Agent,
            };
            if let Some(c) = self.chans.get_mut(&dest)
                && caller_known
                && c.role.is_none()
                && c.pending.is_some()
                && !c.name.starts_with("Local/")
            {
                c.role = Some(dest_role);
            }
            let kind = LegEventKind::Dialing {
                target: leg(&dest),
                destination: e
                    .dial_string
                    .as_ref()
                    .map(|d| d.to_str_lossy().into_owned()),
            };
            self.emit(caller, at, kind, out);
        }
        self.flush(&dest, out);
    }

    fn hangup_request(
        &mut self,
        info: Option<&ChannelInfo>,
        cause: Option<i64>,
        side: HangupSide,
        at: DateTime<Utc>,
        out: &mut Vec<LegEvent>,
    ) {
        let Some(uid) = info.and_then(|i| self.see(i, at)) else {
            return;
        };
        if let Some(c) = self.chans.get_mut(&uid)
            && c.side.is_none()
        {
            c.side = Some(side);
        }
        let cause = cause
            .and_then(|c| u16::try_from(c).ok())
            .map(HangupCause::from_code);
        self.emit(&uid, at, LegEventKind::HangupRequested { side, cause }, out);
    }

    fn leave_bridge(&mut self, uid: &str, bridge: &str) {
        if let Some(m) = self.bridges.get_mut(bridge) {
            m.retain(|u| u != uid);
        }
        if let Some(c) = self.chans.get_mut(uid)
            && c.bridge.as_deref() == Some(bridge)
        {
            c.bridge = None;
        }
    }
}
