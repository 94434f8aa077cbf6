//! The fake's call simulation: what Twilio does between the REST requests, including the
//! signed callbacks it sends. Every step runs on one worker, in the order it was caused.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::time::Instant;

use super::twiml_read::{Node, parse};
use super::{Behaviour, Bridge, Conference, FakeCall, Recording, SentCallback, Shared};
use crate::signature::{SIGNATURE_HEADER, compute_signature};

pub(crate) type Job =
    Box<dyn FnOnce(Arc<Shared>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// Queues a simulation step.
pub(super) fn spawn<F, Fut>(shared: &Arc<Shared>, f: F)
where
    F: FnOnce(Arc<Shared>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    shared.pending.fetch_add(1, Ordering::SeqCst);
    let job: Job = Box::new(move |s| Box::pin(f(s)));
    if shared.jobs.send(job).is_err() {
        shared.pending.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs queued steps one after the other.
pub(super) async fn worker(
    shared: Arc<Shared>,
    mut jobs: tokio::sync::mpsc::UnboundedReceiver<Job>,
) {
    while let Some(job) = jobs.recv().await {
        job(Arc::clone(&shared)).await;
        shared.pending.fetch_sub(1, Ordering::SeqCst);
    }
}

fn behaviour(shared: &Shared, number: &str) -> Behaviour {
    shared
        .state()
        .behaviours
        .get(number)
        .copied()
        .unwrap_or_default()
}

fn call(shared: &Shared, sid: &str) -> Option<FakeCall> {
    shared.state().calls.get(sid).cloned()
}

fn is_final(status: &str) -> bool {
    matches!(
        status,
        "completed" | "busy" | "no-answer" | "failed" | "canceled"
    )
}

/// Signs and POSTs a callback; returns the response body.
async fn post(shared: &Shared, url: &str, params: Vec<(String, String)>) -> Option<String> {
    let signature = compute_signature(&shared.auth_token, url, &params);
    let result = shared
        .http
        .post(url)
        .header(SIGNATURE_HEADER, signature)
        .form(&params)
        .send()
        .await;
    let (status, body) = match result {
        Ok(resp) => {
            let status = resp.status().as_u16();
            (status, resp.text().await.ok())
        }
        Err(err) => {
            tracing::warn!(%url, error = %err, "fake Twilio could not deliver a callback");
            (0, None)
        }
    };
    shared.state().callbacks.push(SentCallback {
        url: url.to_owned(),
        params,
        status,
    });
    body.filter(|_| (200..300).contains(&status))
}

fn base_params(shared: &Shared, call: &FakeCall) -> Vec<(String, String)> {
    let mut p = vec![
        ("AccountSid".to_owned(), shared.account_sid.clone()),
        ("ApiVersion".to_owned(), "2010-04-01".to_owned()),
        ("CallSid".to_owned(), call.sid.clone()),
        ("CallStatus".to_owned(), call.status.clone()),
        ("Called".to_owned(), call.to.clone()),
        ("Caller".to_owned(), call.from.clone()),
        ("Direction".to_owned(), call.direction.clone()),
        ("From".to_owned(), call.from.clone()),
        ("To".to_owned(), call.to.clone()),
    ];
    if let Some(parent) = &call.parent {
        p.push(("ParentCallSid".to_owned(), parent.clone()));
    }
    p
}

fn duration_secs(call: &FakeCall) -> u64 {
    // A real call lasts seconds; the fake's last milliseconds, so count an answered call as 1 s
    // at least (Twilio reports 0 only for unanswered calls).
    call.timeout_answered_at.map_or(0, |t| {
        Instant::now().saturating_duration_since(t).as_secs().max(1)
    })
}

/// Moves a call to `status` and sends the status callback when its event was asked for.
async fn set_status(shared: &Shared, sid: &str, status: &str, sip: Option<u16>) {
    let (url, params) = {
        let mut state = shared.state();
        let Some(call) = state.calls.get_mut(sid) else {
            return;
        };
        call.status = status.to_owned();
        if status == "in-progress" {
            call.timeout_answered_at = Some(Instant::now());
        }
        call.seq += 1;
        let event = match status {
            "initiated" | "queued" => "initiated",
            "ringing" => "ringing",
            "in-progress" => "answered",
            _ => "completed",
        };
        // Without StatusCallbackEvent Twilio sends only `completed`.
        let wanted = if call.events.is_empty() {
            event == "completed"
        } else {
            call.events.iter().any(|e| e == event)
        };
        let Some(url) = call.status_callback.clone().filter(|_| wanted) else {
            return;
        };
        let call = call.clone();
        let mut params = base_params(shared, &call);
        params.push((
            "CallbackSource".to_owned(),
            "call-progress-events".to_owned(),
        ));
        params.push(("SequenceNumber".to_owned(), (call.seq - 1).to_string()));
        params.push(("Timestamp".to_owned(), super::rest::now_rfc2822()));
        if is_final(status) {
            params.push(("CallDuration".to_owned(), duration_secs(&call).to_string()));
        }
        if let Some(code) = sip {
            params.push(("SipResponseCode".to_owned(), code.to_string()));
        }
        (url, params)
    };
    post(shared, &url, params).await;
}

enum Outcome {
    Answered,
    Ringing,
    Ended(&'static str),
}

/// Rings the called party of a new call and plays its behaviour.
async fn progress(shared: &Shared, sid: &str) -> Outcome {
    let Some(c) = call(shared, sid) else {
        return Outcome::Ended("failed");
    };
    set_status(shared, sid, "initiated", None).await;
    match behaviour(shared, &c.to) {
        b @ (Behaviour::Answer | Behaviour::AnswerMachine) => {
            set_status(shared, sid, "ringing", None).await;
            set_status(shared, sid, "in-progress", None).await;
            if let Some((_, Some(url))) = &c.amd {
                let answered_by = if b == Behaviour::AnswerMachine {
                    "machine_start"
                } else {
                    "human"
                };
                let mut params = vec![
                    ("AccountSid".to_owned(), shared.account_sid.clone()),
                    ("CallSid".to_owned(), sid.to_owned()),
                    ("AnsweredBy".to_owned(), answered_by.to_owned()),
                    ("MachineDetectionDuration".to_owned(), "2310".to_owned()),
                ];
                if let Some(parent) = &c.parent {
                    params.push(("ParentCallSid".to_owned(), parent.clone()));
                }
                post(shared, url, params).await;
            }
            Outcome::Answered
        }
        Behaviour::Busy => {
            set_status(shared, sid, "busy", Some(486)).await;
            Outcome::Ended("busy")
        }
        Behaviour::NoAnswer => {
            set_status(shared, sid, "ringing", None).await;
            set_status(shared, sid, "no-answer", Some(487)).await;
            Outcome::Ended("no-answer")
        }
        Behaviour::RingForever => {
            set_status(shared, sid, "ringing", None).await;
            Outcome::Ringing
        }
        Behaviour::Fail { sip_code } => {
            set_status(shared, sid, "failed", Some(sip_code)).await;
            Outcome::Ended("failed")
        }
    }
}

/// A call created with CreateCall.
pub(super) async fn outbound(shared: &Arc<Shared>, sid: &str) {
    if let Outcome::Answered = progress(shared, sid).await {
        run_call_document(shared, sid).await;
    }
}

/// Fetches the call's Url (or takes its Twiml) and runs it.
async fn run_call_document(shared: &Arc<Shared>, sid: &str) {
    let Some(c) = call(shared, sid) else {
        return;
    };
    let doc = match (&c.url, &c.twiml) {
        (Some(url), _) => post(shared, url, base_params(shared, &c)).await,
        (None, Some(twiml)) => Some(twiml.clone()),
        (None, None) => None,
    };
    run_twiml(shared, sid, doc.as_deref().unwrap_or_default()).await;
}

/// A participant created with CreateParticipant.
pub(super) async fn participant(shared: &Arc<Shared>, sid: &str) {
    match progress(shared, sid).await {
        Outcome::Answered => {
            let Some(cfg) = call(shared, sid).and_then(|c| c.participant) else {
                return;
            };
            join_conference(shared, sid, &cfg.conference, None, cfg.end_on_exit, None).await;
        }
        Outcome::Ringing | Outcome::Ended(_) => {}
    }
}

fn run_twiml<'a>(
    shared: &'a Arc<Shared>,
    sid: &'a str,
    doc: &'a str,
) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
    Box::pin(async move {
        let Some(nodes) = parse(doc) else {
            tracing::warn!(%sid, "fake Twilio got TwiML it cannot read; hanging up");
            end(shared, sid, "completed").await;
            return;
        };
        for node in nodes {
            match node.name.as_str() {
                "Play" => {
                    if let Some(digits) = node.attr("digits")
                        && let Some(c) = shared.state().calls.get_mut(sid)
                    {
                        c.played_digits.push(digits.to_owned());
                    }
                }
                "Hangup" | "Reject" => break,
                "Dial" => {
                    dial(shared, sid, &node).await;
                    // What follows a <Dial> runs after it ends: through its action URL here.
                    return;
                }
                _ => {}
            }
        }
        end(shared, sid, "completed").await;
    })
}

fn conference_events(spec: Option<&str>) -> Vec<String> {
    spec.unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

async fn dial(shared: &Arc<Shared>, parent: &str, node: &Node) {
    let Some(noun) = node.children.first() else {
        end(shared, parent, "completed").await;
        return;
    };
    let action = node.attr("action").map(str::to_owned);
    if noun.name == "Conference" {
        let cfg = ConferenceJoin {
            status_callback: noun.attr("statusCallback").map(str::to_owned),
            events: conference_events(noun.attr("statusCallbackEvent")),
        };
        let end_on_exit = noun.attr("endConferenceOnExit") == Some("true");
        join_conference(shared, parent, &noun.text, Some(cfg), end_on_exit, action).await;
        return;
    }
    let to = match noun.name.as_str() {
        "Client" => format!("client:{}", noun.text),
        _ => noun.text.clone(),
    };
    let Some(parent_call) = call(shared, parent) else {
        return;
    };
    let child_sid = shared.new_sid("CA");
    let recording = (node
        .attr("record")
        .is_some_and(|r| r.starts_with("record-from")))
    .then(|| {
        (
            node.attr("recordingStatusCallback").map(str::to_owned),
            conference_events(node.attr("recordingStatusCallbackEvent")),
        )
    });
    let child = FakeCall {
        sid: child_sid.clone(),
        parent: Some(parent.to_owned()),
        to,
        from: node
            .attr("callerId")
            .map_or_else(|| parent_call.from.clone(), str::to_owned),
        status: "queued".to_owned(),
        direction: "outbound-dial".to_owned(),
        played_digits: Vec::new(),
        redirects: Vec::new(),
        status_callback: noun.attr("statusCallback").map(str::to_owned),
        events: conference_events(noun.attr("statusCallbackEvent")),
        url: None,
        twiml: None,
        timeout_answered_at: None,
        seq: 0,
        bridge: Bridge::DialChild {
            parent: parent.to_owned(),
        },
        amd: noun.attr("machineDetection").map(|m| {
            (
                m.to_owned(),
                noun.attr("amdStatusCallback").map(str::to_owned),
            )
        }),
        participant: None,
        created: super::rest::now_rfc2822(),
    };
    {
        let mut state = shared.state();
        state.calls.insert(child_sid.clone(), child);
        if let Some(p) = state.calls.get_mut(parent) {
            p.bridge = Bridge::DialParent {
                child: child_sid.clone(),
                action: action.clone(),
                recording: None,
            };
        }
    }
    match progress(shared, &child_sid).await {
        Outcome::Answered => {
            if let Some((callback, events)) = recording {
                let rec = Recording {
                    sid: shared.new_sid("RE"),
                    call_sid: parent.to_owned(),
                    status: "in-progress".to_owned(),
                    callback,
                    events: if events.is_empty() {
                        vec!["completed".to_owned()]
                    } else {
                        events
                    },
                };
                let rec_sid = rec.sid.clone();
                {
                    let mut state = shared.state();
                    state.recordings.insert(rec_sid.clone(), rec);
                    if let Some(Bridge::DialParent { recording, .. }) =
                        state.calls.get_mut(parent).map(|p| &mut p.bridge)
                    {
                        *recording = Some(rec_sid.clone());
                    }
                }
                recording_status(shared, &rec_sid, "in-progress").await;
            }
        }
        Outcome::Ringing => {}
        Outcome::Ended(status) => {
            if let Some(c) = shared.state().calls.get_mut(&child_sid) {
                c.bridge = Bridge::None;
            }
            dial_ended(shared, parent, status, Some(&child_sid)).await;
        }
    }
}

/// A `<Dial>` of `parent` is over: its action URL decides what the call does next.
fn dial_ended<'a>(
    shared: &'a Arc<Shared>,
    parent: &'a str,
    dial_status: &'a str,
    child: Option<&'a str>,
) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
    Box::pin(async move {
        let Some(p) = call(shared, parent) else {
            return;
        };
        if is_final(&p.status) {
            return;
        }
        let action = match &p.bridge {
            Bridge::DialParent {
                action, recording, ..
            } => {
                if let Some(rec) = recording {
                    recording_status(shared, rec, "completed").await;
                }
                action.clone()
            }
            Bridge::Conference { action, .. } => action.clone(),
            _ => None,
        };
        if let Some(c) = shared.state().calls.get_mut(parent) {
            c.bridge = Bridge::None;
        }
        let Some(action) = action else {
            end(shared, parent, "completed").await;
            return;
        };
        let mut params = base_params(shared, &p);
        params.push(("DialCallStatus".to_owned(), dial_status.to_owned()));
        if let Some(child) = child.and_then(|c| call(shared, c)) {
            params.push(("DialCallSid".to_owned(), child.sid.clone()));
            params.push((
                "DialCallDuration".to_owned(),
                duration_secs(&child).to_string(),
            ));
        }
        let doc = post(shared, &action, params).await;
        run_twiml(shared, parent, doc.as_deref().unwrap_or_default()).await;
    })
}

/// Ends a leg with a final status, then what hangs on it (its `<Dial>` peer, its conference).
fn end<'a>(
    shared: &'a Arc<Shared>,
    sid: &'a str,
    status: &'static str,
) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
    Box::pin(async move {
        let Some(c) = call(shared, sid) else {
            return;
        };
        if is_final(&c.status) {
            return;
        }
        let sip = match status {
            "canceled" => Some(487),
            _ => None,
        };
        set_status(shared, sid, status, sip).await;
        let recordings: Vec<String> = shared
            .state()
            .recordings
            .values()
            .filter(|r| r.call_sid == sid && matches!(r.status.as_str(), "in-progress" | "paused"))
            .map(|r| r.sid.clone())
            .collect();
        for rec in recordings {
            recording_status(shared, &rec, "completed").await;
        }
        let bridge = {
            let mut state = shared.state();
            state.calls.get_mut(sid).map_or(Bridge::None, |c| {
                std::mem::replace(&mut c.bridge, Bridge::None)
            })
        };
        match bridge {
            Bridge::None => {}
            Bridge::DialParent {
                child, recording, ..
            } => {
                if let Some(rec) = recording {
                    recording_status(shared, &rec, "completed").await;
                }
                let child_status = call(shared, &child).map(|c| c.status).unwrap_or_default();
                let how = if child_status == "in-progress" {
                    "completed"
                } else {
                    "canceled"
                };
                end(shared, &child, how).await;
            }
            Bridge::DialChild { parent } => {
                dial_ended(shared, &parent, status, Some(sid)).await;
            }
            Bridge::Conference {
                sid: conf,
                end_on_exit,
                ..
            } => {
                leave_conference(shared, sid, &conf, end_on_exit).await;
            }
        }
    })
}

