//! Replays leg events through the call tracker and prints what it decides.
//!
//! Run with `cargo run -p hookflash-examples --example calls_replay [EVENTS.jsonl]`.
//!
//! `EVENTS.jsonl` holds one `hookflash_provider::LegEvent` per line as JSON (what a provider's
//! event stream carries). Without a file, a built-in agent-first call is replayed: the agent
//! answers, the customer answers, holds for three seconds, and hangs up.
//! Every update is printed as one line; the final records are printed as JSON.

use std::io::BufRead;

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use hookflash_calls::{Tracker, TrackerConfig, UpdateKind};
use hookflash_provider::{
    CallId, DialOutcome, HangupCause, HangupSide, LegEvent, LegEventKind, LegId, TenantId,
};

fn demo_events(call: CallId, t0: DateTime<Utc>) -> anyhow::Result<Vec<LegEvent>> {
    let agent = LegId::new("1795315411.4")?;
    let customer = LegId::new("1795315412.5")?;
    let at = |ms: i64| t0 + TimeDelta::milliseconds(ms);
    let a = |ms, kind| {
        LegEvent::new(agent.clone(), at(ms), kind)
            .with_call_id(call)
            .with_linkedid("1795315411.4")
            .with_channel("PJSIP/agent1001-00000004")
    };
    let c = |ms, kind| {
        LegEvent::new(customer.clone(), at(ms), kind)
            .with_linkedid("1795315411.4")
            .with_channel("PJSIP/trunk-00000005")
    };
    let bridge = "51f302cb-8d16-4788-8d29-bbe11f7282f8".to_owned();
    Ok(vec![
        a(
            0,
            LegEventKind::Created {
                role: None,
                endpoint: Some("PJSIP/agent1001".into()),
                caller_number: None,
                called_number: None,
            },
        ),
        a(4, LegEventKind::Ringing),
        a(1_032, LegEventKind::Answered),
        c(
            1_033,
            LegEventKind::Created {
                role: None,
                endpoint: None,
                caller_number: Some("18005550100".into()),
                called_number: Some("5551204005".into()),
            },
        ),
        a(
            1_034,
            LegEventKind::Dialing {
                target: Some(customer.clone()),
                destination: Some("PJSIP/5551204005@trunk".into()),
            },
        ),
        c(1_037, LegEventKind::Ringing),
        c(3_088, LegEventKind::Answered),
        c(
            3_088,
            LegEventKind::DialResult {
                status: DialOutcome::Answer,
                caller: Some(agent.clone()),
            },
        ),
        c(
            3_089,
            LegEventKind::Bridged {
                bridge: bridge.clone(),
                with: None,
            },
        ),
        a(
            3_089,
            LegEventKind::Bridged {
                bridge: bridge.clone(),
                with: Some(customer.clone()),
            },
        ),
        c(5_141, LegEventKind::Held),
        c(8_215, LegEventKind::Unheld),
        c(
            12_316,
            LegEventKind::HangupRequested {
                side: HangupSide::Remote,
                cause: None,
            },
        ),
        c(
            12_316,
            LegEventKind::Unbridged {
                bridge: bridge.clone(),
            },
        ),
        a(12_317, LegEventKind::Unbridged { bridge }),
        c(
            12_317,
            LegEventKind::HungUp {
                cause: HangupCause::from_code(16),
                side: HangupSide::Remote,
            },
        ),
        a(
            12_318,
            LegEventKind::HungUp {
                cause: HangupCause::from_code(16),
                side: HangupSide::Local,
            },
        ),
    ])
}

fn main() -> anyhow::Result<()> {
    let mut tracker = Tracker::new(TrackerConfig::default());
    let mut initial = Vec::new();
    let events = match std::env::args().nth(1) {
        Some(path) => {
            let file = std::fs::File::open(&path).with_context(|| format!("opening {path}"))?;
            let mut events = Vec::new();
            for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                let event: LegEvent = serde_json::from_str(&line)
                    .with_context(|| format!("{path}:{}: not a LegEvent", n + 1))?;
                events.push(event);
            }
            events
        }
        None => {
            let call = CallId::new_random();
            let t0 = Utc::now();
            let tenant = TenantId::new_random();
            initial = tracker.register_originate(call, tenant, "PJSIP/agent1001", "5551204005", t0);
            demo_events(call, t0)?
        }
    };
    let mut ended = Vec::new();
    let mut report = |updates: Vec<hookflash_calls::CallUpdate>| {
        for u in updates {
            let what = u.event.as_ref().map_or("timer", |e| e.event.as_ref());
            println!(
                "{:<7} {} {:<16} after {:<18} disposition={:?}",
                format!("{:?}", u.kind),
                u.call_id,
                format!("{:?}", u.record.state),
                what,
                u.record.disposition
            );
            if u.kind == UpdateKind::Ended {
                ended.push(u.record);
            }
        }
    };
    report(initial);
    let mut last = None;
    for event in &events {
        report(tracker.apply(event, event.at));
        last = Some(event.at);
    }
    // Let the reorder window pass so every ended call gets its final update.
    if let Some(last) = last {
        report(tracker.expire(last + TimeDelta::seconds(60)));
    }
    for record in &ended {
        println!("{}", serde_json::to_string_pretty(record)?);
    }
    Ok(())
}
