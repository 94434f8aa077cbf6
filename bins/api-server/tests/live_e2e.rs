//! Live end to end: the real `api-server` binary against the real Asterisk peer
//! (`scripts/asterisk-peer/`) with its sipp phones. Set `HOOKFLASH_LIVE_ASTERISK` (the host,
//! e.g. `127.0.0.1`; `scripts/test.sh` does); under `CI=true` it is required.
//!
//! The api-server is configured as for a test PBX: `phone_validation = "possible"` (the
//! customer phone's numbers `555ORTTNNN` use the unassigned 555 area code) and
//! `dial_format = "national"` (the peer's `hookflash-outbound` context matches digits, and the
//! customer phone only acts out a user part starting with `555`).
//!
//! - AMI and ARI: `POST /calls` to an agent whose phone is busy; the WebSocket walks the call
//!   to its end and `GET` shows `agent_busy`.
//! - AMI and ARI: `POST /calls` answered by the agent, then by the customer phone
//!   (`5551203005`: ring 2 s, talk 3 s, the customer hangs up): `answered`, hung up by the
//!   customer; and a busy customer (`5552000008`): `busy`.
//! - AMI and ARI: an inbound call from the carrier phone into the queue, offered on
//!   agent1001's own WebSocket, answered by their phone (agent1002's never answers), and
//!   logged. Over ARI no leg of it enters Stasis: the provider sees it through its
//!   subscription to every channel.

mod e2e_common;

use std::time::Duration;

use e2e_common::live::*;
use e2e_common::*;
use serde_json::json;

/// What an outbound scenario expects of the finished call.
struct Want {
    disposition: &'static str,
    hung_up_by: Option<&'static str>,
    agent_answered: bool,
}

/// Places a call through `POST /calls` with agent1001's phone acting `agent_scenario` and the
/// customer phone acting out `number`, follows it on the WebSocket to its end and checks the
/// finished call.
async fn outbound(test: &str, ari: bool, agent_scenario: &str, number: &str, want: Want) {
    let Some(host) = live_host(test) else {
        return;
    };
    let mut run = start(test, &host, ari, None).await;
    let agent_phone = Phone::start("agent1001", agent_scenario, &[]);
    let customer_phone = Phone::start("customer", "customer-uas.xml", &[]);
    let agent = run.admin.agent("PJSIP/agent1001").await;
    let mut ws = run.admin.ws().await;
    let call_id = run.admin.call(&agent, number).await;
    let messages = ws.until_ended(&call_id, Duration::from_secs(60)).await;
    let expected = json!({"disposition": want.disposition, "agent_answered": want.agent_answered});
    let walk = check_walk(&messages, &expected);
    assert_eq!(
        walk.first().map(String::as_str),
        Some("created"),
        "{walk:?}"
    );
    if want.agent_answered {
        assert!(walk.iter().any(|s| s == "customer_ringing"), "{walk:?}");
    }
    let (s, detail) = run
        .admin
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/calls/{call_id}"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{detail}");
    let call = &detail["call"];
    assert_eq!(call["state"], "ended", "{detail}");
    assert_eq!(call["direction"], "outbound", "{detail}");
    assert_eq!(call["disposition"], want.disposition, "{detail}");
    assert_eq!(call["agent_id"], agent.as_str(), "{detail}");
    // The stored number stays E.164 whatever form the PBX dialled.
    if number.starts_with("555") {
        assert_eq!(call["to_number"], format!("+1{number}"), "{detail}");
    }
    if let Some(who) = want.hung_up_by {
        assert_eq!(call["hung_up_by"], who, "{detail}");
    }
    ws.close().await;
    // Let the call's last hangups reach the phones before they stop and the next scenario.
    tokio::time::sleep(Duration::from_secs(1)).await;
    drop(agent_phone);
    drop(customer_phone);
    assert!(run.api.terminate());
    let _ = std::fs::remove_dir_all(&run.dir);
}

