//! Places an agent-first call through Twilio and prints what happens to its legs.
//!
//! Run with `cargo run -p hookflash-examples --example twilio_call`.
//!
//! Twilio must reach this program's webhooks: run it on a host with a public URL (or behind a
//! tunnel) and set `TWILIO_PUBLIC_URL` to exactly the URL Twilio will call (signatures are
//! checked against it). Environment:
//! - `TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN` (required): the account's credentials.
//! - `TWILIO_PUBLIC_URL` (required): e.g. `https://abc123.ngrok.app`.
//! - `TWILIO_FROM` (required): a Twilio number or verified caller id, shown to both parties.
//! - `TWILIO_AGENT` (required): the agent: a number, `client:alice` or `sip:agent@example.com`.
//! - `TWILIO_CUSTOMER` (required): the number to dial once the agent answers.
//! - `TWILIO_LISTEN` (`0.0.0.0:8080`): where the webhook server listens.
//! - `TWILIO_BRIDGE` (`dial`): `dial` or `conference` (hold, mute, attended transfer, DTMF).
//! - `TWILIO_API_BASE` (`https://api.twilio.com`): another API base (a fake, a regional edge).
//!
//! Ctrl-C hangs the call up (and a second Ctrl-C quits at once).

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context as _, bail};
use futures::StreamExt as _;
use hookflash_provider::{
    CallId, CallProvider, LegEventKind, OriginateRequest, ProviderEvent, TenantId,
};
use hookflash_twilio::{BridgeMode, TwilioConfig, TwilioProvider, webhook_router};

const REQUIRED: [&str; 6] = [
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_PUBLIC_URL",
    "TWILIO_FROM",
    "TWILIO_AGENT",
    "TWILIO_CUSTOMER",
];

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn required(name: &str) -> anyhow::Result<String> {
    env(name).with_context(|| format!("{name} is not set"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(env("RUST_LOG").unwrap_or_else(|| "hookflash_twilio=info".into()))
        .init();
    let missing: Vec<&str> = REQUIRED.into_iter().filter(|n| env(n).is_none()).collect();
    if !missing.is_empty() {
        bail!(
            "missing environment: {} (see the comment at the top of examples/twilio_call.rs)",
            missing.join(", ")
        );
    }
    let bridge = match env("TWILIO_BRIDGE") {
        Some(text) => {
            BridgeMode::parse(&text).context("TWILIO_BRIDGE must be dial or conference")?
        }
        None => BridgeMode::Dial,
    };
    let mut config = TwilioConfig::new(
        required("TWILIO_ACCOUNT_SID")?,
        required("TWILIO_AUTH_TOKEN")?,
        required("TWILIO_PUBLIC_URL")?,
    )?
    .with_agent_caller_id(required("TWILIO_FROM")?)
    .with_bridge(bridge);
    if let Some(base) = env("TWILIO_API_BASE") {
        config = config.with_api_base(base);
    }
    let provider = TwilioProvider::new(config)?;

    let listen = env("TWILIO_LISTEN").unwrap_or_else(|| "0.0.0.0:8080".into());
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    println!("webhooks on http://{listen}/twilio/...");
    let app = webhook_router(provider.webhook_state());
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            eprintln!("webhook server stopped: {err}");
        }
    });

    let mut events = provider.events();
    let call_id = CallId::new_random();
    let mut request = OriginateRequest::new(
        call_id,
        TenantId::new_random(),
        required("TWILIO_AGENT")?,
        required("TWILIO_CUSTOMER")?,
    );
    request.caller_id = Some(required("TWILIO_FROM")?);
    request.agent_ring_timeout = Duration::from_secs(25);
    provider
        .originate(request)
        .await
        .context("Twilio refused the call")?;
    println!("call {call_id}: agent leg requested");

    let mut live = BTreeSet::new();
    let mut seen_any = false;
    let mut stopping = false;
    loop {
        tokio::select! {
            event = events.next() => match event {
                Some(ProviderEvent::Leg(e)) => {
                    println!("{} {:<34} {:?}", e.at.format("%H:%M:%S%.3f"), e.leg, e.kind);
                    match e.kind {
                        LegEventKind::Created { .. } => {
                            seen_any = true;
                            live.insert(e.leg.clone());
                        }
                        LegEventKind::HungUp { .. } => {
                            live.remove(&e.leg);
                        }
                        _ => {}
                    }
                    if seen_any && live.is_empty() {
                        println!("call {call_id} is over");
                        return Ok(());
                    }
                }
                Some(other) => println!("{other:?}"),
                None => bail!("event stream closed"),
            },
            _ = tokio::signal::ctrl_c() => {
                if stopping || live.is_empty() {
                    return Ok(());
                }
                // Hang up, then keep printing until the legs are gone (Ctrl-C again to quit).
                stopping = true;
                for leg in &live {
                    if let Err(err) = provider.hangup(leg, None).await {
                        eprintln!("hangup {leg}: {err}");
                    }
                }
            }
        }
    }
}
