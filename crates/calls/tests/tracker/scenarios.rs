//! One hand-written `LegEvent` sequence per scenario of `testdata/asterisk-22/expected.json`,
//! mirroring the order of the real transcript (ami/NAME.jsonl, ari/NAME.jsonl), checked
//! against the records expected.json states (read from the file, never copied here).

use hookflash_calls::expect::{check_calls, fixtures_dir, load_expected, scenario, scenario_calls};
use hookflash_provider::HangupSide::{Local, Remote, Unknown};
use hookflash_provider::{
    DialOutcome, DtmfDirection, LegRole, LegState, MediaDirection, OriginateFailure, TransferKind,
};

use crate::script::*;

/// The agent-first set-up every AMI outbound scenario shares, up to the bridge: the agent
/// leg appears without our call id (Newchannel), gets it from the VarSet, rings, answers
/// (OriginateResponse before or after its DialEnd, as in the transcript), then dials the
/// customer, who rings, answers and is bridged with the agent.
pub(crate) struct Outbound {
    pub(crate) agent: Leg,
    pub(crate) customer: Leg,
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn outbound_setup(
    s: &mut Script,
    call: &str,
    agent: Leg,
    customer: Leg,
    number: &str,
    bridge: &str,
    agent_up: f64,
    originate_first: bool,
    customer_up: f64,
) -> Outbound {
    let agent0 = agent.clone();
    let agent = agent.with_call(call);
    s.register(-0.001, call, "PJSIP/agent1001", number);
    s.ev(0.000, &agent0, created("PJSIP/agent1001"));
    s.ev(0.000, &agent, var("HOOKFLASH_CALL_ID", call));
    s.ev(0.004, &agent, ringing());
    if originate_first {
        s.ev(agent_up, &agent, orig_ok());
    }
    s.ev(agent_up, &agent, answered());
    s.ev(agent_up, &agent, dial_result(DialOutcome::Answer, None));
    if !originate_first {
        s.ev(agent_up, &agent, orig_ok());
    }
    s.ev(agent_up, &agent, var("DIALSTATUS", ""));
    s.ev(
        agent_up + 0.001,
        &customer,
        created_call("18005550100", number),
    );
    s.ev(
        agent_up + 0.002,
        &agent,
        dialing(Some(&customer), &format!("PJSIP/{number}@trunk")),
    );
    s.ev(agent_up + 0.005, &customer, ringing());
    s.ev(customer_up, &customer, answered());
    s.ev(customer_up, &agent, var("DIALSTATUS", "ANSWER"));
    s.ev(
        customer_up,
        &customer,
        dial_result(DialOutcome::Answer, Some(&agent)),
    );
    s.ev(customer_up + 0.001, &customer, bridged(bridge));
    s.ev(customer_up + 0.001, &agent, bridged(bridge));
    Outbound { agent, customer }
}

/// The customer hangs up (BYE): HangupRequest on the trunk leg, the agent leg is soft-hung.
pub(crate) fn customer_hangs_up(s: &mut Script, o: &Outbound, bridge: &str, t: f64) {
    s.ev(t, &o.customer, remote_request(Some(16)));
    s.ev(t, &o.customer, unbridged(bridge));
    s.ev(t + 0.001, &o.agent, unbridged(bridge));
    s.ev(t + 0.001, &o.customer, hung_up(16, Remote));
    s.ev(t + 0.001, &o.agent, var("DIALSTATUS", "ANSWER"));
    s.ev(t + 0.001, &o.agent, soft_request(16));
    s.ev(t + 0.002, &o.agent, hung_up(16, Local));
}

fn originate_answered() -> Script {
    let mut s = Script::new(1_795_315_411.4);
    let o = outbound_setup(
        &mut s,
        "ea9d2b98-36ec-45fd-a8df-d93e92948875",
        leg("1795315411.4", "PJSIP/agent1001-00000004", "1795315411.4"),
        leg("1795315412.5", "PJSIP/trunk-00000005", "1795315411.4"),
        "5551204005",
        "51f302cb-8d16-4788-8d29-bbe11f7282f8",
        1.032,
        true,
        3.088,
    );
    customer_hangs_up(&mut s, &o, "51f302cb-8d16-4788-8d29-bbe11f7282f8", 7.191);
    s
}

fn originate_agent_no_answer() -> Script {
    // No DialEnd at all for the agent leg; OriginateResponse Failure/3 names the dial string.
    let call = "816c1e09-1fcf-4660-93ef-f5f9c0bfdf97";
    let mut s = Script::new(1_795_315_422.6);
    let agent0 = leg("1795315422.6", "PJSIP/agent1001-00000006", "1795315422.6");
    let agent = agent0.with_call(call);
    s.register(-0.001, call, "PJSIP/agent1001", "5551204006");
    s.ev(0.000, &agent0, created("PJSIP/agent1001"));
    s.ev(0.000, &agent, var("HOOKFLASH_CALL_ID", call));
    s.ev(0.004, &agent, ringing());
    s.call_event(
        6.002,
        "PJSIP/agent1001",
        call,
        orig_failed(OriginateFailure::NoAnswer),
    );
    s.ev(6.003, &agent, hung_up(19, Unknown));
    s
}

fn originate_agent_busy() -> Script {
    let call = "c724a493-9d0d-4f0b-8459-818ff01d9ffc";
    let mut s = Script::new(1_795_315_431.7);
    let agent0 = leg("1795315431.7", "PJSIP/agent1001-00000007", "1795315431.7");
    let agent = agent0.with_call(call);
    s.register(-0.001, call, "PJSIP/agent1001", "5551204007");
    s.ev(0.000, &agent0, created("PJSIP/agent1001"));
    s.ev(0.000, &agent, var("HOOKFLASH_CALL_ID", call));
    s.ev(0.003, &agent, remote_request(Some(17)));
    s.call_event(
        0.003,
        "PJSIP/agent1001",
        call,
        orig_failed(OriginateFailure::Unknown),
    );
    s.ev(0.004, &agent, dial_result(DialOutcome::Busy, None));
    s.ev(0.004, &agent, hung_up(17, Remote));
    s
}

fn originate_customer_busy() -> Script {
    // The agent leg is hung up with the customer's cause 17 though it was Up.
    let call = "e945cfab-32cb-4b3b-808f-6d208215ed2a";
    let mut s = Script::new(1_795_315_434.8);
    let agent0 = leg("1795315434.8", "PJSIP/agent1001-00000008", "1795315434.8");
    let agent = agent0.with_call(call);
    let customer = leg("1795315435.9", "PJSIP/trunk-00000009", "1795315434.8");
    s.register(-0.001, call, "PJSIP/agent1001", "5552000008");
    s.ev(0.000, &agent0, created("PJSIP/agent1001"));
    s.ev(0.000, &agent, var("HOOKFLASH_CALL_ID", call));
    s.ev(0.004, &agent, ringing());
    s.ev(1.031, &agent, answered());
    s.ev(1.032, &agent, dial_result(DialOutcome::Answer, None));
    s.ev(1.032, &agent, orig_ok());
    s.ev(1.032, &agent, var("DIALSTATUS", ""));
    s.ev(1.033, &customer, created_call("18005550100", "5552000008"));
    s.ev(
        1.034,
        &agent,
        dialing(Some(&customer), "PJSIP/5552000008@trunk"),
    );
    s.ev(1.037, &customer, remote_request(Some(17)));
    s.ev(
        1.037,
        &customer,
        dial_result(DialOutcome::Busy, Some(&agent)),
    );
    s.ev(1.038, &customer, hung_up(17, Remote));
    s.ev(1.038, &agent, dial_failed(DialOutcome::Busy));
    s.ev(1.038, &agent, soft_request(16));
    s.ev(1.039, &agent, hung_up(17, Local));
    s
}

fn originate_customer_no_answer() -> Script {
    // The customer leg's Hangup has cause 0 "Unknown" in state Ringing, no HangupRequest.
    let call = "dfe148a2-656a-4718-b9ba-cdae96d0b384";
    let mut s = Script::new(1_795_315_438.1);
    let agent0 = leg("1795315438.10", "PJSIP/agent1001-0000000a", "1795315438.10");
    let agent = agent0.with_call(call);
    let customer = leg("1795315439.11", "PJSIP/trunk-0000000b", "1795315438.10");
    s.register(-0.001, call, "PJSIP/agent1001", "5553000009");
    s.ev(0.000, &agent0, created("PJSIP/agent1001"));
    s.ev(0.000, &agent, var("HOOKFLASH_CALL_ID", call));
    s.ev(0.004, &agent, ringing());
    s.ev(1.030, &agent, answered());
    s.ev(1.030, &agent, dial_result(DialOutcome::Answer, None));
    s.ev(1.030, &agent, orig_ok());
    s.ev(1.030, &agent, var("DIALSTATUS", ""));
    s.ev(1.031, &customer, created_call("18005550100", "5553000009"));
    s.ev(
        1.032,
        &agent,
        dialing(Some(&customer), "PJSIP/5553000009@trunk"),
    );
    s.ev(1.035, &customer, ringing());
    s.ev(
        9.032,
        &customer,
        dial_result(DialOutcome::NoAnswer, Some(&agent)),
    );
    s.ev(9.032, &agent, dial_failed(DialOutcome::NoAnswer));
    s.ev(9.032, &agent, soft_request(16));
    s.ev(9.033, &customer, hung_up(0, Unknown));
    s.ev(9.033, &agent, hung_up(16, Local));
    s
}

fn originate_customer_unavailable() -> Script {
    // No trunk channel at all: only DIALSTATUS=CHANUNAVAIL on the agent leg, and its cause 3.
    let call = "3ae7fcd7-0431-4e8c-ab7a-8d815c82cc8e";
    let mut s = Script::new(1_795_315_450.12);
    let agent0 = leg("1795315450.12", "PJSIP/agent1001-0000000c", "1795315450.12");
    let agent = agent0.with_call(call);
    s.register(-0.001, call, "PJSIP/agent1001", "5551204010");
    s.ev(0.000, &agent0, created("PJSIP/agent1001"));
    s.ev(0.000, &agent, var("HOOKFLASH_CALL_ID", call));
    s.ev(0.003, &agent, ringing());
    s.ev(1.031, &agent, answered());
    s.ev(1.031, &agent, dial_result(DialOutcome::Answer, None));
    s.ev(1.031, &agent, orig_ok());
    s.ev(1.032, &agent, var("DIALSTATUS", ""));
    s.ev(1.032, &agent, dial_failed(DialOutcome::ChanUnavail));
    s.ev(1.032, &agent, soft_request(16));
    s.ev(1.033, &agent, hung_up(3, Local));
    s
}

fn originate_agent_hangs_up() -> Script {
    let mut s = Script::new(1_795_315_455.13);
    let bridge = "cab18baa-5694-42f8-ae4e-c2086ea08e97";
    let o = outbound_setup(
        &mut s,
        "25c1bd08-fb82-4f30-aae4-916392c5aeff",
        leg("1795315455.13", "PJSIP/agent1001-0000000d", "1795315455.13"),
        leg("1795315456.14", "PJSIP/trunk-0000000e", "1795315455.13"),
        "5554200011",
        bridge,
        1.032,
        false,
        3.088,
    );
    s.ev(6.156, &o.agent, remote_request(Some(16)));
    s.ev(6.156, &o.agent, unbridged(bridge));
    s.ev(6.156, &o.agent, var("DIALSTATUS", "ANSWER"));
    s.ev(6.156, &o.customer, unbridged(bridge));
    s.ev(6.156, &o.agent, soft_request(16));
    s.ev(6.156, &o.agent, hung_up(16, Remote));
    s.ev(6.156, &o.customer, hung_up(16, Local));
    s
}

fn hold_unhold() -> Script {
    let mut s = Script::new(1_795_315_464.15);
    let bridge = "39e5aca6-3649-4bb2-a2c9-6098e9549c1c";
    let o = outbound_setup(
        &mut s,
        "e89a359a-6cfa-445a-837d-99c8f15ee26f",
        leg("1795315464.15", "PJSIP/agent1001-0000000f", "1795315464.15"),
        leg("1795315465.16", "PJSIP/trunk-00000010", "1795315464.15"),
        "5555204012",
        bridge,
        1.031,
        false,
        3.088,
    );
    // Phone-initiated hold: Hold on the customer leg (MusicOnHoldStart on the agent's).
    s.ev(5.141, &o.customer, held());
    s.ev(8.215, &o.customer, unheld());
    customer_hangs_up(&mut s, &o, bridge, 12.316);
    s
}

fn mute() -> Script {
    // MuteAudio produces no AMI event: these are what the provider reports for the six
    // accepted actions (the seventh, direction "sideways", was refused).
    let mut s = Script::new(1_795_315_479.17);
    let bridge = "c2c37fc8-ab83-4fb4-a93e-e987d6dcc628";
    let o = outbound_setup(
        &mut s,
        "5f24055e-234f-4db2-9a9c-312c79faf32a",
        leg("1795315479.17", "PJSIP/agent1001-00000011", "1795315479.17"),
        leg("1795315480.18", "PJSIP/trunk-00000012", "1795315479.17"),
        "5551214013",
        bridge,
        1.031,
        false,
        3.087,
    );
    s.ev(5.1, &o.agent, muted(MediaDirection::In));
    s.ev(7.1, &o.agent, unmuted(MediaDirection::In));
    s.ev(8.1, &o.customer, muted(MediaDirection::Out));
    s.ev(10.1, &o.customer, unmuted(MediaDirection::Out));
    s.ev(11.1, &o.agent, muted(MediaDirection::Both));
    s.ev(13.1, &o.agent, unmuted(MediaDirection::Both));
    customer_hangs_up(&mut s, &o, bridge, 17.431);
    s
}

fn blind_transfer() -> Script {
    let mut s = Script::new(1_795_315_500.19);
    let b1 = "1a98ed14-29de-4282-acb6-f6b6c418febf";
    let b2 = "1f530660-b373-44db-b3b5-340d55deeabc";
    let o = outbound_setup(
        &mut s,
        "d65d793b-c04a-4995-aac6-05fd29cabfb9",
        leg("1795315500.19", "PJSIP/agent1001-00000013", "1795315500.19"),
        leg("1795315501.20", "PJSIP/trunk-00000014", "1795315500.19"),
        "5554200114",
        b1,
        1.029,
        false,
        3.086,
    );
    let second = leg("1795315505.21", "PJSIP/agent1002-00000015", "1795315500.19");
    s.ev(5.088, &o.agent, unheld());
    s.ev(
        5.088,
        &o.customer,
        transferred(TransferKind::Blind, "1002", None),
    );
    s.ev(5.089, &o.agent, unbridged(b1));
    s.ev(5.089, &o.agent, soft_request(16));
    s.ev(5.089, &o.customer, unbridged(b1));
    s.ev(5.090, &second, created("PJSIP/agent1002"));
    s.ev(5.090, &o.agent, hung_up(16, Local));
    s.ev(5.091, &o.customer, dialing(Some(&second), "agent1002"));
    s.ev(5.093, &second, ringing());
    s.ev(6.122, &second, answered());
    s.ev(
        6.122,
        &second,
        dial_result(DialOutcome::Answer, Some(&o.customer)),
    );
    s.ev(6.123, &second, bridged(b2));
    s.ev(6.123, &o.customer, bridged(b2));
    s.ev(11.245, &second, remote_request(Some(16)));
    s.ev(11.245, &second, unbridged(b2));
    s.ev(11.245, &o.customer, unbridged(b2));
    s.ev(11.245, &o.customer, soft_request(16));
    s.ev(11.246, &second, hung_up(16, Remote));
    s.ev(11.246, &o.customer, hung_up(16, Local));
    s
}

fn redirect_transfer() -> Script {
    // AMI Redirect: no transfer event at all; the customer leaves the bridge and dials.
    let mut s = Script::new(1_795_315_514.22);
    let b1 = "c1c1fb2a-9088-49f5-9e75-a0bb1e3e50ab";
    let b2 = "1c483c1c-b26b-412c-820f-67c1edeb933a";
    let o = outbound_setup(
        &mut s,
        "b521ddd6-c0d9-493f-9e90-c705fc2026b3",
        leg("1795315514.22", "PJSIP/agent1001-00000016", "1795315514.22"),
        leg("1795315515.23", "PJSIP/trunk-00000017", "1795315514.22"),
        "5554200114",
        b1,
        1.030,
        false,
        3.085,
    );
    let second = leg("1795315519.24", "PJSIP/agent1002-00000018", "1795315514.22");
    s.ev(5.088, &o.customer, unbridged(b1));
    s.ev(5.088, &o.agent, unbridged(b1));
    s.ev(5.088, &o.agent, var("DIALSTATUS", "ANSWER"));
    s.ev(5.088, &o.agent, soft_request(16));
    s.ev(5.089, &o.customer, var("DIALSTATUS", ""));
    s.ev(5.089, &o.agent, hung_up(16, Local));
    s.ev(5.089, &second, created("PJSIP/agent1002"));
    s.ev(5.090, &o.customer, dialing(Some(&second), "1002"));
    s.ev(5.092, &second, ringing());
    s.ev(6.120, &second, answered());
    s.ev(6.121, &o.customer, var("DIALSTATUS", "ANSWER"));
    s.ev(
        6.121,
        &second,
        dial_result(DialOutcome::Answer, Some(&o.customer)),
    );
    s.ev(6.121, &second, bridged(b2));
    s.ev(6.121, &o.customer, bridged(b2));
    s.ev(11.244, &second, remote_request(Some(16)));
    s.ev(11.245, &second, unbridged(b2));
    s.ev(11.245, &o.customer, unbridged(b2));
    s.ev(11.245, &o.customer, soft_request(16));
    s.ev(11.245, &second, hung_up(16, Remote));
    s.ev(11.246, &o.customer, hung_up(16, Local));
    s
}

fn park() -> Script {
    // The pickup is a new originate with its own call id and linkedid; its linkedid changes
    // to the parked call's at its BridgeEnter, and UnParkedCall names it as retriever.
    let mut s = Script::new(1_795_315_548.30);
    let b1 = "1ceaf3e4-2434-4c9b-8816-a368fc9f4abb";
    let lot = "4a061155-4250-4135-b2a5-68902a4f87f7";
    let b2 = "a0c909ec-1b58-4537-baba-3bd99f869f3c";
    let o = outbound_setup(
        &mut s,
        "f0da4637-7f14-4d45-be82-fda93743621e",
        leg("1795315548.30", "PJSIP/agent1001-0000001c", "1795315548.30"),
        leg("1795315549.31", "PJSIP/trunk-0000001d", "1795315548.30"),
        "5554200016",
        b1,
        1.029,
        false,
        3.084,
    );
    let pickup_call = "74351cc9-0949-443c-afcd-e1b176654a36";
    let retriever0 = leg("1795315556.32", "PJSIP/agent1002-0000001e", "1795315556.32");
    let retriever = retriever0.with_call(pickup_call);
    s.ev(5.088, &o.customer, unbridged(b1));
    s.ev(5.088, &o.customer, parked("701"));
    s.ev(5.089, &o.customer, bridged(lot));
    s.ev(7.731, &o.agent, unbridged(b1));
    s.ev(7.732, &o.agent, var("DIALSTATUS", "ANSWER"));
    s.ev(7.732, &o.agent, soft_request(16));
    s.ev(7.732, &o.agent, hung_up(16, Local));
    s.register(8.090, pickup_call, "PJSIP/agent1002", "701");
    s.ev(8.092, &retriever0, created("PJSIP/agent1002"));
    s.ev(8.092, &retriever, var("HOOKFLASH_CALL_ID", pickup_call));
    s.ev(8.095, &retriever, ringing());
    s.ev(9.121, &retriever, answered());
    s.ev(9.121, &retriever, dial_result(DialOutcome::Answer, None));
    s.ev(9.121, &retriever, orig_ok());
    s.ev(9.121, &o.customer, unparked(&retriever));
    s.ev(9.122, &o.customer, unbridged(lot));
    s.ev(9.122, &o.customer, bridged(b2));
    let retriever = retriever.with_linkedid("1795315548.30");
    s.ev(9.122, &retriever, bridged(b2));
    s.ev(14.245, &retriever, remote_request(None));
    s.ev(14.246, &retriever, unbridged(b2));
    s.ev(14.246, &retriever, soft_request(16));
    s.ev(14.246, &retriever, hung_up(16, Remote));
    s.ev(14.246, &o.customer, unbridged(b2));
    s.ev(14.247, &o.customer, hung_up(16, Local));
    s
}

fn recording() -> Script {
    // MixMonitorStart/Stop carry no file: the name is the one the action asked for.
    let call = "359f44ac-3cb3-45f4-aec7-65ef1ce34868";
    let file = "/var/spool/asterisk/monitor/hookflash-359f44ac-3cb3-45f4-aec7-65ef1ce34868.wav";
    let mut s = Script::new(1_795_315_583.36);
    let bridge = "ebe72d9d-1cdf-49b5-90ed-997318783ac7";
    let o = outbound_setup(
        &mut s,
        call,
        leg("1795315583.36", "PJSIP/agent1001-00000022", "1795315583.36"),
        leg("1795315584.37", "PJSIP/trunk-00000023", "1795315583.36"),
        "5551216018",
        bridge,
        1.031,
        false,
        3.086,
    );
    s.ev(4.088, &o.agent, recording_started(file));
    s.ev(8.092, &o.agent, recording_stopped(file));
    customer_hangs_up(&mut s, &o, bridge, 15.378);
    s
}

fn dtmf() -> Script {
    // Customer DTMF: Received on the trunk leg, Sent on the bridged agent leg; PlayDTMF with
    // Receive gives one Received on the agent leg.
    let mut s = Script::new(1_795_315_602.38);
    let bridge = "e947f336-846a-4839-b151-7ec587aed23c";
    let o = outbound_setup(
        &mut s,
        "3361b8d5-ef95-4650-9f9d-0088a2e12f6d",
        leg("1795315602.38", "PJSIP/agent1001-00000024", "1795315602.38"),
        leg("1795315603.39", "PJSIP/trunk-00000025", "1795315602.38"),
        "5556216019",
        bridge,
        1.032,
        true,
        3.088,
    );
    s.ev(4.260, &o.customer, digit('1', DtmfDirection::Received));
    s.ev(4.260, &o.agent, digit('1', DtmfDirection::Sent));
    s.ev(4.863, &o.customer, digit('#', DtmfDirection::Received));
    s.ev(4.864, &o.agent, digit('#', DtmfDirection::Sent));
    s.ev(7.593, &o.agent, digit('*', DtmfDirection::Received));
    customer_hangs_up(&mut s, &o, bridge, 14.972);
    s
}

fn inbound_queue() -> Script {
    // Caller from the carrier, queue ringall to two agents; agent1002 is hung up with cause 26.
    let mut s = Script::new(1_795_315_621.40);
    let caller = leg("1795315621.40", "PJSIP/trunk-00000026", "1795315621.40");
    let a2 = leg("1795315621.41", "PJSIP/agent1002-00000027", "1795315621.40");
    let a1 = leg("1795315621.42", "PJSIP/agent1001-00000028", "1795315621.40");
    let bridge = "a9e4a19e-03cc-4574-b481-b4b7f1bf8061";
    s.ev(0.000, &caller, created_call("+15559870001", "18005550100"));
    s.ev(0.001, &caller, answered());
    s.ev(
        0.502,
        &caller,
        var("HOOKFLASH_CALL_ID", "inbound-1795315621.40"),
    );
    s.ev(0.503, &a2, created("PJSIP/agent1002"));
    s.ev(0.504, &caller, dialing(Some(&a2), "PJSIP/agent1002"));
    s.ev(0.504, &a1, created("PJSIP/agent1001"));
    s.ev(0.505, &caller, dialing(Some(&a1), "PJSIP/agent1001"));
    s.ev(0.506, &a2, ringing());
    s.ev(0.507, &a1, ringing());
    s.ev(1.536, &a1, answered());
    s.ev(1.536, &a1, dial_result(DialOutcome::Answer, Some(&caller)));
    s.ev(1.536, &a2, dial_result(DialOutcome::Cancel, Some(&caller)));
    s.ev(1.536, &a2, dial_result(DialOutcome::Cancel, Some(&caller)));
    s.ev(1.537, &a2, hung_up(26, Local));
    s.ev(1.537, &a1, bridged(bridge));
    s.ev(1.537, &caller, bridged(bridge));
    s.ev(6.152, &caller, remote_request(None));
    s.ev(6.153, &caller, unbridged(bridge));
    s.ev(6.153, &caller, soft_request(16));
    s.ev(6.153, &a1, unbridged(bridge));
    s.ev(6.154, &a1, hung_up(16, Local));
    s.ev(6.154, &caller, hung_up(16, Remote));
    s
}

fn status_and_lists() -> Script {
    // Two calls interleaved on one connection.
    let mut s = Script::new(1_795_315_387.38);
    let c2 = "29a35bd7-341b-4f68-9c4b-843abb7f2656";
    let c1 = "d4d0fdda-05c1-4be7-86f9-9e2f3de80f27";
    let a2_0 = leg("1795315387.1", "PJSIP/agent1002-00000001", "1795315387.1");
    let a1_0 = leg("1795315387.0", "PJSIP/agent1001-00000000", "1795315387.0");
    let a2 = a2_0.with_call(c2);
    let a1 = a1_0.with_call(c1);
    let t2 = leg("1795315388.2", "PJSIP/trunk-00000002", "1795315387.1");
    let t3 = leg("1795315388.3", "PJSIP/trunk-00000003", "1795315387.0");
    let b2 = "c049ca4b-dc84-4b16-b2e1-da1207dbcc7d";
    let b1 = "e50a4069-6a0c-4bcb-92ad-761b777f3a5d";
    s.register(-0.01, c1, "PJSIP/agent1001", "5551218020");
    s.register(-0.01, c2, "PJSIP/agent1002", "5551220020");
    s.ev(0.001, &a2_0, created("PJSIP/agent1002"));
    s.ev(0.001, &a1_0, created("PJSIP/agent1001"));
    s.ev(0.001, &a1, var("HOOKFLASH_CALL_ID", c1));
    s.ev(0.001, &a2, var("HOOKFLASH_CALL_ID", c2));
    s.ev(0.004, &a2, ringing());
    s.ev(0.004, &a1, ringing());
    s.ev(1.034, &a2, answered());
    s.ev(1.034, &a1, answered());
    s.ev(1.034, &a1, dial_result(DialOutcome::Answer, None));
    s.ev(1.034, &a2, dial_result(DialOutcome::Answer, None));
    s.ev(1.034, &a2, orig_ok());
    s.ev(1.034, &a1, orig_ok());
    s.ev(1.035, &t2, created_call("18005550100", "5551220020"));
    s.ev(1.035, &a2, dialing(Some(&t2), "PJSIP/5551220020@trunk"));
    s.ev(1.036, &t3, created_call("18005550100", "5551218020"));
    s.ev(1.036, &a1, dialing(Some(&t3), "PJSIP/5551218020@trunk"));
    s.ev(1.040, &t2, ringing());
    s.ev(1.040, &t3, ringing());
    s.ev(3.093, &t2, answered());
    s.ev(3.093, &t2, dial_result(DialOutcome::Answer, Some(&a2)));
    s.ev(3.093, &t2, bridged(b2));
    s.ev(3.094, &t3, answered());
    s.ev(3.094, &a2, bridged(b2));
    s.ev(3.094, &t3, dial_result(DialOutcome::Answer, Some(&a1)));
    s.ev(3.094, &t3, bridged(b1));
    s.ev(3.094, &a1, bridged(b1));
    s.ev(19.484, &t3, remote_request(Some(16)));
    s.ev(19.484, &t3, unbridged(b1));
    s.ev(19.485, &t3, hung_up(16, Remote));
    s.ev(19.485, &a1, unbridged(b1));
    s.ev(19.485, &a1, soft_request(16));
    s.ev(19.486, &a1, hung_up(16, Local));
    s.ev(21.533, &t2, remote_request(Some(16)));
    s.ev(21.534, &t2, unbridged(b2));
    s.ev(21.534, &a2, unbridged(b2));
    s.ev(21.534, &a2, soft_request(16));
    s.ev(21.534, &t2, hung_up(16, Remote));
    s.ev(21.535, &a2, hung_up(16, Local));
    s
}

/// reconnect-mid-call-a (the call up to the bridge, then the socket closes), the snapshot
/// the new session lists (CoreShowChannel), then reconnect-mid-call-b's tail.
fn reconnect_mid_call_b() -> Script {
    let mut s = Script::new(1_795_315_630.380);
    let bridge = "98ae765a-307e-4c0d-b817-564391030cbc";
    let o = outbound_setup(
        &mut s,
        "ff8d04cd-b7fc-4004-a8d2-60a3e6065063",
        leg("1795315630.43", "PJSIP/agent1001-00000029", "1795315630.43"),
        leg("1795315631.44", "PJSIP/trunk-0000002a", "1795315630.43"),
        "5551215020",
        bridge,
        1.033,
        false,
        3.090,
    );
    s.snapshot(
        17.0,
        &[
            (&o.customer, LegState::Up, Some(bridge)),
            (&o.agent, LegState::Up, Some(bridge)),
        ],
    );
    let t = 1_795_315_648.837 - 1_795_315_630.380;
    s.ev(t, &o.customer, remote_request(Some(16)));
    s.ev(t, &o.customer, unbridged(bridge));
    s.ev(t, &o.customer, hung_up(16, Remote));
    s.ev(t, &o.agent, unbridged(bridge));
    s.ev(t + 0.001, &o.agent, var("DIALSTATUS", "ANSWER"));
    s.ev(t + 0.001, &o.agent, soft_request(16));
    s.ev(t + 0.001, &o.agent, hung_up(16, Local));
    s
}

fn ari_agent_first_bridge() -> Script {
    // Both legs are originated into the app with our call id and a role argument; the app
    // bridges them. ARI hold and mute produce no events: the provider reports the accepted
    // requests. The bridge recording is named by the app.
    let call = "5af92377-4fc6-49f3-8582-8f3d5f62c1f0";
    let mut s = Script::new(1_795_315_704.0);
    let agent = leg(
        "1795315704.624",
        "PJSIP/agent1001-0000026e",
        "1795315704.624",
    )
    .with_call(call);
    let customer = leg("1795315705.625", "PJSIP/trunk-0000026f", "1795315704.624").with_call(call);
    let bridge = "e29d81f1-5064-443d-bddd-fb6a7496ccee";
    let name = "hookflash-bridge-5af92377-4fc6-49f3-8582-8f3d5f62c1f0";
    s.register(0.001, call, "PJSIP/agent1001", "5551215102");
    s.ev(0.003, &agent, created_as(LegRole::Agent, "PJSIP/agent1001"));
    s.ev(0.006, &agent, ringing());
    s.ev(1.033, &agent, answered());
    s.ev(1.033, &agent, dial_result(DialOutcome::Answer, None));
    s.ev(1.034, &agent, bridged(bridge));
    s.ev(
        1.036,
        &customer,
        created_as(LegRole::Customer, "PJSIP/5551215102@trunk"),
    );
    s.ev(1.039, &customer, ringing());
    s.ev(3.093, &customer, answered());
    s.ev(3.094, &customer, dial_result(DialOutcome::Answer, None));
    s.ev(3.095, &customer, bridged(bridge));
    s.ev(4.098, &customer, held());
    s.ev(6.100, &customer, unheld());
    s.ev(6.602, &agent, muted(MediaDirection::Both));
    s.ev(7.604, &agent, unmuted(MediaDirection::Both));
    s.ev(8.108, &agent, recording_started(name));
    s.ev(11.849, &agent, recording_stopped(name));
    s.ev(18.461, &customer, remote_request(None));
    s.ev(18.461, &customer, unbridged(bridge));
    s.ev(18.462, &customer, hung_up(16, Remote));
    s.ev(18.462, &agent, soft_request(32));
    s.ev(18.463, &agent, unbridged(bridge));
    s.ev(18.463, &agent, hung_up(16, Local));
    s
}

fn ari_dial_busy() -> Script {
    // channels/create puts the customer leg in the app before it is dialled; the busy number
    // gives no Dial BUSY, only the hangup request and ChannelDestroyed cause 17.
    let call = "ac76f9c6-1a13-49f8-a3d9-8519246b0832";
    let mut s = Script::new(1_795_315_734.0);
    let customer = leg("1795315734.632", "PJSIP/trunk-00000274", "1795315734.632").with_call(call);
    s.ev(
        0.002,
        &customer,
        created_as(LegRole::Customer, "PJSIP/5552000104@trunk"),
    );
    s.ev(0.002, &customer, var("HOOKFLASH_CALL_ID", call));
    s.ev(0.004, &customer, dialing(None, "PJSIP/5552000104@trunk"));
    s.ev(0.006, &customer, remote_request(Some(17)));
    s.ev(0.006, &customer, hung_up(17, Remote));
    s
}

/// The hand-written sequence of a scenario of expected.json.
pub(crate) fn script_for(group: &str, name: &str) -> Option<Script> {
    let script = match (group, name) {
        ("ami", "originate-answered") => originate_answered(),
        ("ami", "originate-agent-no-answer") => originate_agent_no_answer(),
        ("ami", "originate-agent-busy") => originate_agent_busy(),
        ("ami", "originate-customer-busy") => originate_customer_busy(),
        ("ami", "originate-customer-no-answer") => originate_customer_no_answer(),
        ("ami", "originate-customer-unavailable") => originate_customer_unavailable(),
        ("ami", "originate-agent-hangs-up") => originate_agent_hangs_up(),
        ("ami", "hold-unhold") => hold_unhold(),
        ("ami", "mute") => mute(),
        ("ami", "blind-transfer") => blind_transfer(),
        ("ami", "redirect-transfer") => redirect_transfer(),
        ("ami", "park") => park(),
        ("ami", "recording") => recording(),
        ("ami", "dtmf") => dtmf(),
        ("ami", "inbound-queue") => inbound_queue(),
        ("ami", "status-and-lists") => status_and_lists(),
        ("ami", "reconnect-mid-call-b") => reconnect_mid_call_b(),
        ("ari", "ari-agent-first-bridge") => ari_agent_first_bridge(),
        ("ari", "ari-dial-busy") => ari_dial_busy(),
        _ => return None,
    };
    Some(script)
}

/// Runs a scenario's sequence and compares the records with expected.json.
fn check(group: &str, name: &str) {
    let expected = load_expected(&fixtures_dir()).unwrap();
    let scenario = scenario(&expected, group, name).unwrap();
    let script = script_for(group, name).unwrap();
    let out = run(&script);
    assert_one_end_each(&out.updates);
    let mismatches = check_calls(scenario_calls(scenario), &out.records);
    assert!(
        mismatches.is_empty(),
        "{group}/{name}:\n{}\nrecords: {:#?}",
        mismatches
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
        out.records
    );
}

#[test]
fn every_expected_scenario_has_a_sequence() {
    let expected = load_expected(&fixtures_dir()).unwrap();
    let mut count = 0;
    for group in ["ami", "ari"] {
        for name in expected[group].as_object().unwrap().keys() {
            if name == "load" {
                continue; // 300 calls: covered by its summary in the bench workload, not by hand
            }
            assert!(
                script_for(group, name).is_some(),
                "no hand-written sequence for {group}/{name}"
            );
            count += 1;
        }
    }
    assert_eq!(count, 19);
}

macro_rules! scenario_tests {
    ($($test:ident => $group:literal / $name:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check($group, $name);
            }
        )*
    };
}

