//! The cases: each takes a migrated, empty store.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use futures::StreamExt;
use hookflash_store::*;
use uuid::Uuid;

pub(crate) use crate::batch_poison::batch_writer_dead_letters_a_poison_update;
use crate::fixtures::{call_script, event, simple_call, t0, tenant};
pub(crate) use crate::tenants_admin::{
    tenants_update_and_deactivate, users_delete_keeps_last_admin,
    users_update_fields_all_or_nothing,
};
pub(crate) use crate::users_sessions::{
    refresh_tokens_rotate_and_reuse_revokes, users_last_admin_is_kept, users_logins_ignore_case,
    users_one_password_check_per_login,
};

fn new_user(username: &str, role: UserRole) -> NewUser {
    NewUser {
        username: username.into(),
        email: Some(format!("{username}@example.com")),
        display_name: Some(username.to_uppercase()),
        password: format!("pw-{username}"),
        role,
    }
}

fn new_agent(endpoint: &str) -> NewAgent {
    NewAgent {
        user_id: None,
        display_name: format!("Agent {endpoint}"),
        endpoint: endpoint.into(),
        extension: Some("1001".into()),
        skills: vec!["sales".into(), "fr".into()],
    }
}

fn contact(campaign: Option<Uuid>, number: &str) -> NewContact {
    NewContact {
        campaign_id: campaign,
        phone_number: number.into(),
        name: Some("Ada".into()),
        attributes: serde_json::json!({ "plan": "gold" }),
        time_zone: Some("Europe/Paris".into()),
    }
}

pub(crate) async fn connection_settings(store: Store) {
    match store.db() {
        Db::Sqlite(pool) => {
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!(mode, "wal");
            let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!(fk, 1);
            let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!(busy, 5000);
            assert_eq!(store.dialect(), Dialect::Sqlite);
        }
        Db::Postgres(pool) => {
            let one: i32 = sqlx::query_scalar("SELECT 1")
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!(one, 1);
            assert_eq!(store.dialect(), Dialect::Postgres);
        }
    }
    store.ping().await.unwrap();
    // Foreign keys are enforced on both: a user of a tenant that does not exist is refused.
    let err = store
        .users()
        .create(TenantId::new_random(), new_user("ghost", UserRole::Agent))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");
}

pub(crate) async fn migrations_down_redo_up(store: Store) {
    let status = store.migration_status().await.unwrap();
    let versions: Vec<i64> = status.iter().map(|s| s.version).collect();
    assert_eq!(versions, vec![1, 2, 3, 4, 5, 6, 7, 8]);
    assert!(
        status
            .iter()
            .all(|s| s.status == MigrationStatusKind::Applied)
    );
    assert!(
        store.migrate().await.unwrap().is_empty(),
        "nothing left to apply"
    );

    // Made before going down: the tenants of migration 1 lack the later `active` column.
    let t = tenant(&store, "m").await;
    let mut steps = Vec::new();
    let reverted = store.migrate_down(6, &mut |p| steps.push(p)).await.unwrap();
    assert_eq!(reverted, vec![8, 7, 6, 5, 4, 3]);
    assert!(matches!(
        steps[0],
        MigrationProgress::Reverting { version: 8, .. }
    ));
    assert!(matches!(
        steps[1],
        MigrationProgress::Reverted { version: 8, .. }
    ));
    let status = store.migration_status().await.unwrap();
    assert_eq!(status[2].status, MigrationStatusKind::Pending);
    assert_eq!(status[1].status, MigrationStatusKind::Applied);
    // The calls table is gone.
    assert!(store.calls().get(t, CallId::new_random()).await.is_err());

    let applied = store.migrate_up(&mut |_| {}).await.unwrap();
    assert_eq!(applied, vec![3, 4, 5, 6, 7, 8]);
    assert!(
        store
            .calls()
            .get(t, CallId::new_random())
            .await
            .unwrap()
            .is_none()
    );

    let mut steps = Vec::new();
    let redone = store.migrate_redo(&mut |p| steps.push(p)).await.unwrap();
    assert_eq!(redone, Some(8));
    assert_eq!(steps.len(), 4, "{steps:?}");
    assert!(matches!(
        steps[3],
        MigrationProgress::Applied { version: 8, .. }
    ));

    let reverted = store.migrate_down(10, &mut |_| {}).await.unwrap();
    assert_eq!(reverted, vec![8, 7, 6, 5, 4, 3, 2, 1]);
    let status = store.migration_status().await.unwrap();
    assert!(
        status
            .iter()
            .all(|s| s.status == MigrationStatusKind::Pending)
    );
    assert_eq!(store.migrate_redo(&mut |_| {}).await.unwrap(), None);
    assert_eq!(store.migrate().await.unwrap(), vec![1, 2, 3, 4, 5, 6, 7, 8]);
    tenant(&store, "again").await;
}

