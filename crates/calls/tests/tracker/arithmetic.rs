//! Time arithmetic never panics: configured durations up to `Duration::MAX` (meaning "no
//! limit") and event times at the end of chrono's range, with calls cut off mid-way.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use hookflash_calls::{Tracker, TrackerConfig};
use proptest::prelude::*;

use crate::scenarios::script_for;
use crate::script::assert_one_end_each;

fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::MAX),
        Just(Duration::ZERO),
        Just(Duration::from_secs(u64::MAX / 2)),
        any::<u64>().prop_map(Duration::from_secs),
        (0u64..120_000).prop_map(Duration::from_millis),
    ]
}

/// Where the scenario's first event lands.
fn start() -> impl Strategy<Value = DateTime<Utc>> {
    prop_oneof![
        (0i64..7200).prop_map(|s| DateTime::<Utc>::MAX_UTC - TimeDelta::seconds(3600 + s)),
        Just(DateTime::<Utc>::MIN_UTC + TimeDelta::seconds(1)),
        Just(DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn extreme_durations_and_times_never_panic_and_every_call_ends(
        silence in duration(),
        window in duration(),
        grace in duration(),
        linger in duration(),
        first in start(),
        cut in any::<prop::sample::Index>(),
        scenario in prop::sample::select(vec![
            "originate-answered", "inbound-queue", "park", "blind-transfer",
        ]),
    ) {
        let script = script_for("ami", scenario).unwrap();
        let mut events = script.events();
        let Some(t0) = events.iter().map(|e| e.at).min() else {
            return Ok(());
        };
        let keep = cut.index(events.len() + 1);
        events.truncate(keep);
        let shift = first - t0;
        let config = TrackerConfig::default()
            .with_max_silence(silence)
            .with_reorder_window(window)
            .with_orphan_grace(grace)
            .with_ended_linger(linger);
        let mut tracker = Tracker::new(config);
        let mut updates = Vec::new();
        for mut e in events {
            e.at += shift;
            updates.extend(tracker.apply(&e, e.at));
            updates.extend(tracker.expire(e.at));
        }
        // At the end of time every deadline, even a saturated one, is due.
        updates.extend(tracker.expire(DateTime::<Utc>::MAX_UTC));
        assert_one_end_each(&updates);
        prop_assert_eq!(tracker.live_len(), 0);
        prop_assert!(tracker.poll_timeout().is_none_or(|t| t <= DateTime::<Utc>::MAX_UTC));
    }
}
