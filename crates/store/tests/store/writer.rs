//! The batch writer: batches, flush, drop, backpressure, chunked statements, and
//! re-applying after a crash.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration as StdDuration;

use chrono::Duration;
use hookflash_store::*;

use crate::fixtures::{call_script, event, simple_call, t0, tenant};

pub(crate) async fn batch_writer_batches_and_shutdown(store: Store) {
    let t = tenant(&store, "batch").await;
    let config = BatchConfig {
        max_rows: 10,
        max_delay: StdDuration::from_secs(3600),
        queue_capacity: 4,
        ..Default::default()
    };
    let writer = BatchWriter::spawn(store.clone(), config);
    let rows: Vec<CallRow> = (0..25)
        .map(|i| simple_call(t, t0() + Duration::seconds(i), "ringing", None))
        .collect();
    for r in &rows {
        writer.write(CallWrite::call(r.clone())).await.unwrap();
    }
    let stats = writer.shutdown().await.unwrap();
    assert_eq!(
        stats,
        WriterStats {
            batches: 3,
            rows: 25,
            failures: 0,
            dead_letters: 0,
        }
    );
    let listed = store
        .calls()
        .list(t, &CallFilter::default(), None, 100)
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 25);
}

pub(crate) async fn batch_writer_flush_and_drop(store: Store) {
    let t = tenant(&store, "flush").await;
    let config = BatchConfig {
        max_rows: 1000,
        max_delay: StdDuration::from_secs(3600),
        ..Default::default()
    };
    let writer = BatchWriter::spawn(store.clone(), config.clone());
    let writes = call_script(t, t0(), 5);
    let id = writes[0].call.call_id();
    writer.write(writes[0].clone()).await.unwrap();
    writer.flush().await.unwrap();
    assert_eq!(store.calls().get(t, id).await.unwrap().unwrap().version, 1);
    writer.try_write(writes[1].clone()).unwrap();
    writer.write(writes[2].clone()).await.unwrap();
    writer.flush().await.unwrap();
    let detail = store.calls().get_detail(t, id).await.unwrap().unwrap();
    assert_eq!((detail.call.version, detail.events.len()), (3, 15));

    // An update the database refuses for good is dead-lettered; the writer goes on.
    let mut orphan = simple_call(TenantId::new_random(), t0(), "ringing", None);
    orphan.version = 1;
    writer.write(CallWrite::call(orphan)).await.unwrap();
    writer
        .flush()
        .await
        .expect("unknown tenant violates the foreign key: dead-lettered, not retried");
    assert_eq!(writer.stats().dead_letters, 1);
    writer.abort();

    // Dropping a writer still writes what is pending.
    let other = call_script(t, t0() + Duration::minutes(1), 1);
    let other_id = other[0].call.call_id();
    let writer = BatchWriter::spawn(store.clone(), config);
    for w in other {
        writer.write(w).await.unwrap();
    }
    drop(writer);
    // The dropped writer flushes in the background: wait for it (up to 20 s under load).
    let mut found = None;
    for _ in 0..800 {
        found = store.calls().get(t, other_id).await.unwrap();
        if found.as_ref().is_some_and(|c| c.version == 3) {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(25)).await;
    }
    assert_eq!(found.map(|c| c.version), Some(3));
}

/// What the database holds for these calls: call rows, legs and events.
async fn snapshot(store: &Store, t: TenantId, ids: &[CallId]) -> BTreeMap<CallId, CallDetail> {
    let mut out = BTreeMap::new();
    for id in ids {
        if let Some(d) = store.calls().get_detail(t, *id).await.unwrap() {
            out.insert(*id, d);
        }
    }
    out
}

/// What applying `writes` in order must leave.
fn expected(writes: &[CallWrite]) -> BTreeMap<CallId, (CallRow, usize, usize)> {
    let mut out: BTreeMap<CallId, (CallRow, BTreeSet<String>, BTreeSet<i64>)> = BTreeMap::new();
    for w in writes {
        let e = out
            .entry(w.call.call_id())
            .or_insert_with(|| (w.call.clone(), BTreeSet::new(), BTreeSet::new()));
        if w.call.version >= e.0.version {
            e.0 = w.call.clone();
        }
        for l in &w.legs {
            e.1.insert(l.leg_id.clone());
        }
        for ev in &w.events {
            e.2.insert(ev.seq);
        }
    }
    out.into_iter()
        .map(|(k, (c, l, e))| (k, (c, l.len(), e.len())))
        .collect()
}

fn assert_matches_expected(
    got: &BTreeMap<CallId, CallDetail>,
    want: &BTreeMap<CallId, (CallRow, usize, usize)>,
) {
    assert_eq!(got.len(), want.len());
    for (id, (call, legs, events)) in want {
        let d = &got[id];
        assert!(
            &d.call == call,
            "call {id}: {:?} != {:?}",
            d.call.version,
            call.version
        );
        assert_eq!(
            (d.legs.len(), d.events.len()),
            (*legs, *events),
            "call {id}"
        );
        let seqs: Vec<i64> = d.events.iter().map(|e| e.seq).collect();
        assert_eq!(
            seqs,
            (1..=*events as i64).collect::<Vec<_>>(),
            "no duplicate or missing event"
        );
    }
}

