use chrono::{DateTime, Duration, TimeZone, Utc};
use hookflash_store::{CallId, CallRow, CallWrite, EventRow, LegRow, Store, TenantId};
use uuid::Uuid;

/// A tenant with a unique slug.
pub(crate) async fn tenant(store: &Store, name: &str) -> TenantId {
    let slug = format!("{name}-{}", Uuid::new_v4().simple());
    store
        .tenants()
        .create(name, &slug)
        .await
        .unwrap()
        .tenant_id()
}

/// A fixed base time (microsecond precision, as stored).
pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

pub(crate) fn leg(
    call: &CallRow,
    leg_id: &str,
    role: &str,
    state: &str,
    at: DateTime<Utc>,
) -> LegRow {
    LegRow {
        call_id: call.id,
        leg_id: leg_id.to_owned(),
        tenant_id: call.tenant_id,
        role: role.to_owned(),
        channel: Some(format!("PJSIP/{leg_id}-00000001")),
        number: Some("+14155550100".to_owned()),
        state: state.to_owned(),
        created_at: at,
        answered_at: None,
        ended_at: None,
        hangup_cause_code: None,
        hangup_cause_text: None,
    }
}

pub(crate) fn event(call: &CallRow, seq: i64, kind: &str, at: DateTime<Utc>) -> EventRow {
    EventRow {
        call_id: call.id,
        seq,
        tenant_id: call.tenant_id,
        at,
        kind: kind.to_owned(),
        leg_id: Some(format!("leg-{seq}")),
        payload: serde_json::json!({ "seq": seq, "kind": kind }),
    }
}

/// The writes a tracker would emit for one answered outbound call: ringing, answered, ended;
/// each a full snapshot with the legs that changed and the new events.
pub(crate) fn call_script(
    tenant: TenantId,
    created_at: DateTime<Utc>,
    events_per_step: i64,
) -> Vec<CallWrite> {
    let id = CallId::new_random();
    let mut call = CallRow::new(id, tenant, "outbound", "ami", "ringing", created_at);
    call.from_number = Some("+14155550100".into());
    call.to_number = Some("+14155550199".into());
    call.linkedid = Some(format!("linked-{}", id));
    call.version = 1;
    call.customer_ringing_at = Some(created_at);
    let mut seq = 0;
    let mut events = |call: &CallRow, kind: &str, at: DateTime<Utc>| {
        (0..events_per_step)
            .map(|_| {
                seq += 1;
                event(call, seq, kind, at)
            })
            .collect::<Vec<_>>()
    };
    let mut writes = Vec::new();
    let ringing_legs = vec![
        leg(&call, "agent", "agent", "up", created_at),
        leg(&call, "customer", "customer", "ringing", created_at),
    ];
    let ev = events(&call, "ringing", created_at);
    writes.push(CallWrite {
        call: call.clone(),
        legs: ringing_legs,
        events: ev,
    });

    let answered = created_at + Duration::seconds(5);
    call.version = 2;
    call.state = "answered".into();
    call.answered_at = Some(answered);
    call.ring_seconds = Some(5);
    call.updated_at = answered;
    let mut customer = leg(&call, "customer", "customer", "up", created_at);
    customer.answered_at = Some(answered);
    let ev = events(&call, "answered", answered);
    writes.push(CallWrite {
        call: call.clone(),
        legs: vec![customer.clone()],
        events: ev,
    });

    let ended = answered + Duration::seconds(30);
    call.version = 3;
    call.state = "ended".into();
    call.disposition = Some("answered".into());
    call.ended_at = Some(ended);
    call.talk_seconds = Some(30);
    call.total_seconds = Some(35);
    call.hangup_cause_code = Some(16);
    call.hangup_cause_text = Some("Normal Clearing".into());
    call.hung_up_by = Some("customer".into());
    call.updated_at = ended;
    customer.state = "down".into();
    customer.ended_at = Some(ended);
    customer.hangup_cause_code = Some(16);
    let mut agent = leg(&call, "agent", "agent", "down", created_at);
    agent.ended_at = Some(ended);
    let ev = events(&call, "hangup", ended);
    writes.push(CallWrite {
        call,
        legs: vec![agent, customer],
        events: ev,
    });
    writes
}

