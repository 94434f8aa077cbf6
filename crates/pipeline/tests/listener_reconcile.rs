//! Reconcile (issue 12 point 10): a listener killed mid-load and started again closes the
//! calls that ended while it was away (`ended while disconnected`), keeps the ones still live
//! on the PBX with the call they belong to (no phantom inbound record from a leg seen
//! mid-call), and a later resync closes what ends while the link is down. Scripted provider,
//! real tracker, real SQLite store.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use hookflash_calls::CallState;
use hookflash_pipeline::bus::{BusMessage, EventBus, Publisher};
use hookflash_pipeline::listener::{Listener, ListenerConfig, Source};
use hookflash_provider::{
    CallId, Correlation, LegEvent, LegEventKind, LegId, LegRole, LegSnapshot, LegState,
    ProviderEvent, TenantId,
};
use hookflash_store::{CallFilter, CallRow, CallWrite, Store};
use tokio::sync::{broadcast, mpsc};

use common::Scripted;

async fn store() -> (Store, TenantId) {
    let dir = std::env::temp_dir().join(format!("hookflash-reconcile-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::connect(&format!("sqlite://{}/r.db?mode=rwc", dir.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store.tenants().create("Default", "default").await.unwrap();
    let tenant = store
        .tenants()
        .get_by_slug("default")
        .await
        .unwrap()
        .unwrap()
        .tenant_id();
    (store, tenant)
}

fn source(live: Vec<LegSnapshot>) -> (Source, mpsc::UnboundedSender<ProviderEvent>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let source = Source::new("pbx1", "ami", Arc::new(Scripted::new(rx, live)));
    (source, tx)
}

/// What `POST /calls` writes before it originates.
async fn api_row(store: &Store, tenant: TenantId, at: DateTime<Utc>) -> CallId {
    let call = CallId::new_random();
    let mut row = CallRow::new(call, tenant, "outbound", "ami", "created", at);
    row.server = Some("pbx1".into());
    row.to_number = Some("+12025550143".into());
    row.metadata = serde_json::json!({"agent_endpoint": "PJSIP/agent1001"});
    store.write_call(&CallWrite::call(row)).await.unwrap();
    call
}

struct Leg {
    id: &'static str,
    linkedid: &'static str,
    call: Option<CallId>,
    role: LegRole,
}

impl Leg {
    fn ev(&self, at: DateTime<Utc>, kind: LegEventKind) -> ProviderEvent {
        let mut e = LegEvent::new(LegId::new(self.id).unwrap(), at, kind)
            .with_linkedid(self.linkedid)
            .with_channel(format!("PJSIP/{}-{}", self.id, self.linkedid));
        if let Some(call) = self.call {
            e = e.with_call_id(call);
        }
        ProviderEvent::Leg(e)
    }

    /// Created, ringing, answered, bridged.
    fn up(&self, t0: DateTime<Utc>, bridge: &str) -> Vec<ProviderEvent> {
        let ms = |n| t0 + TimeDelta::milliseconds(n);
        vec![
            self.ev(
                ms(0),
                LegEventKind::Created {
                    role: Some(self.role),
                    endpoint: None,
                    caller_number: Some("+12025550100".into()),
                    called_number: Some("+12025550143".into()),
                },
            ),
            self.ev(ms(10), LegEventKind::Ringing),
            self.ev(ms(20), LegEventKind::Answered),
            self.ev(
                ms(30),
                LegEventKind::Bridged {
                    bridge: bridge.into(),
                    with: None,
                },
            ),
        ]
    }

    fn live(&self, bridge: &str) -> LegSnapshot {
        LegSnapshot {
            leg: LegId::new(self.id).unwrap(),
            keys: Correlation {
                linkedid: Some(self.linkedid.into()),
                ..Correlation::default()
            },
            state: LegState::Up,
            bridge: Some(bridge.into()),
            created_at: None,
        }
    }
}

/// Reads the bus until every call in `want` reached a state `done` accepts.
async fn until_all(
    rx: &mut broadcast::Receiver<Arc<BusMessage>>,
    want: &[CallId],
    done: impl Fn(&BusMessage) -> bool,
) -> HashMap<CallId, Arc<BusMessage>> {
    let mut seen = HashMap::new();
    while !want.iter().all(|c| seen.contains_key(c)) {
        // A guard against a hang, not a timing assertion.
        let msg = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("bus messages")
            .unwrap();
        if let Some(r) = msg.record()
            && want.contains(&r.call_id)
            && done(&msg)
        {
            seen.insert(r.call_id, Arc::clone(&msg));
        }
    }
    seen
}

async fn all_calls(store: &Store, tenant: TenantId) -> Vec<CallRow> {
    store
        .calls()
        .list(tenant, &CallFilter::default(), None, 500)
        .await
        .unwrap()
        .items
}

#[tokio::test]
async fn a_restarted_listener_closes_what_ended_meanwhile_and_keeps_what_is_live() {
    let (store, tenant) = store().await;
    let t0 = Utc::now() - TimeDelta::seconds(60);
    let a = api_row(&store, tenant, t0).await;
    let b = api_row(&store, tenant, t0).await;
    let legs_a = [
        Leg {
            id: "100.1",
            linkedid: "100.1",
            call: Some(a),
            role: LegRole::Agent,
        },
        Leg {
            id: "100.2",
            linkedid: "100.1",
            call: Some(a),
            role: LegRole::Customer,
        },
    ];
    let legs_b = [
        Leg {
            id: "200.1",
            linkedid: "200.1",
            call: Some(b),
            role: LegRole::Agent,
        },
        Leg {
            id: "200.2",
            linkedid: "200.1",
            call: Some(b),
            role: LegRole::Customer,
        },
    ];
    // An inbound call: the carrier's leg carries no call id of ours.
    let legs_c = [
        Leg {
            id: "300.1",
            linkedid: "300.1",
            call: None,
            role: LegRole::Customer,
        },
        Leg {
            id: "300.2",
            linkedid: "300.1",
            call: None,
            role: LegRole::Agent,
        },
    ];

    // The first listener sees the three calls connect, then dies.
    let bus = EventBus::new(1024);
    let mut rx = bus.subscribe();
    let (src, tx) = source(Vec::new());
    let first = Listener::start(
        store.clone(),
        vec![src],
        Publisher::Local(bus.clone()),
        ListenerConfig::default(),
    );
    for (legs, bridge) in [(&legs_a, "br-a"), (&legs_b, "br-b"), (&legs_c, "br-c")] {
        for leg in legs {
            for e in leg.up(t0, bridge) {
                tx.send(e).unwrap();
            }
        }
    }
    // Every call's latest state, until all three are connected.
    let mut states: HashMap<CallId, CallState> = HashMap::new();
    let c = loop {
        let msg = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("bus messages")
            .unwrap();
        if let Some(r) = msg.record() {
            states.insert(r.call_id, r.state);
        }
        let connected: Vec<CallId> = states
            .iter()
            .filter(|(_, s)| **s == CallState::Connected)
            .map(|(id, _)| *id)
            .collect();
        if connected.len() == 3 && connected.contains(&a) && connected.contains(&b) {
            break connected
                .into_iter()
                .find(|id| *id != a && *id != b)
                .unwrap();
        }
    };
    first.shutdown().await.unwrap();
    assert_eq!(all_calls(&store, tenant).await.len(), 3);

    // Meanwhile A and C ended; B is still up on the PBX.
    let (src, tx) = source(vec![legs_b[0].live("br-b"), legs_b[1].live("br-b")]);
    let second = Listener::start(
        store.clone(),
        vec![src],
        Publisher::Local(bus.clone()),
        ListenerConfig::default(),
    );
    let ended = |m: &BusMessage| matches!(m, BusMessage::CallEnded { .. });
    let closed = until_all(&mut rx, &[a, c], ended).await;
    for (id, msg) in &closed {
        let r = msg.record().unwrap();
        assert_eq!(
            r.end_reason.as_deref(),
            Some("ended while disconnected"),
            "{id}: {r:?}"
        );
    }
    second.flush().await.unwrap();
    let rows = all_calls(&store, tenant).await;
    assert_eq!(
        rows.len(),
        3,
        "no phantom record from B's live legs: {rows:#?}"
    );
    let state = |id: CallId| {
        rows.iter()
            .find(|r| r.id == *id.as_uuid())
            .map(|r| (r.state.clone(), r.disposition.clone()))
            .unwrap()
    };
    assert_eq!(state(a), ("ended".into(), Some("answered".into())));
    assert_eq!(state(c), ("ended".into(), Some("answered".into())));
    assert_eq!(state(b).0, "connected");
    assert!(
        rows.iter().all(|r| r.server.as_deref() == Some("pbx1")),
        "every call names its PBX (the inbound one too): {rows:#?}"
    );

    // The link drops and comes back without B: the resync closes it too.
    tx.send(ProviderEvent::Disconnected {
        reason: "test".into(),
    })
    .unwrap();
    tx.send(ProviderEvent::Resynced { legs: Vec::new() })
        .unwrap();
    until_all(&mut rx, &[b], ended).await;
    second.shutdown().await.unwrap();
    let rows = all_calls(&store, tenant).await;
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter().all(|r| r.state == "ended"),
        "nothing stuck open: {rows:#?}"
    );
}
