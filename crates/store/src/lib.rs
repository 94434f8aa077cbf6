#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
//! Persistence for hookflash, on SQLite (the embedded default: one file, nothing to install)
//! or PostgreSQL (shared by several api-servers and event-listeners).
//!
//! # Behaviour
//! - [`Store::connect`] picks the database by URL scheme. SQLite runs in WAL mode with a busy
//!   timeout and foreign keys on; PostgreSQL is pooled. [`Store::migrate`] applies the
//!   embedded migrations (`migrations/sqlite`, `migrations/postgres`).
//! - Every repository method that reads tenant data takes a [`TenantId`] and filters by it:
//!   given tenant A it never returns tenant B's rows (a get by B's id is `None`). The only
//!   lookups without one are [`Tenants`] themselves and [`ApiKeys::verify`], where the key is
//!   what names the tenant.
//! - Tracker output is written through [`Store::write_calls`] or the [`BatchWriter`]
//!   (bounded queue, one transaction per batch). Writes are idempotent: calls by id (never
//!   older over newer), legs by `(call, leg)`, events by `(call, seq)`.
//! - Ids are UUIDs (`BLOB` in SQLite, `UUID` in PostgreSQL); times are UTC (`TEXT` RFC 3339 /
//!   `TIMESTAMPTZ`) at microsecond precision; JSON is `TEXT` / `JSONB`.
//! - Every query is written once with `$N` placeholders, which both sqlx drivers accept; the
//!   few dialect differences (metadata merge, `FOR UPDATE SKIP LOCKED`, LISTEN/NOTIFY) are
//!   chosen by [`Store::dialect`].
//! - Tracker snapshots do not erase what they do not know: agent, campaign, contact, numbers,
//!   DID and wrap-up set by the API survive later tracker writes (see [`CallWrite`]).
//! - Errors: one [`StoreError`]; database details stay in its source, for logs only.

mod agent_log;
mod agents;
mod api_keys;
mod batch;
mod call_write;
mod calls;
mod calls_open;
mod campaigns;
mod cdr;
mod contacts;
mod db;
mod dids;
mod dnc;
mod error;
mod media;
mod migrate;
mod notify;
mod records;
mod tenants;
mod text_enum;
mod users;
mod users_admin;
mod users_sessions;
mod util;

pub use agent_log::{AgentStateLog, StateTime};
pub use agents::{Agent, AgentSession, AgentState, Agents, NewAgent};
pub use api_keys::{API_KEY_PREFIX, ApiKey, ApiKeys, CreatedApiKey, NewApiKey};
pub use batch::{BatchConfig, BatchWriter, DeadLetter, WriterStats};
pub use call_write::{CallWrite, WriteStats};
pub use calls::{
    CallCursor, CallDetail, CallFilter, CallRow, CallStats, Calls, EventRow, LegRow, MAX_PAGE,
    Page, StatsQuery,
};
pub use calls_open::OpenCall;
pub use campaigns::{
    CallerIdStrategy, Campaign, CampaignMode, CampaignStatus, Campaigns, NewCampaign,
};
pub use cdr::{Cdr, Cdrs};
pub use contacts::{Contact, ContactFilter, ContactStatus, Contacts, NewContact};
pub use db::{ConnectOptions, Db, Dialect, Store};
pub use dids::{Did, Dids};
pub use dnc::{Dnc, DncEntry};
pub use error::StoreError;
pub use hookflash_provider::{CallId, TenantId};
pub use media::{NewRecording, Recording, Recordings, Sound, Sounds, StartedRecording};
pub use migrate::{MigrationProgress, MigrationState, MigrationStatusKind};
pub use notify::{ListenItem, Notification};
pub use tenants::{Tenant, Tenants};
pub use users::{NewUser, User, UserRole, Users};
pub use users_admin::one_time_password;
pub use users_sessions::{RefreshToken, RefreshUse};

impl Store {
    /// Tenants.
    pub fn tenants(&self) -> Tenants<'_> {
        Tenants { store: self }
    }
    /// Users.
    pub fn users(&self) -> Users<'_> {
        Users { store: self }
    }
    /// Api keys.
    pub fn api_keys(&self) -> ApiKeys<'_> {
        ApiKeys { store: self }
    }
    /// Agents and their sessions.
    pub fn agents(&self) -> Agents<'_> {
        Agents { store: self }
    }
    /// The agent-state log (every change the agent-state machine emits) and its report.
    pub fn agent_state_log(&self) -> AgentStateLog<'_> {
        AgentStateLog { store: self }
    }
    /// Campaigns.
    pub fn campaigns(&self) -> Campaigns<'_> {
        Campaigns { store: self }
    }
    /// Contacts.
    pub fn contacts(&self) -> Contacts<'_> {
        Contacts { store: self }
    }
    /// The do-not-call list.
    pub fn dnc(&self) -> Dnc<'_> {
        Dnc { store: self }
    }
    /// DIDs.
    pub fn dids(&self) -> Dids<'_> {
        Dids { store: self }
    }
    /// Sounds.
    pub fn sounds(&self) -> Sounds<'_> {
        Sounds { store: self }
    }
    /// Recordings.
    pub fn recordings(&self) -> Recordings<'_> {
        Recordings { store: self }
    }
    /// Raw CDRs.
    pub fn cdrs(&self) -> Cdrs<'_> {
        Cdrs { store: self }
    }
    /// Calls (reads, wrap-up, statistics).
    pub fn calls(&self) -> Calls<'_> {
        Calls { store: self }
    }
}
