//! One AMI fixture scenario run end to end and checked against expected.json.

use super::*;

/// The order calls move through; a later state never comes before an earlier one.
pub fn state_rank(state: &str) -> u8 {
    match state {
        "created" => 0,
        "agent_ringing" => 1,
        "agent_answered" => 2,
        "customer_ringing" => 3,
        "connected" | "on_hold" | "transferring" | "parked" => 4,
        "ended" => 5,
        other => panic!("unknown state {other}"),
    }
}

/// Checks the WebSocket walk and the final call against an expected.json entry.
pub fn check_walk(messages: &[Value], expected: &Value) -> Vec<String> {
    let states: Vec<String> = messages
        .iter()
        .map(|m| m["call"]["state"].as_str().unwrap().to_owned())
        .collect();
    let mut dedup = states.clone();
    dedup.dedup();
    // The tracker may show `ended` as soon as every leg it knows has hung up, then place an
    // event that arrived late but happened earlier (within its reorder window); only the
    // final `call_ended` is final. So the walk is checked without those early `ended`s.
    let final_run = dedup.len() - 1;
    let walk: Vec<String> = dedup
        .iter()
        .enumerate()
        .filter(|(i, s)| *i == final_run || s.as_str() != "ended")
        .map(|(_, s)| s.clone())
        .collect();
    assert_eq!(
        messages
            .iter()
            .filter(|m| m["type"] == "call_ended")
            .count(),
        1,
        "exactly one call_ended"
    );
    assert_eq!(messages.last().unwrap()["type"], "call_ended");
    for w in walk.windows(2) {
        assert!(
            state_rank(&w[0]) <= state_rank(&w[1]),
            "states went backwards: {dedup:?}; {:?}",
            messages
                .iter()
                .map(|m| format!(
                    "{} version={} state={} events={:?}",
                    m["type"],
                    m["call"]["version"],
                    m["call"]["state"],
                    m["events"].as_array().map(|t| t
                        .iter()
                        .map(|e| e["kind"].as_str().unwrap_or("").to_owned())
                        .collect::<Vec<_>>())
                ))
                .collect::<Vec<_>>()
        );
    }
    assert_eq!(dedup.last().map(String::as_str), Some("ended"), "{dedup:?}");
    let last = &messages.last().unwrap()["call"];
    assert_eq!(last["disposition"], expected["disposition"], "{last}");
    if expected["agent_answered"] == true {
        assert!(
            dedup
                .iter()
                .any(|s| s == "agent_answered" || s == "customer_ringing" || s == "connected"),
            "{dedup:?}"
        );
    }
    if expected["disposition"] == "answered" {
        assert!(dedup.iter().any(|s| s == "connected"), "{dedup:?}");
    }
    dedup
}

/// What a scenario run leaves for extra checks.
pub struct Outcome {
    /// The WebSocket call messages of the call, in order.
    pub messages: Vec<Value>,
    /// `GET /api/v1/calls/{id}`.
    pub detail: Value,
    /// The distinct states walked.
    pub states: Vec<String>,
}

/// Runs one AMI fixture scenario end to end: the real api-server (and, with `postgres`, a
/// separate event-listener over LISTEN/NOTIFY) against the mock AMI server; logs in, opens
/// the WebSocket, `POST /calls`, follows the call to its end, `GET`s it and checks it against
/// expected.json.
pub async fn run_scenario(scenario: &str, postgres: Option<String>) -> Outcome {
    let expected = expected(scenario);
    assert_eq!(expected.len(), 1, "one call per scenario");
    let expected = &expected[0];
    let dir = temp_dir(scenario);
    let api_port = free_port();
    let listen: SocketAddr = format!("127.0.0.1:{api_port}").parse().unwrap();
    let password = "e2e-admin-password".to_owned();
    let http = reqwest::Client::new();
    let (db, transcripts) = match &postgres {
        Some(url) => (url.clone(), vec![login_only(), transcript(scenario)]),
        None => (
            format!("sqlite://{}/hookflash.db?mode=rwc", dir.display()),
            vec![transcript(scenario)],
        ),
    };
    let relay = AmiRelay::start(transcripts).await;
    let config = ami_config(&dir, relay.addr, listen, &db);
    let config_arg = config.to_str().unwrap().to_owned();
    let env = [("HOOKFLASH_ADMIN_PASSWORD", password.clone())];

    let mut listener = None;
    if postgres.is_some() {
        let health = free_port();
        let mut p = Proc::spawn(
            "event-listener",
            &event_listener_bin(),
            &[
                "--config",
                &config_arg,
                "--listen",
                &format!("127.0.0.1:{health}"),
            ],
            &env,
            &dir,
        );
        wait_healthy(&http, &format!("http://127.0.0.1:{health}/healthz"), &mut p).await;
        listener = Some((p, health));
    }
    let mut args = vec!["--config", config_arg.as_str()];
    if postgres.is_some() {
        args.push("--separate-listener");
    }
    let mut api = Proc::spawn("api-server", &api_server_bin(), &args, &env, &dir);
    let base = format!("http://{listen}");
    wait_healthy(&http, &format!("{base}/healthz"), &mut api).await;

    let client = Api::login(&base, "admin", &password).await;
    let agent = client.agent("PJSIP/agent1001").await;
    let mut ws = client.ws().await;
    let call_id = client.call(&agent, "+12025550143").await;
    let messages = ws.until_ended(&call_id, Duration::from_secs(30)).await;
    let states = check_walk(&messages, expected);
    // The first message carries the whole call; the rest only what changed.
    assert_eq!(messages[0]["type"], "call_created", "{:?}", messages[0]);

    let (s, detail) = client
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/calls/{call_id}"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{detail}");
    let call = &detail["call"];
    assert_eq!(call["id"], call_id.as_str());
    assert_eq!(call["state"], "ended", "{detail}");
    assert_eq!(call["disposition"], expected["disposition"], "{detail}");
    assert_eq!(call["direction"], "outbound");
    assert_eq!(call["server"], "pbx1");
    assert_eq!(call["agent_id"], agent.as_str());
    if let Some(h) = expected["hung_up_by"].as_str()
        && h != "either"
    {
        assert_eq!(call["hung_up_by"], h, "{detail}");
    }
    assert!(
        !detail["legs"].as_array().unwrap().is_empty(),
        "legs were written: {detail}"
    );
    assert!(
        detail["events"].as_array().unwrap().len() >= 3,
        "the timeline was written: {detail}"
    );
    ws.close().await;
    assert!(api.terminate(), "api-server stopped cleanly on SIGTERM");
    if let Some((mut p, health)) = listener {
        let metrics = http
            .get(format!("http://127.0.0.1:{health}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.contains("hookflash_listener_server_up{server=\"pbx1\"} 1"),
            "{metrics}"
        );
        assert!(
            !metrics.contains("hookflash_listener_updates_total 0"),
            "the separate listener did the work: {metrics}"
        );
        assert!(p.terminate(), "event-listener stopped cleanly on SIGTERM");
    }
    drop(relay);
    let _ = std::fs::remove_dir_all(&dir);
    Outcome {
        messages,
        detail,
        states,
    }
}
