//! End to end over ARI: the real `api-server` binary against the fake ARI server replaying
//! `ari/ari-agent-first-bridge.jsonl`. The provider chooses its own channel, bridge and call
//! ids; the fake learns them from the requests (`channelId`, `bridgeId`, `appArgs`) and
//! replays the recording with them.
//!
//! The capture placed the customer's leg by originate; the api-server's provider uses its
//! default, `channels/create` + `dial` once the leg is in Stasis. The test turns the recording
//! into what Asterisk shows for that: the create answered as the originate was, the leg's
//! `StasisStart` (still `Down`) right after it, then the `dial`; the rest is as recorded.

mod e2e_common;

use std::time::{Duration, Instant};

use e2e_common::*;
use hookflash_ari::{FakeAri, Transcript};
use serde_json::{Value, json};

/// The expected calls of an ARI scenario.
fn expected_ari(name: &str) -> Value {
    let text = std::fs::read_to_string(fixtures_dir().join("expected.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let calls = v["ari"][name]["calls"].as_array().unwrap().clone();
    assert_eq!(calls.len(), 1, "one call per scenario");
    calls[0].clone()
}

fn ari_config(dir: &std::path::Path, ari_port: u16, listen: &str, db: &str) -> std::path::PathBuf {
    let text = format!(
        r#"listen = "{listen}"
database_url = "{db}"
jwt_secret = "Vq3xZk8Lr7TbQ0sYp4Hc9Jd6Fg1Ma5Ue2Ri8To7Yw4Ql0Mv3Xn6Bj9Kp"
phone_validation = "possible"

[[asterisk]]
name = "pbx1"
protocol = "ari"
host = "127.0.0.1"
port = {ari_port}
username = "ari"
secret = "aripass"
app = "hookflash"
dial_format = "digits"
"#
    );
    let path = dir.join("hookflash.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The recording with the customer's originate replaced by create, `StasisStart`, dial.
fn as_create_and_dial(raw: &str) -> Transcript {
    let lines: Vec<Value> = raw
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let is_customer_originate = |l: &Value| {
        l["kind"] == "http"
            && l["method"] == "POST"
            && l["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("/ari/channels?") && p.contains("appArgs=customer"))
    };
    let originate = lines.iter().find(|l| is_customer_originate(l)).unwrap();
    let customer = originate["response_body"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let is_customer_start = |l: &Value| {
        l["kind"] == "ws"
            && l["message"]["type"] == "StasisStart"
            && l["message"]["channel"]["id"] == customer.as_str()
    };
    let mut start = lines.iter().find(|l| is_customer_start(l)).unwrap().clone();
    start["message"]["channel"]["state"] = json!("Down");
    let mut out = Vec::new();
    for line in &lines {
        if is_customer_start(line) {
            continue;
        }
        if is_customer_originate(line) {
            let mut create = line.clone();
            let path = create["path"].as_str().unwrap().replacen(
                "/ari/channels?",
                "/ari/channels/create?",
                1,
            );
            create["path"] = json!(path);
            out.push(create);
            out.push(start.clone());
            out.push(json!({"kind": "http", "method": "POST",
                "path": format!("/ari/channels/{customer}/dial?timeout=30"),
                "status": 204, "response_body": null}));
            continue;
        }
        out.push(line.clone());
    }
    let text: Vec<String> = out.iter().map(Value::to_string).collect();
    Transcript::from_jsonl(&text.join("\n")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ari_agent_first_bridge() {
    let scenario = "ari-agent-first-bridge";
    let expected = expected_ari(scenario);
    let raw =
        std::fs::read_to_string(fixtures_dir().join(format!("ari/{scenario}.jsonl"))).unwrap();
    let transcript = as_create_and_dial(&raw);
    let fake = FakeAri::builder(transcript)
        .credentials("ari", "aripass")
        .start()
        .await
        .unwrap();
    let ari_port: u16 = fake.base_url().rsplit(':').next().unwrap().parse().unwrap();

    let dir = temp_dir(scenario);
    let listen = format!("127.0.0.1:{}", free_port());
    let db = format!("sqlite://{}/hookflash.db?mode=rwc", dir.display());
    let config = ari_config(&dir, ari_port, &listen, &db);
    let password = "e2e-admin-password".to_owned();
    let mut api = Proc::spawn(
        "api-server",
        &api_server_bin(),
        &["--config", config.to_str().unwrap()],
        &[("HOOKFLASH_ADMIN_PASSWORD", password.clone())],
        &dir,
    );
    let base = format!("http://{listen}");
    let http = reqwest::Client::new();
    wait_healthy(&http, &format!("{base}/healthz"), &mut api).await;
    let client = Api::login(&base, "admin", &password).await;
    let agent = client.agent("PJSIP/agent1001").await;
    let mut ws = client.ws().await;
    let call_id = client.call(&agent, "+15551215102").await;

    // Up to the bridge: the recording then shows the commands the conformance capture sent.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut messages = Vec::new();
    while !messages
        .iter()
        .any(|m: &Value| m["call"]["state"] == "connected")
    {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(v) = ws.next_json(left).await else {
            panic!(
                "the call never connected: {messages:?}; fake saw {:?}",
                fake.received()
            );
        };
        if let Some(v) = ws.follow(&call_id, v) {
            messages.push(v);
        }
    }
    for action in [
        "hold/start",
        "hold/stop",
        "mute/start",
        "mute/stop",
        "record/start",
    ] {
        // The call's row learns its legs from the pipeline, just after the WebSocket update.
        let until = Instant::now() + Duration::from_secs(10);
        let (s, v) = loop {
            let (s, v) = client
                .send(
                    reqwest::Method::PUT,
                    &format!("/api/v1/calls/{call_id}/{action}"),
                    Some(json!({})),
                )
                .await;
            if s != 409 || Instant::now() > until {
                break (s, v);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!((200..300).contains(&s), "{action}: {s} {v}");
    }
    // The capture's own check of the stored recording (the fake learned the call id).
    let stored = http
        .get(format!(
            "{}/ari/recordings/stored/hookflash-bridge-{call_id}",
            fake.base_url()
        ))
        .basic_auth("ari", Some("aripass"))
        .send()
        .await
        .unwrap();
    assert_eq!(stored.status(), 200);

    let rest = ws.until_ended(&call_id, Duration::from_secs(30)).await;
    messages.extend(rest);
    let states = check_walk(&messages, &expected);
    assert!(states.iter().any(|s| s == "on_hold"), "{states:?}");

    let (s, detail) = client
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/calls/{call_id}"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{detail}");
    let call = &detail["call"];
    assert_eq!(call["state"], "ended", "{detail}");
    assert_eq!(call["direction"], "outbound");
    assert_eq!(call["disposition"], expected["disposition"], "{detail}");
    assert_eq!(call["hung_up_by"], expected["hung_up_by"], "{detail}");
    // The pipeline lists the live channels when it starts (reconcile): not in the recording.
    let unmatched: Vec<_> = fake
        .received()
        .into_iter()
        .filter(|r| {
            let reconcile_listing = r.method == "GET" && r.path == "/ari/channels";
            !r.matched && !reconcile_listing
        })
        .collect();
    assert!(
        unmatched.is_empty(),
        "requests the recording lacks: {unmatched:?}"
    );
    ws.close().await;
    assert!(api.terminate());
    let _ = std::fs::remove_dir_all(&dir);
}
