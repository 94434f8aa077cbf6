//! [`MockPbx`]: one recorded session played once for the whole server, with fault controls.
//!
//! [`MockServer`](super::MockServer) gives each connection a transcript of its own, which is
//! right for conformance but not for faults: when a link drops, a real PBX goes on with its
//! calls, and a client that reconnects (or a second client on its own connection) sees the
//! same calls from where they are now. `MockPbx` is that PBX:
//!
//! - The transcript is played once, server-wide. Its recorded `Originate`s are sync points:
//!   the `n`-th `Originate` any client sends is matched to the `n`-th recorded one, and the
//!   recorded bytes up to the next recorded `Originate` are then played. The recorded
//!   `Login`/`Logoff` are skipped (each connection logs in by itself).
//! - Every event goes to every logged-in connection (as Asterisk's `Events: on`); a response
//!   (and an event carrying a matched `ActionID`, such as `OriginateResponse`) carries the
//!   client's own `ActionID`; responses go only to the client that sent the action.
//! - Time: every `Timestamp` is the moment the event is played (a live PBX's clock).
//! - Fresh ids: each play rewrites every uniqueid (`<secs>.<seq>` in a header ending in `id`,
//!   such as `Uniqueid`, `Linkedid`, `DestUniqueid`) to a new one, every recorded
//!   `HOOKFLASH_CALL_ID` to the id of the client's matching `Originate`, and every other UUID
//!   (bridges) to a new random one, so two plays of one transcript never collide in a store.
//! - Live channels: the server keeps a channel table from the events it played (`Newchannel`
//!   adds, `Hangup` removes, state, connected line, bridge and dialplan position follow) and
//!   answers `CoreShowChannels` from it, in order with the events on that connection: the
//!   listing shows exactly what the client's earlier events left live.
//! - Other actions: `Login`/`Challenge` (any secret), `Ping`, `Logoff`, `Getvar` of a live
//!   channel's variable (as its `VarSet`s left it) or of `DIALPLAN_EXISTS` (the shipped
//!   dialplan); anything else is `Response: Error`.
//! - Faults: [`MockPbx::drop_connections`] closes every connection at once (the link drops,
//!   nothing is said), [`MockPbx::drop_connection`] one of them, [`MockPbx::refuse`] closes
//!   every new connection before the banner while set (the PBX's AMI is down). Calls go on
//!   meanwhile: the events played while a client is away are lost to it, as on a real PBX;
//!   but they advance with the clients' originates (the recording's sync points), so while
//!   no client can originate, nothing moves.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::{Entry, MockServer, Transcript, action_name, decode_one, dialplan_exists};
use crate::{AmiCodec, Frame, Message};

const BANNER: &str = "Asterisk Call Manager/11.0.0\r\n";

