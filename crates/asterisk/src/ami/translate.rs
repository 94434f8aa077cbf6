//! AMI events in, provider [`LegEvent`]s out: sans-IO, no clock of its own.

use std::collections::HashMap;

mod bound;
mod events;
mod listing;
mod originate;
mod wire;

use chrono::{DateTime, Utc};
use hookflash_ami::ChannelInfo;

use crate::facts::local_pair_of;
use hookflash_provider::{
    CallId, Correlation, HangupSide, LegEvent, LegEventKind, LegId, LegRole, LegState,
};
use wire::leg;
pub(crate) use wire::message_time;

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
    /// Seen created (`Newchannel`) or placed by a listing: a channel first seen by a later
    /// event (the pipeline started or reconnected mid-call) is not, and its events say
    /// nothing until it is (or until it has a call id): they would make a new inbound call of
    /// a leg of a call already under way.
    placed: bool,
    /// Its events while not placed (at most [`MAX_HELD`]): passed on once it is placed,
    /// forgotten with it if it never is.
    held: Vec<(DateTime<Utc>, LegEventKind)>,
}

/// Most events kept for a channel not placed yet (a listing places it within a round trip).
const MAX_HELD: usize = 256;

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
            placed: false,
            held: Vec::new(),
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
    /// Events of channels first seen mid-call and not placed when they came (held).
    unplaced_events: u64,
    /// Channels placed since whose held events wait to be passed on.
    released: Vec<String>,
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
            unplaced_events: 0,
            released: Vec::new(),
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
        let Some(id) = c.call_id else {
            // Dialled by our call's originated channel, which a listing placed (the dial
            // went by before it was known whose channel that was): its customer.
            let head = c.linkedid.as_deref().filter(|l| *l != uid)?;
            let ours = self.chans.get(head).is_some_and(|h| h.call_id.is_some());
            return (ours && self.role_of(head) == Some(LegRole::Agent))
                .then_some(LegRole::Customer);
        };
        Some(match self.originates.get(&id) {
            Some(OriginateKind::ParkPickup) => LegRole::SecondAgent,
            _ => LegRole::Agent,
        })
    }

    /// Queues the channels that hold events and are passed on now (placed since).
    pub(crate) fn queue_releases(&mut self) {
        let ready: Vec<String> = self
            .chans
            .iter()
            .filter(|(uid, c)| !c.held.is_empty() && self.passes(uid))
            .map(|(uid, _)| uid.clone())
            .collect();
        self.released.extend(ready);
    }

    /// Passes on the held events of channels placed since, in their order.
    pub(crate) fn release(&mut self, out: &mut Vec<LegEvent>) {
        for uid in std::mem::take(&mut self.released) {
            if !self.passes(&uid) {
                continue;
            }
            self.flush(&uid, out);
            let held = self
                .chans
                .get_mut(&uid)
                .map(|c| std::mem::take(&mut c.held))
                .unwrap_or_default();
            let Some(id) = leg(&uid) else { continue };
            let keys = self.keys(&uid);
            out.extend(held.into_iter().map(|(at, kind)| LegEvent {
                leg: id.clone(),
                at,
                keys: keys.clone(),
                kind,
            }));
        }
    }

    /// Whether the channel's events are passed on: it is placed, or its call is known.
    fn passes(&self, uid: &str) -> bool {
        self.chans
            .get(uid)
            .is_none_or(|c| c.placed || self.call_id_of(c).is_some())
    }

    /// Emits the channel's pending `Created`, if any.
    fn flush(&mut self, uid: &str, out: &mut Vec<LegEvent>) {
        if !self.passes(uid) {
            // Kept until a listing places the channel (see `Chan::placed`).
            return;
        }
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
        // A channel first seen mid-call, not placed yet, belongs to no call we can name yet:
        // its events wait (see `Chan::held`).
        if !self.passes(uid) {
            self.unplaced_events = self.unplaced_events.saturating_add(1);
            if let Some(c) = self.chans.get_mut(uid)
                && c.held.len() < MAX_HELD
            {
                c.held.push((at, kind));
            }
            return;
        }
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
}

#[cfg(test)]
mod bound_tests;

#[cfg(test)]
mod tests;
