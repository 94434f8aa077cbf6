//! The WebSocket hub over a real socket: token auth, tenant and agent scoping, inbound offers
//! (offer → answered / withdrawn, with the contact found for the caller), heartbeats, and a
//! client that cannot keep up being closed with 4008.

mod api_common;

use std::net::SocketAddr;
use std::time::Duration;

use api_common::{Db, TestApp};
use futures::{SinkExt, StreamExt};
use hookflash_api::CLOSE_TOO_SLOW;
use hookflash_api::bus::BusMessage;
use hookflash_calls::CallRecord;
use hookflash_provider::{CallId, TenantId};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

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

/// The next JSON frame that is not a heartbeat (bounded wait).
async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a frame in time")
            .expect("the socket is open")
            .unwrap();
        if let Message::Text(t) = frame {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] != "heartbeat" {
                return v;
            }
        }
    }
}

fn record(tenant: TenantId, id: CallId, patch: Value) -> CallRecord {
    let now = chrono::Utc::now();
    let mut v = json!({
        "call_id": id, "derived_id": false, "tenant": tenant, "direction": "outbound",
        "state": "connected", "agent_answered": false, "customer_dialed": false,
        "bridged": false, "legs": [], "created_at": now, "ring_secs": 0, "talk_secs": 0,
        "duration_secs": 0, "hold_count": 0, "hold_secs": 0, "is_on_hold": false,
        "is_muted": false,
        "mute": {"agent": {"in": false, "out": false}, "customer": {"in": false, "out": false}},
        "recordings": [], "transfers": [],
        "dtmf_received": {"agent": "", "customer": "", "second_agent": ""},
        "dtmf_sent": {"agent": "", "customer": "", "second_agent": ""},
        "offered_to": [], "timeline": [], "timeline_dropped": 0, "last_event_at": now, "seq": 1,
    });
    for (k, val) in patch.as_object().unwrap() {
        v[k] = val.clone();
    }
    serde_json::from_value(v).unwrap()
}

/// The tracker's offer of a call to the agent leg on `channel`, in `state`.
fn offers_of(channel: &str, state: &str) -> Value {
    json!([{
        "leg": format!("leg-{channel}"), "channel": channel, "endpoint": null, "state": state,
        "offered_at": chrono::Utc::now(), "answered_at": null, "withdrawn_at": null,
    }])
}

/// The call a call frame is about (`call_created` carries the whole view).
fn call_of(v: &Value) -> Value {
    if v["type"] == "call_created" {
        v["call"]["id"].clone()
    } else {
        v["call_id"].clone()
    }
}

fn updated(tenant: TenantId, r: CallRecord) -> BusMessage {
    BusMessage::CallUpdated {
        tenant,
        record: Box::new(r),
    }
}

#[tokio::test]
async fn a_token_is_required() {
    let app = TestApp::new(Db::Sqlite).await;
    let addr = serve(&app).await;
    for uri in [
        format!("ws://{addr}/api/v1/ws"),
        format!("ws://{addr}/api/v1/ws?token=bogus"),
    ] {
        match tokio_tungstenite::connect_async(uri).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                assert_eq!(resp.status(), 401);
            }
            other => panic!("expected 401, got {other:?}"),
        }
    }
    // The subprotocol form works and is answered with `bearer`.
    let mut req = format!("ws://{addr}/api/v1/ws")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        format!("bearer, {}", app.a.agent1).parse().unwrap(),
    );
    let (mut ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(resp.headers()["sec-websocket-protocol"], "bearer");
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["agent_id"], app.a.agent1_rec.id.to_string());
}

