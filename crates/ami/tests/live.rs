//! Live tests against the real Asterisk peer (`scripts/asterisk-peer/`). Skipped unless
//! `HOOKFLASH_LIVE_ASTERISK` is set (scripts/test.sh sets it); in CI a missing peer fails.
//! They run one at a time (nextest group `asterisk-peer`); during development wrap them in
//! `flock /tmp/hookflash-peer.lock`.

use std::process::Command;
use std::time::Duration;

use hookflash_ami::{
    Action, AmiClient, AmiConfig, AmiError, AuthMode, ClientEvent, Event, EventStream,
};
use hookflash_testkit::{Phone, live_peer, peer_dir};
use tokio::time::timeout;

fn config(host: &str, secret: &str) -> AmiConfig {
    let mut c = AmiConfig::new(host, 5038, "ami", secret);
    c.keepalive = Some(Duration::from_secs(2));
    c.ping_timeout = Duration::from_secs(3);
    c.reconnect.initial = Duration::from_millis(200);
    c.reconnect.max = Duration::from_secs(2);
    c
}

async fn next_event(events: &mut EventStream, within: Duration) -> ClientEvent {
    timeout(within, events.recv())
        .await
        .expect("event in time")
        .expect("stream open")
}

#[tokio::test]
async fn live_login_plain_md5_and_bad_secret() {
    let Some((host, _peer)) = live_peer("live_login_plain_md5_and_bad_secret") else {
        return;
    };
    let (client, mut events) = AmiClient::connect(config(&host, "amipass"))
        .await
        .expect("plain login");
    assert!(matches!(events.recv().await, Some(ClientEvent::Connected)));
    let pong = client.send(Action::new("Ping")).await.expect("ping");
    assert_eq!(pong.get("Ping").expect("Ping header"), "Pong");

    let mut md5 = config(&host, "amipass");
    md5.auth = AuthMode::Md5;
    let (client2, _e) = AmiClient::connect(md5).await.expect("md5 login");
    client2
        .send(Action::new("Ping"))
        .await
        .expect("ping over md5 session");

    let err = AmiClient::connect(config(&host, "not-the-secret"))
        .await
        .expect_err("bad secret");
    assert!(matches!(err, AmiError::Authentication { .. }), "{err:?}");
}

#[tokio::test]
async fn live_originate_list_and_command() {
    let Some((host, _peer)) = live_peer("live_originate_list_and_command") else {
        return;
    };
    let (client, mut events) = AmiClient::connect(config(&host, "amipass"))
        .await
        .expect("login");
    let _agent = Phone::start("agent1001", "agent-answer-1s.xml");
    let _customer = Phone::start("customer", "customer-uas.xml");
    tokio::time::sleep(Duration::from_millis(300)).await;

    let call_id = format!("live-{}", std::process::id());
    // Customer 5551206021: answers after 2 s, hangs up after 6 s of talk.
    let originate = Action::new("Originate")
        .header("Channel", "PJSIP/agent1001")
        .header("Context", "hookflash-outbound")
        .header("Exten", "5551206021")
        .header("Priority", "1")
        .header("CallerID", "\"Hookflash Outbound\" <18005550100>")
        .header("Timeout", "30000")
        .variable("HOOKFLASH_CALL_ID", &call_id);
    let o = client.originate_async(originate).await.expect("originate");
    assert_eq!(o.response.as_ref().expect("Response"), "Success", "{o:?}");
    assert_eq!(o.reason, Some(4));
    let linkedid = o.uniqueid.as_ref().expect("uniqueid").to_string();

    // Wait until the customer leg is bridged, then list the channels.
    let mut bridged = 0;
    let mut hangups = 0;
    while bridged < 2 {
        if let ClientEvent::Event(e) = next_event(&mut events, Duration::from_secs(20)).await {
            match &e {
                Event::BridgeEnter(b)
                    if b.channel.as_ref().and_then(|c| c.linkedid()) == Some(&linkedid) =>
                {
                    bridged += 1
                }
                Event::Hangup(h)
                    if h.channel.as_ref().and_then(|c| c.linkedid()) == Some(&linkedid) =>
                {
                    hangups += 1
                }
                _ => {}
            }
        }
    }
    let (resp, list) = client
        .send_list(Action::new("CoreShowChannels"))
        .await
        .expect("CoreShowChannels");
    assert!(resp.starts_event_list());
    let ours = list
        .iter()
        .filter(|e| matches!(e, Event::CoreShowChannel(c) if c.channel.as_ref().and_then(|c| c.linkedid()) == Some(&linkedid)))
        .count();
    assert_eq!(ours, 2, "{list:?}");
    assert!(list.last().is_some_and(Event::is_list_complete));

    let out = client.command("core show channels").await.expect("command");
    assert!(out.contains("active call"), "{out}");
    assert!(out.contains("PJSIP/agent1001-"), "{out}");

    // Wait for the call's last Hangup.
    while hangups < 2 {
        if let ClientEvent::Event(Event::Hangup(h)) =
            next_event(&mut events, Duration::from_secs(30)).await
            && h.channel.as_ref().and_then(|c| c.linkedid()) == Some(&linkedid)
        {
            hangups += 1;
        }
    }
}

#[tokio::test]
async fn live_restart_mid_stream() {
    let Some((host, _peer)) = live_peer("live_restart_mid_stream") else {
        return;
    };
    let (client, mut events) = AmiClient::connect(config(&host, "amipass"))
        .await
        .expect("login");
    assert!(matches!(events.recv().await, Some(ClientEvent::Connected)));
    let before = client.command("core show uptime").await.expect("uptime");
    assert!(!before.is_empty());

    let dir = peer_dir();
    let status = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "bash {0}/stop.sh && bash {0}/start.sh",
            dir.display()
        ))
        .stdout(std::process::Stdio::null())
        .status()
        .expect("restart");
    assert!(status.success());

    let mut saw_disconnect = false;
    loop {
        match next_event(&mut events, Duration::from_secs(60)).await {
            ClientEvent::Disconnected { reason } => {
                println!("disconnected: {reason}");
                saw_disconnect = true;
            }
            ClientEvent::Reconnected => break,
            ClientEvent::Lagged(n) => println!("lagged {n}"),
            _ => {}
        }
    }
    assert!(
        saw_disconnect,
        "the client must report the gap before reconnecting"
    );
    // The stream goes on: Asterisk greets the new session with FullyBooted.
    loop {
        if let ClientEvent::Event(e) = next_event(&mut events, Duration::from_secs(30)).await {
            println!("first event after reconnect: {}", e.name());
            break;
        }
    }
    let after = client
        .command("core show uptime")
        .await
        .expect("uptime after restart");
    assert!(after.contains("uptime"), "{after}");
}
