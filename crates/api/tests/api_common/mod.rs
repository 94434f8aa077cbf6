//! Shared harness of the api_* tests: a real store (SQLite temp file, or PostgreSQL), two
//! tenants with users and agents, a recording CallProvider, and request helpers.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::Utc;
use futures::stream;
use hookflash_api::bus::EventBus;
use hookflash_api::{
    AppState, Config, ProbeReport, Protocol, ProviderRegistry, Role, ServerProbe, Settings,
};
use hookflash_provider::{
    AttendedTransferRequest, BlindTransferRequest, CallId, CallProvider, Capabilities, HangupCause,
    LegEventStream, LegId, LegSnapshot, MediaDirection, OriginateRequest, ParkRequest, ParkedCall,
    PickupRequest, ProviderError, RecordingRequest, TenantId, TransferId,
};
use hookflash_store::{Agent, CallRow, CallWrite, NewAgent, NewUser, Store, UserRole};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use uuid::Uuid;

/// A CallProvider that records every command it gets and answers as configured.
#[derive(Debug, Default)]
pub struct RecordingProvider {
    pub calls: Mutex<Vec<String>>,
    pub originates: Mutex<Vec<OriginateRequest>>,
    pub recordings: Mutex<Vec<RecordingRequest>>,
    pub disconnected: AtomicBool,
    /// The error the next `originate` answers with, once.
    pub originate_error: Mutex<Option<ProviderError>>,
    /// When set, the next `originate` says it `entered`, waits for `release`, records the
    /// request and says it is `done`: a test can act while an originate is in flight.
    pub originate_gate: Mutex<Option<OriginateGate>>,
    /// What `parked_calls` lists.
    pub parked: Mutex<Vec<ParkedCall>>,
    /// The pick-ups asked for.
    pub pickups: Mutex<Vec<PickupRequest>>,
}

/// The three steps of a held originate (see `RecordingProvider::originate_gate`).
#[derive(Debug, Default, Clone)]
pub struct OriginateGate {
    pub entered: Arc<tokio::sync::Notify>,
    pub release: Arc<tokio::sync::Notify>,
    pub done: Arc<tokio::sync::Notify>,
}

/// Says `done` when the originate that holds it finishes, however it finishes.
struct NotifyOnDrop(Option<Arc<tokio::sync::Notify>>);

impl Drop for NotifyOnDrop {
    fn drop(&mut self) {
        if let Some(n) = &self.0 {
            n.notify_one();
        }
    }
}

impl RecordingProvider {
    fn log(&self, s: String) -> Result<(), ProviderError> {
        if self.disconnected.load(Ordering::SeqCst) {
            return Err(ProviderError::NotConnected {
                provider: "recording".into(),
            });
        }
        self.calls.lock().unwrap().push(s);
        Ok(())
    }

