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
    if let Some(trunk) = request.trunk.as_ref().or(config.trunk.as_ref()) {
        action = action.variable("HOOKFLASH_TRUNK", trunk);
    }
    // `ChannelVariables` refuses our names, function syntax and values Asterisk would split,
    // so each of these is exactly the one variable it names.
    for (name, value) in request.variables.iter() {
        action = action.variable(name.as_str(), value);
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

/// Sets a channel variable (the `Setvar` action).
pub(crate) fn setvar(channel: &str, name: &str, value: &str) -> Action {
    Action::new("Setvar")
        .header("Channel", channel)
        .header("Variable", name)
        .header("Value", value)
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
/// `Getvar` of a channel's variable (the call id of a channel first seen in a listing).
pub(crate) fn getvar(channel: &str, variable: &str) -> Action {
    Action::new("Getvar")
        .header("Channel", channel)
        .header("Variable", variable)
}

pub(crate) fn core_show_channels() -> Action {
    Action::new("CoreShowChannels")
}

/// The recording file name the provider gives a call recorded from its start (relative:
/// Asterisk puts it in its monitor directory).
pub(crate) fn recording_file(call_id: CallId) -> String {
    format!("hookflash-{call_id}.wav")
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use hookflash_provider::{CallId, TenantId};

    use super::*;

    fn fixtures() -> std::path::PathBuf {
        std::env::var_os("HOOKFLASH_FIXTURES_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/asterisk-22").into()
            })
    }

    /// The bytes of every recorded action named `name` in `ami/<fixture>.jsonl`, with the
    /// ActionID line replaced by `ActionID: x`.
    fn recorded(fixture: &str, name: &str) -> Vec<String> {
        let path = fixtures().join("ami").join(format!("{fixture}.jsonl"));
        let text = std::fs::read_to_string(path).unwrap();
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["dir"] == "send")
            .filter_map(|v| v["data"].as_str().map(str::to_owned))
            .filter(|d| d.starts_with(&format!("Action: {name}\r\n")))
            .map(|d| match d.find("ActionID: ") {
                Some(start) => {
                    let end = start + d[start..].find("\r\n").unwrap();
                    format!("{}ActionID: x{}", &d[..start], &d[end..])
                }
                None => d,
            })
            .collect()
    }

    fn wire(action: Action) -> String {
        let mut buf = BytesMut::new();
        action.with_action_id("x").encode(&mut buf).unwrap();
        String::from_utf8(buf.to_vec()).unwrap()
    }

    #[test]
    fn hangup_matches_the_transcript() {
        let want = recorded("status-and-lists", "Hangup");
        assert_eq!(wire(hangup("PJSIP/nosuch-00000000", None)), want[0]);
        assert_eq!(
            wire(hangup("PJSIP/agent1001-00000004", Some(16))),
            "Action: Hangup\r\nActionID: x\r\nChannel: PJSIP/agent1001-00000004\r\nCause: 16\r\n\r\n"
        );
    }

    #[test]
    fn originate_matches_the_load_transcript() {
        let want = recorded("load", "Originate");
        let config = AmiProviderConfig::new(hookflash_ami::AmiConfig::new("h", 1, "u", "p"));
        let call_id: CallId = "82b84899-4324-41fe-b1f6-596ed0ee82de".parse().unwrap();
        let mut request = OriginateRequest::new(
            call_id,
            TenantId::new_random(),
            "PJSIP/agent2008",
            "5551002000",
        );
        request.caller_name = Some("Hookflash Outbound".into());
        request.caller_id = Some("18005550100".into());
        request.agent_ring_timeout = Duration::from_secs(15);
        request.customer_ring_timeout = Duration::from_secs(6);
        assert_eq!(wire(originate(&config, &request)), want[0]);
    }

    /// What reaches the AMI socket of an originate with variables: one `Variable:` header per
    /// variable, each exactly `name=value`, ours first and never overridden (the trunk comes
    /// from the request's configured field, not from a variable).
    #[test]
    fn originate_variables_are_one_header_each_and_ours_stay_ours() {
        let config = AmiProviderConfig::new(hookflash_ami::AmiConfig::new("h", 1, "u", "p"));
        let call_id: CallId = "82b84899-4324-41fe-b1f6-596ed0ee82de".parse().unwrap();
        let mut request =
            OriginateRequest::new(call_id, TenantId::new_random(), "PJSIP/a", "5551002000");
        request.variables.insert("CRM_ID", "42 a=b;c").unwrap();
        request.trunk = Some("trunk-b".into());
        assert!(request.variables.insert("HOOKFLASH_TRUNK", "x").is_err());
        assert!(request.variables.insert("X", "1,CDR(userfield)=x").is_err());
        let text = wire(originate(&config, &request));
        let vars: Vec<&str> = text
            .split("\r\n")
            .filter_map(|l| l.strip_prefix("Variable: "))
            .collect();
        assert_eq!(
            vars,
            [
                "HOOKFLASH_CALL_ID=82b84899-4324-41fe-b1f6-596ed0ee82de",
                "HOOKFLASH_TRUNK=trunk-b",
                "CRM_ID=42 a=b;c",
            ]
        );
    }

    #[test]
    fn commands_match_their_transcripts() {
        let cases = [
            (
                "blind-transfer",
                "BlindTransfer",
                blind_transfer("PJSIP/agent1001-00000013", "hookflash-transfer", "1002"),
            ),
            (
                "redirect-transfer",
                "Redirect",
                redirect("PJSIP/trunk-00000017", "hookflash-transfer", "1002"),
            ),
            (
                "park",
                "Park",
                park(
                    "PJSIP/trunk-0000001d",
                    Some("PJSIP/agent1001-0000001c"),
                    Some(Duration::from_secs(60)),
                    None,
                ),
            ),
            (
                "recording",
                "StopMixMonitor",
                stop_mixmonitor("PJSIP/agent1001-00000022"),
            ),
            (
                "mute",
                "MuteAudio",
                mute("PJSIP/agent1001-00000011", MediaDirection::In, true),
            ),
            (
                "dtmf",
                "PlayDTMF",
                play_dtmf(
                    "PJSIP/trunk-00000025",
                    '5',
                    Duration::from_millis(250),
                    false,
                ),
            ),
            (
                "reconnect-mid-call-b",
                "CoreShowChannels",
                core_show_channels(),
            ),
        ];
        for (fixture, name, action) in cases {
            let want = recorded(fixture, name);
            assert_eq!(wire(action), want[0], "{fixture}/{name}");
        }
        let call_id: CallId = "359f44ac-3cb3-45f4-aec7-65ef1ce34868".parse().unwrap();
        let file = recording_file(call_id);
        assert_eq!(
            wire(mixmonitor("PJSIP/agent1001-00000022", &file, "b")),
            recorded("recording", "MixMonitor")[0]
        );
        let receive = play_dtmf(
            "PJSIP/agent1001-00000024",
            '*',
            Duration::from_millis(250),
            true,
        );
        assert_eq!(wire(receive), recorded("dtmf", "PlayDTMF")[2]);
    }

    #[test]
    fn commands_without_a_transcript_have_the_documented_form() {
        assert_eq!(
            wire(atxfer(
                "PJSIP/agent1001-00000004",
                "hookflash-transfer",
                "1002"
            )),
            "Action: Atxfer\r\nActionID: x\r\nChannel: PJSIP/agent1001-00000004\r\nExten: 1002\r\nContext: hookflash-transfer\r\n\r\n"
        );
        assert_eq!(
            wire(redirect_pair(
                "PJSIP/trunk-1",
                "hookflash-hold",
                "PJSIP/agent-2",
                "hookflash-hold-wait"
            )),
            "Action: Redirect\r\nActionID: x\r\nChannel: PJSIP/trunk-1\r\nExtraChannel: PJSIP/agent-2\r\nContext: hookflash-hold\r\nExten: s\r\nPriority: 1\r\nExtraContext: hookflash-hold-wait\r\nExtraExten: s\r\nExtraPriority: 1\r\n\r\n"
        );
        assert_eq!(
            wire(bridge("PJSIP/agent-2", "PJSIP/trunk-1")),
            "Action: Bridge\r\nActionID: x\r\nChannel1: PJSIP/agent-2\r\nChannel2: PJSIP/trunk-1\r\nTone: no\r\n\r\n"
        );
        assert_eq!(
            wire(mixmonitor_mute("PJSIP/agent-2", true)),
            "Action: MixMonitorMute\r\nActionID: x\r\nChannel: PJSIP/agent-2\r\nDirection: both\r\nState: 1\r\n\r\n"
        );
    }
}