/// A single-snapshot call with the given fields, for listing and stats tests.
pub(crate) fn simple_call(
    tenant: TenantId,
    created_at: DateTime<Utc>,
    state: &str,
    disposition: Option<&str>,
) -> CallRow {
    let mut call = CallRow::new(
        CallId::new_random(),
        tenant,
        "outbound",
        "ari",
        state,
        created_at,
    );
    call.disposition = disposition.map(str::to_owned);
    call.version = 1;
    call
}

/// A tracker record of an answered, ended outbound call with two legs and four timeline
/// entries (two of them dropped for the bound before).
pub(crate) fn tracker_record(tenant: Option<TenantId>) -> hookflash_calls::CallRecord {
    use hookflash_calls::*;
    use hookflash_provider::{HangupCause, LegEventKind, LegId, LegRole};
    use std::borrow::Cow;

    let at = t0();
    let agent = LegId::new("1700000000.1").unwrap();
    let customer = LegId::new("1700000000.2").unwrap();
    let leg = |id: &LegId, role, answered| LegRecord {
        leg: id.clone(),
        role,
        channel: Some(format!("PJSIP/{id}")),
        number: None,
        state: LegStatus::HungUp,
        created_at: at,
        answered_at: Some(at + Duration::seconds(answered)),
        ended_at: Some(at + Duration::seconds(60)),
        cause: Some(HangupCause::from_code(16)),
        hangup_side: None,
    };
    let entry = |secs: i64, leg: &LegId, event: &'static str, detail| TimelineEntry {
        at: at + Duration::seconds(secs),
        leg: Some(leg.clone()),
        role: Some(LegRole::Customer),
        event: Cow::Borrowed(event),
        detail,
        note: None,
    };
    CallRecord {
        call_id: CallId::new_random(),
        derived_id: false,
        tenant,
        direction: Direction::Outbound,
        state: CallState::Ended,
        disposition: Some(Disposition::Answered),
        end_reason: None,
        agent_leg: Some(agent.clone()),
        agent_channel: Some("PJSIP/agent1001-00000001".into()),
        customer_leg: Some(customer.clone()),
        customer_channel: Some("PJSIP/trunk-00000002".into()),
        agent_answered: true,
        customer_dialed: true,
        bridged: true,
        bridge_id: Some("bridge-1".into()),
        linkedid: Some("1700000000.1".into()),
        legs: vec![
            leg(&agent, LegRole::Agent, 2),
            leg(&customer, LegRole::Customer, 10),
        ],
        created_at: at,
        agent_answered_at: Some(at + Duration::seconds(2)),
        customer_ringing_at: Some(at + Duration::seconds(3)),
        answered_at: Some(at + Duration::seconds(10)),
        ended_at: Some(at + Duration::seconds(60)),
        ring_secs: 7,
        talk_secs: 50,
        duration_secs: 60,
        hold_count: 1,
        hold_secs: 5,
        held_leg: Some(Party::Customer),
        is_on_hold: false,
        is_muted: false,
        mute: MuteState::default(),
        recordings: Vec::new(),
        transfers: Vec::new(),
        park: None,
        dtmf_received: PartyDigits::default(),
        dtmf_sent: PartyDigits::default(),
        hangup_cause: Some(HangupCause::from_code(16)),
        hung_up_by: Some(Party::Customer),
        from: Some("+14155550100".into()),
        to: Some("+14155550199".into()),
        agent_endpoint: Some("PJSIP/agent1001".into()),
        offered_to: Vec::new(),
        offers: Vec::new(),
        timeline: vec![
            entry(3, &customer, "ringing", Some(LegEventKind::Ringing)),
            entry(10, &customer, "answered", Some(LegEventKind::Answered)),
            entry(30, &customer, "hold", None),
            entry(60, &customer, "hung_up", None),
        ],
        timeline_dropped: 2,
        last_event_at: at + Duration::seconds(60),
        seq: 12,
    }
}
