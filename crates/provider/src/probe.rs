//! Server probes: a live check of one configured platform connection, behind the API's
//! `POST /api/v1/servers/{name}/test`, `GET /api/v1/servers` and `/readyz`.
//!
//! The trait lives here, beside [`CallProvider`](crate::CallProvider), so that the HTTP layer
//! asks "is this server there?" without knowing a platform: each provider crate ships its own
//! probe (AMI `Ping` and ARI `GET /asterisk/info` in `hookflash-asterisk`, the account fetch in
//! `hookflash-twilio`).

use std::time::Instant;

use async_trait::async_trait;
use serde::Serialize;

use crate::ProviderError;

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeReport {
    /// How long the round trip took, in milliseconds.
    pub latency_ms: u64,
    /// What the server said (e.g. the Asterisk version, the Twilio account status).
    pub detail: Option<String>,
}

/// A live check of one configured server.
#[async_trait]
pub trait ServerProbe: Send + Sync {
    /// The connection state as the client last saw it (no round trip); `None` when the client
    /// keeps no connection (HTTP-only APIs).
    fn connected(&self) -> Option<bool>;

    /// A real round trip to the server.
    async fn test(&self) -> Result<ProbeReport, ProviderError>;
}

/// Milliseconds since `start`, saturating (a probe's latency).
pub fn elapsed_ms(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}
