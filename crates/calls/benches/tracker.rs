//! Throughput of `Tracker::apply` on a synthetic 100,000-call workload, and the memory per
//! live call.
//!
//! `cargo bench -p hookflash-calls` prints, before criterion's figures, the resident memory
//! (from `/proc/self/statm`) taken by 100,000 live, connected calls, and the bytes per call.

use std::hint::black_box;

use chrono::{DateTime, TimeDelta};
use criterion::{BatchSize, Criterion, Throughput};
use hookflash_calls::{Tracker, TrackerConfig};
use hookflash_provider::{LegEvent, LegEventKind};

#[allow(dead_code, unreachable_pub)]
#[path = "../tests/tracker/synth.rs"]
mod synth;

const CALLS: u64 = 100_000;

/// 100,000 calls of the load mix, started 10,000 per second, every event in time order.
fn workload() -> Vec<LegEvent> {
    let t0 = DateTime::from_timestamp(1_795_600_000, 0).unwrap_or_default();
    let mut events: Vec<LegEvent> = (0..CALLS)
        .flat_map(|n| {
            let start = t0 + TimeDelta::microseconds(100 * n as i64);
            synth::call_events(&synth::plan_mix(n, start, 20_261_122))
        })
        .collect();
    events.sort_by_key(|e| e.at);
    events
}

fn run_all(events: &[LegEvent]) -> Tracker {
    let mut tracker = Tracker::new(TrackerConfig::default());
    let mut next = None;
    for e in events {
        black_box(tracker.apply(e, e.at));
        // Drive the timers as a real driver would: when the next deadline has passed.
        if next.is_some_and(|t| t <= e.at) || next.is_none() {
            black_box(tracker.expire(e.at));
            next = tracker.poll_timeout();
        }
    }
    tracker
}

fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Builds 100,000 live calls (every answered call up to its bridge) and reports the memory.
fn memory_report() {
    let t0 = DateTime::from_timestamp(1_795_700_000, 0).unwrap_or_default();
    let mut setups: Vec<LegEvent> = Vec::new();
    for n in 0..CALLS {
        let mut plan = synth::plan_mix(n, t0 + TimeDelta::microseconds(10 * n as i64), 7);
        plan.agent = synth::AgentOutcome::Answer;
        plan.customer = synth::CustomerOutcome::Answer;
        plan.hold = false;
        plan.dtmf = false;
        let events = synth::call_events(&plan);
        // Up to and including the second Bridged: the call is connected and stays live.
        let mut bridged = 0;
        for e in events {
            let is_bridge = matches!(e.kind, LegEventKind::Bridged { .. });
            setups.push(e);
            if is_bridge {
                bridged += 1;
                if bridged == 2 {
                    break;
                }
            }
        }
    }
    setups.sort_by_key(|e| e.at);
    let per_call_events = setups.len() as f64 / CALLS as f64;
    let before = resident_bytes();
    let mut tracker = Tracker::new(TrackerConfig::default());
    for e in &setups {
        black_box(tracker.apply(e, e.at));
    }
    let after = resident_bytes();
    drop(setups);
    let live = tracker.live_len();
    match (before, after) {
        (Some(b), Some(a)) => println!(
            "memory: {live} live connected calls ({per_call_events:.1} events each) take {:.1} MiB resident, {} bytes per live call",
            (a.saturating_sub(b)) as f64 / (1024.0 * 1024.0),
            a.saturating_sub(b) / live.max(1) as u64
        ),
        _ => println!("memory: /proc/self/statm not available"),
    }
    black_box(&tracker);
}

fn apply_throughput(c: &mut Criterion) {
    let events = workload();
    let mut group = c.benchmark_group("tracker");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(30));
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("apply_100k_calls", |b| {
        b.iter_batched(|| (), |()| run_all(&events), BatchSize::PerIteration);
    });
    group.finish();
}

fn main() {
    memory_report();
    let mut criterion = Criterion::default().configure_from_args();
    apply_throughput(&mut criterion);
    criterion.final_summary();
}
