//! The conformance scenarios, where Twilio can do them, through provider + webhooks + fake.

use hookflash_calls::{Disposition, Party, TransferResult};
use hookflash_provider::{
    BlindTransferRequest, CallProvider, Capability, DialOutcome, HangupSide, LegEventKind, LegId,
    LegRole, MediaDirection, OriginateOutcome, ProviderError, RecordingRequest, TransferKind,
    TransferOutcome,
};
use hookflash_twilio::fake::Behaviour;
use hookflash_twilio::{BridgeMode, MachineDetection};

use crate::support::{AGENT, CUSTOMER, Rig};

fn leg(sid: &str) -> LegId {
    LegId::new(sid).unwrap()
}

#[tokio::test]
async fn answered_then_customer_hangs_up() {
    let mut rig = Rig::start(BridgeMode::Dial).await;
    let call_id = rig.originate().await;
    let (agent, customer) = rig.connected().await;
    rig.fake.remote_hangup(&customer).await;
    rig.settle().await;

    assert_eq!(
        rig.kinds_of(&agent),
        [
            "created",
            "ringing",
            "answered",
            "originate_result",
            "dialing",
            "bridged",
            "unbridged",
            "hung_up"
        ]
    );
    assert_eq!(
        rig.kinds_of(&customer),
        [
            "created",
            "ringing",
            "answered",
            "dial_result",
            "bridged",
            "unbridged",
            "hung_up"
        ]
    );
    assert_eq!(rig.hung_up(&customer), Some((16, HangupSide::Remote)));
    assert_eq!(rig.hung_up(&agent), Some((16, HangupSide::Local)));
    for event in &rig.seen {
        assert_eq!(event.keys.call_id, Some(call_id));
        assert_eq!(event.keys.linkedid.as_deref(), Some(agent.as_str()));
    }
    let created = rig
        .seen
        .iter()
        .find(|e| e.leg.as_str() == customer && e.kind.name() == "created")
        .unwrap();
    assert!(matches!(
        &created.kind,
        LegEventKind::Created { role: Some(LegRole::Customer), called_number: Some(n), .. } if n == CUSTOMER
    ));
    assert_eq!(
        created.keys.peer.as_ref().map(LegId::as_str),
        Some(agent.as_str())
    );
    // The customer was dialled with the chosen caller id.
    let cust = rig.fake.call(&customer).unwrap();
    assert_eq!(cust.from, crate::support::CALLER_ID);
    assert_eq!(cust.parent.as_deref(), Some(agent.as_str()));
    let record = rig.record(call_id);
    assert_eq!(record.disposition, Some(Disposition::Answered));
    assert_eq!(record.hung_up_by, Some(Party::Customer));
    assert_eq!(record.hangup_cause.as_ref().map(|c| c.code), Some(16));
    assert_eq!(
        record.agent_leg.as_ref().map(LegId::as_str),
        Some(agent.as_str())
    );
    assert_eq!(
        record.customer_leg.as_ref().map(LegId::as_str),
        Some(customer.as_str())
    );
    assert!(record.bridged);
}

#[tokio::test]
async fn answered_then_agent_hangs_up() {
    let mut rig = Rig::start(BridgeMode::Dial).await;
    let call_id = rig.originate().await;
    let (agent, customer) = rig.connected().await;
    rig.fake.remote_hangup(&agent).await;
    rig.settle().await;
    assert_eq!(rig.hung_up(&agent), Some((16, HangupSide::Remote)));
    assert_eq!(rig.hung_up(&customer), Some((16, HangupSide::Local)));
    let record = rig.record(call_id);
    assert_eq!(record.disposition, Some(Disposition::Answered));
    assert_eq!(record.hung_up_by, Some(Party::Agent));
}

