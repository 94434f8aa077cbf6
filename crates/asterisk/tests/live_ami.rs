//! Live tests of AmiProvider against the real Asterisk 22 peer (`scripts/asterisk-peer/`) and
//! its sipp phones: the AMI scenarios of expected.json acted out for real (the customer phone's
//! number language `555ORTTNNN` makes busy, no answer, hold, DTMF...), the provider's
//! `LegEvent`s fed to the tracker, and the records checked for the facts expected.json states
//! for the scenario (disposition, who hung up, cause, transfers, park, recording), ids and
//! times aside. Plus the emulated hold, an attended transfer, and a load run of 100 agent-first
//! calls at 5 per second over the load agents.
//!
//! They run when `HOOKFLASH_LIVE_ASTERISK` names the peer's host (scripts/test.sh sets it), one
//! at a time (nextest's `asterisk-peer` group; a lock inside this binary for plain `cargo test`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use hookflash_ami::AmiConfig;
use hookflash_asterisk::{AmiProvider, AmiProviderConfig};
use hookflash_calls::{
    CallRecord, CallState, Disposition, ParkOutcome, Party, Tracker, TrackerConfig, TransferResult,
};
use hookflash_provider::{
    AttendedTransferRequest, BlindTransferRequest, CallId, CallProvider, LegId, MediaDirection,
    OriginateRequest, ParkRequest, ProviderEvent, RecordingRequest, TenantId, TransferKind,
};

use hookflash_testkit::{PeerGuard, Phone, live_host};

static PEER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The provider on the live peer, its events fed to a tracker.
struct Live {
    provider: AmiProvider,
    tracker: Arc<Mutex<Tracker>>,
    phones: Vec<Phone>,
}

impl Live {
    async fn start(host: &str, phones: &[(&str, &str)]) -> Live {
        let mut ami = AmiConfig::new(host, 5038, "ami", "amipass");
        ami.event_buffer = 1 << 16;
        let mut config = AmiProviderConfig::new(ami);
        config.event_buffer = 1 << 16;
        let provider = AmiProvider::connect(config).await.unwrap();
        let tracker = Arc::new(Mutex::new(Tracker::new(TrackerConfig::default())));
        let mut events = provider.events();
        let t = tracker.clone();
        tokio::spawn(async move {
            while let Some(item) = events.next().await {
                let mut tracker = t.lock().unwrap();
                match item {
                    ProviderEvent::Leg(ev) => {
                        tracker.apply(&ev, ev.at);
                    }
                    ProviderEvent::Resynced { legs } => {
                        tracker.merge_snapshot(&legs, chrono::Utc::now());
                    }
                    _ => {}
                }
            }
        });
        let phones = phones.iter().map(|(r, s)| Phone::start(r, s)).collect();
        // sipp needs a moment to bind its port.
        tokio::time::sleep(Duration::from_secs(1)).await;
        Live {
            provider,
            tracker,
            phones,
        }
    }

    async fn originate(
        &self,
        agent: &str,
        number: &str,
        tweak: impl FnOnce(&mut OriginateRequest),
    ) -> CallId {
        let call_id = CallId::new_random();
        let mut request = OriginateRequest::new(call_id, TenantId::new_random(), agent, number);
        request.caller_name = Some("Hookflash Outbound".to_owned());
        request.caller_id = Some("18005550100".to_owned());
        request.agent_ring_timeout = Duration::from_secs(30);
        tweak(&mut request);
        self.tracker.lock().unwrap().register_originate(
            call_id,
            request.tenant,
            agent,
            number,
            chrono::Utc::now(),
        );
        self.provider.originate(request).await.unwrap();
        call_id
    }

    fn record(&self, call_id: CallId) -> Option<CallRecord> {
        self.tracker.lock().unwrap().call(&call_id).cloned()
    }

