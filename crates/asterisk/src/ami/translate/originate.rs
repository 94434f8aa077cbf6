//! The results of our own Originates: `OriginateResponse` and refused Originate actions.

use chrono::{DateTime, Utc};
use hookflash_ami::OriginateResponse;

use super::wire::{known, leg, originate_failure};
use super::{AmiTranslator, OriginateKind};
use hookflash_provider::{CallId, LegEvent, LegEventKind, OriginateFailure, OriginateOutcome};

impl AmiTranslator {
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
}
