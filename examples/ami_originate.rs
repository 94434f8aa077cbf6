//! Places an agent-first call through AMI and prints its OriginateResponse and progress.
//!
//! Run with `cargo run -p hookflash-examples --example ami_originate -- [AGENT] [NUMBER]`
//! (defaults `PJSIP/agent1001` and `5551204005`; against the test peer start the phones first:
//! `scripts/asterisk-peer/phone.sh agent1001 agent-answer-1s.xml` and
//! `scripts/asterisk-peer/phone.sh customer customer-uas.xml`).
//! Environment: `AMI_HOST`, `AMI_PORT`, `AMI_USER`, `AMI_SECRET` as for `ami_tail`.

use std::time::Duration;

use hookflash_ami::{Action, AmiClient, AmiConfig, ClientEvent, Event};

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let agent = args.next().unwrap_or_else(|| "PJSIP/agent1001".into());
    let number = args.next().unwrap_or_else(|| "5551204005".into());
    let config = AmiConfig::new(
        env("AMI_HOST", "127.0.0.1"),
        env("AMI_PORT", "5038").parse()?,
        env("AMI_USER", "ami"),
        env("AMI_SECRET", "amipass"),
    );
    let (client, mut events) = AmiClient::connect(config).await?;
    let call_id = format!("example-{}", std::process::id());
    let originate = Action::new("Originate")
        .header("Channel", agent)
        .header("Context", "hookflash-outbound")
        .header("Exten", number)
        .header("Priority", "1")
        .header("CallerID", "\"Hookflash Outbound\" <18005550100>")
        .header("Timeout", "30000")
        .variable("HOOKFLASH_CALL_ID", &call_id);
    let result = client.originate_async(originate).await?;
    println!(
        "OriginateResponse: {} reason {:?} channel {}",
        result
            .response
            .as_ref()
            .map(|s| s.to_string())
            .unwrap_or_default(),
        result.reason,
        result
            .channel
            .as_ref()
            .map(|s| s.to_string())
            .unwrap_or_default()
    );
    let Some(uniqueid) = result
        .uniqueid
        .as_ref()
        .map(|u| u.to_string())
        .filter(|u| u != "<unknown>")
    else {
        println!("the agent leg did not answer");
        return Ok(());
    };
    // Follow the call (every leg shares the agent leg's uniqueid as Linkedid) until it ends.
    let mut legs_up = 1usize;
    let deadline = tokio::time::sleep(Duration::from_secs(120));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => break,
            item = events.recv() => match item {
                Some(ClientEvent::Event(e)) => {
                    let linked = e.raw().get_str("Linkedid").unwrap_or_default();
                    if linked != uniqueid { continue; }
                    match &e {
                        Event::Newchannel(_) => legs_up += 1,
                        Event::DialEnd(d) => println!("dial: {}", d.dial_status.as_ref().map(|s| s.to_string()).unwrap_or_default()),
                        Event::BridgeEnter(b) => println!("bridged: {}", b.channel.as_ref().and_then(|c| c.channel()).unwrap_or("?")),
                        Event::Hangup(h) => {
                            println!("hangup: {} cause {:?}", h.channel.as_ref().and_then(|c| c.channel()).unwrap_or("?"), h.cause);
                            legs_up = legs_up.saturating_sub(1);
                            if legs_up == 0 { break; }
                        }
                        _ => {}
                    }
                }
                Some(ClientEvent::Lagged(n)) => println!("missed {n} events"),
                Some(_) => {}
                None => break,
            }
        }
    }
    Ok(())
}