scenario_tests! {
    originate_answered_matches_expected => "ami" / "originate-answered",
    originate_agent_no_answer_matches_expected => "ami" / "originate-agent-no-answer",
    originate_agent_busy_matches_expected => "ami" / "originate-agent-busy",
    originate_customer_busy_matches_expected => "ami" / "originate-customer-busy",
    originate_customer_no_answer_matches_expected => "ami" / "originate-customer-no-answer",
    originate_customer_unavailable_matches_expected => "ami" / "originate-customer-unavailable",
    originate_agent_hangs_up_matches_expected => "ami" / "originate-agent-hangs-up",
    hold_unhold_matches_expected => "ami" / "hold-unhold",
    mute_matches_expected => "ami" / "mute",
    blind_transfer_matches_expected => "ami" / "blind-transfer",
    redirect_transfer_matches_expected => "ami" / "redirect-transfer",
    park_matches_expected => "ami" / "park",
    recording_matches_expected => "ami" / "recording",
    dtmf_matches_expected => "ami" / "dtmf",
    inbound_queue_matches_expected => "ami" / "inbound-queue",
    status_and_lists_matches_expected => "ami" / "status-and-lists",
    reconnect_mid_call_b_matches_expected => "ami" / "reconnect-mid-call-b",
    ari_agent_first_bridge_matches_expected => "ari" / "ari-agent-first-bridge",
    ari_dial_busy_matches_expected => "ari" / "ari-dial-busy",
}