struct ConferenceJoin {
    status_callback: Option<String>,
    events: Vec<String>,
}

async fn join_conference(
    shared: &Arc<Shared>,
    sid: &str,
    name_or_sid: &str,
    cfg: Option<ConferenceJoin>,
    end_on_exit: bool,
    action: Option<String>,
) {
    let (conf_sid, started) = {
        let mut state = shared.state();
        let existing = state
            .conferences
            .values()
            .find(|c| {
                (c.sid == name_or_sid || c.friendly_name == name_or_sid) && c.status != "completed"
            })
            .map(|c| c.sid.clone());
        let conf_sid = existing.unwrap_or_else(|| {
            let sid = shared.new_sid("CF");
            state.conferences.insert(
                sid.clone(),
                Conference {
                    sid: sid.clone(),
                    friendly_name: name_or_sid.to_owned(),
                    status: "init".to_owned(),
                    status_callback: None,
                    events: Vec::new(),
                    participants: Vec::new(),
                    seq: 0,
                },
            );
            sid
        });
        let Some(conf) = state.conferences.get_mut(&conf_sid) else {
            return;
        };
        if let Some(cfg) = cfg
            && conf.status_callback.is_none()
        {
            conf.status_callback = cfg.status_callback;
            conf.events = cfg.events;
        }
        conf.participants.push(sid.to_owned());
        let started = conf.status != "in-progress";
        conf.status = "in-progress".to_owned();
        if let Some(c) = state.calls.get_mut(sid) {
            c.bridge = Bridge::Conference {
                sid: conf_sid.clone(),
                end_on_exit,
                action,
            };
            if let Some(p) = &mut c.participant {
                p.conference = conf_sid.clone();
            }
        }
        (conf_sid, started)
    };
    if started {
        conference_event(shared, &conf_sid, "conference-start", None).await;
    }
    conference_event(shared, &conf_sid, "participant-join", Some(sid)).await;
}