    /// Waits until `cond` holds for the call's record.
    async fn wait(
        &self,
        call_id: CallId,
        what: &str,
        secs: u64,
        cond: impl Fn(&CallRecord) -> bool,
    ) -> CallRecord {
        for _ in 0..secs * 20 {
            if let Some(r) = self.record(call_id)
                && cond(&r)
            {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "call {call_id}: timed out waiting for {what}: {:#?}",
            self.record(call_id)
        );
    }

    async fn connected(&self, call_id: CallId) -> CallRecord {
        self.wait(call_id, "connected", 30, |r| {
            r.bridged && r.agent_leg.is_some() && r.customer_leg.is_some()
        })
        .await
    }

    async fn ended(&self, call_id: CallId) -> CallRecord {
        let r = self
            .wait(call_id, "the end", 60, |r| r.state == CallState::Ended)
            .await;
        // Let the phones see their last message before the next scenario.
        tokio::time::sleep(Duration::from_millis(500)).await;
        r
    }
}

fn agent(r: &CallRecord) -> LegId {
    r.agent_leg.clone().unwrap()
}

fn customer(r: &CallRecord) -> LegId {
    r.customer_leg.clone().unwrap()
}

fn check(r: &CallRecord, disposition: Disposition, hung_up_by: Option<Party>, cause: Option<u16>) {
    assert_eq!(r.disposition, Some(disposition), "{r:#?}");
    assert_eq!(r.hung_up_by, hung_up_by, "{r:#?}");
    if let Some(c) = cause {
        assert_eq!(r.hangup_cause.as_ref().map(|c| c.code), Some(c), "{r:#?}");
    }
}

/// The facts expected.json states for a scenario's (first) call, ids, channel names and
/// recording names aside, must hold for the live record.
fn check_expected(r: &CallRecord, group: &str, scenario: &str) {
    use hookflash_calls::expect;
    let expected = expect::load_expected(&expect::fixtures_dir()).unwrap();
    let wanted = expect::scenario(&expected, group, scenario).unwrap();
    let mut want = expect::scenario_calls(wanted)[0].clone();
    if let Some(m) = want.as_object_mut() {
        for id in [
            "call_id",
            "agent_channel",
            "customer_channel",
            "agent_channel_id",
            "customer_channel_id",
            "recordings",
        ] {
            m.remove(id);
        }
    }
    let mismatches = expect::compare_call(&want, r);
    assert!(
        mismatches.is_empty(),
        "{group}/{scenario} facts: {mismatches:#?}\n{r:#?}"
    );
}

macro_rules! live {
    ($name:ident, $phones:expr, |$live:ident| $body:block) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let Some(host) = live_host(stringify!($name)) else {
                return;
            };
            let _peer = PEER.lock().await;
            // Declared after the lock: the leftovers are hung up before the next test may start.
            let _left = PeerGuard::new(&host);
            let $live = Live::start(&host, &$phones).await;
            $body
            drop($live.phones);
        }
    };
}

const CUSTOMER: (&str, &str) = ("customer", "customer-uas.xml");

live!(
    originate_answered,
    [("agent1001", "agent-answer-1s.xml"), CUSTOMER],
    |live| {
        let call = live
            .originate("PJSIP/agent1001", "5551204005", |_| {})
            .await;
        let r = live.ended(call).await;
        check(&r, Disposition::Answered, Some(Party::Customer), Some(16));
        assert!(r.agent_answered && r.customer_dialed && r.bridged);
        check_expected(&r, "ami", "originate-answered");
    }
);

live!(
    originate_agent_busy,
    [("agent1001", "agent-busy.xml"), CUSTOMER],
    |live| {
        let call = live
            .originate("PJSIP/agent1001", "5551204007", |_| {})
            .await;
        let r = live.ended(call).await;
        check(&r, Disposition::AgentBusy, None, Some(17));
        check_expected(&r, "ami", "originate-agent-busy");
        assert!(!r.agent_answered && !r.customer_dialed);
    }
);

live!(
    originate_agent_no_answer,
    [("agent1001", "agent-noanswer.xml"), CUSTOMER],
    |live| {
        let call = live
            .originate("PJSIP/agent1001", "5551204006", |r| {
                r.agent_ring_timeout = Duration::from_secs(6)
            })
            .await;
        let r = live.ended(call).await;
        check(&r, Disposition::AgentNoAnswer, None, Some(19));
        check_expected(&r, "ami", "originate-agent-no-answer");
    }
);

live!(
    originate_customer_busy,
    [("agent1001", "agent-answer-1s.xml"), CUSTOMER],
    |live| {
        let call = live
            .originate("PJSIP/agent1001", "5552000008", |_| {})
            .await;
        let r = live.ended(call).await;
        check(&r, Disposition::Busy, None, Some(17));
        check_expected(&r, "ami", "originate-customer-busy");
        assert!(r.agent_answered && !r.bridged);
    }
);

live!(
    originate_customer_no_answer,
    [("agent1001", "agent-answer-1s.xml"), CUSTOMER],
    |live| {
        let call = live
            .originate("PJSIP/agent1001", "5553000009", |r| {
                r.customer_ring_timeout = Duration::from_secs(8)
            })
            .await;
        let r = live.ended(call).await;
        check(&r, Disposition::NoAnswer, None, Some(0));
        check_expected(&r, "ami", "originate-customer-no-answer");
    }
);

