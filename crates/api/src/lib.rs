#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
//! The hookflash HTTP + WebSocket API: an axum router with authentication, tenant scoping,
//! call-control handlers over `CallProvider`, a WebSocket hub fed by the event bus, and an
//! OpenAPI description generated from the handlers.
//!
//! It is a library so that the `api-server` binary, tests and other programs can mount it
//! in-process.

pub mod bus;
pub mod listener;
