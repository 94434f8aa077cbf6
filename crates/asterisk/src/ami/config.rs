//! Configuration of the AMI provider.

use hookflash_ami::AmiConfig;

/// How [`AmiProvider`](crate::AmiProvider) reaches Asterisk and places calls.
#[derive(Debug, Clone)]
pub struct AmiProviderConfig {
    /// The AMI connection (host, port, credentials, reconnect policy).
    pub ami: AmiConfig,
}

impl AmiProviderConfig {
    /// A configuration over the given AMI connection with hookflash's defaults.
    pub fn new(ami: AmiConfig) -> Self {
        Self { ami }
    }
}
