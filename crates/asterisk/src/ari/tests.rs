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
        ("GET", "/ari/channels/a2"),
        (
            "GET",
            "/ari/channels/c2/variable?variable=DIALPLAN_EXISTS%28hookflash-park%2Cs%2C1%29",
        ),
        ("GET", "/ari/deviceStates/park:701@parkedcalls"),
        ("GET", "/ari/deviceStates/park:702@parkedcalls"),
        (
            "POST",
            "/ari/channels/c2/variable?variable=HOOKFLASH_PARKER&value=PJSIP%2Fagent1002",
        ),
        (
            "POST",
            "/ari/channels/c2/variable?variable=HOOKFLASH_PARK_SLOT&value=702",
        ),
        (
            "POST",
            "/ari/channels/c2/variable?variable=HOOKFLASH_PARK_APP&value=hookflash",
        ),
        (
            "POST",
            "/ari/channels/c2/variable?variable=HOOKFLASH_PARK_TIMEOUT&value=45",
        ),
        (
            "POST",
            "/ari/channels/c2/variable?variable=HOOKFLASH_PARK_LOT&value=",
        ),
        (
            "POST",
            "/ari/channels/c2/continue?context=hookflash-park&extension=s&priority=1",
        ),
        ("DELETE", "/ari/channels/a2?reason=normal"),
        ("DELETE", "/ari/channels/c3?reason_code=17"),
    ];
    let mut text: Vec<String> = reqs
        .iter()
        .map(|(m, p)| {
            json!({"t": 0.0, "kind": "http", "method": m, "path": p,
                   "request_body": null, "status": 204, "response_body": null})
            .to_string()
        })
        .collect();
    // The blind transfer's check: does 1002 exist in the transfer context? (read on the
    // customer's leg; Asterisk 22 answers {"value":"1"}). The call is not one of the
    // provider's (no bridge), so nothing else is sent.
    text.insert(7, exists_entry("c1", "1002", "1"));
    // Before parking: the parker's channel (its endpoint is called back on timeout), and the
    // park context exists.
    let answers = [
        (
            "/ari/channels/a2",
            channel("a2", "PJSIP/agent1002-00000001", "Up", "hookflash,agent,x"),
        ),
        (
            "/ari/channels/c2/variable?variable=DIALPLAN_EXISTS%28hookflash-park%2Cs%2C1%29",
            json!({"value": "1"}),
        ),
        // The first free space is the provider's slot (701 is taken by someone else).
        (
            "/ari/deviceStates/park:701@parkedcalls",
            json!({"name": "park:701@parkedcalls", "state": "INUSE"}),
        ),
        (
            "/ari/deviceStates/park:702@parkedcalls",
            json!({"name": "park:702@parkedcalls", "state": "NOT_INUSE"}),
        ),
    ];
    for line in &mut text {
        for (path, body) in &answers {
            if line.contains(&format!("\"path\":\"{path}\"")) {
                let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
                v["status"] = json!(200);
                v["response_body"] = body.clone();
                *line = v.to_string();
            }
        }
    }
    Transcript::from_jsonl(&text.join("\n")).unwrap()
}

/// `GET /channels/{leg}/variable` of `DIALPLAN_EXISTS(hookflash-transfer,<exten>,1)`, answered
/// `value` as the test peer answers it.
fn exists_entry(leg: &str, exten: &str, value: &str) -> String {
    json!({"t": 0.0, "kind": "http", "method": "GET",
           "path": format!("/ari/channels/{leg}/variable?variable=DIALPLAN_EXISTS%28hookflash-transfer%2C{exten}%2C1%29"),
           "request_body": null, "status": 200, "response_body": {"value": value}})
    .to_string()
}

/// A blind transfer to an extension the transfer context lacks is refused before the customer
/// moves (no continue, no hangup of the agent, no Transferred), and a request cannot name
/// another context or a trunk.
#[tokio::test]
async fn a_transfer_to_a_missing_extension_moves_nobody() {
    use hookflash_provider::{
        AttendedTransferRequest, BlindTransferRequest, CallId, LegId, ProviderError,
    };
    let text = [
        exists_entry("c1", "9999", "0"),
        exists_entry("a1", "9999", "0"),
    ];
    let fake = FakeAri::builder(Transcript::from_jsonl(&text.join("\n")).unwrap())
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
    let blind = |destination: &str| BlindTransferRequest {
        call_id: call,
        leg: leg("c1"),
        transferer: Some(leg("a1")),
        destination: destination.to_owned(),
    };
    match p.blind_transfer(blind("9999")).await {
        Err(ProviderError::InvalidRequest { field, reason }) => {
            assert_eq!(field, "destination");
            assert!(reason.contains("hookflash-transfer"), "{reason}");
        }
        other => panic!("expected InvalidRequest, got {other:?}"),
    }
    for bad in [
        "1002,1)",
        "PJSIP/5551203005@trunk-offline",
        "Local/100@default",
    ] {
        assert!(
            matches!(
                p.blind_transfer(blind(bad)).await,
                Err(ProviderError::InvalidRequest { .. })
            ),
            "{bad}"
        );
    }
    let attended = |destination: &str| AttendedTransferRequest {
        call_id: call,
        transferer: leg("a1"),
        transferee: Some(leg("c1")),
        destination: destination.to_owned(),
    };
    assert!(matches!(
        p.start_attended_transfer(attended("Local/100@default"))
            .await,
        Err(ProviderError::InvalidRequest { .. })
    ));
    let paths: Vec<String> = fake.received().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        ["/ari/channels/c1/variable"],
        "only the check was sent"
    );
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(200), events.next())
            .await
            .is_err(),
        "nothing reported"
    );
}

#[tokio::test]
async fn commands_send_the_documented_requests_and_report_what_ari_does_not() {
    use hookflash_provider::{
        BlindTransferRequest, CallId, HangupCause, LegId, MediaDirection, ParkRequest,
        ProviderError,
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
    assert!(matches!(
        p.blind_transfer(BlindTransferRequest {
            call_id: call,
            leg: leg("c1"),
            transferer: Some(leg("a1")),
            destination: "1002".to_owned(),
        })
        .await,
        Err(ProviderError::NotFound { .. })
    ));
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
            ("c2", "parked"),
        ]
    );
}