async fn leave_conference(shared: &Arc<Shared>, sid: &str, conf_sid: &str, end_on_exit: bool) {
    let remaining = {
        let mut state = shared.state();
        let Some(conf) = state.conferences.get_mut(conf_sid) else {
            return;
        };
        conf.participants.retain(|p| p != sid);
        conf.participants.clone()
    };
    conference_event(shared, conf_sid, "participant-leave", Some(sid)).await;
    if !(end_on_exit || remaining.is_empty()) {
        return;
    }
    if let Some(conf) = shared.state().conferences.get_mut(conf_sid) {
        conf.status = "completed".to_owned();
        conf.participants.clear();
    }
    for p in &remaining {
        conference_event(shared, conf_sid, "participant-leave", Some(p)).await;
    }
    conference_event(shared, conf_sid, "conference-end", None).await;
    for p in remaining {
        let via_twiml = matches!(
            call(shared, &p).map(|c| c.bridge),
            Some(Bridge::Conference {
                action: Some(_),
                ..
            })
        );
        if via_twiml {
            dial_ended(shared, &p, "completed", None).await;
        } else {
            if let Some(c) = shared.state().calls.get_mut(&p) {
                c.bridge = Bridge::None;
            }
            end(shared, &p, "completed").await;
        }
    }
}

