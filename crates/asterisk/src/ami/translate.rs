//! AMI events in, provider [`LegEvent`]s out: sans-IO, no clock of its own.

use std::collections::HashMap;

mod bound;

use chrono::{DateTime, TimeDelta, Utc};
use hookflash_ami::{ChannelInfo, Event, OriginateResponse};

use crate::facts::{failed_dial, local_pair_of};
use hookflash_provider::{
    CALL_ID_VARIABLE, CallId, Correlation, DialOutcome, DtmfDirection, HangupCause, HangupSide,
    LegEvent, LegEventKind, LegId, LegRole, LegSnapshot, LegState, OriginateFailure,
    OriginateOutcome, TransferKind, TransferOutcome, UnparkReason,
};

/// How a call id was originated by us, which decides the role of the leg that carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OriginateKind {
    /// Agent-first: the originated leg is the agent's.
    AgentFirst,
    /// A park pickup: the originated leg is the agent retrieving a parked call.
    ParkPickup,
}

/// A `Newchannel` whose `Created` event waits for the channel's next event, so that it can
/// carry the call id (`HOOKFLASH_CALL_ID` is set right after the channel is created) and the
/// role (known when the channel is dialled).
#[derive(Debug, Clone)]
struct Pending {
    at: DateTime<Utc>,
    endpoint: Option<String>,
    caller_number: Option<String>,
    called_number: Option<String>,
}

#[derive(Debug, Clone)]
struct Chan {
    name: String,
    linkedid: Option<String>,
    call_id: Option<CallId>,
    role: Option<LegRole>,
    pending: Option<Pending>,
    state: LegState,
    bridge: Option<String>,
    side: Option<HangupSide>,
    created_at: DateTime<Utc>,
}

impl Chan {
    fn new(name: &str, at: DateTime<Utc>) -> Self {
        Self {
            name: name.to_owned(),
            linkedid: None,
            call_id: None,
            role: None,
            pending: None,
            state: LegState::Down,
            bridge: None,
            side: None,
            created_at: at,
        }
    }
}

/// A leg put on hold by the provider (AMI has no hold action; see the crate docs).
#[derive(Debug, Clone)]
pub(crate) struct HeldPair {
    /// The held leg's uniqueid.
    pub(crate) held: String,
    /// Its peer's uniqueid (the one that put it on hold).
    pub(crate) peer: String,
}

/// Translates AMI events into provider-neutral [`LegEvent`]s.
///
/// It keeps per-channel state keyed by `Uniqueid` (the [`LegId`] of an AMI leg): the channel
/// name, its `Linkedid`, our call id (from `VarSet HOOKFLASH_CALL_ID`, else from the call of
/// its linkedid), its role, the pending hangup side (`HangupRequest` = the far end hung up,
/// `SoftHangupRequest` = Asterisk tore it down), its bridge, and the recording file names the
/// provider chose. Facts it relies on (see `testdata/asterisk-22/README.md`):
///
/// * The agent-first Originate's own `DialBegin`/`DialEnd` have no `Channel`: only the caller
///   of a dial gets [`LegEventKind::Dialing`]; the dialled leg gets
///   [`LegEventKind::DialResult`].
/// * A failed `OriginateResponse` has `Uniqueid: <unknown>` and the dial string as `Channel`:
///   it is tied to the call by our own bookkeeping ([`AmiTranslator::on_originate_response`]).
/// * An unreachable trunk creates no channel: only `VarSet DIALSTATUS=CHANUNAVAIL` on the agent
///   leg tells, passed on as [`LegEventKind::DialFailed`] (an `ANSWER` there says nothing the
///   dialled leg does not).
/// * The two halves of a Local channel (`Local/1002@ctx-00000000;1` and `;2`) are plumbing:
///   both carry the shared name as [`hookflash_provider::Correlation::local_pair`] and the
///   role [`LegRole::Local`].
/// * Originate `Reason` numbers become [`OriginateFailure`] kinds ([`originate_failure`]).
/// * Redirect emits no transfer event: the tracker infers it from the customer's new dial.
/// * Park pickups change a channel's `Linkedid` mid-life: every event carries the linkedid it
///   shows now.
/// * `MusicOnHoldStart` is not a hold (parking plays music too), except on a leg the provider
///   itself put on hold.
///
/// Memory is bounded: at most [`AmiTranslator::max_channels`] channels are kept (a channel
/// whose `Hangup` never arrives would otherwise stay forever); past it, the channel seen
/// first is forgotten ([`AmiTranslator::evicted_channels`] counts them), and so are the
/// oldest originate announcements past the same number.
#[derive(Debug)]
pub struct AmiTranslator {
    chans: HashMap<String, Chan>,
    /// Uniqueids in first-seen order (may hold forgotten ones; compacted as it grows).
    order: std::collections::VecDeque<String>,
    /// Call ids announced by [`AmiTranslator::expect_originate`], oldest first (same rule).
    originate_order: std::collections::VecDeque<CallId>,
    /// Originate ActionIDs, oldest first (same rule).
    action_order: std::collections::VecDeque<String>,
    max_channels: usize,
    evicted: u64,
    by_name: HashMap<String, String>,
    linked_calls: HashMap<String, CallId>,
    originates: HashMap<CallId, OriginateKind>,
    call_agent: HashMap<CallId, String>,
    action_calls: HashMap<String, CallId>,
    recordings: HashMap<String, String>,
    bridges: HashMap<String, Vec<String>>,
    held: Vec<HeldPair>,
}

