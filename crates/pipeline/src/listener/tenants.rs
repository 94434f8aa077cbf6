//! Whose call is it: the API's row of a call it placed, else the default tenant.

use std::collections::HashMap;

use hookflash_calls::CallRecord;
use hookflash_provider::{CallId, TenantId};
use hookflash_store::Store;
use tokio::sync::Mutex;

/// The slug of the tenant calls nobody placed through the API belong to (the API's
/// `DEFAULT_TENANT_SLUG`, created at first start).
pub const DEFAULT_TENANT_SLUG: &str = "default";

/// Calls remembered; past this the memory starts again (a lookup is one query).
const MEMORY: usize = 100_000;

/// What the API recorded about a call it placed.
#[derive(Debug, Clone)]
pub(super) struct Origin {
    pub(super) agent_endpoint: String,
    pub(super) customer_number: String,
    /// When the API recorded the call (just before it asked for the originate).
    pub(super) created_at: chrono::DateTime<chrono::Utc>,
}

/// A call's tenant and, for calls placed through the API, what the originate asked for.
#[derive(Debug, Clone)]
pub(super) struct Resolved {
    pub(super) tenant: TenantId,
    pub(super) origin: Option<Origin>,
}

#[derive(Debug, Default)]
struct Memory {
    calls: HashMap<CallId, TenantId>,
    /// Agents by (tenant, endpoint), with when a miss was seen (agents can be added later).
    agents: HashMap<(TenantId, String), (Option<uuid::Uuid>, std::time::Instant)>,
    /// Call ids already looked up (found or not).
    checked: std::collections::HashSet<CallId>,
    default: Option<TenantId>,
}

/// Looks tenants up in the store, remembering the answers.
#[derive(Debug)]
pub(super) struct TenantResolver {
    store: Store,
    memory: Mutex<Memory>,
}

impl TenantResolver {
    pub(super) fn new(store: Store) -> Self {
        Self {
            store,
            memory: Mutex::new(Memory::default()),
        }
    }

    /// The tenant of calls nobody placed through the API: the `default` tenant, else the
    /// oldest one. Before any tenant exists, a fixed nil id (nothing can read it).
    pub(super) async fn default_tenant(&self) -> TenantId {
        if let Some(t) = self.memory.lock().await.default {
            return t;
        }
        let found = match self.store.tenants().get_by_slug(DEFAULT_TENANT_SLUG).await {
            Ok(Some(t)) => Some(t.tenant_id()),
            _ => match self.store.tenants().list().await {
                Ok(list) => list
                    .into_iter()
                    .min_by_key(|t| t.created_at)
                    .map(|t| t.tenant_id()),
                Err(e) => {
                    tracing::warn!(error = %e, "could not list tenants");
                    None
                }
            },
        };
        match found {
            Some(t) => {
                self.memory.lock().await.default = Some(t);
                t
            }
            None => TenantId::from_uuid(uuid::Uuid::nil()),
        }
    }

    /// The record's tenant. The first time a call the API placed is seen, its row is read and
    /// its origin returned (for `Tracker::register_originate`); later calls answer from memory.
    pub(super) async fn resolve(&self, record: &CallRecord) -> Resolved {
        if let Some(t) = record.tenant {
            return Resolved {
                tenant: t,
                origin: None,
            };
        }
        if let Some(t) = self.memory.lock().await.calls.get(&record.call_id) {
            return Resolved {
                tenant: *t,
                origin: None,
            };
        }
        let mut resolved = None;
        if !record.derived_id {
            match self.lookup(record.call_id).await {
                Ok(found) => resolved = found,
                Err(e) => {
                    tracing::warn!(call_id = %record.call_id, error = %e, "tenant lookup failed")
                }
            }
        }
        let resolved = match resolved {
            Some(r) => r,
            None => Resolved {
                tenant: self.default_tenant().await,
                origin: None,
            },
        };
        let mut memory = self.memory.lock().await;
        if memory.calls.len() >= MEMORY {
            memory.calls.clear();
        }
        memory.calls.insert(record.call_id, resolved.tenant);
        resolved
    }

    /// What the API recorded about call `id`, if it placed it: read from the store the first
    /// time a call id is seen; `None` for a call id seen before or unknown to the store.
    pub(super) async fn first_sight(&self, id: CallId) -> Option<Resolved> {
        {
            let mut memory = self.memory.lock().await;
            if memory.calls.contains_key(&id) || !memory.checked.insert(id) {
                return None;
            }
            if memory.checked.len() >= MEMORY {
                memory.checked.clear();
            }
        }
        match self.lookup(id).await {
            Ok(Some(found)) => {
                self.memory.lock().await.calls.insert(id, found.tenant);
                Some(found)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(call_id = %id, error = %e, "call lookup failed");
                None
            }
        }
    }

    /// The agent whose endpoint `channel` (`PJSIP/agent1001-00000028`) belongs to.
    pub(super) async fn agent_of_channel(
        &self,
        tenant: TenantId,
        channel: &str,
    ) -> Option<uuid::Uuid> {
        // A channel is its endpoint plus `-<sequence>`.
        let endpoint = channel.rsplit_once('-').map_or(channel, |(e, _)| e);
        let key = (tenant, endpoint.to_owned());
        if let Some((found, at)) = self.memory.lock().await.agents.get(&key)
            && (found.is_some() || at.elapsed() < std::time::Duration::from_secs(30))
        {
            return *found;
        }
        let found = match self.store.agents().get_by_endpoint(tenant, endpoint).await {
            Ok(a) => a.map(|a| a.id),
            Err(e) => {
                tracing::warn!(%endpoint, error = %e, "agent lookup failed");
                None
            }
        };
        let mut memory = self.memory.lock().await;
        if memory.agents.len() >= MEMORY {
            memory.agents.clear();
        }
        memory
            .agents
            .insert(key, (found, std::time::Instant::now()));
        found
    }

    async fn lookup(&self, id: CallId) -> Result<Option<Resolved>, hookflash_store::StoreError> {
        for tenant in self.store.tenants().list().await? {
            let tenant = tenant.tenant_id();
            let Some(row) = self.store.calls().get(tenant, id).await? else {
                continue;
            };
            let endpoint = row
                .metadata
                .get("agent_endpoint")
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            let origin = match (endpoint, row.to_number.clone()) {
                (Some(agent_endpoint), Some(customer_number)) => Some(Origin {
                    agent_endpoint,
                    customer_number,
                    created_at: row.created_at,
                }),
                _ => None,
            };
            return Ok(Some(Resolved { tenant, origin }));
        }
        Ok(None)
    }
}
