//! Campaigns and contacts, DNC and DIDs, sounds, recordings and CDRs.

use chrono::Duration;
use hookflash_store::*;
use uuid::Uuid;

use crate::cases::contact;
use crate::fixtures::{call_script, t0, tenant};

pub(crate) async fn campaigns_and_contacts(store: Store) {
    let t = tenant(&store, "camp").await;
    let campaigns = store.campaigns();
    let mut new = NewCampaign::new("Spring", CampaignMode::Predictive);
    new.dial_ratio = 2.5;
    new.caller_id_strategy = CallerIdStrategy::Rotate;
    let c = campaigns.create(t, new.clone()).await.unwrap();
    assert_eq!(
        (c.mode, c.status, c.dial_ratio),
        (CampaignMode::Predictive, CampaignStatus::Draft, 2.5)
    );
    assert_eq!(c.retry_dispositions, vec!["no_answer", "busy"]);
    assert!(
        campaigns
            .create(t, new.clone())
            .await
            .unwrap_err()
            .is_conflict()
    );
    campaigns
        .set_status(t, c.id, CampaignStatus::Active)
        .await
        .unwrap();
    assert_eq!(
        campaigns
            .list(t, Some(CampaignStatus::Active))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        campaigns
            .list(t, Some(CampaignStatus::Paused))
            .await
            .unwrap()
            .is_empty()
    );
    new.name = "Spring v2".into();
    new.time_zone = "America/New_York".into();
    let c2 = campaigns.update(t, c.id, new).await.unwrap();
    assert_eq!(
        (c2.name.as_str(), c2.time_zone.as_str()),
        ("Spring v2", "America/New_York")
    );

    let contacts = store.contacts();
    let err = contacts
        .create(t, contact(Some(c.id), "0612345678"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::InvalidInput {
                field: "phone_number",
                ..
            }
        ),
        "{err:?}"
    );
    let ids = contacts
        .create_many(
            t,
            &[
                contact(Some(c.id), "+33612345601"),
                contact(Some(c.id), "+33612345602"),
                contact(Some(c.id), "+33612345603"),
            ],
        )
        .await
        .unwrap();
    let first = contacts.get(t, ids[0]).await.unwrap().unwrap();
    assert_eq!(first.status, ContactStatus::Pending);
    assert_eq!(first.attributes["plan"], "gold");

    let now = t0();
    store
        .dnc()
        .add(t, "+33612345603", Some("asked"))
        .await
        .unwrap();
    let after = contacts
        .record_attempt(
            t,
            ids[1],
            "no_answer",
            ContactStatus::Pending,
            Some(now + Duration::hours(1)),
        )
        .await
        .unwrap();
    assert_eq!(
        (after.attempts, after.last_disposition.as_deref()),
        (1, Some("no_answer"))
    );
    let due: Vec<Uuid> = contacts
        .due(t, c.id, now, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(due, vec![ids[0]], "not due yet and DNC are left out");
    let due_later = contacts
        .due(t, c.id, now + Duration::hours(2), 10)
        .await
        .unwrap();
    assert_eq!(
        due_later.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![ids[0], ids[1]]
    );

    let claimed = contacts
        .claim_due(t, c.id, now + Duration::hours(2), 1)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        (claimed[0].id, claimed[0].status),
        (ids[0], ContactStatus::Dialing)
    );
    let rest = contacts
        .claim_due(t, c.id, now + Duration::hours(2), 10)
        .await
        .unwrap();
    assert_eq!(rest.iter().map(|c| c.id).collect::<Vec<_>>(), vec![ids[1]]);
    assert!(
        contacts
            .claim_due(t, c.id, now + Duration::hours(2), 10)
            .await
            .unwrap()
            .is_empty()
    );
    contacts
        .set_status(t, ids[0], ContactStatus::Completed)
        .await
        .unwrap();
    let filter = ContactFilter {
        campaign_id: Some(c.id),
        status: Some(ContactStatus::Completed),
        ..Default::default()
    };
    assert_eq!(contacts.list(t, &filter).await.unwrap().len(), 1);
    let by_number = ContactFilter {
        phone_number: Some("+33612345602".into()),
        ..Default::default()
    };
    assert_eq!(contacts.list(t, &by_number).await.unwrap()[0].id, ids[1]);
    let page = ContactFilter {
        limit: Some(2),
        offset: Some(1),
        ..Default::default()
    };
    assert_eq!(contacts.list(t, &page).await.unwrap().len(), 2);
    assert!(contacts.delete(t, ids[2]).await.unwrap());

    assert!(campaigns.delete(t, c.id).await.unwrap());
    assert!(
        contacts.get(t, ids[0]).await.unwrap().is_none(),
        "contacts go with their campaign"
    );
}

