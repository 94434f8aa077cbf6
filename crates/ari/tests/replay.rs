//! Replays of the recorded ARI sessions through the fake server: the typed client makes the
//! recorded requests and receives the recorded events, in order.

use std::time::Duration;

use hookflash_ari::{
    Backoff, BridgesCreateOptions, BridgesRecordOptions, ChannelsCreateOptions,
    ChannelsOriginateOptions, ChannelsPlayOptions, Client, Error, Event, EventStream, FakeAri,
    SequentialIds, StreamEvent, Transcript,
};
use serde_json::json;

fn transcript(name: &str) -> Transcript {
    let dir = hookflash_testkit::fixtures_dir();
    Transcript::load(dir.join(format!("ari/{name}.jsonl"))).unwrap()
}

fn recorded_types(t: &Transcript, conn: &str) -> Vec<String> {
    t.ws_messages(conn)
        .iter()
        .map(|m| m["type"].as_str().unwrap().to_owned())
        .collect()
}

async fn next_event(stream: &mut EventStream) -> Event {
    match tokio::time::timeout(Duration::from_secs(10), stream.recv()).await {
        Ok(Some(StreamEvent::Event(e))) => e,
        other => panic!("expected an event, got {other:?}"),
    }
}

/// Reads events until one of type `until`, returning all of them.
async fn events_until(stream: &mut EventStream, until: &str, seen: &mut Vec<Event>) {
    loop {
        let e = next_event(stream).await;
        assert!(!matches!(e, Event::Unknown(_)), "raw fallback: {e:?}");
        let done = e.type_name() == until;
        seen.push(e);
        if done {
            return;
        }
    }
}

async fn connected(client: &Client) -> EventStream {
    let mut stream = client.event_stream(["hookflash"]).connect().await.unwrap();
    assert!(matches!(stream.recv().await, Some(StreamEvent::Connected)));
    stream
}

#[tokio::test]
async fn stasis_basic_replays_requests_and_events_in_order() {
    let t = transcript("ari-stasis-basic");
    let expected = recorded_types(&t, "ws1");
    let fake = FakeAri::start(t).await.unwrap();
    let client = Client::builder(fake.base_url(), "ari", "aripass")
        .build()
        .unwrap();
    let mut stream = connected(&client).await;

    let info = client
        .asterisk()
        .get_info(Default::default())
        .await
        .unwrap();
    assert_eq!(info.system.unwrap().version, "22.10.1");
    let app = client.applications().get("hookflash").await.unwrap();
    assert_eq!(app.name, "hookflash");
    let channel = client
        .channels()
        .originate(
            "PJSIP/agent1001",
            ChannelsOriginateOptions::new()
                .app("hookflash")
                .app_args("basic")
                .caller_id("\"Hookflash Outbound\" <18005550100>")
                .timeout(30),
        )
        .await
        .unwrap();
    let mut seen = Vec::new();
    events_until(&mut stream, "StasisStart", &mut seen).await;
    let Some(Event::StasisStart(start)) = seen.last() else {
        unreachable!()
    };
    assert_eq!(start.channel.id, channel.id);
    assert_eq!(start.args, ["basic"]);

    let ch = client.channel_handle(&channel.id);
    ch.answer().await.unwrap();
    let playback = client
        .channels()
        .play(
            &channel.id,
            &["sound:hello-world"],
            ChannelsPlayOptions::new().lang("en"),
        )
        .await
        .unwrap();
    assert_eq!(playback.media_uri, "sound:hello-world");
    events_until(&mut stream, "PlaybackFinished", &mut seen).await;
    assert_eq!(ch.get().await.unwrap().state, "Up");
    ch.hangup().await.unwrap();
    events_until(&mut stream, "ChannelDestroyed", &mut seen).await;

    let types: Vec<&str> = seen.iter().map(Event::type_name).collect();
    assert_eq!(types, expected);
    let Some(Event::ChannelDestroyed(d)) = seen.last() else {
        unreachable!()
    };
    assert_eq!((d.cause, d.cause_txt.as_str()), (16, "Normal Clearing"));
    assert_eq!(fake.remaining_http(), 0);
    assert!(
        fake.received().iter().all(|r| r.matched),
        "{:?}",
        fake.received()
    );
}

