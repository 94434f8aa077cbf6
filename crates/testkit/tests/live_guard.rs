//! Live, on the peer kit's Asterisk: a test that leaves a call up (here: a Local channel
//! waiting in the shipped `hookflash-hold-wait` context, as a failed test would leave its
//! call) gets it hung up when its [`PeerGuard`] is dropped.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use hookflash_testkit::{PeerGuard, live_host};

/// Sends an Async Originate of `Local/s@hookflash-hold-wait` (it waits an hour) over a plain
/// AMI connection, and returns once Asterisk has accepted it.
fn leave_a_call_up(host: &str) {
    let stream = match TcpStream::connect((host, 5038)) {
        Ok(s) => s,
        Err(e) => panic!("AMI {host}:5038: {e}"),
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let Ok(mut out) = stream.try_clone() else {
        panic!("clone")
    };
    let actions = "Action: Login\r\nActionID: l\r\nUsername: ami\r\nSecret: amipass\r\nEvents: off\r\n\r\n\
                   Action: Originate\r\nActionID: o\r\nChannel: Local/s@hookflash-hold-wait\r\n\
                   Application: Wait\r\nData: 3600\r\nTimeout: 60000\r\nAsync: true\r\n\r\n";
    if let Err(e) = out.write_all(actions.as_bytes()) {
        panic!("AMI write: {e}")
    }
    let mut lines = BufReader::new(stream).lines();
    let mut response = None;
    while let Some(Ok(line)) = lines.next() {
        if let Some(r) = line.strip_prefix("Response: ") {
            response = Some(r.to_owned());
        }
        if line == "ActionID: o" {
            assert_eq!(response.as_deref(), Some("Success"), "Originate refused");
            return;
        }
    }
    panic!("no answer to the Originate");
}

#[test]
fn live_a_dropped_guard_hangs_up_the_calls_its_test_left() {
    let Some(host) = live_host("live_a_dropped_guard_hangs_up_the_calls_its_test_left") else {
        return;
    };
    let guard = PeerGuard::new(&host);
    leave_a_call_up(&host);
    let deadline = Instant::now() + Duration::from_secs(10);
    let left = loop {
        let left = guard.leftovers().unwrap_or_default();
        if left
            .iter()
            .any(|c| c.starts_with("Local/s@hookflash-hold-wait"))
        {
            break left;
        }
        assert!(Instant::now() < deadline, "the call never showed: {left:?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(guard);
    let after = match PeerGuard::new(&host).channels() {
        Ok(c) => c,
        Err(e) => panic!("listing after the guard: {e}"),
    };
    assert!(
        !left.iter().any(|c| after.contains(c)),
        "still up after the guard: {after:?} (it left {left:?})"
    );
}
