//! Transcripts of the AMI fixtures, and the relay in front of the mock AMI server that maps
//! recorded call ids to the ones the api-server sent.

use super::*;

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