#[tokio::test]
async fn stage_then_execute_subscriber_sees_the_first_event() {
    let mut t = transcript("ari-dial-busy");
    let client_ids = SequentialIds::new("hf");
    // The recorded channel id becomes the id this client will choose.
    t.rewrite_id("1795315734.632", "hf-1");
    let expected: Vec<String> = t
        .ws_messages("ws1")
        .iter()
        .filter(|m| m.to_string().contains("hf-1"))
        .map(|m| m["type"].as_str().unwrap().to_owned())
        .collect();
    let fake = FakeAri::start(t).await.unwrap();
    let client = Client::builder(format!("{}/ari/", fake.base_url()), "ari", "aripass")
        .id_generator(client_ids)
        .build()
        .unwrap();
    let stream = client.event_stream(["hookflash"]).connect().await.unwrap();

    let ch = client.new_channel();
    assert_eq!(ch.id(), "hf-1");
    let mut sub = stream.subscribe_channel(ch.id());
    let created = ch
        .create(
            "PJSIP/5552000104@trunk",
            "hookflash",
            ChannelsCreateOptions::new()
                .app_args("customer,ac76f9c6-1a13-49f8-a3d9-8519246b0832")
                .variables(json!({"HOOKFLASH_CALL_ID": "ac76f9c6-1a13-49f8-a3d9-8519246b0832"})),
        )
        .await
        .unwrap();
    assert_eq!(created.id, "hf-1");
    ch.dial(None, Some(20)).await.unwrap();
    let mut got = Vec::new();
    loop {
        let e = tokio::time::timeout(Duration::from_secs(10), sub.recv())
            .await
            .unwrap()
            .unwrap();
        let done = e.type_name() == "ChannelDestroyed";
        got.push(e);
        if done {
            break;
        }
    }
    let types: Vec<&str> = got.iter().map(Event::type_name).collect();
    assert_eq!(types, expected);
    // Recorded before the create response: only a subscriber registered first sees it.
    assert_eq!(types[0], "ChannelVarset");
    let Some(Event::ChannelDestroyed(d)) = got.last() else {
        unreachable!()
    };
    assert_eq!((d.cause, d.cause_txt.as_str()), (17, "User busy"));
    let create = &fake.received()[0];
    assert!(
        create
            .query
            .contains(&("channelId".to_owned(), "hf-1".to_owned())),
        "{create:?}"
    );
    assert_eq!(
        create.body,
        Some(json!({"variables": {"HOOKFLASH_CALL_ID": "ac76f9c6-1a13-49f8-a3d9-8519246b0832"}}))
    );
    drop(stream);
}

