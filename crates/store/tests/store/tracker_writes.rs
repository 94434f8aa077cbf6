//! What the tracker's records become in the store, with the fields the API wrote kept.

use hookflash_store::*;

use crate::fixtures::tenant;

pub(crate) async fn tracker_records_round_trip(store: Store) {
    let t = tenant(&store, "tracker").await;
    let record = crate::fixtures::tracker_record(Some(t));
    let write = CallWrite::try_from(&record).unwrap();
    store.write_call(&write).await.unwrap();
    // The same snapshot again (a crash replay) adds nothing.
    store
        .write_call(&CallWrite::from_record(&record, t, "ami"))
        .await
        .unwrap();

    let d = store
        .calls()
        .get_detail(t, record.call_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.call.tenant(), t);
    assert_eq!(d.call.version, 12);
    assert_eq!(
        (d.call.direction.as_str(), d.call.state.as_str()),
        ("outbound", "ended")
    );
    assert_eq!(d.call.disposition.as_deref(), Some("answered"));
    assert_eq!(d.call.provider, "ami");
    assert_eq!(
        (
            d.call.ring_seconds,
            d.call.talk_seconds,
            d.call.total_seconds
        ),
        (Some(7), Some(50), Some(60))
    );
    assert_eq!((d.call.hold_count, d.call.hold_seconds), (1, 5));
    assert_eq!(d.call.hangup_cause_code, Some(16));
    assert_eq!(d.call.hung_up_by.as_deref(), Some("customer"));
    assert_eq!(d.call.customer_leg_id.as_deref(), Some("1700000000.2"));
    assert_eq!(d.call.metadata["agent_endpoint"], "PJSIP/agent1001");
    assert_eq!(d.legs.len(), 2);
    let agent = d.legs.iter().find(|l| l.role == "agent").unwrap();
    assert_eq!(
        (agent.state.as_str(), agent.hangup_cause_code),
        ("hung_up", Some(16))
    );
    let seqs: Vec<i64> = d.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![3, 4, 5, 6], "dropped entries shift the sequence");
    assert_eq!(d.events[0].kind, "ringing");
    assert_eq!(d.events[0].payload["detail"]["type"], "ringing");
    assert_eq!(d.events[0].payload["role"], "customer");

    let update = hookflash_calls::CallUpdate {
        call_id: record.call_id,
        kind: hookflash_calls::UpdateKind::Updated,
        record: record.clone(),
        event: None,
    };
    let w = CallWrite::from_update(&update, t, "ari");
    assert_eq!(w.events.len(), 4, "fewer than the recent window: all kept");
    let mut no_tenant = record.clone();
    no_tenant.tenant = None;
    assert!(matches!(
        CallWrite::try_from(&no_tenant),
        Err(StoreError::InvalidInput {
            field: "tenant",
            ..
        })
    ));
    assert_eq!(
        CallWrite::from_record(&no_tenant, t, "ami").call.tenant(),
        t
    );
}

/// The API writes a call when it places it; the tracker's snapshots (which do not know the
/// agent, campaign or contact) then fill in the state without erasing those.
pub(crate) async fn tracker_writes_keep_api_fields(store: Store) {
    let t = tenant(&store, "merge").await;
    let record = crate::fixtures::tracker_record(Some(t));
    let mut placed = CallRow::new(
        record.call_id,
        t,
        "outbound",
        "ari",
        "created",
        record.created_at,
    );
    placed.agent_id = Some("agent-7".into());
    placed.campaign_id = Some("camp-7".into());
    placed.contact_id = Some("contact-7".into());
    placed.did = Some("+14155550001".into());
    placed.metadata = serde_json::json!({ "source": "api", "end_reason": "placeholder" });
    store
        .write_call(&CallWrite::call(placed.clone()))
        .await
        .unwrap();

    // One by one, and coalesced in one batch (fresh call ids), give the same row.
    let tracker = CallWrite::try_from(&record).unwrap();
    store.write_call(&tracker).await.unwrap();
    let one_by_one = store.calls().get(t, record.call_id).await.unwrap().unwrap();

    let mut record2 = record.clone();
    record2.call_id = CallId::new_random();
    let mut placed2 = placed.clone();
    placed2.id = *record2.call_id.as_uuid();
    let batch = vec![
        CallWrite::call(placed2),
        CallWrite::try_from(&record2).unwrap(),
    ];
    store.write_calls(&batch).await.unwrap();
    let coalesced = store
        .calls()
        .get(t, record2.call_id)
        .await
        .unwrap()
        .unwrap();

    for row in [&one_by_one, &coalesced] {
        assert_eq!(row.agent_id.as_deref(), Some("agent-7"));
        assert_eq!(row.campaign_id.as_deref(), Some("camp-7"));
        assert_eq!(row.contact_id.as_deref(), Some("contact-7"));
        assert_eq!(row.did.as_deref(), Some("+14155550001"));
        assert_eq!(
            row.provider, "ari",
            "provider `unknown` keeps the stored one"
        );
        assert_eq!(row.state, "ended");
        assert_eq!(row.to_number.as_deref(), Some("+14155550199"));
        assert_eq!(row.metadata["source"], "api");
        assert_eq!(row.metadata["agent_endpoint"], "PJSIP/agent1001");
        assert_eq!(
            row.metadata["end_reason"], "placeholder",
            "a null does not erase"
        );
    }
    let mut a = one_by_one.clone();
    a.id = coalesced.id;
    assert_eq!(a, coalesced);
}