impl Default for AmiTranslator {
    fn default() -> Self {
        Self {
            chans: HashMap::new(),
            order: std::collections::VecDeque::new(),
            originate_order: std::collections::VecDeque::new(),
            action_order: std::collections::VecDeque::new(),
            max_channels: Self::DEFAULT_MAX_CHANNELS,
            evicted: 0,
            by_name: HashMap::new(),
            linked_calls: HashMap::new(),
            originates: HashMap::new(),
            call_agent: HashMap::new(),
            action_calls: HashMap::new(),
            recordings: HashMap::new(),
            bridges: HashMap::new(),
            held: Vec::new(),
        }
    }
}

fn known(v: Option<&str>) -> Option<&str> {
    v.map(str::trim)
        .filter(|s| !s.is_empty() && *s != "<unknown>" && *s != "s")
}

/// `PJSIP/agent1001-00000004` → `PJSIP/agent1001`.
fn endpoint_of(channel: &str) -> String {
    let base = channel.split(';').next().unwrap_or(channel);
    match base.rsplit_once('-') {
        Some((head, tail)) if tail.len() == 8 && tail.bytes().all(|b| b.is_ascii_hexdigit()) => {
            head.to_owned()
        }
        _ => base.to_owned(),
    }
}

/// What an AMI `OriginateResponse` `Reason` means (Asterisk's `AST_CONTROL_*` codes:
/// 1 hangup, 3 ringing timed out, 5 busy, 8 congestion; 0 or none: it did not say).
pub(crate) fn originate_failure(reason: Option<i64>) -> OriginateFailure {
    match reason {
        Some(3) => OriginateFailure::NoAnswer,
        Some(5) => OriginateFailure::Busy,
        Some(1 | 8) => OriginateFailure::Unreachable,
        _ => OriginateFailure::Unknown,
    }
}

/// `Local/1002@hookflash-transfer-00000000;1` → `1002`.
fn local_exten(channel: &str) -> Option<String> {
    let rest = channel.strip_prefix("Local/")?;
    rest.split('@').next().map(str::to_owned)
}

fn leg(uid: &str) -> Option<LegId> {
    LegId::new(uid).ok()
}

/// The event's own time (`Timestamp: <epoch>.<usec>`), else `now`.
pub(crate) fn event_time(event: &Event, now: DateTime<Utc>) -> DateTime<Utc> {
    message_time(event.raw(), now)
}