async fn exec_with_bytes(store: &Store, sql: &str) {
    let bytes = vec![0u8; 4];
    match store.db() {
        Db::Sqlite(p) => sqlx::query(sql).bind(bytes).execute(p).await.map(|_| ()),
        Db::Postgres(p) => sqlx::query(sql).bind(bytes).execute(p).await.map(|_| ()),
    }
    .unwrap()
}

pub(crate) async fn dirty_and_unknown_migrations(store: Store) {
    let exec = |sql: &'static str| {
        let store = store.clone();
        async move {
            match store.db() {
                Db::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
                Db::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
            }
            .unwrap()
        }
    };
    exec("UPDATE _sqlx_migrations SET success = FALSE WHERE version = 3").await;
    let err = store.migrate().await.unwrap_err();
    assert!(matches!(err, StoreError::DirtyMigration(3)), "{err:?}");
    assert!(err.to_string().contains("dirty"));
    let err = store.migrate_down(1, &mut |_| {}).await.unwrap_err();
    assert!(matches!(err, StoreError::DirtyMigration(3)), "{err:?}");
    let status = store.migration_status().await.unwrap();
    assert_eq!(status[2].status, MigrationStatusKind::Dirty);
    exec("UPDATE _sqlx_migrations SET success = TRUE WHERE version = 3").await;

    exec_with_bytes(
        &store,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', TRUE, $1, 0)",
    )
    .await;
    let err = store.migrate().await.unwrap_err();
    assert!(matches!(err, StoreError::UnknownMigration(9999)), "{err:?}");
    assert!(err.to_string().contains("unknown"));
    let status = store.migration_status().await.unwrap();
    let last = status.last().unwrap();
    assert_eq!(
        (last.version, last.status),
        (9999, MigrationStatusKind::Unknown)
    );
    exec("DELETE FROM _sqlx_migrations WHERE version = 9999").await;

    exec_with_bytes(
        &store,
        "UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 2",
    )
    .await;
    let err = store.migrate().await.unwrap_err();
    assert!(matches!(err, StoreError::ChangedMigration(2)), "{err:?}");
}

pub(crate) async fn tenants_and_users(store: Store) {
    let t = store.tenants().create("Acme", "acme").await.unwrap();
    let err = store.tenants().create("Acme 2", "acme").await.unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    assert_eq!(
        store.tenants().get(t.tenant_id()).await.unwrap(),
        Some(t.clone())
    );
    assert_eq!(
        store.tenants().get_by_slug("acme").await.unwrap(),
        Some(t.clone())
    );
    assert!(store.tenants().list().await.unwrap().contains(&t));
    let tid = t.tenant_id();

    let users = store.users();
    let alice = users
        .create(tid, new_user("alice", UserRole::Admin))
        .await
        .unwrap();
    let bob = users
        .create(tid, new_user("bob", UserRole::Agent))
        .await
        .unwrap();
    assert!(
        users
            .create(tid, new_user("alice", UserRole::Agent))
            .await
            .unwrap_err()
            .is_conflict()
    );

    assert_eq!(users.get(tid, alice.id).await.unwrap(), Some(alice.clone()));
    assert_eq!(
        users.find_by_login(tid, "alice").await.unwrap().unwrap().id,
        alice.id
    );
    assert_eq!(
        users
            .find_by_login(tid, "bob@example.com")
            .await
            .unwrap()
            .unwrap()
            .id,
        bob.id
    );
    assert!(users.find_by_login(tid, "carol").await.unwrap().is_none());

    let ok = users
        .verify_password(tid, "alice", "pw-alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ok.id, alice.id);
    assert_eq!(ok.role, UserRole::Admin);
    assert!(ok.last_login_at.is_some());
    assert!(
        users
            .verify_password(tid, "alice@example.com", "pw-alice")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        users
            .verify_password(tid, "alice", "wrong")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        users
            .verify_password(tid, "nobody", "pw-alice")
            .await
            .unwrap()
            .is_none()
    );

    users
        .set_password(tid, alice.id, "new-secret")
        .await
        .unwrap();
    assert!(
        users
            .verify_password(tid, "alice", "pw-alice")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        users
            .verify_password(tid, "alice", "new-secret")
            .await
            .unwrap()
            .is_some()
    );

    users.set_active(tid, bob.id, false).await.unwrap();
    assert!(
        users
            .verify_password(tid, "bob", "pw-bob")
            .await
            .unwrap()
            .is_none()
    );
    assert!(!users.get(tid, bob.id).await.unwrap().unwrap().active);

    let names: Vec<String> = users
        .list(tid)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, vec!["alice", "bob"]);
    assert!(users.delete(tid, bob.id).await.unwrap());
    assert!(!users.delete(tid, bob.id).await.unwrap());
    assert!(
        users
            .set_active(tid, bob.id, true)
            .await
            .unwrap_err()
            .is_not_found()
    );
}