#[tokio::test]
async fn messages_are_scoped_to_tenant_and_own_calls() {
    let app = TestApp::new(Db::Sqlite).await;
    let addr = serve(&app).await;
    let mut sup_a = connect(addr, &app.a.supervisor).await;
    let mut agent1 = connect(addr, &app.a.agent1).await;
    let mut sup_b = connect(addr, &app.b.supervisor).await;
    for ws in [&mut sup_a, &mut agent1, &mut sup_b] {
        assert_eq!(next_json(ws).await["type"], "hello");
    }
    let (ta, tb) = (app.a.tenant, app.b.tenant);
    let ch = |a: &hookflash_store::Agent| format!("{}-00000001", a.endpoint);
    let other = CallId::new_random();
    let mine = CallId::new_random();
    let theirs_b = CallId::new_random();
    let bus = app.state.bus();
    bus.publish(updated(
        ta,
        record(ta, other, json!({"agent_channel": ch(&app.a.agent2_rec)})),
    ));
    bus.publish(BusMessage::AgentState {
        tenant: ta,
        agent_id: app.a.agent2_rec.id,
        state: "available".into(),
        pause_reason: None,
        at: chrono::Utc::now(),
    });
    bus.publish(updated(tb, record(tb, theirs_b, json!({}))));
    bus.publish(BusMessage::CallEnded {
        tenant: ta,
        record: Box::new(record(
            ta,
            mine,
            json!({"state": "ended", "agent_endpoint": app.a.agent1_rec.endpoint}),
        )),
    });

    let mut got = Vec::new();
    loop {
        let v = next_json(&mut sup_a).await;
        got.push((v["type"].as_str().unwrap().to_owned(), call_of(&v)));
        if v["type"] == "call_ended" {
            break;
        }
    }
    assert_eq!(
        got,
        vec![
            // The first this client hears of the call: the whole view.
            ("call_created".to_owned(), json!(other.to_string())),
            ("agent_state".to_owned(), Value::Null),
            ("call_ended".to_owned(), json!(mine.to_string())),
        ]
    );
    // The agent sees only their own call (nothing of agent2's, nothing of tenant B).
    let v = next_json(&mut agent1).await;
    assert_eq!(v["type"], "call_ended", "{v}");
    assert_eq!(call_of(&v), mine.to_string());
    let v = next_json(&mut sup_b).await;
    assert_eq!(call_of(&v), theirs_b.to_string(), "{v}");
}

