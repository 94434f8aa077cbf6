//! Tenants, users, API keys, agents and their sessions.

use chrono::{Duration, Utc};
use hookflash_store::*;

use crate::cases::{new_agent, new_user};
use crate::fixtures::{t0, tenant};

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
