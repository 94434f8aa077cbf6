//! Live tests against the real Asterisk 22 peer (`scripts/asterisk-peer/`): a bridged call driven
//! over ARI, an Asterisk restart survived with a reconnect, and `ApplicationReplaced`.
//!
//! They run when `HOOKFLASH_LIVE_ASTERISK` names the peer's host (scripts/test.sh sets it), one at
//! a time (nextest's `asterisk-peer` group; a lock inside this binary for plain `cargo test`).

use std::process::Command;
use std::time::Duration;

use hookflash_ari::{
    Backoff, BridgesRecordOptions, ChannelsOriginateWithIdOptions, Client, Event, EventStream,
    StreamEvent,
};
use hookflash_testkit::{Phone, live_peer, peer_dir, peer_root};

static PEER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Our own app names, so a developer's other ARI app on the same peer is not replaced.
const APP: &str = "hookflash-ari-live";
const APP2: &str = "hookflash-ari-live-2";

fn client(host: &str) -> Client {
    Client::builder(format!("http://{host}:8088/ari"), "ari", "aripass")
        .build()
        .unwrap()
}

/// ARI stores recordings in `astspooldir/recording`, which the peer kit's chroot lacks (Asterisk
/// answers a bridge record with 500 "Internal Server Error" and logs "No such file or
/// directory"): create it with the spool directory's owner when the peer runs locally.
fn ensure_recording_dir() {
    let spool = peer_root().join("var/spool/asterisk");
    if spool.is_dir() && !spool.join("recording").is_dir() {
        let status = Command::new("bash")
            .arg("-c")
            .arg(r#"install -d -m 0750 -o "$(stat -c %u "$0")" -g "$(stat -c %g "$0")" "$0/recording""#)
            .arg(&spool)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "could not create {}/recording",
            spool.display()
        );
    }
}

/// Hangs up channels and destroys bridges an earlier failed run left in our apps.
async fn clean_leftovers(client: &Client) {
    for app in [APP, APP2] {
        if let Ok(a) = client.applications().get(app).await {
            for ch in &a.channel_ids {
                let _ = client.channel_handle(ch).hangup().await;
            }
            for br in &a.bridge_ids {
                let _ = client.bridge_handle(br).destroy().await;
            }
        }
    }
}

/// Every event seen, and the first that matches `want` (within 30 s).
async fn wait_for(
    stream: &mut EventStream,
    seen: &mut Vec<Event>,
    want: impl Fn(&Event) -> bool,
) -> Event {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let item = tokio::time::timeout_at(deadline, stream.recv())
            .await
            .expect("timed out waiting for an event");
        match item {
            Some(StreamEvent::Event(e)) => {
                assert!(!matches!(e, Event::Unknown(_)), "untyped event: {e:?}");
                seen.push(e.clone());
                if want(&e) {
                    return e;
                }
            }
            Some(StreamEvent::Malformed { raw, error }) => panic!("malformed event {error}: {raw}"),
            other => panic!("unexpected stream item {other:?}"),
        }
    }
}

fn is(kind: &'static str, id: &str) -> impl Fn(&Event) -> bool {
    let id = id.to_owned();
    move |e: &Event| {
        e.type_name() == kind
            && (e.channel_ids().contains(&id.as_str())
                || e.bridge_ids().contains(&id.as_str())
                || e.playback_ids().contains(&id.as_str())
                || e.recording_names().contains(&id.as_str()))
    }
}

#[tokio::test]
async fn live_bridged_call_over_ari() {
    let Some((host, _peer)) = live_peer("live_bridged_call_over_ari") else {
        return;
    };
    let _peer = PEER.lock().await;
    ensure_recording_dir();
    let client = client(&host);
    clean_leftovers(&client).await;
    let _agent_phone = Phone::start("agent1001", "agent-answer-1s.xml");
    let _customer_phone = Phone::start("customer", "customer-uas.xml");
    let mut stream = client.event_stream([APP]).connect().await.unwrap();
    assert!(matches!(stream.recv().await, Some(StreamEvent::Connected)));
    let mut seen = Vec::new();

    let agent = client.new_channel();
    let opts = |role: &str| {
        ChannelsOriginateWithIdOptions::new()
            .app(APP)
            .app_args(role)
            .timeout(20)
    };
    agent
        .originate("PJSIP/agent1001", opts("agent"))
        .await
        .unwrap();
    wait_for(&mut stream, &mut seen, is("StasisStart", agent.id())).await;

    let bridge = client.new_bridge();
    bridge
        .create("mixing", Some("hookflash-ari-live"))
        .await
        .unwrap();
    bridge.add_channels(&[agent.id()]).await.unwrap();
    wait_for(
        &mut stream,
        &mut seen,
        is("ChannelEnteredBridge", agent.id()),
    )
    .await;

    // 555 1 1 15 301: answers after 1 s, would hang up after 15 s (we hang up first).
    let customer = client.new_channel();
    customer
        .originate("PJSIP/5551115301@trunk", opts("customer"))
        .await
        .unwrap();
    wait_for(&mut stream, &mut seen, is("StasisStart", customer.id())).await;
    bridge.add_channels(&[customer.id()]).await.unwrap();
    wait_for(
        &mut stream,
        &mut seen,
        is("ChannelEnteredBridge", customer.id()),
    )
    .await;

    customer.hold().await.unwrap();
    customer.unhold().await.unwrap();
    agent.mute("both").await.unwrap();
    agent.unmute("both").await.unwrap();

    let (playback, _) = bridge.play(&["sound:hello-world"]).await.unwrap();
    wait_for(
        &mut stream,
        &mut seen,
        is("PlaybackFinished", playback.id()),
    )
    .await;

    let name = format!("hookflash-ari-live-{}", client.new_id());
    let (recording, live) = bridge
        .record(
            &name,
            "wav",
            BridgesRecordOptions::new()
                .max_duration_seconds(2)
                .if_exists("overwrite")
                .beep(false),
        )
        .await
        .unwrap();
    assert_eq!(live.name, name);
    wait_for(&mut stream, &mut seen, is("RecordingFinished", &name)).await;
    let stored = recording.stored().await.unwrap();
    assert_eq!(stored.format, "wav");
    client.recordings().delete_stored(&name).await.unwrap();

    agent.hangup().await.unwrap();
    let destroyed = wait_for(&mut stream, &mut seen, is("ChannelDestroyed", agent.id())).await;
    let Event::ChannelDestroyed(d) = destroyed else {
        unreachable!()
    };
    assert_eq!(d.cause, 16);
    customer.hangup().await.unwrap();
    wait_for(
        &mut stream,
        &mut seen,
        is("ChannelDestroyed", customer.id()),
    )
    .await;
    bridge.destroy().await.unwrap();
    let gone = customer.get().await.unwrap_err();
    assert!(gone.is_not_found(), "{gone:?}");

    let types: std::collections::BTreeSet<&str> = seen.iter().map(Event::type_name).collect();
    for t in [
        "Dial",
        "StasisStart",
        "ChannelEnteredBridge",
        "PlaybackStarted",
        "RecordingStarted",
        "ChannelLeftBridge",
        "StasisEnd",
    ] {
        assert!(types.contains(t), "{t} not seen in {types:?}");
    }
}

