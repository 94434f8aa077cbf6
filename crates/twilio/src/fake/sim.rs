//! The fake's call simulation: what Twilio does between the REST requests, including the
//! signed callbacks it sends. Every step runs on one worker, in the order it was caused.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::time::Instant;

use super::twiml_read::parse;
use super::{Behaviour, FakeCall, SentCallback, Shared};
use crate::signature::{SIGNATURE_HEADER, compute_signature};

mod conference;
mod control;
mod dial;

pub(super) use conference::conference_event;
use conference::{join_conference, leave_conference};
pub(super) use control::{hangup, kick, recording_status, redirect, remote_hangup};
use dial::{dial, dial_ended, end};

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
