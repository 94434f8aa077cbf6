//! Decoding speed of recorded ARI events (the WebSocket hot path): JSON text to typed `Event`.

use criterion::{Criterion, Throughput, criterion_main};
use hookflash_ari::Event;

fn recorded_messages() -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/asterisk-22/ari/ari-agent-first-bridge.jsonl"
    );
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["kind"] == "ws").then(|| v["message"].to_string())
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let messages = recorded_messages();
    let bytes: usize = messages.iter().map(String::len).sum();
    let mut group = c.benchmark_group("ari_event");
    group.throughput(Throughput::Elements(messages.len() as u64));
    group.bench_function(
        format!("parse {} recorded events ({bytes} bytes)", messages.len()),
        |b| {
            b.iter(|| {
                for m in &messages {
                    let v: serde_json::Value = serde_json::from_str(m).unwrap();
                    std::hint::black_box(Event::from_value(v).unwrap());
                }
            })
        },
    );
    group.finish();
}

mod groups {
    #![allow(missing_docs)] // criterion's macro makes an undocumented pub fn
    use super::bench;
    criterion::criterion_group!(benches, bench);
}

criterion_main!(groups::benches);
