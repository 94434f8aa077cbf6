//! Live tests of AriProvider against the real Asterisk 22 peer (`scripts/asterisk-peer/`) and
//! its sipp phones: agent-first calls acted out for real, the provider's `LegEvent`s fed to
//! the tracker, and the records checked for what the phones did (disposition, who hung up,
//! causes, hold, mute, DTMF, recording); the inbound queue call, which never enters Stasis, is
//! seen through the application's subscription to every channel and recorded.
//!
//! They run when `HOOKFLASH_LIVE_ASTERISK` names the peer's host (scripts/test.sh sets it), one
//! at a time (nextest's `asterisk-peer` group; a lock inside this binary for plain `cargo test`).

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use hookflash_ari::Client;
use hookflash_asterisk::{AriProvider, AriProviderConfig};
use hookflash_calls::{
    CallRecord, CallState, Direction, Disposition, Party, Tracker, TrackerConfig,
};
use hookflash_provider::{
    CallId, CallProvider, Capability, LegId, MediaDirection, OriginateRequest, ProviderEvent,
    RecordingRequest, TenantId,
};

use hookflash_testkit::{PeerGuard, Phone, live_host};

static PEER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Our own application, so that other engineers' ARI apps on the same peer are not replaced.
const APP: &str = "hookflash-provider-live";

/// ARI stores recordings in `astspooldir/recording`, which the peer kit's chroot lacks (Asterisk
/// then answers a bridge record with 500): create it with the spool directory's owner when the
/// peer runs locally.
fn ensure_recording_dir() {
    let spool = hookflash_testkit::peer_root().join("var/spool/asterisk");
    if spool.is_dir() && !spool.join("recording").is_dir() {
        let status = Command::new("bash")
            .arg("-c")
            .arg(r#"install -d -m 0750 -o "$(stat -c %u "$0")" -g "$(stat -c %g "$0")" "$0/recording""#)
            .arg(&spool)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "could not create {}/recording",
            spool.display()
        );
    }
}

/// A provider on the live peer, with its events fed to a tracker.
struct Live {
    provider: AriProvider,
    tracker: Arc<Mutex<Tracker>>,
    _phones: Vec<Phone>,
}

impl Live {
    async fn start(host: &str, agent_scenario: &str) -> Self {
        Self::start_with(host, agent_scenario, AriProviderConfig::new(APP)).await
    }

    async fn start_with(host: &str, agent_scenario: &str, config: AriProviderConfig) -> Self {
        ensure_recording_dir();
        // Phones first: a call must not find them missing.
        let phones = vec![
            Phone::start("agent1001", agent_scenario),
            Phone::start("customer", "customer-uas.xml"),
        ];
        tokio::time::sleep(Duration::from_millis(300)).await;
        let client = Client::builder(format!("http://{host}:8088/ari"), "ari", "aripass")
            .build()
            .unwrap();
        let provider = AriProvider::connect(client, config).await.unwrap();
        let tracker = Arc::new(Mutex::new(Tracker::new(TrackerConfig::default())));
        let mut events = provider.events();
        let t = tracker.clone();
        tokio::spawn(async move {
            while let Some(e) = events.next().await {
                if std::env::var_os("HOOKFLASH_LIVE_DEBUG").is_some() {
                    println!("{e:?}");
                }
                if let ProviderEvent::Leg(ev) = e {
                    t.lock().unwrap().apply(&ev, ev.at);
                }
            }
        });
        Live {
            provider,
            tracker,
            _phones: phones,
        }
    }

    async fn originate(&self, number: &str, customer_ring: Duration) -> CallId {
        self.originate_with(number, |r| r.customer_ring_timeout = customer_ring)
            .await
    }

    async fn originate_with(
        &self,
        number: &str,
        tweak: impl FnOnce(&mut OriginateRequest),
    ) -> CallId {
        let call_id = CallId::new_random();
        let mut req =
            OriginateRequest::new(call_id, TenantId::new_random(), "PJSIP/agent1001", number);
        req.caller_id = Some("18005550100".into());
        req.caller_name = Some("Hookflash Outbound".into());
        tweak(&mut req);
        self.tracker.lock().unwrap().register_originate(
            call_id,
            req.tenant,
            req.agent_endpoint.clone(),
            number,
            chrono::Utc::now(),
        );
        self.provider.originate(req).await.unwrap();
        call_id
    }