/// A running mock PBX (see the module docs).
#[derive(Debug)]
pub struct MockPbx {
    addr: SocketAddr,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

/// A client's `Originate`, handed to the player.
#[derive(Debug)]
struct OriginateAsk {
    client: u64,
    action_id: String,
    call_id: Option<String>,
}

/// A channel as `CoreShowChannel` lists it.
#[derive(Debug, Clone, Default)]
struct Chan {
    fields: BTreeMap<&'static str, String>,
    bridge: Option<String>,
    application: String,
    app_data: String,
    since: Option<Instant>,
    /// Its variables (from `VarSet`), for `Getvar`.
    vars: HashMap<String, String>,
}

/// The fields a channel event carries that `CoreShowChannel` lists, in its order.
const CHANNEL_FIELDS: &[&str] = &[
    "Channel",
    "ChannelState",
    "ChannelStateDesc",
    "CallerIDNum",
    "CallerIDName",
    "ConnectedLineNum",
    "ConnectedLineName",
    "Language",
    "AccountCode",
    "Context",
    "Exten",
    "Priority",
    "Uniqueid",
    "Linkedid",
];

#[derive(Debug, Default)]
struct State {
    /// Every open connection's outgoing queue.
    writers: HashMap<u64, mpsc::UnboundedSender<Vec<u8>>>,
    /// Every open connection's own cut-off (see [`MockPbx::drop_connection`]).
    cutters: HashMap<u64, Arc<tokio::sync::Notify>>,
    /// The connections that logged in (they get events).
    subscribed: Vec<u64>,
    channels: BTreeMap<String, Chan>,
    refusing: bool,
    next_client: u64,
    connections: usize,
    events: u64,
    /// (recorded call id, the client's call id) per matched `Originate`, in order.
    originated: Vec<(String, String)>,
    /// Per client call id: when its `Originate` was played, and when its last channel hung up.
    spans: HashMap<String, (Instant, Option<Instant>)>,
    /// Linkedid -> client call id (from the `VarSet` of `HOOKFLASH_CALL_ID`).
    linked: HashMap<String, String>,
    /// The client's Originate ActionID -> its call id (a failed `OriginateResponse` ends it).
    by_action: HashMap<String, String>,
    finished: bool,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    kill: watch::Sender<u64>,
    originates: mpsc::UnboundedSender<OriginateAsk>,
    dialplan: Vec<(String, String)>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl MockPbx {
    /// Listens on 127.0.0.1 (random port) and starts playing `transcript` as clients
    /// originate. Its dialplan is [`MockServer::SHIPPED_DIALPLAN`].
    pub async fn start(transcript: Transcript) -> std::io::Result<MockPbx> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (kill, _) = watch::channel(0u64);
        let (originates, asks) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            kill,
            originates,
            dialplan: MockServer::SHIPPED_DIALPLAN
                .iter()
                .map(|(c, e)| ((*c).to_owned(), (*e).to_owned()))
                .collect(),
        });
        let player = tokio::spawn(play(transcript, Arc::clone(&shared), asks));
        let sh = Arc::clone(&shared);
        let acceptor = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let id = {
                    let mut st = sh.lock();
                    if st.refusing {
                        drop(sock);
                        continue;
                    }
                    st.next_client += 1;
                    st.connections += 1;
                    st.next_client
                };
                tokio::spawn(serve(sock, id, Arc::clone(&sh)));
            }
        });
        Ok(MockPbx {
            addr,
            shared,
            tasks: vec![player, acceptor],
        })
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every open connection now, without a word (a dropped link).
    pub fn drop_connections(&self) {
        self.shared.kill.send_modify(|g| *g = g.wrapping_add(1));
        let mut st = self.shared.lock();
        st.writers.clear();
        st.subscribed.clear();
    }

    /// The open connections, by id, in the order they were accepted (ids count from 1).
    pub fn open_connection_ids(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.shared.lock().writers.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// Closes connection `id` now, without a word (one client's link drops; the others and
    /// the calls go on).
    pub fn drop_connection(&self, id: u64) {
        let mut st = self.shared.lock();
        st.writers.remove(&id);
        st.subscribed.retain(|c| *c != id);
        if let Some(cut) = st.cutters.remove(&id) {
            cut.notify_one();
        }
    }

    /// While `true`, a new connection is closed before its banner (the PBX's AMI is down);
    /// calls go on.
    pub fn refuse(&self, refusing: bool) {
        self.shared.lock().refusing = refusing;
    }

    /// Connections accepted so far (refused ones not counted).
    pub fn connections(&self) -> usize {
        self.shared.lock().connections
    }

    /// Connections open now.
    pub fn open_connections(&self) -> usize {
        self.shared.lock().writers.len()
    }

    /// Channels live on the PBX now.
    pub fn live_channels(&self) -> usize {
        self.shared.lock().channels.len()
    }

    /// Events played so far.
    pub fn events_played(&self) -> u64 {
        self.shared.lock().events
    }

    /// `(recorded HOOKFLASH_CALL_ID, the client's)` of every matched `Originate`, in order.
    pub fn originated(&self) -> Vec<(String, String)> {
        self.shared.lock().originated.clone()
    }

    /// When the `Originate` of call `call_id` (the client's id) was played, and when its last
    /// channel hung up (so far): what a fault test needs to tell a call whose whole life went
    /// by while its client could not hear the PBX.
    pub fn call_span(&self, call_id: &str) -> Option<(Instant, Option<Instant>)> {
        self.shared.lock().spans.get(call_id).copied()
    }

    /// Whether the whole transcript has been played.
    pub fn finished(&self) -> bool {
        self.shared.lock().finished
    }
}

