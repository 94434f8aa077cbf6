//! What the provider knows about the legs of its calls, and the translation of Twilio's
//! callbacks into [`LegEvent`]s. Sans-IO: parameters and `now` in, events out.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};
use hookflash_provider::{CallId, HangupSide, LegEvent, LegEventKind, LegId, LegRole};

use crate::config::BridgeMode;

mod callbacks;
mod status;

/// A webhook's form parameters, in the order received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// Parses an `application/x-www-form-urlencoded` body.
    pub fn parse(body: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, if present and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    New,
    Ringing,
    Up,
    Ended,
}

#[derive(Debug, Clone)]
struct LegInfo {
    call_id: CallId,
    role: LegRole,
    parent: Option<String>,
    phase: Phase,
    created: bool,
    hangup_requested: bool,
    dial_action_seen: bool,
    /// The `<Dial>` bridge the leg is in (`dial:{parent SID}`), while it is.
    bridge: Option<String>,
}

/// What a call is made of, as far as callbacks and our own requests told.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallInfo {
    pub(crate) bridge: BridgeMode,
    pub(crate) agent: Option<String>,
    pub(crate) customer: Option<String>,
    pub(crate) conference: Option<String>,
    pub(crate) caller_id: Option<String>,
    /// The leg that took the agent's place after an attended transfer.
    pub(crate) second: Option<String>,
}

/// Translates Twilio's webhooks (call status, `<Dial>` action, answering-machine detection,
/// recording and conference callbacks) into provider-neutral [`LegEvent`]s.
///
/// Sans-IO: each method takes the callback's form [`Params`] and `now` (the time it
/// arrived) and returns the leg events it means; it reads no clock and does no I/O, so a
/// recorded series of callbacks replays to the same events (`benches/translate.rs`). The
/// [`TwilioProvider`](crate::TwilioProvider) feeds it from its webhook router, and tells it
/// about the legs it creates through the REST API ([`TwilioTranslator::set_agent_leg`],
/// [`TwilioTranslator::set_leg`]) and the hangups it asks for
/// ([`TwilioTranslator::note_hangup_request`]).
///
/// A leg is a Twilio call, its [`LegId`] the call SID. Every event carries our call id (the
/// webhook URL names it), the call's root SID as [`hookflash_provider::Correlation::linkedid`]
/// and the leg it talks to as `peer`. Twilio's facts it maps to neutral events:
///
/// * `CallStatus` `ringing`, `in-progress`/`answered`, `completed` become ringing, answered
///   (with the agent's originate result or the dialled leg's dial result) and hung up;
///   `busy`, `no-answer`, `failed`, `canceled` become the dial result (or the agent's
///   originate failure) and the hangup, with a Q.850 cause (`SipResponseCode` mapped to the
///   closest cause when Twilio gives one).
/// * A `<Dial>`led leg that answers is bridged with its dialler (`dial:<parent SID>`): Twilio
///   reports no bridge.
/// * Twilio never says who hung up: a leg we asked to end, or whose `<Dial>` or peer ended
///   first, ended on our side; otherwise its own party hung up.
/// * A `<Dial>` that created no leg (its action callback has a `DialCallStatus` of `busy`,
///   `no-answer` or `failed` and no `DialCallSid`) is [`LegEventKind::DialFailed`] on the
///   dialling leg, the only word on it.
/// * `Timestamp` has whole seconds only: the arrival time `now` is used when within a few
///   seconds of it (sub-second order kept), the stamped time for a late (retried) callback.
///
/// Memory is bounded to `max_calls` calls: past it, the oldest call and its legs are forgotten.
#[derive(Debug)]
pub struct TwilioTranslator {
    legs: HashMap<String, LegInfo>,
    calls: HashMap<CallId, CallInfo>,
    order: VecDeque<CallId>,
    max_calls: usize,
}

fn leg_id(sid: &str) -> Option<LegId> {
    LegId::new(sid).ok()
}

/// When a callback happened. Twilio's `Timestamp` (RFC 2822) has whole seconds only and some
/// callbacks (recording, AMD, `<Dial>` action) have none, so the arrival time `now` is used
/// when it is close to the stamped time (within [`FRESH`], which covers the truncated second,
/// delivery and some clock skew): events keep their arrival order at sub-second precision. A
/// callback that arrives later than that (Twilio retried it) keeps its own time.
fn timestamp(params: &Params, now: DateTime<Utc>) -> DateTime<Utc> {
    let Some(stamped) = params
        .get("Timestamp")
        .and_then(|t| DateTime::parse_from_rfc2822(t).ok())
        .map(|t| t.with_timezone(&Utc))
    else {
        return now;
    };
    if (now - stamped).abs() < FRESH {
        now
    } else {
        stamped
    }
}