pub(crate) async fn dnc_and_dids(store: Store) {
    let t = tenant(&store, "dnc").await;
    let dnc = store.dnc();
    dnc.add(t, "+14155550100", None).await.unwrap();
    dnc.add(t, "+14155550100", Some("again")).await.unwrap();
    assert!(dnc.contains(t, "+14155550100").await.unwrap());
    assert!(!dnc.contains(t, "+14155550101").await.unwrap());
    let list = dnc.list(t).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].reason.as_deref(), Some("again"));
    assert!(dnc.add(t, "12345", None).await.is_err());
    assert!(dnc.remove(t, "+14155550100").await.unwrap());
    assert!(!dnc.contains(t, "+14155550100").await.unwrap());

    let campaign = store
        .campaigns()
        .create(t, NewCampaign::new("c", CampaignMode::Progressive))
        .await
        .unwrap();
    let dids = store.dids();
    let a = dids
        .create(t, "+14155550001", Some(campaign.id), 1)
        .await
        .unwrap();
    let b = dids
        .create(t, "+14155550002", Some(campaign.id), 5)
        .await
        .unwrap();
    let c = dids
        .create(t, "+14155550003", Some(campaign.id), 1)
        .await
        .unwrap();
    let unassigned = dids.create(t, "+14155550009", None, 1).await.unwrap();
    assert!(
        dids.create(t, "+14155550001", None, 1)
            .await
            .unwrap_err()
            .is_conflict()
    );
    dids.set_active(t, c.id, false).await.unwrap();

    let mut picked = Vec::new();
    for i in 0..4 {
        let d = dids
            .take_next(t, Some(campaign.id), t0() + Duration::seconds(i))
            .await
            .unwrap()
            .unwrap();
        picked.push(d.id);
    }
    // Never-used first (higher weight first), then least recently used; the inactive one never.
    assert_eq!(picked, vec![b.id, a.id, b.id, a.id]);
    let b_now = dids.get(t, b.id).await.unwrap().unwrap();
    assert_eq!(b_now.use_count, 2);
    assert_eq!(b_now.last_used_at, Some(t0() + Duration::seconds(2)));
    assert_eq!(
        dids.take_next(t, None, t0()).await.unwrap().unwrap().id,
        unassigned.id
    );
    assert_eq!(
        dids.get_by_number(t, "+14155550003")
            .await
            .unwrap()
            .unwrap()
            .id,
        c.id
    );
    assert_eq!(dids.list(t, Some(campaign.id)).await.unwrap().len(), 3);
    assert_eq!(dids.list(t, None).await.unwrap().len(), 4);
    assert!(dids.delete(t, a.id).await.unwrap());
}

