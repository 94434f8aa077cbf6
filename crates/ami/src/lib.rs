#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
//! Asterisk Manager Interface (AMI) for hookflash: a sans-IO framing codec, typed events and a
//! thin async client.
//!
//! # Layers
//!
//! * [`AmiCodec`] (no I/O, no tokio): bytes in, [`Frame`]s out; [`Action`]s in, bytes out.
//!   It implements `tokio_util::codec::{Decoder, Encoder}`.
//! * [`Message`]: ordered `Key: value` headers over one shared frame buffer (zero-copy
//!   [`Text`] values, case-insensitive lookup, repeated keys kept in order).
//! * [`Response`] and [`Event`]: typed views. Every event that is not typed (or is on the
//!   [`DELIBERATELY_RAW`] list) is [`Event::Other`]: nothing is dropped.
//!
//! # Client behaviour contracts
//!
//! [`AmiClient::connect`] connects (TCP, or TLS through `tokio-rustls` with the `ring`
//! provider), reads the banner and logs in (plain `Secret` or MD5 `Challenge`), then spawns one
//! task that owns the socket and the map of pending ActionIDs. Handles (`AmiClient`, cheap to
//! clone) talk to it over a bounded channel, each action with its own `oneshot` reply.
//!
//! * **ActionIDs** are `<prefix>-<connection>-<n>`: the prefix is random per client (48 bits)
//!   or set by [`AmiConfig::action_id_prefix`], the connection number grows on each reconnect
//!   and `n` per action, so they are unique per connection and per process (no clock involved).
//!   Any ActionID already on an [`Action`] is replaced.
//! * **Exactly once**: every action future resolves once, with its response, an error response
//!   ([`AmiError::ActionFailed`]), [`AmiError::Timeout`] (per-action deadline), or
//!   [`AmiError::ConnectionLost`] when the link drops while it is in flight.
//! * **Sent or not**: an action is written when the task takes it from the queue. An action
//!   refused before writing (header injection, line too long, [`AmiError::NotConnected`] while
//!   reconnecting, [`AmiError::Closed`]) reports [`AmiError::is_not_sent`]. An action in flight
//!   when the link drops is **never re-sent** (an Originate could place a second call); its
//!   outcome is unknown. Dropping an action's future does not unsend it; a late response is
//!   discarded.
//! * **Event lists** ([`AmiClient::send_list`]): the events carrying the action's ActionID up to
//!   the `...Complete` event (or `EventList: Complete`) are returned together and not broadcast.
//! * **Async Originate** ([`AmiClient::originate_async`]): resolves with the
//!   [`OriginateResponse`] event matched by ActionID, whether it arrives before or after the
//!   `Response`, interleaved with anything else. The event is also broadcast.
//! * **Command** ([`AmiClient::command`]): the output as text, from `Output:` lines (Asterisk
//!   ≥ 14) or the legacy `Response: Follows` body.
//! * **Events** are broadcast to every [`EventStream`] through a bounded buffer
//!   ([`AmiConfig::event_buffer`]); a subscriber that falls behind loses the oldest items and
//!   gets [`ClientEvent::Lagged`] with the count. Memory does not grow with a slow consumer.
//!   With [`AmiConfig::backpressure`] the stream [`AmiClient::connect`] returns is lossless
//!   instead: when it is full the connection task stops reading the socket (Asterisk's TCP
//!   buffer becomes the queue) until the consumer catches up; actions are still written.
//! * **Liveness**: with [`AmiConfig::keepalive`], a `Ping` goes out at that interval; one
//!   unanswered for [`AmiConfig::ping_timeout`] drops the link, so a dead peer is noticed within
//!   `keepalive + ping_timeout` (plus a 100 ms tick).
//! * **Reconnect**: after a drop, subscribers get [`ClientEvent::Disconnected`]; the task
//!   retries with exponential backoff and jitter capped at [`ReconnectPolicy::max`], answering
//!   actions with `NotConnected` meanwhile, and emits [`ClientEvent::Reconnected`] after the new
//!   login. Asterisk does not replay what happened in between: resync (e.g. `CoreShowChannels`).
//!   The first stream item is [`ClientEvent::Connected`].
//! * **Shutdown**: when the last handle is dropped the task sends `Logoff` and stops;
//!   subscribers then see the end of their stream.
//! * **Secrets** (`Secret`, `Key`, [`AmiConfig::secret`]) never appear in `Debug` output or logs.
//! * **Frame errors** (oversized, too many headers, malformed line) are logged and skipped; the
//!   codec resynchronises at the next blank line.
//!
//! ```no_run
//! use hookflash_ami::{Action, AmiClient, AmiConfig, ClientEvent};
//! # async fn run() -> Result<(), hookflash_ami::AmiError> {
//! let (client, mut events) = AmiClient::connect(AmiConfig::new("127.0.0.1", 5038, "ami", "amipass")).await?;
//! let uptime = client.command("core show uptime").await?;
//! let call = client
//!     .originate_async(
//!         Action::new("Originate")
//!             .header("Channel", "PJSIP/agent1001")
//!             .header("Context", "hookflash-outbound")
//!             .header("Exten", "5551204005")
//!             .header("Priority", "1")
//!             .variable("HOOKFLASH_CALL_ID", "42"),
//!     )
//!     .await?;
//! while let Some(item) = events.recv().await {
//!     match item {
//!         ClientEvent::Event(e) => println!("{}", e.name()),
//!         ClientEvent::Lagged(n) => eprintln!("missed {n} events"),
//!         other => eprintln!("{other:?}"),
//!     }
//! }
//! # let _ = (uptime, call); Ok(()) }
//! ```
//!
//! # Test support
//!
//! The `mock` feature adds `mock::MockServer`, which replays fixture transcripts: it answers
//! each client action the way its transcript does, so crates above this one can test against it.

mod action;
mod channel;
mod client;
mod codec;
mod error;
mod event;
mod message;
#[cfg(feature = "mock")]
pub mod mock;
mod response;
mod text;

pub use action::{Action, MAX_LINE_BYTES};
pub use channel::{BridgeInfo, ChannelInfo};
pub use client::{
    AmiClient, AmiConfig, AuthMode, ClientEvent, DisconnectReason, EventStream, ReconnectPolicy,
    TlsConfig,
};
pub use codec::{
    AmiCodec, DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_HEADERS, Frame, banner_version, decode_all,
};
pub use error::AmiError;
pub use event::*;
pub use message::{Message, MessageKind};
pub use response::{Response, ResponseKind};
pub use text::Text;
