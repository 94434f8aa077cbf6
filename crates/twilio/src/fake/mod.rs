//! A loopback fake of Twilio's REST API for tests (feature `fake`).
//!
//! It follows the documented request and response shapes (`testdata/twilio-shapes`): HTTP basic
//! auth, form-encoded requests with the required parameters checked, SID patterns, snake_case
//! JSON answers with the documented success codes, and Twilio's error JSON for failures. It also
//! plays Twilio's part in a call: it fetches the voice URL, runs the TwiML it gets back
//! (`<Dial>` of a number / client / SIP URI, `<Conference>`, `<Play digits>`, `<Hangup>`), and
//! POSTs signed status, `<Dial>` action, AMD, recording and conference callbacks, like Twilio.
//!
//! Simulation steps run one at a time, in the order they were caused, so callbacks arrive in a
//! deterministic order. What each called party does is set per number with
//! [`FakeTwilio::set_behaviour`].

mod rest;
mod sim;
mod twiml_read;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use twiml_read::{Node as TwimlNode, parse as parse_twiml};

/// What the party at a number does when called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Behaviour {
    /// Rings, then answers (a human).
    #[default]
    Answer,
    /// Rings, then an answering machine answers (AMD says `machine_start`).
    AnswerMachine,
    /// Busy.
    Busy,
    /// Rings until Twilio's timeout.
    NoAnswer,
    /// Rings until the call is cancelled or the party is told to hang up.
    RingForever,
    /// The call fails with this SIP response code.
    Fail {
        /// The SIP code (404, 503, ...).
        sip_code: u16,
    },
}

/// A request the fake received, as it saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, `DELETE`.
    pub method: String,
    /// The path.
    pub path: String,
    /// The query parameters.
    pub query: Vec<(String, String)>,
    /// The form parameters, in order, repeated keys kept.
    pub form: Vec<(String, String)>,
    /// The status the fake answered.
    pub status: u16,
    /// When it arrived.
    pub at: Instant,
}

impl RecordedRequest {
    /// Every value of a form parameter.
    pub fn values(&self, name: &str) -> Vec<&str> {
        self.form
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The first value of a form parameter.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values(name).into_iter().next()
    }
}

/// A callback the fake sent to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentCallback {
    /// The URL.
    pub url: String,
    /// The form parameters.
    pub params: Vec<(String, String)>,
    /// The application's HTTP status (0 when it could not be reached).
    pub status: u16,
}

/// One injected failure, answered instead of the next REST request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectedFailure {
    /// HTTP status (429, 503, ...).
    pub status: u16,
    /// Twilio error code in the body.
    pub code: i64,
    /// `Retry-After` seconds, if any.
    pub retry_after: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Bridge {
    None,
    DialParent {
        child: String,
        action: Option<String>,
        recording: Option<String>,
    },
    DialChild {
        parent: String,
    },
    Conference {
        sid: String,
        end_on_exit: bool,
        action: Option<String>,
    },
}

/// A call the fake knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeCall {
    /// `CA…`.
    pub sid: String,
    /// The `<Dial>` parent.
    pub parent: Option<String>,
    /// Called party.
    pub to: String,
    /// Caller.
    pub from: String,
    /// Twilio's call status.
    pub status: String,
    /// `outbound-api` or `outbound-dial`.
    pub direction: String,
    /// Digits played to the call with `<Play digits>`.
    pub played_digits: Vec<String>,
    /// TwiML documents the call was redirected to (UpdateCall Twiml).
    pub redirects: Vec<String>,
    pub(crate) status_callback: Option<String>,
    pub(crate) events: Vec<String>,
    pub(crate) url: Option<String>,
    pub(crate) twiml: Option<String>,
    pub(crate) timeout_answered_at: Option<Instant>,
    pub(crate) seq: u32,
    pub(crate) bridge: Bridge,
    pub(crate) amd: Option<(String, Option<String>)>,
    pub(crate) participant: Option<ParticipantCfg>,
    pub(crate) created: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParticipantCfg {
    pub(crate) conference: String,
    pub(crate) label: Option<String>,
    pub(crate) end_on_exit: bool,
    pub(crate) hold: bool,
    pub(crate) muted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Conference {
    pub(crate) sid: String,
    pub(crate) friendly_name: String,
    pub(crate) status: String,
    pub(crate) status_callback: Option<String>,
    pub(crate) events: Vec<String>,
    pub(crate) participants: Vec<String>,
    pub(crate) seq: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recording {
    pub(crate) sid: String,
    pub(crate) call_sid: String,
    pub(crate) status: String,
    pub(crate) callback: Option<String>,
    pub(crate) events: Vec<String>,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) calls: BTreeMap<String, FakeCall>,
    pub(crate) conferences: HashMap<String, Conference>,
    pub(crate) recordings: HashMap<String, Recording>,
    pub(crate) behaviours: HashMap<String, Behaviour>,
    pub(crate) failures: VecDeque<InjectedFailure>,
    pub(crate) cps_limit: Option<f64>,
    pub(crate) last_create: Option<Instant>,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) callbacks: Vec<SentCallback>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) account_sid: String,
    pub(crate) auth_token: String,
    pub(crate) state: Mutex<State>,
    /// Simulation steps, run one at a time by the worker, in the order they were caused.
    pub(crate) jobs: tokio::sync::mpsc::UnboundedSender<sim::Job>,
    pub(crate) http: reqwest::Client,
    pub(crate) counter: AtomicU64,
    pub(crate) pending: AtomicU64,
}

