//! Shared pieces of the end-to-end tests: the real binaries as child processes, an AMI relay
//! in front of the mock AMI server, and small HTTP / WebSocket clients.
//!
//! The relay exists because a replayed transcript carries the call id of the recording: it
//! maps each recorded `HOOKFLASH_CALL_ID` to the id the api-server sent in the matching
//! `Originate` (the n-th recorded originate is the n-th sent) and rewrites it in everything
//! the server sends. It also fans AMI events out to every connection, as Asterisk does, so an
//! event-listener on its own connection sees the calls the api-server placed.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use hookflash_ami::mock::{Entry, MockServer, Transcript};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

pub mod live;

/// The fixtures directory (HOOKFLASH_FIXTURES_DIR, else the project copy).
pub use hookflash_testkit::fixtures_dir;

/// A scenario's AMI transcript.
pub fn transcript(name: &str) -> Transcript {
    Transcript::from_file(fixtures_dir().join(format!("ami/{name}.jsonl"))).unwrap()
}

/// The expected calls of an AMI scenario.
pub fn expected(name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(fixtures_dir().join("expected.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["ami"][name]["calls"].as_array().unwrap().clone()
}

/// A connection that logs in and then only listens (waits for a Logoff that never comes).
pub fn login_only() -> Transcript {
    let base = transcript("login-plain");
    let mut text = String::new();
    for e in base.entries() {
        let (dir, data) = match e {
            Entry::Recv(d) => ("recv", d),
            Entry::Send(d) => ("send", d),
        };
        text.push_str(&json!({"t": 0, "dir": dir, "data": data}).to_string());
        text.push('\n');
        if dir == "send" && data.starts_with("Action: Login") {
            break;
        }
    }
    // The login answer, then a wait for a Logoff that never comes.
    for e in base.entries() {
        if let Entry::Recv(d) = e
            && d.starts_with("Response: Success\r\nActionID: login")
        {
            text.push_str(&json!({"t": 0, "dir": "recv", "data": d}).to_string());
            text.push('\n');
        }
    }
    text.push_str(
        &json!({"t": 0, "dir": "send", "data": "Action: Logoff\r\nActionID: x\r\n\r\n"})
            .to_string(),
    );
    text.push('\n');
    Transcript::parse(&text).unwrap()
}

/// The call ids of a transcript's originates, in order.
pub fn recorded_call_ids(t: &Transcript) -> Vec<String> {
    let mut ids = Vec::new();
    for e in t.entries() {
        if let Entry::Send(d) = e {
            for id in call_ids_in(d.as_bytes()) {
                ids.push(id);
            }
        }
    }
    ids
}

const MARK: &[u8] = b"HOOKFLASH_CALL_ID=";

fn call_ids_in(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(p) = find(&bytes[i..], MARK) {
        let start = i + p + MARK.len();
        if start + 36 <= bytes.len() {
            out.push(String::from_utf8_lossy(&bytes[start..start + 36]).into_owned());
        }
        i = start;
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn uuid_at(b: &[u8], i: usize) -> bool {
    if i + 36 > b.len() {
        return false;
    }
    let w = &b[i..i + 36];
    w.iter().enumerate().all(|(k, c)| match k {
        8 | 13 | 18 | 23 => *c == b'-',
        _ => c.is_ascii_hexdigit(),
    })
}

#[derive(Default)]
struct Mapping {
    recorded: Vec<String>,
    next: usize,
    map: HashMap<String, String>,
    seen_live: std::collections::HashSet<String>,
}

impl Mapping {
    fn learn(&mut self, live: String) {
        if self.seen_live.insert(live.clone())
            && let Some(rec) = self.recorded.get(self.next)
        {
            self.map.insert(rec.clone(), live);
            self.next += 1;
        }
    }

    fn rewrite(&self, frame: &mut [u8]) {
        if self.map.is_empty() {
            return;
        }
        let mut i = 0;
        while i + 36 <= frame.len() {
            if uuid_at(frame, i) {
                let key = String::from_utf8_lossy(&frame[i..i + 36]).into_owned();
                if let Some(live) = self.map.get(&key) {
                    frame[i..i + 36].copy_from_slice(live.as_bytes());
                }
                i += 36;
            } else {
                i += 1;
            }
        }
    }
}

/// When an AMI event carrying this `Timestamp:` left the relay.
pub type Forwarded = Arc<Mutex<HashMap<String, Instant>>>;

/// The relay in front of the mock server.
pub struct AmiRelay {
    /// Where clients connect.
    pub addr: SocketAddr,
    /// Forwarding times of events, by their Timestamp header.
    pub forwarded: Forwarded,
    /// The mock behind it.
    pub mock: MockServer,
    ups: Arc<Mutex<Vec<mpsc::UnboundedSender<Vec<u8>>>>>,
}

impl AmiRelay {
    /// Sends an action to the mock on connection `conn` as if its client had (its answer
    /// reaches the client, which ignores an ActionID it does not know): how a test plays a
    /// transcript's recorded action that the client would not send by itself.
    pub fn inject_action(&self, conn: usize, action: &str) {
        let ups = self.ups.lock().unwrap();
        ups[conn].send(action.as_bytes().to_vec()).unwrap();
    }

    /// How many clients have connected.
    pub fn connections(&self) -> usize {
        self.ups.lock().unwrap().len()
    }
}

impl AmiRelay {
    /// Starts the mock with `transcripts` (connection i serves transcripts[i]) and the relay.
    pub async fn start(transcripts: Vec<Transcript>) -> AmiRelay {
        let mut recorded = Vec::new();
        for t in &transcripts {
            recorded.extend(recorded_call_ids(t));
        }
        let mock = MockServer::start(transcripts).await.unwrap();
        let upstream = mock.addr();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mapping = Arc::new(Mutex::new(Mapping {
            recorded,
            ..Mapping::default()
        }));
        let outs: Arc<Mutex<Vec<mpsc::UnboundedSender<Vec<u8>>>>> = Arc::default();
        let forwarded: Forwarded = Arc::default();
        let fwd = forwarded.clone();
        let ups: Arc<Mutex<Vec<mpsc::UnboundedSender<Vec<u8>>>>> = Arc::default();
        let ups_w = ups.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let (tx, rx) = mpsc::unbounded_channel::<Vec<u8>>();
                let (up_tx, up_rx) = mpsc::unbounded_channel::<Vec<u8>>();
                ups_w.lock().unwrap().push(up_tx);
                let me = {
                    let mut o = outs.lock().unwrap();
                    o.push(tx.clone());
                    o.len() - 1
                };
                tokio::spawn(connection(
                    client,
                    server,
                    up_rx,
                    me,
                    tx,
                    rx,
                    outs.clone(),
                    mapping.clone(),
                    fwd.clone(),
                ));
            }
        });
        AmiRelay {
            addr,
            forwarded,
            mock,
            ups,
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn connection(
    client: TcpStream,
    server: TcpStream,
    mut injected: mpsc::UnboundedReceiver<Vec<u8>>,
    me: usize,
    tx: mpsc::UnboundedSender<Vec<u8>>,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
    outs: Arc<Mutex<Vec<mpsc::UnboundedSender<Vec<u8>>>>>,
    mapping: Arc<Mutex<Mapping>>,
    forwarded: Forwarded,
) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    // Client -> server: learn the live call ids before the action reaches the mock.
    let map_up = mapping.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        let mut tail: Vec<u8> = Vec::new();
        loop {
            let n = tokio::select! {
                r = cr.read(&mut buf) => match r {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                },
                Some(action) = injected.recv() => {
                    if sw.write_all(&action).await.is_err() {
                        return;
                    }
                    continue;
                }
            };
            tail.extend_from_slice(&buf[..n]);
            let ids = call_ids_in(&tail);
            {
                let mut m = map_up.lock().unwrap();
                for id in ids {
                    m.learn(id);
                }
            }
            if tail.len() > 64 {
                tail.drain(..tail.len() - 64);
            }
            if sw.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    });
    // Writer: this connection's own frames and the events fanned out from the others.
    tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            if cw.write_all(&frame).await.is_err() {
                return;
            }
        }
    });
    // Server -> client, frame by frame.
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut banner = true;
    loop {
        let n = match sr.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        loop {
            let end = if banner {
                find(&buf, b"\r\n").map(|p| p + 2)
            } else {
                find(&buf, b"\r\n\r\n").map(|p| p + 4)
            };
            let Some(end) = end else { break };
            banner = false;
            let mut frame: Vec<u8> = buf.drain(..end).collect();
            mapping.lock().unwrap().rewrite(&mut frame);
            let is_event = frame.starts_with(b"Event: ")
                && !frame.starts_with(b"Event: FullyBooted")
                && !frame.starts_with(b"Event: SuccessfulAuth");
            if is_event {
                if let Some(p) = find(&frame, b"Timestamp: ") {
                    let rest = &frame[p + 11..];
                    if let Some(e) = find(rest, b"\r\n") {
                        let ts = String::from_utf8_lossy(&rest[..e]).into_owned();
                        forwarded.lock().unwrap().insert(ts, Instant::now());
                    }
                }
                let others: Vec<_> = outs
                    .lock()
                    .unwrap()
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != me)
                    .map(|(_, t)| t.clone())
                    .collect();
                for o in others {
                    let _ = o.send(frame.clone());
                }
            }
            if tx.send(frame).is_err() {
                return;
            }
        }
    }
}

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process of one of the binaries; SIGTERM then kill on drop.
pub struct Proc {
    child: Child,
    /// Its stdout lines so far.
    pub stdout: Arc<Mutex<Vec<String>>>,
    name: &'static str,
}

