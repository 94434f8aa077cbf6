//! The translator's memory bound and its wire arithmetic: entries counted, never bytes.

use chrono::{DateTime, TimeDelta, Utc};
use hookflash_ami::{Event, Message};
use hookflash_provider::CallId;
use proptest::prelude::*;

use super::wire::parse_hms;
use super::{AmiTranslator, OriginateKind};

fn event(pairs: &[(&str, &str)]) -> Event {
    match Event::from_message(Message::from_pairs(pairs.iter().copied())) {
        Ok(e) => e,
        Err(m) => panic!("not an event: {m:?}"),
    }
}

fn newchannel(i: usize) -> Event {
    let uid = format!("1795000000.{i}");
    let name = format!("PJSIP/trunk-{i:08x}");
    event(&[
        ("Event", "Newchannel"),
        ("Channel", &name),
        ("ChannelState", "0"),
        ("Uniqueid", &uid),
        ("Linkedid", &uid),
    ])
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default()
}

/// Every entry the translator holds, whatever map it is in.
fn entries(t: &AmiTranslator) -> usize {
    t.chans.len()
        + t.by_name.len()
        + t.order.len()
        + t.linked_calls.len()
        + t.originates.len()
        + t.originate_order.len()
        + t.action_calls.len()
        + t.action_order.len()
        + t.call_agent.len()
        + t.recordings.len()
        + t.bridges.len()
        + t.held.len()
}

#[test]
fn channels_that_never_hang_up_stay_within_the_bound() {
    let max = 100;
    let mut t = AmiTranslator::new().with_max_channels(max);
    let mut peak = 0;
    for i in 0..20_000 {
        t.on_event(&newchannel(i), now());
        peak = peak.max(entries(&t));
    }
    assert_eq!(t.live_channels(), max);
    assert_eq!(t.evicted_channels(), 20_000 - 100);
    // chans + by_name + order (at most twice the live ones plus slack): constant, not linear.
    assert!(peak <= 5 * max + 64, "peak {peak} entries");
    // The newest channels are the ones kept.
    assert!(
        t.leg_for_channel(&format!("PJSIP/trunk-{:08x}", 19_999))
            .is_some()
    );
    assert!(t.leg_for_channel("PJSIP/trunk-00000000").is_none());
}

#[test]
fn originate_announcements_whose_call_never_comes_stay_within_the_bound() {
    let max = 50;
    let mut t = AmiTranslator::new().with_max_channels(max);
    let mut peak = 0;
    for i in 0..10_000 {
        let id = CallId::new_random();
        t.expect_originate(id, OriginateKind::AgentFirst);
        t.expect_originate_action(format!("originate-{i}"), id);
        peak = peak.max(entries(&t));
    }
    assert!(t.originates.len() <= max && t.action_calls.len() <= max);
    assert!(peak <= 6 * max + 128, "peak {peak} entries");
}

#[test]
fn the_default_bound_is_the_documented_one() {
    assert_eq!(
        AmiTranslator::new().max_channels(),
        AmiTranslator::DEFAULT_MAX_CHANNELS
    );
    assert_eq!(AmiTranslator::new().with_max_channels(0).max_channels(), 1);
}

#[test]
fn an_absurd_core_show_channel_duration_is_no_age_and_no_panic() {
    let mut t = AmiTranslator::new();
    let mut listing = Vec::new();
    for (i, duration) in [
        "99999999999999999:59:59",
        "9223372036854775807",
        "4294967295:4294967295:4294967295:4294967295",
        "-1:00:00",
        "00:01:05",
    ]
    .into_iter()
    .enumerate()
    {
        let uid = format!("1795000000.{i}");
        listing.push(event(&[
            ("Event", "CoreShowChannel"),
            ("Channel", &format!("PJSIP/trunk-{i:08x}")),
            ("ChannelState", "6"),
            ("Uniqueid", &uid),
            ("Linkedid", &uid),
            ("Duration", duration),
        ]));
    }
    let legs = t.snapshot_of(&listing, now());
    assert_eq!(legs.len(), 5);
    let ages: Vec<_> = legs.iter().map(|l| l.created_at).collect();
    assert_eq!(ages[..4], [None, None, None, None]);
    assert_eq!(ages[4], Some(now() - TimeDelta::seconds(65)));
}

#[test]
fn an_age_older_than_time_itself_is_no_age() {
    // Within TimeDelta's range but before chrono's earliest date.
    let mut t = AmiTranslator::new();
    let early = DateTime::<Utc>::MIN_UTC + TimeDelta::seconds(10);
    let listing = [event(&[
        ("Event", "CoreShowChannel"),
        ("Channel", "PJSIP/trunk-00000001"),
        ("Uniqueid", "1.1"),
        ("Duration", "01:00:00"),
    ])];
    let legs = t.snapshot_of(&listing, early);
    assert_eq!(legs.len(), 1);
    assert_eq!(legs[0].created_at, None);
}

proptest! {
    #[test]
    fn parse_hms_never_panics_and_is_exact_when_it_answers(s in "[0-9:]{0,40}") {
        if let Some(d) = parse_hms(&s) {
            let want = s.trim().split(':').try_fold(0i128, |acc, p| {
                p.parse::<i128>().ok().map(|p| acc * 60 + p)
            });
            prop_assert_eq!(Some(i128::from(d.num_seconds())), want);
        }
    }
}