#[tokio::test]
async fn live_asterisk_restart_is_survived_with_a_reconnect() {
    let Some((host, _peer)) = live_peer("live_asterisk_restart_is_survived_with_a_reconnect")
    else {
        return;
    };
    let _peer = PEER.lock().await;
    let client = client(&host);
    let mut stream = client
        .event_stream([APP, APP2])
        .subscribe_all(true)
        .backoff(Backoff {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(2),
        })
        // A socket left half-open by the dying Asterisk is noticed within seconds.
        .keepalive(Duration::from_secs(1))
        .connect()
        .await
        .unwrap();
    assert!(matches!(stream.recv().await, Some(StreamEvent::Connected)));

    let dir = peer_dir();
    let restart = Command::new("bash")
        .arg("-c")
        // Close every inherited descriptor first: under `flock LOCK cargo test` the lock's fd
        // would pass to the Asterisk daemon and hold the peer lock for as long as it runs.
        .arg(format!(
            "for fd in $(ls /proc/$$/fd); do [ \"$fd\" -gt 2 ] && eval \"exec $fd>&-\" 2>/dev/null; done; \
             bash {0}/stop.sh && bash {0}/start.sh",
            dir.display()
        ))
        .output()
        .unwrap();
    assert!(
        restart.status.success(),
        "restart: {}",
        String::from_utf8_lossy(&restart.stderr)
    );

    let mut log = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let item = tokio::time::timeout_at(deadline, stream.recv()).await;
        let item = item
            .unwrap_or_else(|_| panic!("no reconnect; saw {log:#?}"))
            .expect("stream ended");
        let done = matches!(item, StreamEvent::Reconnected { attempts } if attempts >= 1);
        log.push(format!("{item:?}"));
        if done {
            break;
        }
    }
    // The stream works again, for both apps: a user event sent to each comes back.
    let mut pending: Vec<&str> = vec![APP, APP2];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !pending.is_empty() {
        for app in &pending {
            client
                .events()
                .user_event("hookflashPing", app, Default::default())
                .await
                .unwrap();
        }
        let round = tokio::time::Instant::now() + Duration::from_secs(1);
        while let Ok(item) = tokio::time::timeout_at(round.min(deadline), stream.recv()).await {
            let item = item.expect("stream ended");
            if let StreamEvent::Event(Event::ChannelUserevent(u)) = &item {
                pending.retain(|a| *a != u.application);
            }
            if let StreamEvent::Event(e) = &item {
                assert!(!matches!(e, Event::Unknown(_)), "{e:?}");
            }
            log.push(format!("{item:?}"));
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no user event for {pending:?}; saw {log:#?}"
        );
    }
}

#[tokio::test]
async fn live_second_connection_gives_application_replaced() {
    let Some((host, _peer)) = live_peer("live_second_connection_gives_application_replaced") else {
        return;
    };
    let _peer = PEER.lock().await;
    let client = client(&host);
    let mut first = client.event_stream([APP]).connect().await.unwrap();
    assert!(matches!(first.recv().await, Some(StreamEvent::Connected)));
    let mut second = client.event_stream([APP]).connect().await.unwrap();
    assert!(matches!(second.recv().await, Some(StreamEvent::Connected)));
    match tokio::time::timeout(Duration::from_secs(10), first.recv())
        .await
        .unwrap()
    {
        Some(StreamEvent::ApplicationReplaced(r)) => assert_eq!(r.application, APP),
        other => panic!("{other:?}"),
    }
    // No reconnect war: the first stream ends, the second keeps the app.
    assert!(first.recv().await.is_none());
    client
        .events()
        .user_event("hookflashPing", APP, Default::default())
        .await
        .unwrap();
    let mut seen = Vec::new();
    wait_for(&mut second, &mut seen, |e| {
        matches!(e, Event::ChannelUserevent(_))
    })
    .await;
}