    pub fn log_lines(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl CallProvider for RecordingProvider {
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }
    async fn originate(&self, request: OriginateRequest) -> Result<(), ProviderError> {
        let gate = self.originate_gate.lock().unwrap().take();
        if let Some(gate) = &gate {
            gate.entered.notify_one();
            gate.release.notified().await;
        }
        let done = gate.map(|g| g.done);
        let _done = NotifyOnDrop(done);
        self.log(format!(
            "originate {} -> {}",
            request.agent_endpoint, request.customer_number
        ))?;
        self.originates.lock().unwrap().push(request);
        match self.originate_error.lock().unwrap().take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
    async fn hangup(&self, leg: &LegId, _cause: Option<HangupCause>) -> Result<(), ProviderError> {
        self.log(format!("hangup {leg}"))
    }
    async fn answer(&self, leg: &LegId) -> Result<(), ProviderError> {
        self.log(format!("answer {leg}"))
    }
    async fn blind_transfer(&self, r: BlindTransferRequest) -> Result<(), ProviderError> {
        self.log(format!("blind_transfer {} {}", r.leg, r.destination))
    }
    async fn start_attended_transfer(
        &self,
        r: AttendedTransferRequest,
    ) -> Result<TransferId, ProviderError> {
        self.log(format!(
            "attended_transfer {} {}",
            r.transferer, r.destination
        ))?;
        Ok(TransferId(format!("xfer-{}", r.transferer)))
    }
    async fn complete_attended_transfer(&self, t: &TransferId) -> Result<(), ProviderError> {
        self.log(format!("complete_transfer {t}"))
    }
    async fn cancel_attended_transfer(&self, t: &TransferId) -> Result<(), ProviderError> {
        self.log(format!("cancel_transfer {t}"))
    }
    async fn park(&self, r: ParkRequest) -> Result<(), ProviderError> {
        self.log(format!("park {}", r.leg))
    }
    async fn parked_calls(&self) -> Result<Vec<ParkedCall>, ProviderError> {
        self.log("parked_calls".to_owned())?;
        Ok(self.parked.lock().unwrap().clone())
    }
    async fn pickup_parked(&self, r: PickupRequest) -> Result<(), ProviderError> {
        self.log(format!("pickup {} {}", r.slot, r.endpoint))?;
        self.pickups.lock().unwrap().push(r);
        Ok(())
    }
    async fn hold(&self, leg: &LegId) -> Result<(), ProviderError> {
        self.log(format!("hold {leg}"))
    }
    async fn unhold(&self, leg: &LegId) -> Result<(), ProviderError> {
        self.log(format!("unhold {leg}"))
    }
    async fn mute(&self, leg: &LegId, d: MediaDirection) -> Result<(), ProviderError> {
        self.log(format!("mute {leg} {d:?}"))
    }
    async fn unmute(&self, leg: &LegId, d: MediaDirection) -> Result<(), ProviderError> {
        self.log(format!("unmute {leg} {d:?}"))
    }
    async fn send_dtmf(&self, leg: &LegId, digits: &str) -> Result<(), ProviderError> {
        self.log(format!("dtmf {leg} {digits}"))
    }
    async fn start_recording(&self, r: RecordingRequest) -> Result<String, ProviderError> {
        self.log(format!("record_start {}", r.leg))?;
        // Unique per recording, as a platform's names are.
        let mut started = self.recordings.lock().unwrap();
        let n = started.iter().filter(|x| x.call_id == r.call_id).count();
        let name = match n {
            0 => format!("rec-{}", r.call_id),
            n => format!("rec-{}-{n}", r.call_id),
        };
        started.push(r);
        Ok(name)
    }
    async fn stop_recording(&self, leg: &LegId, rec: &str) -> Result<(), ProviderError> {
        self.log(format!("record_stop {leg} {rec}"))
    }
    async fn pause_recording(&self, leg: &LegId, rec: &str) -> Result<(), ProviderError> {
        self.log(format!("record_pause {leg} {rec}"))
    }
    async fn resume_recording(&self, leg: &LegId, rec: &str) -> Result<(), ProviderError> {
        self.log(format!("record_resume {leg} {rec}"))
    }
    fn events(&self) -> LegEventStream {
        Box::pin(stream::empty())
    }
    async fn snapshot(&self) -> Result<Vec<LegSnapshot>, ProviderError> {
        Ok(Vec::new())
    }
}

/// A probe whose connection flag the test sets; its round trip answers from that flag.
#[derive(Debug)]
pub struct FlagProbe(pub Arc<RecordingProvider>);

#[async_trait]
impl ServerProbe for FlagProbe {
    fn connected(&self) -> Option<bool> {
        Some(!self.0.disconnected.load(Ordering::SeqCst))
    }
    async fn test(&self) -> Result<ProbeReport, ProviderError> {
        if self.0.disconnected.load(Ordering::SeqCst) {
            return Err(ProviderError::NotConnected {
                provider: "pbx1".into(),
            });
        }
        Ok(ProbeReport {
            latency_ms: 0,
            detail: Some("pong".into()),
        })
    }
}

/// One tenant's people.
#[derive(Debug, Clone)]
pub struct TenantFixture {
    pub tenant: TenantId,
    pub slug: String,
    pub admin: String,
    pub supervisor: String,
    pub agent1: String,
    pub agent2: String,
    pub agent1_rec: Agent,
    pub agent2_rec: Agent,
    pub agent1_user: Uuid,
}

pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    pub store: Store,
    pub provider: Arc<RecordingProvider>,
    pub a: TenantFixture,
    pub b: TenantFixture,
}

/// Which database a suite runs on: SQLite always, PostgreSQL when configured.
pub enum Db {
    Sqlite,
    Postgres,
}

/// The PostgreSQL URL, or None (printing why) when the suite must be skipped; under CI the
/// variable is required.
pub fn postgres_url(test: &str) -> Option<String> {
    match std::env::var("HOOKFLASH_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{test}: HOOKFLASH_TEST_POSTGRES_URL must be set under CI");
            }
            println!("skipped: {test}: set HOOKFLASH_TEST_POSTGRES_URL (scripts/test.sh does)");
            None
        }
    }
}

