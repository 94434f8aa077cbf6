#![allow(missing_docs)] // criterion_group! generates an undocumented function
//! Throughput of TwilioTranslator: the callbacks of 10,000 agent-first calls (the agent's
//! status callbacks, the `<Dial>`led customer's, a recording, the `<Dial>` action), in the
//! order Twilio sends them, translated into leg events, and through the tracker too.
//! `TWILIO_BENCH_REPORT_ONLY=1` prints just callbacks/s of one pass.

use std::hint::black_box;
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hookflash_calls::{Tracker, TrackerConfig};
use hookflash_provider::{CallId, LegRole};
use hookflash_twilio::{Params, TwilioTranslator};

const CALLS: usize = 10_000;

/// One callback: which handler, the call, the leg's role (status callbacks), the form.
enum Kind {
    Status(LegRole),
    DialAction,
    Recording,
}

struct Callback {
    kind: Kind,
    call: CallId,
    params: Params,
    at: DateTime<Utc>,
}

fn params(pairs: &[(&str, &str)]) -> Params {
    Params(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

fn callbacks() -> Vec<Callback> {
    let t0 = DateTime::from_timestamp(1_795_315_411, 0).unwrap_or_default();
    let mut out = Vec::with_capacity(CALLS * 11);
    for n in 0..CALLS {
        let call = CallId::new_random();
        let agent = format!("CA{:032x}", 2 * n);
        let customer = format!("CA{:032x}", 2 * n + 1);
        let at = |s: i64| t0 + TimeDelta::milliseconds(n as i64 * 50 + s * 1000);
        let mut push = |kind: Kind, pairs: &[(&str, &str)], s: i64| {
            out.push(Callback {
                kind,
                call,
                params: params(pairs),
                at: at(s),
            });
        };
        let agent_status = |status| {
            [
                ("CallSid", agent.as_str()),
                ("CallStatus", status),
                ("To", "client:alice"),
                ("From", "+18005550100"),
            ]
        };
        push(Kind::Status(LegRole::Agent), &agent_status("initiated"), 0);
        push(Kind::Status(LegRole::Agent), &agent_status("ringing"), 1);
        push(
            Kind::Status(LegRole::Agent),
            &agent_status("in-progress"),
            2,
        );
        let customer_status = |status| {
            [
                ("CallSid", customer.as_str()),
                ("ParentCallSid", agent.as_str()),
                ("CallStatus", status),
                ("To", "+15551204005"),
                ("From", "+18005550100"),
            ]
        };
        push(
            Kind::Status(LegRole::Customer),
            &customer_status("initiated"),
            2,
        );
        push(
            Kind::Status(LegRole::Customer),
            &customer_status("ringing"),
            3,
        );
        push(
            Kind::Status(LegRole::Customer),
            &customer_status("in-progress"),
            5,
        );
        let recording = format!("RE{:032x}", n);
        let rec = |status| {
            [
                ("CallSid", agent.as_str()),
                ("RecordingSid", recording.as_str()),
                ("RecordingStatus", status),
            ]
        };
        push(Kind::Recording, &rec("in-progress"), 5);
        push(Kind::Recording, &rec("completed"), 9);
        let mut done = customer_status("completed").to_vec();
        done.push(("CallDuration", "4"));
        push(Kind::Status(LegRole::Customer), &done, 9);
        push(
            Kind::DialAction,
            &[
                ("CallSid", agent.as_str()),
                ("DialCallStatus", "completed"),
                ("DialCallSid", customer.as_str()),
            ],
            9,
        );
        push(Kind::Status(LegRole::Agent), &agent_status("completed"), 9);
    }
    out.sort_by_key(|c| c.at);
    out
}

fn translate(t: &mut TwilioTranslator, c: &Callback) -> Vec<hookflash_provider::LegEvent> {
    match c.kind {
        Kind::Status(role) => t.status_callback(c.call, role, &c.params, c.at),
        Kind::DialAction => t.dial_action(c.call, &c.params, c.at),
        Kind::Recording => t.recording_callback(c.call, &c.params, c.at),
    }
}

fn run(callbacks: &[Callback]) -> usize {
    let mut t = TwilioTranslator::new(CALLS);
    callbacks.iter().map(|c| translate(&mut t, c).len()).sum()
}

fn bench(c: &mut Criterion) {
    let callbacks = callbacks();
    if std::env::var_os("TWILIO_BENCH_REPORT_ONLY").is_some() {
        let start = Instant::now();
        let legs = run(&callbacks);
        let secs = start.elapsed().as_secs_f64();
        println!(
            "twilio translate: {} callbacks -> {legs} leg events in {:.1} ms: {:.0} callbacks/s",
            callbacks.len(),
            secs * 1e3,
            callbacks.len() as f64 / secs
        );
        return;
    }
    let mut group = c.benchmark_group("twilio_calls");
    group.sample_size(20);
    group.throughput(Throughput::Elements(callbacks.len() as u64));
    group.bench_function("translate", |b| b.iter(|| black_box(run(&callbacks))));
    group.bench_function("translate_and_track", |b| {
        b.iter(|| {
            let mut t = TwilioTranslator::new(CALLS);
            let mut tracker = Tracker::new(TrackerConfig::default());
            for c in &callbacks {
                for ev in translate(&mut t, c) {
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