impl Proc {
    /// Starts `bin` with `args` and `env`, in `dir`.
    pub fn spawn(
        name: &'static str,
        bin: &std::path::Path,
        args: &[&str],
        env: &[(&str, String)],
        dir: &std::path::Path,
    ) -> Proc {
        let mut cmd = Command::new(bin);
        cmd.args(args)
            .current_dir(dir)
            .env("RUST_LOG", "info")
            .env_remove("HOOKFLASH_CONFIG")
            .env_remove("HOOKFLASH_DATABASE_URL")
            .env_remove("HOOKFLASH_LISTEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let lines = stdout.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                println!("[{name}] {line}");
                lines.lock().unwrap().push(line);
            }
        });
        Proc {
            child,
            stdout,
            name,
        }
    }

    /// Whether a stdout line contains `text`.
    pub fn printed(&self, text: &str) -> bool {
        self.stdout.lock().unwrap().iter().any(|l| l.contains(text))
    }

    /// Sends SIGTERM and waits (bounded) for a clean exit; returns whether it exited 0.
    pub fn terminate(&mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("{} did not stop after SIGTERM; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
        false
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The api-server binary Cargo built for these tests.
pub fn api_server_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_api-server"))
}

/// The event-listener binary, next to the api-server's in the target directory. It belongs to
/// another package, so Cargo does not build it for these tests: when missing it is built here
/// (`cargo build -p hookflash-event-listener`, same profile).
pub fn event_listener_bin() -> PathBuf {
    let api = api_server_bin();
    let dir = api.parent().unwrap().to_path_buf();
    let bin = dir.join(format!("event-listener{}", std::env::consts::EXE_SUFFIX));
    let fresh = match (std::fs::metadata(&bin), std::fs::metadata(&api)) {
        (Ok(b), Ok(a)) => b.modified().ok() >= a.modified().ok(),
        _ => false,
    };
    if !fresh {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "-p",
            "hookflash-event-listener",
            "--bin",
            "event-listener",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
        if dir.ends_with("release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("running cargo to build event-listener");
        assert!(
            status.success(),
            "cargo build -p hookflash-event-listener failed"
        );
    }
    assert!(
        bin.exists(),
        "event-listener binary not found at {}: run `cargo build -p hookflash-event-listener`",
        bin.display()
    );
    bin
}

/// A fresh temporary directory.
pub fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hookflash-e2e-{label}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The PostgreSQL URL, or None (printing why) when the test must be skipped; under CI the
/// variable is required.
pub fn postgres_url(test: &str) -> Option<String> {
    match std::env::var("HOOKFLASH_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test}: HOOKFLASH_TEST_POSTGRES_URL must be set under CI"
            );
            println!("skipped: {test}: set HOOKFLASH_TEST_POSTGRES_URL (scripts/test.sh does)");
            None
        }
    }
}

