//! Places an agent-first call through `AmiProvider` and prints the call record as the tracker
//! builds it from the provider's leg events, until the call ends.
//!
//! Run with `cargo run -p hookflash-examples --example ami_provider -- [AGENT] [NUMBER]`
//! (defaults `PJSIP/agent1001` and `5551204005`; against the test peer start the phones first:
//! `scripts/asterisk-peer/phone.sh agent1001 agent-answer-1s.xml` and
//! `scripts/asterisk-peer/phone.sh customer customer-uas.xml`; against
//! `examples/asterisk/docker-compose.yml` set `AMI_USER=hookflash AMI_SECRET=change-me-ami`).
//! Environment: `AMI_HOST`, `AMI_PORT`, `AMI_USER`, `AMI_SECRET` as for `ami_tail`.

use std::time::Duration;

use futures::StreamExt;
use hookflash_ami::AmiConfig;
use hookflash_asterisk::{AmiProvider, AmiProviderConfig};
use hookflash_calls::{CallState, Tracker, TrackerConfig};
use hookflash_provider::{CallId, CallProvider, OriginateRequest, ProviderEvent, TenantId};

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let agent = args.next().unwrap_or_else(|| "PJSIP/agent1001".into());
    let number = args.next().unwrap_or_else(|| "5551204005".into());
    let ami = AmiConfig::new(
        env("AMI_HOST", "127.0.0.1"),
        env("AMI_PORT", "5038").parse()?,
        env("AMI_USER", "ami"),
        env("AMI_SECRET", "amipass"),
    );
    let provider = AmiProvider::connect(AmiProviderConfig::new(ami)).await?;
    for (capability, support) in provider.capabilities().rows() {
        println!("{:<18} {support:?}", capability.as_str());
    }
    let mut events = provider.events();
    let mut tracker = Tracker::new(TrackerConfig::default());

    let call_id = CallId::new_random();
    let mut request = OriginateRequest::new(call_id, TenantId::new_random(), &agent, &number);
    request.caller_name = Some("Hookflash Outbound".into());
    request.caller_id = Some("18005550100".into());
    request.agent_ring_timeout = Duration::from_secs(30);
    tracker.register_originate(call_id, request.tenant, &agent, &number, chrono::Utc::now());
    provider.originate(request).await?;
    println!("call {call_id}: {agent} first, then {number}");

    let deadline = tokio::time::sleep(Duration::from_secs(120));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => anyhow::bail!("the call did not end within 2 minutes"),
            item = events.next() => {
                let Some(item) = item else { anyhow::bail!("the provider stopped") };
                let updates = match item {
                    ProviderEvent::Leg(ev) => {
                        println!("  {} {:<16} {}", ev.at.format("%H:%M:%S%.3f"), ev.kind.name(), ev.leg);
                        tracker.apply(&ev, ev.at)
                    }
                    ProviderEvent::Resynced { legs } => tracker.merge_snapshot(&legs, chrono::Utc::now()),
                    other => {
                        println!("  {other:?}");
                        Vec::new()
                    }
                };
                for u in updates.iter().filter(|u| u.call_id == call_id) {
                    println!("call {:?}", u.record.state);
                }
                if let Some(r) = tracker.call(&call_id).filter(|r| r.state == CallState::Ended) {
                    println!(
                        "ended: disposition {:?}, hung up by {:?}, cause {:?}, talk {} s",
                        r.disposition, r.hung_up_by, r.hangup_cause, r.talk_secs
                    );
                    return Ok(());
                }
            }
        }
    }
}
