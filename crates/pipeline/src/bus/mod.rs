//! The event bus: call and agent-state messages, in-process (tokio broadcast) and across
//! processes (PostgreSQL LISTEN/NOTIFY).
//!
//! - [`EventBus`]: the in-process bus the WebSocket hub subscribes to. On a single node (the
//!   api-server embedding the listener) the pipeline publishes straight into it.
//! - [`Publisher`]: where the pipeline publishes: the local [`EventBus`], or PostgreSQL
//!   (`NOTIFY` on [`NOTIFY_CHANNEL`]) when the listener runs as its own process.
//! - [`spawn_pg_relay`]: run by every api-server beside a separate listener; it `LISTEN`s and
//!   republishes into the local bus, and forwards the agent-state changes made on this node
//!   to the other nodes.
//!
//! When the relay's LISTEN connection dropped (a PostgreSQL restart), the notifications sent
//! meanwhile are lost: once it listens again it publishes [`BusMessage::Resync`] for every
//! tenant, and the WebSocket hub tells its clients to re-read their calls from the API.
//!
//! A NOTIFY payload is limited to 8000 bytes: a call message crosses processes without its
//! timeline (and, if still too large, without its legs); the full call is in the store.

mod pg;

pub use pg::{NOTIFY_CHANNEL, PgPublisher, Publisher, spawn_pg_relay};

use std::sync::Arc;

use chrono::{DateTime, Utc};
use hookflash_calls::CallRecord;
use hookflash_provider::TenantId;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

/// One message on the bus. Every message names its tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum BusMessage {
    /// A call was created.
    CallCreated {
        /// The call's tenant.
        tenant: TenantId,
        /// The call's snapshot.
        record: Box<CallRecord>,
    },
    /// A call changed.
    CallUpdated {
        /// The call's tenant.
        tenant: TenantId,
        /// The call's snapshot.
        record: Box<CallRecord>,
    },
    /// A call ended.
    CallEnded {
        /// The call's tenant.
        tenant: TenantId,
        /// The call's final snapshot.
        record: Box<CallRecord>,
    },
    /// An agent's state changed.
    AgentState {
        /// The agent's tenant.
        tenant: TenantId,
        /// The agent.
        agent_id: Uuid,
        /// The new state (`offline`, `available`, `paused`, ...).
        state: String,
        /// Why the agent paused.
        pause_reason: Option<String>,
        /// When.
        at: DateTime<Utc>,
    },
    /// Messages may have been missed (the cross-process relay lost its LISTEN connection and
    /// listens again): what a client shows must be read again from the API.
    Resync {
        /// The tenant told.
        tenant: TenantId,
        /// Why, for logs and clients.
        reason: String,
    },
}

impl BusMessage {
    /// The tenant the message belongs to.
    pub fn tenant(&self) -> TenantId {
        match self {
            Self::CallCreated { tenant, .. }
            | Self::CallUpdated { tenant, .. }
            | Self::CallEnded { tenant, .. }
            | Self::AgentState { tenant, .. }
            | Self::Resync { tenant, .. } => *tenant,
        }
    }

    /// The call record, for call messages.
    pub fn record(&self) -> Option<&CallRecord> {
        match self {
            Self::CallCreated { record, .. }
            | Self::CallUpdated { record, .. }
            | Self::CallEnded { record, .. } => Some(record),
            Self::AgentState { .. } | Self::Resync { .. } => None,
        }
    }
}

/// The in-process bus: a bounded tokio broadcast channel; a subscriber that falls behind is
/// told how many messages it missed (`RecvError::Lagged`).
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Arc<BusMessage>>,
}

impl EventBus {
    /// A bus holding at most `capacity` undelivered messages per subscriber.
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        Self { tx }
    }

    /// Sends to every current subscriber; returns how many there were.
    pub fn publish(&self, msg: BusMessage) -> usize {
        self.tx.send(Arc::new(msg)).unwrap_or(0)
    }

    /// A new subscription, receiving messages published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<BusMessage>> {
        self.tx.subscribe()
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new(1024)
    }
}
