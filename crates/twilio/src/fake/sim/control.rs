//! What REST requests cause on live calls: hang up, redirect, kick a participant, and
//! recording status changes; and the party hanging up on its own.

use std::sync::Arc;

use crate::fake::{Bridge, Shared};

use super::{call, dial_ended, end, leave_conference, post, run_call_document};

/// UpdateCall Status=completed / canceled.
pub(in crate::fake) async fn hangup(shared: &Arc<Shared>, sid: &str, cancel: bool) {
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
pub(in crate::fake) async fn remote_hangup(shared: &Arc<Shared>, sid: &str) {
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
pub(in crate::fake) async fn redirect(
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
pub(in crate::fake) async fn kick(shared: &Arc<Shared>, sid: &str) {
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
pub(in crate::fake) async fn recording_status(shared: &Arc<Shared>, rec_sid: &str, status: &str) {
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
