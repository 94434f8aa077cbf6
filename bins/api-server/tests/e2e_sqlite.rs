//! End to end on SQLite: the real `api-server` binary (embedding the event pipeline) against
//! the mock AMI server replaying fixture scenarios.

mod e2e_common;

use std::time::Duration;

use e2e_common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn originate_answered() {
    let out = run_scenario("originate-answered", None).await;
    assert!(
        out.states.contains(&"connected".to_owned()),
        "{:?}",
        out.states
    );
    assert_eq!(
        out.detail["call"]["talk_seconds"].as_i64().map(|t| t > 0),
        Some(true)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn originate_customer_busy() {
    let out = run_scenario("originate-customer-busy", None).await;
    assert!(
        !out.states.contains(&"connected".to_owned()),
        "{:?}",
        out.states
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn originate_agent_busy() {
    run_scenario("originate-agent-busy", None).await;
}

/// `cargo run -p api-server` on a fresh machine: no config file, SQLite in the working
/// directory, the admin's one-time password printed once (not on the next start), and the
/// printed password works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_start_prints_the_admin_password_once() {
    let dir = temp_dir("fresh");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let base = format!("http://{listen}");
    let http = reqwest::Client::new();
    let mut first = Proc::spawn(
        "api-server",
        &api_server_bin(),
        &["--listen", &listen],
        &[],
        &dir,
    );
    wait_healthy(&http, &format!("{base}/healthz"), &mut first).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let password = loop {
        let found = first.stdout.lock().unwrap().iter().find_map(|l| {
            l.trim()
                .strip_prefix("password: ")
                .map(|p| p.split_whitespace().next().unwrap_or("").to_owned())
        });
        if let Some(p) = found {
            break p;
        }
        assert!(std::time::Instant::now() < deadline, "no password printed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(password.len() >= 16);
    assert!(
        dir.join("hookflash.db").exists(),
        "SQLite file in the working directory"
    );
    // The printed password is a one-time password: refused for tokens until changed.
    let r = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "admin", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "one-time password");
    let r = http
        .post(format!("{base}/api/v1/auth/password"))
        .json(
            &serde_json::json!({"username": "admin", "current_password": password,
                                  "new_password": "the operator's own passphrase"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "first password change");
    let password = "the operator's own passphrase".to_owned();
    let api = Api::login(&base, "admin", &password).await;
    let (s, servers) = api
        .send(reqwest::Method::GET, "/api/v1/servers", None)
        .await;
    assert_eq!(s, 200, "{servers}");
    assert!(first.terminate(), "clean exit on SIGTERM");

    let mut second = Proc::spawn(
        "api-server",
        &api_server_bin(),
        &["--listen", &listen],
        &[],
        &dir,
    );
    wait_healthy(&http, &format!("{base}/healthz"), &mut second).await;
    assert!(second.printed("listening on"));
    assert!(
        !second.printed("password:"),
        "the password is shown only once"
    );
    Api::login(&base, "admin", &password).await;
    assert!(second.terminate());
    let _ = std::fs::remove_dir_all(&dir);
}

/// An inbound call from the carrier into the queue (the `inbound-queue` replay): offered on
/// the agent's own WebSocket, answered by them, and logged as an answered inbound call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_queue_call_is_offered_answered_and_logged() {
    use hookflash_store::{NewUser, Store, UserRole};
    use serde_json::json;

    let expected = expected("inbound-queue");
    let expected = &expected[0];
    let dir = temp_dir("inbound");
    let listen: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let db = format!("sqlite://{}/hookflash.db?mode=rwc", dir.display());
    let relay = AmiRelay::start(vec![transcript("inbound-queue")]).await;
    let config = ami_config(&dir, relay.addr, listen, &db);
    let password = "e2e-admin-password".to_owned();
    let mut api = Proc::spawn(
        "api-server",
        &api_server_bin(),
        &["--config", config.to_str().unwrap()],
        &[("HOOKFLASH_ADMIN_PASSWORD", password.clone())],
        &dir,
    );
    let base = format!("http://{listen}");
    let http = reqwest::Client::new();
    wait_healthy(&http, &format!("{base}/healthz"), &mut api).await;
    let admin = Api::login(&base, "admin", &password).await;

    // An agent user for agent1001 (users are provisioned in the store; the API links them).
    let store = Store::connect(&db).await.unwrap();
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
    let (s, agent) = admin
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
    let me = Api::login(&base, "agent1001", "agent-password-1001").await;
    let mut ws = me.ws().await;

    // The recorded session continues after a QueueStatus: play it, and the call comes in.
    assert_eq!(relay.connections(), 1);
    relay.inject_action(
        0,
        "Action: QueueStatus\r\nActionID: e2e-queuestatus\r\nQueue: hookflash-support\r\n\r\n",
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut offered = None;
    let mut answered = false;
    let mut final_record = None;
    // Compact updates: the disposition arrives with whichever update changed it.
    let mut disposition = serde_json::Value::Null;
    while final_record.is_none() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let Some(v) = ws.next_json(left).await else {
            panic!("the agent's WebSocket ended early: offered {offered:?}, answered {answered}");
        };
        if let Some(d) = v["changes"]
            .get("disposition")
            .or(v["call"].get("disposition"))
        {
            disposition = d.clone();
        }
        match v["type"].as_str() {
            Some("offer") => {
                assert!(offered.is_none(), "one offer");
                assert_eq!(v["caller_number"], expected["from"], "{v}");
                offered = Some(v["call_id"].as_str().unwrap().to_owned());
            }
            Some("answered") => {
                assert_eq!(
                    v["call_id"].as_str(),
                    offered.as_deref(),
                    "answered the offered call"
                );
                answered = true;
            }
            Some("call_ended") => final_record = Some(v.clone()),
            _ => {}
        }
    }
    let call_id = offered.expect("the call was offered to the agent");
    assert!(answered, "the agent answered it");
    let record = final_record.unwrap();
    assert_eq!(record["call_id"], call_id.as_str());
    assert_eq!(disposition, "answered", "{record}");

    let (s, detail) = admin
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/calls/{call_id}"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{detail}");
    let call = &detail["call"];
    assert_eq!(call["direction"], "inbound");
    assert_eq!(call["state"], "ended");
    assert_eq!(call["disposition"], expected["disposition"]);
    assert_eq!(call["hung_up_by"], expected["hung_up_by"]);
    assert_eq!(call["from_number"], expected["from"]);
    // The agent's own call history lists it.
    let (s, mine) = me
        .send(reqwest::Method::GET, "/api/v1/users/me/calls", None)
        .await;
    assert_eq!(s, 200, "{mine}");
    assert!(
        mine["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|c| c["id"] == call_id.as_str())),
        "{mine}"
    );
    ws.close().await;
    store.close().await;
    assert!(api.terminate());
    let _ = std::fs::remove_dir_all(&dir);
}
