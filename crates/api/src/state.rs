//! Shared state of the router: the store, the configured PBX connections, the event bus, the
//! JWT keys, the login limiter and metrics.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hookflash_provider::{CallId, CallProvider, TenantId, TransferId};
use hookflash_store::Store;
use secrecy::{ExposeSecret, SecretSlice};

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
    /// The HS256 secret (`Debug` shows `[REDACTED]`).
    pub jwt_secret: SecretSlice<u8>,
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
            Some(s) if !s.expose_secret().is_empty() => s.expose_secret().as_bytes().to_vec(),
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
            // The servers are configured in the composition layer, which fills this in.
            dial_formats: HashMap::new(),
            body_limit: config.body_limit,
            login_attempts_per_minute: config.login_attempts_per_minute,
            login_attempts_per_ip_per_minute: config.login_attempts_per_ip_per_minute,
            jwt_secret: SecretSlice::from(jwt_secret),
            ws_heartbeat: Duration::from_secs(20),
            ws_queue: 256,
            variables: config.variables.clone(),
            platform_tenant: crate::routes::auth::DEFAULT_TENANT_SLUG.to_owned(),
            cors_allowed_origins: config.cors_allowed_origins.clone(),
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

/// How long an attended transfer stays completable or cancellable through the API: a
/// consultation is minutes long; an entry older than this belongs to a call that has moved on.
pub(crate) const TRANSFER_TTL: Duration = Duration::from_secs(2 * 3600);
/// Most attended transfers remembered at once (beyond it the oldest is forgotten).
pub(crate) const TRANSFER_CAPACITY: usize = 10_000;

/// The attended transfers in progress, bounded by age and count: an entry nobody completes or
/// cancels (the call ended, the client went away) expires after `ttl`, and at `capacity` the
/// oldest goes first, so live entries are never dropped wholesale. Time is passed in.
#[derive(Debug)]
pub(crate) struct TransferBook {
    entries: HashMap<String, (Instant, TransferEntry)>,
    ttl: Duration,
    capacity: usize,
}

impl TransferBook {
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            ttl,
            capacity: capacity.max(1),
        }
    }

    fn expired(&self, at: Instant, now: Instant) -> bool {
        now.saturating_duration_since(at) >= self.ttl
    }

    /// Remembers a transfer started at `now`, first forgetting expired ones and, when still
    /// full, the oldest.
    pub(crate) fn put(&mut self, id: String, entry: TransferEntry, now: Instant) {
        let ttl = self.ttl;
        self.entries
            .retain(|_, (at, _)| now.saturating_duration_since(*at) < ttl);
        while self.entries.len() >= self.capacity {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => {
                    self.entries.remove(&k);
                }
                None => break,
            }
        }
        self.entries.insert(id, (now, entry));
    }

    /// The live transfer `id`, if not expired at `now`.
    pub(crate) fn get(&self, id: &str, now: Instant) -> Option<TransferEntry> {
        let (at, entry) = self.entries.get(id)?;
        (!self.expired(*at, now)).then(|| entry.clone())
    }

    /// Forgets `id` (completed or cancelled), returning it if it was live at `now`.
    pub(crate) fn take(&mut self, id: &str, now: Instant) -> Option<TransferEntry> {
        let (at, entry) = self.entries.remove(id)?;
        (!self.expired(at, now)).then_some(entry)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
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
    transfers: Mutex<TransferBook>,
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
                jwt: JwtKeys::from_secret(settings.jwt_secret.expose_secret()),
                login_limiter: LoginLimiter::new(
                    settings.login_attempts_per_minute,
                    settings.login_attempts_per_ip_per_minute,
                ),
                sessions: SessionChanges::default(),
                settings,
                metrics: Metrics::new(),
                transfers: Mutex::new(TransferBook::new(TRANSFER_TTL, TRANSFER_CAPACITY)),
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
            m.put(id, entry, Instant::now());
        }
    }

    pub(crate) fn transfer(&self, id: &str) -> Option<TransferEntry> {
        self.inner.transfers.lock().ok()?.get(id, Instant::now())
    }

    pub(crate) fn take_transfer(&self, id: &str) -> Option<TransferEntry> {
        self.inner.transfers.lock().ok()?.take(id, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u32) -> TransferEntry {
        TransferEntry {
            tenant: TenantId::new_random(),
            call_id: CallId::new_random(),
            server: format!("pbx{n}"),
            provider_id: TransferId(format!("x{n}")),
        }
    }

    #[test]
    fn transfers_expire_and_the_oldest_goes_at_capacity() {
        let t0 = Instant::now();
        let min = Duration::from_secs(60);
        let mut book = TransferBook::new(10 * min, 3);
        book.put("a".into(), entry(1), t0);
        book.put("b".into(), entry(2), t0 + min);
        book.put("c".into(), entry(3), t0 + 2 * min);
        // Full: the oldest (a) goes, the others stay (nothing cleared wholesale).
        book.put("d".into(), entry(4), t0 + 3 * min);
        assert_eq!(book.len(), 3);
        assert!(book.get("a", t0 + 3 * min).is_none());
        for id in ["b", "c", "d"] {
            assert!(book.get(id, t0 + 3 * min).is_some(), "{id}");
        }
        // Taken (completed/cancelled) is gone.
        assert!(book.take("c", t0 + 4 * min).is_some());
        assert!(book.get("c", t0 + 4 * min).is_none());
        // Old entries expire: unreadable at once, forgotten at the next put.
        assert!(book.get("b", t0 + 11 * min).is_none());
        assert!(book.take("b", t0 + 11 * min).is_none());
        book.put("e".into(), entry(5), t0 + 12 * min);
        assert_eq!(book.len(), 2, "d and e");
        book.put("f".into(), entry(6), t0 + 30 * min);
        assert_eq!(book.len(), 1, "only f");
        assert!(book.get("f", t0 + 30 * min).is_some());
    }

    #[test]
    fn settings_debug_never_shows_the_jwt_secret() {
        let config = Config {
            jwt_secret: Some("q8Jx3mZ0r5Vt9Lk2WbN7yPc4Hs6Df1Ga0Ue8Ri3To5Y".into()),
            ..Config::default()
        };
        let settings = Settings::from_config(&config);
        let text = format!("{settings:?}");
        assert!(!text.contains("q8Jx3mZ0r5Vt9Lk2"), "{text}");
        let bytes = format!("{:?}", b"q8Jx".to_vec());
        assert!(!text.contains(bytes.trim_end_matches(']')), "{text}");
        assert!(text.contains("REDACTED"), "{text}");
    }

    #[test]
    fn many_abandoned_transfers_stay_bounded() {
        let t0 = Instant::now();
        let mut book = TransferBook::new(Duration::from_secs(3600), 100);
        for i in 0..10_000u32 {
            book.put(
                format!("t{i}"),
                entry(i),
                t0 + Duration::from_millis(u64::from(i)),
            );
            assert!(book.len() <= 100);
        }
        // The newest are the ones kept.
        let end = t0 + Duration::from_secs(10);
        assert!(book.get("t9999", end).is_some());
        assert!(book.get("t9900", end).is_some());
        assert!(book.get("t9899", end).is_none());
    }
}
