//! A mock AMI server that replays fixture transcripts (feature `mock`).
//!
//! Each accepted connection serves the next [`Transcript`] of the list (connections past the
//! end are closed at once). The server sends the recorded `recv` chunks in order, byte for
//! byte, but stops before each recorded `send` until the client has sent an action of the same
//! name: that recorded action is then matched to the client's, and from then on every
//! `ActionID: <recorded>` in the chunks is rewritten to the client's ActionID. Actions the
//! transcript does not hold are answered `Response: Success` / `Ping: Pong` for `Ping`,
//! `Getvar` of `DIALPLAN_EXISTS(context,exten,priority)` from the mock's dialplan (as Asterisk
//! 22 answers it: `Value: 1` or `Value: 0`; see [`MockServer::start_with_dialplan`]), and
//! `Response: Error` otherwise. When the transcript is exhausted the server closes the socket
//! (as Asterisk does after `Goodbye` or a bad login), which also serves as the scripted
//! disconnect: [`Transcript::truncate_after_send`] ends a connection right after an action.
//!
//! [`MockPbx`] plays one transcript once for all its connections instead, with fault controls
//! (dropped links, refused connections) and a live channel table for `CoreShowChannels`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::{AmiCodec, AmiError, Frame, Message};

mod pbx;

pub use pbx::MockPbx;

/// One entry of a transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// Bytes the server sent (one recorded read).
    Recv(String),
    /// An action the client sent.
    Send(String),
}

/// A recorded AMI session (`ami/NAME.jsonl`).
#[derive(Clone, Debug, Default)]
pub struct Transcript {
    entries: Vec<Entry>,
}

impl Transcript {
    /// Parses the JSON-lines format `{"t": .., "dir": "recv"|"send", "data": ".."}`.
    pub fn parse(jsonl: &str) -> Result<Transcript, AmiError> {
        let mut entries = Vec::new();
        for line in jsonl.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| AmiError::Protocol(format!("transcript: {e}")))?;
            let data = v["data"].as_str().unwrap_or_default().to_string();
            match v["dir"].as_str() {
                Some("recv") => entries.push(Entry::Recv(data)),
                Some("send") => entries.push(Entry::Send(data)),
                _ => return Err(AmiError::Protocol(format!("transcript: bad line {line}"))),
            }
        }
        Ok(Transcript { entries })
    }

    /// Reads a `.jsonl` transcript file.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Transcript, AmiError> {
        Transcript::parse(&std::fs::read_to_string(path)?)
    }

    /// The entries.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The recorded client actions, decoded.
    pub fn sends(&self) -> Vec<Message> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                Entry::Send(s) => decode_one(s.as_bytes()),
                Entry::Recv(_) => None,
            })
            .collect()
    }

    /// All server bytes, concatenated (what `NAME.recv` holds).
    pub fn server_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for e in &self.entries {
            if let Entry::Recv(s) = e {
                out.extend_from_slice(s.as_bytes());
            }
        }
        out
    }

    /// Keeps the entries up to and including the `n`-th (1-based) recorded send: the server
    /// closes the connection right after the client sends that action.
    #[must_use]
    pub fn truncate_after_send(mut self, n: usize) -> Transcript {
        let mut seen = 0;
        if let Some(pos) = self.entries.iter().position(|e| {
            if matches!(e, Entry::Send(_)) {
                seen += 1;
            }
            seen == n
        }) {
            self.entries.truncate(pos + 1);
        }
        self
    }
}

fn decode_one(bytes: &[u8]) -> Option<Message> {
    let mut c = AmiCodec::server();
    let mut b = BytesMut::from(bytes);
    match c.decode_frame(&mut b) {
        Ok(Some(Frame::Message(m))) => Some(m),
        _ => None,
    }
}

/// A running mock server.
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Vec<Message>>>>,
    task: JoinHandle<()>,
}

impl MockServer {
    /// Listens on 127.0.0.1 (random port); connection `i` serves `transcripts[i]`. Its dialplan
    /// is [`MockServer::SHIPPED_DIALPLAN`].
    pub async fn start(transcripts: Vec<Transcript>) -> std::io::Result<MockServer> {
        let dialplan = Self::SHIPPED_DIALPLAN
            .iter()
            .map(|(c, e)| ((*c).to_owned(), (*e).to_owned()))
            .collect();
        Self::start_with_dialplan(transcripts, dialplan).await
    }

