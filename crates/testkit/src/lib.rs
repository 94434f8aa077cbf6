//! Dev-only helpers shared by hookflash's test suites. Used only as a dev-dependency, never
//! published.
//!
//! * [`live_host`] / [`live_peer`]: the gate of every live test on the Asterisk peer
//!   (`scripts/asterisk-peer/`). Without `HOOKFLASH_LIVE_ASTERISK` a test prints
//!   `skipped: <test>: <why>` and passes; under `CI=true` it fails instead, so CI never passes
//!   by skipping.
//! * [`Phone`]: a sipp phone started by `scripts/asterisk-peer/phone.sh`, stopped on drop.
//! * [`PeerGuard`]: hangs up, on drop, every channel the test left on the peer, so a failed
//!   live test does not leave channels up that break the live tests after it.
//! * [`fixtures_dir`], [`peer_dir`], [`workspace_dir`]: where the captured transcripts and the
//!   peer kit are (`HOOKFLASH_FIXTURES_DIR` and `HOOKFLASH_PEER_DIR` override them).
//!
//! It has no dependencies (std only), so any crate of the workspace can use it without a
//! dependency cycle, and everything here is blocking: [`PeerGuard`] works in `Drop`, also while
//! a test panics inside a tokio runtime.

mod ami;
mod gate;
mod paths;
mod peer;
mod phone;

pub use gate::{CI_VAR, LIVE_VAR, live_host, live_peer};
pub use paths::{FIXTURES_VAR, PEER_DIR_VAR, fixtures_dir, peer_dir, workspace_dir};
pub use peer::{AmiLogin, PEER_ROOT_VAR, PeerGuard, peer_root};
pub use phone::Phone;