#[tokio::test]
async fn agent_first_bridge_replays() {
    let t = transcript("ari-agent-first-bridge");
    let expected = recorded_types(&t, "ws1");
    let fake = FakeAri::start(t).await.unwrap();
    let client = Client::builder(fake.base_url(), "ari", "aripass")
        .build()
        .unwrap();
    let mut stream = connected(&client).await;
    let call_id = "5af92377-4fc6-49f3-8582-8f3d5f62c1f0";
    let originate = |args: &str| {
        ChannelsOriginateOptions::new()
            .app("hookflash")
            .app_args(args)
            .caller_id("\"Hookflash Outbound\" <18005550100>")
            .timeout(30)
            .variables(json!({"HOOKFLASH_CALL_ID": call_id}))
    };
    let mut seen = Vec::new();
    let agent = client
        .channels()
        .originate("PJSIP/agent1001", originate(&format!("agent,{call_id}")))
        .await
        .unwrap();
    events_until(&mut stream, "StasisStart", &mut seen).await;
    let bridge = client
        .bridges()
        .create(
            BridgesCreateOptions::new()
                .r#type("mixing")
                .name(format!("hookflash-{call_id}")),
        )
        .await
        .unwrap();
    let bridge = client.bridge_handle(&bridge.id);
    bridge.add_channels(&[&agent.id]).await.unwrap();
    events_until(&mut stream, "ChannelEnteredBridge", &mut seen).await;
    let customer = client
        .channels()
        .originate(
            "PJSIP/5551215102@trunk",
            originate(&format!("customer,{call_id}")),
        )
        .await
        .unwrap();
    events_until(&mut stream, "StasisStart", &mut seen).await;
    bridge.add_channels(&[&customer.id]).await.unwrap();
    events_until(&mut stream, "ChannelEnteredBridge", &mut seen).await;
    let cust = client.channel_handle(&customer.id);
    cust.hold().await.unwrap();
    cust.unhold().await.unwrap();
    let ag = client.channel_handle(&agent.id);
    ag.mute("both").await.unwrap();
    ag.unmute("both").await.unwrap();
    let name = format!("hookflash-bridge-{call_id}");
    let (rec, live) = bridge
        .record(
            &name,
            "wav",
            BridgesRecordOptions::new()
                .max_duration_seconds(3)
                .if_exists("overwrite")
                .beep(false),
        )
        .await
        .unwrap();
    assert_eq!(live.state, "queued");
    events_until(&mut stream, "RecordingFinished", &mut seen).await;
    let stored = rec.stored().await.unwrap();
    assert_eq!(stored.name, name);
    events_until(&mut stream, "ChannelDestroyed", &mut seen).await;
    ag.hangup().await.unwrap();
    events_until(&mut stream, "ChannelDestroyed", &mut seen).await;
    bridge.destroy().await.unwrap();
    events_until(&mut stream, "BridgeDestroyed", &mut seen).await;
    let types: Vec<&str> = seen.iter().map(Event::type_name).collect();
    assert_eq!(types, expected);
    assert_eq!(fake.remaining_http(), 0);
}

#[tokio::test]
async fn recorded_errors_come_back_typed() {
    let fake = FakeAri::start(transcript("ari-errors")).await.unwrap();
    let client = Client::builder(fake.base_url(), "ari", "aripass")
        .build()
        .unwrap();
    let e = client
        .asterisk()
        .get_info(Default::default())
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Unauthorized { status: 401, ref message } if message == "Authentication required"),
        "{e:?}"
    );
    let e = client.channels().get("no-such-channel").await.unwrap_err();
    assert!(
        e.is_not_found() && e.message() == Some("Channel not found"),
        "{e:?}"
    );
    let e = client
        .bridges()
        .destroy("no-such-bridge")
        .await
        .unwrap_err();
    assert!(
        e.is_not_found() && e.message() == Some("Bridge not found"),
        "{e:?}"
    );
    let e = client
        .playbacks()
        .get("no-such-playback")
        .await
        .unwrap_err();
    assert_eq!(e.message(), Some("Playback not found"));
    let bridge = client.bridge_handle("hookflash-err-bridge");
    bridge.create("mixing", Some("err")).await.unwrap_err(); // recorded as POST /bridges, not /bridges/{id}
    let opts = || {
        BridgesCreateOptions::new()
            .r#type("mixing")
            .bridge_id("hookflash-err-bridge")
            .name("err")
    };
    assert_eq!(
        client.bridges().create(opts()).await.unwrap().id,
        "hookflash-err-bridge"
    );
    let e = client.bridges().create(opts()).await.unwrap_err();
    assert!(e.is_conflict(), "{e:?}");
    let e = client
        .bridges()
        .create(BridgesCreateOptions::new().r#type("no-such-type"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Server { status: 500, .. }), "{e:?}");
    let e = client
        .channels()
        .record(
            "1795315730.630",
            "err-rec",
            "nosuchformat",
            Default::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unprocessable { .. }), "{e:?}");
    let e = client
        .channels()
        .mute(
            "1795315730.630",
            hookflash_ari::ChannelsMuteOptions::new().direction("sideways"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::PreconditionFailed { ref message } if message == "Channel in invalid state"),
        "{e:?}"
    );
    let e = client
        .channels()
        .get_channel_var("1795315730.630", "")
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::BadRequest { .. }) || e.is_not_found(),
        "{e:?}"
    );
}

