//! Call records reporting can trust, through the real `api-server` on the freshly started
//! Asterisk peer (`scripts/asterisk-peer/`, set up by `setup.sh`: no test installs dialplan).
//! Set `HOOKFLASH_LIVE_ASTERISK`; under `CI=true` it is required.
//!
//! An agent-first call (agent1001 answers after 1 s; the customer phone answers `5554100NNN`
//! after 1 s and never hangs up) is transferred, attended, to agent1002 (answers after 1 s,
//! never hangs up), then hung up through the API on the agent's behalf. The record must say:
//! - `connected` once the transfer completed (AMI keeps a Local pair between the customer and
//!   agent1002: the call was `transferring` until it ended), `ended` at the end;
//! - `hung_up_by: agent` (every API hangup was `system`);
//! - the customer leg's number, E.164 (always null), and no Local `;1/;2` plumbing legs.

mod e2e_common;

use std::time::{Duration, Instant};

use e2e_common::live::*;
use reqwest::Method;
use serde_json::{Value, json};

/// The call's detail (`GET /calls/{id}`): `call`, `legs`, `events`.
async fn detail(run: &Running, call_id: &str) -> Value {
    let (s, v) = run
        .admin
        .send(Method::GET, &format!("/api/v1/calls/{call_id}"), None)
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

/// Polls the call until `done` holds (bounded by `within`); panics with the last view.
async fn until(
    run: &Running,
    call_id: &str,
    within: Duration,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let v = detail(run, call_id).await;
        if done(&v["call"]) {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn transferred_then_hung_up_by_the_agent(test: &str, ari: bool, number: &str) {
    let Some(host) = live_host(test) else {
        return;
    };
    let mut run = start(test, &host, ari, None).await;
    let phones = [
        Phone::start("agent1001", "agent-answer-1s.xml", &[]),
        Phone::start("agent1002", "agent-answer-1s.xml", &[]),
        Phone::start("customer", "customer-uas.xml", &[]),
    ];
    let agent = run.admin.agent("PJSIP/agent1001").await;
    let call_id = run.admin.call(&agent, number).await;
    until(&run, &call_id, Duration::from_secs(30), "connected", |c| {
        c["state"] == "connected"
    })
    .await;

    let (s, v) = run
        .admin
        .send(
            Method::POST,
            "/api/v1/transfers",
            Some(json!({"call_id": call_id, "kind": "attended", "destination": "1002"})),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    let transfer = v["transfer_id"]
        .as_str()
        .expect("an attended transfer id")
        .to_owned();
    // The consultation: agent1002 answers after 1 s.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (s, v) = run
        .admin
        .send(
            Method::PUT,
            &format!("/api/v1/transfers/{transfer}/complete"),
            None,
        )
        .await;
    assert_eq!(s, 202, "{v}");
    until(
        &run,
        &call_id,
        Duration::from_secs(15),
        "transferred",
        |c| c["transfers"][0]["result"] == "success",
    )
    .await;
    // The customer now talks to agent1002: connected, and it stays so.
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        let v = detail(&run, &call_id).await;
        assert_eq!(
            v["call"]["state"], "connected",
            "after the completed transfer: {v}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let (s, v) = run
        .admin
        .send(
            Method::DELETE,
            &format!("/api/v1/calls/{call_id}?requested_by=agent"),
            None,
        )
        .await;
    assert_eq!(s, 202, "{v}");
    let v = until(&run, &call_id, Duration::from_secs(20), "ended", |c| {
        c["state"] == "ended"
    })
    .await;
    let call = &v["call"];
    assert_eq!(call["disposition"], "answered", "{v}");
    assert_eq!(call["hung_up_by"], "agent", "{v}");

    let legs = v["legs"].as_array().expect("legs");
    // ARI shows agent1002 only through the Local half it originated: that half is the second
    // agent's leg there. No leg is plumbing, and over AMI no Local channel is a leg.
    let plumbing = |l: &Value| {
        let local = l["channel"]
            .as_str()
            .is_some_and(|c| c.starts_with("Local/"));
        l["role"] == "local" || (local && !ari)
    };
    assert!(!legs.iter().any(plumbing), "plumbing listed as legs: {v}");
    let customer = legs
        .iter()
        .find(|l| l["role"] == "customer")
        .expect("a customer leg");
    assert_eq!(
        customer["number"].as_str(),
        Some(format!("+1{number}").as_str()),
        "{v}"
    );

    // Let the last hangups reach the phones before they stop and the next scenario.
    tokio::time::sleep(Duration::from_secs(1)).await;
    drop(phones);
    assert!(run.api.terminate());
    let _ = std::fs::remove_dir_all(&run.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ami_record_after_a_transfer_and_an_agent_hangup() {
    let test = "live_ami_record_after_a_transfer_and_an_agent_hangup";
    transferred_then_hung_up_by_the_agent(test, false, "5554100011").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ari_record_after_a_transfer_and_an_agent_hangup() {
    let test = "live_ari_record_after_a_transfer_and_an_agent_hangup";
    transferred_then_hung_up_by_the_agent(test, true, "5554100012").await;
}
