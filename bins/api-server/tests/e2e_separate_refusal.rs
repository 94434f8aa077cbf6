//! Issue 12 point 11: with `api-server --separate-listener`, an Originate the PBX refuses is
//! recorded as failed. The refusal is the answer to the api-server's own action, on its own
//! AMI connection: the event-listener never hears of it. The api process runs the pipeline
//! for that one event (the tracker decides, the record is written through the store and
//! announced over NOTIFY), so the call does not stay `created`.
//!
//! The real binaries on PostgreSQL against the mock PBX, which refuses every Originate when
//! its transcript holds none (`Response: Error`, `Message: Originate failed`).

mod e2e_common;

use std::time::{Duration, Instant};

use e2e_common::*;
use hookflash_ami::mock::MockPbx;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_originate_is_recorded_as_failed_beside_a_separate_listener() {
    let test = "a_refused_originate_is_recorded_as_failed_beside_a_separate_listener";
    let Some(base) = postgres_url(test) else {
        return;
    };
    let db = fresh_postgres_db(&base).await;
    let pbx = MockPbx::start(transcript("login-plain")).await.unwrap();
    let dir = temp_dir("separate-refusal");
    let listen: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let config = ami_config(&dir, pbx.addr(), listen, &db);
    let config_arg = config.to_str().unwrap().to_owned();
    let password = "refusal-admin-password-93".to_owned();
    let env = [("HOOKFLASH_ADMIN_PASSWORD", password.clone())];
    let http = reqwest::Client::new();
    let base_url = format!("http://{listen}");
    let mut api = Proc::spawn(
        "api-server",
        &api_server_bin(),
        &["--config", &config_arg, "--separate-listener"],
        &env,
        &dir,
    );
    wait_healthy(&http, &format!("{base_url}/healthz"), &mut api).await;
    let health = format!("127.0.0.1:{}", free_port());
    let mut listener = Proc::spawn(
        "event-listener",
        &event_listener_bin(),
        &["--config", &config_arg, "--listen", &health],
        &env,
        &dir,
    );
    wait_healthy(&http, &format!("http://{health}/healthz"), &mut listener).await;

    let client = Api::login(&base_url, "admin", &password).await;
    let agent = client.agent("PJSIP/agent1001").await;
    let mut ws = client.ws().await;
    let call_id = client.call(&agent, "+12025550143").await;

    // The WebSocket (fed over NOTIFY) announces the end, and the stored record is final.
    let messages = ws.until_ended(&call_id, Duration::from_secs(20)).await;
    assert!(
        messages.iter().any(|m| m["type"] == "call_ended"),
        "{messages:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let detail = loop {
        let (s, detail) = client
            .send(
                reqwest::Method::GET,
                &format!("/api/v1/calls/{call_id}"),
                None,
            )
            .await;
        assert_eq!(s, 200, "{detail}");
        if detail["call"]["state"] == "ended" || Instant::now() > deadline {
            break detail;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let call = &detail["call"];
    assert_eq!(call["state"], "ended", "{detail}");
    assert_eq!(call["disposition"], "failed", "{detail}");
    assert_eq!(call["server"], "pbx1", "{detail}");
    ws.close().await;
    assert!(api.terminate(), "api-server stopped cleanly on SIGTERM");
    assert!(listener.terminate(), "event-listener stopped cleanly");
    let _ = std::fs::remove_dir_all(&dir);
}
