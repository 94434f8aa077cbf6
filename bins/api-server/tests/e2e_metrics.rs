//! Issue 11 point 8: the single-node api-server's `/metrics` shows the embedded pipeline's
//! figures beside the API's own: events in, calls tracked, the batch writer's rows written,
//! retried and dead-lettered transactions, resyncs and lag, the PBX link. The real binary on
//! SQLite against the mock AMI server replaying `originate-answered`.

mod e2e_common;

use std::time::Duration;

use e2e_common::*;

/// The value of the sample line starting with `name` (`name 3` or `name{labels} 3`).
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_the_embedded_pipeline() {
    let scenario = "originate-answered";
    let dir = temp_dir("metrics");
    let listen: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let db = format!("sqlite://{}/hookflash.db?mode=rwc", dir.display());
    let relay = AmiRelay::start(vec![transcript(scenario)]).await;
    let config = ami_config(&dir, relay.addr, listen, &db);
    let config_arg = config.to_str().unwrap().to_owned();
    let password = "metrics-admin-password-93".to_owned();
    let env = [("HOOKFLASH_ADMIN_PASSWORD", password.clone())];
    let http = reqwest::Client::new();
    let base = format!("http://{listen}");
    let mut api = Proc::spawn(
        "api-server",
        &api_server_bin(),
        &["--config", &config_arg],
        &env,
        &dir,
    );
    wait_healthy(&http, &format!("{base}/healthz"), &mut api).await;
    let client = Api::login(&base, "admin", &password).await;
    let agent = client.agent("PJSIP/agent1001").await;
    let mut ws = client.ws().await;
    let call_id = client.call(&agent, "+12025550143").await;
    ws.until_ended(&call_id, Duration::from_secs(30)).await;

    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The API's own figures are still there.
    assert!(
        sample(&text, "hookflash_api_http_requests_total").is_some(),
        "{text}"
    );
    // Events in, updates out.
    assert!(
        sample(&text, "hookflash_listener_events_total").is_some_and(|n| n > 0.0),
        "{text}"
    );
    assert!(
        sample(&text, "hookflash_listener_updates_total").is_some_and(|n| n > 0.0),
        "{text}"
    );
    // Calls tracked and the link, per server.
    assert!(
        text.contains("hookflash_pipeline_calls_tracked{server=\"pbx1\"}"),
        "{text}"
    );
    assert!(
        text.contains("hookflash_listener_server_up{server=\"pbx1\"} 1"),
        "{text}"
    );
    // The batch writer: the call's rows were written (ended calls are flushed before they are
    // announced), nothing retried or dead-lettered.
    assert!(
        sample(&text, "hookflash_pipeline_writer_rows_written_total").is_some_and(|n| n > 0.0),
        "{text}"
    );
    assert!(
        sample(&text, "hookflash_pipeline_writer_batches_total").is_some_and(|n| n > 0.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "hookflash_pipeline_writer_retried_total"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "hookflash_pipeline_writer_dead_letters_total"),
        Some(0.0),
        "{text}"
    );
    // Lag and resyncs.
    assert!(
        sample(&text, "hookflash_listener_resyncs_total").is_some(),
        "{text}"
    );
    assert!(
        sample(&text, "hookflash_listener_lagged_events_total").is_some(),
        "{text}"
    );
    ws.close().await;
    assert!(api.terminate(), "api-server stopped cleanly on SIGTERM");
    drop(relay);
    let _ = std::fs::remove_dir_all(&dir);
}