pub(crate) async fn api_keys(store: Store) {
    let t = tenant(&store, "keys").await;
    let keys = store.api_keys();
    let created = keys
        .create(
            t,
            NewApiKey {
                name: "ci".into(),
                scopes: vec!["calls:read".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        created
            .secret
            .starts_with(&format!("{API_KEY_PREFIX}{}_", created.key.prefix))
    );
    assert!(created.key.last_used_at.is_none());

    let found = keys.verify(&created.secret).await.unwrap().unwrap();
    assert_eq!(found.id, created.key.id);
    assert_eq!(found.tenant(), t);
    assert!(found.has_scope("calls:read"));
    assert!(!found.has_scope("calls:write"));
    assert!(
        keys.get(t, found.id)
            .await
            .unwrap()
            .unwrap()
            .last_used_at
            .is_some()
    );

    let mut tampered = created.secret.clone();
    tampered.pop();
    tampered.push('x');
    assert!(keys.verify(&tampered).await.unwrap().is_none());
    assert!(keys.verify("not-a-key").await.unwrap().is_none());
    assert!(keys.verify("hfk_ffffffffffff_00").await.unwrap().is_none());

    let expired = keys
        .create(
            t,
            NewApiKey {
                name: "old".into(),
                scopes: vec!["*".into()],
                expires_at: Some(Utc::now() - Duration::minutes(1)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(keys.verify(&expired.secret).await.unwrap().is_none());

    assert_eq!(keys.list(t).await.unwrap().len(), 2);
    assert!(keys.revoke(t, created.key.id).await.unwrap());
    assert!(!keys.revoke(t, created.key.id).await.unwrap());
    assert!(keys.verify(&created.secret).await.unwrap().is_none());
}

pub(crate) async fn agents_and_sessions(store: Store) {
    let t = tenant(&store, "agents").await;
    let agents = store.agents();
    let a = agents
        .create(t, new_agent("PJSIP/agent1001"))
        .await
        .unwrap();
    assert_eq!(a.state, AgentState::Offline);
    assert_eq!(a.skills, vec!["sales", "fr"]);
    assert!(
        agents
            .create(t, new_agent("PJSIP/agent1001"))
            .await
            .unwrap_err()
            .is_conflict()
    );
    let b = agents
        .create(t, new_agent("PJSIP/agent1002"))
        .await
        .unwrap();

    assert_eq!(agents.get(t, a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(
        agents
            .get_by_endpoint(t, "PJSIP/agent1002")
            .await
            .unwrap()
            .unwrap()
            .id,
        b.id
    );

    let t1 = t0();
    let a1 = agents
        .set_state(t, a.id, AgentState::Available, None, t1)
        .await
        .unwrap();
    assert_eq!((a1.state, a1.state_since), (AgentState::Available, t1));
    let t2 = t1 + Duration::minutes(5);
    let a2 = agents
        .set_state(t, a.id, AgentState::Paused, Some("lunch"), t2)
        .await
        .unwrap();
    assert_eq!(a2.pause_reason.as_deref(), Some("lunch"));
    // Same state again: no new session.
    agents
        .set_state(
            t,
            a.id,
            AgentState::Paused,
            Some("lunch"),
            t2 + Duration::minutes(1),
        )
        .await
        .unwrap();
    let t3 = t2 + Duration::minutes(30);
    let a3 = agents
        .set_state(t, a.id, AgentState::Available, Some("ignored"), t3)
        .await
        .unwrap();
    assert_eq!(a3.pause_reason, None);

    let sessions = agents.sessions(t, a.id, 10).await.unwrap();
    let states: Vec<AgentState> = sessions.iter().map(|s| s.state).collect();
    assert_eq!(
        states,
        vec![
            AgentState::Available,
            AgentState::Paused,
            AgentState::Available,
            AgentState::Offline
        ]
    );
    assert_eq!(sessions[0].ended_at, None);
    assert_eq!(sessions[1].started_at, t2);
    assert_eq!(sessions[1].ended_at, Some(t3));
    assert_eq!(sessions[1].pause_reason.as_deref(), Some("lunch"));
    assert!(sessions[1..].iter().all(|s| s.ended_at.is_some()));

    let available = agents.list(t, Some(AgentState::Available)).await.unwrap();
    assert_eq!(
        available.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![a.id]
    );
    assert_eq!(agents.list(t, None).await.unwrap().len(), 2);
    assert_eq!(
        agents.state_counts(t).await.unwrap(),
        vec![(AgentState::Available, 1), (AgentState::Offline, 1)]
    );

    let mut edit = new_agent("PJSIP/agent2001");
    edit.display_name = "Renamed".into();
    let updated = agents.update(t, b.id, edit).await.unwrap();
    assert_eq!(
        (updated.display_name.as_str(), updated.endpoint.as_str()),
        ("Renamed", "PJSIP/agent2001")
    );
    assert!(
        agents
            .update(t, b.id, new_agent("PJSIP/agent1001"))
            .await
            .unwrap_err()
            .is_conflict()
    );

    assert!(agents.delete(t, b.id).await.unwrap());
    assert!(agents.get(t, b.id).await.unwrap().is_none());
    assert!(
        agents
            .set_state(t, b.id, AgentState::Available, None, t3)
            .await
            .unwrap_err()
            .is_not_found()
    );
}

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

pub(crate) async fn calls_write_and_read(store: Store) {
    let t = tenant(&store, "calls").await;
    let writes = call_script(t, t0(), 3);
    let stats = store.write_calls(&writes).await.unwrap();
    assert_eq!(
        stats,
        WriteStats {
            calls: 1,
            legs: 2,
            events: 9
        }
    );
    let id = writes[0].call.call_id();
    let detail = store.calls().get_detail(t, id).await.unwrap().unwrap();
    assert_eq!(detail.call, writes[2].call);
    assert_eq!(detail.legs.len(), 2);
    let customer = detail.legs.iter().find(|l| l.leg_id == "customer").unwrap();
    assert_eq!(customer.state, "down");
    assert_eq!(customer.hangup_cause_code, Some(16));
    assert_eq!(
        detail.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=9).collect::<Vec<_>>()
    );
    assert_eq!(detail.events[0].payload["kind"], "ringing");

    // Re-applying everything, one write at a time, changes nothing.
    for w in &writes {
        store.write_call(w).await.unwrap();
    }
    assert_eq!(
        store.calls().get_detail(t, id).await.unwrap().unwrap(),
        detail
    );

    // An older snapshot never overwrites a newer one.
    store.write_call(&writes[0]).await.unwrap();
    assert_eq!(
        store.calls().get(t, id).await.unwrap().unwrap().state,
        "ended"
    );

    // Wrap-up survives the tracker's next write.
    let wrapped = store
        .calls()
        .update_wrapup(t, id, Some("sale"), Some("wants gold"))
        .await
        .unwrap();
    assert_eq!(wrapped.wrapup_code.as_deref(), Some("sale"));
    let mut later = writes[2].clone();
    later.call.version = 4;
    later.call.recording_path = Some("/rec/x.wav".into());
    later.events = vec![event(&later.call, 10, "recording", t0())];
    store.write_call(&later).await.unwrap();
    let call = store.calls().get(t, id).await.unwrap().unwrap();
    assert_eq!(
        (call.wrapup_code.as_deref(), call.wrapup_notes.as_deref()),
        (Some("sale"), Some("wants gold"))
    );
    assert_eq!(call.recording_path.as_deref(), Some("/rec/x.wav"));
    assert_eq!(store.calls().events(t, id).await.unwrap().len(), 10);
    assert!(
        store
            .calls()
            .update_wrapup(t, CallId::new_random(), Some("x"), None)
            .await
            .unwrap_err()
            .is_not_found()
    );

    let linked = store
        .calls()
        .by_linkedid(t, writes[0].call.linkedid.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(linked.len(), 1);
}

pub(crate) async fn calls_list_filters_and_pagination(store: Store) {
    let t = tenant(&store, "list").await;
    let mut rows = Vec::new();
    for i in 0..25i64 {
        // Pairs share a creation time, so the id breaks ties in the keyset; times mix whole and
        // fractional seconds, which SQLite compares as RFC 3339 text.
        let mut c = simple_call(
            t,
            t0() + Duration::milliseconds((i / 2) * 1250) + Duration::nanoseconds(789),
            if i % 5 == 0 { "ringing" } else { "ended" },
            None,
        );
        c.direction = if i % 2 == 0 {
            "outbound".into()
        } else {
            "inbound".into()
        };
        c.agent_id = Some(format!("agent-{}", i % 3));
        c.campaign_id = (i % 4 == 0).then(|| "camp-1".to_owned());
        c.from_number = Some(format!("+1415555{:04}", i));
        c.to_number = Some("+14155559999".into());
        rows.push(c);
    }
    let writes: Vec<CallWrite> = rows.iter().cloned().map(CallWrite::call).collect();
    store.write_calls(&writes).await.unwrap();

    let mut expected = rows.clone();
    expected.sort_by_key(|c| std::cmp::Reverse((c.created_at, c.id)));
    let calls = store.calls();
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = calls
            .list(t, &CallFilter::default(), cursor, 10)
            .await
            .unwrap();
        pages += 1;
        seen.extend(page.items.iter().map(|c| c.id));
        match page.next {
            Some(next) => cursor = Some(CallCursor::decode(&next.encode()).unwrap()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected.iter().map(|c| c.id).collect::<Vec<_>>());

    let count = |filter: CallFilter| {
        let calls = store.calls();
        async move { calls.list(t, &filter, None, 100).await.unwrap().items }
    };
    let ringing = count(CallFilter {
        state: Some("ringing".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(ringing.len(), 5);
    assert!(ringing.iter().all(|c| c.state == "ringing"));
    assert_eq!(
        count(CallFilter {
            direction: Some("inbound".into()),
            ..Default::default()
        })
        .await
        .len(),
        12
    );
    assert_eq!(
        count(CallFilter {
            agent_id: Some("agent-0".into()),
            ..Default::default()
        })
        .await
        .len(),
        9
    );
    assert_eq!(
        count(CallFilter {
            campaign_id: Some("camp-1".into()),
            ..Default::default()
        })
        .await
        .len(),
        7
    );
    let by_number = count(CallFilter {
        number: Some("+14155550007".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(by_number.len(), 1);
    assert_eq!(by_number[0].id, rows[7].id);
    assert_eq!(
        count(CallFilter {
            number: Some("+14155559999".into()),
            ..Default::default()
        })
        .await
        .len(),
        25
    );
    let window = CallFilter {
        since: Some(t0() + Duration::seconds(2)),
        until: Some(t0() + Duration::seconds(4)),
        ..Default::default()
    };
    assert_eq!(count(window).await.len(), 4);
    let combined = CallFilter {
        state: Some("ended".into()),
        direction: Some("outbound".into()),
        agent_id: Some("agent-1".into()),
        ..Default::default()
    };
    let got = count(combined).await;
    let want = rows
        .iter()
        .filter(|c| {
            c.state == "ended"
                && c.direction == "outbound"
                && c.agent_id.as_deref() == Some("agent-1")
        })
        .count();
    assert_eq!(got.len(), want);

    // A filtered listing paginates too.
    let filter = CallFilter {
        direction: Some("outbound".into()),
        ..Default::default()
    };
    let first = calls.list(t, &filter, None, 5).await.unwrap();
    let second = calls.list(t, &filter, first.next, 5).await.unwrap();
    let third = calls.list(t, &filter, second.next, 5).await.unwrap();
    assert_eq!(
        first.items.len() + second.items.len() + third.items.len(),
        13
    );
    assert!(third.next.is_none());
}

pub(crate) async fn calls_stats_and_live_counts(store: Store) {
    let t = tenant(&store, "stats").await;
    let mut rows = Vec::new();
    let answered = |i: i64, ring: i64, talk: i64| {
        let mut c = simple_call(t, t0() + Duration::minutes(i), "ended", Some("answered"));
        c.answered_at = Some(c.created_at + Duration::seconds(ring));
        c.ended_at = Some(c.created_at + Duration::seconds(ring + talk));
        c.ring_seconds = Some(ring);
        c.talk_seconds = Some(talk);
        c.campaign_id = Some("camp".into());
        c
    };
    rows.push(answered(0, 4, 60));
    rows.push(answered(1, 6, 120));
    let mut no_answer = simple_call(t, t0() + Duration::minutes(2), "ended", Some("no_answer"));
    no_answer.ring_seconds = Some(30);
    no_answer.ended_at = Some(no_answer.created_at + Duration::seconds(30));
    rows.push(no_answer);
    let mut abandoned = simple_call(t, t0() + Duration::minutes(3), "ended", Some("abandoned"));
    abandoned.ring_seconds = Some(8);
    abandoned.ended_at = Some(abandoned.created_at + Duration::seconds(10));
    abandoned.campaign_id = Some("camp".into());
    rows.push(abandoned);
    rows.push(simple_call(t, t0() + Duration::minutes(4), "ringing", None));
    rows.push(simple_call(
        t,
        t0() + Duration::minutes(5),
        "answered",
        None,
    ));
    rows.push(simple_call(t, t0() + Duration::minutes(6), "ringing", None));
    // Outside the range.
    rows.push(answered(120, 1, 1));
    store
        .write_calls(&rows.into_iter().map(CallWrite::call).collect::<Vec<_>>())
        .await
        .unwrap();

    let q = StatsQuery {
        since: t0(),
        until: t0() + Duration::hours(1),
        campaign_id: None,
        agent_id: None,
    };
    let s = store.calls().stats(t, &q).await.unwrap();
    assert_eq!((s.total, s.answered, s.abandoned), (7, 2, 1));
    assert!((s.answer_rate - 2.0 / 7.0).abs() < 1e-9, "{s:?}");
    assert!((s.abandon_rate - 1.0 / 3.0).abs() < 1e-9, "{s:?}");
    assert!((s.avg_ring_seconds.unwrap() - 12.0).abs() < 1e-9, "{s:?}");
    assert!((s.avg_talk_seconds.unwrap() - 90.0).abs() < 1e-9, "{s:?}");
    let want: Vec<(Option<String>, i64)> = vec![
        (None, 3),
        (Some("abandoned".into()), 1),
        (Some("answered".into()), 2),
        (Some("no_answer".into()), 1),
    ];
    assert_eq!(s.by_disposition, want);

    let camp = StatsQuery {
        campaign_id: Some("camp".into()),
        ..q.clone()
    };
    let s = store.calls().stats(t, &camp).await.unwrap();
    assert_eq!((s.total, s.answered, s.abandoned), (3, 2, 1));

    let empty = StatsQuery {
        since: t0() - Duration::days(2),
        until: t0() - Duration::days(1),
        ..q
    };
    let s = store.calls().stats(t, &empty).await.unwrap();
    assert_eq!((s.total, s.answer_rate, s.avg_ring_seconds), (0, 0.0, None));
    assert!(s.by_disposition.is_empty());

    let live = store.calls().live_counts(t).await.unwrap();
    assert_eq!(
        live,
        vec![("answered".to_owned(), 1), ("ringing".to_owned(), 2)]
    );
}

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

pub(crate) async fn batch_writer_batches_and_shutdown(store: Store) {
    let t = tenant(&store, "batch").await;
    let config = BatchConfig {
        max_rows: 10,
        max_delay: StdDuration::from_secs(3600),
        queue_capacity: 4,
        ..Default::default()
    };
    let writer = BatchWriter::spawn(store.clone(), config);
    let rows: Vec<CallRow> = (0..25)
        .map(|i| simple_call(t, t0() + Duration::seconds(i), "ringing", None))
        .collect();
    for r in &rows {
        writer.write(CallWrite::call(r.clone())).await.unwrap();
    }
    let stats = writer.shutdown().await.unwrap();
    assert_eq!(
        stats,
        WriterStats {
            batches: 3,
            rows: 25,
            failures: 0,
            dead_letters: 0,
        }
    );
    let listed = store
        .calls()
        .list(t, &CallFilter::default(), None, 100)
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 25);
}

pub(crate) async fn batch_writer_flush_and_drop(store: Store) {
    let t = tenant(&store, "flush").await;
    let config = BatchConfig {
        max_rows: 1000,
        max_delay: StdDuration::from_secs(3600),
        ..Default::default()
    };
    let writer = BatchWriter::spawn(store.clone(), config.clone());
    let writes = call_script(t, t0(), 5);
    let id = writes[0].call.call_id();
    writer.write(writes[0].clone()).await.unwrap();
    writer.flush().await.unwrap();
    assert_eq!(store.calls().get(t, id).await.unwrap().unwrap().version, 1);
    writer.try_write(writes[1].clone()).unwrap();
    writer.write(writes[2].clone()).await.unwrap();
    writer.flush().await.unwrap();
    let detail = store.calls().get_detail(t, id).await.unwrap().unwrap();
    assert_eq!((detail.call.version, detail.events.len()), (3, 15));

    // An update the database refuses for good is dead-lettered; the writer goes on.
    let mut orphan = simple_call(TenantId::new_random(), t0(), "ringing", None);
    orphan.version = 1;
    writer.write(CallWrite::call(orphan)).await.unwrap();
    writer
        .flush()
        .await
        .expect("unknown tenant violates the foreign key: dead-lettered, not retried");
    assert_eq!(writer.stats().dead_letters, 1);
    writer.abort();

    // Dropping a writer still writes what is pending.
    let other = call_script(t, t0() + Duration::minutes(1), 1);
    let other_id = other[0].call.call_id();
    let writer = BatchWriter::spawn(store.clone(), config);
    for w in other {
        writer.write(w).await.unwrap();
    }
    drop(writer);
    // The dropped writer flushes in the background: wait for it (up to 20 s under load).
    let mut found = None;
    for _ in 0..800 {
        found = store.calls().get(t, other_id).await.unwrap();
        if found.as_ref().is_some_and(|c| c.version == 3) {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(25)).await;
    }
    assert_eq!(found.map(|c| c.version), Some(3));
}

/// What the database holds for these calls: call rows, legs and events.
async fn snapshot(store: &Store, t: TenantId, ids: &[CallId]) -> BTreeMap<CallId, CallDetail> {
    let mut out = BTreeMap::new();
    for id in ids {
        if let Some(d) = store.calls().get_detail(t, *id).await.unwrap() {
            out.insert(*id, d);
        }
    }
    out
}

/// What applying `writes` in order must leave.
fn expected(writes: &[CallWrite]) -> BTreeMap<CallId, (CallRow, usize, usize)> {
    let mut out: BTreeMap<CallId, (CallRow, BTreeSet<String>, BTreeSet<i64>)> = BTreeMap::new();
    for w in writes {
        let e = out
            .entry(w.call.call_id())
            .or_insert_with(|| (w.call.clone(), BTreeSet::new(), BTreeSet::new()));
        if w.call.version >= e.0.version {
            e.0 = w.call.clone();
        }
        for l in &w.legs {
            e.1.insert(l.leg_id.clone());
        }
        for ev in &w.events {
            e.2.insert(ev.seq);
        }
    }
    out.into_iter()
        .map(|(k, (c, l, e))| (k, (c, l.len(), e.len())))
        .collect()
}

fn assert_matches_expected(
    got: &BTreeMap<CallId, CallDetail>,
    want: &BTreeMap<CallId, (CallRow, usize, usize)>,
) {
    assert_eq!(got.len(), want.len());
    for (id, (call, legs, events)) in want {
        let d = &got[id];
        assert!(
            &d.call == call,
            "call {id}: {:?} != {:?}",
            d.call.version,
            call.version
        );
        assert_eq!(
            (d.legs.len(), d.events.len()),
            (*legs, *events),
            "call {id}"
        );
        let seqs: Vec<i64> = d.events.iter().map(|e| e.seq).collect();
        assert_eq!(
            seqs,
            (1..=*events as i64).collect::<Vec<_>>(),
            "no duplicate or missing event"
        );
    }
}

pub(crate) async fn crash_rolled_back_transaction_then_reapply(store: Store) {
    let t = tenant(&store, "crash-tx").await;
    let mut writes: Vec<CallWrite> = (0..4)
        .flat_map(|i| call_script(t, t0() + Duration::seconds(i), 4))
        .collect();
    let ids: Vec<CallId> = writes.iter().map(|w| w.call.call_id()).collect();
    // The batch fails part-way: an event for a call that does not exist comes after valid rows.
    let mut poisoned = writes.clone();
    let mut bad = writes[5].clone();
    bad.events = vec![event(&simple_call(t, t0(), "x", None), 1, "ghost", t0())];
    bad.call.version = 0;
    poisoned.insert(6, bad);
    assert!(store.write_calls(&poisoned).await.is_err());
    assert!(
        snapshot(&store, t, &ids).await.is_empty(),
        "an interrupted batch writes nothing"
    );

    // Half the updates land, then everything is applied again (twice).
    store.write_calls(&writes[..6]).await.unwrap();
    store.write_calls(&writes).await.unwrap();
    let first = snapshot(&store, t, &ids).await;
    assert_matches_expected(&first, &expected(&writes));
    writes.reverse();
    store.write_calls(&writes).await.unwrap();
    let again = snapshot(&store, t, &ids).await;
    assert!(
        again == first,
        "re-applying, even out of order, changes nothing"
    );
}

pub(crate) async fn crash_aborted_writer_then_reapply(store: Store) {
    let t = tenant(&store, "crash-writer").await;
    let writes: Vec<CallWrite> = (0..30)
        .flat_map(|i| call_script(t, t0() + Duration::seconds(i), 3))
        .collect();
    let ids: Vec<CallId> = writes.iter().map(|w| w.call.call_id()).collect();
    let config = BatchConfig {
        max_rows: 40,
        max_delay: StdDuration::from_millis(5),
        queue_capacity: 8,
        ..Default::default()
    };

    // Write half, let some batches commit, then crash with rows pending.
    let writer = BatchWriter::spawn(store.clone(), config.clone());
    let half = writes.len() / 2;
    for w in &writes[..half] {
        writer.write(w.clone()).await.unwrap();
    }
    writer.abort();
    let partial = snapshot(&store, t, &ids).await;
    assert!(partial.len() <= 30);

    // Recovery re-applies every update from the start.
    let writer = BatchWriter::spawn(store.clone(), config);
    for w in &writes {
        writer.write(w.clone()).await.unwrap();
    }
    writer.shutdown().await.unwrap();
    let recovered = snapshot(&store, t, &ids).await;
    assert_matches_expected(&recovered, &expected(&writes));
}

pub(crate) async fn notify_and_listen(store: Store) {
    match store.dialect() {
        Dialect::Sqlite => {
            assert!(matches!(
                store.notify("calls", "x").await,
                Err(StoreError::PostgresOnly(_))
            ));
            assert!(matches!(
                store.listen(&["calls"]).await,
                Err(StoreError::PostgresOnly(_))
            ));
        }
        Dialect::Postgres => {
            let mut stream = store.listen(&["hf_calls", "hf_agents"]).await.unwrap();
            store.notify("hf_calls", "{\"call\":1}").await.unwrap();
            store.notify("hf_other", "ignored").await.unwrap();
            store.notify("hf_agents", "a").await.unwrap();
            let first = tokio::time::timeout(StdDuration::from_secs(10), stream.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            assert_eq!(
                first,
                Notification {
                    channel: "hf_calls".into(),
                    payload: "{\"call\":1}".into()
                }
            );
            let second = tokio::time::timeout(StdDuration::from_secs(10), stream.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            assert_eq!(
                second,
                Notification {
                    channel: "hf_agents".into(),
                    payload: "a".into()
                }
            );
        }
    }
}

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

/// While the database holds the writer up, the bounded queue fills and producers are pushed
/// back; once it frees, everything queued is written.
pub(crate) async fn batch_writer_backpressure(store: Store) {
    let t = tenant(&store, "backpressure").await;
    let config = BatchConfig {
        max_rows: 1,
        max_delay: StdDuration::from_secs(3600),
        queue_capacity: 1,
        retry_delay: StdDuration::from_millis(50),
        ..Default::default()
    };
    let rows: Vec<CallRow> = (0..3)
        .map(|i| simple_call(t, t0() + Duration::seconds(i), "ringing", None))
        .collect();
    let write = |i: usize| CallWrite::call(rows[i].clone());
    // Another transaction blocks every call insert of this tenant until it ends.
    let blocker: Box<dyn std::any::Any + Send> = match store.db() {
        Db::Sqlite(p) => {
            let mut tx = p.begin().await.unwrap();
            sqlx::query("INSERT INTO dnc (tenant_id, phone_number, created_at) VALUES ($1, '+15550000000', $2)")
                .bind(*t.as_uuid())
                .bind(t0())
                .execute(&mut *tx)
                .await
                .unwrap();
            Box::new(tx)
        }
        Db::Postgres(p) => {
            let mut tx = p.begin().await.unwrap();
            sqlx::query("SELECT id FROM tenants WHERE id = $1 FOR UPDATE")
                .bind(*t.as_uuid())
                .execute(&mut *tx)
                .await
                .unwrap();
            Box::new(tx)
        }
    };
    let writer = BatchWriter::spawn(store.clone(), config);
    writer.write(write(0)).await.unwrap();
    // The queue holds one: this returns once the writer took the first (and is now stuck
    // writing it).
    writer.write(write(1)).await.unwrap();
    assert!(matches!(
        writer.try_write(write(2)),
        Err(StoreError::WriterFull)
    ));
    drop(blocker);
    writer.write(write(2)).await.unwrap();
    let stats = writer.shutdown().await.unwrap();
    assert_eq!(stats.rows, 3);
    let listed = store
        .calls()
        .list(t, &CallFilter::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 3);
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

/// A batch larger than one multi-row statement is split and still written whole.
pub(crate) async fn write_calls_in_chunks(store: Store) {
    let t = tenant(&store, "chunks").await;
    let writes: Vec<CallWrite> = (0..250)
        .map(|i| {
            let call = simple_call(t, t0() + Duration::seconds(i), "ringing", None);
            let events = (1..=3)
                .map(|seq| event(&call, seq, "ringing", call.created_at))
                .collect();
            CallWrite {
                call,
                legs: Vec::new(),
                events,
            }
        })
        .collect();
    let stats = store.write_calls(&writes).await.unwrap();
    assert_eq!(
        stats,
        WriteStats {
            calls: 250,
            legs: 0,
            events: 750
        }
    );
    let listed = store
        .calls()
        .list(t, &CallFilter::default(), None, 500)
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 250);
    for w in [&writes[0], &writes[149], &writes[249]] {
        let d = store
            .calls()
            .get_detail(t, w.call.call_id())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(d.call, w.call);
        assert_eq!(d.events.len(), 3);
    }
    // Again: nothing changes.
    store.write_calls(&writes).await.unwrap();
    assert_eq!(
        store
            .calls()
            .events(t, writes[249].call.call_id())
            .await
            .unwrap()
            .len(),
        3
    );
}

pub(crate) async fn users_update_details(store: Store) {
    let a = store.tenants().create("A", "a").await.unwrap().tenant_id();
    let b = store.tenants().create("B", "b").await.unwrap().tenant_id();
    let users = store.users();
    let carol = users
        .create(a, new_user("carol", UserRole::Agent))
        .await
        .unwrap();
    let updated = users
        .update_details(a, carol.id, UserRole::Supervisor, Some("Carol S."))
        .await
        .unwrap();
    assert_eq!(updated.role, UserRole::Supervisor);
    assert_eq!(updated.display_name.as_deref(), Some("Carol S."));
    assert_eq!(updated.username, "carol");
    assert!(updated.updated_at >= carol.updated_at);
    assert_eq!(users.get(a, carol.id).await.unwrap(), Some(updated));
    let cleared = users
        .update_details(a, carol.id, UserRole::Agent, None)
        .await
        .unwrap();
    assert_eq!(cleared.display_name, None);
    // Another tenant's id is not found and changes nothing.
    let err = users
        .update_details(b, carol.id, UserRole::Admin, None)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(
        users.get(a, carol.id).await.unwrap().unwrap().role,
        UserRole::Agent
    );
    // The password still verifies after the change.
    assert!(
        users
            .verify_password(a, "carol", "pw-carol")
            .await
            .unwrap()
            .is_some()
    );
    let otp = one_time_password();
    users.set_password(a, carol.id, &otp).await.unwrap();
    assert!(
        users
            .verify_password(a, "carol", &otp)
            .await
            .unwrap()
            .is_some()
    );
}
