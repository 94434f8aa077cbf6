//! A loopback fake ARI server that replays recorded transcripts (`ari/*.jsonl`).
//!
//! REST requests are answered with the recorded status and body, matched by method and path
//! (and query, when several recordings share a path); each recording answers once, in order.
//! WebSocket connections get the recorded messages of the matching recorded connection (the
//! first connection plays `ws1`, the second `ws2`, ...). By default a recorded message is sent
//! only once every REST request recorded before it has been answered (and, when the transcript
//! has REST exchanges, not before the first request arrives), so a replay keeps the recorded
//! interleaving of responses and events. Ids can be rewritten before the replay, so a
//! client that chooses its own ids (stage-then-execute) sees them in the replayed bodies;
//! without that, the fake learns them: when a request carries an id (`channelId`, `bridgeId`,
//! or an id-shaped part of a query value such as `appArgs`) where the recording has a different
//! one, the recorded id is rewritten to the chosen one for the rest of the replay.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::{Notify, broadcast, watch};

use crate::Error;

mod transcript;

use transcript::split_query;
pub use transcript::{Entry, Transcript};

/// A request the fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, e.g. `/ari/channels`.
    pub path: String,
    /// The decoded query parameters (without `api_key`).
    pub query: Vec<(String, String)>,
    /// The JSON body, if any.
    pub body: Option<Value>,
    /// Whether a recording answered it (`false`: the fake answered 404).
    pub matched: bool,
}

struct Shared {
    transcript: Mutex<Transcript>,
    consumed: Mutex<Vec<bool>>,
    received: Mutex<Vec<ReceivedRequest>>,
    connections: Mutex<usize>,
    http_done: Notify,
    gate: bool,
    auth: Option<(String, String)>,
    push: broadcast::Sender<Value>,
    drop_ws: watch::Sender<u64>,
}

/// Configures a [`FakeAri`].
#[derive(Debug)]
pub struct FakeAriBuilder {
    transcript: Transcript,
    gate: bool,
    auth: Option<(String, String)>,
}

impl FakeAriBuilder {
    /// Whether recorded WebSocket messages wait for the REST requests recorded before them
    /// (default `true`); `false` sends them all as soon as the socket opens.
    pub fn gate_events_on_requests(mut self, gate: bool) -> Self {
        self.gate = gate;
        self
    }

    /// Requires these credentials (basic auth or `api_key`); others get 401
    /// `Authentication required`, as Asterisk answers.
    pub fn credentials(mut self, username: &str, password: &str) -> Self {
        self.auth = Some((username.to_owned(), password.to_owned()));
        self
    }

    /// Binds 127.0.0.1 on a free port and starts serving.
    ///
    /// # Errors
    ///
    /// [`Error::TranscriptIo`] if the port cannot be bound.
    pub async fn start(self) -> Result<FakeAri, Error> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(Error::TranscriptIo)?;
        let addr = listener.local_addr().map_err(Error::TranscriptIo)?;
        let http_count = self.transcript.entries.len();
        let transcript = Mutex::new(self.transcript);
        let (push, _) = broadcast::channel(256);
        let (drop_ws, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            transcript,
            consumed: Mutex::new(vec![false; http_count]),
            received: Mutex::new(Vec::new()),
            connections: Mutex::new(0),
            http_done: Notify::new(),
            gate: self.gate,
            auth: self.auth,
            push,
            drop_ws,
        });
        let app = Router::new()
            .route("/ari/events", axum::routing::get(ws_handler))
            .fallback(http_handler)
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeAri {
            addr,
            shared,
            server,
        })
    }
}

/// The running fake; stops when dropped.
pub struct FakeAri {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for FakeAri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeAri")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for FakeAri {
    fn drop(&mut self) {
        self.server.abort();
        // Closes every replaying WebSocket.
        self.shared.drop_ws.send_modify(|n| *n += 1);
    }
}

