//! The bus across processes: PostgreSQL LISTEN/NOTIFY through the store's helper.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use hookflash_store::{ListenItem, Store};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::{BusMessage, EventBus};
use crate::error::{PipelineError, Result};

/// The PostgreSQL channel bus messages travel on.
pub const NOTIFY_CHANNEL: &str = "hookflash_bus";

/// PostgreSQL refuses payloads of 8000 bytes or more.
const MAX_PAYLOAD: usize = 7900;

/// Agent-state changes remembered so that one relayed from another node is not sent back.
const RELAYED_MEMORY: usize = 512;

/// What travels in a NOTIFY payload: the message and the node that sent it.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    node: Uuid,
    msg: BusMessage,
}

/// Encodes a message for NOTIFY, shedding the timeline (then the legs) of a call record that
/// would not fit. `None` when even that does not fit.
fn encode(node: Uuid, msg: &BusMessage) -> Option<String> {
    let mut env = Envelope {
        node,
        msg: msg.clone(),
    };
    for step in 0..3 {
        let text = serde_json::to_string(&env).ok()?;
        if text.len() <= MAX_PAYLOAD {
            return Some(text);
        }
        match &mut env.msg {
            BusMessage::CallCreated { record, .. }
            | BusMessage::CallUpdated { record, .. }
            | BusMessage::CallEnded { record, .. } => {
                if step == 0 {
                    record.timeline.clear();
                } else {
                    record.legs.clear();
                }
            }
            BusMessage::AgentState { .. } | BusMessage::Resync { .. } => return None,
        }
    }
    None
}

/// Publishes bus messages as PostgreSQL notifications.
#[derive(Debug, Clone)]
pub struct PgPublisher {
    store: Store,
    node: Uuid,
}

impl PgPublisher {
    /// A publisher on `store` (which must be PostgreSQL), sending as `node`.
    ///
    /// # Errors
    /// [`PipelineError::Config`] when the store is not PostgreSQL.
    pub fn new(store: Store, node: Uuid) -> Result<Self> {
        if store.dialect() != hookflash_store::Dialect::Postgres {
            return Err(PipelineError::Config(
                "the LISTEN/NOTIFY bus needs a postgres:// database_url".to_owned(),
            ));
        }
        Ok(Self { store, node })
    }

    /// Sends one message to every listening node.
    ///
    /// # Errors
    /// The store's error.
    pub async fn publish(&self, msg: &BusMessage) -> Result<()> {
        match encode(self.node, msg) {
            Some(payload) => {
                self.store.notify(NOTIFY_CHANNEL, &payload).await?;
                Ok(())
            }
            None => {
                tracing::warn!(
                    tenant = %msg.tenant(),
                    "bus message too large for NOTIFY even without timeline and legs: not sent"
                );
                Ok(())
            }
        }
    }
}

/// Where the event pipeline publishes.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Publisher {
    /// The in-process bus (single node: the api-server embeds the listener).
    Local(EventBus),
    /// PostgreSQL NOTIFY (the listener runs beside one or more api-servers).
    Postgres(PgPublisher),
}

impl Publisher {
    /// Publishes one message.
    ///
    /// # Errors
    /// The store's error (PostgreSQL only); the local bus never fails.
    pub async fn publish(&self, msg: BusMessage) -> Result<()> {
        match self {
            Self::Local(bus) => {
                bus.publish(msg);
                Ok(())
            }
            Self::Postgres(pg) => pg.publish(&msg).await,
        }
    }
}

type AgentKey = (Uuid, DateTime<Utc>);

fn agent_key(msg: &BusMessage) -> Option<AgentKey> {
    match msg {
        BusMessage::AgentState { agent_id, at, .. } => Some((*agent_id, *at)),
        _ => None,
    }
}

/// Remembers the agent-state messages relayed in from other nodes (bounded).
#[derive(Debug, Default)]
struct Relayed {
    keys: VecDeque<AgentKey>,
}

impl Relayed {
    fn insert(&mut self, key: AgentKey) {
        if self.keys.len() >= RELAYED_MEMORY {
            self.keys.pop_front();
        }
        self.keys.push_back(key);
    }

    fn take(&mut self, key: &AgentKey) -> bool {
        match self.keys.iter().position(|k| k == key) {
            Some(i) => {
                self.keys.remove(i);
                true
            }
            None => false,
        }
    }
}