#[tokio::test]
async fn inbound_offers_reach_the_agent_then_answered_or_withdrawn() {
    let app = TestApp::new(Db::Sqlite).await;
    app.store
        .contacts()
        .create(
            app.a.tenant,
            hookflash_store::NewContact {
                campaign_id: None,
                phone_number: "+12025550143".into(),
                name: Some("Dana Customer".into()),
                attributes: json!({"tier": "gold"}),
                time_zone: None,
            },
        )
        .await
        .unwrap();
    let addr = serve(&app).await;
    let mut agent1 = connect(addr, &app.a.agent1).await;
    let mut agent2 = connect(addr, &app.a.agent2).await;
    assert_eq!(next_json(&mut agent1).await["type"], "hello");
    assert_eq!(next_json(&mut agent2).await["type"], "hello");
    let t = app.a.tenant;
    let ep = app.a.agent1_rec.endpoint.clone();
    let bus = app.state.bus();

    // Queue rings agent1: offer, with the contact found for the caller's number.
    let first = CallId::new_random();
    let ringing = json!({
        "direction": "inbound", "state": "agent_ringing", "from": "2025550143",
        "to": "+18005550100", "offered_to": [format!("{ep}-0000000a")],
        "offers": offers_of(&format!("{ep}-0000000a"), "offered"),
    });
    bus.publish(updated(t, record(t, first, ringing.clone())));
    let offer = next_json(&mut agent1).await;
    assert_eq!(offer["type"], "offer", "{offer}");
    assert_eq!(offer["call_id"], first.to_string());
    assert_eq!(offer["caller_number"], "2025550143");
    assert_eq!(offer["contact"]["name"], "Dana Customer");
    assert_eq!(offer["contact"]["attributes"]["tier"], "gold");
    // The same offer again is not repeated; the agent answers.
    bus.publish(updated(t, record(t, first, ringing)));
    bus.publish(updated(
        t,
        record(
            t,
            first,
            json!({
                "direction": "inbound", "state": "connected", "from": "2025550143",
                "agent_channel": format!("{ep}-0000000a"), "offered_to": [],
                "offers": offers_of(&format!("{ep}-0000000a"), "answered"),
            }),
        ),
    ));
    let answered = next_json(&mut agent1).await;
    assert_eq!(answered["type"], "answered", "{answered}");
    assert_eq!(answered["call_id"], first.to_string());
    // Now the call is theirs: its view follows (the first they get of it: whole).
    assert_eq!(next_json(&mut agent1).await["type"], "call_created");

    // Another caller rings agent1, then hangs up before an answer: withdrawn.
    let second = CallId::new_random();
    bus.publish(updated(
        t,
        record(
            t,
            second,
            json!({"direction": "inbound", "state": "agent_ringing", "from": "+442079460958",
                   "offered_to": [format!("{ep}-0000000b")],
                   "offers": offers_of(&format!("{ep}-0000000b"), "offered")}),
        ),
    ));
    let offer = next_json(&mut agent1).await;
    assert_eq!(offer["type"], "offer");
    assert!(offer["contact"].is_null(), "no contact for this number");
    bus.publish(BusMessage::CallEnded {
        tenant: t,
        record: Box::new(record(
            t,
            second,
            json!({"direction": "inbound", "state": "ended", "from": "+442079460958",
                   "disposition": "abandoned", "offered_to": [format!("{ep}-0000000b")],
                   "offers": offers_of(&format!("{ep}-0000000b"), "withdrawn")}),
        )),
    });
    let withdrawn = next_json(&mut agent1).await;
    assert_eq!(withdrawn["type"], "withdrawn", "{withdrawn}");
    assert_eq!(withdrawn["call_id"], second.to_string());

    // agent2 was offered nothing and saw none of agent1's calls: their next frame is their
    // own state change.
    let me2 = app.a.agent2_rec.id;
    let (s, _) = app
        .send(
            axum::http::Method::PUT,
            &format!("/api/v1/agents/{me2}/state"),
            Some(&app.a.agent2),
            Some(json!({"state": "ready"})),
        )
        .await;
    assert_eq!(s, 200);
    let v = next_json(&mut agent2).await;
    assert_eq!(v["type"], "agent_state", "{v}");
    assert_eq!(v["agent_id"], me2.to_string());
}

/// The hub renders the tracker's offers, it keeps no state machine of its own: when the
/// tracker withdraws agent1's offer because agent2 took the call, agent1 hears `withdrawn` at
/// once, although the live call still lists agent1's channel among those it was offered to.
#[tokio::test]
async fn an_offer_the_tracker_withdraws_is_withdrawn_while_the_call_goes_on() {
    let app = TestApp::new(Db::Sqlite).await;
    let addr = serve(&app).await;
    let mut agent1 = connect(addr, &app.a.agent1).await;
    assert_eq!(next_json(&mut agent1).await["type"], "hello");
    let t = app.a.tenant;
    let ep = app.a.agent1_rec.endpoint.clone();
    let mine = format!("{ep}-0000000d");
    let bus = app.state.bus();
    let call = CallId::new_random();
    bus.publish(updated(
        t,
        record(
            t,
            call,
            json!({"direction": "inbound", "state": "agent_ringing", "from": "+442079460958",
                   "offered_to": [mine.clone()], "offers": offers_of(&mine, "offered")}),
        ),
    ));
    assert_eq!(next_json(&mut agent1).await["type"], "offer");
    bus.publish(updated(
        t,
        record(
            t,
            call,
            json!({"direction": "inbound", "state": "connected", "from": "+442079460958",
                   "agent_channel": "PJSIP/agent1002-0000000e",
                   "offered_to": [mine.clone(), "PJSIP/agent1002-0000000e"],
                   "offers": offers_of(&mine, "withdrawn")}),
        ),
    ));
    let v = next_json(&mut agent1).await;
    assert_eq!(v["type"], "withdrawn", "{v}");
    assert_eq!(v["call_id"], call.to_string());
}

