//! A write the database refuses for good (a poison update) is dead-lettered: the writer goes
//! on writing the others instead of retrying that batch forever.

use std::time::Duration as StdDuration;

use chrono::Duration;
use hookflash_store::*;
use tokio::sync::mpsc;

use crate::fixtures::{simple_call, t0, tenant};

// A guard against the old writer's hang, not a timing assertion.
const HANG: StdDuration = StdDuration::from_secs(60);

pub(crate) async fn batch_writer_dead_letters_a_poison_update(store: Store) {
    let t = tenant(&store, "poison").await;
    let (dead_tx, mut dead_rx) = mpsc::channel(8);
    let config = BatchConfig::default()
        .with_max_rows(3)
        .with_max_delay(StdDuration::from_secs(3600))
        .with_queue_capacity(2)
        .with_retry_delay(StdDuration::from_millis(10))
        .with_dead_letters(dead_tx);
    let writer = BatchWriter::spawn(store.clone(), config);
    // A tenant that does not exist: the foreign key refuses it every time.
    let mut poison = simple_call(TenantId::new_random(), t0(), "ringing", None);
    poison.version = 1;
    let poison_id = poison.call_id();
    let good: Vec<CallRow> = (0..12)
        .map(|i| simple_call(t, t0() + Duration::seconds(i), "ringing", None))
        .collect();
    let writes = async {
        writer.write(CallWrite::call(good[0].clone())).await?;
        writer.write(CallWrite::call(poison)).await?;
        for r in &good[1..] {
            writer.write(CallWrite::call(r.clone())).await?;
        }
        writer.flush().await
    };
    tokio::time::timeout(HANG, writes)
        .await
        .expect("the writer keeps taking updates after a poison batch")
        .expect("everything but the poison update is written");
    let listed = store
        .calls()
        .list(t, &CallFilter::default(), None, 100)
        .await
        .unwrap();
    assert_eq!(listed.items.len(), good.len());
    let dead = dead_rx
        .try_recv()
        .expect("the poison update is dead-lettered");
    assert_eq!(dead.write.call.call_id(), poison_id);
    assert!(!dead.error.is_unavailable(), "{:?}", dead.error);
    assert!(dead_rx.try_recv().is_err(), "only the poison update");
    let stats = writer.shutdown().await.unwrap();
    assert_eq!(stats.dead_letters, 1);
    assert_eq!(stats.rows, good.len() as u64);
}