/// How far a callback's arrival may be from its `Timestamp` and still count as on time.
const FRESH: chrono::TimeDelta = chrono::TimeDelta::seconds(5);

/// The Q.850 cause closest to a SIP final response code.
pub(crate) fn cause_from_sip(code: u16) -> u16 {
    match code {
        404 | 604 => 1,
        486 | 600 => 17,
        480 => 18,
        408 => 19,
        403 | 603 => 21,
        484 => 28,
        487 => 16,
        500..=599 => 34,
        _ => 41,
    }
}

impl TwilioTranslator {
    /// A translator that remembers at most `max_calls` calls (at least 1).
    pub fn new(max_calls: usize) -> Self {
        Self {
            legs: HashMap::new(),
            calls: HashMap::new(),
            order: VecDeque::new(),
            max_calls: max_calls.max(1),
        }
    }

    /// Remembers a call we are placing.
    pub(crate) fn register_call(&mut self, call_id: CallId, info: CallInfo) {
        if !self.calls.contains_key(&call_id) {
            self.order.push_back(call_id);
        }
        self.calls.insert(call_id, info);
        while self.calls.len() > self.max_calls {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            self.calls.remove(&oldest);
            self.legs.retain(|_, leg| leg.call_id != oldest);
        }
    }

    fn call_mut(&mut self, call_id: CallId) -> &mut CallInfo {
        if !self.calls.contains_key(&call_id) {
            self.register_call(call_id, CallInfo::default());
        }
        // register_call never evicts the call it just inserted (max_calls >= 1).
        self.calls.entry(call_id).or_default()
    }

    pub(crate) fn call(&self, call_id: CallId) -> Option<&CallInfo> {
        self.calls.get(&call_id)
    }

    /// The call and role of a leg we have seen.
    pub fn leg(&self, sid: &str) -> Option<(CallId, LegRole)> {
        self.legs.get(sid).map(|l| (l.call_id, l.role))
    }

    /// Whether the leg is still being set up (queued or ringing): hang-ups become `canceled`.
    pub fn is_ringing(&self, sid: &str) -> bool {
        self.legs.get(sid).is_some_and(|l| l.phase < Phase::Up)
    }

    /// Notes the leg that replaces the agent after an attended transfer.
    pub(crate) fn set_second(&mut self, call_id: CallId, sid: &str) {
        self.call_mut(call_id).second = Some(sid.to_owned());
    }

    pub(crate) fn set_conference(&mut self, call_id: CallId, conference_sid: &str) {
        self.call_mut(call_id).conference = Some(conference_sid.to_owned());
    }

    /// Records the agent leg of a call right after `CreateCall` answered with its SID.
    pub fn set_agent_leg(&mut self, call_id: CallId, sid: &str) {
        self.call_mut(call_id).agent = Some(sid.to_owned());
        self.ensure_leg(sid, call_id, LegRole::Agent, None);
    }

    /// Records a leg we created through the API (a customer participant, a transfer target).
    pub fn set_leg(&mut self, call_id: CallId, sid: &str, role: LegRole) {
        if role == LegRole::Customer {
            self.call_mut(call_id).customer = Some(sid.to_owned());
        }
        self.ensure_leg(sid, call_id, role, None);
    }

    /// Notes that we asked for the leg to end (its hangup is then ours, `Local`); returns the
    /// event that says so, `None` for a leg never seen.
    pub fn note_hangup_request(&mut self, sid: &str, now: DateTime<Utc>) -> Option<LegEvent> {
        let leg = self.legs.get_mut(sid)?;
        leg.hangup_requested = true;
        let call_id = leg.call_id;
        self.event(
            sid,
            call_id,
            now,
            LegEventKind::HangupRequested {
                side: HangupSide::Local,
                cause: None,
            },
        )
    }

    fn ensure_leg(&mut self, sid: &str, call_id: CallId, role: LegRole, parent: Option<&str>) {
        let leg = self.legs.entry(sid.to_owned()).or_insert_with(|| LegInfo {
            call_id,
            role,
            parent: None,
            phase: Phase::New,
            created: false,
            hangup_requested: false,
            dial_action_seen: false,
            bridge: None,
        });
        if leg.parent.is_none() {
            leg.parent = parent.map(str::to_owned);
        }
    }

    /// The leg this one talks to: agent <-> customer, a transfer target <-> customer.
    fn peer_of(&self, sid: &str) -> Option<String> {
        let leg = self.legs.get(sid)?;
        let call = self.calls.get(&leg.call_id)?;
        let peer = match leg.role {
            LegRole::Agent => call.customer.clone(),
            LegRole::Customer => call.second.clone().or_else(|| call.agent.clone()),
            _ => leg.parent.clone().or_else(|| call.customer.clone()),
        };
        peer.filter(|p| p != sid)
    }
}

#[cfg(test)]
mod tests;