/// A message's `Timestamp`, else `now`.
pub(crate) fn message_time(raw: &hookflash_ami::Message, now: DateTime<Utc>) -> DateTime<Utc> {
    let Some(ts) = raw.get_str("Timestamp") else {
        return now;
    };
    let (secs, frac) = ts.trim().split_once('.').unwrap_or((ts.trim(), "0"));
    let Ok(secs) = secs.parse::<i64>() else {
        return now;
    };
    let digits: String = frac.chars().take(9).collect();
    let nanos = digits
        .parse::<u32>()
        .ok()
        .map(|n| n * 10u32.pow(9 - u32::try_from(digits.len()).unwrap_or(9)))
        .unwrap_or(0);
    DateTime::from_timestamp(secs, nanos).unwrap_or(now)
}

impl AmiTranslator {
    /// An empty translator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Announces a call we originate, so the leg carrying its call id gets the right role.
    pub fn expect_originate(&mut self, call_id: CallId, kind: OriginateKind) {
        if self.originates.insert(call_id, kind).is_none() {
            self.admit_originate(call_id);
        }
    }

    /// Ties an Async Originate's ActionID to its call, for consumers that read
    /// `OriginateResponse` from the event stream rather than through
    /// [`AmiTranslator::on_originate_response`].
    pub fn expect_originate_action(&mut self, action_id: impl Into<String>, call_id: CallId) {
        let action_id = action_id.into();
        if self
            .action_calls
            .insert(action_id.clone(), call_id)
            .is_none()
        {
            self.admit_action(&action_id);
        }
    }

    /// Remembers the file a MixMonitor on `leg` writes (its events carry no file name).
    pub fn note_recording(&mut self, leg: &LegId, file: impl Into<String>) {
        self.recordings.insert(leg.to_string(), file.into());
    }

    /// The leg of a live channel, by its name.
    pub fn leg_for_channel(&self, channel: &str) -> Option<LegId> {
        self.by_name.get(channel).and_then(|uid| leg(uid))
    }

    /// A live leg's channel name.
    pub fn channel_of(&self, leg: &LegId) -> Option<&str> {
        self.chans.get(leg.as_str()).map(|c| c.name.as_str())
    }

    /// The call a live leg belongs to, as far as the translator knows.
    pub fn call_of(&self, leg: &LegId) -> Option<CallId> {
        self.chans
            .get(leg.as_str())
            .and_then(|c| self.call_id_of(c))
    }

