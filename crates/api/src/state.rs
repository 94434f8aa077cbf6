//! Shared state of the router: the store, the configured PBX connections, the event bus, the
//! JWT keys, the login limiter and metrics.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hookflash_provider::{CallId, CallProvider, TenantId, TransferId};
use hookflash_store::Store;

use crate::auth::{JwtKeys, SessionChanges};
use crate::bus::EventBus;
use crate::config::{Config, DialFormat, PhoneValidation, Protocol};
use crate::error::{ApiError, Result};
use crate::login_limit::LoginLimiter;
use crate::metrics::Metrics;
use hookflash_provider::ServerProbe;

/// One configured PBX connection.
#[derive(Clone)]
pub struct ServerEntry {
    /// The configured name.
    pub name: String,
    /// How it is reached.
    pub protocol: Protocol,
    /// Call control.
    pub provider: Arc<dyn CallProvider>,
    /// Live status and the round-trip test.
    pub probe: Arc<dyn ServerProbe>,
}

impl std::fmt::Debug for ServerEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerEntry")
            .field("name", &self.name)
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

/// The configured connections by name; the first added is the default for new calls.
#[derive(Debug, Clone, Default)]
pub struct ProviderRegistry {
    entries: Vec<ServerEntry>,
}

impl ProviderRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a connection (a later one with the same name replaces it).
    pub fn insert(
        &mut self,
        name: impl Into<String>,
        protocol: Protocol,
        provider: Arc<dyn CallProvider>,
        probe: Arc<dyn ServerProbe>,
    ) {
        let name = name.into();
        self.entries.retain(|e| e.name != name);
        self.entries.push(ServerEntry {
            name,
            protocol,
            provider,
            probe,
        });
    }

    /// The connection called `name`.
    pub fn get(&self, name: &str) -> Option<&ServerEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// The default connection (the first added).
    pub fn default_entry(&self) -> Option<&ServerEntry> {
        self.entries.first()
    }

    /// All connections in the order added.
    pub fn iter(&self) -> impl Iterator<Item = &ServerEntry> {
        self.entries.iter()
    }

    /// How many connections.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True with no connection.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Settings the router needs from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The region for numbers without a `+` country code.
    pub default_region: String,
    /// How strictly phone numbers in requests are checked.
    pub phone_validation: PhoneValidation,
    /// The customer-number form per Asterisk server name (a server not listed, such as a
    /// Twilio account, dials E.164).
    pub dial_formats: HashMap<String, DialFormat>,
    /// Request body limit in bytes.
    pub body_limit: usize,
    /// Login attempts per account (tenant and username) per minute.
    pub login_attempts_per_minute: u32,
    /// Login attempts per client address per minute, whatever the usernames.
    pub login_attempts_per_ip_per_minute: u32,
    /// The HS256 secret.
    pub jwt_secret: Vec<u8>,
    /// WebSocket heartbeat interval.
    pub ws_heartbeat: Duration,
    /// Messages queued for one WebSocket client before it is closed as too slow.
    pub ws_queue: usize,
    /// The channel variables each tenant may set on a call.
    pub variables: crate::variable_policy::VariablePolicy,
    /// The slug of the platform tenant, whose admins manage every tenant (`default`, the
    /// tenant the first start creates).
    pub platform_tenant: String,
    /// Origins (`scheme://host[:port]`) whose pages may call the API from a browser (CORS);
    /// none by default, and then no CORS headers are sent at all.
    pub cors_allowed_origins: Vec<String>,
}

