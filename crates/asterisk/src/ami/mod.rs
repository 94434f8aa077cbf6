//! AmiProvider: call control over the Asterisk Manager Interface.

mod actions;
mod cdr;
mod config;
mod park;
mod provider;
mod translate;

pub use config::AmiProviderConfig;
pub use provider::AmiProvider;
pub use translate::{AmiTranslator, OriginateKind};
