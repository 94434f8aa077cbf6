//! Fault: the event-listener is killed (`kill -9`) mid-load and restarted ~5 s later. The
//! real api-server (`--separate-listener`) and event-listener on PostgreSQL, against the mock
//! PBX playing the recorded load (300 calls) with fresh ids. Afterwards every call is final
//! with the disposition the recording gives, and no inbound call was invented from a leg of
//! an outbound call the restarted listener first saw mid-call: 0 lost, 0 stuck, 0 phantom.
//!
//! The default test places the load at 25 calls/s; the ignored one at the issue's 10 calls/s
//! (about a minute), run by hand:
//!
//! ```text
//! cargo nextest run -p api-server --test fault_listener_kill --run-ignored only --no-capture
//! ```

mod e2e_common;
mod fault_common;

use std::time::Duration;

use e2e_common::{fresh_postgres_db, postgres_url};
use fault_common::{LOAD_CALLS, Rig};

async fn listener_killed(test: &str, per_sec: f64, down: Duration) {
    let Some(base) = postgres_url(test) else {
        return;
    };
    let db = fresh_postgres_db(&base).await;
    let mut rig = Rig::start("fault-kill", db).await;
    let load = rig.load(per_sec);
    load.until_accepted(LOAD_CALLS / 3).await;
    rig.deaf_from_now();
    rig.kill_listener();
    // The outage itself: the PBX goes on with its calls while nobody listens.
    tokio::time::sleep(down).await;
    rig.start_listener().await;
    rig.hears_again();
    let figures = rig.settle(load, Duration::from_secs(60)).await;
    figures.print(&format!(
        "event-listener kill -9 for {down:?} at {per_sec} calls/s"
    ));
    rig.finish();
    figures.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_kill_9_mid_load_loses_nothing_and_leaves_nothing_open() {
    listener_killed(
        "listener_kill_9_mid_load_loses_nothing_and_leaves_nothing_open",
        25.0,
        Duration::from_secs(5),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: the issue's 10 calls/s; run by hand with --run-ignored only --no-capture"]
async fn listener_kill_9_at_10_calls_per_second() {
    listener_killed(
        "listener_kill_9_at_10_calls_per_second",
        10.0,
        Duration::from_secs(5),
    )
    .await;
}
