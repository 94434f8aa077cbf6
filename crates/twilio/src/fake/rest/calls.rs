//! The fake's Calls and Recordings resources: create, fetch, list and update.

use std::sync::Arc;

use crate::fake::{Bridge, FakeCall, Recording, Shared, sim};

use super::{
    CALL_EVENTS, RECORDING_EVENTS, Reply, call_json, check_method, check_url, events, get,
    now_rfc2822, pace, page, recording_json,
};

pub(super) fn create_call(shared: &Arc<Shared>, form: &[(String, String)]) -> Reply {
    let Some(to) = get(form, "To") else {
        return Reply::error(400, 21201, "No 'To' number is specified");
    };
    let Some(from) = get(form, "From") else {
        return Reply::error(400, 21213, "No 'From' number is specified");
    };
    let url = get(form, "Url");
    let twiml = get(form, "Twiml");
    if url.is_none() && twiml.is_none() && get(form, "ApplicationSid").is_none() {
        return Reply::error(400, 21205, "Url, Twiml or ApplicationSid is required");
    }
    if twiml.is_some_and(|t| t.chars().count() > 4000) {
        return Reply::invalid("Twiml is longer than 4000 characters");
    }
    for check in [
        check_method(form, "Method"),
        check_method(form, "StatusCallbackMethod"),
        check_url(form, "Url"),
        check_url(form, "StatusCallback"),
    ] {
        if let Err(reply) = check {
            return reply;
        }
    }
    if let Some(timeout) = get(form, "Timeout")
        && !timeout.parse::<u32>().is_ok_and(|t| (1..=600).contains(&t))
    {
        return Reply::invalid("Timeout must be an integer from 1 to 600");
    }
    let events = match events(form, "StatusCallbackEvent", &CALL_EVENTS, false) {
        Ok(e) => e,
        Err(reply) => return reply,
    };
    if let Err(reply) = pace(shared) {
        return reply;
    }
    let sid = shared.new_sid("CA");
    let call = FakeCall {
        sid: sid.clone(),
        parent: None,
        to: to.to_owned(),
        from: from.to_owned(),
        status: "queued".to_owned(),
        direction: "outbound-api".to_owned(),
        played_digits: Vec::new(),
        redirects: Vec::new(),
        status_callback: get(form, "StatusCallback").map(str::to_owned),
        events,
        url: url.map(str::to_owned),
        // Twilio ignores Twiml when Url is given.
        twiml: if url.is_some() {
            None
        } else {
            twiml.map(str::to_owned)
        },
        timeout_answered_at: None,
        seq: 0,
        bridge: Bridge::None,
        amd: get(form, "MachineDetection").map(|m| {
            (
                m.to_owned(),
                get(form, "AsyncAmdStatusCallback").map(str::to_owned),
            )
        }),
        participant: None,
        created: now_rfc2822(),
    };
    let body = call_json(shared, &call);
    shared.state().calls.insert(sid.clone(), call);
    sim::spawn(shared, move |shared| async move {
        sim::outbound(&shared, &sid).await;
    });
    Reply::ok(201, body)
}

pub(super) fn fetch_call(shared: &Shared, sid: &str, path: &str) -> Reply {
    let state = shared.state();
    match state.calls.get(sid) {
        Some(call) => Reply::ok(200, call_json(shared, call)),
        None => Reply::not_found(path),
    }
}

pub(super) fn list_calls(shared: &Shared, query: &[(String, String)]) -> Reply {
    let status = get(query, "Status");
    let state = shared.state();
    let mut calls: Vec<&FakeCall> = state
        .calls
        .values()
        .filter(|c| status.is_none_or(|s| c.status == s))
        .collect();
    calls.sort_by(|a, b| a.created.cmp(&b.created));
    let items = calls.into_iter().map(|c| call_json(shared, c)).collect();
    Reply::ok(200, page("calls", items))
}

