//! AriProvider: call control over the Asterisk REST Interface, as one Stasis application.
//!
//! - `config`: [`AriProviderConfig`] and [`CustomerLeg`].
//! - `translate`: [`AriTranslator`], the sans-IO ARI event → leg event translation (what the
//!   provider knows of each channel).
//! - `book`: what the provider knows of its calls and bridges around the translator, and the
//!   call-control steps events trigger.
//! - `provider`: [`AriProvider`], its event loop, call setup and resync.
//! - `commands`: the `CallProvider` commands.
//! - `transfer`: blind transfer destinations and the outcome of a ringing target.
//! - `park`: the provider's parking lot, the return of a timed-out call and pick-up.

mod book;
mod commands;
mod config;
mod park;
mod provider;
#[cfg(test)]
mod tests;
mod transfer;
mod translate;

pub use config::{AriProviderConfig, CustomerLeg};
pub use provider::AriProvider;
pub use translate::AriTranslator;
