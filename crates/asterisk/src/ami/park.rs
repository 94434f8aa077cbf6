//! The parking lot over AMI: `ParkedCalls` lists it (one `ParkedCall` event per parked leg);
//! reading the listing is a plain function, tested without a socket.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use hookflash_ami::{Action, Event};
use hookflash_provider::{CallId, LegId, ParkedCall};

/// `ParkedCalls`: every parked leg of every lot, as `ParkedCall` events.
pub(crate) fn parked_calls() -> Action {
    Action::new("ParkedCalls")
}

/// Reads a `ParkedCalls` listing taken at `now`: one [`ParkedCall`] per `ParkedCall` event with
/// a parkee and a space. `call_of` gives our call id of a parkee's leg (the translator knows the
/// legs it has seen carry `HOOKFLASH_CALL_ID`). Asterisk reports the time left
/// (`ParkingTimeout`) and the time spent (`ParkingDuration`), both in seconds: the park's whole
/// timeout is their sum and it started `ParkingDuration` ago (checked arithmetic: odd values
/// leave the field unknown, never a panic).
pub(crate) fn parked_from(
    events: &[Event],
    now: DateTime<Utc>,
    call_of: impl Fn(&LegId) -> Option<CallId>,
) -> Vec<ParkedCall> {
    let mut out = Vec::new();
    for event in events {
        let Event::ParkedCall(e) = event else {
            continue;
        };
        let Some(leg) = e
            .parkee
            .as_ref()
            .and_then(|p| p.uniqueid())
            .and_then(|u| LegId::new(u).ok())
        else {
            continue;
        };
        let Some(slot) = e
            .parking_space
            .as_ref()
            .map(|s| s.to_str_lossy().into_owned())
            .filter(|s| !s.is_empty())
        else {
            continue;
        };
        let spent = e.parking_duration.and_then(|d| u64::try_from(d).ok());
        let left = e.parking_timeout.and_then(|t| u64::try_from(t).ok());
        let mut parked = ParkedCall::new(slot, leg.clone());
        parked.call_id = call_of(&leg);
        parked.lot = e
            .parkinglot
            .as_ref()
            .map(|l| l.to_str_lossy().into_owned())
            .filter(|l| !l.is_empty());
        parked.parked_at = spent
            .and_then(|s| i64::try_from(s).ok())
            .and_then(TimeDelta::try_seconds)
            .and_then(|d| now.checked_sub_signed(d));
        parked.timeout = spent
            .zip(left)
            .and_then(|(s, l)| s.checked_add(l))
            .map(Duration::from_secs);
        parked.parker = e
            .parker_dial_string
            .as_ref()
            .map(|p| p.to_str_lossy().into_owned())
            .filter(|p| !p.is_empty());
        out.push(parked);
    }
    out
}

#[cfg(test)]
mod tests {
    use hookflash_ami::Message;

    use super::*;

    /// Events from blank-line separated `Header: value` blocks.
    fn events(text: &str) -> Vec<Event> {
        text.split("\n\n")
            .filter(|b| !b.trim().is_empty())
            .filter_map(|block| {
                let pairs: Vec<(&str, &str)> =
                    block.lines().filter_map(|l| l.split_once(": ")).collect();
                Event::from_message(Message::from_pairs(pairs)).ok()
            })
            .collect()
    }

    #[test]
    fn a_listing_gives_slot_leg_call_since_timeout_and_parker() {
        // As Asterisk 22 lists a parked call (ParkedCalls), trimmed to the headers read.
        let text = "Event: ParkedCall\nActionID: 7\nParkeeChannel: PJSIP/trunk-00000003\n\
ParkeeUniqueid: 1796218337.3\nParkerDialString: PJSIP/agent1001\nParkinglot: default\n\
ParkingSpace: 701\nParkingTimeout: 50\nParkingDuration: 10\n\n\
Event: ParkedCall\nActionID: 7\nParkeeChannel: PJSIP/x-1\nParkeeUniqueid: 9.9\n\
ParkingSpace: 702\nParkingTimeout: -5\nParkingDuration: 99999999999999999\n\n\
Event: ParkedCallsComplete\nActionID: 7\nTotal: 2\n\n";
        let now = Utc::now();
        let call = CallId::new_random();
        let listed = parked_from(&events(text), now, |l| {
            (l.as_str() == "1796218337.3").then_some(call)
        });
        assert_eq!(listed.len(), 2, "{listed:?}");
        let p = &listed[0];
        assert_eq!(p.slot, "701");
        assert_eq!(p.leg.as_str(), "1796218337.3");
        assert_eq!(p.call_id, Some(call));
        assert_eq!(p.lot.as_deref(), Some("default"));
        assert_eq!(p.timeout, Some(Duration::from_secs(60)));
        assert_eq!(p.parked_at, Some(now - TimeDelta::seconds(10)));
        assert_eq!(p.parker.as_deref(), Some("PJSIP/agent1001"));
        // Odd numbers leave the fields unknown; a leg of nobody's call has no call id.
        let q = &listed[1];
        assert_eq!((q.slot.as_str(), q.call_id), ("702", None));
        assert_eq!((q.timeout, q.parked_at), (None, None));
    }
}