#[tokio::test]
async fn hangup_through_the_api_is_local() {
    let mut rig = Rig::start(BridgeMode::Dial).await;
    let call_id = rig.originate().await;
    let (agent, customer) = rig.connected().await;
    rig.provider.hangup(&leg(&customer), None).await.unwrap();
    rig.settle().await;
    assert!(rig.kinds_of(&customer).contains(&"hangup_requested"));
    assert_eq!(rig.hung_up(&customer), Some((16, HangupSide::Local)));
    assert_eq!(rig.hung_up(&agent), Some((16, HangupSide::Local)));
    let update = rig
        .fake
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path.ends_with(&format!("/Calls/{customer}.json")))
        .unwrap();
    assert_eq!(update.value("Status"), Some("completed"));
    let record = rig.record(call_id);
    assert_eq!(record.disposition, Some(Disposition::Answered));
    assert_eq!(record.hung_up_by, Some(Party::System));
}

#[tokio::test]
async fn agent_no_answer_never_dials_the_customer() {
    let mut rig = Rig::start(BridgeMode::Dial).await;
    rig.fake.set_behaviour(AGENT, Behaviour::NoAnswer);
    let call_id = rig.originate().await;
    rig.settle().await;
    let calls = rig.fake.calls();
    assert_eq!(calls.len(), 1, "only the agent leg exists");
    let agent = &calls[0].sid;
    assert!(rig.seen.iter().any(|e| matches!(
        &e.kind,
        LegEventKind::OriginateResult {
            outcome: OriginateOutcome::Failed {
                failure: hookflash_provider::OriginateFailure::NoAnswer,
                ..
            }
        }
    )));
    assert_eq!(rig.hung_up(agent), Some((19, HangupSide::Local)));
    let record = rig.record(call_id);
    assert_eq!(record.disposition, Some(Disposition::AgentNoAnswer));
    assert_eq!(record.hung_up_by, None);
    assert!(!record.customer_dialed);
}

#[tokio::test]
async fn agent_busy() {
    let mut rig = Rig::start(BridgeMode::Dial).await;
    rig.fake.set_behaviour(AGENT, Behaviour::Busy);
    let call_id = rig.originate().await;
    rig.settle().await;
    let agent = rig.leg_sids()[0].clone();
    assert_eq!(rig.fake.calls().len(), 1);
    assert!(rig.seen.iter().any(|e| matches!(
        &e.kind,
        LegEventKind::OriginateResult { outcome: OriginateOutcome::Failed { failure: hookflash_provider::OriginateFailure::Busy, message: Some(m) } } if m.contains("busy")
    )));
    assert_eq!(rig.hung_up(&agent), Some((17, HangupSide::Remote)));
    let record = rig.record(call_id);
    assert_eq!(record.disposition, Some(Disposition::AgentBusy));
    assert_eq!(record.hangup_cause.as_ref().map(|c| c.code), Some(17));
}

#[tokio::test]
async fn cancel_while_the_agent_rings() {
    let mut rig = Rig::start(BridgeMode::Dial).await;
    rig.fake.set_behaviour(AGENT, Behaviour::RingForever);
    let call_id = rig.originate().await;
    let ringing = rig
        .wait_for("agent ringing", |e| e.kind == LegEventKind::Ringing)
        .await;
    rig.provider.hangup(&ringing.leg, None).await.unwrap();
    rig.settle().await;
    let update = rig
        .fake
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with(&format!("/Calls/{}.json", ringing.leg)))
        .unwrap();
    assert_eq!(update.value("Status"), Some("canceled"));
    assert_eq!(
        rig.hung_up(ringing.leg.as_str()),
        Some((16, HangupSide::Local))
    );
    let record = rig.record(call_id);
    assert_eq!(record.disposition, Some(Disposition::Cancelled));
}

#[tokio::test]
async fn customer_busy() {
    let mut rig = Rig::start(BridgeMode::Dial).await;
    rig.fake.set_behaviour(CUSTOMER, Behaviour::Busy);
    let call_id = rig.originate().await;
    rig.settle().await;
    let sids = rig.leg_sids();
    let (agent, customer) = (&sids[0], &sids[1]);
    assert!(rig.seen.iter().any(|e| e.leg.as_str() == customer
        && matches!(&e.kind, LegEventKind::DialResult { status: DialOutcome::Busy, caller: Some(c) } if c.as_str() == agent)));
    assert_eq!(rig.hung_up(customer), Some((17, HangupSide::Remote)));
    assert_eq!(rig.hung_up(agent), Some((16, HangupSide::Local)));
    let record = rig.record(call_id);
    assert_eq!(record.disposition, Some(Disposition::Busy));
    assert_eq!(record.hangup_cause.as_ref().map(|c| c.code), Some(17));
    assert!(record.agent_answered && record.customer_dialed && !record.bridged);
}

