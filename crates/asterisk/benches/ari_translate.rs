#![allow(missing_docs)] // criterion_group! generates an undocumented function
//! Throughput of AriTranslator: 300 inbound queue calls (the project's live capture
//! `tests/data/ari-inbound-queue.jsonl`, every channel and bridge id renamed per copy, so each
//! copy is a call of its own, as an application subscribed to all channels sees them) plus
//! every call of the ARI fixtures, translated into leg events, and through the tracker too.
//! `ARI_BENCH_REPORT_ONLY=1` prints just events/s of one pass.

use std::hint::black_box;
use std::time::Instant;

use chrono::{DateTime, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hookflash_ari::Event;
use hookflash_asterisk::AriTranslator;
use hookflash_calls::{Tracker, TrackerConfig};

const COPIES: usize = 300;

fn ws_events(text: &str) -> Vec<Event> {
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["kind"] == "ws")
        .filter_map(|v| Event::from_value(v["message"].clone()).ok())
        .collect()
}

fn corpus() -> Vec<Event> {
    let inbound = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/ari-inbound-queue.jsonl"
    ))
    .expect("tests/data/ari-inbound-queue.jsonl");
    let mut events = Vec::new();
    for copy in 0..COPIES {
        // Channel ids `1796218039.N` and the bridge's uuid, made unique per copy.
        let text = inbound
            .replace("1796218039.", &format!("{}.", 1_700_000_000 + copy))
            .replace("0f68b4e7-", &format!("{copy:08x}-"));
        events.extend(ws_events(&text));
    }
    let dir = hookflash_testkit::fixtures_dir();
    for name in [
        "ari-agent-first-bridge",
        "ari-dial-busy",
        "ari-stasis-basic",
    ] {
        if let Ok(text) = std::fs::read_to_string(dir.join(format!("ari/{name}.jsonl"))) {
            events.extend(ws_events(&text));
        }
    }
    events
}

fn translate(events: &[Event], now: DateTime<Utc>) -> usize {
    let mut t = AriTranslator::new();
    let mut n = 0usize;
    for e in events {
        n += t.on_event(e, now).len();
    }
    n
}

fn bench(c: &mut Criterion) {
    let events = corpus();
    let now = DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default();
    if std::env::var_os("ARI_BENCH_REPORT_ONLY").is_some() {
        let start = Instant::now();
        let legs = translate(&events, now);
        let secs = start.elapsed().as_secs_f64();
        println!(
            "ari translate: {} events -> {legs} leg events in {:.1} ms: {:.0} events/s",
            events.len(),
            secs * 1e3,
            events.len() as f64 / secs
        );
        return;
    }
    let mut group = c.benchmark_group("ari_inbound");
    group.sample_size(20);
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("translate", |b| {
        b.iter(|| black_box(translate(&events, now)))
    });
    group.bench_function("translate_and_track", |b| {
        b.iter(|| {
            let mut t = AriTranslator::new();
            let mut tracker = Tracker::new(TrackerConfig::default());
            for e in &events {
                for ev in t.on_event(e, now) {
                    black_box(tracker.apply(&ev, ev.at));
                }
            }
            black_box(tracker.len())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
