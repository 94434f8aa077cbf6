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