#[tokio::test]
async fn customer_no_answer() {
    let mut rig = Rig::start(BridgeMode::Dial).await;
    rig.fake.set_behaviour(CUSTOMER, Behaviour::NoAnswer);
    let call_id = rig.originate().await;
    rig.settle().await;
    let sids = rig.leg_sids();
    assert!(rig.seen.iter().any(|e| e.leg.as_str() == sids[1]
        && matches!(
            &e.kind,
            LegEventKind::DialResult {
                status: DialOutcome::NoAnswer,
                ..
            }
        )));
    assert_eq!(rig.hung_up(&sids[1]), Some((19, HangupSide::Local)));
    assert_eq!(rig.hung_up(&sids[0]), Some((16, HangupSide::Local)));
    let record = rig.record(call_id);
    assert_eq!(record.disposition, Some(Disposition::NoAnswer));
    assert_eq!(record.hangup_cause.as_ref().map(|c| c.code), Some(19));
}

#[tokio::test]
async fn customer_unreachable_keeps_the_sip_cause() {
    let mut rig = Rig::start(BridgeMode::Dial).await;
    rig.fake
        .set_behaviour(CUSTOMER, Behaviour::Fail { sip_code: 404 });
    let call_id = rig.originate().await;
    rig.settle().await;
    let sids = rig.leg_sids();
    assert!(rig.seen.iter().any(|e| matches!(
        &e.kind,
        LegEventKind::DialResult {
            status: DialOutcome::InvalidArgs,
            ..
        }
    )));
    assert_eq!(rig.hung_up(&sids[1]).map(|h| h.0), Some(1));
    let record = rig.record(call_id);
    assert_eq!(record.disposition, Some(Disposition::Failed));
    assert_eq!(record.hangup_cause.as_ref().map(|c| c.code), Some(1));
}

#[tokio::test]
async fn blind_transfer_redirects_the_customer() {
    let mut rig = Rig::start(BridgeMode::Dial).await;
    let call_id = rig.originate().await;
    let (agent, customer) = rig.connected().await;
    rig.provider
        .blind_transfer(BlindTransferRequest {
            call_id,
            leg: leg(&customer),
            transferer: Some(leg(&agent)),
            destination: "+15550003333".to_owned(),
        })
        .await
        .unwrap();
    let target = rig
        .wait_for("target answered", |e| {
            matches!(
                &e.kind,
                LegEventKind::DialResult {
                    status: DialOutcome::Answer,
                    ..
                }
            ) && e.leg.as_str() != customer
        })
        .await;
    rig.settle().await;
    assert!(rig.seen.iter().any(|e| e.leg.as_str() == customer
        && matches!(&e.kind, LegEventKind::Transferred { kind: TransferKind::Blind, outcome: TransferOutcome::Success, to: Some(t), .. } if t == "+15550003333")));
    assert_eq!(rig.hung_up(&agent), Some((16, HangupSide::Local)));
    assert_eq!(rig.hung_up(&customer), None, "the customer stays up");
    let target_sid = target.leg.to_string();
    let tcall = rig.fake.call(&target_sid).unwrap();
    assert_eq!(tcall.parent.as_deref(), Some(customer.as_str()));
    assert_eq!(tcall.to, "+15550003333");
    assert!(rig.seen.iter().any(|e| e.leg.as_str() == target_sid
        && matches!(
            &e.kind,
            LegEventKind::Created {
                role: Some(LegRole::SecondAgent),
                ..
            }
        )));
    rig.fake.remote_hangup(&customer).await;
    rig.settle().await;
    assert_eq!(rig.hung_up(&customer), Some((16, HangupSide::Remote)));
    assert_eq!(rig.hung_up(&target_sid), Some((16, HangupSide::Local)));
    let record = rig.record(call_id);
    assert_eq!(record.disposition, Some(Disposition::Answered));
    assert_eq!(record.transfers.len(), 1);
    assert_eq!(record.transfers[0].kind, TransferKind::Blind);
    assert_eq!(record.transfers[0].result, TransferResult::Success);
    assert_eq!(record.hung_up_by, Some(Party::Customer));
}