/// Sends a conference status callback when its event was asked for.
pub(super) async fn conference_event(
    shared: &Arc<Shared>,
    conf_sid: &str,
    event: &str,
    call_sid: Option<&str>,
) {
    let (url, params) = {
        let mut state = shared.state();
        let participant = call_sid
            .and_then(|s| state.calls.get(s))
            .and_then(|c| c.participant.clone());
        let Some(conf) = state.conferences.get_mut(conf_sid) else {
            return;
        };
        let short = event
            .strip_prefix("participant-")
            .or_else(|| event.strip_prefix("conference-"))
            .unwrap_or(event);
        let short = match short {
            "unhold" => "hold",
            "unmute" => "mute",
            other => other,
        };
        let Some(url) = conf
            .status_callback
            .clone()
            .filter(|_| conf.events.iter().any(|e| e == short))
        else {
            return;
        };
        conf.seq += 1;
        let mut params = vec![
            ("AccountSid".to_owned(), shared.account_sid.clone()),
            ("ConferenceSid".to_owned(), conf.sid.clone()),
            ("FriendlyName".to_owned(), conf.friendly_name.clone()),
            ("StatusCallbackEvent".to_owned(), event.to_owned()),
            ("SequenceNumber".to_owned(), conf.seq.to_string()),
            ("Timestamp".to_owned(), super::rest::now_rfc2822()),
        ];
        if let Some(sid) = call_sid {
            params.push(("CallSid".to_owned(), sid.to_owned()));
            let (hold, muted) = participant.map_or((false, false), |p| (p.hold, p.muted));
            params.push(("Hold".to_owned(), hold.to_string()));
            params.push(("Muted".to_owned(), muted.to_string()));
        }
        (url, params)
    };
    post(shared, &url, params).await;
}

