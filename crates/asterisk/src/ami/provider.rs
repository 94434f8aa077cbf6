//! The AMI provider: owns an AMI client and turns its events into leg events.

use hookflash_ami::AmiClient;

use super::config::AmiProviderConfig;

/// A [`CallProvider`](hookflash_provider::CallProvider) over the Asterisk Manager Interface.
#[derive(Debug, Clone)]
pub struct AmiProvider {
    client: AmiClient,
    config: AmiProviderConfig,
}

impl AmiProvider {
    /// Connects and logs in to AMI.
    pub async fn connect(config: AmiProviderConfig) -> Result<Self, hookflash_ami::AmiError> {
        let (client, _events) = AmiClient::connect(config.ami.clone()).await?;
        Ok(Self { client, config })
    }

    /// The configuration this provider was built with.
    pub fn config(&self) -> &AmiProviderConfig {
        &self.config
    }

    /// The underlying AMI client.
    pub fn client(&self) -> &AmiClient {
        &self.client
    }
}
