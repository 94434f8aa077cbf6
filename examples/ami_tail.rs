//! Prints the events of a local Asterisk's AMI, and keeps going across Asterisk restarts.
//!
//! Run with `cargo run -p hookflash-examples --example ami_tail`.
//! Environment: `AMI_HOST` (127.0.0.1), `AMI_PORT` (5038), `AMI_USER` (ami), `AMI_SECRET`
//! (amipass), `AMI_MD5=1` for the MD5 challenge login. Ctrl-C stops it.

use hookflash_ami::{AmiClient, AmiConfig, AuthMode, ClientEvent, Event};

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(env("RUST_LOG", "hookflash_ami=info"))
        .init();
    let mut config = AmiConfig::new(
        env("AMI_HOST", "127.0.0.1"),
        env("AMI_PORT", "5038").parse()?,
        env("AMI_USER", "ami"),
        env("AMI_SECRET", "amipass"),
    );
    if env("AMI_MD5", "0") == "1" {
        config.auth = AuthMode::Md5;
    }
    let (client, mut events) = AmiClient::connect(config).await?;
    println!("{}", client.command("core show uptime").await?);
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            item = events.recv() => match item {
                None => break,
                Some(ClientEvent::Event(e)) => print_event(&e),
                Some(ClientEvent::Lagged(n)) => println!("!! missed {n} events"),
                Some(ClientEvent::Reconnected) => {
                    println!("!! reconnected; channels now up:");
                    match client.send_list(hookflash_ami::Action::new("CoreShowChannels")).await {
                        Ok((_, list)) => {
                            for c in list {
                                if let Event::CoreShowChannel(c) = c {
                                    let ch = c.channel.as_ref();
                                    println!("   {} {}", ch.and_then(|c| c.channel()).unwrap_or("?"), ch.and_then(|c| c.channel_state_desc()).unwrap_or(""));
                                }
                            }
                        }
                        Err(e) => println!("!! CoreShowChannels failed: {e}"),
                    }
                }
                Some(other) => println!("!! {other:?}"),
            }
        }
    }
    Ok(())
}

fn print_event(e: &Event) {
    match e {
        Event::Newchannel(c) => println!("Newchannel {}", chan(&c.channel)),
        Event::Newstate(c) => println!(
            "Newstate   {} -> {}",
            chan(&c.channel),
            c.channel
                .as_ref()
                .and_then(|c| c.channel_state_desc())
                .unwrap_or("?")
        ),
        Event::DialEnd(d) => println!(
            "DialEnd    {} -> {} {}",
            chan(&d.channel),
            chan(&d.dest),
            d.dial_status
                .as_ref()
                .map(|s| s.to_string())
                .unwrap_or_default()
        ),
        Event::Hangup(h) => println!(
            "Hangup     {} cause {} ({})",
            chan(&h.channel),
            h.cause.unwrap_or(-1),
            h.cause_txt
                .as_ref()
                .map(|s| s.to_string())
                .unwrap_or_default()
        ),
        Event::OriginateResponse(o) => println!(
            "OriginateResponse {} reason {:?} ({})",
            o.response
                .as_ref()
                .map(|s| s.to_string())
                .unwrap_or_default(),
            o.reason,
            o.action_id
                .as_ref()
                .map(|s| s.to_string())
                .unwrap_or_default()
        ),
        Event::VarSet(_) | Event::Cel(_) | Event::Newexten(_) => {}
        other => println!("{}", other.name()),
    }
}

fn chan(c: &Option<hookflash_ami::ChannelInfo>) -> &str {
    c.as_ref().and_then(|c| c.channel()).unwrap_or("-")
}
