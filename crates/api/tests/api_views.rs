//! One call model on REST and the WebSocket: the same keys and values for the same call, hold
//! time, recordings and transfers on REST too, inbound numbers in E.164 with their DID, and
//! compact WebSocket updates (only what changed), counted in messages and bytes per call.

mod api_common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use api_common::{Db, TestApp};
use axum::http::Method;
use futures::StreamExt;
use hookflash_api::PhoneValidation;
use hookflash_api::bus::BusMessage;
use hookflash_calls::CallRecord;
use hookflash_provider::{CallId, TenantId};
use hookflash_store::CallWrite;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn serve(app: &TestApp) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app.router.clone();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

async fn connect(addr: SocketAddr, token: &str) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/ws?token={token}"))
        .await
        .unwrap();
    ws
}

/// The next JSON frame that is not a heartbeat, with its size in bytes (bounded wait).
async fn next_frame(ws: &mut Ws) -> (Value, usize) {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a frame in time")
            .expect("the socket is open")
            .unwrap();
        if let Message::Text(t) = frame {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] != "heartbeat" {
                return (v, t.len());
            }
        }
    }
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// A tracker record with `patch` applied over plausible defaults.
fn record(tenant: TenantId, id: CallId, patch: Value) -> CallRecord {
    // A fixed time: snapshots of one call differ only where the test says.
    let now = chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap();
    let mut v = json!({
        "call_id": id, "derived_id": false, "tenant": tenant, "direction": "outbound",
        "state": "connected", "agent_answered": true, "customer_dialed": true,
        "bridged": true, "legs": [], "created_at": now, "ring_secs": 4, "talk_secs": 30,
        "duration_secs": 40, "hold_count": 1, "hold_secs": 12, "is_on_hold": false,
        "is_muted": false, "from": "+12025550100", "to": "+12025550143",
        "mute": {"agent": {"in": false, "out": false}, "customer": {"in": false, "out": false}},
        "recordings": [{"name": "rec-1", "leg": "1700000000.1", "started_at": now,
                        "stopped_at": null, "paused": false}],
        "transfers": [{"kind": "blind", "to": "1002", "result": "failed", "at": now,
                       "by": "agent"}],
        "dtmf_received": {"agent": "", "customer": "", "second_agent": ""},
        "dtmf_sent": {"agent": "", "customer": "", "second_agent": ""},
        "offered_to": [], "timeline": [], "timeline_dropped": 0, "last_event_at": now, "seq": 7,
    });
    for (k, val) in patch.as_object().unwrap() {
        v[k] = val.clone();
    }
    serde_json::from_value(v).unwrap()
}

fn entry(n: usize) -> Value {
    json!({"at": chrono::Utc::now(), "leg": "1700000000.1", "role": "agent",
           "event": format!("step_{n}"), "detail": null, "note": null})
}

#[tokio::test]
async fn rest_and_websocket_show_the_same_call_with_the_same_keys() {
    let app = TestApp::new(Db::Sqlite).await;
    let t = app.a.tenant;
    let id = CallId::new_random();
    let rec = record(t, id, json!({"timeline": [entry(1), entry(2)]}));
    app.store
        .write_call(&CallWrite::from_record(&rec, t, "ami"))
        .await
        .unwrap();
    let addr = serve(&app).await;
    let mut ws = connect(addr, &app.a.supervisor).await;
    assert_eq!(next_frame(&mut ws).await.0["type"], "hello");
    app.state.bus().publish(BusMessage::CallUpdated {
        tenant: t,
        record: Box::new(rec),
    });
    let (created, _) = next_frame(&mut ws).await;
    assert_eq!(created["type"], "call_created", "{created}");

    let (s, detail) = app
        .send(
            Method::GET,
            &format!("/api/v1/calls/{id}"),
            Some(&app.a.supervisor),
            None,
        )
        .await;
    assert_eq!(s, 200, "{detail}");
    let (s, page) = app
        .send(Method::GET, "/api/v1/calls", Some(&app.a.supervisor), None)
        .await;
    assert_eq!(s, 200, "{page}");

    let rest = &detail["call"];
    let pushed = &created["call"];
    assert_eq!(keys(rest), keys(pushed), "REST {rest}\nWS {pushed}");
    assert_eq!(keys(rest), keys(&page["items"][0]));
    // The same values too: one mapping, and the store's fields read for the WebSocket.
    assert_eq!(rest, pushed);
    // What REST lacked before: hold time, recordings, transfers.
    assert_eq!(rest["hold_seconds"], 12);
    assert_eq!(rest["hold_count"], 1);
    assert_eq!(rest["ring_seconds"], 4);
    assert_eq!(rest["recordings"][0]["name"], "rec-1");
    assert_eq!(rest["transfers"][0]["result"], "failed");
    assert_eq!(rest["provider"], "ami");
    for old in ["ring_secs", "talk_secs", "to", "from", "record", "timeline"] {
        assert!(
            pushed.get(old).is_none(),
            "the WebSocket still says `{old}`"
        );
    }
    // The timeline entries are the same entries with the same numbers.
    assert_eq!(detail["events"], created["events"]);
    assert_eq!(keys(&detail["events"][0]), keys(&created["events"][0]));
}

