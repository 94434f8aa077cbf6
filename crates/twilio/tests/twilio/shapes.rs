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
