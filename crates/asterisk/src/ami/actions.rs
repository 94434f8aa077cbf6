//! The AMI actions the provider sends, built without I/O so that their bytes can be checked
//! against the transcripts (the client adds the ActionID).

use std::time::Duration;

use hookflash_ami::Action;
use hookflash_provider::{CALL_ID_VARIABLE, CallId, MediaDirection, OriginateRequest};

use super::config::AmiProviderConfig;

/// The agent-first `Originate`: ring the agent's endpoint; once it answers, the outbound
/// context dials the customer.
pub(crate) fn originate(config: &AmiProviderConfig, request: &OriginateRequest) -> Action {
    let mut action = Action::new("Originate")
        .header("Channel", request.agent_endpoint.as_str())
        .header("Context", config.outbound_context.as_str())
        .header("Exten", request.customer_number.as_str())
        .header("Priority", "1");
    let name = request
        .caller_name
        .as_deref()
        .or(config.default_caller_name.as_deref());
    let number = request
        .caller_id
        .as_deref()
        .or(config.default_caller_number.as_deref());
    if let Some(caller) = caller_id(name, number) {
        action.push("CallerID", caller);
    }
    action.push("Timeout", millis(request.agent_ring_timeout).to_string());
    action.push("Async", "true");
    let mut action = action.variable(CALL_ID_VARIABLE, &request.call_id.to_string());
    if request.customer_ring_timeout != config.dialplan_dial_timeout {
        let secs = request.customer_ring_timeout.as_secs().max(1);
        action = action.variable("DIAL_TIMEOUT", &secs.to_string());
    }
    let trunk = request
        .variables
        .get("HOOKFLASH_TRUNK")
        .or(config.trunk.as_ref());
    if let Some(trunk) = trunk {
        action = action.variable("HOOKFLASH_TRUNK", trunk);
    }
    for (name, value) in &request.variables {
        let ours = name == CALL_ID_VARIABLE || name == "DIAL_TIMEOUT" || name == "HOOKFLASH_TRUNK";
        if !ours {
            action = action.variable(name, value);
        }
    }
    action
}

/// Picks up a parked call: rings `endpoint` and, when it answers, dials the parking slot.
pub(crate) fn pickup_parked(
    config: &AmiProviderConfig,
    call_id: CallId,
    endpoint: &str,
    slot: &str,
    ring_timeout: Duration,
) -> Action {
    Action::new("Originate")
        .header("Channel", endpoint)
        .header("Context", config.parking_context.as_str())
        .header("Exten", slot)
        .header("Priority", "1")
        .header("CallerID", format!("\"Parked call\" <{slot}>"))
        .header("Timeout", millis(ring_timeout).to_string())
        .header("Async", "true")
        .variable(CALL_ID_VARIABLE, &call_id.to_string())
}

/// `"Name" <number>`, `<number>`, or `"Name"`.
fn caller_id(name: Option<&str>, number: Option<&str>) -> Option<String> {
    match (name, number) {
        (Some(n), Some(num)) => Some(format!("\"{n}\" <{num}>")),
        (None, Some(num)) => Some(format!("<{num}>")),
        (Some(n), None) => Some(format!("\"{n}\"")),
        (None, None) => None,
    }
}

fn millis(d: Duration) -> u128 {
    d.as_millis()
}

/// Hangs a channel up, with a Q.850 cause when given.
pub(crate) fn hangup(channel: &str, cause: Option<u16>) -> Action {
    let action = Action::new("Hangup").header("Channel", channel);
    match cause {
        Some(c) => action.header("Cause", c.to_string()),
        None => action,
    }
}

/// Blind transfer of the transferer's bridge peer (the `BlindTransfer` action).
pub(crate) fn blind_transfer(transferer: &str, context: &str, exten: &str) -> Action {
    Action::new("BlindTransfer")
        .header("Channel", transferer)
        .header("Context", context)
        .header("Exten", exten)
}