    fn record(&self, id: &CallId) -> Option<CallRecord> {
        self.tracker.lock().unwrap().call(id).cloned()
    }

    /// Waits (up to `secs`) until the record satisfies `done`.
    async fn until(
        &self,
        id: &CallId,
        secs: u64,
        done: impl Fn(&CallRecord) -> bool,
    ) -> CallRecord {
        for _ in 0..secs * 10 {
            if let Some(r) = self.record(id)
                && done(&r)
            {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "call {id}: condition not reached; record: {:#?}",
            self.record(id)
        );
    }

    async fn ended(&self, id: &CallId) -> CallRecord {
        // Let the last events (the other leg's hangup, the bridge) arrive, then check.
        let r = self.until(id, 60, |r| r.state == CallState::Ended).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        self.record(id).unwrap_or(r)
    }
}

fn legs(r: &CallRecord) -> (LegId, LegId) {
    (
        r.agent_leg.clone().unwrap(),
        r.customer_leg.clone().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ari_answered_customer_hangs_up() {
    let Some(host) = live_host("live_ari_answered_customer_hangs_up") else {
        return;
    };
    let _peer = PEER.lock().await;
    // Declared after the lock: the leftovers are hung up before the next test may start.
    let _left = PeerGuard::new(&host);
    let live = Live::start(&host, "agent-answer-1s.xml").await;
    // Customer answers after 2 s and hangs up after 4 s of talk.
    let id = live.originate("5551204601", Duration::from_secs(20)).await;
    let r = live.ended(&id).await;
    assert_eq!(r.disposition, Some(Disposition::Answered), "{r:#?}");
    assert!(r.bridged);
    assert_eq!(r.hung_up_by, Some(Party::Customer), "{r:#?}");
    assert_eq!(r.hangup_cause.as_ref().map(|c| c.code), Some(16));
    assert!(r.talk_secs >= 3, "{r:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ari_customer_busy() {
    let Some(host) = live_host("live_ari_customer_busy") else {
        return;
    };
    let _peer = PEER.lock().await;
    // Declared after the lock: the leftovers are hung up before the next test may start.
    let _left = PeerGuard::new(&host);
    let live = Live::start(&host, "agent-answer-1s.xml").await;
    let id = live.originate("5552000602", Duration::from_secs(20)).await;
    let r = live.ended(&id).await;
    assert_eq!(r.disposition, Some(Disposition::Busy), "{r:#?}");
    assert!(!r.bridged);
    assert_eq!(r.hangup_cause.as_ref().map(|c| c.code), Some(17), "{r:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ari_customer_no_answer() {
    let Some(host) = live_host("live_ari_customer_no_answer") else {
        return;
    };
    let _peer = PEER.lock().await;
    // Declared after the lock: the leftovers are hung up before the next test may start.
    let _left = PeerGuard::new(&host);
    let live = Live::start(&host, "agent-answer-1s.xml").await;
    // Rings until cancelled; the dial gives up after 5 s.
    let id = live.originate("5553000603", Duration::from_secs(5)).await;
    let r = live.ended(&id).await;
    assert_eq!(r.disposition, Some(Disposition::NoAnswer), "{r:#?}");
    assert!(!r.bridged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ari_agent_hangs_up() {
    let Some(host) = live_host("live_ari_agent_hangs_up") else {
        return;
    };
    let _peer = PEER.lock().await;
    // Declared after the lock: the leftovers are hung up before the next test may start.
    let _left = PeerGuard::new(&host);
    // The agent sends BYE 5 s after answering; the customer never hangs up.
    let live = Live::start(&host, "agent-answer-1s-bye5s.xml").await;
    let id = live.originate("5554100604", Duration::from_secs(20)).await;
    let r = live.ended(&id).await;
    assert_eq!(r.disposition, Some(Disposition::Answered), "{r:#?}");
    assert_eq!(r.hung_up_by, Some(Party::Agent), "{r:#?}");
    assert_eq!(r.hangup_cause.as_ref().map(|c| c.code), Some(16));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ari_hold_mute_dtmf_recording() {
    let Some(host) = live_host("live_ari_hold_mute_dtmf_recording") else {
        return;
    };
    let _peer = PEER.lock().await;
    // Declared after the lock: the leftovers are hung up before the next test may start.
    let _left = PeerGuard::new(&host);
    let live = Live::start(&host, "agent-answer-1s.xml").await;
    // Answers at once, hangs up after 12 s of talk.
    let id = live.originate("5551012605", Duration::from_secs(20)).await;
    let r = live.until(&id, 20, |r| r.bridged).await;
    let (agent, customer) = legs(&r);
    let p = &live.provider;
    p.hold(&customer).await.unwrap();
    let held = live.until(&id, 5, |r| r.is_on_hold).await;
    assert_eq!(held.held_leg, Some(Party::Customer));
    tokio::time::sleep(Duration::from_secs(1)).await;
    p.unhold(&customer).await.unwrap();
    p.mute(&agent, MediaDirection::Both).await.unwrap();
    let muted = live.until(&id, 5, |r| r.is_muted).await;
    assert!(
        muted.mute.agent.inbound && muted.mute.agent.outbound,
        "{muted:#?}"
    );
    p.unmute(&agent, MediaDirection::Both).await.unwrap();
    p.send_dtmf(&customer, "5").await.unwrap();
    let request = RecordingRequest::new(id, agent.clone());
    let stem = request.file_stem();
    let name = p.start_recording(request).await.unwrap();
    assert_eq!(name, stem);
    live.until(&id, 5, |r| !r.recordings.is_empty()).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    p.stop_recording(&agent, &name).await.unwrap();
    let r = live.ended(&id).await;
    assert_eq!(r.disposition, Some(Disposition::Answered), "{r:#?}");
    assert_eq!(r.hold_count, 1);
    assert_eq!(r.held_leg, Some(Party::Customer));
    assert!(!r.is_muted);
    assert_eq!(r.dtmf_sent.customer, "5", "{r:#?}");
    assert_eq!(r.recordings.len(), 1, "{r:#?}");
    assert_eq!(r.recordings[0].name, name);
    assert!(r.recordings[0].stopped_at.is_some(), "{r:#?}");
    assert_eq!(r.hung_up_by, Some(Party::Customer), "{r:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ari_phone_hold() {
    let Some(host) = live_host("live_ari_phone_hold") else {
        return;
    };
    let _peer = PEER.lock().await;
    // Declared after the lock: the leftovers are hung up before the next test may start.
    let _left = PeerGuard::new(&host);
    let live = Live::start(&host, "agent-answer-1s.xml").await;
    // Customer holds 2 s after answering, unholds 3 s later, talks 3 s, hangs up.
    let id = live.originate("5555003606", Duration::from_secs(20)).await;
    let r = live.ended(&id).await;
    assert_eq!(r.hold_count, 1, "{r:#?}");
    assert_eq!(r.held_leg, Some(Party::Customer));
    assert_eq!(r.hung_up_by, Some(Party::Customer));
}

impl Live {
    fn with_second_agent(mut self, scenario: &str) -> Self {
        self._phones.push(Phone::start("agent1002", scenario));
        self
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ari_blind_transfer() {
    let Some(host) = live_host("live_ari_blind_transfer") else {
        return;
    };
    let _peer = PEER.lock().await;
    // Declared after the lock: the leftovers are hung up before the next test may start.
    let _left = PeerGuard::new(&host);
    let live = Live::start(&host, "agent-answer-1s.xml")
        .await
        .with_second_agent("agent-answer-1s-bye5s.xml");
    // The customer never hangs up; agent1002 answers after 1 s and hangs up 5 s later.
    let id = live.originate("5554200608", Duration::from_secs(20)).await;
    let r = live.until(&id, 20, |r| r.bridged).await;
    let (agent, customer) = legs(&r);
    tokio::time::sleep(Duration::from_secs(1)).await;
    live.provider
        .blind_transfer(hookflash_provider::BlindTransferRequest {
            call_id: id,
            leg: customer,
            transferer: Some(agent),
            destination: "1002".to_owned(),
        })
        .await
        .unwrap();
    let r = live.ended(&id).await;
    assert_eq!(r.disposition, Some(Disposition::Answered), "{r:#?}");
    assert_eq!(r.transfers.len(), 1, "{r:#?}");
    assert_eq!(r.transfers[0].to.as_deref(), Some("1002"));
    assert_eq!(r.hung_up_by, Some(Party::SecondAgent), "{r:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ari_park() {
    let Some(host) = live_host("live_ari_park") else {
        return;
    };
    let _peer = PEER.lock().await;
    // Declared after the lock: the leftovers are hung up before the next test may start.
    let _left = PeerGuard::new(&host);
    let live = Live::start(&host, "agent-answer-1s.xml").await;
    // The customer never hangs up.
    let id = live.originate("5554200609", Duration::from_secs(20)).await;
    let r = live.until(&id, 20, |r| r.bridged).await;
    let (agent, customer) = legs(&r);
    live.provider
        .park(hookflash_provider::ParkRequest {
            call_id: id,
            leg: customer.clone(),
            parker: Some(agent),
            lot: None,
            timeout: None,
        })
        .await
        .unwrap();
    let r = live.until(&id, 10, |r| r.park.is_some()).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Nobody picks up here: end the parked customer.
    live.provider.hangup(&customer, None).await.unwrap();
    let ended = live.ended(&id).await;
    assert!(r.park.is_some(), "{r:#?}");
    assert_eq!(ended.disposition, Some(Disposition::Answered), "{ended:#?}");
}

/// A parked call with a timeout comes back to the agent who parked it, when the timeout
/// expires: Asterisk dials the agent's endpoint (the parker is the agent, not the customer's
/// own trunk), and the agent's phone answers with the customer still there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ari_park_times_out_back_to_the_parker() {
    let Some(host) = live_host("live_ari_park_times_out_back_to_the_parker") else {
        return;
    };
    let _peer = PEER.lock().await;
    // Declared after the lock: the leftovers are hung up before the next test may start.
    let _left = PeerGuard::new(&host);
    let live = Live::start(&host, "agent-answer-1s.xml").await;
    // The customer never hangs up.
    let id = live.originate("5554200610", Duration::from_secs(20)).await;
    let r = live.until(&id, 20, |r| r.bridged).await;
    let (agent, customer) = legs(&r);
    let client = live.provider.client().clone();
    // Channels that exist before the park (this call's, or another test's still hanging up)
    // are not the return leg.
    let before: Vec<String> = client
        .channels()
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    live.provider
        .park(hookflash_provider::ParkRequest {
            call_id: id,
            leg: customer.clone(),
            parker: Some(agent),
            lot: None,
            timeout: Some(Duration::from_secs(3)),
        })
        .await
        .unwrap();
    live.until(&id, 10, |r| r.park.is_some()).await;
    // Within the timeout plus the agent phone's 1 s ring (and a margin): a new agent1001
    // channel, answered, while the customer's leg is still up.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let returned = loop {
        let channels = client.channels().list().await.unwrap();
        let customer_up = channels.iter().any(|c| c.id == customer.as_str());
        assert!(customer_up, "the parked customer was lost: {channels:?}");
        let back = channels.iter().find(|c| {
            c.name.starts_with("PJSIP/agent1001-") && !before.contains(&c.id) && c.state == "Up"
        });
        if let Some(back) = back {
            break back.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the parked call did not come back to agent1001: {channels:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    // The customer came back into the application from the return context, and the provider
    // bridged it with the parking agent's new leg (the call's agent leg, stamped by it).
    let parked = client.channels().get(customer.as_str()).await.unwrap();
    assert_eq!(
        parked.dialplan.context, "hookflash-park-return",
        "{parked:?}"
    );
    assert_eq!(parked.dialplan.app_name, "Stasis", "{parked:?}");
    assert_eq!(parked.state, "Up", "{parked:?}");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let bridges = client.bridges().list().await.unwrap();
        let together = bridges.iter().any(|b| {
            b.channels.contains(&customer.to_string()) && b.channels.contains(&returned.id)
        });
        if together {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the returned agent and the customer are not bridged: {bridges:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    live.provider.hangup(&customer, None).await.unwrap();
    // The return leg goes with the customer (the call ends); its hangup is only a safety net.
    let _ = client
        .channels()
        .hangup(&returned.id, hookflash_ari::ChannelsHangupOptions::new())
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ari_attended_transfer() {
    let Some(host) = live_host("live_ari_attended_transfer") else {
        return;
    };
    let _peer = PEER.lock().await;
    // Declared after the lock: the leftovers are hung up before the next test may start.
    let _left = PeerGuard::new(&host);
    let live = Live::start(&host, "agent-answer-1s.xml")
        .await
        .with_second_agent("agent-answer-1s-bye9s.xml");
    // The customer never hangs up; agent1002 answers after 1 s and hangs up 9 s later.
    let id = live.originate("5554200610", Duration::from_secs(20)).await;
    let r = live.until(&id, 20, |r| r.bridged).await;
    let (agent, customer) = legs(&r);
    let transfer = live
        .provider
        .start_attended_transfer(hookflash_provider::AttendedTransferRequest {
            call_id: id,
            transferer: agent,
            transferee: Some(customer),
            destination: "1002".to_owned(),
        })
        .await
        .unwrap();
    live.until(&id, 5, |r| r.is_on_hold).await;
    // The consultation: agent1002 answers after 1 s.
    tokio::time::sleep(Duration::from_secs(3)).await;
    live.provider
        .complete_attended_transfer(&transfer)
        .await
        .unwrap();
    let r = live.ended(&id).await;
    assert_eq!(r.disposition, Some(Disposition::Answered), "{r:#?}");
    assert_eq!(r.transfers.len(), 1, "{r:#?}");
    assert_eq!(
        r.transfers[0].kind,
        hookflash_provider::TransferKind::Attended
    );
    assert_eq!(r.transfers[0].to.as_deref(), Some("1002"));
    assert_eq!(r.hold_count, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ari_agent_busy() {
    let Some(host) = live_host("live_ari_agent_busy") else {
        return;
    };
    let _peer = PEER.lock().await;
    // Declared after the lock: the leftovers are hung up before the next test may start.
    let _left = PeerGuard::new(&host);
    let live = Live::start(&host, "agent-busy.xml").await;
    let id = live.originate("5551204611", Duration::from_secs(20)).await;
    let r = live.ended(&id).await;
    assert_eq!(r.disposition, Some(Disposition::AgentBusy), "{r:#?}");
    assert!(!r.agent_answered && !r.customer_dialed, "{r:#?}");
    assert_eq!(r.hangup_cause.as_ref().map(|c| c.code), Some(17), "{r:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ari_agent_no_answer() {
    let Some(host) = live_host("live_ari_agent_no_answer") else {
        return;
    };
    let _peer = PEER.lock().await;
    // Declared after the lock: the leftovers are hung up before the next test may start.
    let _left = PeerGuard::new(&host);
    let live = Live::start(&host, "agent-noanswer.xml").await;
    let id = live
        .originate_with("5551204612", |r| {
            r.agent_ring_timeout = Duration::from_secs(6)
        })
        .await;
    let r = live.ended(&id).await;
    assert_eq!(r.disposition, Some(Disposition::AgentNoAnswer), "{r:#?}");
    assert!(!r.customer_dialed, "{r:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ari_customer_unavailable() {
    let Some(host) = live_host("live_ari_customer_unavailable") else {
        return;
    };
    let _peer = PEER.lock().await;
    // Declared after the lock: the leftovers are hung up before the next test may start.
    let _left = PeerGuard::new(&host);
    // A trunk whose AOR has no contact: the customer cannot be reached.
    let config = AriProviderConfig::new(APP).trunk("trunk-offline");
    let live = Live::start_with(&host, "agent-answer-1s.xml", config).await;
    let id = live.originate("5551204613", Duration::from_secs(20)).await;
    let r = live.ended(&id).await;
    assert_eq!(r.disposition, Some(Disposition::Failed), "{r:#?}");
    assert!(!r.bridged && r.customer_dialed && r.customer_leg.is_none());
    assert_eq!(r.hangup_cause.as_ref().map(|c| c.code), Some(3), "{r:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ari_customer_by_originate() {
    let Some(host) = live_host("live_ari_customer_by_originate") else {
        return;
    };
    let _peer = PEER.lock().await;
    // Declared after the lock: the leftovers are hung up before the next test may start.
    let _left = PeerGuard::new(&host);
    // The customer leg originated into the app (as in ari-agent-first-bridge), then a busy one.
    let config =
        AriProviderConfig::new(APP).customer_leg(hookflash_asterisk::CustomerLeg::Originate);
    let live = Live::start_with(&host, "agent-answer-1s.xml", config).await;
    let id = live.originate("5551204615", Duration::from_secs(20)).await;
    let r = live.ended(&id).await;
    assert_eq!(r.disposition, Some(Disposition::Answered), "{r:#?}");
    assert_eq!(r.hung_up_by, Some(Party::Customer), "{r:#?}");
    let id = live.originate("5552000616", Duration::from_secs(20)).await;
    let r = live.ended(&id).await;
    assert_eq!(r.disposition, Some(Disposition::Busy), "{r:#?}");
    assert_eq!(r.hangup_cause.as_ref().map(|c| c.code), Some(17), "{r:#?}");
}

/// expected.json `ami/dtmf` over ARI: the customer phone answers and sends `1#` (RFC 4733)
/// a second later; the provider reports it as the customer's received DTMF.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ari_phone_dtmf() {
    let Some(host) = live_host("live_ari_phone_dtmf") else {
        return;
    };
    let _peer = PEER.lock().await;
    // Declared after the lock: the leftovers are hung up before the next test may start.
    let _left = PeerGuard::new(&host);
    let live = Live::start(&host, "agent-answer-1s.xml").await;
    // Customer answers after 1 s, sends DTMF `1#` 1 s later, hangs up after 10 s of talk.
    let id = live.originate("5556110617", Duration::from_secs(20)).await;
    let r = live.ended(&id).await;
    assert_eq!(r.disposition, Some(Disposition::Answered), "{r:#?}");
    assert_eq!(r.dtmf_received.customer, "1#", "{r:#?}");
    assert_eq!(r.hung_up_by, Some(Party::Customer), "{r:#?}");
}

/// expected.json `ami/inbound-queue` over ARI, acted out for real: the carrier calls DID
/// 18005550100, the dialplan queues it to agent1001 (answers after 1 s) and agent1002 (never
/// answers); no leg enters Stasis, yet the provider (subscribed to every channel) reports the
/// call and the tracker records it: inbound, from the carrier's number to the DID, offered to
/// both agents, answered by agent1001, hung up by the customer (the carrier's BYE after 6 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ari_inbound_queue_is_recorded() {
    let Some(host) = live_host("live_ari_inbound_queue_is_recorded") else {
        return;
    };
    let _peer = PEER.lock().await;
    // Declared after the lock: the leftovers are hung up before the next test may start.
    let _left = PeerGuard::new(&host);
    let live = Live::start(&host, "agent-answer-1s.xml").await;
    assert!(
        live.provider
            .capabilities()
            .supports(Capability::InboundCalls)
    );
    let live = live.with_second_agent("agent-noanswer.xml");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _carrier = Phone::start_args(
        "carrier",
        &[
            "carrier-uac-bye6s.xml",
            "127.0.0.1:5060",
            "-s",
            "18005550100",
            "-m",
            "1",
        ],
    );
    let inbound = |t: &Tracker| {
        t.calls()
            .find(|r| r.direction == Direction::Inbound)
            .cloned()
    };
    let mut record = None;
    for _ in 0..300 {
        record = inbound(&live.tracker.lock().unwrap());
        if record.as_ref().is_some_and(|r| r.state == CallState::Ended) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let the last hangups arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = inbound(&live.tracker.lock().unwrap())
        .unwrap_or_else(|| panic!("no inbound call recorded over ARI; last seen: {record:#?}"));
    assert_eq!(r.state, CallState::Ended, "{r:#?}");
    assert!(r.derived_id, "{r:#?}");
    assert_eq!(r.disposition, Some(Disposition::Answered), "{r:#?}");
    assert_eq!(r.from.as_deref(), Some("+15559870001"), "{r:#?}");
    assert_eq!(r.to.as_deref(), Some("18005550100"), "{r:#?}");
    assert!(
        r.customer_channel
            .as_deref()
            .is_some_and(|c| c.starts_with("PJSIP/trunk-")),
        "{r:#?}"
    );
    assert!(
        r.agent_channel
            .as_deref()
            .is_some_and(|c| c.starts_with("PJSIP/agent1001-")),
        "{r:#?}"
    );
    assert!(r.agent_answered && r.bridged, "{r:#?}");
    assert_eq!(r.hung_up_by, Some(Party::Customer), "{r:#?}");
    assert_eq!(r.hangup_cause.as_ref().map(|c| c.code), Some(16), "{r:#?}");
    let mut offered: Vec<&str> = r
        .offered_to
        .iter()
        .filter_map(|c| c.rsplit_once('-').map(|(ep, _)| ep))
        .collect();
    offered.sort_unstable();
    assert_eq!(offered, ["PJSIP/agent1001", "PJSIP/agent1002"], "{r:#?}");
}