#[tokio::test]
async fn hold_and_mute_through_the_conference() {
    let mut rig = Rig::start(BridgeMode::Conference).await;
    let call_id = rig.originate().await;
    let (agent, customer) = rig.connected().await;
    rig.wait_for("customer in conference", |e| {
        e.leg.as_str() == customer && matches!(e.kind, LegEventKind::Bridged { .. })
    })
    .await;
    rig.provider.hold(&leg(&customer)).await.unwrap();
    rig.wait_for("held", |e| e.kind == LegEventKind::Held).await;
    rig.provider.unhold(&leg(&customer)).await.unwrap();
    rig.wait_for("unheld", |e| e.kind == LegEventKind::Unheld)
        .await;
    rig.provider
        .mute(&leg(&agent), MediaDirection::In)
        .await
        .unwrap();
    let muted = rig
        .wait_for("muted", |e| matches!(e.kind, LegEventKind::Muted { .. }))
        .await;
    assert_eq!(muted.leg.as_str(), agent);
    rig.provider
        .unmute(&leg(&agent), MediaDirection::In)
        .await
        .unwrap();
    rig.wait_for("unmuted", |e| {
        matches!(e.kind, LegEventKind::Unmuted { .. })
    })
    .await;
    let err = rig
        .provider
        .mute(&leg(&agent), MediaDirection::Out)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        ProviderError::Unsupported {
            capability: Capability::Mute,
            ..
        }
    ));
    let holds: Vec<_> = rig
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/Participants/") && r.value("Hold").is_some())
        .map(|r| r.value("Hold").unwrap().to_owned())
        .collect();
    assert_eq!(holds, ["true", "false"]);
    rig.fake.remote_hangup(&customer).await;
    rig.settle().await;
    assert_eq!(rig.hung_up(&customer), Some((16, HangupSide::Remote)));
    assert_eq!(rig.hung_up(&agent), Some((16, HangupSide::Local)));
    let record = rig.record(call_id);
    assert_eq!(record.disposition, Some(Disposition::Answered));
    assert_eq!(record.hold_count, 1);
    assert_eq!(record.held_leg, Some(Party::Customer));
    assert!(!record.is_on_hold);
    assert_eq!(record.hung_up_by, Some(Party::Customer));
}

#[tokio::test]
async fn hold_on_a_dial_bridged_call_is_unsupported() {
    let mut rig = Rig::start(BridgeMode::Dial).await;
    rig.originate().await;
    let (_, customer) = rig.connected().await;
    let err = rig.provider.hold(&leg(&customer)).await.unwrap_err();
    assert!(matches!(
        err,
        ProviderError::Unsupported {
            capability: Capability::Hold,
            ..
        }
    ));
    let err = rig
        .provider
        .send_dtmf(&leg(&customer), "1")
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        ProviderError::Unsupported {
            capability: Capability::Dtmf,
            ..
        }
    ));
}

#[tokio::test]
async fn conference_mode_chosen_per_call() {
    let mut rig = Rig::start(BridgeMode::Dial).await;
    let call_id = hookflash_provider::CallId::new_random();
    let req = rig.request(call_id);
    rig.provider
        .originate_with(req, BridgeMode::Conference)
        .await
        .unwrap();
    let (_, customer) = rig.connected().await;
    rig.wait_for("bridged", |e| {
        e.leg.as_str() == customer && matches!(e.kind, LegEventKind::Bridged { .. })
    })
    .await;
    rig.provider.hold(&leg(&customer)).await.unwrap();
    rig.wait_for("held", |e| e.kind == LegEventKind::Held).await;
    let participant = rig
        .fake
        .requests()
        .into_iter()
        .find(|r| {
            r.path
                .ends_with(&format!("/Conferences/{call_id}/Participants.json"))
        })
        .expect("customer added by friendly name");
    assert_eq!(participant.value("To"), Some(CUSTOMER));
    assert_eq!(
        participant.value("StatusCallbackEvent"),
        Some("initiated ringing answered completed")
    );
}

