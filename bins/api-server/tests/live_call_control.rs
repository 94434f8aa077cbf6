//! Live call control through the real `api-server` on the freshly started Asterisk peer
//! (`scripts/asterisk-peer/`, set up by `setup.sh`: no test installs dialplan). Set
//! `HOOKFLASH_LIVE_ASTERISK`; under `CI=true` it is required.
//!
//! Each test places an agent-first call (agent1001 answers; the customer phone answers
//! `5554100NNN` after 1 s and never hangs up), waits until it is connected, acts on it through
//! the API, and checks that the call is still up where it must be:
//! - AMI: hold and unhold keep the call (the hold contexts ship with the peer's dialplan);
//! - AMI and ARI: a blind or attended transfer to an extension the transfer context lacks is
//!   refused (422 naming `destination`) and the customer stays with the agent; a body carrying
//!   a `context` is refused (422 naming `context`), whatever context it names.

mod e2e_common;

use std::time::{Duration, Instant};

use e2e_common::live::*;
use reqwest::Method;
use serde_json::{Value, json};

/// The call's detail (`GET /calls/{id}`).
async fn detail(run: &Running, call_id: &str) -> Value {
    let (s, v) = run
        .admin
        .send(Method::GET, &format!("/api/v1/calls/{call_id}"), None)
        .await;
    assert_eq!(s, 200, "{v}");
    v["call"].clone()
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
        let call = detail(run, call_id).await;
        if done(&call) {
            return call;
        }
        assert!(Instant::now() < deadline, "{what}: {call}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits `for_` and checks the call stayed up all along (not ended, both parties there).
async fn stays_up(run: &Running, call_id: &str, for_: Duration, what: &str) {
    let deadline = Instant::now() + for_;
    while Instant::now() < deadline {
        let call = detail(run, call_id).await;
        assert_ne!(call["state"], "ended", "{what}: the call ended: {call}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The api-server on the peer with a connected agent-first call; returns it with its id.
async fn connected_call(test: &str, ari: bool, number: &str) -> Option<(Running, String, Phones)> {
    let host = live_host(test)?;
    let run = start(test, &host, ari, None).await;
    let phones = Phones {
        _agent: Phone::start("agent1001", "agent-answer-1s.xml", &[]),
        _customer: Phone::start("customer", "customer-uas.xml", &[]),
    };
    let agent = run.admin.agent("PJSIP/agent1001").await;
    let call_id = run.admin.call(&agent, number).await;
    until(&run, &call_id, Duration::from_secs(30), "connected", |c| {
        c["state"] == "connected"
    })
    .await;
    Some((run, call_id, phones))
}

/// The phones of a test, stopped on drop (after the call was hung up).
struct Phones {
    _agent: Phone,
    _customer: Phone,
}

/// Hangs the call up through the API, waits for its end and stops the server.
async fn finish(mut run: Running, call_id: &str, phones: Phones) {
    let (s, v) = run
        .admin
        .send(Method::DELETE, &format!("/api/v1/calls/{call_id}"), None)
        .await;
    assert_eq!(s, 202, "{v}");
    until(&run, call_id, Duration::from_secs(20), "ended", |c| {
        c["state"] == "ended"
    })
    .await;
    // Let the last hangups reach the phones before they stop and the next scenario.
    tokio::time::sleep(Duration::from_secs(1)).await;
    drop(phones);
    assert!(run.api.terminate());
    let _ = std::fs::remove_dir_all(&run.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ami_hold_and_unhold_keep_the_call() {
    let test = "live_ami_hold_and_unhold_keep_the_call";
    let Some((run, call_id, phones)) = connected_call(test, false, "5554100001").await else {
        return;
    };
    let hold = |path: &'static str| {
        let run = &run;
        let call_id = call_id.clone();
        async move {
            run.admin
                .send(
                    Method::PUT,
                    &format!("/api/v1/calls/{call_id}/{path}"),
                    Some(json!({"party": "customer"})),
                )
                .await
        }
    };
    let (s, v) = hold("hold/start").await;
    assert_eq!(s, 202, "{v}");
    until(&run, &call_id, Duration::from_secs(10), "on hold", |c| {
        c["is_on_hold"] == true
    })
    .await;
    stays_up(&run, &call_id, Duration::from_secs(3), "while held").await;
    let (s, v) = hold("hold/stop").await;
    assert_eq!(s, 202, "{v}");
    let call = until(&run, &call_id, Duration::from_secs(10), "unheld", |c| {
        c["is_on_hold"] == false
    })
    .await;
    assert_eq!(call["state"], "connected", "{call}");
    stays_up(&run, &call_id, Duration::from_secs(3), "after unhold").await;
    finish(run, &call_id, phones).await;
}

async fn transfer_refused(test: &str, ari: bool, number: &str) {
    let Some((run, call_id, phones)) = connected_call(test, ari, number).await else {
        return;
    };
    for kind in ["blind", "attended"] {
        let (s, v) = run
            .admin
            .send(
                Method::POST,
                "/api/v1/transfers",
                Some(json!({"call_id": call_id, "kind": kind, "destination": "9999"})),
            )
            .await;
        assert_eq!(s, 422, "{kind} to a missing extension: {v}");
        assert_eq!(v["error"]["field"], "destination", "{v}");
        assert!(
            v.to_string().contains("hookflash-transfer"),
            "says where it looked: {v}"
        );
        // A context in the body is refused before anything reaches the PBX, even one that
        // holds the destination.
        let (s, v) = run
            .admin
            .send(
                Method::POST,
                "/api/v1/transfers",
                Some(
                    json!({"call_id": call_id, "kind": kind, "destination": "100",
                            "context": "default"}),
                ),
            )
            .await;
        assert_eq!(s, 422, "{kind} with a context: {v}");
        assert_eq!(v["error"]["field"], "context", "{v}");
    }
    stays_up(
        &run,
        &call_id,
        Duration::from_secs(3),
        "after the refused transfers",
    )
    .await;
    let call = detail(&run, &call_id).await;
    assert_eq!(call["state"], "connected", "{call}");
    finish(run, &call_id, phones).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ami_transfer_to_a_missing_extension_keeps_the_customer() {
    let test = "live_ami_transfer_to_a_missing_extension_keeps_the_customer";
    transfer_refused(test, false, "5554100002").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ari_transfer_to_a_missing_extension_keeps_the_customer() {
    let test = "live_ari_transfer_to_a_missing_extension_keeps_the_customer";
    transfer_refused(test, true, "5554100003").await;
}

/// Starts a blind transfer through the API and waits until the call's record shows its
/// result; returns the record.
async fn blind_transfer(
    run: &Running,
    call_id: &str,
    destination: &str,
    within: Duration,
) -> Value {
    let before = detail(run, call_id).await["transfers"]
        .as_array()
        .map_or(0, Vec::len);
    let (s, v) = run
        .admin
        .send(
            Method::POST,
            "/api/v1/transfers",
            Some(json!({"call_id": call_id, "kind": "blind", "destination": destination})),
        )
        .await;
    assert_eq!(s, 202, "blind transfer to {destination}: {v}");
    until(run, call_id, within, "the transfer's result", |c| {
        c["transfers"]
            .as_array()
            .is_some_and(|t| t.len() > before && t[before]["result"] != "pending")
    })
    .await
}

/// ARI blind transfer to an endpoint and to a number through the configured trunk: the target
/// answers, takes the agent's place, and the call goes on with the customer (issue 11 point 3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ari_blind_transfer_to_an_endpoint_or_a_number() {
    let test = "live_ari_blind_transfer_to_an_endpoint_or_a_number";
    let Some((run, call_id, phones)) = connected_call(test, true, "5554100004").await else {
        return;
    };
    let second = Phone::start("agent1002", "agent-answer-1s.xml", &[]);
    let call = blind_transfer(&run, &call_id, "PJSIP/agent1002", Duration::from_secs(15)).await;
    let t = &call["transfers"][0];
    assert_eq!(t["result"], "success", "{call}");
    assert_eq!(t["kind"], "blind", "{call}");
    assert_eq!(t["to"], "PJSIP/agent1002", "{call}");
    stays_up(&run, &call_id, Duration::from_secs(3), "after the transfer").await;
    finish(run, &call_id, phones).await;
    drop(second);

    // A number through the configured trunk (the customer phone answers 5554... after 1 s).
    let test = "live_ari_blind_transfer_to_a_number";
    let Some((run, call_id, phones)) = connected_call(test, true, "5554100005").await else {
        return;
    };
    let call = blind_transfer(
        &run,
        &call_id,
        "PJSIP/5554100006@trunk",
        Duration::from_secs(15),
    )
    .await;
    assert_eq!(call["transfers"][0]["result"], "success", "{call}");
    stays_up(&run, &call_id, Duration::from_secs(3), "after the transfer").await;
    // Another trunk is never one a caller may pick.
    let (s, v) = run
        .admin
        .send(
            Method::POST,
            "/api/v1/transfers",
            Some(json!({"call_id": call_id, "kind": "blind",
                        "destination": "PJSIP/5554100007@trunk-offline"})),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["field"], "destination", "{v}");
    finish(run, &call_id, phones).await;
}

/// ARI blind transfer to a destination that exists but fails (a busy endpoint, a busy number,
/// an endpoint that never answers): the customer stays with the agent and the record says the
/// transfer failed (issue 11 point 2 of the transfers).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ari_failed_blind_transfer_keeps_the_customer_with_the_agent() {
    let test = "live_ari_failed_blind_transfer_keeps_the_customer_with_the_agent";
    let Some((run, call_id, phones)) = connected_call(test, true, "5554100008").await else {
        return;
    };
    let busy = Phone::start("agent1002", "agent-busy.xml", &[]);
    let cases = [
        ("PJSIP/agent1002", Duration::from_secs(15)),
        // The customer phone answers 5552... busy.
        ("PJSIP/5552100009@trunk", Duration::from_secs(15)),
    ];
    for (n, (destination, within)) in cases.into_iter().enumerate() {
        let call = blind_transfer(&run, &call_id, destination, within).await;
        let t = &call["transfers"][n];
        assert_eq!(t["result"], "failed", "{destination}: {call}");
        assert_eq!(t["to"], destination, "{call}");
        stays_up(&run, &call_id, Duration::from_secs(2), destination).await;
        let call = detail(&run, &call_id).await;
        assert_eq!(call["state"], "connected", "{destination}: {call}");
    }
    drop(busy);
    let _silent = Phone::start("agent1002", "agent-noanswer.xml", &[]);
    let call = blind_transfer(&run, &call_id, "1002", Duration::from_secs(40)).await;
    assert_eq!(call["transfers"][2]["result"], "failed", "{call}");
    stays_up(&run, &call_id, Duration::from_secs(2), "after no answer").await;
    let call = detail(&run, &call_id).await;
    assert_eq!(call["state"], "connected", "{call}");
    finish(run, &call_id, phones).await;
}
