//! Load test (ignored by default; run it by hand, it prints figures and asserts only that
//! every call completed):
//!
//! ```text
//! cargo nextest run -p api-server --test e2e_load --run-ignored only --no-capture
//! ```
//!
//! The real api-server (SQLite, embedded listener) against the mock AMI server replaying the
//! `load` fixture: 300 agent-first calls. It measures `POST /calls` requests per second
//! (16 in flight) and the latency from an AMI event leaving the relay to the WebSocket message
//! it caused (matched by the event's `Timestamp`, which becomes the record's
//! `last_event_at`). Bounded: 300 calls, loopback only, 120 s at most.

mod e2e_common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use e2e_common::*;
use futures::StreamExt;
use serde_json::Value;

fn pbx_timestamp(rfc3339: &str) -> Option<String> {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339).ok()?;
    Some(format!(
        "{}.{:06}",
        t.timestamp(),
        t.timestamp_subsec_micros()
    ))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "load test: run by hand with --run-ignored only --no-capture"]
async fn post_calls_and_event_to_websocket_latency() {
    let started = Instant::now();
    let transcript = transcript("load");
    let total = recorded_call_ids(&transcript).len();
    let relay = AmiRelay::start(vec![transcript]).await;
    let dir = temp_dir("load");
    let listen: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let db = format!("sqlite://{}/hookflash.db?mode=rwc", dir.display());
    let config = ami_config(&dir, relay.addr, listen, &db);
    let password = "load-admin-password".to_owned();
    let mut api = Proc::spawn(
        "api-server",
        &api_server_bin(),
        &["--config", config.to_str().unwrap()],
        &[
            ("HOOKFLASH_ADMIN_PASSWORD", password.clone()),
            ("RUST_LOG", "warn".to_owned()),
        ],
        &dir,
    );
    let base = format!("http://{listen}");
    let http = reqwest::Client::new();
    wait_healthy(&http, &format!("{base}/healthz"), &mut api).await;
    let client = Arc::new(Api::login(&base, "admin", &password).await);
    let agent = client.agent("PJSIP/agent2001").await;

    // The WebSocket reader stamps every frame as it arrives.
    let url = format!("ws://{listen}/api/v1/ws?token={}", client.token);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let received: Arc<Mutex<Vec<(Instant, Value)>>> = Arc::default();
    let rec = received.clone();
    let ended = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let ended_w = ended.clone();
    let reader = tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
                let at = Instant::now();
                if let Ok(v) = serde_json::from_str::<Value>(t.as_str()) {
                    if v["type"] == "call_ended" {
                        ended_w.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    rec.lock().unwrap().push((at, v));
                }
            }
        }
    });

    let post_start = Instant::now();
    let sem = Arc::new(tokio::sync::Semaphore::new(16));
    let mut tasks = Vec::new();
    let post_latencies: Arc<Mutex<Vec<Duration>>> = Arc::default();
    for _ in 0..total {
        let permit = sem.clone().acquire_owned().await.unwrap();
        let client = client.clone();
        let agent = agent.clone();
        let lat = post_latencies.clone();
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            client.call(&agent, "+12025550143").await;
            lat.lock().unwrap().push(t.elapsed());
            drop(permit);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let post_elapsed = post_start.elapsed();

    let deadline = Instant::now() + Duration::from_secs(90);
    while ended.load(std::sync::atomic::Ordering::Relaxed) < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ended_count = ended.load(std::sync::atomic::Ordering::Relaxed);
    reader.abort();

    let forwarded: HashMap<String, Instant> = relay.forwarded.lock().unwrap().clone();
    let mut latencies = Vec::new();
    let mut unmatched = 0usize;
    for (at, v) in received.lock().unwrap().iter() {
        // `call_ended` waits for the tracker's reorder window by design: not event latency.
        if v["type"] != "call_created" && v["type"] != "call_updated" {
            continue;
        }
        // The newest timeline entry the message brings is the event that caused it.
        let newest = v["events"].as_array().and_then(|e| e.last());
        let Some(ts) = newest
            .and_then(|e| e["at"].as_str())
            .and_then(pbx_timestamp)
        else {
            continue;
        };
        match forwarded.get(&ts) {
            Some(sent) if *at >= *sent => latencies.push(*at - *sent),
            _ => unmatched += 1,
        }
    }
    latencies.sort();
    let mut posts = post_latencies.lock().unwrap().clone();
    posts.sort();
    println!("--- hookflash load test (api-server, SQLite, mock AMI, loopback) ---");
    println!(
        "POST /calls: {total} calls in {:.2} s = {:.1} req/s (16 in flight); latency p50 {:?} p99 {:?}",
        post_elapsed.as_secs_f64(),
        total as f64 / post_elapsed.as_secs_f64(),
        percentile(&posts, 0.5),
        percentile(&posts, 0.99),
    );
    println!(
        "AMI event -> WebSocket message: {} samples ({} unmatched); p50 {:?} p90 {:?} p99 {:?} max {:?}",
        latencies.len(),
        unmatched,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.9),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default(),
    );
    println!(
        "calls ended on the WebSocket: {ended_count}/{total}; total run {:?}",
        started.elapsed()
    );
    assert_eq!(ended_count, total, "every call reached call_ended");
    assert!(!latencies.is_empty());
    assert!(api.terminate());
    let _ = std::fs::remove_dir_all(&dir);
}
