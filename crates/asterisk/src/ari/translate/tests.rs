use std::collections::HashSet;

use hookflash_provider::{HangupCause, HangupSide};
use proptest::prelude::*;

use super::*;

fn transcript_events(path: &str) -> Vec<Event> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["kind"] == "ws")
        .map(|v| Event::from_value(v["message"].clone()).unwrap())
        .collect()
}

fn fixture_events(name: &str) -> Vec<Event> {
    transcript_events(&format!(
        "{}/../../testdata/asterisk-22/ari/{name}.jsonl",
        env!("CARGO_MANIFEST_DIR")
    ))
}

/// The project's own capture of `ami/inbound-queue` over ARI (`subscribeAll`).
fn inbound_events() -> Vec<Event> {
    transcript_events(&format!(
        "{}/tests/data/ari-inbound-queue.jsonl",
        env!("CARGO_MANIFEST_DIR")
    ))
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default()
}

fn translate(t: &mut AriTranslator, events: &[Event]) -> Vec<LegEvent> {
    events.iter().flat_map(|e| t.on_event(e, now())).collect()
}

fn kinds(t: &mut AriTranslator, events: &[Event]) -> Vec<LegEventKind> {
    translate(t, events)
        .into_iter()
        .map(|e| e.kind)
        .filter(|k| !matches!(k, LegEventKind::VariableSet { .. }))
        .collect()
}

#[test]
fn endpoints_drop_the_channel_sequence() {
    assert_eq!(endpoint_of("PJSIP/agent1001-0000026e"), "PJSIP/agent1001");
    assert_eq!(endpoint_of("PJSIP/trunk-0000026f"), "PJSIP/trunk");
    assert_eq!(
        endpoint_of("Local/1002@hookflash-transfer-00000000;1"),
        "Local/1002@hookflash-transfer-00000000;1"
    );
}

#[test]
fn ari_timestamps_parse() {
    let t = parse_time("2026-11-22T02:48:25.205+0000").unwrap();
    assert_eq!(t.timestamp_millis() % 1000, 205);
}

#[test]
fn a_busy_customer_is_a_remote_hangup_with_cause_17() {
    let mut t = AriTranslator::new();
    let call: CallId = "ac76f9c6-1a13-49f8-a3d9-8519246b0832".parse().unwrap();
    t.stage("1795315734.632", call, LegRole::Customer, None);
    let kinds = kinds(&mut t, &fixture_events("ari-dial-busy"));
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

#[test]
fn agent_first_bridge_events_translate_in_order() {
    let call: CallId = "5af92377-4fc6-49f3-8582-8f3d5f62c1f0".parse().unwrap();
    let staged = || {
        let mut t = AriTranslator::new();
        t.stage("1795315704.624", call, LegRole::Agent, None);
        t.stage("1795315705.625", call, LegRole::Customer, None);
        t
    };
    let events = fixture_events("ari-agent-first-bridge");
    let names: Vec<&str> = kinds(&mut staged(), &events)
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
            "recording_started", // on the agent, the one in the recorded bridge
            "recording_stopped",
            "hangup_requested",
            "unbridged",
            "hung_up", // the customer hangs up
            "hangup_requested",
            "unbridged",
            "hung_up", // the provider ends the agent
        ]
    );
    let all = translate(&mut staged(), &events);
    // The customer's BYE is remote, the provider's DELETE of the agent is soft.
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
    assert!(all.iter().all(|e| e.keys.linkedid.is_none()));
    let recorded: Vec<&str> = all
        .iter()
        .filter(|e| matches!(e.kind, LegEventKind::RecordingStarted { .. }))
        .map(|e| e.leg.as_str())
        .collect();
    assert_eq!(recorded, ["1795315704.624"]);
}

#[test]
fn time_comes_from_the_event_else_from_the_caller() {
    let mut t = AriTranslator::new();
    let call = CallId::new_random();
    t.stage("1795315734.632", call, LegRole::Customer, None);
    let events = fixture_events("ari-dial-busy");
    let out = translate(&mut t, &events);
    assert!(
        out.iter().all(|e| e.at != now()),
        "events carry their own time"
    );
    let late = now() + chrono::TimeDelta::seconds(7);
    let e = t
        .leg_event("1795315734.632", LegEventKind::Held, late)
        .unwrap();
    assert_eq!(e.at, late);
    assert_eq!(e.keys.call_id, Some(call));
}

