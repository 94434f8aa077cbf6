//! The providers' billing records ([`CdrRecord`]) to store rows, reconciled with the tracker's
//! view of the call.

use hookflash_calls::{CallRecord, Tracker};
use hookflash_provider::{CdrRecord, TenantId};
use hookflash_store::Cdr;
use serde_json::{Map, Value, json};

/// The tracked call (live or lingering after its end) that has the leg `uniqueid`.
pub(super) fn call_of_leg(tracker: &Tracker, uniqueid: &str) -> Option<CallRecord> {
    tracker
        .calls()
        .find(|c| c.legs.iter().any(|l| l.leg.as_str() == uniqueid))
        .cloned()
}

/// A store row for one billing record. `call` is the tracked call its leg belongs to.
///
/// Reconciliation: the platform's billable seconds (Asterisk's `BillableSeconds`) count from the answer of the CDR's own
/// channel (for an agent-first call, the agent's leg), the call's billsec (`talk_secs`) from
/// the moment agent and customer were connected. Both are kept in `raw.hookflash`, with the
/// tracker's answer-to-hangup time of the same leg (`leg_billsec`); a CDR that disagrees with
/// that leg by more than a second is logged.
pub(super) fn cdr_row(rec: &CdrRecord, tenant: TenantId, call: Option<&CallRecord>) -> Cdr {
    let mut raw = Map::new();
    for (k, v) in &rec.fields {
        raw.insert(k.clone(), Value::String(v.clone()));
    }
    let billsec = rec.billable_secs;
    let uniqueid = rec.leg.clone();
    if let Some(call) = call {
        let talk = i64::try_from(call.talk_secs).unwrap_or(i64::MAX);
        let leg_billsec = call
            .legs
            .iter()
            .find(|l| l.leg.as_str() == uniqueid)
            .and_then(|l| Some((l.ended_at? - l.answered_at?).num_seconds()));
        let delta = billsec.zip(leg_billsec).map(|(b, l)| b.saturating_sub(l));
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
        src: rec.source.clone(),
        dst: rec.destination.clone(),
        dcontext: rec.destination_context.clone(),
        channel: rec.channel.clone(),
        dstchannel: rec.destination_channel.clone(),
        lastapp: rec.last_application.clone(),
        lastdata: rec.last_data.clone(),
        start_at: rec.start_at,
        answer_at: rec.answer_at,
        end_at: rec.end_at,
        duration: rec.duration_secs,
        billsec,
        disposition: rec.disposition.clone(),
        accountcode: rec.account_code.clone(),
        userfield: rec.user_field.clone(),
        raw: Value::Object(raw),
        uniqueid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn record() -> CdrRecord {
        let mut r = CdrRecord::default();
        r.leg = "1795315411.4".to_owned();
        r.source = Some("18005550100".to_owned());
        r.destination = Some("5551204005".to_owned());
        r.channel = Some("PJSIP/agent1001-00000004".to_owned());
        r.start_at = Utc.with_ymd_and_hms(2026, 11, 22, 2, 43, 31).single();
        r.duration_secs = Some(7);
        r.billable_secs = Some(6);
        r.disposition = Some("ANSWERED".to_owned());
        r.fields = vec![
            ("Event".to_owned(), "Cdr".to_owned()),
            ("Source".to_owned(), "18005550100".to_owned()),
        ];
        r
    }

    #[test]
    fn fields_map_to_columns() {
        let tenant = TenantId::new_random();
        let row = cdr_row(&record(), tenant, None);
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
