#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
//! The hookflash HTTP + WebSocket API: an axum router with authentication, tenant scoping,
//! call-control handlers over `CallProvider`, a WebSocket hub fed by the event bus, and an
//! OpenAPI description generated from the handlers.
//!
//! It is a library so that the `api-server` binary, tests and other programs can mount it
//! in-process:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use hookflash_api::{AppState, Config, ProviderRegistry, Settings, bus::EventBus, router};
//! let config = Config::load(None)?;
//! let store = hookflash_store::Store::connect(&config.database_url).await?;
//! store.migrate().await?;
//! if let Some(pw) = hookflash_api::ensure_default_tenant_and_admin(&store, config.admin_password.clone()).await? {
//!     println!("admin password (shown once): {pw}");
//! }
//! let state = AppState::new(store, ProviderRegistry::new(), EventBus::default(), Settings::from_config(&config));
//! let app = router(state);
//! # let _ = app; Ok(()) }
//! ```
//!
//! # Contracts
//! - Every request is scoped to the caller's tenant; an id of another tenant (or, for an
//!   agent, of another agent's call) answers 404, never 403.
//! - Errors are `{ "error": { "code", "message" } }` with stable codes ([`ApiError::code`]).
//! - Handlers reach the PBX only through `Arc<dyn CallProvider>`; a command's outcome arrives as
//!   events (the tracker decides call state), so call controls answer 202.
//! - `POST /api/v1/calls` records the call as `created` in the store before asking the provider
//!   to originate; a failed originate closes that record as `failed`.

#[macro_use]
mod redact;
mod auth;
mod bootstrap;
mod config;
mod error;
mod extract;
mod login_limit;
mod metrics;
mod openapi;
mod password;
mod phone;
mod router;
mod routes;
mod serve;
mod state;
mod variable_policy;
mod views;
mod ws;
mod ws_messages;

pub use auth::{
    ACCESS_TTL, Caller, Claims, JwtKeys, REFRESH_TTL, Role, Session, SessionChange, SessionChanges,
    SessionGrant, TokenPair, authenticate_session, authenticate_token,
};
pub use bootstrap::{ADMIN_USERNAME, ensure_default_tenant_and_admin};
pub use config::{Config, DEFAULT_DATABASE_URL, DialFormat, PhoneValidation, Protocol};
pub use error::{ApiError, ErrorBody, ErrorDetail, Result};
/// The event bus the WebSocket hub reads (the pipeline publishes into it); it lives in
/// `hookflash-pipeline`.
pub use hookflash_pipeline::bus;
/// Server probes are provider-side code: the trait and its report live in
/// `hookflash-provider`, each platform's probe in its provider crate.
pub use hookflash_provider::{ProbeReport, ServerProbe};
pub use metrics::Metrics;
pub use openapi::openapi;
pub use phone::{dial_string, normalize_e164, normalize_e164_with, reject_crlf};
pub use router::router;
pub use routes::auth::DEFAULT_TENANT_SLUG;
/// The secret wrapper of the configuration (`secrecy`): `Debug` never prints its content.
pub use secrecy::{ExposeSecret, SecretString};
pub use serve::{ServeConfig, serve};
pub use state::{AppState, ProviderRegistry, ServerEntry, Settings};
pub use variable_policy::VariablePolicy;
pub use ws::{
    CLOSE_ROLE_CHANGED, CLOSE_SESSION_EXPIRED, CLOSE_SESSION_REVOKED, CLOSE_TOO_SLOW, SEND_TIMEOUT,
};

/// Request and response bodies of the API, as they appear in the OpenAPI document.
pub mod model {
    pub use crate::routes::agents::{AgentBody, AgentStateBody, AgentStateSel, AgentView};
    pub use crate::routes::api_keys::{ApiKeyView, CreateApiKeyBody, CreatedApiKeyView};
    pub use crate::routes::auth::{ChangePasswordBody, LoginBody, RefreshBody};
    pub use crate::routes::calls::{
        ActionAccepted, CallAccepted, CallDetailView, CallPage, CallView, CreateCall,
        DispositionBody, DtmfBody, EventView, LegView, ListCalls, MuteBody, ParkBody, PartyBody,
        PartySel,
    };
    pub use crate::routes::health::{Check, Readiness};
    pub use crate::routes::recordings::{RecordBody, RecordingSel, RecordingView};
    pub use crate::routes::servers::ServerView;
    pub use crate::routes::stats::{LiveStats, RangeStats, StatsParams, StatsView};
    pub use crate::routes::tenants::{
        CreateTenantBody, CreatedTenant, TenantView, UpdateTenantBody,
    };
    pub use crate::routes::transfers::{CreateTransfer, TransferKindSel, TransferView};
    pub use crate::routes::users::{
        CreateUserBody, CreatedUser, MIN_PASSWORD_LEN, UpdateUserBody, UserView,
    };
    pub use crate::views::{CallParkView, CallRecordingView, CallTransferView, NumberReading};
    pub use crate::ws_messages::{OfferContact, WsMessage};
}

/// The pipeline reads inbound numbers exactly as the API validates them.
impl hookflash_pipeline::listener::InboundNumbers for views::NumberReading {
    fn e164(&self, number: &str) -> Option<String> {
        views::NumberReading::e164(self, number)
    }
}