#[tokio::test]
async fn inbound_calls_show_the_did_in_e164() {
    let app = TestApp::with_settings(Db::Sqlite, |s| {
        s.phone_validation = PhoneValidation::Possible;
    })
    .await;
    let t = app.a.tenant;
    let addr = serve(&app).await;
    let mut ws = connect(addr, &app.a.supervisor).await;
    assert_eq!(next_frame(&mut ws).await.0["type"], "hello");
    let id = CallId::new_random();
    app.state.bus().publish(BusMessage::CallUpdated {
        tenant: t,
        record: Box::new(record(
            t,
            id,
            json!({"direction": "inbound", "from": "5551010001", "to": "5551204000"}),
        )),
    });
    let (v, _) = next_frame(&mut ws).await;
    assert_eq!(v["call"]["to_number"], "+15551204000", "{v}");
    assert_eq!(v["call"]["did"], "+15551204000", "{v}");
    // An internal extension is not a number: kept as it is, no DID.
    let ext = CallId::new_random();
    app.state.bus().publish(BusMessage::CallUpdated {
        tenant: t,
        record: Box::new(record(
            t,
            ext,
            json!({"direction": "inbound", "to": "1001"}),
        )),
    });
    let (v, _) = next_frame(&mut ws).await;
    assert_eq!(v["call"]["to_number"], "1001", "{v}");
    assert!(v["call"]["did"].is_null(), "{v}");
}

/// A call of 30 snapshots, each adding one timeline entry (as the tracker emits them): the
/// client gets one frame per snapshot, the first whole, the others with only the changed
/// fields and the one new entry, and far fewer bytes than whole snapshots.
#[tokio::test]
async fn websocket_updates_carry_only_what_changed() {
    let app = TestApp::new(Db::Sqlite).await;
    let t = app.a.tenant;
    let addr = serve(&app).await;
    let mut ws = connect(addr, &app.a.supervisor).await;
    assert_eq!(next_frame(&mut ws).await.0["type"], "hello");
    let id = CallId::new_random();
    let states = [
        "agent_ringing",
        "agent_answered",
        "customer_ringing",
        "connected",
    ];
    let snapshots = 30;
    let mut timeline = Vec::new();
    let mut full_bytes = 0;
    for n in 0..snapshots {
        timeline.push(entry(n));
        let last = n + 1 == snapshots;
        let state = if last {
            "ended"
        } else {
            states[(n / 3).min(states.len() - 1)]
        };
        let mut patch = json!({"state": state, "seq": n + 1, "timeline": timeline,
                               "talk_secs": n});
        if last {
            patch["disposition"] = json!("answered");
        }
        let rec = Box::new(record(t, id, patch));
        let msg = if last {
            BusMessage::CallEnded {
                tenant: t,
                record: rec,
            }
        } else {
            BusMessage::CallUpdated {
                tenant: t,
                record: rec,
            }
        };
        full_bytes += serde_json::to_string(&msg).unwrap().len();
        app.state.bus().publish(msg);
    }
    let mut frames = Vec::new();
    let mut bytes = 0;
    loop {
        let (v, len) = next_frame(&mut ws).await;
        bytes += len;
        let end = v["type"] == "call_ended";
        frames.push(v);
        if end {
            break;
        }
    }
    println!(
        "one call of {snapshots} snapshots: {} frames, {bytes} bytes (whole snapshots: \
         {full_bytes} bytes)",
        frames.len()
    );
    assert_eq!(frames.len(), snapshots);
    assert_eq!(frames[0]["type"], "call_created");
    assert_eq!(frames[0]["events"].as_array().map(Vec::len), Some(1));
    let allowed: BTreeSet<String> = ["version", "state", "talk_seconds", "disposition"]
        .map(str::to_owned)
        .into();
    for f in &frames[1..] {
        assert_eq!(f["call_id"], id.to_string(), "{f}");
        assert!(keys(&f["changes"]).is_subset(&allowed), "{f}");
        assert_eq!(f["events"].as_array().map(Vec::len), Some(1), "{f}");
    }
    assert_eq!(frames[snapshots - 1]["changes"]["state"], "ended");
    assert!(
        bytes * 5 < full_bytes,
        "{bytes} bytes is not much less than {full_bytes}"
    );
}
