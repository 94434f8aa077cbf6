//! Agent-first click-to-call over ARI: originate the agent into the app, bridge, originate the
//! customer, join them; tear down when either side hangs up.
//!
//! Run with `cargo run -p hookflash-examples --example ari_bridge -- [AGENT] [CUSTOMER]` against
//! the local Asterisk, e.g. with `scripts/asterisk-peer/phone.sh agent1001 agent-answer-1s.xml`
//! and `scripts/asterisk-peer/phone.sh customer customer-uas.xml` running; defaults
//! `PJSIP/agent1001` and `PJSIP/5551205102@trunk` (answers after 2 s, hangs up after 5 s).
//! Environment: `ARI_URL`, `ARI_USER`, `ARI_PASS`, `ARI_APP` as in `ari_app`.
//!
//! Both channel ids and the bridge id are chosen before any request (stage-then-execute), so
//! every event of the call reaches its subscriber.

use anyhow::Context;
use hookflash_ari::{ChannelsOriginateWithIdOptions, Client, Event, StreamEvent, Subscription};

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// Waits for the channel's StasisStart; `None` if it ended first (no answer, busy, ...).
async fn wait_in_app(sub: &mut Subscription) -> Option<()> {
    while let Some(event) = sub.recv().await {
        match event {
            Event::StasisStart(_) => return Some(()),
            Event::ChannelDestroyed(d) => {
                println!(
                    "{} ended before answering: {} ({})",
                    sub.id(),
                    d.cause_txt,
                    d.cause
                );
                return None;
            }
            other => println!("{}: {}", sub.id(), other.type_name()),
        }
    }
    None
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(env("RUST_LOG", "info"))
        .init();
    let mut args = std::env::args().skip(1);
    let agent_endpoint = args.next().unwrap_or_else(|| "PJSIP/agent1001".to_owned());
    let customer_endpoint = args
        .next()
        .unwrap_or_else(|| "PJSIP/5551205102@trunk".to_owned());
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

    // Stage: ids first, subscribers next, requests last.
    let agent = client.new_channel();
    let customer = client.new_channel();
    let bridge = client.new_bridge();
    let mut agent_events = events.subscribe_channel(agent.id());
    let mut customer_events = events.subscribe_channel(customer.id());
    let call_id = client.new_id();
    // The main stream must keep being read; here it only reports the connection's state.
    let monitor = tokio::spawn(async move {
        while let Some(item) = events.recv().await {
            if !matches!(item, StreamEvent::Event(_)) {
                println!("connection: {item:?}");
            }
        }
    });

    let vars = serde_json::json!({ "HOOKFLASH_CALL_ID": call_id });
    let options = |role: &str| {
        ChannelsOriginateWithIdOptions::new()
            .app(&app)
            .app_args(format!("{role},{call_id}"))
            .caller_id("\"Hookflash Outbound\" <18005550100>")
            .timeout(30)
            .variables(vars.clone())
    };
    agent
        .originate(&agent_endpoint, options("agent"))
        .await
        .context("originate agent")?;
    println!("calling agent {agent_endpoint} as {}", agent.id());
    if wait_in_app(&mut agent_events).await.is_none() {
        monitor.abort();
        return Ok(());
    }
    bridge
        .create("mixing", Some(&format!("hookflash-{call_id}")))
        .await?;
    bridge.add_channels(&[agent.id()]).await?;
    println!("agent answered and is in bridge {}", bridge.id());

    customer
        .originate(&customer_endpoint, options("customer"))
        .await
        .context("originate customer")?;
    println!("calling customer {customer_endpoint} as {}", customer.id());
    if wait_in_app(&mut customer_events).await.is_some() {
        bridge.add_channels(&[customer.id()]).await?;
        println!("customer answered: agent and customer are talking");
        // Whoever hangs up first ends the call.
        tokio::select! {
            _ = until_gone(&mut agent_events) => println!("agent hung up"),
            _ = until_gone(&mut customer_events) => println!("customer hung up"),
        }
    }
    for ch in [&agent, &customer] {
        match ch.hangup().await {
            Ok(()) => println!("hung up {}", ch.id()),
            Err(e) if e.is_not_found() => {}
            Err(e) => println!("hangup {}: {e}", ch.id()),
        }
    }
    bridge.destroy().await?;
    println!("bridge {} destroyed", bridge.id());
    monitor.abort();
    Ok(())
}

async fn until_gone(sub: &mut Subscription) {
    while let Some(event) = sub.recv().await {
        if matches!(event, Event::StasisEnd(_) | Event::ChannelDestroyed(_)) {
            return;
        }
    }
}
