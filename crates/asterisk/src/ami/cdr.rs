//! AMI `Cdr` events to the neutral [`CdrRecord`] (the platform facts: Asterisk's field names
//! and its `YYYY-MM-DD HH:MM:SS` times).

use chrono::{DateTime, NaiveDateTime, Utc};
use hookflash_ami::Event;
use hookflash_provider::CdrRecord;

/// The billing record of a `Cdr` event; `None` for every other event.
pub(crate) fn cdr_of(event: &Event) -> Option<CdrRecord> {
    if !event.name().eq_ignore_ascii_case("Cdr") {
        return None;
    }
    Some(cdr_record(event.raw()))
}

/// Asterisk writes CDR times as `YYYY-MM-DD HH:MM:SS` in the server's zone; hookflash's peers
/// run in UTC, so they are read as UTC. Empty means "never" (no answer).
fn time(text: Option<&str>) -> Option<DateTime<Utc>> {
    let t = text?.trim();
    if t.is_empty() {
        return None;
    }
    NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|n| n.and_utc())
}

fn opt(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

fn int(text: Option<&str>) -> Option<i64> {
    text?.trim().parse().ok()
}

/// The record of one `Cdr` message (its fields by their AMI names).
pub(crate) fn cdr_record(msg: &hookflash_ami::Message) -> CdrRecord {
    let mut r = CdrRecord::default();
    r.leg = opt(msg.get_str("UniqueID")).unwrap_or_default();
    r.source = opt(msg.get_str("Source"));
    r.destination = opt(msg.get_str("Destination"));
    r.destination_context = opt(msg.get_str("DestinationContext"));
    r.channel = opt(msg.get_str("Channel"));
    r.destination_channel = opt(msg.get_str("DestinationChannel"));
    r.last_application = opt(msg.get_str("LastApplication"));
    r.last_data = opt(msg.get_str("LastData"));
    r.start_at = time(msg.get_str("StartTime"));
    r.answer_at = time(msg.get_str("AnswerTime"));
    r.end_at = time(msg.get_str("EndTime"));
    r.duration_secs = int(msg.get_str("Duration"));
    r.billable_secs = int(msg.get_str("BillableSeconds"));
    r.disposition = opt(msg.get_str("Disposition"));
    r.account_code = opt(msg.get_str("AccountCode"));
    r.user_field = opt(msg.get_str("UserField"));
    r.fields = msg
        .fields()
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(k).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect();
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cdr_message() -> hookflash_ami::Message {
        hookflash_ami::Message::from_pairs([
            ("Event", "Cdr"),
            ("Source", "18005550100"),
            ("Destination", "5551204005"),
            ("Channel", "PJSIP/agent1001-00000004"),
            ("DestinationChannel", "PJSIP/trunk-00000005"),
            ("LastApplication", "Dial"),
            ("StartTime", "2026-11-22 02:43:31"),
            ("AnswerTime", ""),
            ("EndTime", "2026-11-22 02:43:39"),
            ("Duration", "7"),
            ("BillableSeconds", "6"),
            ("Disposition", "ANSWERED"),
            ("UniqueID", "1795315411.4"),
            ("UserField", ""),
        ])
    }

    #[test]
    fn fields_map_to_the_neutral_record() {
        let r = cdr_record(&cdr_message());
        assert_eq!(r.leg, "1795315411.4");
        assert_eq!(r.billable_secs, Some(6));
        assert_eq!(r.duration_secs, Some(7));
        assert_eq!(r.disposition.as_deref(), Some("ANSWERED"));
        assert_eq!(r.answer_at, None);
        assert_eq!(
            r.start_at.map(|t| t.to_rfc3339()),
            Some("2026-11-22T02:43:31+00:00".to_owned())
        );
        assert_eq!(r.user_field, None);
        assert!(
            r.fields
                .contains(&("Source".to_owned(), "18005550100".to_owned()))
        );
    }

    #[test]
    fn only_cdr_events_are_records() {
        let ev = Event::from_message(cdr_message()).unwrap();
        assert!(cdr_of(&ev).is_some());
        let other = Event::from_message(hookflash_ami::Message::from_pairs([
            ("Event", "Newchannel"),
            ("Uniqueid", "1.1"),
        ]))
        .unwrap();
        assert!(cdr_of(&other).is_none());
    }
}
