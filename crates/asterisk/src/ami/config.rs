//! Configuration of the AMI provider.

use std::time::Duration;

use hookflash_ami::AmiConfig;

/// How [`AmiProvider`](crate::AmiProvider) reaches Asterisk and places calls.
///
/// The defaults match the dialplan shipped in `examples/asterisk/extensions.conf`.
#[derive(Debug, Clone)]
pub struct AmiProviderConfig {
    /// The AMI connection (host, port, credentials, reconnect policy, buffers).
    pub ami: AmiConfig,
    /// The dialplan context the answered agent leg continues in; it dials the customer
    /// (`hookflash-outbound`).
    pub outbound_context: String,
    /// The context that blind and attended transfers dial extensions in
    /// (`hookflash-transfer`); requests never choose it, and a destination it lacks is refused
    /// before anything moves.
    pub transfer_context: String,
    /// The context holding the parking lot's extensions, used to pick up parked calls
    /// (`parkedcalls`).
    pub parking_context: String,
    /// The trunk the outbound context dials the customer through; `None` leaves it to the
    /// dialplan (its default trunk). Sent as `HOOKFLASH_TRUNK`.
    pub trunk: Option<String>,
    /// The customer dial timeout the outbound context uses when `DIAL_TIMEOUT` is not set
    /// (30 s in the shipped dialplan); a request asking for this value sends no
    /// `DIAL_TIMEOUT`.
    pub dialplan_dial_timeout: Duration,
    /// Caller ID name shown to the customer when the request has none.
    pub default_caller_name: Option<String>,
    /// Caller ID number shown to the customer when the request has none.
    pub default_caller_number: Option<String>,
    /// Where Asterisk writes MixMonitor files given a relative name
    /// (`<astspooldir>/monitor`); used to report recording file names.
    pub monitor_dir: String,
    /// MixMonitor options (`b`: only record while bridged).
    pub mixmonitor_options: String,
    /// Duration of each digit sent with `PlayDTMF`.
    pub dtmf_duration: Duration,
    /// The context a held leg is redirected to (music on hold); see the crate docs on hold.
    pub hold_context: String,
    /// The context the holding leg (the other party) waits in while its peer is held.
    pub hold_wait_context: String,
    /// Leg events buffered per subscriber of [`AmiProvider::events`](crate::AmiProvider)
    /// before it is told it lagged.
    pub event_buffer: usize,
}

impl AmiProviderConfig {
    /// A configuration over the given AMI connection with hookflash's defaults.
    pub fn new(ami: AmiConfig) -> Self {
        Self {
            ami,
            outbound_context: "hookflash-outbound".to_owned(),
            transfer_context: "hookflash-transfer".to_owned(),
            parking_context: "parkedcalls".to_owned(),
            trunk: None,
            dialplan_dial_timeout: Duration::from_secs(30),
            default_caller_name: None,
            default_caller_number: None,
            monitor_dir: "/var/spool/asterisk/monitor".to_owned(),
            mixmonitor_options: "b".to_owned(),
            dtmf_duration: Duration::from_millis(250),
            hold_context: "hookflash-hold".to_owned(),
            hold_wait_context: "hookflash-hold-wait".to_owned(),
            event_buffer: 8192,
        }
    }
}
