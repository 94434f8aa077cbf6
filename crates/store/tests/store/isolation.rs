//! Tenant isolation: nothing one tenant owns is visible or writable through another.

use chrono::Duration;
use hookflash_store::*;
use uuid::Uuid;

use crate::cases::{contact, new_agent, new_user};
use crate::fixtures::{call_script, t0, tenant};

/// Everything a tenant can own, created for `t`; returns the ids to probe with.
struct Owned {
    user: Uuid,
    key: Uuid,
    key_secret: String,
    agent: Uuid,
    campaign: Uuid,
    contact: Uuid,
    did: Uuid,
    sound: Uuid,
    recording: Uuid,
    call: CallId,
    linkedid: String,
}

fn dnc_number(tag: &str) -> String {
    if tag == "a" {
        "+14155550201".into()
    } else {
        "+14155550202".into()
    }
}

async fn populate(store: &Store, t: TenantId, tag: &str) -> Owned {
    let user = store
        .users()
        .create(t, new_user(&format!("user-{tag}"), UserRole::Agent))
        .await
        .unwrap();
    // The same username in the other tenant is allowed: uniqueness is per tenant.
    store
        .users()
        .create(t, new_user("shared-name", UserRole::Admin))
        .await
        .unwrap();
    let key = store
        .api_keys()
        .create(
            t,
            NewApiKey {
                name: tag.into(),
                scopes: vec!["*".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let agent = store
        .agents()
        .create(t, new_agent("PJSIP/shared"))
        .await
        .unwrap();
    store
        .agents()
        .set_state(t, agent.id, AgentState::Available, None, t0())
        .await
        .unwrap();
    let campaign = store
        .campaigns()
        .create(t, NewCampaign::new("shared", CampaignMode::Preview))
        .await
        .unwrap();
    let contact = store
        .contacts()
        .create(t, contact(Some(campaign.id), "+14155550100"))
        .await
        .unwrap();
    store.dnc().add(t, "+14155550111", None).await.unwrap();
    store.dnc().add(t, &dnc_number(tag), None).await.unwrap();
    let did = store
        .dids()
        .create(t, "+14155550122", None, 1)
        .await
        .unwrap();
    let sound = store
        .sounds()
        .upsert(t, "shared", &["wav".into()], 1)
        .await
        .unwrap();
    let mut writes = call_script(t, t0(), 2);
    for w in &mut writes {
        w.call.agent_id = Some("agent-x".into());
        w.call.campaign_id = Some("camp-x".into());
        w.call.linkedid = Some("shared-linkedid".into());
    }
    store.write_calls(&writes).await.unwrap();
    let call = writes[0].call.call_id();
    let recording = store
        .recordings()
        .upsert(
            t,
            &NewRecording {
                call_id: Some(call),
                path: "/rec/shared.wav".into(),
                size_bytes: 1,
                duration_ms: 1,
                format: "wav".into(),
            },
        )
        .await
        .unwrap();
    let cdr = Cdr {
        tenant_id: *t.as_uuid(),
        uniqueid: "shared.1".into(),
        linkedid: Some("shared-linkedid".into()),
        call_id: None,
        src: None,
        dst: None,
        dcontext: None,
        channel: None,
        dstchannel: None,
        lastapp: None,
        lastdata: None,
        start_at: None,
        answer_at: None,
        end_at: None,
        duration: None,
        billsec: None,
        disposition: None,
        accountcode: None,
        userfield: None,
        raw: serde_json::json!({}),
    };
    store.cdrs().upsert(&cdr).await.unwrap();
    Owned {
        user: user.id,
        key: key.key.id,
        key_secret: key.secret,
        agent: agent.id,
        campaign: campaign.id,
        contact: contact.id,
        did: did.id,
        sound: sound.id,
        recording: recording.id,
        call,
        linkedid: "shared-linkedid".into(),
    }
}

pub(crate) async fn tenant_isolation(store: Store) {
    let a = tenant(&store, "a").await;
    let b = tenant(&store, "b").await;
    let oa = populate(&store, a, "a").await;
    let ob = populate(&store, b, "b").await;
    let (ta, tb) = (*a.as_uuid(), *b.as_uuid());

    // Lists given A hold only A's rows.
    assert!(
        store
            .users()
            .list(a)
            .await
            .unwrap()
            .iter()
            .all(|u| u.tenant_id == ta)
    );
    assert_eq!(store.users().list(a).await.unwrap().len(), 2);
    assert!(
        store
            .api_keys()
            .list(a)
            .await
            .unwrap()
            .iter()
            .all(|k| k.tenant_id == ta)
    );
    assert_eq!(store.agents().list(a, None).await.unwrap().len(), 1);
    assert!(
        store
            .agents()
            .list(a, None)
            .await
            .unwrap()
            .iter()
            .all(|x| x.tenant_id == ta)
    );
    assert!(
        store
            .agents()
            .sessions(a, ob.agent, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .agents()
            .sessions(a, oa.agent, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        store
            .campaigns()
            .list(a, None)
            .await
            .unwrap()
            .iter()
            .all(|x| x.tenant_id == ta)
    );
    let contacts = store
        .contacts()
        .list(a, &ContactFilter::default())
        .await
        .unwrap();
    assert_eq!(contacts.len(), 1);
    assert!(contacts.iter().all(|x| x.tenant_id == ta));
    assert!(
        store
            .contacts()
            .claim_due(a, ob.campaign, t0() + Duration::days(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .contacts()
            .due(a, ob.campaign, t0(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.dnc().list(a).await.unwrap().len(), 2);
    assert!(
        store
            .dnc()
            .list(a)
            .await
            .unwrap()
            .iter()
            .all(|x| x.tenant_id == ta)
    );
    assert!(
        store
            .dids()
            .list(a, None)
            .await
            .unwrap()
            .iter()
            .all(|x| x.tenant_id == ta)
    );
    assert!(
        store
            .sounds()
            .list(a)
            .await
            .unwrap()
            .iter()
            .all(|x| x.tenant_id == ta)
    );
    assert!(
        store
            .recordings()
            .list(a, 100)
            .await
            .unwrap()
            .iter()
            .all(|x| x.tenant_id == ta)
    );
    assert!(
        store
            .recordings()
            .for_call(a, ob.call)
            .await
            .unwrap()
            .is_empty()
    );
    let page = store
        .calls()
        .list(a, &CallFilter::default(), None, 100)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert!(page.items.iter().all(|c| c.tenant_id == ta));
    for filter in [
        CallFilter {
            agent_id: Some("agent-x".into()),
            ..Default::default()
        },
        CallFilter {
            campaign_id: Some("camp-x".into()),
            ..Default::default()
        },
        CallFilter {
            number: Some("+14155550199".into()),
            ..Default::default()
        },
        CallFilter {
            state: Some("ended".into()),
            ..Default::default()
        },
    ] {
        let items = store
            .calls()
            .list(a, &filter, None, 100)
            .await
            .unwrap()
            .items;
        assert_eq!(
            items.iter().map(|c| c.id).collect::<Vec<_>>(),
            vec![*oa.call.as_uuid()]
        );
    }
    let linked = store.calls().by_linkedid(a, &oa.linkedid).await.unwrap();
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].tenant_id, ta);
    assert!(store.calls().legs(a, ob.call).await.unwrap().is_empty());
    assert!(store.calls().events(a, ob.call).await.unwrap().is_empty());
    let q = StatsQuery {
        since: t0() - Duration::days(1),
        until: t0() + Duration::days(1),
        campaign_id: None,
        agent_id: None,
    };
    assert_eq!(store.calls().stats(a, &q).await.unwrap().total, 1);
    assert_eq!(store.calls().live_counts(a).await.unwrap(), vec![]);
    assert_eq!(
        store.agents().state_counts(a).await.unwrap(),
        vec![(AgentState::Available, 1)]
    );
    let cdrs = store
        .cdrs()
        .by_linkedid(a, "shared-linkedid")
        .await
        .unwrap();
    assert_eq!(cdrs.len(), 1);
    assert_eq!(cdrs[0].tenant_id, ta);
    assert_eq!(
        store
            .cdrs()
            .get(a, "shared.1")
            .await
            .unwrap()
            .unwrap()
            .tenant_id,
        ta
    );

    // Lookups given A by B's ids or names find nothing.
    assert!(store.users().get(a, ob.user).await.unwrap().is_none());
    assert!(
        store
            .users()
            .find_by_login(a, "user-b")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .users()
            .verify_password(a, "user-b", "pw-user-b")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .users()
            .find_by_login(a, "shared-name")
            .await
            .unwrap()
            .unwrap()
            .tenant_id,
        ta
    );
    assert!(store.api_keys().get(a, ob.key).await.unwrap().is_none());
    assert!(store.agents().get(a, ob.agent).await.unwrap().is_none());
    assert_eq!(
        store
            .agents()
            .get_by_endpoint(a, "PJSIP/shared")
            .await
            .unwrap()
            .unwrap()
            .id,
        oa.agent
    );
    assert!(
        store
            .campaigns()
            .get(a, ob.campaign)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.contacts().get(a, ob.contact).await.unwrap().is_none());
    assert!(store.dids().get(a, ob.did).await.unwrap().is_none());
    assert!(store.sounds().get(a, ob.sound).await.unwrap().is_none());
    assert_eq!(
        store
            .sounds()
            .get_by_name(a, "shared")
            .await
            .unwrap()
            .unwrap()
            .id,
        oa.sound
    );
    assert!(
        store
            .recordings()
            .get(a, ob.recording)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.calls().get(a, ob.call).await.unwrap().is_none());
    assert!(
        store
            .calls()
            .get_detail(a, ob.call)
            .await
            .unwrap()
            .is_none()
    );
    assert!(!store.dnc().contains(a, &dnc_number("b")).await.unwrap());
    assert!(store.dnc().contains(a, &dnc_number("a")).await.unwrap());

    // Writes given A cannot touch B's rows.
    assert!(
        store
            .users()
            .set_password(a, ob.user, "x")
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        store
            .users()
            .set_active(a, ob.user, false)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(!store.users().delete(a, ob.user).await.unwrap());
    assert!(!store.api_keys().revoke(a, ob.key).await.unwrap());
    assert!(
        store
            .agents()
            .update(a, ob.agent, new_agent("PJSIP/z"))
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        store
            .agents()
            .set_state(a, ob.agent, AgentState::Paused, None, t0())
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(!store.agents().delete(a, ob.agent).await.unwrap());
    assert!(
        store
            .campaigns()
            .set_status(a, ob.campaign, CampaignStatus::Active)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        store
            .campaigns()
            .update(a, ob.campaign, NewCampaign::new("z", CampaignMode::Preview))
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(!store.campaigns().delete(a, ob.campaign).await.unwrap());
    assert!(
        store
            .contacts()
            .record_attempt(a, ob.contact, "busy", ContactStatus::Pending, None)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        store
            .contacts()
            .set_status(a, ob.contact, ContactStatus::Cancelled)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(!store.contacts().delete(a, ob.contact).await.unwrap());
    assert!(
        store.dnc().remove(a, "+14155550111").await.unwrap(),
        "A's own entry"
    );
    assert!(
        store.dnc().contains(b, "+14155550111").await.unwrap(),
        "B's entry stays"
    );
    assert!(
        store
            .dids()
            .set_active(a, ob.did, false)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(!store.dids().delete(a, ob.did).await.unwrap());
    assert!(!store.sounds().delete(a, ob.sound).await.unwrap());
    assert!(!store.recordings().delete(a, ob.recording).await.unwrap());
    assert!(
        store
            .calls()
            .update_wrapup(a, ob.call, Some("x"), None)
            .await
            .unwrap_err()
            .is_not_found()
    );

    // B is untouched, and B's key names B.
    assert!(store.users().get(b, ob.user).await.unwrap().unwrap().active);
    assert_eq!(
        store
            .agents()
            .get(b, ob.agent)
            .await
            .unwrap()
            .unwrap()
            .state,
        AgentState::Available
    );
    assert!(
        store
            .calls()
            .get(b, ob.call)
            .await
            .unwrap()
            .unwrap()
            .wrapup_code
            .is_none()
    );
    assert!(store.dnc().contains(b, "+14155550111").await.unwrap());
    assert_eq!(
        store
            .api_keys()
            .verify(&ob.key_secret)
            .await
            .unwrap()
            .unwrap()
            .tenant_id,
        tb
    );
    assert_eq!(
        store
            .api_keys()
            .verify(&oa.key_secret)
            .await
            .unwrap()
            .unwrap()
            .tenant_id,
        ta
    );
}
