//! The event pipeline (`hookflash_pipeline::listener`) driven by a scripted provider on a real
//! SQLite store: an API-placed call gets its tenant and agent from the API's row, updates are
//! written and published, a resync closes calls that vanished while disconnected, and shutdown
//! flushes every pending write.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use hookflash_pipeline::bus::{BusMessage, EventBus, Publisher};
use hookflash_pipeline::listener::{Listener, ListenerConfig, Source};
use hookflash_provider::{
    CallId, CdrRecord, LegEvent, LegEventKind, LegId, LegRole, OriginateFailure, OriginateOutcome,
    ProviderEvent,
};
use hookflash_store::{BatchConfig, CallRow, CallWrite, Store};
use tokio::sync::mpsc;

use common::Scripted;

struct Fixture {
    store: Store,
    tenant: hookflash_provider::TenantId,
    tx: mpsc::UnboundedSender<ProviderEvent>,
    source: Source,
}

async fn fixture() -> Fixture {
    let dir = std::env::temp_dir().join(format!("hookflash-listener-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::connect(&format!("sqlite://{}/l.db?mode=rwc", dir.display()))
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
    let (tx, rx) = mpsc::unbounded_channel();
    let source = Source::new("pbx1", "ami", Arc::new(Scripted::new(rx, Vec::new())));
    Fixture {
        store,
        tenant,
        tx,
        source,
    }
}

/// What `POST /calls` writes before it originates.
async fn api_row(f: &Fixture) -> CallId {
    let call = CallId::new_random();
    let mut row = CallRow::new(call, f.tenant, "outbound", "ami", "created", Utc::now());
    row.server = Some("pbx1".into());
    row.to_number = Some("+12025550143".into());
    row.metadata = serde_json::json!({"agent_endpoint": "PJSIP/agent1001"});
    f.store.write_call(&CallWrite::call(row)).await.unwrap();
    call
}

fn agent_leg(call: CallId, kind: LegEventKind, ms: i64) -> ProviderEvent {
    let at = Utc::now() + TimeDelta::milliseconds(ms);
    ProviderEvent::Leg(
        LegEvent::new(LegId::new("1795315411.4").unwrap(), at, kind)
            .with_call_id(call)
            .with_channel("PJSIP/agent1001-00000004")
            .with_linkedid("1795315411.4"),
    )
}

fn created() -> LegEventKind {
    LegEventKind::Created {
        role: Some(LegRole::Agent),
        endpoint: Some("PJSIP/agent1001".into()),
        caller_number: None,
        called_number: None,
    }
}

#[tokio::test]
async fn resync_closes_a_vanished_call_written_and_published_with_its_tenant() {
    let f = fixture().await;
    let call = api_row(&f).await;
    let bus = EventBus::new(64);
    let mut rx = bus.subscribe();
    let listener = Listener::start(
        f.store.clone(),
        vec![f.source],
        Publisher::Local(bus.clone()),
        ListenerConfig::default(),
    );
    f.tx.send(agent_leg(call, created(), 0)).unwrap();
    f.tx.send(agent_leg(call, LegEventKind::Ringing, 5))
        .unwrap();
    f.tx.send(agent_leg(call, LegEventKind::Answered, 10))
        .unwrap();
    f.tx.send(ProviderEvent::Disconnected {
        reason: "test".into(),
    })
    .unwrap();
    // Back, and the agent's leg is gone: the call ended while we were away.
    f.tx.send(ProviderEvent::Resynced { legs: Vec::new() })
        .unwrap();

    let mut seen = Vec::new();
    let ended = loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("bus messages in time")
            .unwrap();
        assert_eq!(
            msg.tenant(),
            f.tenant,
            "every message names the API row's tenant"
        );
        let record = msg.record().unwrap().clone();
        assert_eq!(record.call_id, call);
        seen.push(record.state);
        if let BusMessage::CallEnded { record, .. } = &*msg {
            break record.clone();
        }
    };
    assert_eq!(ended.agent_endpoint.as_deref(), Some("PJSIP/agent1001"));
    assert!(ended.end_reason.is_some(), "{ended:?}");
    assert!(seen.len() >= 2, "{seen:?}");

    // The ended update was written before it was published.
    let row = f.store.calls().get(f.tenant, call).await.unwrap().unwrap();
    assert_eq!(row.state, "ended");
    assert_eq!(row.server.as_deref(), Some("pbx1"), "API attribution kept");
    assert!(
        !f.store
            .calls()
            .events(f.tenant, call)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        !f.store
            .calls()
            .legs(f.tenant, call)
            .await
            .unwrap()
            .is_empty()
    );
    let status = &listener.statuses()[0];
    assert!(status.connected(), "resynced means connected again");
    assert!(
        listener
            .metrics()
            .render()
            .contains("hookflash_listener_resyncs_total 1")
    );
    listener.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_flushes_every_pending_write() {
    let f = fixture().await;
    let call = api_row(&f).await;
    let bus = EventBus::new(64);
    let mut rx = bus.subscribe();
    // A writer that would wait a minute: only shutdown makes it write.
    let config = ListenerConfig::default().with_batch(BatchConfig {
        max_rows: 100_000,
        max_delay: Duration::from_secs(60),
        ..BatchConfig::default()
    });
    let listener = Listener::start(
        f.store.clone(),
        vec![f.source],
        Publisher::Local(bus.clone()),
        config,
    );
    f.tx.send(agent_leg(call, created(), 0)).unwrap();
    f.tx.send(agent_leg(call, LegEventKind::Ringing, 5))
        .unwrap();
    // Published means processed (and queued for writing).
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
            .unwrap();
        if msg.record().is_some_and(|r| r.timeline.len() >= 3) {
            break;
        }
    }
    let before = f.store.calls().get(f.tenant, call).await.unwrap().unwrap();
    assert_eq!(
        before.version, 0,
        "nothing written yet: the writer is waiting"
    );
    listener.shutdown().await.unwrap();
    let after = f.store.calls().get(f.tenant, call).await.unwrap().unwrap();
    assert!(after.version > 0, "{after:?}");
    assert_eq!(after.state, "agent_ringing");
    assert_eq!(f.store.calls().legs(f.tenant, call).await.unwrap().len(), 1);
}

/// Reads ten-digit numbers as US numbers (the API's `NumberReading` does this with a phone
/// number library; the pipeline only asks the trait).
#[derive(Debug)]
struct UsNumbers;

impl hookflash_pipeline::listener::InboundNumbers for UsNumbers {
    fn e164(&self, number: &str) -> Option<String> {
        (number.len() == 10 && number.bytes().all(|b| b.is_ascii_digit()))
            .then(|| format!("+1{number}"))
    }
}

/// An inbound call's called number is stored as the PBX reported it no more: in E.164, and
/// as the call's DID (read with the configured reading).
#[tokio::test]
async fn inbound_calls_are_stored_with_an_e164_to_number_and_did() {
    let f = fixture().await;
    let bus = EventBus::new(64);
    let mut rx = bus.subscribe();
    let listener = Listener::start(
        f.store.clone(),
        vec![f.source],
        Publisher::Local(bus.clone()),
        ListenerConfig::default().with_numbers(Arc::new(UsNumbers)),
    );
    let kind = LegEventKind::Created {
        role: Some(LegRole::Customer),
        endpoint: Some("PJSIP/trunk".into()),
        caller_number: Some("5551010001".into()),
        called_number: Some("5551204000".into()),
    };
    let event = LegEvent::new(LegId::new("1795315500.7").unwrap(), Utc::now(), kind)
        .with_channel("PJSIP/trunk-00000007")
        .with_linkedid("1795315500.7");
    f.tx.send(ProviderEvent::Leg(event)).unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the call is published")
        .unwrap();
    let record = msg.record().expect("a call message").clone();
    listener.flush().await.unwrap();
    let row = f
        .store
        .calls()
        .get(f.tenant, record.call_id)
        .await
        .unwrap()
        .expect("the inbound call is stored");
    assert_eq!(row.direction, "inbound", "{record:?}");
    assert_eq!(row.to_number.as_deref(), Some("+15551204000"), "{record:?}");
    assert_eq!(row.did.as_deref(), Some("+15551204000"));
    listener.shutdown().await.unwrap();
}

/// Beside a separate listener, the api process's pipeline handles only the refusals of its
/// own Originates: no reconcile (a call open in the store stays open), no other leg event, no
/// CDR; a refusal ends its call as failed, written and published with the API row's tenant.
#[tokio::test]
async fn a_refusals_only_source_records_refusals_and_nothing_else() {
    let f = fixture().await;
    let open = api_row(&f).await;
    let refused = api_row(&f).await;
    let bus = EventBus::new(64);
    let mut rx = bus.subscribe();
    let source = Source::refusals_only(f.source.name, f.source.protocol, f.source.provider);
    let listener = Listener::start(
        f.store.clone(),
        vec![source],
        Publisher::Local(bus.clone()),
        ListenerConfig::default(),
    );
    f.tx.send(agent_leg(open, created(), 0)).unwrap();
    f.tx.send(agent_leg(open, LegEventKind::Ringing, 5))
        .unwrap();
    let mut cdr = CdrRecord::default();
    cdr.leg = "1795315411.4".into();
    f.tx.send(ProviderEvent::Cdr(Box::new(cdr))).unwrap();
    let failed = LegEventKind::OriginateResult {
        outcome: OriginateOutcome::Failed {
            failure: OriginateFailure::Refused,
            message: Some("Originate failed".into()),
        },
    };
    f.tx.send(ProviderEvent::Leg(
        LegEvent::new(LegId::new("refused-1").unwrap(), Utc::now(), failed).with_call_id(refused),
    ))
    .unwrap();
    let ended = loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("bus messages in time")
            .unwrap();
        let record = msg.record().unwrap();
        assert_eq!(record.call_id, refused, "only the refused call is tracked");
        assert_eq!(msg.tenant(), f.tenant);
        if let BusMessage::CallEnded { record, .. } = &*msg {
            break record.clone();
        }
    };
    assert_eq!(ended.call_id, refused);
    let row = f
        .store
        .calls()
        .get(f.tenant, refused)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.state, "ended");
    assert_eq!(row.disposition.as_deref(), Some("failed"), "{row:?}");
    assert_eq!(row.server.as_deref(), Some("pbx1"));
    listener.shutdown().await.unwrap();
    // The other call was left to the listener that owns it: not reconciled, not advanced.
    let untouched = f.store.calls().get(f.tenant, open).await.unwrap().unwrap();
    assert_eq!(untouched.state, "created", "{untouched:?}");
    assert_eq!(untouched.version, 0);
    assert!(
        f.store
            .cdrs()
            .get(f.tenant, "1795315411.4")
            .await
            .unwrap()
            .is_none()
    );
}