impl Settings {
    /// Settings from a loaded configuration. Without a configured JWT secret a random one is
    /// drawn, so tokens do not survive a restart (and a warning is logged).
    pub fn from_config(config: &Config) -> Self {
        let jwt_secret = match &config.jwt_secret {
            Some(s) if !s.is_empty() => s.as_bytes().to_vec(),
            _ => {
                tracing::warn!(
                    "no HOOKFLASH_JWT_SECRET: using a random secret; tokens end at restart"
                );
                let mut bytes = Vec::with_capacity(64);
                for _ in 0..4 {
                    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
                }
                bytes
            }
        };
        Self {
            default_region: config.default_region.clone(),
            phone_validation: config.phone_validation,
            dial_formats: config
                .asterisk
                .iter()
                .map(|s| (s.name.clone(), s.dial_format))
                .collect(),
            body_limit: config.body_limit,
            login_attempts_per_minute: config.login_attempts_per_minute,
            login_attempts_per_ip_per_minute: config.login_attempts_per_ip_per_minute,
            jwt_secret,
            ws_heartbeat: Duration::from_secs(20),
            ws_queue: 256,
            variables: config.variables.clone(),
            platform_tenant: crate::routes::auth::DEFAULT_TENANT_SLUG.to_owned(),
            cors_allowed_origins: Vec::new(),
        }
    }
}

impl Settings {
    /// How the server called `server` is handed customer numbers.
    pub fn dial_format(&self, server: &str) -> DialFormat {
        self.dial_formats
            .get(server)
            .copied()
            .unwrap_or(DialFormat::E164)
    }
}

/// An attended transfer in progress: who started it, on which call and server.
#[derive(Debug, Clone)]
pub(crate) struct TransferEntry {
    pub(crate) tenant: TenantId,
    pub(crate) call_id: CallId,
    pub(crate) server: String,
    pub(crate) provider_id: TransferId,
}

/// Everything the handlers share; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    providers: ProviderRegistry,
    bus: EventBus,
    jwt: JwtKeys,
    login_limiter: LoginLimiter,
    sessions: SessionChanges,
    settings: Settings,
    metrics: Metrics,
    transfers: Mutex<HashMap<String, TransferEntry>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("providers", &self.inner.providers)
            .field(
                "settings.default_region",
                &self.inner.settings.default_region,
            )
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Builds the state.
    pub fn new(
        store: Store,
        providers: ProviderRegistry,
        bus: EventBus,
        settings: Settings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                providers,
                bus,
                jwt: JwtKeys::from_secret(&settings.jwt_secret),
                login_limiter: LoginLimiter::new(
                    settings.login_attempts_per_minute,
                    settings.login_attempts_per_ip_per_minute,
                ),
                sessions: SessionChanges::default(),
                settings,
                metrics: Metrics::new(),
                transfers: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The PBX connections.
    pub fn providers(&self) -> &ProviderRegistry {
        &self.inner.providers
    }

    /// The event bus.
    pub fn bus(&self) -> &EventBus {
        &self.inner.bus
    }

    /// The JWT keys.
    pub fn jwt(&self) -> &JwtKeys {
        &self.inner.jwt
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Where changes to users' access are published, so open WebSockets re-check at once
    /// (call [`SessionChanges::tenant_changed`] after revoking an api key).
    pub fn sessions(&self) -> &SessionChanges {
        &self.inner.sessions
    }

    pub(crate) fn login_limiter(&self) -> &LoginLimiter {
        &self.inner.login_limiter
    }

    /// The server a call runs on (its recorded server, else the default), which must exist.
    pub(crate) fn server_for(&self, name: Option<&str>) -> Result<&ServerEntry> {
        match name {
            Some(n) => self
                .providers()
                .get(n)
                .ok_or_else(|| ApiError::validation("server", format!("no server named {n}"))),
            None => self
                .providers()
                .default_entry()
                .ok_or_else(|| ApiError::ProviderUnavailable {
                    server: "(none configured)".to_owned(),
                }),
        }
    }

    pub(crate) fn put_transfer(&self, id: String, entry: TransferEntry) {
        if let Ok(mut m) = self.inner.transfers.lock() {
            // Bounded: abandoned entries would otherwise pile up forever.
            if m.len() >= 10_000 {
                m.clear();
            }
            m.insert(id, entry);
        }
    }

    pub(crate) fn transfer(&self, id: &str) -> Option<TransferEntry> {
        self.inner.transfers.lock().ok()?.get(id).cloned()
    }

    pub(crate) fn take_transfer(&self, id: &str) -> Option<TransferEntry> {
        self.inner.transfers.lock().ok()?.remove(id)
    }
}