/// Joins this node's bus to the others over PostgreSQL: notifications on [`NOTIFY_CHANNEL`]
/// are republished into `bus`, and agent-state changes published on `bus` by this node's
/// handlers are sent to the other nodes. Runs until aborted.
///
/// Notifications sent while the LISTEN connection is down are lost (PostgreSQL does not
/// queue them); the store stays the record: once listening again, the relay publishes
/// [`BusMessage::Resync`] for every tenant so clients re-read it.
///
/// # Errors
/// [`PipelineError::Config`] when the store is not PostgreSQL.
pub fn spawn_pg_relay(store: Store, bus: EventBus, node: Uuid) -> Result<JoinHandle<()>> {
    let publisher = PgPublisher::new(store.clone(), node)?;
    let relayed = Arc::new(Mutex::new(Relayed::default()));
    // Subscribe before returning so no local change is missed.
    let mut local = bus.subscribe();
    let forward_relayed = Arc::clone(&relayed);
    let forward = async move {
        loop {
            match local.recv().await {
                Ok(msg) => {
                    let Some(key) = agent_key(&msg) else {
                        continue;
                    };
                    let came_in = forward_relayed
                        .lock()
                        .map(|mut r| r.take(&key))
                        .unwrap_or(false);
                    if came_in {
                        continue;
                    }
                    if let Err(e) = publisher.publish(&msg).await {
                        tracing::warn!(error = %e, "could not forward an agent state change");
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "bus relay fell behind the local bus");
                }
                Err(RecvError::Closed) => return,
            }
        }
    };
    let listen = async move {
        let mut first = true;
        loop {
            let mut stream = match store.listen_with_gaps(&[NOTIFY_CHANNEL]).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if !std::mem::take(&mut first) {
                resync(&store, &bus, "the bus relay listens again after an error").await;
            }
            while let Some(item) = stream.next().await {
                let n = match item {
                    Ok(ListenItem::Notification(n)) => n,
                    Ok(ListenItem::Reconnected) => {
                        resync(&store, &bus, "the bus relay lost its LISTEN connection").await;
                        continue;
                    }
                    Ok(_) => continue,
                    Err(e) => {
                        tracing::warn!(error = %e, "LISTEN connection error; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                let env: Envelope = match serde_json::from_str(&n.payload) {
                    Ok(env) => env,
                    Err(e) => {
                        tracing::warn!(error = %e, "ignoring a malformed bus notification");
                        continue;
                    }
                };
                if let Some(key) = agent_key(&env.msg) {
                    if env.node == node {
                        // Already on the local bus: it started here.
                        continue;
                    }
                    if let Ok(mut r) = relayed.lock() {
                        r.insert(key);
                    }
                }
                bus.publish(env.msg);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    Ok(tokio::spawn(async move {
        tokio::join!(forward, listen);
    }))
}

/// Tells every tenant's clients that messages may have been missed.
async fn resync(store: &Store, bus: &EventBus, reason: &str) {
    tracing::warn!(%reason, "bus messages may have been missed: clients are told to resync");
    // Listing tenants may fail while the database is still coming back: retry a few times.
    for attempt in 0..30u32 {
        match store.tenants().list().await {
            Ok(tenants) => {
                for t in tenants {
                    bus.publish(BusMessage::Resync {
                        tenant: t.tenant_id(),
                        reason: reason.to_owned(),
                    });
                }
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, attempt, "listing tenants for a resync failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookflash_calls::{Tracker, TrackerConfig};
    use hookflash_provider::{CallId, TenantId};

    fn big_record() -> hookflash_calls::CallRecord {
        let mut tracker = Tracker::new(TrackerConfig::default());
        let call = CallId::new_random();
        let now = Utc::now();
        let mut out = Vec::new();
        for i in 0..200 {
            out = tracker.register_originate(
                call,
                TenantId::new_random(),
                format!("PJSIP/agent{i}"),
                "5551204005",
                now + chrono::TimeDelta::milliseconds(i),
            );
        }
        let mut record = tracker.call(&call).cloned().unwrap();
        if let Some(u) = out.pop() {
            record = u.record;
        }
        record
    }

    #[test]
    fn large_records_shed_their_timeline_to_fit() {
        let record = big_record();
        let msg = BusMessage::CallUpdated {
            tenant: TenantId::new_random(),
            record: Box::new(record.clone()),
        };
        let full = serde_json::to_string(&msg).unwrap();
        assert!(full.len() > MAX_PAYLOAD, "the test record is large");
        let text = encode(Uuid::new_v4(), &msg).unwrap();
        assert!(text.len() <= MAX_PAYLOAD);
        let env: Envelope = serde_json::from_str(&text).unwrap();
        let back = env.msg.record().unwrap();
        assert_eq!(back.call_id, record.call_id);
        assert!(back.timeline.is_empty());
    }

    #[test]
    fn small_messages_round_trip_whole() {
        let node = Uuid::new_v4();
        let msg = BusMessage::AgentState {
            tenant: TenantId::new_random(),
            agent_id: Uuid::new_v4(),
            state: "available".into(),
            pause_reason: None,
            at: Utc::now(),
        };
        let env: Envelope = serde_json::from_str(&encode(node, &msg).unwrap()).unwrap();
        assert_eq!(env.node, node);
        assert_eq!(env.msg, msg);
    }

    #[test]
    fn relayed_keys_are_remembered_once_and_bounded() {
        let mut r = Relayed::default();
        let k = (Uuid::new_v4(), Utc::now());
        r.insert(k);
        assert!(r.take(&k));
        assert!(!r.take(&k));
        for _ in 0..(RELAYED_MEMORY + 10) {
            r.insert((Uuid::new_v4(), Utc::now()));
        }
        assert_eq!(r.keys.len(), RELAYED_MEMORY);
    }
}