#[tokio::test]
async fn attended_transfer_through_the_conference() {
    let mut rig = Rig::start(BridgeMode::Conference).await;
    let call_id = rig.originate().await;
    let (agent, customer) = rig.connected().await;
    rig.wait_for("bridged", |e| {
        e.leg.as_str() == customer && matches!(e.kind, LegEventKind::Bridged { .. })
    })
    .await;
    let transfer = rig
        .provider
        .start_attended_transfer(hookflash_provider::AttendedTransferRequest {
            call_id,
            transferer: leg(&agent),
            transferee: Some(leg(&customer)),
            destination: "+15550004444".to_owned(),
        })
        .await
        .unwrap();
    rig.wait_for("customer held", |e| {
        e.leg.as_str() == customer && e.kind == LegEventKind::Held
    })
    .await;
    let target = rig
        .wait_for("target joined", |e| {
            e.leg.as_str() != agent
                && e.leg.as_str() != customer
                && matches!(e.kind, LegEventKind::Bridged { .. })
        })
        .await;
    rig.provider
        .complete_attended_transfer(&transfer)
        .await
        .unwrap();
    rig.settle().await;
    assert_eq!(rig.hung_up(&agent), Some((16, HangupSide::Local)));
    assert_eq!(rig.hung_up(&customer), None);
    assert!(
        rig.seen
            .iter()
            .any(|e| e.leg.as_str() == customer && e.kind == LegEventKind::Unheld)
    );
    assert!(rig.seen.iter().any(|e| e.leg.as_str() == customer
        && matches!(&e.kind, LegEventKind::Transferred { kind: TransferKind::Attended, outcome: TransferOutcome::Success, target: Some(t), .. } if *t == target.leg)));
    // The target now ends the call when it hangs up.
    rig.fake.remote_hangup(target.leg.as_str()).await;
    rig.settle().await;
    assert_eq!(
        rig.hung_up(target.leg.as_str()),
        Some((16, HangupSide::Remote))
    );
    assert_eq!(rig.hung_up(&customer), Some((16, HangupSide::Local)));
    let record = rig.record(call_id);
    assert_eq!(record.disposition, Some(Disposition::Answered));
    assert_eq!(record.transfers.len(), 1);
    assert_eq!(record.transfers[0].kind, TransferKind::Attended);
    assert_eq!(record.transfers[0].result, TransferResult::Success);
}

#[tokio::test]
async fn attended_transfer_cancelled() {
    let mut rig = Rig::start(BridgeMode::Conference).await;
    let call_id = rig.originate().await;
    let (agent, customer) = rig.connected().await;
    rig.wait_for("bridged", |e| {
        e.leg.as_str() == customer && matches!(e.kind, LegEventKind::Bridged { .. })
    })
    .await;
    let transfer = rig
        .provider
        .start_attended_transfer(hookflash_provider::AttendedTransferRequest {
            call_id,
            transferer: leg(&agent),
            transferee: None,
            destination: "+15550004444".to_owned(),
        })
        .await
        .unwrap();
    let target = transfer.0.rsplit('/').next().unwrap().to_owned();
    rig.wait_for("target up", |e| {
        e.leg.as_str() == target && e.kind == LegEventKind::Answered
    })
    .await;
    rig.provider
        .cancel_attended_transfer(&transfer)
        .await
        .unwrap();
    rig.settle().await;
    assert_eq!(rig.hung_up(&target), Some((16, HangupSide::Local)));
    assert_eq!(rig.hung_up(&agent), None);
    assert_eq!(rig.hung_up(&customer), None);
    assert!(rig.seen.iter().any(|e| e.leg.as_str() == customer
        && matches!(
            &e.kind,
            LegEventKind::Transferred {
                outcome: TransferOutcome::Cancelled,
                ..
            }
        )));
}

