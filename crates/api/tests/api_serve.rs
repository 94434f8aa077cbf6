//! The server's own limits (`hookflash_api::serve`): half-sent requests are closed after the
//! header read timeout and `/healthz` keeps answering; at most `max_connections` are served
//! at once; a stalled body is answered 408.
//!
//! The timeouts are configured small; the tests wait for the server to act (a closed socket,
//! an answer), bounded only by a generous guard so a regression fails instead of hanging.

#[macro_use]
mod api_common;

use std::net::SocketAddr;
use std::time::Duration;

use api_common::{Db, TestApp};
use hookflash_api::{ServeConfig, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Long enough for any healthy run, short enough that a hang is reported.
const GUARD: Duration = Duration::from_secs(60);

async fn start(config: ServeConfig) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let app = TestApp::new(Db::Sqlite).await;
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(tcp, app.router.clone(), config, async move {
        let _ = stopped.await;
    }));
    (addr, stop)
}

/// Reads until the server closes the connection; returns what it sent.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

async fn get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let answer = tokio::time::timeout(GUARD, read_to_close(&mut s))
        .await
        .expect("an answer");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn half_sent_requests_are_closed_after_the_header_timeout_and_healthz_answers() {
    let config = ServeConfig::default()
        .with_header_read_timeout(Duration::from_millis(300))
        .with_max_connections(100);
    let (addr, _stop) = start(config).await;
    // Three times the connection limit: the ones waiting in the accept queue get their turn
    // only because the earlier ones are closed.
    let mut idle = Vec::new();
    for _ in 0..300 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        idle.push(s);
    }
    let closed = futures::future::join_all(
        idle.iter_mut()
            .map(|s| async move { tokio::time::timeout(GUARD, read_to_close(s)).await.is_ok() }),
    )
    .await;
    assert_eq!(
        closed.iter().filter(|c| **c).count(),
        300,
        "every half-sent request is closed by the server"
    );
    let answer = get(addr, "/healthz").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn healthz_answers_beside_idle_connections_below_the_limit() {
    let config = ServeConfig::default()
        .with_header_read_timeout(Duration::from_secs(600))
        .with_max_connections(50);
    let (addr, _stop) = start(config).await;
    let mut idle = Vec::new();
    for _ in 0..49 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
        idle.push(s);
    }
    let answer = get(addr, "/healthz").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_connection_over_the_limit_is_served_once_a_slot_frees() {
    let config = ServeConfig::default()
        .with_header_read_timeout(Duration::from_secs(600))
        .with_max_connections(4);
    let (addr, _stop) = start(config).await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
        idle.push(s);
    }
    // The fifth waits in the accept queue; closing one idle connection lets it in.
    let fifth = tokio::spawn(get(addr, "/healthz"));
    tokio::task::yield_now().await;
    idle.pop();
    let answer = tokio::time::timeout(GUARD, fifth)
        .await
        .expect("served after a slot freed")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_stalled_body_is_answered_408() {
    let config = ServeConfig::default().with_body_read_timeout(Duration::from_millis(300));
    let (addr, _stop) = start(config).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"tenant\":",
    )
    .await
    .unwrap();
    let answer = tokio::time::timeout(GUARD, read_to_close(&mut s))
        .await
        .expect("an answer");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_header_timeout() {
    let config = ServeConfig::default().with_header_read_timeout(Duration::from_millis(300));
    let (addr, _stop) = start(config).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    // The answer comes, the connection stays open for a next request, and then, with none
    // coming, the server closes it.
    let answer = tokio::time::timeout(GUARD, read_to_close(&mut s))
        .await
        .expect("closed by the server");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        !answer.contains("connection: close"),
        "kept alive first: {answer}"
    );
}
