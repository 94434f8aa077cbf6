//! The pipeline's subscription to an AmiProvider is lossless: with every buffer tiny and a
//! consumer that does not read, the provider holds the AMI socket instead of dropping events,
//! and the consumer then gets every leg event the transcript makes, in order.

use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use hookflash_ami::mock::{MockServer, Transcript};
use hookflash_ami::{Action, AmiConfig, Event, MessageKind};
use hookflash_asterisk::{AmiProvider, AmiProviderConfig, AmiTranslator};
use hookflash_provider::{CallProvider, ProviderEvent};

fn transcript(name: &str) -> Transcript {
    let dir = hookflash_calls::expect::fixtures_dir().join("ami");
    Transcript::from_file(dir.join(format!("{name}.jsonl"))).expect("transcript")
}

/// The leg events a fresh translator makes of the transcript's events, as (leg, kind).
fn expected_legs(t: &Transcript) -> Vec<(String, String)> {
    let mut translator = AmiTranslator::new();
    hookflash_ami::decode_all(&t.server_bytes())
        .0
        .into_iter()
        .filter(|m| m.kind() == MessageKind::Event)
        .filter_map(|m| Event::from_message(m).ok())
        // List events answer an action; they are not on the event stream.
        .filter(|e| e.action_id().is_none())
        .flat_map(|e| translator.on_event(&e, Utc::now()))
        .map(|e| (e.leg.to_string(), e.kind.name().to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_stream_loses_nothing_when_its_consumer_is_slow() {
    let t = transcript("inbound-queue");
    let want = expected_legs(&t);
    // More than the provider's smallest buffer (16) holds.
    assert!(
        want.len() > 17,
        "a call's worth of leg events: {}",
        want.len()
    );
    let mock = MockServer::start(vec![t]).await.unwrap();
    let mut ami = AmiConfig::new("127.0.0.1", mock.addr().port(), "ami", "amipass");
    ami.keepalive = None;
    ami.reconnect.enabled = false;
    ami.action_timeout = Duration::from_secs(60);
    // The smallest buffers: the AMI client's and the provider's (16 at least).
    ami.event_buffer = 1;
    let mut config = AmiProviderConfig::new(ami);
    config.event_buffer = 1;
    let provider = AmiProvider::connect(config).await.unwrap();
    let mut pipeline = provider.pipeline_events();
    let mut lossy = provider.events();
    // The transcript streams the call after its QueueStatus.
    provider
        .client()
        .send_list(Action::new("QueueStatus").header("Queue", "hookflash-support"))
        .await
        .unwrap();
    let sync = {
        let provider = provider.clone();
        tokio::spawn(async move { provider.sync().await })
    };
    // Give a lossy provider every chance to read the whole call: this one cannot, nobody
    // has read the pipeline stream yet.
    for _ in 0..10_000 {
        if sync.is_finished() {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(
        !sync.is_finished(),
        "the Ping was answered over {} unread leg events",
        want.len()
    );
    let mut got = Vec::new();
    while got.len() < want.len() {
        match pipeline.next().await {
            Some(ProviderEvent::Leg(e)) => got.push((e.leg.to_string(), e.kind.name().to_owned())),
            Some(ProviderEvent::Lagged { missed }) => panic!("the pipeline lagged by {missed}"),
            Some(_) => {}
            None => break,
        }
    }
    assert_eq!(got, want, "every leg event, in order");
    sync.await.unwrap().unwrap();
    // The lossy subscriber held nobody back: it was told it lagged.
    let mut lagged = 0;
    while let Some(Some(ev)) = futures::FutureExt::now_or_never(lossy.next()) {
        if let ProviderEvent::Lagged { missed } = ev {
            lagged += missed;
        }
    }
    assert!(
        lagged > 0,
        "the lossy subscription lagged instead of holding the socket"
    );
}
