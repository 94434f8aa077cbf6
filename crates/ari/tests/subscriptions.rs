//! Per-resource subscriptions never stall the stream: one that is not read is closed with a
//! lag marker, while the stream and the subscriptions that keep up get every event.

use std::time::Duration;

use hookflash_ari::{Client, Event, FakeAri, StreamEvent, Transcript};
use serde_json::Value;

/// A recorded `ChannelVarset` (it names a channel), and that channel's id.
fn varset() -> (Value, String) {
    let dir = hookflash_testkit::fixtures_dir();
    let t = Transcript::load(dir.join("ari/ari-stasis-basic.jsonl")).unwrap();
    let msg = t
        .ws_messages("ws1")
        .into_iter()
        .find(|m| m["type"] == "ChannelVarset")
        .unwrap()
        .clone();
    let id = msg["channel"]["id"].as_str().unwrap().to_owned();
    (msg, id)
}

// A guard against a hang (what the old reader did), not a timing assertion.
const HANG: Duration = Duration::from_secs(30);

#[tokio::test]
async fn an_unread_subscription_is_closed_as_lagged_and_stalls_nothing() {
    let (msg, channel) = varset();
    let fake = FakeAri::start(Transcript::default()).await.unwrap();
    let client = Client::builder(fake.base_url(), "ari", "aripass")
        .build()
        .unwrap();
    let capacity = 4;
    let mut stream = client
        .event_stream(["hookflash"])
        .capacity(capacity)
        .connect()
        .await
        .unwrap();
    assert!(matches!(stream.recv().await, Some(StreamEvent::Connected)));
    let mut unread = stream.subscribe_channel(channel.clone());
    let mut read = stream.subscribe_channel(channel.clone());
    let sent = 10 * capacity;
    for _ in 0..sent {
        fake.push(msg.clone());
    }
    for i in 0..sent {
        match tokio::time::timeout(HANG, stream.recv()).await {
            Ok(Some(StreamEvent::Event(Event::ChannelVarset(_)))) => {}
            other => panic!("stream item {i}: {other:?}"),
        }
        match tokio::time::timeout(HANG, read.recv()).await {
            Ok(Some(Event::ChannelVarset(_))) => {}
            other => panic!("subscription item {i}: {other:?}"),
        }
    }
    assert!(!read.lagged());
    assert!(unread.lagged());
    let mut kept = 0;
    while let Some(e) = tokio::time::timeout(HANG, unread.recv()).await.unwrap() {
        assert!(matches!(e, Event::ChannelVarset(_)), "{e:?}");
        kept += 1;
    }
    assert_eq!(
        kept,
        2 * capacity,
        "the lagged subscription yields what it held, then ends"
    );
    // The keepalive and the stream carry on: a new subscription gets the next event.
    let mut again = stream.subscribe_channel(channel);
    fake.push(msg);
    assert!(matches!(
        tokio::time::timeout(HANG, again.recv()).await,
        Ok(Some(Event::ChannelVarset(_)))
    ));
    assert!(!again.lagged());
}