pub(crate) async fn crash_rolled_back_transaction_then_reapply(store: Store) {
    let t = tenant(&store, "crash-tx").await;
    let mut writes: Vec<CallWrite> = (0..4)
        .flat_map(|i| call_script(t, t0() + Duration::seconds(i), 4))
        .collect();
    let ids: Vec<CallId> = writes.iter().map(|w| w.call.call_id()).collect();
    // The batch fails part-way: an event for a call that does not exist comes after valid rows.
    let mut poisoned = writes.clone();
    let mut bad = writes[5].clone();
    bad.events = vec![event(&simple_call(t, t0(), "x", None), 1, "ghost", t0())];
    bad.call.version = 0;
    poisoned.insert(6, bad);
    assert!(store.write_calls(&poisoned).await.is_err());
    assert!(
        snapshot(&store, t, &ids).await.is_empty(),
        "an interrupted batch writes nothing"
    );

    // Half the updates land, then everything is applied again (twice).
    store.write_calls(&writes[..6]).await.unwrap();
    store.write_calls(&writes).await.unwrap();
    let first = snapshot(&store, t, &ids).await;
    assert_matches_expected(&first, &expected(&writes));
    writes.reverse();
    store.write_calls(&writes).await.unwrap();
    let again = snapshot(&store, t, &ids).await;
    assert!(
        again == first,
        "re-applying, even out of order, changes nothing"
    );
}

pub(crate) async fn crash_aborted_writer_then_reapply(store: Store) {
    let t = tenant(&store, "crash-writer").await;
    let writes: Vec<CallWrite> = (0..30)
        .flat_map(|i| call_script(t, t0() + Duration::seconds(i), 3))
        .collect();
    let ids: Vec<CallId> = writes.iter().map(|w| w.call.call_id()).collect();
    let config = BatchConfig {
        max_rows: 40,
        max_delay: StdDuration::from_millis(5),
        queue_capacity: 8,
        ..Default::default()
    };

    // Write half, let some batches commit, then crash with rows pending.
    let writer = BatchWriter::spawn(store.clone(), config.clone());
    let half = writes.len() / 2;
    for w in &writes[..half] {
        writer.write(w.clone()).await.unwrap();
    }
    writer.abort();
    let partial = snapshot(&store, t, &ids).await;
    assert!(partial.len() <= 30);

    // Recovery re-applies every update from the start.
    let writer = BatchWriter::spawn(store.clone(), config);
    for w in &writes {
        writer.write(w.clone()).await.unwrap();
    }
    writer.shutdown().await.unwrap();
    let recovered = snapshot(&store, t, &ids).await;
    assert_matches_expected(&recovered, &expected(&writes));
}

/// While the database holds the writer up, the bounded queue fills and producers are pushed
/// back; once it frees, everything queued is written.
pub(crate) async fn batch_writer_backpressure(store: Store) {
    let t = tenant(&store, "backpressure").await;
    let config = BatchConfig {
        max_rows: 1,
        max_delay: StdDuration::from_secs(3600),
        queue_capacity: 1,
        retry_delay: StdDuration::from_millis(50),
        ..Default::default()
    };
    let rows: Vec<CallRow> = (0..3)
        .map(|i| simple_call(t, t0() + Duration::seconds(i), "ringing", None))
        .collect();
    let write = |i: usize| CallWrite::call(rows[i].clone());
    // Another transaction blocks every call insert of this tenant until it ends.
    let blocker: Box<dyn std::any::Any + Send> = match store.db() {
        Db::Sqlite(p) => {
            let mut tx = p.begin().await.unwrap();
            sqlx::query("INSERT INTO dnc (tenant_id, phone_number, created_at) VALUES ($1, '+15550000000', $2)")
                .bind(*t.as_uuid())
                .bind(t0())
                .execute(&mut *tx)
                .await
                .unwrap();
            Box::new(tx)
        }
        Db::Postgres(p) => {
            let mut tx = p.begin().await.unwrap();
            sqlx::query("SELECT id FROM tenants WHERE id = $1 FOR UPDATE")
                .bind(*t.as_uuid())
                .execute(&mut *tx)
                .await
                .unwrap();
            Box::new(tx)
        }
    };
    let writer = BatchWriter::spawn(store.clone(), config);
    writer.write(write(0)).await.unwrap();
    // The queue holds one: this returns once the writer took the first (and is now stuck
    // writing it).
    writer.write(write(1)).await.unwrap();
    assert!(matches!(
        writer.try_write(write(2)),
        Err(StoreError::WriterFull)
    ));
    drop(blocker);
    writer.write(write(2)).await.unwrap();
    let stats = writer.shutdown().await.unwrap();
    assert_eq!(stats.rows, 3);
    let listed = store
        .calls()
        .list(t, &CallFilter::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 3);
}

/// A batch larger than one multi-row statement is split and still written whole.
pub(crate) async fn write_calls_in_chunks(store: Store) {
    let t = tenant(&store, "chunks").await;
    let writes: Vec<CallWrite> = (0..250)
        .map(|i| {
            let call = simple_call(t, t0() + Duration::seconds(i), "ringing", None);
            let events = (1..=3)
                .map(|seq| event(&call, seq, "ringing", call.created_at))
                .collect();
            CallWrite {
                call,
                legs: Vec::new(),
                events,
            }
        })
        .collect();
    let stats = store.write_calls(&writes).await.unwrap();
    assert_eq!(
        stats,
        WriteStats {
            calls: 250,
            legs: 0,
            events: 750
        }
    );
    let listed = store
        .calls()
        .list(t, &CallFilter::default(), None, 500)
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 250);
    for w in [&writes[0], &writes[149], &writes[249]] {
        let d = store
            .calls()
            .get_detail(t, w.call.call_id())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(d.call, w.call);
        assert_eq!(d.events.len(), 3);
    }
    // Again: nothing changes.
    store.write_calls(&writes).await.unwrap();
    assert_eq!(
        store
            .calls()
            .events(t, writes[249].call.call_id())
            .await
            .unwrap()
            .len(),
        3
    );
}