    /// The other legs in the same bridge as `leg`.
    pub fn bridge_peers(&self, leg: &LegId) -> Vec<LegId> {
        let Some(bridge) = self.chans.get(leg.as_str()).and_then(|c| c.bridge.clone()) else {
            return Vec::new();
        };
        self.bridges
            .get(&bridge)
            .map(|m| {
                m.iter()
                    .filter(|u| u.as_str() != leg.as_str())
                    .filter_map(|u| self::leg(u))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The live legs of a call, as far as the translator knows, oldest first.
    pub fn legs_of_call(&self, call_id: CallId) -> Vec<LegId> {
        let mut legs: Vec<(&DateTime<Utc>, &String)> = self
            .chans
            .iter()
            .filter(|(_, c)| self.call_id_of(c) == Some(call_id))
            .map(|(u, c)| (&c.created_at, u))
            .collect();
        legs.sort();
        legs.into_iter().filter_map(|(_, u)| leg(u)).collect()
    }

    /// The Local channel pair a transferer's attended transfer created (its `;1` half), if any.
    pub fn consult_leg(&self, transferer: &LegId) -> Option<LegId> {
        let linked = self.chans.get(transferer.as_str())?.linkedid.clone()?;
        self.chans
            .iter()
            .filter(|(_, c)| c.name.starts_with("Local/") && c.name.ends_with(";1"))
            .filter(|(_, c)| c.linkedid.as_deref() == Some(linked.as_str()))
            .max_by_key(|(_, c)| c.created_at)
            .and_then(|(u, _)| leg(u))
    }

    pub(crate) fn hold_started(&mut self, held: &LegId, peer: &LegId) {
        self.held.retain(|h| h.held != held.as_str());
        self.held.push(HeldPair {
            held: held.to_string(),
            peer: peer.to_string(),
        });
    }

    pub(crate) fn held_pair(&self, held: &LegId) -> Option<HeldPair> {
        self.held.iter().find(|h| h.held == held.as_str()).cloned()
    }

    fn call_id_of(&self, chan: &Chan) -> Option<CallId> {
        chan.call_id.or_else(|| {
            chan.linkedid
                .as_ref()
                .and_then(|l| self.linked_calls.get(l).copied())
        })
    }

    fn keys(&self, uid: &str) -> Correlation {
        match self.chans.get(uid) {
            Some(c) => Correlation {
                call_id: self.call_id_of(c),
                linkedid: c.linkedid.clone(),
                channel: Some(c.name.clone()),
                peer: None,
                local_pair: local_pair_of(&c.name).map(str::to_owned),
            },
            None => Correlation::default(),
        }
    }

    fn role_of(&self, uid: &str) -> Option<LegRole> {
        let c = self.chans.get(uid)?;
        if c.name.starts_with("Local/") {
            return Some(LegRole::Local);
        }
        if c.role.is_some() {
            return c.role;
        }
        let id = c.call_id?;
        Some(match self.originates.get(&id) {
            Some(OriginateKind::ParkPickup) => LegRole::SecondAgent,
            _ => LegRole::Agent,
        })
    }

    /// Emits the channel's pending `Created`, if any.
    fn flush(&mut self, uid: &str, out: &mut Vec<LegEvent>) {
        let role = self.role_of(uid);
        let Some(chan) = self.chans.get_mut(uid) else {
            return;
        };
        let Some(p) = chan.pending.take() else {
            return;
        };
        if chan.role.is_none() {
            chan.role = role;
        }
        let Some(id) = leg(uid) else { return };
        let keys = self.keys(uid);
        out.push(LegEvent {
            leg: id,
            at: p.at,
            keys,
            kind: LegEventKind::Created {
                role,
                endpoint: p.endpoint,
                caller_number: p.caller_number,
                called_number: p.called_number,
            },
        });
    }

    fn emit(&mut self, uid: &str, at: DateTime<Utc>, kind: LegEventKind, out: &mut Vec<LegEvent>) {
        self.flush(uid, out);
        let Some(id) = leg(uid) else { return };
        let keys = self.keys(uid);
        out.push(LegEvent {
            leg: id,
            at,
            keys,
            kind,
        });
    }

    /// Learns a channel from an event's snapshot; returns its uniqueid.
    fn see(&mut self, info: &ChannelInfo, at: DateTime<Utc>) -> Option<String> {
        let uid = info.uniqueid()?.to_owned();
        let name = info.channel().unwrap_or_default();
        if !self.chans.contains_key(&uid) {
            self.admit(&uid);
        }
        let chan = self
            .chans
            .entry(uid.clone())
            .or_insert_with(|| Chan::new(name, at));
        if !name.is_empty() && chan.name != name {
            chan.name = name.to_owned();
        }
        if let Some(l) = info.linkedid().filter(|l| !l.is_empty())
            && chan.linkedid.as_deref() != Some(l)
        {
            chan.linkedid = Some(l.to_owned());
        }
        if !name.is_empty() {
            self.by_name.insert(name.to_owned(), uid.clone());
        }
        Some(uid)
    }

    /// Translates one AMI event. `now` is used when the event has no `Timestamp`.
    pub fn on_event(&mut self, event: &Event, now: DateTime<Utc>) -> Vec<LegEvent> {
        let at = event_time(event, now);
        let mut out = Vec::new();
        match event {
            Event::Newchannel(e) => {
                let Some(info) = &e.channel else { return out };
                let known_before = info.uniqueid().is_some_and(|u| self.chans.contains_key(u));
                let Some(uid) = self.see(info, at) else {
                    return out;
                };
                if !known_before {
                    let name = info.channel().unwrap_or_default();
                    if let Some(c) = self.chans.get_mut(&uid) {
                        c.created_at = at;
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
            let dest_role = match caller_role {
                Some(LegRole::Agent) => LegRole::Customer,
                Some(LegRole::Customer) if !caller_outbound => LegRole::Agent,
                Some(_) => LegRole::SecondAgent,
                None if caller_outbound => LegRole::Customer,
                None => LegRole::Agent,
            };
            if let Some(c) = self.chans.get_mut(&dest)
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

    /// Drops a hung-up channel's state (late events for it carry no leg facts).
    fn forget(&mut self, uid: &str) {
        let Some(chan) = self.chans.remove(uid) else {
            return;
        };
        if self.by_name.get(&chan.name).is_some_and(|u| u == uid) {
            self.by_name.remove(&chan.name);
        }
        if let Some(b) = &chan.bridge
            && let Some(m) = self.bridges.get_mut(b)
        {
            m.retain(|u| u != uid);
        }
        self.recordings.remove(uid);
        self.held.retain(|h| h.held != uid && h.peer != uid);
        // A late failed OriginateResponse then names the dial string; the call id still
        // places it (bounded memory matters more than the leg it is shown on).
        // Only a channel that carried a call id can be some call's agent leg. The scans
        // below run only when there is something to drop: forgetting stays cheap when the
        // bound evicts channels one by one.
        if chan.call_id.is_some() {
            self.call_agent.retain(|_, u| u != uid);
        }
        if let Some(l) = &chan.linkedid
            && self.linked_calls.contains_key(l)
            && !self.chans.values().any(|c| c.linkedid.as_ref() == Some(l))
        {
            self.linked_calls.remove(l);
        }
        if let Some(id) = chan.call_id
            && self.originates.contains_key(&id)
            && !self.chans.values().any(|c| c.call_id == Some(id))
        {
            self.originates.remove(&id);
        }
    }

    /// The result of one of our Async Originates for `call_id`.
    ///
    /// A failure names the dial string, not a channel (`Uniqueid: <unknown>`): the event is
    /// put on the agent leg that carried the call id when there was one.
    pub fn on_originate_response(
        &mut self,
        call_id: CallId,
        response: &OriginateResponse,
        at: DateTime<Utc>,
    ) -> Vec<LegEvent> {
        let success = response
            .response
            .as_ref()
            .is_some_and(|r| r.eq_ignore_case("Success"));
        let failure = originate_failure(response.reason);
        let named = known(response.uniqueid.as_ref().and_then(|u| u.as_str()))
            .map(str::to_owned)
            .filter(|u| self.chans.contains_key(u));
        // Asterisk's own word (the leg's HOOKFLASH_CALL_ID) wins over our bookkeeping.
        let call_id = named
            .as_ref()
            .and_then(|u| self.chans.get(u))
            .and_then(|c| c.call_id)
            .unwrap_or(call_id);
        let uid = named.or_else(|| self.call_agent.get(&call_id).cloned());
        let outcome = if success {
            OriginateOutcome::Answered
        } else {
            OriginateOutcome::Failed {
                failure,
                message: Some(
                    response
                        .response
                        .as_ref()
                        .map(|r| r.to_str_lossy().into_owned())
                        .unwrap_or_else(|| "Failure".to_owned()),
                ),
            }
        };
        let dial_string = response
            .channel
            .as_ref()
            .map(|c| c.to_str_lossy().into_owned())
            .unwrap_or_default();
        self.originate_result(call_id, uid, &dial_string, outcome, at)
    }

    /// An Originate Asterisk refused outright (`Response: Error`): the call failed before any
    /// leg existed ([`OriginateFailure::Refused`]).
    pub fn on_originate_error(
        &mut self,
        call_id: CallId,
        endpoint: &str,
        message: &str,
        at: DateTime<Utc>,
    ) -> Vec<LegEvent> {
        let outcome = OriginateOutcome::Failed {
            failure: OriginateFailure::Refused,
            message: Some(message.to_owned()),
        };
        self.originate_result(call_id, None, endpoint, outcome, at)
    }

    fn originate_result(
        &mut self,
        call_id: CallId,
        uid: Option<String>,
        dial_string: &str,
        outcome: OriginateOutcome,
        at: DateTime<Utc>,
    ) -> Vec<LegEvent> {
        let mut out = Vec::new();
        let kind = self.originates.get(&call_id).copied();
        self.call_agent.remove(&call_id);
        let failed = matches!(outcome, OriginateOutcome::Failed { .. });
        if kind == Some(OriginateKind::ParkPickup) && !failed {
            // A pickup's agent answering says nothing about the parked call's agent.
            return out;
        }
        let live = uid.filter(|u| self.chans.contains_key(u));
        if !self.chans.values().any(|c| c.call_id == Some(call_id)) && live.is_none() {
            self.originates.remove(&call_id);
        }
        let ev_kind = LegEventKind::OriginateResult { outcome };
        match live {
            Some(uid) => {
                self.flush(&uid, &mut out);
                let Some(id) = leg(&uid) else { return out };
                let mut keys = self.keys(&uid);
                keys.call_id = Some(call_id);
                out.push(LegEvent {
                    leg: id,
                    at,
                    keys,
                    kind: ev_kind,
                });
            }
            None => {
                let name = if dial_string.is_empty() {
                    format!("originate-{call_id}")
                } else {
                    dial_string.to_owned()
                };
                if let Some(id) = leg(&name) {
                    out.push(LegEvent::new(id, at, ev_kind).with_call_id(call_id));
                }
            }
        }
        out
    }

    /// Takes a `CoreShowChannels` listing after a reconnect: channels not listed are gone,
    /// listed ones are learnt; returns the live legs.
    pub fn resync(&mut self, listing: &[Event], now: DateTime<Utc>) -> Vec<LegSnapshot> {
        self.listing(listing, now, true)
    }

    /// Reads a `CoreShowChannels` listing without forgetting channels it does not show (a
    /// channel created after the listing was taken may already be known).
    pub fn snapshot_of(&mut self, listing: &[Event], now: DateTime<Utc>) -> Vec<LegSnapshot> {
        self.listing(listing, now, false)
    }

    fn listing(&mut self, listing: &[Event], now: DateTime<Utc>, forget: bool) -> Vec<LegSnapshot> {
        let mut legs = Vec::new();
        let mut seen = Vec::new();
        for event in listing {
            let Event::CoreShowChannel(e) = event else {
                continue;
            };
            let Some(info) = &e.channel else { continue };
            let Some(uid) = self.see(info, now) else {
                continue;
            };
            let state = match info.state() {
                Some(6) => LegState::Up,
                Some(5) => LegState::Ringing,
                _ => LegState::Down,
            };
            let bridge = e
                .bridge_id
                .as_ref()
                .map(|b| b.to_str_lossy().into_owned())
                .filter(|b| !b.is_empty());
            let age = e
                .duration
                .as_ref()
                .and_then(|d| parse_hms(&d.to_str_lossy()));
            if let Some(c) = self.chans.get_mut(&uid) {
                c.state = state;
                if let Some(b) = &bridge {
                    c.bridge = Some(b.clone());
                }
            }
            if let Some(b) = &bridge {
                let members = self.bridges.entry(b.clone()).or_default();
                if !members.contains(&uid) {
                    members.push(uid.clone());
                }
            }
            seen.push(uid.clone());
            let Some(id) = leg(&uid) else { continue };
            legs.push(LegSnapshot {
                leg: id,
                keys: self.keys(&uid),
                state,
                bridge,
                created_at: age.and_then(|a| now.checked_sub_signed(a)),
            });
        }
        if !forget {
            return legs;
        }
        let gone: Vec<String> = self
            .chans
            .keys()
            .filter(|u| !seen.contains(u))
            .cloned()
            .collect();
        for uid in gone {
            self.forget(&uid);
        }
        legs
    }

    /// How many channels are tracked (bounded by the live channels).
    pub fn live_channels(&self) -> usize {
        self.chans.len()
    }
}

fn transfer_outcome(result: Option<std::borrow::Cow<'_, str>>) -> TransferOutcome {
    match result.as_deref() {
        Some(r) if r.eq_ignore_ascii_case("Success") => TransferOutcome::Success,
        _ => TransferOutcome::Failed,
    }
}

/// `HH:MM:SS` → a duration; `None` for anything else, including a value too large to be a
/// channel's age (it comes from the wire: no overflow may panic here).
fn parse_hms(s: &str) -> Option<TimeDelta> {
    let mut secs = 0i64;
    for part in s.trim().split(':') {
        let part = part.parse::<u32>().ok()?;
        secs = secs.checked_mul(60)?.checked_add(i64::from(part))?;
    }
    TimeDelta::try_seconds(secs)
}

#[cfg(test)]
mod bound_tests;

#[cfg(test)]
mod tests {
    use hookflash_ami::decode_all;
    use proptest::prelude::*;

    use super::*;

    fn events(fixture: &str) -> Vec<Event> {
        let dir = std::env::var_os("HOOKFLASH_FIXTURES_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/asterisk-22").into()
            });
        let bytes = std::fs::read(dir.join("ami").join(format!("{fixture}.recv"))).unwrap();
        let (messages, _) = decode_all(&bytes);
        messages
            .into_iter()
            .filter_map(|m| Event::from_message(m).ok())
            .collect()
    }

    fn translate(t: &mut AmiTranslator, events: &[Event]) -> Vec<LegEvent> {
        let now = Utc::now();
        events.iter().flat_map(|e| t.on_event(e, now)).collect()
    }

    fn role(out: &[LegEvent], channel_prefix: &str) -> Option<LegRole> {
        out.iter().find_map(|e| match &e.kind {
            LegEventKind::Created { role, .. }
                if e.keys
                    .channel
                    .as_deref()
                    .is_some_and(|c| c.starts_with(channel_prefix)) =>
            {
                *role
            }
            _ => None,
        })
    }

    #[test]
    fn an_answered_call_gets_roles_call_id_and_hangup_sides() {
        let call: CallId = "ea9d2b98-36ec-45fd-a8df-d93e92948875".parse().unwrap();
        let mut t = AmiTranslator::new();
        t.expect_originate(call, OriginateKind::AgentFirst);
        let out = translate(&mut t, &events("originate-answered"));
        assert_eq!(role(&out, "PJSIP/agent1001"), Some(LegRole::Agent));
        assert_eq!(role(&out, "PJSIP/trunk"), Some(LegRole::Customer));
        // Every event of the call carries our call id (the customer's through its linkedid).
        assert!(out.iter().all(|e| e.keys.call_id == Some(call)), "{out:#?}");
        let hungup: Vec<(&str, HangupSide)> = out
            .iter()
            .filter_map(|e| match &e.kind {
                LegEventKind::HungUp { side, cause } => {
                    assert_eq!(cause.code, 16);
                    Some((e.keys.channel.as_deref().unwrap_or_default(), *side))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            hungup,
            vec![
                ("PJSIP/trunk-00000005", HangupSide::Remote),
                ("PJSIP/agent1001-00000004", HangupSide::Local)
            ]
        );
        // The originate's own dial is not a dial of the customer.
        let dialing: Vec<_> = out
            .iter()
            .filter(|e| matches!(e.kind, LegEventKind::Dialing { .. }))
            .collect();
        assert_eq!(dialing.len(), 1);
        assert_eq!(
            dialing[0].keys.channel.as_deref(),
            Some("PJSIP/agent1001-00000004")
        );
        // Hung-up channels are forgotten.
        assert_eq!(t.live_channels(), 0);
    }

    #[test]
    fn a_failed_originate_lands_on_the_agent_leg() {
        let call: CallId = "c724a493-9d0d-4f0b-8459-818ff01d9ffc".parse().unwrap();
        let mut t = AmiTranslator::new();
        t.expect_originate(call, OriginateKind::AgentFirst);
        let all = events("originate-agent-busy");
        let mut out = Vec::new();
        for e in &all {
            if let Event::OriginateResponse(r) = e {
                // `Uniqueid: <unknown>`, `Channel: PJSIP/agent1001`.
                out.extend(t.on_originate_response(call, r, Utc::now()));
            } else {
                out.extend(t.on_event(e, Utc::now()));
            }
        }
        let result = out
            .iter()
            .find(|e| matches!(e.kind, LegEventKind::OriginateResult { .. }))
            .unwrap();
        assert_eq!(result.leg.as_str(), "1795315431.7");
        assert_eq!(result.keys.call_id, Some(call));
        assert!(matches!(
            &result.kind,
            LegEventKind::OriginateResult {
                outcome: OriginateOutcome::Failed {
                    failure: OriginateFailure::Unknown,
                    ..
                }
            }
        ));
    }

    #[test]
    fn an_unreachable_trunk_shows_only_as_a_failed_dial() {
        let mut t = AmiTranslator::new();
        let out = translate(&mut t, &events("originate-customer-unavailable"));
        assert!(out.iter().any(|e| matches!(
            &e.kind,
            LegEventKind::DialFailed {
                status: DialOutcome::ChanUnavail
            }
        )));
        assert!(
            !out.iter()
                .any(|e| matches!(&e.kind, LegEventKind::VariableSet { .. }))
        );
        assert!(role(&out, "PJSIP/trunk").is_none());
    }

    #[test]
    fn park_and_transfers_are_translated() {
        let mut t = AmiTranslator::new();
        let out = translate(&mut t, &events("park"));
        assert!(
            out.iter()
                .any(|e| matches!(&e.kind, LegEventKind::Parked { slot, .. } if slot == "701"))
        );
        assert!(out.iter().any(|e| matches!(
            &e.kind,
            LegEventKind::Unparked {
                reason: UnparkReason::Retrieved,
                by: Some(_)
            }
        )));
        // Parking plays music on hold: that is not a hold.
        assert!(!out.iter().any(|e| matches!(e.kind, LegEventKind::Held)));
        let mut t = AmiTranslator::new();
        let out = translate(&mut t, &events("blind-transfer"));
        assert!(out.iter().any(|e| matches!(
            &e.kind,
            LegEventKind::Transferred { kind: TransferKind::Blind, to: Some(to), outcome: TransferOutcome::Success, .. } if to == "1002"
        )));
        assert_eq!(role(&out, "PJSIP/agent1002"), Some(LegRole::SecondAgent));
    }

    #[test]
    fn a_reconnect_listing_forgets_channels_that_are_gone() {
        let mut t = AmiTranslator::new();
        translate(&mut t, &events("reconnect-mid-call-a"));
        assert_eq!(t.live_channels(), 2);
        let listing = events("reconnect-mid-call-b");
        let legs = t.resync(&listing, Utc::now());
        assert_eq!(legs.len(), 2);
        assert!(
            legs.iter()
                .all(|l| l.keys.call_id.is_some() && l.state == LegState::Up)
        );
        assert!(t.resync(&[], Utc::now()).is_empty());
        assert_eq!(t.live_channels(), 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Lost, repeated or partial streams never panic and never leave more channels than
        /// were created.
        #[test]
        fn any_subsequence_of_a_stream_is_safe(keep in proptest::collection::vec(0u8..4, 0..400)) {
            let all = events("park");
            let mut t = AmiTranslator::new();
            let mut created = std::collections::HashSet::new();
            for (e, k) in all.iter().zip(keep.iter().cycle()) {
                if let Event::Newchannel(n) = e
                    && let Some(u) = n.channel.as_ref().and_then(|c| c.uniqueid())
                {
                    created.insert(u.to_owned());
                }
                for _ in 0..*k {
                    for ev in t.on_event(e, Utc::now()) {
                        prop_assert!(!ev.leg.as_str().is_empty());
                    }
                }
            }
            prop_assert!(t.live_channels() <= created.len().max(4));
        }
    }

    #[test]
    fn endpoints_and_local_extensions() {
        assert_eq!(endpoint_of("PJSIP/agent1001-00000004"), "PJSIP/agent1001");
        assert_eq!(endpoint_of("PJSIP/trunk-0000001d"), "PJSIP/trunk");
        assert_eq!(endpoint_of("PJSIP/agent1001"), "PJSIP/agent1001");
        assert_eq!(
            local_exten("Local/1002@hookflash-transfer-00000000;1").as_deref(),
            Some("1002")
        );
        assert_eq!(parse_hms("00:01:05"), Some(TimeDelta::seconds(65)));
    }
}
