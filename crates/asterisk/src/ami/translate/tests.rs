//! The translator on the captured transcripts of `testdata/asterisk-22`.

use chrono::{TimeDelta, Utc};
use hookflash_ami::{Event, decode_all};
use hookflash_provider::{
    DialOutcome, OriginateFailure, OriginateOutcome, TransferKind, TransferOutcome, UnparkReason,
};
use proptest::prelude::*;

use super::wire::{endpoint_of, local_exten, parse_hms};
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
