//! AriProvider: call control over the Asterisk REST Interface, as one Stasis application.
//!
//! - `config`: [`AriProviderConfig`] and [`CustomerLeg`].
//! - `book`: what the provider knows of its channels, calls and bridges; ARI event → leg
//!   event translation and the call-control steps events trigger.
//! - `provider`: [`AriProvider`], its event loop, call setup and resync.
//! - `commands`: the `CallProvider` commands.
//! - `transfer`: blind transfer destinations and the outcome of a ringing target.

mod book;
mod commands;
mod config;
mod provider;
#[cfg(test)]
mod tests;
mod transfer;

pub use config::{AriProviderConfig, CustomerLeg};
pub use provider::AriProvider;
