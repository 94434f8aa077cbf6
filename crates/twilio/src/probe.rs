//! The Twilio account probe: `GET /2010-04-01/Accounts/{sid}.json` with the account's
//! credentials (the real round trip behind the API's server test and `/readyz`; see
//! [`hookflash_provider::ServerProbe`]).

use std::time::{Duration, Instant};

use async_trait::async_trait;
use hookflash_provider::{ProbeReport, ProviderError, ServerProbe, probe_elapsed_ms as elapsed_ms};

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
