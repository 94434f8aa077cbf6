//! The shape fixtures (`testdata/twilio-shapes`) against Twilio's OpenAPI description, and the
//! provider's requests and the fake's answers against the fixtures.

use std::collections::BTreeSet;
use std::path::PathBuf;

use hookflash_twilio::BridgeMode;
use serde_json::Value;

use crate::support::Rig;

fn testdata() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata"))
}

fn load(rel: &str) -> Value {
    let text = std::fs::read_to_string(testdata().join(rel)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn spec_props(spec: &Value, schema: &str) -> BTreeSet<String> {
    keys(&spec["components"]["schemas"][schema]["properties"])
}

#[test]
fn example_bodies_have_exactly_the_spec_properties() {
    let spec = load("twilio/twilio_api_v2010.json");
    for (file, schema) in [
        ("twilio-shapes/call.example.json", "api.v2010.account.call"),
        (
            "twilio-shapes/participant.example.json",
            "api.v2010.account.conference.participant",
        ),
        (
            "twilio-shapes/recording.example.json",
            "api.v2010.account.call.call_recording",
        ),
        (
            "twilio-shapes/conference.example.json",
            "api.v2010.account.conference",
        ),
    ] {
        assert_eq!(keys(&load(file)), spec_props(&spec, schema), "{file}");
    }
    let ops = load("twilio-shapes/operations.json");
    let error: BTreeSet<String> = ops["UpdateCallRecording"]["response"]["408"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys(&load("twilio-shapes/error.example.json")), error);
    let page: BTreeSet<String> = ops["ListCall"]["response"]["200"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .filter(|k| k != "calls")
        .collect();
    assert_eq!(keys(&load("twilio-shapes/page.example.json")), page);
}

#[test]
fn operations_fixture_matches_the_spec() {
    let spec = load("twilio/twilio_api_v2010.json");
    let ops = load("twilio-shapes/operations.json");
    for (id, op) in ops.as_object().unwrap() {
        let path = op["path"].as_str().unwrap();
        let method = op["method"].as_str().unwrap().to_ascii_lowercase();
        let spec_op = &spec["paths"][path][method.as_str()];
        assert_eq!(spec_op["operationId"].as_str(), Some(id.as_str()), "{id}");
    }
    assert_eq!(
        ops["CreateCall"]["required"],
        serde_json::json!(["From", "To"])
    );
    assert_eq!(ops["CreateCall"]["success"], serde_json::json!([201]));
}

#[tokio::test]
async fn create_call_request_follows_the_documented_shape() {
    let mut rig = Rig::start(BridgeMode::Dial).await;
    let call_id = rig.originate().await;
    rig.connected().await;
    let ops = load("twilio-shapes/operations.json");
    let create = rig
        .fake
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path.ends_with("/Calls.json"))
        .unwrap();
    let allowed: BTreeSet<String> = ops["CreateCall"]["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    for (name, _) in &create.form {
        assert!(
            allowed.contains(name),
            "{name} is not a CreateCall parameter"
        );
    }
    for required in ["To", "From"] {
        assert!(create.value(required).is_some(), "{required}");
    }
    // An array parameter of the Calls API: one value per repeated key.
    assert_eq!(
        create.values("StatusCallbackEvent"),
        ["initiated", "ringing", "answered", "completed"]
    );
    assert_eq!(create.value("To"), Some(crate::support::AGENT));
    let url = create.value("Url").unwrap();
    assert!(url.starts_with(&format!("{}/twilio/voice/{call_id}?", rig.public_url)));
    assert_eq!(
        create.value("StatusCallback").unwrap(),
        format!("{}/twilio/status/{call_id}?leg=agent", rig.public_url)
    );
    assert_eq!(create.value("Timeout"), Some("20"));
    assert_eq!(create.status, 201);
}

#[tokio::test]
async fn fake_answers_have_the_fixture_shapes() {
    let mut rig = Rig::start(BridgeMode::Dial).await;
    rig.originate().await;
    rig.connected().await;
    let ops = load("twilio-shapes/operations.json");
    let call_props: BTreeSet<String> = ops["FetchCall"]["response"]["200"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let http = reqwest::Client::new();
    let url = format!(
        "{}/2010-04-01/Accounts/{}/Calls.json?Status=in-progress",
        rig.fake.base_url(),
        crate::support::ACCOUNT
    );
    let page: Value = http
        .get(&url)
        .basic_auth(crate::support::ACCOUNT, Some(crate::support::TOKEN))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let calls = page["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2);
    for call in calls {
        assert_eq!(keys(call), call_props);
        assert!(hookflash_twilio::is_sid(
            call["sid"].as_str().unwrap(),
            "CA"
        ));
    }
    // Without credentials: Twilio's 401 error body.
    let resp = http.get(&url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(keys(&body), keys(&load("twilio-shapes/error.example.json")));
    assert_eq!(body["code"], 20003);
}

/// The operation a recorded request is, by method and path shape.
fn operation(method: &str, path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix("/2010-04-01/Accounts/")?;
    let segs: Vec<&str> = rest.split('/').skip(1).collect();
    Some(match (method, segs.as_slice()) {
        ("POST", ["Calls.json"]) => "CreateCall",
        ("GET", ["Calls.json"]) => "ListCall",
        ("GET", ["Calls", _]) => "FetchCall",
        ("POST", ["Calls", _]) => "UpdateCall",
        ("GET", ["Conferences.json"]) => "ListConference",
        ("POST", ["Conferences", _, "Participants.json"]) => "CreateParticipant",
        ("POST", ["Conferences", _, "Participants", _]) => "UpdateParticipant",
        ("DELETE", ["Conferences", _, "Participants", _]) => "DeleteParticipant",
        ("POST", ["Calls", _, "Recordings.json"]) => "CreateCallRecording",
        ("POST", ["Calls", _, "Recordings", _]) => "UpdateCallRecording",
        _ => return None,
    })
}

fn names(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn every_request_of_a_busy_call_is_a_documented_operation() {
    use hookflash_provider::{CallProvider, LegId, MediaDirection, RecordingRequest};
    let mut rig = Rig::start(BridgeMode::Conference).await;
    let call_id = rig.originate().await;
    let (agent, customer) = rig.connected().await;
    let leg = |s: &str| LegId::new(s).unwrap();
    rig.wait_for("bridged", |e| {
        e.leg.as_str() == customer && e.kind.name() == "bridged"
    })
    .await;
    rig.provider.hold(&leg(&customer)).await.unwrap();
    rig.provider.unhold(&leg(&customer)).await.unwrap();
    rig.provider
        .mute(&leg(&agent), MediaDirection::In)
        .await
        .unwrap();
    let rec = rig
        .provider
        .start_recording(RecordingRequest::new(call_id, leg(&agent)))
        .await
        .unwrap();
    rig.provider
        .pause_recording(&leg(&agent), &rec)
        .await
        .unwrap();
    rig.provider
        .stop_recording(&leg(&agent), &rec)
        .await
        .unwrap();
    rig.provider.send_dtmf(&leg(&agent), "5").await.unwrap();
    rig.settle().await;
    rig.provider.snapshot().await.unwrap();
    rig.provider.hangup(&leg(&customer), None).await.unwrap();
    rig.settle().await;

    let ops = load("twilio-shapes/operations.json");
    let requests = rig.fake.requests();
    let mut used = BTreeSet::new();
    for r in &requests {
        let op = operation(&r.method, &r.path)
            .unwrap_or_else(|| panic!("{} {} is not an operation we know", r.method, r.path));
        used.insert(op);
        let spec = &ops[op];
        assert!(
            (200..300).contains(&r.status),
            "{op} answered {} ({:?})",
            r.status,
            r.form
        );
        let params = names(&spec["params"]);
        for (name, _) in &r.form {
            assert!(
                params.contains(name),
                "{op}: {name} is not a documented parameter"
            );
        }
        for required in names(&spec["required"]) {
            assert!(r.value(&required).is_some(), "{op}: {required} missing");
        }
        let query = names(&spec["query"]);
        for (name, _) in &r.query {
            assert!(query.contains(name), "{op}: query {name} is not documented");
        }
        let success: Vec<u16> = spec["success"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| u16::try_from(c.as_u64().unwrap()).unwrap())
            .collect();
        assert!(
            success.contains(&r.status),
            "{op}: {} is not a documented success",
            r.status
        );
    }
    for op in [
        "CreateCall",
        "CreateParticipant",
        "UpdateParticipant",
        "CreateCallRecording",
        "UpdateCallRecording",
        "UpdateCall",
        "ListCall",
    ] {
        assert!(used.contains(op), "{op} was not exercised");
    }
}