/// UpdateCall Status=completed / canceled.
pub(super) async fn hangup(shared: &Arc<Shared>, sid: &str, cancel: bool) {
    let Some(c) = call(shared, sid) else {
        return;
    };
    let status = if c.status == "in-progress" && !cancel {
        "completed"
    } else {
        "canceled"
    };
    end(shared, sid, status).await;
}

/// The party on the leg hangs up (or stops ringing unanswered).
pub(super) async fn remote_hangup(shared: &Arc<Shared>, sid: &str) {
    let Some(c) = call(shared, sid) else {
        return;
    };
    match c.status.as_str() {
        "in-progress" => end(shared, sid, "completed").await,
        "ringing" | "queued" | "initiated" => end(shared, sid, "no-answer").await,
        _ => {}
    }
}

/// UpdateCall Url / Twiml: the leg leaves what it is in and runs the new document.
pub(super) async fn redirect(
    shared: &Arc<Shared>,
    sid: &str,
    url: Option<String>,
    twiml: Option<String>,
) {
    let Some(c) = call(shared, sid) else {
        return;
    };
    if c.status != "in-progress" {
        return;
    }
    if let Some(c) = shared.state().calls.get_mut(sid) {
        c.bridge = Bridge::None;
        c.url = url.clone();
        c.twiml = twiml.clone();
        if let Some(t) = &twiml {
            c.redirects.push(t.clone());
        }
    }
    match c.bridge {
        Bridge::None => {}
        Bridge::DialParent {
            child, recording, ..
        } => {
            if let Some(rec) = recording {
                recording_status(shared, &rec, "completed").await;
            }
            end(shared, &child, "completed").await;
        }
        Bridge::DialChild { parent } => {
            dial_ended(shared, &parent, "completed", Some(sid)).await;
        }
        Bridge::Conference {
            sid: conf,
            end_on_exit,
            ..
        } => {
            leave_conference(shared, sid, &conf, end_on_exit).await;
        }
    }
    run_call_document(shared, sid).await;
}

