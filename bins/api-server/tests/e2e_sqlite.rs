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