#[tokio::test]
async fn dtmf_plays_digits_and_rejoins_the_conference() {
    let mut rig = Rig::start(BridgeMode::Conference).await;
    let call_id = rig.originate().await;
    let (agent, customer) = rig.connected().await;
    rig.wait_for("bridged", |e| {
        e.leg.as_str() == customer && matches!(e.kind, LegEventKind::Bridged { .. })
    })
    .await;
    rig.provider
        .send_dtmf(&leg(&customer), "12#")
        .await
        .unwrap();
    rig.settle().await;
    assert_eq!(rig.fake.call(&customer).unwrap().played_digits, ["12#"]);
    let digits: String = rig
        .seen
        .iter()
        .filter_map(|e| match e.kind {
            LegEventKind::Dtmf { digit, .. } => Some(digit),
            _ => None,
        })
        .collect();
    assert_eq!(digits, "12#");
    let joins = rig
        .seen
        .iter()
        .filter(|e| e.leg.as_str() == customer && matches!(e.kind, LegEventKind::Bridged { .. }))
        .count();
    assert_eq!(joins, 2, "left for the digits, then joined again");
    assert_eq!(rig.hung_up(&agent), None, "the call survived the redirect");
    assert_eq!(rig.hung_up(&customer), None);
    let err = rig
        .provider
        .send_dtmf(&leg(&customer), "12<")
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::InvalidRequest { .. }));
    let record = rig.record(call_id);
    assert_eq!(record.dtmf_sent.customer, "12#");
    assert!(!record.is_ended());
}

#[tokio::test]
async fn recording_start_pause_resume_stop() {
    let mut rig = Rig::start(BridgeMode::Dial).await;
    let call_id = rig.originate().await;
    let (agent, _customer) = rig.connected().await;
    let name = rig
        .provider
        .start_recording(RecordingRequest::new(call_id, leg(&agent)))
        .await
        .unwrap();
    assert!(hookflash_twilio::is_sid(&name, "RE"));
    rig.wait_for(
        "recording started",
        |e| matches!(&e.kind, LegEventKind::RecordingStarted { file: Some(f) } if *f == name),
    )
    .await;
    rig.provider
        .pause_recording(&leg(&agent), &name)
        .await
        .unwrap();
    rig.provider
        .resume_recording(&leg(&agent), &name)
        .await
        .unwrap();
    rig.provider
        .stop_recording(&leg(&agent), &name)
        .await
        .unwrap();
    rig.wait_for(
        "recording stopped",
        |e| matches!(&e.kind, LegEventKind::RecordingStopped { file: Some(f) } if *f == name),
    )
    .await;
    rig.settle().await;
    let kinds = rig.kinds_of(&agent);
    let pos = |k| kinds.iter().position(|x| *x == k).unwrap();
    assert!(pos("recording_started") < pos("recording_paused"));
    assert!(pos("recording_paused") < pos("recording_resumed"));
    assert!(pos("recording_resumed") < pos("recording_stopped"));
    let statuses: Vec<_> = rig
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/Recordings/"))
        .map(|r| r.value("Status").unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["paused", "in-progress", "stopped"]);
    let err = rig
        .provider
        .stop_recording(&leg(&agent), "not-a-sid")
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::InvalidRequest { .. }));
}

#[tokio::test]
async fn originate_with_record_records_from_answer() {
    let mut rig = Rig::start(BridgeMode::Dial).await;
    let call_id = hookflash_provider::CallId::new_random();
    let mut req = rig.request(call_id);
    req.record = true;
    rig.provider.originate(req).await.unwrap();
    let (agent, customer) = rig.connected().await;
    rig.wait_for("recording", |e| {
        matches!(e.kind, LegEventKind::RecordingStarted { .. })
    })
    .await;
    rig.fake.remote_hangup(&customer).await;
    rig.settle().await;
    assert!(rig.kinds_of(&agent).contains(&"recording_stopped"));
    let record = rig.record(call_id);
    assert_eq!(record.disposition, Some(Disposition::Answered));
    assert_eq!(record.recordings.len(), 1);
}

