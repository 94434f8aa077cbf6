//! An agent-first call through `AriProvider` (the Stasis application `hookflash`), with its
//! leg events fed to the call tracker; prints each event and the final record.
//!
//! Needs the Asterisk peer (`bash scripts/asterisk-peer/start.sh`) and two sipp phones:
//! ```text
//! bash scripts/asterisk-peer/phone.sh agent1001 agent-answer-1s.xml
//! bash scripts/asterisk-peer/phone.sh customer customer-uas.xml
//! cargo run -p hookflash-examples --example ari_provider -- 5551204005
//! ```
//! Environment: `ARI_URL` (default `http://127.0.0.1:8088/ari`), `ARI_USER`/`ARI_PASS`
//! (`ari`/`aripass`), `ARI_APP` (`hookflash`), `AGENT` (`PJSIP/agent1001`). The argument is the
//! customer's number (`555ORTTNNN` on the peer: 5551204005 answers after 2 s, talks 4 s).

use std::time::Duration;

use futures::StreamExt;
use hookflash_ari::Client;
use hookflash_asterisk::{AriProvider, AriProviderConfig};
use hookflash_calls::{CallState, Tracker, TrackerConfig};
use hookflash_provider::{CallId, CallProvider, OriginateRequest, ProviderEvent, TenantId};

fn env(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let number = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "5551204005".to_owned());
    let client = Client::builder(
        env("ARI_URL", "http://127.0.0.1:8088/ari"),
        env("ARI_USER", "ari"),
        env("ARI_PASS", "aripass"),
    )
    .build()?;
    let provider =
        AriProvider::connect(client, AriProviderConfig::new(env("ARI_APP", "hookflash"))).await?;
    for (capability, support) in provider.capabilities().rows() {
        println!("{:<18} {support:?}", capability.as_str());
    }
    let mut events = provider.events();

    let call_id = CallId::new_random();
    let mut request = OriginateRequest::new(
        call_id,
        TenantId::new_random(),
        env("AGENT", "PJSIP/agent1001"),
        number.clone(),
    );
    request.caller_id = Some("18005550100".to_owned());
    request.caller_name = Some("Hookflash Outbound".to_owned());
    let mut tracker = Tracker::new(TrackerConfig::default());
    tracker.register_originate(
        call_id,
        request.tenant,
        request.agent_endpoint.clone(),
        number,
        chrono::Utc::now(),
    );
    provider.originate(request).await?;
    println!("call {call_id} placed");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, events.next()).await {
        match &event {
            ProviderEvent::Leg(leg) => {
                println!("{} {} {}", leg.at, leg.leg, leg.kind.name());
                tracker.apply(leg, leg.at);
            }
            other => println!("{other:?}"),
        }
        if tracker
            .call(&call_id)
            .is_some_and(|r| r.state == CallState::Ended)
        {
            break;
        }
    }
    match tracker.call(&call_id) {
        Some(r) => println!(
            "state {:?}, disposition {:?}, hung up by {:?}, cause {:?}, talk {} s",
            r.state,
            r.disposition,
            r.hung_up_by,
            r.hangup_cause.as_ref().map(|c| c.code),
            r.talk_secs
        ),
        None => println!("no record for {call_id}"),
    }
    Ok(())
}
