//! AmiProvider: call control over the Asterisk Manager Interface.

mod config;
mod provider;

pub use config::AmiProviderConfig;
pub use provider::AmiProvider;