#[tokio::test]
async fn answering_machine_detection_on_the_customer() {
    let mut rig =
        Rig::with_config(|c| c.with_customer_machine_detection(MachineDetection::Enable)).await;
    rig.fake.set_behaviour(CUSTOMER, Behaviour::AnswerMachine);
    rig.originate().await;
    let (_, customer) = rig.connected().await;
    let amd = rig
        .wait_for(
            "AnsweredBy",
            |e| matches!(&e.kind, LegEventKind::VariableSet { name, .. } if name == "AnsweredBy"),
        )
        .await;
    assert_eq!(amd.leg.as_str(), customer);
    assert!(
        matches!(&amd.kind, LegEventKind::VariableSet { value, .. } if value == "machine_start")
    );
}

#[tokio::test]
async fn snapshot_lists_live_legs() {
    let mut rig = Rig::start(BridgeMode::Dial).await;
    let call_id = rig.originate().await;
    let (agent, customer) = rig.connected().await;
    rig.settle().await;
    let legs = rig.provider.snapshot().await.unwrap();
    assert_eq!(legs.len(), 2);
    for snap in &legs {
        assert_eq!(snap.state, hookflash_provider::LegState::Up);
        assert_eq!(snap.keys.call_id, Some(call_id));
        assert_eq!(snap.keys.linkedid.as_deref(), Some(agent.as_str()));
    }
    assert!(legs.iter().any(|l| l.leg.as_str() == customer));
}

#[tokio::test]
async fn capabilities_are_honest() {
    let rig = Rig::start(BridgeMode::Dial).await;
    let caps = rig.provider.capabilities();
    assert!(!caps.supports(Capability::Park));
    assert!(!caps.supports(Capability::Answer));
    assert!(caps.supports(Capability::Hold));
    match caps.support(Capability::Dtmf) {
        hookflash_provider::Support::Emulated { how } => {
            assert!(how.contains("Play digits"));
            assert!(how.contains("conference mode"));
        }
        other => panic!("unexpected {other:?}"),
    }
    let err = rig
        .provider
        .park(hookflash_provider::ParkRequest {
            call_id: hookflash_provider::CallId::new_random(),
            leg: leg("CA00000000000000000000000000000001"),
            parker: None,
            lot: None,
            timeout: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        ProviderError::Unsupported {
            capability: Capability::Park,
            ..
        }
    ));
}

#[tokio::test]
async fn conference_customer_busy_ends_the_agent_leg() {
    let mut rig = Rig::start(BridgeMode::Conference).await;
    rig.fake.set_behaviour(CUSTOMER, Behaviour::Busy);
    let call_id = rig.originate().await;
    let busy = rig
        .wait_for("customer busy", |e| {
            matches!(
                &e.kind,
                LegEventKind::DialResult {
                    status: DialOutcome::Busy,
                    ..
                }
            )
        })
        .await;
    let agent = busy.keys.linkedid.clone().unwrap();
    rig.wait_for("agent hung up", |e| {
        e.leg.as_str() == agent && matches!(e.kind, LegEventKind::HungUp { .. })
    })
    .await;
    rig.settle().await;
    assert_eq!(rig.hung_up(&agent), Some((16, HangupSide::Local)));
    let record = rig.record(call_id);
    assert_eq!(record.disposition, Some(Disposition::Busy));
    assert!(record.is_ended());
}

#[tokio::test]
async fn failed_attended_transfer_gives_the_customer_back() {
    let mut rig = Rig::start(BridgeMode::Conference).await;
    let call_id = rig.originate().await;
    let (agent, customer) = rig.connected().await;
    rig.wait_for("bridged", |e| {
        e.leg.as_str() == customer && matches!(e.kind, LegEventKind::Bridged { .. })
    })
    .await;
    // From now on the fake throttles every new call: the destination cannot be dialled.
    rig.fake.set_cps_limit(Some(0.001));
    let err = rig
        .provider
        .start_attended_transfer(hookflash_provider::AttendedTransferRequest {
            call_id,
            transferer: leg(&agent),
            transferee: Some(leg(&customer)),
            destination: "+15550004444".to_owned(),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ProviderError::Rejected { reason } if reason.contains("20429")),
        "{err:?}"
    );
    rig.wait_for("customer back", |e| {
        e.leg.as_str() == customer && e.kind == LegEventKind::Unheld
    })
    .await;
    rig.settle().await;
    assert_eq!(rig.hung_up(&customer), None);
    assert_eq!(rig.hung_up(&agent), None);
}
