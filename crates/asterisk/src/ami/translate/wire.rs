//! Wire facts of AMI values the translator reads: timestamps, originate reasons, channel
//! names and `HH:MM:SS` ages.

use chrono::{DateTime, TimeDelta, Utc};
use hookflash_ami::Event;
use hookflash_provider::{LegId, OriginateFailure, TransferOutcome};

pub(super) fn known(v: Option<&str>) -> Option<&str> {
    v.map(str::trim)
        .filter(|s| !s.is_empty() && *s != "<unknown>" && *s != "s")
}

/// `PJSIP/agent1001-00000004` → `PJSIP/agent1001`.
pub(super) fn endpoint_of(channel: &str) -> String {
    let base = channel.split(';').next().unwrap_or(channel);
    match base.rsplit_once('-') {
        Some((head, tail)) if tail.len() == 8 && tail.bytes().all(|b| b.is_ascii_hexdigit()) => {
            head.to_owned()
        }
        _ => base.to_owned(),
    }
}

/// What an AMI `OriginateResponse` `Reason` means (Asterisk's `AST_CONTROL_*` codes:
/// 1 hangup, 3 ringing timed out, 5 busy, 8 congestion; 0 or none: it did not say).
pub(crate) fn originate_failure(reason: Option<i64>) -> OriginateFailure {
    match reason {
        Some(3) => OriginateFailure::NoAnswer,
        Some(5) => OriginateFailure::Busy,
        Some(1 | 8) => OriginateFailure::Unreachable,
        _ => OriginateFailure::Unknown,
    }
}

/// `Local/1002@hookflash-transfer-00000000;1` → `1002`.
pub(super) fn local_exten(channel: &str) -> Option<String> {
    let rest = channel.strip_prefix("Local/")?;
    rest.split('@').next().map(str::to_owned)
}

pub(super) fn leg(uid: &str) -> Option<LegId> {
    LegId::new(uid).ok()
}

/// The event's own time (`Timestamp: <epoch>.<usec>`), else `now`.
pub(crate) fn event_time(event: &Event, now: DateTime<Utc>) -> DateTime<Utc> {
    message_time(event.raw(), now)
}

/// A message's `Timestamp`, else `now`.
pub(crate) fn message_time(raw: &hookflash_ami::Message, now: DateTime<Utc>) -> DateTime<Utc> {
    let Some(ts) = raw.get_str("Timestamp") else {
        return now;
    };
    let (secs, frac) = ts.trim().split_once('.').unwrap_or((ts.trim(), "0"));
    let Ok(secs) = secs.parse::<i64>() else {
        return now;
    };
    let digits: String = frac.chars().take(9).collect();
    let nanos = digits
        .parse::<u32>()
        .ok()
        .map(|n| n * 10u32.pow(9 - u32::try_from(digits.len()).unwrap_or(9)))
        .unwrap_or(0);
    DateTime::from_timestamp(secs, nanos).unwrap_or(now)
}

pub(super) fn transfer_outcome(result: Option<std::borrow::Cow<'_, str>>) -> TransferOutcome {
    match result.as_deref() {
        Some(r) if r.eq_ignore_ascii_case("Success") => TransferOutcome::Success,
        _ => TransferOutcome::Failed,
    }
}

/// `HH:MM:SS` → a duration; `None` for anything else, including a value too large to be a
/// channel's age (it comes from the wire: no overflow may panic here).
pub(super) fn parse_hms(s: &str) -> Option<TimeDelta> {
    let mut secs = 0i64;
    for part in s.trim().split(':') {
        let part = part.parse::<u32>().ok()?;
        secs = secs.checked_mul(60)?.checked_add(i64::from(part))?;
    }
    TimeDelta::try_seconds(secs)
}
