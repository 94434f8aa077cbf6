//! Server probes of an Asterisk: AMI `Ping` and ARI `GET /asterisk/info` (the real round trip
//! behind the API's server test and `/readyz`; see [`hookflash_provider::ServerProbe`]).

use std::time::Instant;

use async_trait::async_trait;
use hookflash_provider::{ProbeReport, ProviderError, ServerProbe, probe_elapsed_ms as elapsed_ms};

/// AMI: `Action: Ping` must come back `Response: Success`.
#[derive(Debug, Clone)]
pub struct AmiPing {
    name: String,
    client: hookflash_ami::AmiClient,
}

impl AmiPing {
    /// Probes through `client`; `name` is the configured server name used in errors.
    pub fn new(name: impl Into<String>, client: hookflash_ami::AmiClient) -> Self {
        Self {
            name: name.into(),
            client,
        }
    }
}

#[async_trait]
impl ServerProbe for AmiPing {
    fn connected(&self) -> Option<bool> {
        Some(self.client.is_connected())
    }

    async fn test(&self) -> Result<ProbeReport, ProviderError> {
        if !self.client.is_connected() {
            return Err(ProviderError::NotConnected {
                provider: self.name.clone(),
            });
        }
        let start = Instant::now();
        let response = self
            .client
            .send(hookflash_ami::Action::new("Ping"))
            .await
            .map_err(ProviderError::transport)?;
        if !response.is_success() {
            return Err(ProviderError::Rejected {
                reason: response.message().unwrap_or("Ping failed").to_owned(),
            });
        }
        Ok(ProbeReport {
            latency_ms: elapsed_ms(start),
            detail: response.get("Ping").map(|t| format!("Ping: {t}")),
        })
    }
}

/// ARI: `GET /asterisk/info` must answer with the system info.
#[derive(Debug, Clone)]
pub struct AriInfo {
    client: hookflash_ari::Client,
}

impl AriInfo {
    /// Probes through `client`.
    pub fn new(client: hookflash_ari::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl ServerProbe for AriInfo {
    fn connected(&self) -> Option<bool> {
        None
    }

    async fn test(&self) -> Result<ProbeReport, ProviderError> {
        let start = Instant::now();
        let info = self
            .client
            .asterisk()
            .get_info(hookflash_ari::AsteriskGetInfoOptions::new().only(["system"]))
            .await
            .map_err(ProviderError::transport)?;
        Ok(ProbeReport {
            latency_ms: elapsed_ms(start),
            detail: info.system.map(|s| format!("Asterisk {}", s.version)),
        })
    }
}
