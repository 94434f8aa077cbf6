//! Agent selection: decisions per second among 100, 1,000 and 10,000 ready agents with 100
//! skills. One decision is what the ACD does per call: choose (skills with minimum levels,
//! then longest idle), reserve the chosen agent, and later release them (back to the end of
//! the idle order), so the index churns as it does in production.
//!
//! Three mixes: queues asking one skill, asked ad hoc ([`Agents::select`]: a walk of the
//! skill's level buckets); half the queues asking two skills, ad hoc (the walk passes the
//! agents with the first skill but not the second); the same queues registered
//! ([`Agents::add_queue`], [`Agents::select_queue`]: the head of the queue's own order).
//!
//! `cargo bench -p hookflash-agents --bench select`; `AGENTS_BENCH_REPORT_ONLY=1` prints just
//! decisions/s per size and mix (one timed pass each).

use std::hint::black_box;
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{BenchmarkId, Criterion, Throughput};
use hookflash_agents::{
    AgentId, AgentSpec, Agents, AgentsConfig, Offer, QueueId, Request, Requirement, Skill, Strategy,
};
use hookflash_provider::{CallId, TenantId};

const SKILLS: u64 = 100;

/// A small deterministic generator (xorshift): the same agents every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

struct World {
    agents: Agents,
    requirements: Vec<Requirement>,
    now: DateTime<Utc>,
    calls: u128,
}

/// `n` agents; queues ask one skill, or (when `pairs`) every other queue two skills; the
/// queues are registered with the machine when `registered`.
fn world(n: usize, pairs: bool, registered: bool) -> World {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let tenant = TenantId::from_uuid(uuid::Uuid::from_u128(7));
    let skills: Vec<Skill> = (0..SKILLS)
        .map(|i| Skill::new(format!("skill{i}")).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let t0 = DateTime::from_timestamp(1_795_315_411, 0).unwrap_or_default();
    let mut agents = Agents::new(AgentsConfig::default());
    for i in 0..n {
        let id = AgentId::from_uuid(uuid::Uuid::from_u128(i as u128 + 1));
        let mut spec = AgentSpec::new(id, tenant, format!("PJSIP/agent{i}"));
        // Five skills each, levels 1..=10.
        for _ in 0..5 {
            let s = &skills[(rng.next() % SKILLS) as usize];
            spec = spec.with_skill(s.clone(), (rng.next() % 10 + 1) as u8);
        }
        agents.register(spec, t0).unwrap_or_else(|e| panic!("{e}"));
        let at = t0 + TimeDelta::milliseconds(i as i64);
        agents
            .request(id, Request::LogIn, at)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    // Queues: one or two skills with minimum levels 1..=5.
    let requirements: Vec<Requirement> = (0..64)
        .map(|_| {
            let mut r = Requirement::new(tenant, Strategy::LongestIdle).with_skill(
                skills[(rng.next() % SKILLS) as usize].clone(),
                (rng.next() % 5 + 1) as u8,
            );
            if rng.next().is_multiple_of(2) && pairs {
                r = r.with_skill(skills[(rng.next() % SKILLS) as usize].clone(), 1);
            }
            r
        })
        .collect();
    for (n, req) in requirements.iter().enumerate().filter(|_| registered) {
        let q = QueueId::from_uuid(uuid::Uuid::from_u128(n as u128));
        agents
            .add_queue(q, req.clone())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    World {
        agents,
        requirements,
        now: t0 + TimeDelta::seconds(3600),
        calls: 0,
    }
}

impl World {
    /// One decision through the registered queues: choose, reserve, release.
    fn decide_queue(&mut self, i: usize) -> Option<AgentId> {
        let q = QueueId::from_uuid(uuid::Uuid::from_u128((i % self.requirements.len()) as u128));
        self.calls += 1;
        self.now += TimeDelta::milliseconds(1);
        let call = CallId::from_uuid(uuid::Uuid::from_u128(self.calls));
        let chosen = self.agents.select_queue(&q)?;
        self.agents
            .reserve(chosen, Offer::new(call), self.now)
            .ok()?;
        let _ = self.agents.release(chosen, call, self.now);
        Some(chosen)
    }

    /// One decision: choose, reserve, release.
    fn decide(&mut self, i: usize) -> Option<AgentId> {
        let req = &self.requirements[i % self.requirements.len()];
        self.calls += 1;
        self.now += TimeDelta::milliseconds(1);
        let call = CallId::from_uuid(uuid::Uuid::from_u128(self.calls));
        let chosen = self
            .agents
            .select_and_reserve(req, Offer::new(call), self.now)
            .ok()??;
        let _ = self.agents.release(chosen.0, call, self.now);
        Some(chosen.0)
    }
}

const SIZES: [usize; 3] = [100, 1_000, 10_000];

fn report_only() {
    let mixes = [
        (false, false, "one skill per queue, ad hoc"),
        (true, false, "half the queues two skills, ad hoc"),
        (true, true, "half the queues two skills, registered queues"),
    ];
    for (pairs, registered, mix) in mixes {
        println!("{mix}:");
        for n in SIZES {
            let mut w = world(n, pairs, registered);
            let rounds = 200_000;
            let start = Instant::now();
            let mut found = 0u64;
            for i in 0..rounds {
                let chosen = if registered {
                    w.decide_queue(i)
                } else {
                    w.decide(i)
                };
                found += u64::from(chosen.is_some());
            }
            let secs = start.elapsed().as_secs_f64();
            println!(
                "  {n:>6} agents, {SKILLS} skills: {:>10.0} decisions/s ({found} of {rounds} found an agent)",
                rounds as f64 / secs
            );
        }
    }
}

fn bench(c: &mut Criterion) {
    if std::env::var_os("AGENTS_BENCH_REPORT_ONLY").is_some() {
        report_only();
        return;
    }
    let mut g = c.benchmark_group("select_reserve_release");
    g.throughput(Throughput::Elements(1));
    for n in SIZES {
        let mut w = world(n, true, false);
        let mut i = 0usize;
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                i = i.wrapping_add(1);
                black_box(w.decide(i))
            });
        });
    }
    g.finish();
    let mut g = c.benchmark_group("queue_select_reserve_release");
    g.throughput(Throughput::Elements(1));
    for n in SIZES {
        let mut w = world(n, true, true);
        let mut i = 0usize;
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                i = i.wrapping_add(1);
                black_box(w.decide_queue(i))
            });
        });
    }
    g.finish();
    let mut g = c.benchmark_group("select_only");
    g.throughput(Throughput::Elements(1));
    for n in SIZES {
        let w = world(n, true, false);
        let mut i = 0usize;
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                i = i.wrapping_add(1);
                black_box(w.agents.select(&w.requirements[i % w.requirements.len()]))
            });
        });
    }
    g.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
}