pub(crate) async fn sounds_recordings_cdr(store: Store) {
    let t = tenant(&store, "media").await;
    let s1 = store
        .sounds()
        .upsert(t, "welcome", &["wav".into()], 100)
        .await
        .unwrap();
    let s2 = store
        .sounds()
        .upsert(t, "welcome", &["wav".into(), "ulaw".into()], 150)
        .await
        .unwrap();
    assert_eq!(s1.id, s2.id, "replacing keeps the id");
    assert_eq!((s2.formats.len(), s2.size_bytes), (2, 150));
    assert_eq!(store.sounds().list(t).await.unwrap().len(), 1);
    assert_eq!(
        store.sounds().get(t, s1.id).await.unwrap(),
        Some(s2.clone())
    );
    assert!(store.sounds().delete(t, s1.id).await.unwrap());

    let writes = call_script(t, t0(), 1);
    store.write_calls(&writes).await.unwrap();
    let call = writes[0].call.call_id();
    let rec = NewRecording {
        call_id: Some(call),
        path: "/rec/a.wav".into(),
        size_bytes: 10,
        duration_ms: 1000,
        format: "wav".into(),
    };
    let r1 = store.recordings().upsert(t, &rec).await.unwrap();
    let r2 = store
        .recordings()
        .upsert(
            t,
            &NewRecording {
                size_bytes: 20,
                ..rec.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!((r1.id, r2.size_bytes), (r2.id, 20));
    assert_eq!(
        store.recordings().for_call(t, call).await.unwrap(),
        vec![r2.clone()]
    );
    assert_eq!(store.recordings().list(t, 10).await.unwrap().len(), 1);
    assert_eq!(
        store.recordings().get(t, r1.id).await.unwrap(),
        Some(r2.clone())
    );
    assert!(store.recordings().delete(t, r1.id).await.unwrap());

    // A started recording keeps our id and the caller's label (metadata, never a path), and
    // is never overwritten by a second start of the same id.
    let started = StartedRecording {
        id: hookflash_provider::RecordingId::new_random(),
        call_id: call,
        path: "/rec/hookflash-x.wav".into(),
        format: "gsm".into(),
        label: Some("../../etc/asterisk/x".into()),
    };
    let r3 = store.recordings().start(t, &started).await.unwrap();
    assert_eq!(r3.id, *started.id.as_uuid());
    assert_eq!(r3.label.as_deref(), Some("../../etc/asterisk/x"));
    assert_eq!(
        (r3.path.as_str(), r3.format.as_str()),
        ("/rec/hookflash-x.wav", "gsm")
    );
    assert!(store.recordings().start(t, &started).await.is_err());
    assert_eq!(
        store.recordings().for_call(t, call).await.unwrap(),
        vec![r3.clone()]
    );
    assert!(store.recordings().stop(t, r3.id).await.unwrap());
    assert!(!store.recordings().stop(t, r3.id).await.unwrap());
    let stopped = store.recordings().get(t, r3.id).await.unwrap().unwrap();
    assert!(stopped.stopped_at.is_some());

    let mut cdr = Cdr {
        tenant_id: *t.as_uuid(),
        uniqueid: "1700000000.1".into(),
        linkedid: Some("1700000000.1".into()),
        call_id: Some(*call.as_uuid()),
        src: Some("1001".into()),
        dst: Some("+14155550199".into()),
        dcontext: Some("from-internal".into()),
        channel: Some("PJSIP/1001-00000001".into()),
        dstchannel: None,
        lastapp: Some("Dial".into()),
        lastdata: None,
        start_at: Some(t0()),
        answer_at: None,
        end_at: Some(t0() + Duration::seconds(20)),
        duration: Some(20),
        billsec: Some(0),
        disposition: Some("NO ANSWER".into()),
        accountcode: None,
        userfield: None,
        raw: serde_json::json!({ "Event": "Cdr" }),
    };
    store.cdrs().upsert(&cdr).await.unwrap();
    cdr.disposition = Some("ANSWERED".into());
    store.cdrs().upsert(&cdr).await.unwrap();
    assert_eq!(
        store.cdrs().get(t, "1700000000.1").await.unwrap(),
        Some(cdr.clone())
    );
    assert_eq!(
        store.cdrs().by_linkedid(t, "1700000000.1").await.unwrap(),
        vec![cdr]
    );
}
