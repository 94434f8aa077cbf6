#![allow(missing_docs)] // criterion_group! generates an undocumented function
//! Throughput of AmiTranslator: the whole `ami/load` transcript (300 calls, 26,990 messages)
//! translated into leg events, and through the tracker too.

use std::hint::black_box;

use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hookflash_ami::{Event, decode_all};
use hookflash_asterisk::AmiTranslator;
use hookflash_calls::{Tracker, TrackerConfig};

fn load_events() -> Vec<Event> {
    let dir = hookflash_testkit::fixtures_dir();
    let bytes = std::fs::read(dir.join("ami/load.recv")).expect("ami/load.recv");
    let (messages, _) = decode_all(&bytes);
    messages
        .into_iter()
        .filter_map(|m| Event::from_message(m).ok())
        .collect()
}

fn bench(c: &mut Criterion) {
    let events = load_events();
    let mut group = c.benchmark_group("ami_load");
    group.sample_size(20);
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("translate", |b| {
        b.iter(|| {
            let mut t = AmiTranslator::new();
            let now = Utc::now();
            let mut n = 0usize;
            for e in &events {
                n += t.on_event(e, now).len();
            }
            black_box(n)
        })
    });
    group.bench_function("translate_and_track", |b| {
        b.iter(|| {
            let mut t = AmiTranslator::new();
            let mut tracker = Tracker::new(TrackerConfig::default());
            let now = Utc::now();
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
