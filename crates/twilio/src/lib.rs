//! [`CallProvider`](hookflash_provider::CallProvider) over Twilio Programmable Voice.
//!
//! [`TwilioProvider`] drives calls through Twilio's REST API 2010-04-01 (reqwest, rustls) and
//! learns what happened to them from Twilio's webhooks, served by [`webhook_router`]. The
//! api-server merges that router at its root; it must be reachable by Twilio at
//! [`TwilioConfig::public_base_url`].
//!
//! # Calls
//! An agent-first originate is a CreateCall to the agent (a number, `client:identity` or SIP
//! URI) whose voice URL, once the agent answers, returns TwiML that dials the customer with the
//! chosen caller id: `<Dial><Number>` ([`BridgeMode::Dial`]), or a per-call `<Conference>` named
//! by our call id to which the customer is added as a participant ([`BridgeMode::Conference`],
//! needed for hold, mute, attended transfer and DTMF). Every leg has status callbacks
//! (`initiated ringing answered completed`) whose URL carries our call id; legs are also tied by
//! the parent call SID.
//!
//! # Behaviour contracts
//! - Commands return when Twilio accepted the request; effects arrive as [`LegEvent`]s on
//!   [`CallProvider::events`](hookflash_provider::CallProvider::events). Twilio sends no
//!   callback for a redirect (blind transfer), a DTMF play or a recording pause/resume, so those
//!   events are emitted when Twilio accepts the request.
//! - CreateCall and CreateParticipant are paced by a token bucket at
//!   [`TwilioConfig::calls_per_second`]: they queue rather than fail.
//! - 429 and 5xx answers are retried with exponential backoff honouring `Retry-After`, up to
//!   [`RetryPolicy::max_attempts`]. Twilio's error JSON is kept in
//!   [`ProviderError::Rejected`](hookflash_provider::ProviderError) (code and message in the
//!   reason); 404 / 20404 becomes `NotFound`, 401 / 20003 `Auth`.
//! - Webhooks are refused with 403 before interpretation when the signature is missing, forged
//!   or tampered, or when the same delivery was seen within [`TwilioConfig::replay_window`].
//! - Who hung up is inferred, since Twilio does not say: a hangup we asked for is `local`; a
//!   leg whose `<Dial>` ended first (its action URL was called) or whose peer ended first was
//!   ended by the platform (`local`); otherwise its own party hung up (`remote`). Callbacks that
//!   Twilio delivers out of order can blur this.
//! - A `<Dial>` bridge is reported as `Bridged`/`Unbridged` with the bridge id
//!   `dial:{dialler SID}`; a conference as the conference SID.
//! - In conference mode, a customer who is not reached (busy, no answer, failed) ends the
//!   agent's leg, which would otherwise wait alone in the conference.
//! - Callback times: the arrival time when it is within 5 s of Twilio's whole-second
//!   `Timestamp`, else the `Timestamp` (a retried callback).
//!
//! # Webhooks
//! [`webhook_router`] serves `POST /twilio/{voice,dial-action,status,amd,recording,conference}/{call_id}`.
//! Signatures are checked against [`TwilioConfig::public_base_url`] + the request's path and
//! query: put the router at the root of the public URL's path (merge it, do not nest it under a
//! prefix that the public URL does not have).
//!
//! # Limitations
//! - The leg registry ([`TwilioTranslator`], which turns the callbacks into leg events, and the
//!   calls' bridge mode, conference SIDs, transfers) is in memory in the node that
//!   placed the call; any node can serve the webhooks (the dial plan rides in the signed voice
//!   URL), but hold, mute, DTMF and transfers must be asked of the node that placed the call.
//! - Answering-machine detection is offered on the customer leg only (asynchronous, through
//!   `amdStatusCallback`); it is reported as `VariableSet { name: "AnsweredBy" }`.
//! - No `answer` (Twilio answers inbound calls through TwiML) and no `park`.
//! - No inbound calls (`InboundCalls` unsupported): the webhooks serve only calls this provider
//!   placed, whose call id rides in each callback URL.
//!
//! [`LegEvent`]: hookflash_provider::LegEvent
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod api;
mod config;
mod error;
#[cfg(feature = "fake")]
pub mod fake;
mod pacing;
mod probe;
mod provider;
mod registry;
mod replay;
mod retry;
mod signature;
mod twiml;
mod urls;
mod webhook;

pub use api::{
    CallResource, ConferenceResource, Form, ParticipantResource, RecordingResource, TwilioApi,
};
pub use config::{
    BridgeMode, DEFAULT_API_BASE, MachineDetection, RetryPolicy, TwilioConfig, is_sid,
};
pub use error::{ApiErrorBody, TwilioError};
pub use pacing::TokenBucket;
pub use probe::TwilioAccountFetch;
pub use provider::{TwilioProvider, WebhookState};
pub use registry::{Params, TwilioTranslator};
pub use signature::{
    SIGNATURE_HEADER, body_sha256_hex, compute_signature, validate_form, validate_json,
};
pub use twiml::{Element as TwimlElement, escape as xml_escape, response as twiml_response};
pub use webhook::{webhook_router, webhook_router_for};