#[tokio::test]
async fn application_replaced_stops_the_stream_without_reconnecting() {
    let fake = FakeAri::start(transcript("ari-app-replaced"))
        .await
        .unwrap();
    let client = Client::builder(fake.base_url(), "ari", "aripass")
        .build()
        .unwrap();
    let mut stream = connected(&client).await;
    let mut sub = stream.subscribe_channel("any");
    client.applications().get("hookflash").await.unwrap();
    match stream.recv().await {
        Some(StreamEvent::ApplicationReplaced(r)) => assert_eq!(r.application, "hookflash"),
        other => panic!("{other:?}"),
    }
    // The task has ended: no reconnect war.
    assert!(stream.recv().await.is_none());
    assert!(
        sub.recv().await.is_none(),
        "subscriptions end with the stream"
    );
    assert!(stream.subscribe_bridge("late").recv().await.is_none());
    assert_eq!(fake.websocket_connections(), 1);
}

#[tokio::test]
async fn reconnects_after_the_socket_drops_and_keeps_unknown_events_raw() {
    let fake = FakeAri::start(Transcript::default()).await.unwrap();
    let client = Client::builder(fake.base_url(), "ari", "aripass")
        .build()
        .unwrap();
    let mut stream = client
        .event_stream(["hookflash", "other"])
        .subscribe_all(true)
        .backoff(Backoff {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(50),
        })
        .connect()
        .await
        .unwrap();
    assert!(matches!(stream.recv().await, Some(StreamEvent::Connected)));
    fake.drop_websockets();
    assert!(matches!(
        stream.recv().await,
        Some(StreamEvent::Disconnected { .. })
    ));
    match stream.recv().await {
        Some(StreamEvent::Reconnected { attempts }) => assert!(attempts >= 1),
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.websocket_connections(), 2);
    let raw = json!({"type": "HookflashFuture", "application": "hookflash", "x": 1});
    fake.push(raw.clone());
    assert_eq!(next_event(&mut stream).await, Event::Unknown(raw));
    fake.push(json!({"type": "StasisStart", "application": "hookflash"}));
    assert!(matches!(
        stream.recv().await,
        Some(StreamEvent::Malformed { .. })
    ));
}

#[tokio::test]
async fn credentials_basic_and_api_key() {
    let fake = FakeAri::builder(transcript("ari-stasis-basic"))
        .credentials("ari", "aripass")
        .start()
        .await
        .unwrap();
    let bad = Client::builder(fake.base_url(), "ari", "wrong")
        .build()
        .unwrap();
    let e = bad.asterisk().ping().await.unwrap_err();
    assert!(matches!(e, Error::Unauthorized { .. }), "{e:?}");
    assert!(!e.to_string().contains("wrong"));
    let e = bad.event_stream(["hookflash"]).connect().await.unwrap_err();
    assert!(
        matches!(e, Error::Unauthorized { status: 401, .. }),
        "{e:?}"
    );
    let key = Client::builder(fake.base_url(), "ari", "aripass")
        .api_key()
        .build()
        .unwrap();
    key.asterisk().get_info(Default::default()).await.unwrap();
    let mut stream = key.event_stream(["hookflash"]).connect().await.unwrap();
    assert!(matches!(stream.recv().await, Some(StreamEvent::Connected)));
    let basic = Client::builder(fake.base_url(), "ari", "aripass")
        .build()
        .unwrap();
    basic.applications().get("hookflash").await.unwrap();
    assert!(
        fake.received()
            .iter()
            .all(|r| r.query.iter().all(|(k, _)| k != "api_key"))
    );
}

