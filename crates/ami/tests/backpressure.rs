//! The lossless event stream ([`AmiConfig::backpressure`]): a slow consumer holds the client
//! back (the socket is not read) instead of losing events.

mod common;

use std::time::Duration;

use hookflash_ami::mock::{MockServer, Transcript};
use hookflash_ami::{Action, AmiClient, AmiConfig, ClientEvent, MessageKind};

fn transcript(name: &str) -> Transcript {
    Transcript::from_file(common::ami_fixture(&format!("{name}.jsonl"))).expect("transcript")
}

fn config(server: &MockServer) -> AmiConfig {
    let mut c = AmiConfig::new("127.0.0.1", server.addr().port(), "ami", "amipass");
    c.keepalive = None;
    c.reconnect.enabled = false;
    c.action_id_prefix = Some("test".into());
    c.action_timeout = Duration::from_secs(60);
    c.event_buffer = 2;
    c.with_backpressure(true)
}

/// Rebuilds the recorded action (without its ActionID).
fn action_of(m: &hookflash_ami::Message) -> Action {
    let mut a = Action::new(m.get_str("Action").unwrap_or_default());
    for (k, v) in m.fields().skip(1) {
        if !k.eq_ignore_ascii_case(b"ActionID") {
            a.push(String::from_utf8_lossy(k), String::from_utf8_lossy(v));
        }
    }
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_loses_nothing_and_holds_the_socket() {
    let t = transcript("originate-answered");
    let total_events = hookflash_ami::decode_all(&t.server_bytes())
        .0
        .iter()
        .filter(|m| m.kind() == MessageKind::Event)
        .count();
    assert!(
        total_events > 10,
        "the transcript has a call's worth of events"
    );
    let server = MockServer::start(vec![t.clone()]).await.unwrap();
    let (client, mut events) = AmiClient::connect(config(&server)).await.unwrap();
    let originate = action_of(&t.sends()[1]);
    let actions = tokio::spawn(async move {
        let o = client.originate_async(originate).await;
        let bye = client.send(Action::new("Logoff")).await;
        (o.map(|o| o.response), bye.map(|_| ()))
    });
    // Give a lossy client every chance to read the whole transcript (and the Logoff response
    // behind it): with backpressure it cannot, the consumer has not read anything yet.
    for _ in 0..10_000 {
        if actions.is_finished() {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(
        !actions.is_finished(),
        "the Logoff response overtook {total_events} unread events"
    );
    let mut names = Vec::new();
    let mut lagged = 0;
    while names.len() < total_events {
        match events.recv().await {
            Some(ClientEvent::Event(e)) => names.push(e.name().to_owned()),
            Some(ClientEvent::Lagged(n)) => lagged += n,
            Some(_) => {}
            None => break,
        }
    }
    assert_eq!(lagged, 0);
    assert_eq!(names.len(), total_events, "every event, none lost");
    let want: Vec<String> = hookflash_ami::decode_all(&t.server_bytes())
        .0
        .iter()
        .filter(|m| m.kind() == MessageKind::Event)
        .map(|m| m.get_str("Event").unwrap_or_default().to_owned())
        .collect();
    assert_eq!(names, want, "in the order Asterisk sent them");
    let (originate, bye) = actions.await.unwrap();
    assert_eq!(originate.unwrap().unwrap(), "Success");
    bye.unwrap();
}

#[tokio::test]
async fn a_dropped_lossless_stream_no_longer_holds_the_client() {
    let t = transcript("originate-answered");
    let server = MockServer::start(vec![t.clone()]).await.unwrap();
    let (client, events) = AmiClient::connect(config(&server)).await.unwrap();
    drop(events);
    let o = client
        .originate_async(action_of(&t.sends()[1]))
        .await
        .unwrap();
    assert_eq!(o.response.as_ref().unwrap(), "Success");
    client.send(Action::new("Logoff")).await.unwrap();
}