/// The caller's number is read with the configured `phone_validation`: in `possible` mode a
/// test number in the unassigned 555 area code still finds its contact; in `valid` mode not.
#[tokio::test]
async fn offers_read_the_caller_number_with_the_configured_check() {
    for (mode, found) in [
        (hookflash_api::PhoneValidation::Possible, true),
        (hookflash_api::PhoneValidation::Valid, false),
    ] {
        let app = TestApp::with_settings(Db::Sqlite, |s| s.phone_validation = mode).await;
        app.store
            .contacts()
            .create(
                app.a.tenant,
                hookflash_store::NewContact {
                    campaign_id: None,
                    phone_number: "+15551010001".into(),
                    name: Some("Test Caller".into()),
                    attributes: json!({}),
                    time_zone: None,
                },
            )
            .await
            .unwrap();
        let addr = serve(&app).await;
        let mut agent1 = connect(addr, &app.a.agent1).await;
        assert_eq!(next_json(&mut agent1).await["type"], "hello");
        let t = app.a.tenant;
        let ep = app.a.agent1_rec.endpoint.clone();
        let call = CallId::new_random();
        app.state.bus().publish(updated(
            t,
            record(
                t,
                call,
                json!({"direction": "inbound", "state": "agent_ringing", "from": "5551010001",
                       "offered_to": [format!("{ep}-0000000c")],
                       "offers": offers_of(&format!("{ep}-0000000c"), "offered")}),
            ),
        ));
        let offer = next_json(&mut agent1).await;
        assert_eq!(offer["type"], "offer", "{offer}");
        if found {
            assert_eq!(offer["contact"]["name"], "Test Caller", "{mode:?}: {offer}");
        } else {
            assert!(offer["contact"].is_null(), "{mode:?}: {offer}");
        }
    }
}

#[tokio::test]
async fn heartbeats_are_sent() {
    let app = TestApp::with_settings(Db::Sqlite, |s| {
        s.ws_heartbeat = Duration::from_millis(50);
    })
    .await;
    let addr = serve(&app).await;
    let mut ws = connect(addr, &app.a.admin).await;
    let mut heartbeat = false;
    let mut ping = false;
    for _ in 0..20 {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        match frame {
            Message::Text(t) if t.contains("\"heartbeat\"") => heartbeat = true,
            Message::Ping(_) => ping = true,
            _ => {}
        }
        if heartbeat && ping {
            break;
        }
    }
    assert!(heartbeat && ping);
    ws.send(Message::Close(None)).await.unwrap();
}

#[tokio::test]
async fn a_client_that_cannot_keep_up_is_closed_with_4008() {
    let app = TestApp::new(Db::Sqlite).await;
    let addr = serve(&app).await;
    let mut ws = connect(addr, &app.a.admin).await;
    assert_eq!(next_json(&mut ws).await["type"], "hello");
    let t = app.a.tenant;
    // Far more than the bus holds (64 in the harness), published without yielding: the
    // client's queue overflows and the hub closes it rather than buffering.
    for _ in 0..1000 {
        app.state
            .bus()
            .publish(updated(t, record(t, CallId::new_random(), json!({}))));
    }
    let mut close = None;
    for _ in 0..2000 {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => {
                close = frame;
                break;
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
    let frame = close.expect("a close frame with a code");
    assert_eq!(u16::from(frame.code), CLOSE_TOO_SLOW);
    assert!(frame.reason.contains("too slow"), "{}", frame.reason);
    assert_eq!(
        app.state.metrics().ws_slow_closed.get(),
        1,
        "counted in /metrics"
    );
}
