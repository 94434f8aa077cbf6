#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
//! The hookflash composition library: what the `api-server` and `event-listener` binaries
//! run, so that each `main.rs` only parses its command line.
//!
//! - configuration: [`ServerConfig`] (one TOML file plus environment: the listen address, the
//!   Asterisk servers and Twilio accounts here, the API's own settings in [`ApiConfig`]),
//! - the provider factory ([`connect_providers`]): AMI, ARI and Twilio connections from the
//!   configuration, with a stand-in for a PBX that is down at start (connected in the
//!   background with backoff),
//! - health and metrics: the listener's `/healthz` and `/metrics` ([`health_router`]); the
//!   api-server's `/metrics` includes the embedded pipeline's figures,
//! - shutdown ([`shutdown_signal`]): Ctrl-C or SIGTERM, then every pending write flushed,
//! - the services: [`run_api_server`], [`run_event_listener`].
//!
//! It is the only layer that knows every platform crate (design: "composition").

mod config;
mod connect;
mod error;
mod health;
mod late;
mod run;
mod shutdown;

pub use config::{AsteriskServer, ConfigError, DEFAULT_LISTEN, ServerConfig, TwilioAccount};
pub use connect::{Connected, connect_providers};
pub use error::{Cause, Result, ServerError};
pub use health::{HealthState, health_router};
pub use hookflash_api::{Config as ApiConfig, DEFAULT_DATABASE_URL, Protocol};
pub use run::{ApiServerOptions, ListenerOptions, run_api_server, run_event_listener};
pub use shutdown::shutdown_signal;