/// Moves a channel to a dialplan location (`Redirect`).
pub(crate) fn redirect(channel: &str, context: &str, exten: &str) -> Action {
    Action::new("Redirect")
        .header("Channel", channel)
        .header("Context", context)
        .header("Exten", exten)
        .header("Priority", "1")
}

/// Moves two channels at once (`Redirect` with `ExtraChannel`), so neither's dialplan goes on
/// when they leave their bridge.
pub(crate) fn redirect_pair(
    channel: &str,
    context: &str,
    extra: &str,
    extra_context: &str,
) -> Action {
    Action::new("Redirect")
        .header("Channel", channel)
        .header("ExtraChannel", extra)
        .header("Context", context)
        .header("Exten", "s")
        .header("Priority", "1")
        .header("ExtraContext", extra_context)
        .header("ExtraExten", "s")
        .header("ExtraPriority", "1")
}

/// Bridges two channels that are in the dialplan (`Bridge`).
pub(crate) fn bridge(channel1: &str, channel2: &str) -> Action {
    Action::new("Bridge")
        .header("Channel1", channel1)
        .header("Channel2", channel2)
        .header("Tone", "no")
}

/// Starts an attended transfer from the transferer's channel (`Atxfer`).
pub(crate) fn atxfer(transferer: &str, context: &str, exten: &str) -> Action {
    Action::new("Atxfer")
        .header("Channel", transferer)
        .header("Exten", exten)
        .header("Context", context)
}

/// Parks a channel; `timeout_channel` is called back when the parking times out.
pub(crate) fn park(
    channel: &str,
    timeout_channel: Option<&str>,
    timeout: Option<Duration>,
    lot: Option<&str>,
) -> Action {
    let mut action = Action::new("Park").header("Channel", channel);
    if let Some(t) = timeout_channel {
        action.push("TimeoutChannel", t);
    }
    if let Some(t) = timeout {
        action.push("Timeout", millis(t).to_string());
    }
    if let Some(l) = lot {
        action.push("Parkinglot", l);
    }
    action
}

/// Mutes or unmutes a channel's audio in one direction (`MuteAudio`).
pub(crate) fn mute(channel: &str, direction: MediaDirection, on: bool) -> Action {
    let direction = match direction {
        MediaDirection::In => "in",
        MediaDirection::Out => "out",
        _ => "all",
    };
    Action::new("MuteAudio")
        .header("Channel", channel)
        .header("Direction", direction)
        .header("State", if on { "on" } else { "off" })
}

/// Plays one DTMF digit towards a channel; with `receive`, as if the channel's party sent it.
pub(crate) fn play_dtmf(channel: &str, digit: char, duration: Duration, receive: bool) -> Action {
    let action = Action::new("PlayDTMF")
        .header("Channel", channel)
        .header("Digit", digit.to_string())
        .header("Duration", millis(duration).to_string());
    if receive {
        action.header("Receive", "true")
    } else {
        action
    }
}

/// Starts MixMonitor on a channel.
pub(crate) fn mixmonitor(channel: &str, file: &str, options: &str) -> Action {
    let action = Action::new("MixMonitor")
        .header("Channel", channel)
        .header("File", file);
    if options.is_empty() {
        action
    } else {
        action.header("Options", options)
    }
}

/// Stops MixMonitor on a channel.
pub(crate) fn stop_mixmonitor(channel: &str) -> Action {
    Action::new("StopMixMonitor").header("Channel", channel)
}

/// Pauses (`on`) or resumes a channel's MixMonitor: both directions are muted.
pub(crate) fn mixmonitor_mute(channel: &str, on: bool) -> Action {
    Action::new("MixMonitorMute")
        .header("Channel", channel)
        .header("Direction", "both")
        .header("State", if on { "1" } else { "0" })
}

/// The list of live channels.
pub(crate) fn core_show_channels() -> Action {
    Action::new("CoreShowChannels")
}

/// The recording file name the provider gives a call (relative: Asterisk puts it in its
/// monitor directory).
pub(crate) fn recording_file(call_id: CallId, format: Option<&str>) -> String {
    format!("hookflash-{call_id}.{}", format.unwrap_or("wav"))
}