impl Shared {
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        crate::provider::lock(&self.state)
    }

    pub(crate) fn new_sid(&self, prefix: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        format!(
            "{prefix}{:032x}",
            0xface_0000_0000_0000_0000_0000_0000_0000_u128 + u128::from(n)
        )
    }
}

/// The fake Twilio: an axum server on 127.0.0.1 with an ephemeral port.
#[derive(Debug)]
pub struct FakeTwilio {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: JoinHandle<()>,
    worker: JoinHandle<()>,
}

impl Drop for FakeTwilio {
    fn drop(&mut self) {
        self.server.abort();
        self.worker.abort();
    }
}

impl FakeTwilio {
    /// Starts a fake for one account.
    ///
    /// # Errors
    /// When the loopback socket cannot be bound.
    pub async fn start(
        account_sid: impl Into<String>,
        auth_token: impl Into<String>,
    ) -> std::io::Result<Self> {
        let (jobs, rx) = tokio::sync::mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            account_sid: account_sid.into(),
            auth_token: auth_token.into(),
            state: Mutex::new(State::default()),
            jobs,
            http: reqwest::Client::new(),
            counter: AtomicU64::new(0),
            pending: AtomicU64::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = rest::router(Arc::clone(&shared));
        let worker = tokio::spawn(sim::worker(Arc::clone(&shared), rx));
        let server = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                tracing::warn!(error = %err, "fake Twilio server stopped");
            }
        });
        Ok(Self {
            shared,
            addr,
            server,
            worker,
        })
    }

    /// The base URL to put in [`crate::TwilioConfig::api_base`].
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sets what the party at `number` does when called (default: answers).
    pub fn set_behaviour(&self, number: &str, behaviour: Behaviour) {
        self.shared
            .state()
            .behaviours
            .insert(number.to_owned(), behaviour);
    }

    /// Answers the next REST requests with these failures, in order.
    pub fn inject_failures(&self, failures: impl IntoIterator<Item = InjectedFailure>) {
        self.shared.state().failures.extend(failures);
    }

    /// Refuses (429, code 20429) a CreateCall or CreateParticipant that arrives sooner than half
    /// an interval of `cps` after the previous one; `None` turns the check off.
    pub fn set_cps_limit(&self, cps: Option<f64>) {
        self.shared.state().cps_limit = cps;
    }

    /// Every REST request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.state().requests.clone()
    }

    /// Every callback sent so far.
    pub fn callbacks(&self) -> Vec<SentCallback> {
        self.shared.state().callbacks.clone()
    }

    /// Every call, in creation order.
    pub fn calls(&self) -> Vec<FakeCall> {
        let state = self.shared.state();
        let mut calls: Vec<FakeCall> = state.calls.values().cloned().collect();
        calls.sort_by(|a, b| a.created.cmp(&b.created));
        calls
    }

    /// One call.
    pub fn call(&self, sid: &str) -> Option<FakeCall> {
        self.shared.state().calls.get(sid).cloned()
    }

    /// The party on `sid` hangs up (or, while it rings, stops ringing unanswered).
    pub async fn remote_hangup(&self, sid: &str) {
        let shared = Arc::clone(&self.shared);
        let sid = sid.to_owned();
        sim::spawn(&shared, move |shared| async move {
            sim::remote_hangup(&shared, &sid).await;
        });
    }

    /// Waits until every simulation step caused so far has run.
    pub async fn settle(&self) {
        while self.shared.pending.load(Ordering::SeqCst) != 0 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
}
