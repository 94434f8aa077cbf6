#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
//! [`CallProvider`](hookflash_provider::CallProvider) implementations for Asterisk 22: one over
//! the Asterisk Manager Interface ([`AmiProvider`]) and one over the Asterisk REST Interface.
//! Both drive the same calls and produce the same leg events, so the call tracker builds the
//! same records whichever protocol is used.

mod ami;
mod ari;

pub use ami::{AmiProvider, AmiProviderConfig, AmiTranslator, OriginateKind};
pub use ari::{AriProvider, AriProviderConfig, CustomerLeg};
