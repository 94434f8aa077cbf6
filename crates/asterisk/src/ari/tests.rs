//! The provider against the fake ARI server: resync after a reconnect.

use futures::StreamExt;
use hookflash_ari::{Client, FakeAri, Transcript};
use hookflash_provider::{CallProvider, LegState, ProviderEvent};
use serde_json::json;

use super::{AriProvider, AriProviderConfig};

const CALL: &str = "5af92377-4fc6-49f3-8582-8f3d5f62c1f0";

fn channel(id: &str, name: &str, state: &str, app_data: &str) -> serde_json::Value {
    json!({
        "id": id, "name": name, "state": state, "protocol_id": "",
        "caller": {"name": "", "number": "18005550100"},
        "connected": {"name": "", "number": ""}, "accountcode": "",
        "dialplan": {"context": "hookflash-agents", "exten": "s", "priority": 1,
                     "app_name": "Stasis", "app_data": app_data},
        "creationtime": "2026-11-22T02:48:24.175+0000", "language": "en"
    })
}

fn transcript() -> Transcript {
    let ours = channel(
        "1795315704.624",
        "PJSIP/agent1001-0000026e",
        "Up",
        &format!("hookflash,agent,{CALL}"),
    );
    let foreign = channel(
        "1795315799.700",
        "PJSIP/agent1002-00000300",
        "Up",
        "other,x",
    );
    let bridge = json!({
        "id": "b-1", "technology": "simple_bridge", "bridge_type": "mixing",
        "bridge_class": "stasis", "creator": "Stasis", "name": "", "channels": ["1795315704.624"],
        "creationtime": "2026-11-22T02:48:25.205+0000"
    });
    let lines = [
        json!({"t": 0.0, "kind": "ws", "conn": "ws1", "message": {
            "type": "StasisStart", "application": "hookflash",
            "timestamp": "2026-11-22T02:48:25.204+0000",
            "args": ["agent", CALL], "channel": ours.clone()}}),
        json!({"t": 1.0, "kind": "http", "method": "GET", "path": "/ari/channels",
               "request_body": null, "status": 200, "response_body": [ours, foreign]}),
        json!({"t": 1.0, "kind": "http", "method": "GET", "path": "/ari/bridges",
               "request_body": null, "status": 200, "response_body": [bridge]}),
    ];
    let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    Transcript::from_jsonl(&text.join("\n")).unwrap()
}

#[tokio::test]
async fn a_reconnect_is_reported_and_followed_by_the_live_legs() {
    let fake = FakeAri::builder(transcript())
        .gate_events_on_requests(false)
        .start()
        .await
        .unwrap();
    let client = Client::builder(fake.base_url(), "ari", "aripass")
        .build()
        .unwrap();
    let provider = AriProvider::connect(client, AriProviderConfig::new("hookflash"))
        .await
        .unwrap();
    let mut events = provider.events();
    // The StasisStart of our agent leg.
    let first = events.next().await.unwrap();
    assert!(matches!(first, ProviderEvent::Leg(_)), "{first:?}");
    fake.drop_websockets();
    let mut disconnected = false;
    let legs = loop {
        match tokio::time::timeout(std::time::Duration::from_secs(10), events.next())
            .await
            .unwrap()
            .unwrap()
        {
            ProviderEvent::Disconnected { .. } => disconnected = true,
            ProviderEvent::Resynced { legs } => break legs,
            _ => {}
        }
    };
    assert!(disconnected);
    assert!(provider.is_connected());
    // Only our application's leg, with its call id, state and bridge.
    assert_eq!(legs.len(), 1, "{legs:?}");
    assert_eq!(legs[0].leg.as_str(), "1795315704.624");
    assert_eq!(
        legs[0].keys.call_id.map(|c| c.to_string()).as_deref(),
        Some(CALL)
    );
    assert_eq!(legs[0].state, LegState::Up);
    assert_eq!(legs[0].bridge.as_deref(), Some("b-1"));
    let asked: Vec<String> = fake.received().iter().map(|r| r.path.clone()).collect();
    assert_eq!(asked, ["/ari/channels", "/ari/bridges"]);
}