pub async fn store_for(db: Db) -> Store {
    let url = match db {
        Db::Sqlite => {
            let dir = std::env::temp_dir().join(format!("hookflash-api-{}", Uuid::new_v4()));
            std::fs::create_dir_all(&dir).unwrap();
            format!("sqlite://{}/api.db?mode=rwc", dir.display())
        }
        Db::Postgres => std::env::var("HOOKFLASH_TEST_POSTGRES_URL").unwrap(),
    };
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    store
}

async fn tenant(store: &Store, state: &AppState, label: &str) -> TenantFixture {
    let slug = format!("{label}-{}", Uuid::new_v4().simple());
    let t = store.tenants().create(label, &slug).await.unwrap();
    let tid = t.tenant_id();
    let mut tokens = Vec::new();
    let mut users = Vec::new();
    for (name, role) in [
        ("admin", UserRole::Admin),
        ("super", UserRole::Supervisor),
        ("agent1", UserRole::Agent),
        ("agent2", UserRole::Agent),
    ] {
        let u = store
            .users()
            .create(
                tid,
                NewUser {
                    username: name.into(),
                    email: None,
                    display_name: None,
                    password: format!("{name}-password"),
                    role,
                },
            )
            .await
            .unwrap();
        let role = match role {
            UserRole::Admin => Role::Admin,
            UserRole::Supervisor => Role::Supervisor,
            _ => Role::Agent,
        };
        tokens.push(state.jwt().issue(u.id, tid, role).unwrap().access_token);
        users.push(u.id);
    }
    let mut agents = Vec::new();
    for (i, user) in users[2..].iter().enumerate() {
        let a = store
            .agents()
            .create(
                tid,
                NewAgent {
                    user_id: Some(*user),
                    display_name: format!("Agent {i}"),
                    endpoint: format!("PJSIP/{}{}", label, 1001 + i),
                    extension: None,
                    skills: Vec::new(),
                },
            )
            .await
            .unwrap();
        agents.push(a);
    }
    TenantFixture {
        tenant: tid,
        slug,
        admin: tokens[0].clone(),
        supervisor: tokens[1].clone(),
        agent1: tokens[2].clone(),
        agent2: tokens[3].clone(),
        agent1_rec: agents[0].clone(),
        agent2_rec: agents[1].clone(),
        agent1_user: users[2],
    }
}

impl TestApp {
    pub async fn new(db: Db) -> TestApp {
        Self::with_settings(db, |_| {}).await
    }

    pub async fn with_settings(db: Db, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let store = store_for(db).await;
        let provider = Arc::new(RecordingProvider::default());
        let mut registry = ProviderRegistry::new();
        registry.insert(
            "pbx1",
            Protocol::Ami,
            provider.clone(),
            Arc::new(FlagProbe(provider.clone())),
        );
        let config = Config {
            jwt_secret: Some("test-secret".into()),
            ..Config::default()
        };
        let mut settings = Settings::from_config(&config);
        tweak(&mut settings);
        let state = AppState::new(store.clone(), registry, EventBus::new(64), settings);
        let a = tenant(&store, &state, "ta").await;
        let b = tenant(&store, &state, "tb").await;
        let router = hookflash_api::router(state.clone());
        TestApp {
            state,
            router,
            store,
            provider,
            a,
            b,
        }
    }

    /// Stores a live call of `agent` in `tenant` with both legs, as the tracker would.
    pub async fn live_call(&self, t: &TenantFixture, agent: &Agent) -> CallId {
        let id = CallId::new_random();
        let mut row = CallRow::new(id, t.tenant, "outbound", "ami", "connected", Utc::now());
        row.version = 3;
        row.server = Some("pbx1".into());
        row.agent_id = Some(agent.id.to_string());
        row.agent_leg_id = Some(format!("agent-leg-{id}"));
        row.customer_leg_id = Some(format!("cust-leg-{id}"));
        row.agent_channel = Some(format!("{}-00000001", agent.endpoint));
        row.to_number = Some("+12025550143".into());
        self.store.write_call(&CallWrite::call(row)).await.unwrap();
        id
    }

    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let body = match body {
            Some(v) => {
                req = req.header("content-type", "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        self.raw(req.body(body).unwrap()).await
    }

    pub async fn raw(&self, req: Request<Body>) -> (StatusCode, Value) {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let v = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, v)
    }
}

pub fn error_code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

/// Runs each named `async fn(Db)` of the including test file once on SQLite and once on
/// PostgreSQL (skipped with a printed reason, or failing under `CI=true`, without a URL).
#[allow(unused_macros)] // not every test binary that includes this module runs on both
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Db::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    if super::postgres_url(concat!("postgres::", stringify!($name))).is_none() {
                        return;
                    }
                    super::$name(super::Db::Postgres).await;
                }
            )*
        }
    };
}
