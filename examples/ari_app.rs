//! A Stasis application: answers every channel that enters it, plays a sound, hangs up.
//!
//! Run with `cargo run -p hookflash-examples --example ari_app -- [ENDPOINT]` against the local
//! Asterisk (`scripts/asterisk-peer/start.sh`). With an ENDPOINT (e.g. `PJSIP/agent1001`, with
//! `scripts/asterisk-peer/phone.sh agent1001 agent-answer-1s.xml` running) it first originates a
//! call into the app and exits when that call has left it; without one it serves forever.
//! Environment: `ARI_URL` (default `http://127.0.0.1:8088`), `ARI_USER`/`ARI_PASS`
//! (`ari`/`aripass`), `ARI_APP` (`hookflash`).

use std::collections::HashMap;

use anyhow::Context;
use hookflash_ari::{
    ChannelsOriginateWithIdOptions, ChannelsPlayWithIdOptions, Client, Event, StreamEvent,
};

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(env("RUST_LOG", "info"))
        .init();
    let app = env("ARI_APP", "hookflash");
    let client = Client::builder(
        env("ARI_URL", "http://127.0.0.1:8088"),
        env("ARI_USER", "ari"),
        env("ARI_PASS", "aripass"),
    )
    .build()?;
    let mut events = client
        .event_stream([app.as_str()])
        .connect()
        .await
        .context("events WebSocket")?;

    let originated = match std::env::args().nth(1) {
        Some(endpoint) => {
            let ch = client.new_channel();
            ch.originate(
                &endpoint,
                ChannelsOriginateWithIdOptions::new()
                    .app(&app)
                    .app_args("ari_app"),
            )
            .await
            .context("originate")?;
            println!("originated {} to {endpoint}", ch.id());
            Some(ch.id().to_owned())
        }
        None => None,
    };

    // playback id -> channel id: hang up when the channel's sound is done.
    let mut playing: HashMap<String, String> = HashMap::new();
    while let Some(item) = events.recv().await {
        let event = match item {
            StreamEvent::Event(e) => e,
            StreamEvent::ApplicationReplaced(_) => anyhow::bail!("another connection took the app"),
            other => {
                println!("connection: {other:?}");
                continue;
            }
        };
        match &event {
            Event::StasisStart(start) => {
                let ch = client.channel_handle(&start.channel.id);
                println!("{} entered {app} ({})", ch.id(), start.channel.name);
                ch.answer().await?;
                // The playback id is chosen before the request so PlaybackFinished can't be missed.
                let playback_id = client.new_id();
                playing.insert(playback_id.clone(), ch.id().to_owned());
                client
                    .channels()
                    .play_with_id(
                        ch.id(),
                        &playback_id,
                        &["sound:hello-world"],
                        ChannelsPlayWithIdOptions::new(),
                    )
                    .await?;
            }
            Event::PlaybackFinished(done) => {
                if let Some(channel) = playing.remove(&done.playback.id) {
                    println!(
                        "played {} on {channel}; hanging up",
                        done.playback.media_uri
                    );
                    if let Err(e) = client.channel_handle(&channel).hangup().await {
                        // The caller may have hung up first.
                        println!("hangup {channel}: {e}");
                    }
                }
            }
            Event::StasisEnd(end) => {
                println!("{} left {app}", end.channel.id);
                if originated.as_deref() == Some(end.channel.id.as_str()) {
                    break;
                }
            }
            other => println!("{}", other.type_name()),
        }
    }
    Ok(())
}