    /// The `(context, extension)` pairs of the dialplan the fixtures' PBX has with hookflash's
    /// `extensions_hookflash.conf` (transfer targets 1001 and 1002, the AMI hold contexts):
    /// what `DIALPLAN_EXISTS` finds on the test peer.
    pub const SHIPPED_DIALPLAN: &'static [(&'static str, &'static str)] = &[
        ("hookflash-transfer", "1001"),
        ("hookflash-transfer", "1002"),
        ("hookflash-hold", "s"),
        ("hookflash-hold-wait", "s"),
    ];

    /// Like [`MockServer::start`], with a dialplan of exactly these `(context, extension)`
    /// pairs: a `Getvar` of `DIALPLAN_EXISTS(context,exten,1)` answers `Value: 1` for them and
    /// `Value: 0` for anything else.
    pub async fn start_with_dialplan(
        transcripts: Vec<Transcript>,
        dialplan: Vec<(String, String)>,
    ) -> std::io::Result<MockServer> {
        let dialplan = Arc::new(dialplan);
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let received = Arc::new(Mutex::new(Vec::new()));
        let rec = received.clone();
        let task = tokio::spawn(async move {
            let mut queue = transcripts.into_iter();
            while let Ok((sock, _)) = listener.accept().await {
                let idx = {
                    let mut r = rec.lock().unwrap_or_else(|e| e.into_inner());
                    r.push(Vec::new());
                    r.len() - 1
                };
                match queue.next() {
                    Some(t) => {
                        tokio::spawn(serve(sock, t, rec.clone(), idx, dialplan.clone()));
                    }
                    None => drop(sock),
                }
            }
        });
        Ok(MockServer {
            addr,
            received,
            task,
        })
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.received.lock().map(|r| r.len()).unwrap_or(0)
    }

    /// The actions the client sent on connection `i` (0-based), in order, as received.
    pub fn received(&self, i: usize) -> Vec<Message> {
        self.received
            .lock()
            .ok()
            .and_then(|r| r.get(i).cloned())
            .unwrap_or_default()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn action_name(m: &Message) -> String {
    m.get_str("Action").unwrap_or_default().to_ascii_lowercase()
}

/// The `Value` Asterisk gives a `Getvar` of `DIALPLAN_EXISTS(context,exten[,priority])`.
fn dialplan_exists(variable: &str, dialplan: &[(String, String)]) -> Option<&'static str> {
    let args = variable
        .strip_prefix("DIALPLAN_EXISTS(")?
        .strip_suffix(')')?;
    let mut parts = args.split(',');
    let context = parts.next()?;
    let exten = parts.next()?;
    let found = dialplan.iter().any(|(c, e)| c == context && e == exten);
    Some(if found { "1" } else { "0" })
}

async fn serve(
    mut sock: TcpStream,
    t: Transcript,
    rec: Arc<Mutex<Vec<Vec<Message>>>>,
    idx: usize,
    dialplan: Arc<Vec<(String, String)>>,
) {
    // Recorded sends: (entry index, lowercased action name, recorded ActionID, Variable).
    let sends: Vec<(usize, String, String, String)> = t
        .entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e {
            Entry::Send(s) => {
                let m = decode_one(s.as_bytes())?;
                Some((
                    i,
                    action_name(&m),
                    m.get_str("ActionID").unwrap_or_default().to_string(),
                    m.get_str("Variable").unwrap_or_default().to_string(),
                ))
            }
            Entry::Recv(_) => None,
        })
        .collect();
    let mut matched: HashMap<usize, String> = HashMap::new(); // entry index -> client ActionID
    let mut rewrite: Vec<(String, String)> = Vec::new();
    let mut cursor = 0;
    let mut codec = AmiCodec::server();
    let mut buf = BytesMut::new();
    loop {
        // Emit until the next unmatched recorded send.
        while cursor < t.entries.len() {
            match &t.entries[cursor] {
                Entry::Recv(data) => {
                    let mut chunk = data.clone();
                    for (from, to) in &rewrite {
                        if chunk.contains(from.as_str()) {
                            chunk = chunk.replace(from.as_str(), to);
                        }
                    }
                    if sock.write_all(chunk.as_bytes()).await.is_err() {
                        return;
                    }
                }
                Entry::Send(_) if matched.contains_key(&cursor) => {}
                Entry::Send(_) => break,
            }
            cursor += 1;
        }
        if cursor >= t.entries.len() {
            let _ = sock.shutdown().await;
            return;
        }
        // Wait for the client's next action.
        let msg = loop {
            match codec.decode_frame(&mut buf) {
                Ok(Some(Frame::Message(m))) => break m,
                Ok(Some(Frame::Banner(_))) | Err(_) => continue,
                Ok(None) => {}
            }
            match sock.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        };
        if let Ok(mut r) = rec.lock()
            && let Some(v) = r.get_mut(idx)
        {
            v.push(msg.clone());
        }
        let name = action_name(&msg);
        let client_id = msg.get_str("ActionID").unwrap_or_default().to_string();
        let variable = msg.get_str("Variable").unwrap_or_default();
        // A `Getvar` only takes the place of a recorded `Getvar` of the same variable (a
        // provider's own dialplan check, or its read-back of a listed channel's call id, would
        // otherwise consume the transcript's own `Getvar`s and leave the client that sends
        // them waiting).
        let found = sends.iter().find(|(i, n, _, recorded_variable)| {
            *i >= cursor
                && !matched.contains_key(i)
                && *n == name
                && (name != "getvar" || recorded_variable == variable)
        });
        match found {
            Some((i, _, recorded, _)) => {
                matched.insert(*i, client_id.clone());
                rewrite.push((
                    format!("ActionID: {recorded}\r\n"),
                    format!("ActionID: {client_id}\r\n"),
                ));
            }
            None => {
                let exists = (name == "getvar")
                    .then(|| dialplan_exists(variable, &dialplan))
                    .flatten();
                let reply = if name == "ping" {
                    format!(
                        "Response: Success\r\nActionID: {client_id}\r\nPing: Pong\r\nTimestamp: 0.0\r\n\r\n"
                    )
                } else if let Some(value) = exists {
                    format!(
                        "Response: Success\r\nActionID: {client_id}\r\nVariable: {variable}\r\nValue: {value}\r\n\r\n"
                    )
                } else {
                    format!(
                        "Response: Error\r\nActionID: {client_id}\r\nMessage: mock: action not in transcript\r\n\r\n"
                    )
                };
                if sock.write_all(reply.as_bytes()).await.is_err() {
                    return;
                }
            }
        }
    }
}