#[tokio::test]
async fn a_silent_peer_is_detected_by_the_keepalive_and_reconnected() {
    // A WebSocket server that completes the handshake and then never reads (so never pongs).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            if let Ok(ws) = tokio_tungstenite::accept_async(tcp).await {
                held.push(ws);
            }
        }
    });
    let client = Client::builder(format!("http://{addr}"), "ari", "aripass")
        .build()
        .unwrap();
    let mut stream = client
        .event_stream(["hookflash"])
        .keepalive(Duration::from_millis(20))
        .backoff(Backoff {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(20),
        })
        .connect()
        .await
        .unwrap();
    assert!(matches!(stream.recv().await, Some(StreamEvent::Connected)));
    match stream.recv().await {
        Some(StreamEvent::Disconnected {
            error: Some(Error::KeepaliveTimeout(_)),
        }) => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        stream.recv().await,
        Some(StreamEvent::Reconnected { .. })
    ));
}

#[tokio::test]
async fn a_request_that_gets_no_answer_times_out() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            held.push(tcp);
        }
    });
    let client = Client::builder(format!("http://{addr}"), "ari", "aripass")
        .timeout(Duration::from_millis(50))
        .connect_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let e = client.asterisk().ping().await.unwrap_err();
    assert!(matches!(e, Error::Timeout), "{e:?}");
    assert!(e.is_outcome_unknown());
    let e = client
        .event_stream(["hookflash"])
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::ConnectTimeout(_) | Error::WebSocket(_)),
        "{e:?}"
    );
}

#[tokio::test]
async fn app_snapshot_lists_what_the_app_still_owns() {
    // Built from recorded bodies: the app owns two channels and a bridge; one channel is gone.
    let t = transcript("ari-agent-first-bridge");
    let channel = t
        .entries()
        .iter()
        .find_map(|e| match e {
            hookflash_ari::Entry::Http {
                method,
                path,
                body: Some(b),
                ..
            } if method == "POST" && path == "/ari/channels" => Some(b.clone()),
            _ => None,
        })
        .unwrap();
    let bridge = t
        .entries()
        .iter()
        .find_map(|e| match e {
            hookflash_ari::Entry::Http {
                method,
                path,
                body: Some(b),
                ..
            } if method == "POST" && path == "/ari/bridges" => Some(b.clone()),
            _ => None,
        })
        .unwrap();
    let (cid, bid) = (
        channel["id"].as_str().unwrap(),
        bridge["id"].as_str().unwrap(),
    );
    let app = json!({"name": "hookflash", "channel_ids": [cid, "gone"], "bridge_ids": [bid], "endpoint_ids": [],
        "device_names": [], "events_allowed": [], "events_disallowed": []});
    let lines = [
        json!({"kind": "http", "method": "GET", "path": "/ari/applications/hookflash", "status": 200, "response_body": app}),
        json!({"kind": "http", "method": "GET", "path": format!("/ari/channels/{cid}"), "status": 200, "response_body": channel}),
        json!({"kind": "http", "method": "GET", "path": "/ari/channels/gone", "status": 404, "response_body": {"message": "Channel not found"}}),
        json!({"kind": "http", "method": "GET", "path": format!("/ari/bridges/{bid}"), "status": 200, "response_body": bridge}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let fake = FakeAri::start(Transcript::from_jsonl(&text).unwrap())
        .await
        .unwrap();
    let client = Client::builder(fake.base_url(), "ari", "aripass")
        .build()
        .unwrap();
    let snap = client.app_snapshot("hookflash").await.unwrap();
    assert_eq!(
        snap.channels
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>(),
        [cid]
    );
    assert_eq!(
        snap.bridges
            .iter()
            .map(|b| b.id.as_str())
            .collect::<Vec<_>>(),
        [bid]
    );
    assert_eq!(fake.remaining_http(), 0);
}