/// DeleteParticipant: the leg leaves the conference; a TwiML-joined leg goes on after its
/// `<Dial>`, an API-created one ends.
pub(super) async fn kick(shared: &Arc<Shared>, sid: &str) {
    let Some(c) = call(shared, sid) else {
        return;
    };
    let Bridge::Conference {
        sid: conf,
        end_on_exit,
        action,
    } = c.bridge
    else {
        return;
    };
    leave_conference(shared, sid, &conf, end_on_exit).await;
    if action.is_some() {
        dial_ended(shared, sid, "completed", None).await;
    } else {
        if let Some(c) = shared.state().calls.get_mut(sid) {
            c.bridge = Bridge::None;
        }
        end(shared, sid, "completed").await;
    }
}

/// Moves a recording on and sends its callback when the event was asked for.
pub(super) async fn recording_status(shared: &Arc<Shared>, rec_sid: &str, status: &str) {
    let (url, params) = {
        let mut state = shared.state();
        let Some(rec) = state.recordings.get_mut(rec_sid) else {
            return;
        };
        if rec.status == "completed" {
            return;
        }
        rec.status = status.to_owned();
        let Some(url) = rec
            .callback
            .clone()
            .filter(|_| rec.events.iter().any(|e| e == status))
        else {
            return;
        };
        let params = vec![
            ("AccountSid".to_owned(), shared.account_sid.clone()),
            ("CallSid".to_owned(), rec.call_sid.clone()),
            ("RecordingSid".to_owned(), rec.sid.clone()),
            (
                "RecordingUrl".to_owned(),
                format!(
                    "https://api.twilio.com/2010-04-01/Accounts/{}/Recordings/{}",
                    shared.account_sid, rec.sid
                ),
            ),
            ("RecordingStatus".to_owned(), status.to_owned()),
            (
                "RecordingDuration".to_owned(),
                if status == "completed" { "1" } else { "0" }.to_owned(),
            ),
            ("RecordingChannels".to_owned(), "2".to_owned()),
            (
                "RecordingSource".to_owned(),
                "StartCallRecordingAPI".to_owned(),
            ),
        ];
        (url, params)
    };
    post(shared, &url, params).await;
}