pub(super) fn update_call(
    shared: &Arc<Shared>,
    sid: &str,
    form: &[(String, String)],
    path: &str,
) -> Reply {
    let Some(call) = shared.state().calls.get(sid).cloned() else {
        return Reply::not_found(path);
    };
    let status = get(form, "Status");
    let url = get(form, "Url");
    let twiml = get(form, "Twiml");
    if url.is_some() && twiml.is_some() {
        return Reply::invalid("Url and Twiml are mutually exclusive");
    }
    if twiml.is_some_and(|t| t.chars().count() > 4000) {
        return Reply::invalid("Twiml is longer than 4000 characters");
    }
    if let Err(reply) = check_url(form, "Url") {
        return reply;
    }
    let live = matches!(call.status.as_str(), "queued" | "ringing" | "in-progress");
    match status {
        None => {}
        Some("completed" | "canceled") if !live => {}
        Some("completed") => {
            let sid = sid.to_owned();
            sim::spawn(shared, move |shared| async move {
                sim::hangup(&shared, &sid, false).await;
            });
        }
        // Canceling an answered call does nothing, as on Twilio.
        Some("canceled") if call.status == "in-progress" => {}
        Some("canceled") => {
            let sid = sid.to_owned();
            sim::spawn(shared, move |shared| async move {
                sim::hangup(&shared, &sid, true).await;
            });
        }
        Some(other) => {
            return Reply::invalid(format!("Status must be completed or canceled, not {other}"));
        }
    }
    if url.is_some() || twiml.is_some() {
        if call.status != "in-progress" {
            return Reply::error(400, 21220, "Call is not in-progress. Cannot redirect.");
        }
        let sid = sid.to_owned();
        let url = url.map(str::to_owned);
        let twiml = twiml.map(str::to_owned);
        sim::spawn(shared, move |shared| async move {
            sim::redirect(&shared, &sid, url, twiml).await;
        });
    }
    Reply::ok(200, call_json(shared, &call))
}

pub(super) fn create_recording(
    shared: &Arc<Shared>,
    call_sid: &str,
    form: &[(String, String)],
    path: &str,
) -> Reply {
    let Some(call) = shared.state().calls.get(call_sid).cloned() else {
        return Reply::not_found(path);
    };
    if call.status != "in-progress" {
        return Reply::error(
            400,
            21220,
            "Requested resource is not eligible for recording",
        );
    }
    if let Err(reply) = check_url(form, "RecordingStatusCallback") {
        return reply;
    }
    let events = match events(
        form,
        "RecordingStatusCallbackEvent",
        &RECORDING_EVENTS,
        true,
    ) {
        Ok(e) if e.is_empty() => vec!["completed".to_owned()],
        Ok(e) => e,
        Err(reply) => return reply,
    };
    let rec = Recording {
        sid: shared.new_sid("RE"),
        call_sid: call_sid.to_owned(),
        status: "in-progress".to_owned(),
        callback: get(form, "RecordingStatusCallback").map(str::to_owned),
        events,
    };
    let body = recording_json(shared, &rec);
    let rec_sid = rec.sid.clone();
    shared.state().recordings.insert(rec.sid.clone(), rec);
    sim::spawn(shared, move |shared| async move {
        sim::recording_status(&shared, &rec_sid, "in-progress").await;
    });
    Reply::ok(201, body)
}

pub(super) fn update_recording(
    shared: &Arc<Shared>,
    call_sid: &str,
    rec_sid: &str,
    form: &[(String, String)],
    path: &str,
) -> Reply {
    let Some(status) = get(form, "Status") else {
        return Reply::invalid("Status is required");
    };
    if !matches!(status, "paused" | "in-progress" | "stopped") {
        return Reply::invalid(format!(
            "Status {status} is not paused, in-progress or stopped"
        ));
    }
    let body = {
        let mut state = shared.state();
        let found = if rec_sid == "Twilio.CURRENT" {
            state.recordings.values_mut().find(|r| {
                r.call_sid == call_sid && matches!(r.status.as_str(), "in-progress" | "paused")
            })
        } else {
            state
                .recordings
                .get_mut(rec_sid)
                .filter(|r| r.call_sid == call_sid)
        };
        let Some(rec) = found else {
            return Reply::not_found(path);
        };
        if matches!(rec.status.as_str(), "stopped" | "completed") {
            return Reply::invalid("The recording is already stopped");
        }
        rec.status = status.to_owned();
        let rec = rec.clone();
        drop(state);
        if status == "stopped" {
            let sid = rec.sid.clone();
            sim::spawn(shared, move |shared| async move {
                sim::recording_status(&shared, &sid, "completed").await;
            });
        }
        recording_json(shared, &rec)
    };
    Reply::ok(200, body)
}
