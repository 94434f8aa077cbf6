//! Raw AMI `Cdr` events to store rows, reconciled with the tracker's view of the call.

use chrono::{DateTime, NaiveDateTime, Utc};
use hookflash_calls::{CallRecord, Tracker};
use hookflash_provider::TenantId;
use hookflash_store::Cdr;
use serde_json::{Map, Value, json};

/// The tracked call (live or lingering after its end) that has the leg `uniqueid`.
pub(super) fn call_of_leg(tracker: &Tracker, uniqueid: &str) -> Option<CallRecord> {
    tracker
        .calls()
        .find(|c| c.legs.iter().any(|l| l.leg.as_str() == uniqueid))
        .cloned()
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

/// A store row for one `Cdr` event. `call` is the tracked call its channel belongs to.
///
/// Reconciliation: Asterisk's `BillableSeconds` counts from the answer of the CDR's own
/// channel (for an agent-first call, the agent's leg), the call's billsec (`talk_secs`) from
/// the moment agent and customer were connected. Both are kept in `raw.hookflash`, with the
/// tracker's answer-to-hangup time of the same leg (`leg_billsec`); a CDR that disagrees with
/// that leg by more than a second is logged.
pub(super) fn cdr_row(
    msg: &hookflash_ami::Message,
    tenant: TenantId,
    call: Option<&CallRecord>,
) -> Cdr {
    let mut raw = Map::new();
    for (k, v) in msg.fields() {
        raw.insert(
            String::from_utf8_lossy(k).into_owned(),
            Value::String(String::from_utf8_lossy(v).into_owned()),
        );
    }
    let billsec = int(msg.get_str("BillableSeconds"));
    let uniqueid = opt(msg.get_str("UniqueID")).unwrap_or_default();
    if let Some(call) = call {
        let talk = i64::try_from(call.talk_secs).unwrap_or(i64::MAX);
        let leg_billsec = call
            .legs
            .iter()
            .find(|l| l.leg.as_str() == uniqueid)
            .and_then(|l| Some((l.ended_at? - l.answered_at?).num_seconds()));
        let delta = billsec.zip(leg_billsec).map(|(b, l)| b - l);
        if delta.is_some_and(|d| d.abs() > 1) {
            tracing::warn!(call_id = %call.call_id, cdr_billsec = ?billsec, ?leg_billsec,
                "CDR billsec differs from the leg's answered time");
        }
        raw.insert(
            "hookflash".to_owned(),
            json!({
                "call_id": call.call_id.to_string(),
                "talk_secs": talk,
                "leg_billsec": leg_billsec,
                "billsec_delta": delta,
            }),
        );
    }
    Cdr {
        tenant_id: *tenant.as_uuid(),
        linkedid: call.and_then(|c| c.linkedid.clone()),
        call_id: call.map(|c| *c.call_id.as_uuid()),
        src: opt(msg.get_str("Source")),
        dst: opt(msg.get_str("Destination")),
        dcontext: opt(msg.get_str("DestinationContext")),
        channel: opt(msg.get_str("Channel")),
        dstchannel: opt(msg.get_str("DestinationChannel")),
        lastapp: opt(msg.get_str("LastApplication")),
        lastdata: opt(msg.get_str("LastData")),
        start_at: time(msg.get_str("StartTime")),
        answer_at: time(msg.get_str("AnswerTime")),
        end_at: time(msg.get_str("EndTime")),
        duration: int(msg.get_str("Duration")),
        billsec,
        disposition: opt(msg.get_str("Disposition")),
        accountcode: opt(msg.get_str("AccountCode")),
        userfield: opt(msg.get_str("UserField")),
        raw: Value::Object(raw),
        uniqueid,
    }
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
    fn fields_map_to_columns() {
        let tenant = TenantId::new_random();
        let row = cdr_row(&cdr_message(), tenant, None);
        assert_eq!(row.uniqueid, "1795315411.4");
        assert_eq!(row.billsec, Some(6));
        assert_eq!(row.duration, Some(7));
        assert_eq!(row.disposition.as_deref(), Some("ANSWERED"));
        assert_eq!(row.answer_at, None);
        assert_eq!(
            row.start_at.map(|t| t.to_rfc3339()),
            Some("2026-11-22T02:43:31+00:00".to_owned())
        );
        assert_eq!(row.userfield, None);
        assert_eq!(row.raw["Source"], "18005550100");
        assert!(row.raw.get("hookflash").is_none());
        assert_eq!(row.tenant_id, *tenant.as_uuid());
    }
}