live!(
    originate_customer_unavailable,
    [("agent1001", "agent-answer-1s.xml"), CUSTOMER],
    |live| {
        let call = live
            .originate("PJSIP/agent1001", "5551204010", |r| {
                r.trunk = Some("trunk-offline".to_owned());
            })
            .await;
        let r = live.ended(call).await;
        check(&r, Disposition::Failed, None, Some(3));
        check_expected(&r, "ami", "originate-customer-unavailable");
        assert!(r.customer_dialed && r.customer_channel.is_none());
    }
);

live!(
    originate_agent_hangs_up,
    [("agent1001", "agent-answer-1s-bye5s.xml"), CUSTOMER],
    |live| {
        let call = live
            .originate("PJSIP/agent1001", "5554200011", |_| {})
            .await;
        let r = live.ended(call).await;
        check(&r, Disposition::Answered, Some(Party::Agent), Some(16));
        check_expected(&r, "ami", "originate-agent-hangs-up");
    }
);

live!(
    hold_unhold_by_the_phone,
    [("agent1001", "agent-answer-1s.xml"), CUSTOMER],
    |live| {
        let call = live
            .originate("PJSIP/agent1001", "5555204012", |_| {})
            .await;
        let r = live.ended(call).await;
        check(&r, Disposition::Answered, Some(Party::Customer), Some(16));
        assert_eq!(r.hold_count, 1);
        assert_eq!(r.held_leg, Some(Party::Customer));
        check_expected(&r, "ami", "hold-unhold");
    }
);

live!(
    hold_emulated_by_the_provider,
    [("agent1001", "agent-answer-1s.xml"), CUSTOMER],
    |live| {
        // The freshly set-up peer has the hold contexts (extensions_hookflash.conf): checked at
        // connect, never installed by the test.
        assert_eq!(live.provider.hold_gap(), None);
        let call = live
            .originate("PJSIP/agent1001", "5551208020", |_| {})
            .await;
        let r = live.connected(call).await;
        live.provider.hold(&customer(&r)).await.unwrap();
        live.wait(call, "on hold", 10, |r| r.is_on_hold).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        live.provider.unhold(&customer(&r)).await.unwrap();
        live.wait(call, "off hold", 10, |r| {
            !r.is_on_hold && r.state == CallState::Connected
        })
        .await;
        let r = live.ended(call).await;
        check(&r, Disposition::Answered, Some(Party::Customer), Some(16));
        assert_eq!(r.hold_count, 1);
        assert_eq!(r.held_leg, Some(Party::Customer));
    }
);

// The ARI scenario `ari-agent-first-bridge` (agent-first, hold, recording) acted out through
// AMI: the same facts as expected.json states for it.
live!(
    ari_agent_first_bridge_via_ami,
    [("agent1001", "agent-answer-1s.xml"), CUSTOMER],
    |live| {
        let call = live
            .originate("PJSIP/agent1001", "5551212022", |r| r.record = true)
            .await;
        let r = live.connected(call).await;
        live.wait(call, "recording", 10, |r| !r.recordings.is_empty())
            .await;
        live.provider.hold(&customer(&r)).await.unwrap();
        live.wait(call, "on hold", 10, |r| r.is_on_hold).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        live.provider.unhold(&customer(&r)).await.unwrap();
        let r = live.ended(call).await;
        check_expected(&r, "ari", "ari-agent-first-bridge");
        assert_eq!(r.recordings.len(), 1, "{r:#?}");
    }
);

// The ARI scenario `ari-dial-busy` through AMI: the customer is busy.
live!(
    ari_dial_busy_via_ami,
    [("agent1001", "agent-answer-1s.xml"), CUSTOMER],
    |live| {
        let call = live
            .originate("PJSIP/agent1001", "5552000104", |_| {})
            .await;
        let r = live.ended(call).await;
        check_expected(&r, "ari", "ari-dial-busy");
    }
);

live!(
    mute,
    [("agent1001", "agent-answer-1s.xml"), CUSTOMER],
    |live| {
        let call = live
            .originate("PJSIP/agent1001", "5551214013", |_| {})
            .await;
        let r = live.connected(call).await;
        for d in [
            MediaDirection::In,
            MediaDirection::Out,
            MediaDirection::Both,
        ] {
            live.provider.mute(&agent(&r), d).await.unwrap();
            live.wait(call, "muted", 5, |r| r.is_muted).await;
            live.provider.unmute(&agent(&r), d).await.unwrap();
            live.wait(call, "unmuted", 5, |r| !r.is_muted).await;
        }
        let r = live.ended(call).await;
        check(&r, Disposition::Answered, Some(Party::Customer), Some(16));
        check_expected(&r, "ami", "mute");
    }
);