const AGENT_BUSY: Want = Want {
    disposition: "agent_busy",
    hung_up_by: None,
    agent_answered: false,
};
const ANSWERED: Want = Want {
    disposition: "answered",
    hung_up_by: Some("customer"),
    agent_answered: true,
};
const CUSTOMER_BUSY: Want = Want {
    disposition: "busy",
    hung_up_by: None,
    agent_answered: true,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ami_outbound_agent_busy() {
    let test = "live_ami_outbound_agent_busy";
    outbound(test, false, "agent-busy.xml", "+12025550143", AGENT_BUSY).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ari_outbound_agent_busy() {
    let test = "live_ari_outbound_agent_busy";
    outbound(test, true, "agent-busy.xml", "+12025550143", AGENT_BUSY).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ami_outbound_answered_customer_hangs_up() {
    let test = "live_ami_outbound_answered_customer_hangs_up";
    outbound(test, false, "agent-answer-1s.xml", "5551203005", ANSWERED).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ari_outbound_answered_customer_hangs_up() {
    let test = "live_ari_outbound_answered_customer_hangs_up";
    outbound(test, true, "agent-answer-1s.xml", "5551203005", ANSWERED).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ami_outbound_customer_busy() {
    let test = "live_ami_outbound_customer_busy";
    outbound(
        test,
        false,
        "agent-answer-1s.xml",
        "5552000008",
        CUSTOMER_BUSY,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ari_outbound_customer_busy() {
    let test = "live_ari_outbound_customer_busy";
    outbound(
        test,
        true,
        "agent-answer-1s.xml",
        "5552000008",
        CUSTOMER_BUSY,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ami_inbound_queue_offered_answered_logged() {
    inbound_queue(
        "live_ami_inbound_queue_offered_answered_logged",
        false,
        false,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ari_inbound_queue_offered_answered_logged() {
    inbound_queue(
        "live_ari_inbound_queue_offered_answered_logged",
        true,
        false,
    )
    .await;
}

/// The same inbound call with the api-server beside a separate event-listener, the call's
/// updates crossing over PostgreSQL LISTEN/NOTIFY (fresh database).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ami_inbound_queue_over_listen_notify() {
    inbound_queue("live_ami_inbound_queue_over_listen_notify", false, true).await;
}

async fn inbound_queue(test: &str, ari: bool, postgres: bool) {
    use hookflash_store::{NewUser, Store, UserRole};
    let Some(host) = live_host(test) else {
        return;
    };
    let pg = if postgres {
        let Some(base) = postgres_url(test) else {
            return;
        };
        Some(fresh_postgres_db(&base).await)
    } else {
        None
    };
    let mut run = start(test, &host, ari, pg).await;
    let store = Store::connect(&run.db).await.unwrap();
    let tenant = store
        .tenants()
        .get_by_slug("default")
        .await
        .unwrap()
        .unwrap();
    let user = store
        .users()
        .create(
            tenant.tenant_id(),
            NewUser {
                username: "agent1001".into(),
                email: None,
                display_name: Some("Agent 1001".into()),
                password: "agent-password-1001".into(),
                role: UserRole::Agent,
            },
        )
        .await
        .unwrap();
    let (s, agent) = run
        .admin
        .send(
            reqwest::Method::POST,
            "/api/v1/agents",
            Some(
                json!({"display_name": "Agent 1001", "endpoint": "PJSIP/agent1001",
                "user_id": user.id.to_string()}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{agent}");
    let me = Api::login(&run.base, "agent1001", "agent-password-1001").await;
    let mut ws = me.ws().await;

    let _a1 = Phone::start("agent1001", "agent-answer-1s.xml", &[]);
    let _a2 = Phone::start("agent1002", "agent-noanswer.xml", &[]);
    let _carrier = Phone::start(
        "carrier",
        "carrier-uac-bye6s.xml",
        &["127.0.0.1:5060", "-s", "18005550100", "-m", "1"],
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(45);
    let mut offered = None;
    let mut answered = false;
    let mut last = None;
    while last.is_none() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let Some(v) = ws.next_json(left).await else {
            panic!("no end on the agent's WebSocket: offered {offered:?}, answered {answered}");
        };
        match v["type"].as_str() {
            Some("offer") => offered = Some(v["call_id"].as_str().unwrap().to_owned()),
            Some("answered") => answered = true,
            Some("call_ended") if offered.is_some() => last = Some(v.clone()),
            _ => {}
        }
    }
    let call_id = offered.unwrap();
    assert!(answered, "agent1001 answered the offered call");
    assert_eq!(last.unwrap()["call_id"], call_id.as_str());
    let (s, detail) = run
        .admin
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/calls/{call_id}"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{detail}");
    let call = &detail["call"];
    assert_eq!(call["direction"], "inbound", "{detail}");
    assert_eq!(call["disposition"], "answered", "{detail}");
    assert_eq!(call["hung_up_by"], "customer", "{detail}");
    assert_eq!(call["agent_id"], agent["id"], "{detail}");
    // The DID the carrier called, in E.164, as the called number and the DID.
    assert_eq!(call["to_number"], "+18005550100", "{detail}");
    assert_eq!(call["did"], "+18005550100", "{detail}");
    ws.close().await;
    store.close().await;
    // Let the queue's last hangups land before the next scenario uses the phones.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(run.api.terminate());
    if let Some(mut l) = run.listener.take() {
        assert!(l.terminate());
    }
    let _ = std::fs::remove_dir_all(&run.dir);
}
