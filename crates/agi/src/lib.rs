#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
//! Asterisk FastAGI for hookflash: a sans-IO codec, typed commands and a tokio server.
//!
//! # Layers
//!
//! * [`AgiCodec`] (no I/O, no tokio): bytes in, [`Frame`]s out — the `agi_*` environment
//!   block, replies ([`Reply`]: `200 result=.. (data) endpos=..`, `510`, `511`, single- and
//!   multi-line `520`) and the `HANGUP` line Asterisk sends on its own whenever the channel
//!   hangs up, also before the reply to a command in flight. Lines, environment blocks and
//!   usage texts are bounded; bad input is a typed error that consumes it, never a panic.
//! * [`Command`]: the commands call flows use, encoded so no argument can end the line or
//!   smuggle in a second command (CR/LF/NUL refused, strings quoted as Asterisk parses them,
//!   variable and application names limited to `[A-Za-z0-9_]`).
//! * [`AgiServer`]: the accept loop (127.0.0.1:4573 by default; a non-loopback address
//!   must be allowed explicitly, since AGI has no authentication), routing by script path
//!   ([`Router`]), one [`AgiHandler`] call per connection, bounded concurrent sessions,
//!   per-command timeouts, graceful shutdown.
//! * [`AgiSession`]: the dialogue of one connection, with the channel's
//!   [`AgiSession::uniqueid`], [`AgiSession::channel`] and [`AgiSession::call_id`] (the
//!   `HOOKFLASH_CALL_ID` channel variable) so what a script does joins the call record.
//!
//! # Behaviour contracts
//!
//! * One command at a time; each waits at most [`ServerConfig::command_timeout`]. A timeout
//!   means the outcome is unknown and the session is closed (refuses further commands).
//! * `HANGUP` never desynchronises the dialogue: it is recorded
//!   ([`AgiSession::is_hung_up`]) and the reply that follows is returned as usual.
//! * When the handler returns, the connection closes and `AGI()` returns to the dialplan.

mod codec;
mod command;
mod env;
mod error;
mod reply;
mod server;
mod session;

pub use codec::{
    AgiCodec, DEFAULT_MAX_ENV_VARS, DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_USAGE_LINES, Frame,
};
pub use command::Command;
pub use env::AgiEnv;
pub use error::AgiError;
pub use reply::{Reply, Success};
pub use server::{
    AgiHandler, AgiServer, DEFAULT_PORT, Router, ServerConfig, SessionEnd, serve_connection,
};
pub use session::{AgiIo, AgiSession, CALL_ID_VARIABLE, Digits};