impl FakeAri {
    /// A fake replaying `transcript`.
    pub fn builder(transcript: Transcript) -> FakeAriBuilder {
        FakeAriBuilder {
            transcript,
            gate: true,
            auth: None,
        }
    }

    /// Starts a fake replaying `transcript` with the defaults.
    ///
    /// # Errors
    ///
    /// See [`FakeAriBuilder::start`].
    pub async fn start(transcript: Transcript) -> Result<Self, Error> {
        Self::builder(transcript).start().await
    }

    /// `http://127.0.0.1:PORT` (give it to [`crate::Client::builder`]; `/ari` is added).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every REST request received so far.
    pub fn received(&self) -> Vec<ReceivedRequest> {
        self.shared
            .received
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// How many recorded REST exchanges have not been requested yet.
    pub fn remaining_http(&self) -> usize {
        let consumed = self
            .shared
            .consumed
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default();
        let Ok(transcript) = self.shared.transcript.lock() else {
            return 0;
        };
        transcript
            .entries
            .iter()
            .enumerate()
            .filter(|(i, e)| {
                matches!(e, Entry::Http { .. }) && !consumed.get(*i).copied().unwrap_or(true)
            })
            .count()
    }

    /// How many WebSocket connections were accepted so far.
    pub fn websocket_connections(&self) -> usize {
        self.shared
            .connections
            .lock()
            .map(|c| *c)
            .unwrap_or_default()
    }

    /// Sends `message` to every open WebSocket, now.
    pub fn push(&self, message: Value) {
        let _ = self.shared.push.send(message);
    }

    /// Closes every open WebSocket (as an Asterisk restart does); new connections are accepted.
    pub fn drop_websockets(&self) {
        self.shared.drop_ws.send_modify(|n| *n += 1);
    }
}

fn authorized(shared: &Shared, headers: &HeaderMap, query: &[(String, String)]) -> bool {
    let Some((user, pass)) = &shared.auth else {
        return true;
    };
    let expected_header = format!(
        "Basic {}",
        crate::events::base64(format!("{user}:{pass}").as_bytes())
    );
    let header_ok = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h == expected_header);
    let key_ok = query
        .iter()
        .any(|(k, v)| k == "api_key" && *v == format!("{user}:{pass}"));
    header_ok || key_ok
}

fn json_response(status: u16, body: Option<Value>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match body {
        Some(b) => (status, axum::Json(b)).into_response(),
        None => status.into_response(),
    }
}

async fn http_handler(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (path, mut query) = split_query(&uri.to_string());
    if !authorized(&shared, &headers, &query) {
        return json_response(
            401,
            Some(serde_json::json!({"message": "Authentication required"})),
        );
    }
    query.retain(|(k, _)| k != "api_key");
    let body_json = if body.is_empty() {
        None
    } else {
        serde_json::from_slice(&body).ok()
    };
    let mut sorted = query.clone();
    sorted.sort();
    let (found, answer) = {
        let Ok(mut consumed) = shared.consumed.lock() else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        let Ok(mut transcript) = shared.transcript.lock() else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        let candidates: Vec<usize> = transcript
            .entries
            .iter()
            .enumerate()
            .filter(|(i, e)| {
                matches!(e, Entry::Http { method: m, path: p, .. } if *m == method.as_str() && *p == path)
                    && !consumed.get(*i).copied().unwrap_or(true)
            })
            .map(|(i, _)| i)
            .collect();
        let exact = candidates
            .iter()
            .copied()
            .find(|i| match &transcript.entries[*i] {
                Entry::Http { query: q, .. } => {
                    let mut q = q.clone();
                    q.sort();
                    q == sorted
                }
                _ => false,
            });
        let pick = exact.or_else(|| candidates.first().copied());
        if let Some(i) = pick
            && let Some(c) = consumed.get_mut(i)
        {
            *c = true;
        }
        let answer = pick.and_then(|i| {
            for (from, to) in learned_ids(&transcript.entries[i], &query) {
                transcript.rewrite_id(&from, &to);
            }
            match &transcript.entries[i] {
                Entry::Http { status, body, .. } => Some((*status, body.clone())),
                _ => None,
            }
        });
        (pick, answer)
    };
    if let Ok(mut r) = shared.received.lock() {
        r.push(ReceivedRequest {
            method: method.to_string(),
            path,
            query,
            body: body_json,
            matched: found.is_some(),
        });
    }
    shared.http_done.notify_waiters();
    match answer {
        Some((status, body)) => json_response(status, body),
        None => json_response(
            404,
            Some(serde_json::json!({"message": "Resource not found"})),
        ),
    }
}

