//! `<Dial>`: ringing the dialled party, the dial's end and its action URL, ending legs.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::fake::twiml_read::Node;
use crate::fake::{Bridge, FakeCall, Recording, Shared};

use super::conference::ConferenceJoin;
use super::{
    Outcome, base_params, call, conference_events, duration_secs, is_final, join_conference,
    leave_conference, post, progress, recording_status, run_twiml, set_status,
};

pub(super) async fn dial(shared: &Arc<Shared>, parent: &str, node: &Node) {
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
        created: crate::fake::rest::now_rfc2822(),
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
pub(super) fn dial_ended<'a>(
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
pub(super) fn end<'a>(
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
