//! Fault: PostgreSQL restarted under load (stopped ~3 s, then started again). A private
//! PostgreSQL cluster (initdb into a temporary directory, its own port) so nobody else's
//! tests see the restart; the real api-server (`--separate-listener`) and event-listener on
//! it, against the mock PBX playing the recorded load (300 calls) with fresh ids, and a
//! WebSocket client on the api-server. Afterwards every call is final with the disposition
//! the recording gives (0 lost, 0 stuck, 0 phantom), and the WebSocket client got every
//! `call_ended` or was told to resync after the bus relay listened again.
//!
//! The default test places the load at 25 calls/s; the ignored one at 10 calls/s, run by hand:
//!
//! ```text
//! cargo nextest run -p api-server --test fault_pg_restart --run-ignored only --no-capture
//! ```

mod e2e_common;
mod fault_common;

use std::time::{Duration, Instant};

use fault_common::{LOAD_CALLS, PrivatePg, Rig, create_db};

async fn postgres_restarted(test: &str, per_sec: f64, down: Duration) {
    let Some(pg) = PrivatePg::start(test) else {
        return;
    };
    create_db(&pg.url("postgres"), "hookflash_fault").await;
    let rig = Rig::start("fault-pg", pg.url("hookflash_fault")).await;
    let ws = rig.ws_recorder().await;
    let load = rig.load(per_sec);
    load.until_accepted(LOAD_CALLS / 3).await;
    let restarted = Instant::now();
    pg.stop();
    // The outage itself.
    tokio::time::sleep(down).await;
    pg.start_again();
    let figures = rig.settle(load, Duration::from_secs(60)).await;
    figures.print(&format!(
        "PostgreSQL stopped for {down:?} at {per_sec} calls/s"
    ));
    // The WebSocket: every accepted call ended there, or the client was told to resync
    // after the restart (and re-reads the store, which holds every final row).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let ended = ws.ended();
    let accepted = load_ids(&rig).await;
    let missing: Vec<&String> = accepted.iter().filter(|id| !ended.contains(*id)).collect();
    let resyncs = ws.resyncs_after(restarted);
    println!(
        "  WebSocket: {} call_ended of {} calls, {} missed, {resyncs} resync message(s) after the restart",
        ended.len(),
        accepted.len(),
        missing.len()
    );
    rig.finish();
    figures.assert_clean();
    assert!(
        missing.is_empty() || resyncs > 0,
        "{} call_ended missed and no resync: {missing:?}",
        missing.len()
    );
}

async fn load_ids(rig: &Rig) -> Vec<String> {
    rig.rows()
        .await
        .into_values()
        .filter(|r| r.direction == "outbound")
        .map(|r| r.id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_mid_load_loses_nothing_and_websockets_resync() {
    postgres_restarted(
        "postgres_restart_mid_load_loses_nothing_and_websockets_resync",
        25.0,
        Duration::from_secs(3),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: 10 calls/s; run by hand with --run-ignored only --no-capture"]
async fn postgres_restart_at_10_calls_per_second() {
    postgres_restarted(
        "postgres_restart_at_10_calls_per_second",
        10.0,
        Duration::from_secs(3),
    )
    .await;
}