impl Drop for MockPbx {
    fn drop(&mut self) {
        self.drop_connections();
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// One connection: banner, its own login, actions; events once logged in.
async fn serve(sock: TcpStream, id: u64, shared: Arc<Shared>) {
    let mut kill = shared.kill.subscribe();
    let cut = Arc::new(tokio::sync::Notify::new());
    shared.lock().cutters.insert(id, Arc::clone(&cut));
    let (mut rd, mut wr) = sock.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    shared.lock().writers.insert(id, tx.clone());
    let _ = tx.send(BANNER.as_bytes().to_vec());
    let writer = tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if wr.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = wr.shutdown().await;
    });
    let mut codec = AmiCodec::server();
    let mut buf = BytesMut::new();
    let mut killed = false;
    'conn: loop {
        let msg = loop {
            match codec.decode_frame(&mut buf) {
                Ok(Some(Frame::Message(m))) => break m,
                Ok(Some(Frame::Banner(_))) | Err(_) => continue,
                Ok(None) => {}
            }
            tokio::select! {
                _ = cut.notified() => {
                    killed = true;
                    break 'conn;
                }
                _ = kill.changed() => {
                    killed = true;
                    break 'conn;
                }
                r = rd.read_buf(&mut buf) => match r {
                    Ok(0) | Err(_) => break 'conn,
                    Ok(_) => {}
                },
            }
        };
        if !answer(&msg, id, &tx, &shared) {
            break;
        }
    }
    {
        let mut st = shared.lock();
        st.writers.remove(&id);
        st.cutters.remove(&id);
        st.subscribed.retain(|c| *c != id);
    }
    drop(tx);
    if killed {
        writer.abort();
    } else {
        let _ = writer.await;
    }
}

/// Answers one action; `false` ends the connection (after `Logoff`).
fn answer(msg: &Message, id: u64, tx: &mpsc::UnboundedSender<Vec<u8>>, shared: &Shared) -> bool {
    let name = action_name(msg);
    let aid = msg.get_str("ActionID").unwrap_or_default().to_owned();
    let reply = |text: String| {
        let _ = tx.send(text.into_bytes());
    };
    match name.as_str() {
        "login" => {
            reply(format!(
                "Response: Success\r\nActionID: {aid}\r\nMessage: Authentication accepted\r\n\r\n\
                 Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 3\r\nLastReload: 3\r\n\
                 Status: Fully Booted\r\n\r\n"
            ));
            shared.lock().subscribed.push(id);
        }
        "challenge" => reply(format!(
            "Response: Success\r\nActionID: {aid}\r\nChallenge: 840415273\r\n\r\n"
        )),
        "ping" => reply(format!(
            "Response: Success\r\nActionID: {aid}\r\nPing: Pong\r\nTimestamp: 0.0\r\n\r\n"
        )),
        "logoff" => {
            reply(format!(
                "Response: Goodbye\r\nActionID: {aid}\r\nMessage: Thanks for all the fish.\r\n\r\n"
            ));
            return false;
        }
        "coreshowchannels" => {
            // Built under the lock that also orders the played events: the listing is the
            // state this connection's earlier events left.
            let st = shared.lock();
            let mut out = format!(
                "Response: Success\r\nActionID: {aid}\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\n"
            );
            for chan in st.channels.values() {
                out.push_str(&listing_item(chan, &aid));
            }
            out.push_str(&format!(
                "Event: CoreShowChannelsComplete\r\nActionID: {aid}\r\nEventList: Complete\r\nListItems: {}\r\n\r\n",
                st.channels.len()
            ));
            let _ = tx.send(out.into_bytes());
        }
        "originate" => {
            let call_id = msg
                .get_all("Variable")
                .filter_map(|v| {
                    v.to_str_lossy()
                        .strip_prefix("HOOKFLASH_CALL_ID=")
                        .map(str::to_owned)
                })
                .next();
            let ask = OriginateAsk {
                client: id,
                action_id: aid.clone(),
                call_id,
            };
            if shared.originates.send(ask).is_err() {
                reply(format!(
                    "Response: Error\r\nActionID: {aid}\r\nMessage: Originate failed\r\n\r\n"
                ));
            }
        }
        "getvar" if msg.get_str("Channel").is_some_and(|c| !c.is_empty()) => {
            // A channel's variable, as the channel has it now.
            let name = msg.get_str("Channel").unwrap_or_default();
            let variable = msg.get_str("Variable").unwrap_or_default();
            let st = shared.lock();
            let chan = st
                .channels
                .values()
                .find(|c| c.fields.get("Channel").is_some_and(|n| n == name));
            let text = match chan {
                Some(c) => format!(
                    "Response: Success\r\nActionID: {aid}\r\nVariable: {variable}\r\nValue: {}\r\n\r\n",
                    c.vars.get(variable).map(String::as_str).unwrap_or_default()
                ),
                None => format!(
                    "Response: Error\r\nActionID: {aid}\r\nMessage: No such channel\r\n\r\n"
                ),
            };
            let _ = tx.send(text.into_bytes());
        }
        "getvar" => {
            let variable = msg.get_str("Variable").unwrap_or_default();
            match dialplan_exists(variable, &shared.dialplan) {
                Some(value) => reply(format!(
                    "Response: Success\r\nActionID: {aid}\r\nVariable: {variable}\r\nValue: {value}\r\n\r\n"
                )),
                None => reply(format!(
                    "Response: Error\r\nActionID: {aid}\r\nMessage: mock: no such variable\r\n\r\n"
                )),
            }
        }
        _ => reply(format!(
            "Response: Error\r\nActionID: {aid}\r\nMessage: mock: action not supported\r\n\r\n"
        )),
    }
    true
}

