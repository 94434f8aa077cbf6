#![allow(missing_docs, clippy::expect_used)]
//! Decodes the fixtures' `ami/load.recv` (300 real calls) in 64 KiB chunks, raw and typed.
//!
//! Run with `cargo bench -p hookflash-ami`. Criterion reports MB/s (bytes throughput); the
//! messages/s figure is printed once per group from the measured message count.

use std::time::Instant;

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hookflash_ami::{AmiCodec, Event, Frame};

const CHUNK: usize = 64 * 1024;

fn corpus() -> Vec<u8> {
    let dir = hookflash_testkit::fixtures_dir();
    std::fs::read(dir.join("ami/load.recv")).expect("read ami/load.recv")
}

/// Feeds `data` in 64 KiB chunks; calls `f` for every message. Returns the message count.
fn decode_chunks(data: &[u8], mut f: impl FnMut(hookflash_ami::Message)) -> usize {
    let mut codec = AmiCodec::default();
    let mut buf = BytesMut::with_capacity(2 * CHUNK);
    let mut n = 0;
    for chunk in data.chunks(CHUNK) {
        buf.extend_from_slice(chunk);
        while let Some(frame) = codec.decode_frame(&mut buf).expect("valid corpus") {
            if let Frame::Message(m) = frame {
                n += 1;
                f(m);
            }
        }
    }
    n
}

/// Prints MB/s and messages/s from the fastest of 30 passes (robust on a busy machine).
fn report(label: &str, bytes: usize, msgs: usize, run: impl Fn()) {
    let mut best = f64::MAX;
    for _ in 0..30 {
        let t = Instant::now();
        run();
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "{label}: {:.0} MB/s, {:.2} M messages/s ({msgs} messages, {bytes} bytes, best pass {:.2} ms)",
        bytes as f64 / best / 1e6,
        msgs as f64 / best / 1e6,
        best * 1e3
    );
}

fn bench(c: &mut Criterion) {
    let data = corpus();
    let msgs = decode_chunks(&data, |_| {});
    report_both(&data, msgs);
    if std::env::var_os("AMI_BENCH_REPORT_ONLY").is_some() {
        return;
    }
    let mut g = c.benchmark_group("ami_load_recv");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("raw", |b| {
        b.iter(|| decode_chunks(&data, |m| drop(std::hint::black_box(m))))
    });
    g.bench_function("typed", |b| {
        b.iter(|| {
            decode_chunks(&data, |m| {
                if let Ok(e) = Event::from_message(m) {
                    drop(std::hint::black_box(e));
                }
            })
        })
    });
    g.finish();
}

fn report_both(data: &[u8], msgs: usize) {
    report("raw", data.len(), msgs, || {
        decode_chunks(data, |m| drop(std::hint::black_box(m)));
    });
    report("typed", data.len(), msgs, || {
        decode_chunks(data, |m| {
            if let Ok(e) = Event::from_message(m) {
                drop(std::hint::black_box(e));
            }
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