/// `ami/inbound-queue` over ARI: the carrier's call into DID 18005550100 is queued to
/// agent1001 (answers) and agent1002 (never answers); the caller hangs up.
#[test]
fn an_inbound_queue_call_is_one_conversation() {
    let mut t = AriTranslator::new();
    let out = translate(&mut t, &inbound_events());
    let root = "1796218039.0";
    assert!(
        out.iter().all(|e| e.keys.linkedid.as_deref() == Some(root)),
        "every leg carries the conversation key"
    );
    assert!(out.iter().all(|e| e.keys.call_id.is_none()));
    /// A `Created`: leg, role, caller number, called number.
    type Created<'a> = (&'a str, Option<LegRole>, Option<&'a str>, Option<&'a str>);
    let created: Vec<Created<'_>> = out
        .iter()
        .filter_map(|e| match &e.kind {
            LegEventKind::Created {
                role,
                caller_number,
                called_number,
                ..
            } => Some((
                e.leg.as_str(),
                *role,
                caller_number.as_deref(),
                called_number.as_deref(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        created,
        [
            (
                root,
                Some(LegRole::Customer),
                Some("+15559870001"),
                Some("18005550100")
            ),
            ("1796218039.1", Some(LegRole::Agent), Some("1002"), None),
            ("1796218039.2", Some(LegRole::Agent), Some("1001"), None),
        ]
    );
    // The agents' `Created` keeps the time they were created, before the queue dialled them.
    let created_at = |leg: &str| {
        out.iter()
            .find(|e| e.leg.as_str() == leg && matches!(e.kind, LegEventKind::Created { .. }))
            .map(|e| e.at)
    };
    let dialled_at = out
        .iter()
        .find(|e| matches!(&e.kind, LegEventKind::Dialing { target: Some(t), .. } if t.as_str() == "1796218039.2"))
        .map(|e| e.at);
    assert!(created_at("1796218039.2") < dialled_at, "{out:#?}");
    let dialing: Vec<&str> = out
        .iter()
        .filter_map(|e| match &e.kind {
            LegEventKind::Dialing {
                target: Some(t), ..
            } if e.leg.as_str() == root => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(dialing, ["1796218039.1", "1796218039.2"]);
    let ends: Vec<(&str, HangupSide)> = out
        .iter()
        .filter_map(|e| match &e.kind {
            LegEventKind::HungUp { side, .. } => Some((e.leg.as_str(), *side)),
            _ => None,
        })
        .collect();
    assert_eq!(
        ends,
        [
            ("1796218039.1", HangupSide::Local),
            (root, HangupSide::Remote),
            ("1796218039.2", HangupSide::Local),
        ]
    );
    // Nothing of the call stays once it is over.
    assert_eq!(t.live_channels(), 0);
    assert!(t.bridges.is_empty());
}

#[test]
fn without_inbound_contexts_foreign_channels_are_not_reported() {
    let mut t = AriTranslator::new().with_inbound_contexts(Vec::<String>::new());
    assert!(translate(&mut t, &inbound_events()).is_empty());
    assert_eq!(t.live_channels(), 0);
}

#[test]
fn the_channel_bound_holds() {
    let mut t = AriTranslator::new()
        .with_max_channels(2)
        .with_inbound_contexts(Vec::<String>::new());
    // Channels whose end is never seen: only the newest two are kept.
    let events: Vec<Event> = inbound_events()
        .into_iter()
        .filter(|e| !matches!(e, Event::ChannelDestroyed(_)))
        .collect();
    translate(&mut t, &events);
    assert_eq!(t.live_channels(), 2);
    assert!(t.evicted_channels() >= 1);
}

proptest! {
    /// Any subsequence of a real stream (events lost, a capture started mid-call) is
    /// translated without a panic, every event it reports is on a leg that the full stream
    /// reports too, and the translator holds no more than the channels it saw.
    #[test]
    fn any_subsequence_of_a_stream_is_safe(keep in proptest::collection::vec(any::<bool>(), 0..120)) {
        let events = inbound_events();
        let all: HashSet<String> = translate(&mut AriTranslator::new(), &events)
            .into_iter()
            .map(|e| e.leg.to_string())
            .collect();
        let some: Vec<Event> = events
            .into_iter()
            .zip(keep.iter().chain(std::iter::repeat(&true)))
            .filter(|(_, k)| **k)
            .map(|(e, _)| e)
            .collect();
        let mut t = AriTranslator::new().with_max_channels(8);
        for e in translate(&mut t, &some) {
            prop_assert!(all.contains(e.leg.as_str()), "{e:?}");
        }
        prop_assert!(t.live_channels() <= 8);
    }

    /// The same stream twice (a replay) yields the same events: nothing reads a clock.
    #[test]
    fn translation_is_deterministic(skip in 0usize..40) {
        let events: Vec<Event> = inbound_events().into_iter().skip(skip).collect();
        let a = translate(&mut AriTranslator::new(), &events);
        let b = translate(&mut AriTranslator::new(), &events);
        prop_assert_eq!(a, b);
    }
}
