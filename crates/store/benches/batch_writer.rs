#![allow(missing_docs)] // criterion_group! generates an undocumented public function
//! Call-event rows per second through the [`BatchWriter`], on SQLite (a temp file) and on
//! PostgreSQL (a fresh database from `HOOKFLASH_TEST_POSTGRES_URL`, skipped when unset).
//!
//! Each update is what the tracker emits: the call's snapshot plus one new timeline event,
//! for 50 calls in progress at once. Throughput is counted in event rows.
//!
//! Run with `cargo bench -p hookflash-store`.

use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hookflash_store::{
    BatchConfig, BatchWriter, CallId, CallRow, CallWrite, EventRow, Store, TenantId,
};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use uuid::Uuid;

const CALLS: usize = 50;
const EVENTS: usize = 2000;

static SEQ: AtomicI64 = AtomicI64::new(0);

/// `EVENTS` updates spread over `CALLS` fresh calls.
fn updates(tenant: TenantId) -> Vec<CallWrite> {
    let now = Utc::now();
    let calls: Vec<CallRow> = (0..CALLS)
        .map(|_| {
            CallRow::new(
                CallId::new_random(),
                tenant,
                "outbound",
                "ami",
                "ringing",
                now,
            )
        })
        .collect();
    (0..EVENTS)
        .map(|i| {
            let mut call = calls[i % CALLS].clone();
            let seq = (i / CALLS) as i64 + 1;
            call.version = seq;
            call.state = if seq > 2 {
                "connected".into()
            } else {
                "ringing".into()
            };
            let event = EventRow {
                call_id: call.id,
                seq,
                tenant_id: call.tenant_id,
                at: now,
                kind: "dtmf".into(),
                leg_id: Some(format!(
                    "1700000000.{}",
                    SEQ.fetch_add(1, Ordering::Relaxed)
                )),
                payload: serde_json::json!({ "type": "dtmf", "digit": "5" }),
            };
            CallWrite {
                call,
                legs: Vec::new(),
                events: vec![event],
            }
        })
        .collect()
}

fn run(rt: &tokio::runtime::Runtime, store: &Store, tenant: TenantId, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let batch = updates(tenant);
        let started = Instant::now();
        rt.block_on(async {
            let writer = BatchWriter::spawn(store.clone(), BatchConfig::default());
            for w in batch {
                writer.write(w).await.unwrap();
            }
            writer.shutdown().await.unwrap();
        });
        total += started.elapsed();
    }
    total
}

async fn prepared(url: &str) -> (Store, TenantId) {
    let store = Store::connect(url).await.unwrap();
    store.migrate().await.unwrap();
    let slug = format!("bench-{}", Uuid::new_v4().simple());
    let tenant = store
        .tenants()
        .create("bench", &slug)
        .await
        .unwrap()
        .tenant_id();
    (store, tenant)
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut group = c.benchmark_group("batch_writer");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(8));

    let path = std::env::temp_dir().join(format!("hookflash-bench-{}.db", Uuid::new_v4()));
    let (store, tenant) = rt.block_on(prepared(&format!("sqlite:{}", path.display())));
    group.bench_function(BenchmarkId::new("call_events", "sqlite"), |b| {
        b.iter_custom(|iters| run(&rt, &store, tenant, iters));
    });
    rt.block_on(store.close());
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }

    match std::env::var("HOOKFLASH_TEST_POSTGRES_URL") {
        Ok(base) if !base.is_empty() => {
            let name = format!("hf_bench_{}", Uuid::new_v4().simple());
            let admin = PgConnectOptions::from_str(&base).unwrap();
            rt.block_on(async {
                let mut c = PgConnection::connect_with(&admin).await.unwrap();
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut c)
                    .await
                    .unwrap();
            });
            let url = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
            let (store, tenant) = rt.block_on(prepared(&url));
            group.bench_function(BenchmarkId::new("call_events", "postgres"), |b| {
                b.iter_custom(|iters| run(&rt, &store, tenant, iters));
            });
            rt.block_on(async {
                store.close().await;
                let mut c = PgConnection::connect_with(&admin).await.unwrap();
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut c)
                    .await
                    .unwrap();
            });
        }
        _ => {
            println!("skipped: batch_writer/call_events/postgres: set HOOKFLASH_TEST_POSTGRES_URL")
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
