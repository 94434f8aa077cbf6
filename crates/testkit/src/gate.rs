//! The gate of every live test: run against the peer when one is named, else skip with the
//! reason, and never skip under CI.

use crate::peer::PeerGuard;

/// Names the host of the live Asterisk peer (`scripts/test.sh` sets it to `127.0.0.1`).
pub const LIVE_VAR: &str = "HOOKFLASH_LIVE_ASTERISK";

/// `CI=true` turns a skip into a failure: CI must not pass by skipping its live tests.
pub const CI_VAR: &str = "CI";

/// What a live test does, from the two variables (kept apart from the environment so it is
/// tested without touching it).
#[derive(Debug, PartialEq, Eq)]
enum Gate {
    Run(String),
    Skip(String),
    Fail(String),
}

fn decide(test: &str, live: Option<&str>, ci: Option<&str>) -> Gate {
    match live.map(str::trim) {
        Some(host) if !host.is_empty() => Gate::Run(host.to_owned()),
        _ if ci == Some("true") => Gate::Fail(format!(
            "{test}: {LIVE_VAR} must be set under {CI_VAR}=true (scripts/test.sh sets it)"
        )),
        _ => Gate::Skip(format!(
            "skipped: {test}: set {LIVE_VAR} (scripts/test.sh does)"
        )),
    }
}

/// The live peer's host for the test named `test`, or `None` (after printing
/// `skipped: <test>: ...`) when `HOOKFLASH_LIVE_ASTERISK` is not set.
///
/// # Panics
/// When the variable is missing under `CI=true`: the live tests must run in CI.
pub fn live_host(test: &str) -> Option<String> {
    let live = std::env::var(LIVE_VAR).ok();
    let ci = std::env::var(CI_VAR).ok();
    match decide(test, live.as_deref(), ci.as_deref()) {
        Gate::Run(host) => Some(host),
        Gate::Skip(why) => {
            println!("{why}");
            None
        }
        Gate::Fail(why) => panic!("{why}"),
    }
}

/// [`live_host`] with a [`PeerGuard`] on that host: keep the guard for the whole test
/// (`let Some((host, _peer)) = live_peer("...") else { return };` — `_peer`, not `_`), and
/// every channel the test leaves on the peer is hung up when it ends, passed or failed.
///
/// # Panics
/// As [`live_host`].
pub fn live_peer(test: &str) -> Option<(String, PeerGuard)> {
    let host = live_host(test)?;
    let guard = PeerGuard::new(&host);
    Some((host, guard))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_host_runs() {
        assert_eq!(
            decide("t", Some(" 127.0.0.1 "), None),
            Gate::Run("127.0.0.1".to_owned())
        );
        assert_eq!(
            decide("t", Some("pbx"), Some("true")),
            Gate::Run("pbx".to_owned())
        );
    }

    #[test]
    fn no_host_skips_with_the_reason_outside_ci_and_fails_in_ci() {
        match decide("live_x", None, None) {
            Gate::Skip(why) => {
                assert!(why.starts_with("skipped: live_x: "), "{why}");
                assert!(why.contains(LIVE_VAR), "{why}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            decide("t", Some(""), Some("false")),
            Gate::Skip(_)
        ));
        match decide("live_x", Some("  "), Some("true")) {
            Gate::Fail(why) => assert!(why.contains("live_x") && why.contains(LIVE_VAR)),
            other => panic!("{other:?}"),
        }
    }
}