/// A provider's billing record ([`ProviderEvent::Cdr`]) is stored tied to the call whose leg
/// it names, with the call's own figures beside it; the writer's figures are in the registry.
#[tokio::test]
async fn cdr_events_are_stored_with_their_call() {
    let f = fixture().await;
    let call = api_row(&f).await;
    let bus = EventBus::new(64);
    let mut rx = bus.subscribe();
    let listener = Listener::start(
        f.store.clone(),
        vec![f.source],
        Publisher::Local(bus.clone()),
        ListenerConfig::default(),
    );
    f.tx.send(agent_leg(call, created(), 0)).unwrap();
    f.tx.send(agent_leg(call, LegEventKind::Answered, 10))
        .unwrap();
    // Published means applied: the tracker knows the leg before the CDR arrives.
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
            .unwrap();
        if msg.record().is_some_and(|r| {
            r.answered_at.is_some() || r.legs.iter().any(|l| l.answered_at.is_some())
        }) {
            break;
        }
    }
    let mut cdr = CdrRecord::default();
    cdr.leg = "1795315411.4".into();
    cdr.billable_secs = Some(6);
    cdr.disposition = Some("ANSWERED".into());
    cdr.fields = vec![("Event".into(), "Cdr".into())];
    f.tx.send(ProviderEvent::Cdr(Box::new(cdr))).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let row = loop {
        if let Some(row) = f.store.cdrs().get(f.tenant, "1795315411.4").await.unwrap() {
            break row;
        }
        assert!(std::time::Instant::now() < deadline, "the CDR was stored");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(row.call_id, Some(*call.as_uuid()));
    assert_eq!(row.billsec, Some(6));
    assert_eq!(row.raw["Event"], "Cdr");
    assert_eq!(row.raw["hookflash"]["call_id"], call.to_string());
    listener.flush().await.unwrap();
    let text = listener.metrics().render();
    assert!(text.contains("hookflash_listener_cdrs_total 1"), "{text}");
    assert!(
        text.contains("hookflash_pipeline_calls_tracked{server=\"pbx1\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("hookflash_pipeline_writer_dead_letters_total 0"),
        "{text}"
    );
    assert!(listener.writer_stats().rows > 0);
    assert!(
        !text.contains("hookflash_pipeline_writer_rows_written_total 0"),
        "{text}"
    );
    listener.shutdown().await.unwrap();
}
