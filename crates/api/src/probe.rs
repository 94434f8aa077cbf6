//! Server probes: the real round trip behind `POST /api/v1/servers/{name}/test` and the live
//! status of `GET /api/v1/servers` (AMI `Ping`, ARI `GET /asterisk/info`, Twilio account fetch).

use std::time::{Duration, Instant};

use async_trait::async_trait;
use hookflash_provider::ProviderError;
use serde::Serialize;
use utoipa::ToSchema;

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
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

fn elapsed_ms(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

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

/// Twilio: `GET /2010-04-01/Accounts/{sid}.json` with the account's credentials.
#[derive(Debug, Clone)]
pub struct TwilioAccountFetch {
    http: reqwest::Client,
    base_url: String,
    account_sid: String,
    auth_token: String,
}

impl TwilioAccountFetch {
    /// Probes the account at `base_url` (normally `https://api.twilio.com`).
    ///
    /// # Errors
    /// A transport error when the HTTP client cannot be built.
    pub fn new(
        base_url: impl Into<String>,
        account_sid: impl Into<String>,
        auth_token: impl Into<String>,
    ) -> Result<Self, ProviderError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(ProviderError::transport)?;
        Ok(Self {
            http,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            account_sid: account_sid.into(),
            auth_token: auth_token.into(),
        })
    }
}

#[async_trait]
impl ServerProbe for TwilioAccountFetch {
    fn connected(&self) -> Option<bool> {
        None
    }

    async fn test(&self) -> Result<ProbeReport, ProviderError> {
        let start = Instant::now();
        let url = format!(
            "{}/2010-04-01/Accounts/{}.json",
            self.base_url, self.account_sid
        );
        let response = self
            .http
            .get(url)
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .send()
            .await
            .map_err(ProviderError::transport)?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(ProviderError::Auth {
                message: format!("Twilio answered {status}"),
            });
        }
        if !status.is_success() {
            return Err(ProviderError::Rejected {
                reason: format!("Twilio answered {status}"),
            });
        }
        let body: serde_json::Value = response.json().await.map_err(ProviderError::transport)?;
        Ok(ProbeReport {
            latency_ms: elapsed_ms(start),
            detail: body
                .get("status")
                .and_then(|s| s.as_str())
                .map(|s| format!("account {s}")),
        })
    }
}
