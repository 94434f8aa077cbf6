#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
//! [`CallProvider`](hookflash_provider::CallProvider) implementations for Asterisk 22: one over
//! the Asterisk Manager Interface ([`AmiProvider`]) and one over the Asterisk REST Interface.
//! Both drive the same calls and produce the same leg events, so the call tracker builds the
//! same records whichever protocol is used.
//!
//! # AmiProvider
//!
//! [`AmiProvider::connect`] logs in with [`hookflash_ami::AmiClient`] and starts one task that
//! turns AMI events into [`LegEvent`](hookflash_provider::LegEvent)s through the sans-IO
//! [`AmiTranslator`], published on a bounded broadcast ([`CallProvider::events`](hookflash_provider::CallProvider::events)) and, without loss, to the pipeline ([`CallProvider::pipeline_events`](hookflash_provider::CallProvider::pipeline_events): while that stream is full the task stops reading, and the AMI client stops reading the socket). A leg is a
//! channel, its [`LegId`](hookflash_provider::LegId) the channel's `Uniqueid`.
//!
//! | command | AMI |
//! |---|---|
//! | `originate` | `Originate` (`Async: true`) of the agent's endpoint into `hookflash-outbound` (`Exten` = the customer's number, `Timeout` = the agent's ring time in ms, `CallerID`), with `Variable: HOOKFLASH_CALL_ID=<call id>`, `DIAL_TIMEOUT=<customer ring s>` when not the dialplan's 30 s, `HOOKFLASH_TRUNK` when configured, then the request's variables. Returns once queued; the outcome (including a refusal) arrives as an `originate_result` event. With `record`, `MixMonitor` starts when the agent answers. |
//! | `hangup` | `Hangup` with `Cause` |
//! | `answer` | unsupported: AMI has no Answer action |
//! | `blind_transfer` | `BlindTransfer` of the transferer (its bridge peer goes to the extension), or `Redirect` of the leg when no transferer is given; the context is always the configured `transfer_context` (requests carry none), and a destination that is not an extension there (`Getvar` of `DIALPLAN_EXISTS` first) is refused before anything moves (Asterisk would answer Success and drop the customer) |
//! | attended transfer | `Atxfer` on the transferer (queues the `features.conf` atxfer code); complete = `Hangup` of the transferer (Asterisk then joins the parties); cancel = `Hangup` of the consultation `Local/...;1` leg (the transferer returns to the transferee) |
//! | `park` | `Park` (with `TimeoutChannel` = the parker); [`AmiProvider::pickup_parked`] originates an agent into the parking slot |
//! | `parked_calls` / `pickup_parked` | `ParkedCalls` (slot, parkee, `ParkingTimeout` + `ParkingDuration`, `ParkerDialString`); pick-up as [`AmiProvider::pickup_parked`] |
//! | `hold` / `unhold` | emulated, AMI has no hold: `Redirect` with `ExtraChannel` moves the held leg to `hookflash-hold` (music on hold) and its peer to `hookflash-hold-wait` (silence); `unhold` joins them again with the `Bridge` action. The held leg's `MusicOnHoldStart`/`Stop` become `held`/`unheld`. The two contexts are shipped in `examples/asterisk/extensions_hookflash.conf` (the test peer installs it); the provider checks at connect (and after each reconnect) that they exist, with `Getvar` of `DIALPLAN_EXISTS`, and otherwise declares hold unsupported and refuses it ([`AmiProvider::hold_gap`] says why) instead of sending a channel to a missing extension. |
//! | `mute` / `unmute` | `MuteAudio` (`in`/`out`/`all`); Asterisk emits no event, so the provider reports `muted`/`unmuted` itself once the action succeeded |
//! | `send_dtmf` | `PlayDTMF` per digit (no event from Asterisk: the provider reports `dtmf` sent); [`AmiProvider::inject_dtmf`] plays digits as if the leg's party pressed them (`Receive: true`) |
//! | recording | `MixMonitor` (`File: hookflash-<call id>.wav`, options `b`), `StopMixMonitor`, `MixMonitorMute` (both directions) to pause/resume; `MixMonitorStart`/`Stop` carry no file name, so the provider keeps the one it chose |
//! | `snapshot` | `CoreShowChannels` |
//!
//! On a lost link the stream carries [`ProviderEvent::Disconnected`](hookflash_provider::ProviderEvent);
//! after the client's reconnect (or when the client reports lost events) the provider lists the
//! channels with `CoreShowChannels` and emits `Resynced { legs }` for the tracker's
//! `merge_snapshot`. [`AmiProvider::sync`] waits until every event sent before it was
//! published. The translator's rules (what each AMI event becomes, and the protocol facts they
//! rest on) are documented on [`AmiTranslator`].
//!
//! # AriProvider
//!
//! [`AriProvider`] is one Stasis application, subscribed to every channel's events
//! (`subscribeAll`), which the sans-IO [`AriTranslator`] turns into leg events: the legs of
//! the calls the provider places, and inbound calls, which the dialplan may queue to agents
//! without any leg entering Stasis (a channel first seen in an inbound context and the legs it
//! dials; [`AriProviderConfig::inbound_contexts`]). Its rules are documented on
//! [`AriTranslator`], the commands on [`AriProvider`] and its capabilities (blind transfer: the
//! target is originated into the application while the customer stays with the agent, so a
//! target that fails leaves the customer where it was; park: the provider chooses the space,
//! keeps its lot, and calls the parking agent back as the call's own agent leg).

mod ami;
mod ari;
mod dialplan;
mod facts;
mod fanout;
mod probe;

pub use ami::{AmiProvider, AmiProviderConfig, AmiTranslator, OriginateKind};
pub use ari::{AriProvider, AriProviderConfig, AriTranslator, CustomerLeg};
pub use probe::{AmiPing, AriInfo};