live!(
    dtmf,
    [("agent1001", "agent-answer-1s.xml"), CUSTOMER],
    |live| {
        let call = live
            .originate("PJSIP/agent1001", "5556210018", |_| {})
            .await;
        let r = live.connected(call).await;
        live.provider.send_dtmf(&customer(&r), "5").await.unwrap();
        live.provider.send_dtmf(&agent(&r), "9").await.unwrap();
        let r = live.ended(call).await;
        check(&r, Disposition::Answered, Some(Party::Customer), Some(16));
        assert_eq!(r.dtmf_received.customer, "1#");
        assert_eq!(r.dtmf_sent.customer, "5");
        check_expected(&r, "ami", "dtmf");
    }
);

live!(
    recording,
    [("agent1001", "agent-answer-1s.xml"), CUSTOMER],
    |live| {
        let call = live
            .originate("PJSIP/agent1001", "5551212017", |_| {})
            .await;
        let r = live.connected(call).await;
        let request = RecordingRequest::new(call, agent(&r));
        let stem = request.file_stem();
        let name = live.provider.start_recording(request).await.unwrap();
        // Asterisk's own MIXMONITOR_FILENAME: our name, in its monitor directory.
        assert!(name.ends_with(&format!("{stem}.wav")), "{name}");
        live.wait(call, "recording", 5, |r| !r.recordings.is_empty())
            .await;
        live.provider
            .pause_recording(&agent(&r), &name)
            .await
            .unwrap();
        live.provider
            .resume_recording(&agent(&r), &name)
            .await
            .unwrap();
        live.provider
            .stop_recording(&agent(&r), &name)
            .await
            .unwrap();
        let r = live.ended(call).await;
        check(&r, Disposition::Answered, Some(Party::Customer), Some(16));
        assert_eq!(r.recordings.len(), 1);
        assert!(r.recordings[0].name.ends_with(&format!("{stem}.wav")));
        assert!(r.recordings[0].stopped_at.is_some());
        check_expected(&r, "ami", "recording");
    }
);

live!(
    blind_transfer,
    [
        ("agent1001", "agent-answer-1s.xml"),
        ("agent1002", "agent-answer-1s-bye5s.xml"),
        CUSTOMER
    ],
    |live| {
        let call = live
            .originate("PJSIP/agent1001", "5554200014", |_| {})
            .await;
        let r = live.connected(call).await;
        live.provider
            .blind_transfer(BlindTransferRequest {
                call_id: call,
                leg: customer(&r),
                transferer: Some(agent(&r)),
                destination: "1002".to_owned(),
            })
            .await
            .unwrap();
        let r = live.ended(call).await;
        check(
            &r,
            Disposition::Answered,
            Some(Party::SecondAgent),
            Some(16),
        );
        assert_eq!(r.transfers.len(), 1, "{r:#?}");
        assert_eq!(r.transfers[0].kind, TransferKind::Blind);
        assert_eq!(r.transfers[0].result, TransferResult::Success);
        check_expected(&r, "ami", "blind-transfer");
    }
);

live!(
    redirect_transfer,
    [
        ("agent1001", "agent-answer-1s.xml"),
        ("agent1002", "agent-answer-1s-bye5s.xml"),
        CUSTOMER
    ],
    |live| {
        let call = live
            .originate("PJSIP/agent1001", "5554200114", |_| {})
            .await;
        let r = live.connected(call).await;
        live.provider
            .blind_transfer(BlindTransferRequest {
                call_id: call,
                leg: customer(&r),
                transferer: None,
                destination: "1002".to_owned(),
            })
            .await
            .unwrap();
        let r = live.ended(call).await;
        check(
            &r,
            Disposition::Answered,
            Some(Party::SecondAgent),
            Some(16),
        );
        assert_eq!(r.transfers.len(), 1, "{r:#?}");
        assert_eq!(r.transfers[0].result, TransferResult::Success);
        check_expected(&r, "ami", "redirect-transfer");
    }
);

live!(
    attended_transfer,
    [
        ("agent1001", "agent-answer-1s.xml"),
        ("agent1002", "agent-answer-1s-bye9s.xml"),
        CUSTOMER
    ],
    |live| {
        let call = live
            .originate("PJSIP/agent1001", "5554200021", |_| {})
            .await;
        let r = live.connected(call).await;
        let transfer = live
            .provider
            .start_attended_transfer(AttendedTransferRequest {
                call_id: call,
                transferer: agent(&r),
                transferee: Some(customer(&r)),
                destination: "1002".to_owned(),
            })
            .await
            .unwrap();
        // The consultation rings agent1002 (answers after 1 s).
        tokio::time::sleep(Duration::from_secs(3)).await;
        live.provider
            .complete_attended_transfer(&transfer)
            .await
            .unwrap();
        let r = live.ended(call).await;
        assert_eq!(r.disposition, Some(Disposition::Answered), "{r:#?}");
        assert_eq!(r.transfers.len(), 1, "{r:#?}");
        assert_eq!(r.transfers[0].kind, TransferKind::Attended);
        assert_eq!(r.transfers[0].result, TransferResult::Success);
    }
);

