#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
//! The hookflash event pipeline: provider events → call trackers → store → event bus.
//!
//! - [`listener`]: one task per configured PBX connection ([`listener::Source`]), each with
//!   its own sans-IO `hookflash_calls::Tracker`, all writing through one
//!   `hookflash_store::BatchWriter`; reconcile at start and after every reconnect, CDRs
//!   stored from the providers' [`ProviderEvent::Cdr`](hookflash_provider::ProviderEvent::Cdr).
//! - [`bus`]: where call updates are published: the in-process [`bus::EventBus`] (one node)
//!   or PostgreSQL LISTEN/NOTIFY (a separate listener beside api-servers).
//!
//! It knows no platform: it sees providers only through `hookflash_provider::CallProvider`
//! and its neutral events (layer "pipeline" in the design: providers, state, store below it;
//! the HTTP API and the composition library above).

pub mod bus;
mod error;
pub mod listener;

pub use error::{PipelineError, Result};