fn listing_item(chan: &Chan, aid: &str) -> String {
    let mut out = format!("Event: CoreShowChannel\r\nActionID: {aid}\r\n");
    for key in CHANNEL_FIELDS {
        let value = chan.fields.get(key).map(String::as_str).unwrap_or_default();
        out.push_str(&format!("{key}: {value}\r\n"));
    }
    let secs = chan.since.map(|s| s.elapsed().as_secs()).unwrap_or(0);
    out.push_str(&format!(
        "Application: {}\r\nApplicationData: {}\r\nDuration: {:02}:{:02}:{:02}\r\nBridgeId: {}\r\n\r\n",
        chan.application,
        chan.app_data,
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        chan.bridge.as_deref().unwrap_or_default()
    ));
    out
}

/// The rewriting of one play: fresh ids, the clients' ActionIDs and call ids.
#[derive(Debug, Default)]
struct Rewrite {
    /// Added to a uniqueid's seconds and sequence number.
    secs: u64,
    seq: u64,
    /// Recorded ActionID -> (client, its ActionID).
    actions: HashMap<String, (u64, String)>,
    /// Recorded UUID -> the one this play uses.
    uuids: HashMap<String, String>,
}

fn random_uuid() -> String {
    let n = rand::random::<u128>();
    let h = format!("{n:032x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

fn is_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(k, c)| match k {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

impl Rewrite {
    fn value(&mut self, name: &str, value: &str) -> String {
        if name.to_ascii_lowercase().ends_with("id")
            && let Some((secs, seq)) = value.split_once('.')
            && let (Ok(secs), Ok(seq)) = (secs.parse::<u64>(), seq.parse::<u64>())
        {
            let secs = secs.saturating_add(self.secs);
            let seq = seq.saturating_add(self.seq);
            return format!("{secs}.{seq}");
        }
        let b = value.as_bytes();
        let mut out = String::with_capacity(value.len());
        let mut i = 0;
        while i < b.len() {
            if i + 36 <= b.len() && is_uuid(&b[i..i + 36]) {
                let key = &value[i..i + 36];
                let new = self
                    .uuids
                    .entry(key.to_owned())
                    .or_insert_with(random_uuid)
                    .clone();
                out.push_str(&new);
                i += 36;
            } else {
                let ch = value[i..].chars().next().unwrap_or(' ');
                out.push(ch);
                i += ch.len_utf8().max(1);
            }
        }
        out
    }

    /// Rewrites one frame; returns it with the client it is addressed to (by a matched
    /// `ActionID`), if any.
    fn frame(&mut self, frame: &str) -> (String, Vec<(String, String)>, Option<u64>, bool) {
        let mut out = String::with_capacity(frame.len() + 16);
        let mut fields = Vec::new();
        let mut to = None;
        let mut unmatched_action = false;
        for line in frame.split("\r\n").filter(|l| !l.is_empty()) {
            let (name, value) = line.split_once(": ").unwrap_or((line, ""));
            let value = if name.eq_ignore_ascii_case("ActionID") {
                match self.actions.get(value) {
                    Some((client, id)) => {
                        to = Some(*client);
                        id.clone()
                    }
                    None => {
                        unmatched_action = true;
                        value.to_owned()
                    }
                }
            } else if name == "Timestamp" {
                // When it happens on this PBX: now (the recording's pace is the clients').
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default();
                format!("{}.{:06}", now.as_secs(), now.subsec_micros())
            } else {
                self.value(name, value)
            };
            out.push_str(name);
            out.push_str(": ");
            out.push_str(&value);
            out.push_str("\r\n");
            fields.push((name.to_owned(), value));
        }
        out.push_str("\r\n");
        (out, fields, to, unmatched_action)
    }
}

fn get<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Follows the calls' spans: a call's linkedid from its call id variable, and the time its
/// channels last hung up (or its Originate failed).
fn spans(st: &mut State, fields: &[(String, String)]) {
    let event = get(fields, "Event").unwrap_or_default();
    if event == "VarSet"
        && get(fields, "Variable") == Some("HOOKFLASH_CALL_ID")
        && let (Some(l), Some(v)) = (get(fields, "Linkedid"), get(fields, "Value"))
    {
        st.linked.insert(l.to_owned(), v.to_owned());
    }
    let ended = match event {
        "Hangup" => get(fields, "Linkedid")
            .and_then(|l| st.linked.get(l))
            .cloned(),
        "OriginateResponse" if get(fields, "Response") == Some("Failure") => {
            get(fields, "ActionID")
                .and_then(|a| st.by_action.get(a))
                .cloned()
        }
        _ => None,
    };
    if let Some(call) = ended
        && let Some(span) = st.spans.get_mut(&call)
    {
        span.1 = Some(Instant::now());
    }
}

/// Follows the channel table with one played event.
fn follow(channels: &mut BTreeMap<String, Chan>, fields: &[(String, String)]) {
    let Some(event) = get(fields, "Event") else {
        return;
    };
    let Some(uid) = get(fields, "Uniqueid") else {
        return;
    };
    match event {
        "Newchannel" => {
            channels.insert(
                uid.to_owned(),
                Chan {
                    since: Some(Instant::now()),
                    ..Chan::default()
                },
            );
        }
        "Hangup" => {
            channels.remove(uid);
            return;
        }
        _ => {}
    }
    let Some(chan) = channels.get_mut(uid) else {
        return;
    };
    for key in CHANNEL_FIELDS {
        if let Some(v) = get(fields, key) {
            chan.fields.insert(key, v.to_owned());
        }
    }
    match event {
        "Rename" => {
            if let Some(n) = get(fields, "Newname") {
                chan.fields.insert("Channel", n.to_owned());
            }
        }
        "NewExten" => {
            chan.application = get(fields, "Application").unwrap_or_default().to_owned();
            chan.app_data = get(fields, "AppData").unwrap_or_default().to_owned();
        }
        "BridgeEnter" => chan.bridge = get(fields, "BridgeUniqueid").map(str::to_owned),
        "BridgeLeave" => chan.bridge = None,
        "VarSet" => {
            if let Some(var) = get(fields, "Variable") {
                let value = get(fields, "Value").unwrap_or_default().to_owned();
                chan.vars.insert(var.to_owned(), value);
            }
        }
        _ => {}
    }
}

/// Plays `t` once, waiting at each recorded `Originate` for a client's.
async fn play(t: Transcript, shared: Arc<Shared>, mut asks: mpsc::UnboundedReceiver<OriginateAsk>) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut rw = Rewrite {
        // Later than any recorded id (the recording is in the past), distinct per play.
        secs: now.saturating_sub(1_700_000_000),
        seq: u64::from(rand::random::<u16>()) * 1_000,
        ..Rewrite::default()
    };
    let mut pending = String::new();
    let mut banner = true;
    for entry in t.entries() {
        match entry {
            Entry::Recv(data) => {
                pending.push_str(data);
                if banner && pending.len() >= BANNER.len() {
                    banner = false;
                    if pending.starts_with("Asterisk Call Manager/")
                        && let Some(end) = pending.find("\r\n")
                    {
                        pending.drain(..end + 2);
                    }
                }
                while let Some(end) = pending.find("\r\n\r\n") {
                    let frame: String = pending.drain(..end + 4).collect();
                    dispatch(&frame, &mut rw, &shared);
                }
            }
            Entry::Send(data) => {
                let Some(m) = decode_one(data.as_bytes()) else {
                    continue;
                };
                if action_name(&m) != "originate" {
                    continue;
                }
                let Some(ask) = asks.recv().await else {
                    return;
                };
                let recorded_aid = m.get_str("ActionID").unwrap_or_default().to_owned();
                rw.actions
                    .insert(recorded_aid, (ask.client, ask.action_id.clone()));
                let recorded_call = m
                    .get_all("Variable")
                    .filter_map(|v| {
                        v.to_str_lossy()
                            .strip_prefix("HOOKFLASH_CALL_ID=")
                            .map(str::to_owned)
                    })
                    .next();
                if let Some(rec) = recorded_call {
                    let live = ask.call_id.clone().unwrap_or_else(random_uuid);
                    rw.uuids.insert(rec.clone(), live.clone());
                    let mut st = shared.lock();
                    st.spans.insert(live.clone(), (Instant::now(), None));
                    st.by_action.insert(ask.action_id.clone(), live.clone());
                    st.originated.push((rec, live));
                }
            }
        }
    }
    shared.lock().finished = true;
    // Nothing more to originate: every later `Originate` is refused.
    while let Some(ask) = asks.recv().await {
        let st = shared.lock();
        if let Some(tx) = st.writers.get(&ask.client) {
            let _ = tx.send(
                format!(
                    "Response: Error\r\nActionID: {}\r\nMessage: Originate failed\r\n\r\n",
                    ask.action_id
                )
                .into_bytes(),
            );
        }
    }
}

fn dispatch(frame: &str, rw: &mut Rewrite, shared: &Shared) {
    let (text, fields, to, unmatched_action) = rw.frame(frame);
    let Some((first, _)) = fields.first() else {
        return;
    };
    let mut st = shared.lock();
    if first == "Response" {
        // A response to a recorded action no client sent (Login, Logoff) goes to nobody.
        if let Some(tx) = to.and_then(|c| st.writers.get(&c)) {
            let _ = tx.send(text.into_bytes());
        }
        return;
    }
    if first != "Event" {
        return;
    }
    let event = get(&fields, "Event").unwrap_or_default();
    // Per-session events of the recorded login, and list items of a recorded action no
    // client sent, are not the PBX's to broadcast.
    if matches!(event, "FullyBooted" | "SuccessfulAuth")
        || (unmatched_action && to.is_none() && event != "OriginateResponse")
    {
        return;
    }
    st.events += 1;
    spans(&mut st, &fields);
    follow(&mut st.channels, &fields);
    let bytes = text.into_bytes();
    for c in &st.subscribed {
        if let Some(tx) = st.writers.get(c) {
            let _ = tx.send(bytes.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniqueids_and_uuids_are_fresh_and_consistent() {
        let mut rw = Rewrite {
            secs: 10,
            seq: 1000,
            ..Rewrite::default()
        };
        let (a, _, _, _) = rw.frame(
            "Event: Newchannel\r\nTimestamp: 1795315651.917317\r\nUniqueid: 1795315651.45\r\n\
             Linkedid: 1795315651.45\r\nBridgeUniqueid: 98ae765a-307e-4c0d-b817-564391030cbc\r\n\r\n",
        );
        assert!(a.contains("Uniqueid: 1795315661.1045\r\n"), "{a}");
        assert!(a.contains("Linkedid: 1795315661.1045\r\n"), "{a}");
        assert!(!a.contains("Timestamp: 1795315651.917317\r\n"), "{a}");
        assert!(!a.contains("98ae765a-307e-4c0d-b817-564391030cbc"), "{a}");
        let (b, _, _, _) =
            rw.frame("Event: X\r\nBridgeUniqueid: 98ae765a-307e-4c0d-b817-564391030cbc\r\n\r\n");
        let ida = a.split("BridgeUniqueid: ").nth(1).map(|s| &s[..36]);
        let idb = b.split("BridgeUniqueid: ").nth(1).map(|s| &s[..36]);
        assert_eq!(ida, idb);
    }

    #[test]
    fn the_channel_table_follows_events() {
        let mut channels = BTreeMap::new();
        let f = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        follow(
            &mut channels,
            &f(&[
                ("Event", "Newchannel"),
                ("Channel", "PJSIP/a-1"),
                ("ChannelState", "0"),
                ("Uniqueid", "1.1"),
                ("Linkedid", "1.1"),
            ]),
        );
        follow(
            &mut channels,
            &f(&[
                ("Event", "Newstate"),
                ("ChannelState", "6"),
                ("Uniqueid", "1.1"),
            ]),
        );
        follow(
            &mut channels,
            &f(&[
                ("Event", "BridgeEnter"),
                ("BridgeUniqueid", "b"),
                ("Uniqueid", "1.1"),
            ]),
        );
        let item = listing_item(&channels["1.1"], "x");
        assert!(item.contains("ChannelState: 6\r\n"), "{item}");
        assert!(item.contains("BridgeId: b\r\n"), "{item}");
        assert!(item.contains("Channel: PJSIP/a-1\r\n"), "{item}");
        follow(
            &mut channels,
            &f(&[("Event", "Hangup"), ("Uniqueid", "1.1")]),
        );
        assert!(channels.is_empty());
    }
}