async fn ws_handler(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let (_, query) = split_query(&uri.to_string());
    if !authorized(&shared, &headers, &query) {
        return json_response(
            401,
            Some(serde_json::json!({"message": "Authentication required"})),
        );
    }
    let n = match shared.connections.lock() {
        Ok(mut c) => {
            *c += 1;
            *c
        }
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    ws.on_upgrade(move |socket| replay(shared, socket, format!("ws{n}")))
}

/// The ids a request chose where its recording (`entry`) has others, as (recorded, chosen):
/// the id of a created channel or bridge (`channelId`/`bridgeId` against the recorded
/// response's `id`), and id-shaped parts of query values that differ (e.g. the call id in
/// `appArgs=agent,<call id>`).
fn learned_ids(entry: &Entry, query: &[(String, String)]) -> Vec<(String, String)> {
    let Entry::Http {
        query: recorded,
        body,
        ..
    } = entry
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let recorded_id = body
        .as_ref()
        .and_then(|b| b.get("id"))
        .and_then(Value::as_str);
    for (k, v) in query {
        if (k == "channelId" || k == "bridgeId")
            && let Some(r) = recorded_id
            && r != v
            && !recorded.iter().any(|(rk, _)| rk == k)
        {
            out.push((r.to_owned(), v.clone()));
        }
        let Some((_, rv)) = recorded.iter().find(|(rk, _)| rk == k) else {
            continue;
        };
        let (ours, theirs): (Vec<&str>, Vec<&str>) =
            (v.split(',').collect(), rv.split(',').collect());
        if ours.len() != theirs.len() {
            continue;
        }
        for (o, t) in ours.into_iter().zip(theirs) {
            if o != t && is_uuid(o) && is_uuid(t) {
                out.push((t.to_owned(), o.to_owned()));
            }
        }
    }
    out
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The transcript positions of the recorded messages of `conn` (the REST exchanges before
/// each must be answered before it is sent, when gating); the message is read at send time,
/// so ids learned meanwhile are in it.
fn plan(shared: &Shared, conn: &str) -> Vec<usize> {
    let Ok(transcript) = shared.transcript.lock() else {
        return Vec::new();
    };
    transcript
        .entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e {
            Entry::Ws { conn: c, .. } if c == conn => Some(i),
            _ => None,
        })
        .collect()
}

fn released(shared: &Shared, before: usize) -> bool {
    if !shared.gate {
        return true;
    }
    // Asterisk pushes nothing before the first request in these sessions: messages recorded
    // ahead of the first response were caused by that first request.
    let any_request = shared
        .received
        .lock()
        .map(|r| !r.is_empty())
        .unwrap_or(true);
    let Ok(consumed) = shared.consumed.lock() else {
        return true;
    };
    let Ok(transcript) = shared.transcript.lock() else {
        return true;
    };
    let has_http = transcript
        .entries
        .iter()
        .any(|e| matches!(e, Entry::Http { .. }));
    if has_http && !any_request {
        return false;
    }
    transcript.entries[..before]
        .iter()
        .enumerate()
        .all(|(i, e)| !matches!(e, Entry::Http { .. }) || consumed.get(i).copied().unwrap_or(true))
}

async fn next_recorded(shared: &Shared, plan: &[usize], cursor: usize) -> Option<Value> {
    let before = *plan.get(cursor)?;
    loop {
        let notified = shared.http_done.notified();
        if released(shared, before) {
            return match shared.transcript.lock().ok()?.entries.get(before) {
                Some(Entry::Ws { message, .. }) => Some(message.clone()),
                _ => None,
            };
        }
        notified.await;
    }
}

async fn replay(shared: Arc<Shared>, mut socket: WebSocket, conn: String) {
    let plan = plan(&shared, &conn);
    let mut cursor = 0;
    let mut pushes = shared.push.subscribe();
    let mut drops = shared.drop_ws.subscribe();
    loop {
        let out = tokio::select! {
            _ = drops.changed() => {
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
            recorded = next_recorded(&shared, &plan, cursor), if cursor < plan.len() => {
                cursor += 1;
                recorded
            }
            pushed = pushes.recv() => pushed.ok(),
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => None,
            },
        };
        if let Some(v) = out
            && socket
                .send(Message::Text(v.to_string().into()))
                .await
                .is_err()
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREATE: &str = r#"{"kind": "http", "method": "POST", "path": "/ari/channels?endpoint=PJSIP%2Fa&appArgs=agent%2C5af92377-4fc6-49f3-8582-8f3d5f62c1f0", "status": 200, "response_body": {"id": "1795315704.624"}}
{"kind": "ws", "conn": "ws1", "message": {"type": "StasisStart", "channel": {"id": "1795315704.624"}, "args": ["agent", "5af92377-4fc6-49f3-8582-8f3d5f62c1f0"]}}
{"kind": "http", "method": "POST", "path": "/ari/channels/1795315704.624/answer", "status": 204}"#;

    #[test]
    fn learns_the_created_channel_id_and_the_call_id_in_app_args() {
        let t = Transcript::from_jsonl(CREATE).unwrap();
        let query = vec![
            ("endpoint".to_owned(), "PJSIP/a".to_owned()),
            (
                "appArgs".to_owned(),
                "agent,0d6bb1b5-8f4e-4f60-9a33-4a4f6ef0c001".to_owned(),
            ),
            ("channelId".to_owned(), "chosen-1".to_owned()),
        ];
        let learned = learned_ids(&t.entries()[0], &query);
        assert_eq!(
            learned,
            vec![
                (
                    "5af92377-4fc6-49f3-8582-8f3d5f62c1f0".to_owned(),
                    "0d6bb1b5-8f4e-4f60-9a33-4a4f6ef0c001".to_owned()
                ),
                ("1795315704.624".to_owned(), "chosen-1".to_owned()),
            ]
        );
        // A request showing the recorded ids teaches nothing.
        let recorded = vec![(
            "appArgs".to_owned(),
            "agent,5af92377-4fc6-49f3-8582-8f3d5f62c1f0".to_owned(),
        )];
        assert!(learned_ids(&t.entries()[0], &recorded).is_empty());
    }

    #[tokio::test]
    async fn the_rest_of_the_replay_uses_the_learned_ids() {
        let fake = FakeAri::start(Transcript::from_jsonl(CREATE).unwrap())
            .await
            .unwrap();
        let http = reqwest::Client::new();
        let base = fake.base_url();
        let created: Value = http
            .post(format!(
                "{base}/ari/channels?endpoint=PJSIP%2Fa&appArgs=agent%2C0d6bb1b5-8f4e-4f60-9a33-4a4f6ef0c001&channelId=chosen-1"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(created["id"], "chosen-1");
        let answered = http
            .post(format!("{base}/ari/channels/chosen-1/answer"))
            .send()
            .await
            .unwrap();
        assert_eq!(answered.status(), 204);
        assert_eq!(fake.remaining_http(), 0);
        let Some(message) = next_recorded(&fake.shared, &plan(&fake.shared, "ws1"), 0).await else {
            panic!("no recorded message");
        };
        assert_eq!(message["channel"]["id"], "chosen-1");
        assert_eq!(message["args"][1], "0d6bb1b5-8f4e-4f60-9a33-4a4f6ef0c001");
    }
}
