//! The real `api-server` binary starts while its PBX is down: `/readyz` and `GET /servers`
//! report the server down (without naming it to the unauthenticated), a call gets 503 naming
//! the server, and once the port opens the server connects by itself.

mod e2e_common;

use std::time::{Duration, Instant};

use e2e_common::*;
use hookflash_ami::mock::MockServer;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

/// A hang guard for waits on the binary (backoff included), not a timing check.
const PATIENCE: Duration = Duration::from_secs(90);

async fn get(http: &reqwest::Client, url: &str) -> (u16, Value) {
    let r = http.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Forwards every connection on `port` to the mock: the AMI "comes up" on the port the
/// configuration names.
async fn open_port(port: u16, mock: &MockServer) {
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let upstream = mock.addr();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut server) = TcpStream::connect(upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_with_the_pbx_down_reports_it_and_connects_when_it_comes_up() {
    let dir = temp_dir("pbx-down");
    let ami_port = free_port();
    let listen: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let db = format!("sqlite://{}/api.db?mode=rwc", dir.display());
    let config = ami_config(&dir, ([127, 0, 0, 1], ami_port).into(), listen, &db);
    let base = format!("http://{listen}");
    let password = "pbx-down-admin-password-1";
    let mut server = Proc::spawn(
        "api-server",
        &api_server_bin(),
        &["--config", config.to_str().unwrap()],
        &[("HOOKFLASH_ADMIN_PASSWORD", password.to_owned())],
        &dir,
    );
    let http = reqwest::Client::new();
    wait_healthy(&http, &format!("{base}/healthz"), &mut server).await;

    let (status, ready) = get(&http, &format!("{base}/readyz")).await;
    assert_eq!(status, 503, "{ready}");
    assert!(!ready.to_string().contains("pbx1"), "{ready}");
    let servers_check = ready["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "servers")
        .cloned()
        .unwrap_or_default();
    assert_eq!(servers_check["ok"], false, "{ready}");

    let api = Api::login(&base, "admin", password).await;
    let (s, servers) = api
        .send(reqwest::Method::GET, "/api/v1/servers", None)
        .await;
    assert_eq!(s, 200, "{servers}");
    assert_eq!(servers[0]["name"], "pbx1", "{servers}");
    assert_eq!(servers[0]["status"], "disconnected", "{servers}");
    let agent = api.agent("PJSIP/agent1001").await;
    let (s, refused) = api
        .send(
            reqwest::Method::POST,
            "/api/v1/calls",
            Some(json!({"agent": agent, "number": "+12025550143"})),
        )
        .await;
    assert_eq!(s, 503, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("pbx1")),
        "{refused}"
    );

    // The PBX comes up: the server connects by itself.
    let mock = MockServer::start(vec![login_only(), login_only()])
        .await
        .unwrap();
    open_port(ami_port, &mock).await;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, ready) = get(&http, &format!("{base}/readyz")).await;
        if status == 200 {
            assert_eq!(ready["ready"], true, "{ready}");
            break;
        }
        assert!(Instant::now() < deadline, "never connected: {ready}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (s, servers) = api
        .send(reqwest::Method::GET, "/api/v1/servers", None)
        .await;
    assert_eq!(s, 200, "{servers}");
    assert_eq!(servers[0]["status"], "up", "{servers}");
    assert!(mock.connections() >= 1);
    assert!(server.terminate(), "clean exit");
}

/// Two `[[twilio]]` accounts: the binary starts (merging a webhook router per account
/// panicked) and a signed callback is handled by the account its AccountSid names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_twilio_accounts_start_and_callbacks_route_by_account_sid() {
    const FIRST: (&str, &str) = (
        "AC00000000000000000000000000000001",
        "first-token-0123456789",
    );
    const SECOND: (&str, &str) = (
        "AC00000000000000000000000000000002",
        "second-token-0123456789",
    );
    let dir = temp_dir("two-twilio");
    let listen = format!("127.0.0.1:{}", free_port());
    let closed = free_port();
    let mut text = format!(
        "listen = \"{listen}\"\ndatabase_url = \"sqlite://{}/api.db?mode=rwc\"\n",
        dir.display()
    );
    for (i, (sid, token)) in [FIRST, SECOND].into_iter().enumerate() {
        text.push_str(&format!(
            "\n[[twilio]]\nname = \"tw{i}\"\naccount_sid = \"{sid}\"\nauth_token = \"{token}\"\n\
             base_url = \"http://127.0.0.1:{closed}\"\n"
        ));
    }
    let config = dir.join("hookflash.toml");
    std::fs::write(&config, text).unwrap();
    let base = format!("http://{listen}");
    let mut server = Proc::spawn(
        "api-server",
        &api_server_bin(),
        &["--config", config.to_str().unwrap()],
        &[(
            "HOOKFLASH_ADMIN_PASSWORD",
            "two-twilio-admin-password-1".to_owned(),
        )],
        &dir,
    );
    let http = reqwest::Client::new();
    wait_healthy(&http, &format!("{base}/healthz"), &mut server).await;

    let path = format!("/twilio/status/{}?leg=agent", uuid::Uuid::new_v4());
    let params: Vec<(String, String)> = [
        ("AccountSid", SECOND.0),
        ("CallSid", "CA0000000000000000000000000000aaaa"),
        ("CallStatus", "ringing"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let body: String = params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let url = format!("{base}{path}");
    let post = |signature: String| {
        http.post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header(hookflash_twilio::SIGNATURE_HEADER, signature)
            .body(body.clone())
            .send()
    };
    // Claims the second account, signed with the first's token: refused.
    let wrong = hookflash_twilio::compute_signature(FIRST.1, &url, &params);
    assert_eq!(post(wrong).await.unwrap().status(), 403);
    // Signed by the second account: accepted (a call it did not place: acknowledged, ignored).
    let right = hookflash_twilio::compute_signature(SECOND.1, &url, &params);
    assert_eq!(post(right).await.unwrap().status(), 204);
    assert!(server.terminate(), "clean exit");
}