/// A new, empty database on the server of `base` (a URL to any of its databases); returns
/// its URL.
pub async fn fresh_postgres_db(base: &str) -> String {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(base).await.unwrap();
    let name = format!("hookflash_e2e_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let (head, _) = base.split_once('?').unwrap_or((base, ""));
    let cut = head.rfind('/').unwrap();
    format!("{}/{name}", &head[..cut])
}

/// Waits (bounded) until `GET url` answers 200.
pub async fn wait_healthy(http: &reqwest::Client, url: &str, proc: &mut Proc) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = http.get(url).send().await
            && r.status().is_success()
        {
            return;
        }
        if let Ok(Some(status)) = proc.child.try_wait() {
            panic!("{} exited early: {status}", proc.name);
        }
        assert!(Instant::now() < deadline, "{url} never became healthy");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A config file for one AMI server at `ami`.
pub fn ami_config(dir: &std::path::Path, ami: SocketAddr, listen: SocketAddr, db: &str) -> PathBuf {
    let text = format!(
        r#"listen = "{listen}"
database_url = "{db}"
jwt_secret = "Vq3xZk8Lr7TbQ0sYp4Hc9Jd6Fg1Ma5Ue2Ri8To7Yw4Ql0Mv3Xn6Bj9Kp"

[[asterisk]]
name = "pbx1"
protocol = "ami"
host = "127.0.0.1"
port = {port}
username = "ami"
secret = "amipass"
"#,
        port = ami.port()
    );
    let path = dir.join("hookflash.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// An API client logged in as the admin.
pub struct Api {
    /// The HTTP client.
    pub http: reqwest::Client,
    /// `http://addr`.
    pub base: String,
    /// The access token.
    pub token: String,
}

impl Api {
    /// Logs in.
    pub async fn login(base: &str, username: &str, password: &str) -> Api {
        let http = reqwest::Client::new();
        let r = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login");
        let v: Value = r.json().await.unwrap();
        Api {
            http,
            base: base.to_owned(),
            token: v["access_token"].as_str().unwrap().to_owned(),
        }
    }

    /// `METHOD path` with the token and an optional JSON body; returns status and JSON.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let v = r.json().await.unwrap_or(Value::Null);
        (status, v)
    }

    /// Creates an agent on `endpoint`; returns its id.
    pub async fn agent(&self, endpoint: &str) -> String {
        let (s, v) = self
            .send(
                reqwest::Method::POST,
                "/api/v1/agents",
                Some(json!({"display_name": endpoint, "endpoint": endpoint})),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    /// `POST /api/v1/calls`; returns the call id.
    pub async fn call(&self, agent: &str, number: &str) -> String {
        let (s, v) = self
            .send(
                reqwest::Method::POST,
                "/api/v1/calls",
                Some(json!({"agent": agent, "number": number})),
            )
            .await;
        assert_eq!(s, 202, "{v}");
        v["call_id"].as_str().unwrap().to_owned()
    }

    /// Opens the event WebSocket.
    pub async fn ws(&self) -> Ws {
        let url = format!(
            "{}/api/v1/ws?token={}",
            self.base.replacen("http://", "ws://", 1),
            self.token
        );
        let (stream, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut ws = Ws {
            stream,
            views: std::collections::HashMap::new(),
        };
        let hello = ws.next_json(Duration::from_secs(10)).await.unwrap();
        assert_eq!(hello["type"], "hello");
        ws
    }
}

/// The event WebSocket.
pub struct Ws {
    stream: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
    /// The whole view of each call followed so far (the socket sends it once, then changes).
    views: std::collections::HashMap<String, Value>,
}

impl Ws {
    /// The next JSON text frame within `timeout`.
    pub async fn next_json(&mut self, timeout: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()??;
            match msg.ok()? {
                tokio_tungstenite::tungstenite::Message::Text(t) => {
                    return serde_json::from_str(t.as_str()).ok();
                }
                tokio_tungstenite::tungstenite::Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// A call message about `call_id`, with `call` set to the whole view after it: the socket
    /// sends the view once (`call_created`), then only the changed fields (`changes`).
    /// `None` for other messages.
    pub fn follow(&mut self, call_id: &str, mut v: Value) -> Option<Value> {
        let kind = v["type"].as_str()?;
        if !matches!(kind, "call_created" | "call_updated" | "call_ended") {
            return None;
        }
        let id = v["call"]["id"].as_str().or(v["call_id"].as_str())?;
        if id != call_id {
            return None;
        }
        let view = self
            .views
            .entry(call_id.to_owned())
            .or_insert_with(|| serde_json::json!({}));
        if kind == "call_created" {
            *view = v["call"].clone();
        } else if let Some(changes) = v["changes"].as_object() {
            for (k, x) in changes {
                view[k] = x.clone();
            }
        }
        v["call"] = view.clone();
        Some(v)
    }

    /// The call messages about `call_id` until its `call_ended` (bounded), each with the
    /// whole view after it in `call` (see [`Ws::follow`]).
    pub async fn until_ended(&mut self, call_id: &str, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(v) = self.next_json(left).await else {
                panic!("no call_ended for {call_id} in time; got {out:?}");
            };
            if let Some(v) = self.follow(call_id, v) {
                let ended = v["type"] == "call_ended";
                out.push(v);
                if ended {
                    return out;
                }
            }
        }
    }

    /// Closes the socket.
    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}

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