live!(
    park_and_pickup,
    [
        ("agent1001", "agent-answer-1s.xml"),
        ("agent1002", "agent-answer-1s-bye5s.xml"),
        CUSTOMER
    ],
    |live| {
        let call = live
            .originate("PJSIP/agent1001", "5554200016", |_| {})
            .await;
        let r = live.connected(call).await;
        live.provider
            .park(ParkRequest {
                call_id: call,
                leg: customer(&r),
                parker: Some(agent(&r)),
                lot: None,
                timeout: Some(Duration::from_secs(60)),
            })
            .await
            .unwrap();
        let parked = live.wait(call, "parked", 10, |r| r.park.is_some()).await;
        let slot = parked.park.unwrap().slot;
        live.provider
            .pickup_parked(
                CallId::new_random(),
                "PJSIP/agent1002",
                &slot,
                Duration::from_secs(30),
            )
            .await
            .unwrap();
        let r = live.ended(call).await;
        check(
            &r,
            Disposition::Answered,
            Some(Party::SecondAgent),
            Some(16),
        );
        check_expected(&r, "ami", "park");
        let park = r.park.unwrap();
        assert_eq!(park.outcome, Some(ParkOutcome::Retrieved));
    }
);

/// The expected outcome of one load call: (disposition, who hung up).
fn load_plan(i: usize) -> (String, String, Disposition, Option<Party>) {
    let agent = 2001 + i % 20;
    let endpoint = format!("PJSIP/agent{agent}");
    let (number, outcome) = match i % 5 {
        0 | 1 => (
            format!("55511030{:02}", i % 100),
            (Disposition::Answered, Some(Party::Customer)),
        ),
        2 => (format!("55520000{:02}", i % 100), (Disposition::Busy, None)),
        3 => (
            format!("55530000{:02}", i % 100),
            (Disposition::NoAnswer, None),
        ),
        _ => (
            format!("55541000{:02}", i % 100),
            (Disposition::Answered, Some(Party::Agent)),
        ),
    };
    let outcome = match agent {
        2017 | 2018 => (Disposition::AgentBusy, None),
        2019 | 2020 => (Disposition::AgentNoAnswer, None),
        _ => outcome,
    };
    (endpoint, number, outcome.0, outcome.1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_100_calls_at_5_per_second() {
    let Some(host) = live_host("load_100_calls_at_5_per_second") else {
        return;
    };
    let _peer = PEER.lock().await;
    // Declared after the lock: the leftovers are hung up before the next test may start.
    let _left = PeerGuard::new(&host);
    let live = Live::start(&host, &[("loadagents", "agent-load-uas.xml"), CUSTOMER]).await;
    let mut calls = BTreeMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    for i in 0..100 {
        tick.tick().await;
        let (endpoint, number, disposition, by) = load_plan(i);
        let call = live
            .originate(&endpoint, &number, |r| {
                r.agent_ring_timeout = Duration::from_secs(15);
                r.customer_ring_timeout = Duration::from_secs(6);
            })
            .await;
        calls.insert(call, (i, disposition, by));
    }
    // The longest call: 15 s of agent ringing, or 1 + 6 s ringing and 9 s of talk.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let open = calls
            .keys()
            .filter(|c| live.record(**c).is_none_or(|r| r.state != CallState::Ended))
            .count();
        if open == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{open} of 100 calls still open after the load run"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut wrong = Vec::new();
    for (call, (i, disposition, by)) in &calls {
        let r = live.record(*call).unwrap();
        if r.disposition != Some(*disposition) || r.hung_up_by != *by {
            wrong.push(format!(
                "call {i} ({}): expected {disposition:?}/{by:?}, got {:?}/{:?}",
                load_plan(*i).1,
                r.disposition,
                r.hung_up_by
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong records:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    // No call open at all, ours or any other the tracker saw (a stray leg would open one).
    let open: Vec<CallId> = live
        .tracker
        .lock()
        .unwrap()
        .calls()
        .filter(|r| r.state != CallState::Ended)
        .map(|r| r.call_id)
        .collect();
    assert!(open.is_empty(), "calls still open: {open:?}");
    drop(live.phones);
}