/// The requests of the commands no capture shows, each answered 204.
fn command_transcript() -> Transcript {
    let reqs = [
        ("POST", "/ari/channels/c1/dtmf?dtmf=12%23"),
        ("POST", "/ari/channels/a1/mute?direction=in"),
        ("DELETE", "/ari/channels/a1/mute?direction=in"),
        ("POST", "/ari/channels/c1/answer"),
        ("POST", "/ari/recordings/live/r1/pause"),
        ("DELETE", "/ari/recordings/live/r1/pause"),
        ("POST", "/ari/recordings/live/r1/stop"),
        (
            "POST",
            "/ari/channels/c1/continue?context=hookflash-transfer&extension=1002&priority=1",
        ),
        ("DELETE", "/ari/channels/a1?reason=normal"),
        (
            "POST",
            "/ari/channels/c2/continue?context=parkedcalls&extension=700&priority=1",
        ),
        ("DELETE", "/ari/channels/a2?reason=normal"),
        ("DELETE", "/ari/channels/c3?reason_code=17"),
    ];
    let text: Vec<String> = reqs
        .iter()
        .map(|(m, p)| {
            json!({"t": 0.0, "kind": "http", "method": m, "path": p,
                   "request_body": null, "status": 204, "response_body": null})
            .to_string()
        })
        .collect();
    Transcript::from_jsonl(&text.join("\n")).unwrap()
}

#[tokio::test]
async fn commands_send_the_documented_requests_and_report_what_ari_does_not() {
    use hookflash_provider::{
        BlindTransferRequest, CallId, HangupCause, LegEventKind, LegId, MediaDirection,
        ParkRequest, TransferKind,
    };
    let fake = FakeAri::builder(command_transcript())
        .gate_events_on_requests(false)
        .start()
        .await
        .unwrap();
    let client = Client::builder(fake.base_url(), "ari", "aripass")
        .build()
        .unwrap();
    let p = AriProvider::connect(client, AriProviderConfig::new("hookflash"))
        .await
        .unwrap();
    let mut events = p.events();
    let leg = |s: &str| LegId::new(s).unwrap();
    let call = CallId::new_random();
    p.send_dtmf(&leg("c1"), "12#").await.unwrap();
    p.mute(&leg("a1"), MediaDirection::In).await.unwrap();
    p.unmute(&leg("a1"), MediaDirection::In).await.unwrap();
    p.answer(&leg("c1")).await.unwrap();
    p.pause_recording(&leg("a1"), "r1").await.unwrap();
    p.resume_recording(&leg("a1"), "r1").await.unwrap();
    p.stop_recording(&leg("a1"), "r1").await.unwrap();
    p.blind_transfer(BlindTransferRequest {
        call_id: call,
        leg: leg("c1"),
        transferer: Some(leg("a1")),
        destination: "1002".to_owned(),
        context: None,
    })
    .await
    .unwrap();
    p.park(ParkRequest {
        call_id: call,
        leg: leg("c2"),
        parker: Some(leg("a2")),
        lot: None,
        timeout: None,
    })
    .await
    .unwrap();
    p.hangup(&leg("c3"), Some(HangupCause::from_code(17)))
        .await
        .unwrap();
    assert!(
        p.send_dtmf(&leg("c1"), "1x").await.is_err(),
        "bad digits never reach Asterisk"
    );
    let unmatched: Vec<_> = fake.received().into_iter().filter(|r| !r.matched).collect();
    assert!(unmatched.is_empty(), "{unmatched:?}");
    assert_eq!(fake.remaining_http(), 0);

    let mut kinds = Vec::new();
    while let Ok(Some(ProviderEvent::Leg(e))) =
        tokio::time::timeout(std::time::Duration::from_millis(200), events.next()).await
    {
        kinds.push((e.leg.to_string(), e.kind));
    }
    let names: Vec<(&str, &str)> = kinds.iter().map(|(l, k)| (l.as_str(), k.name())).collect();
    assert_eq!(
        names,
        [
            ("c1", "dtmf"),
            ("c1", "dtmf"),
            ("c1", "dtmf"),
            ("a1", "muted"),
            ("a1", "unmuted"),
            ("a1", "recording_paused"),
            ("a1", "recording_resumed"),
            ("c1", "transferred"),
            ("c2", "parked"),
        ]
    );
    assert!(matches!(
        &kinds[7].1,
        LegEventKind::Transferred { kind: TransferKind::Blind, to: Some(to), .. } if to == "1002"
    ));
}
