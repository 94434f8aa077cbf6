//! The REST side of the fake: request validation and the documented answers.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{
    Bridge, Conference, FakeCall, ParticipantCfg, RecordedRequest, Recording, Shared, sim,
};
use crate::config::is_sid;

const CALL: &str = include_str!("../../../../testdata/twilio-shapes/call.example.json");
const PARTICIPANT: &str =
    include_str!("../../../../testdata/twilio-shapes/participant.example.json");
const RECORDING: &str = include_str!("../../../../testdata/twilio-shapes/recording.example.json");
const CONFERENCE: &str = include_str!("../../../../testdata/twilio-shapes/conference.example.json");
const PAGE: &str = include_str!("../../../../testdata/twilio-shapes/page.example.json");

const TEMPLATE_ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const TEMPLATE_CALL: &str = "CA0123456789abcdef0123456789abcdef";
const TEMPLATE_CONFERENCE: &str = "CF0123456789abcdef0123456789abcdef";
const TEMPLATE_RECORDING: &str = "RE0123456789abcdef0123456789abcdef";

const CALL_EVENTS: [&str; 4] = ["initiated", "ringing", "answered", "completed"];
const RECORDING_EVENTS: [&str; 3] = ["in-progress", "completed", "absent"];

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

struct Reply {
    status: u16,
    body: Option<Value>,
    retry_after: Option<u64>,
}

impl Reply {
    fn ok(status: u16, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
            retry_after: None,
        }
    }

    fn error(status: u16, code: i64, message: impl Into<String>) -> Self {
        Self {
            status,
            body: Some(json!({
                "code": code,
                "message": message.into(),
                "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
                "status": status,
            })),
            retry_after: None,
        }
    }

    fn not_found(path: &str) -> Self {
        Self::error(
            404,
            20404,
            format!("The requested resource {path} was not found"),
        )
    }

    fn invalid(message: impl Into<String>) -> Self {
        // Twilio's code for a parameter it cannot accept when no more specific one applies.
        Self::error(400, 21200, message)
    }
}

fn pairs(text: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(text)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn get<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn all<'a>(form: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    form.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = pairs(uri.query().unwrap_or_default().as_bytes());
    let form = if method == Method::POST {
        pairs(&body)
    } else {
        Vec::new()
    };
    let reply = route(&shared, &method, uri.path(), &query, &form, &headers);
    shared.state().requests.push(RecordedRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query,
        form,
        status: reply.status,
        at: Instant::now(),
    });
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match reply.body {
        Some(body) => (status, axum::Json(body)).into_response(),
        None => status.into_response(),
    };
    if let Some(secs) = reply.retry_after
        && let Ok(value) = header::HeaderValue::from_str(&secs.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fn authorised(shared: &Shared, headers: &HeaderMap) -> bool {
    let expected = STANDARD.encode(format!("{}:{}", shared.account_sid, shared.auth_token));
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .is_some_and(|v| v.trim() == expected)
}

fn route(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    query: &[(String, String)],
    form: &[(String, String)],
    headers: &HeaderMap,
) -> Reply {
    if !authorised(shared, headers) {
        return Reply::error(401, 20003, "Authenticate");
    }
    if let Some(failure) = shared.state().failures.pop_front() {
        let mut reply = Reply::error(failure.status, failure.code, "Injected failure");
        reply.retry_after = failure.retry_after;
        return reply;
    }
    let Some(rest) = path.strip_prefix("/2010-04-01/Accounts/") else {
        return Reply::not_found(path);
    };
    let segs: Vec<&str> = rest.split('/').collect();
    if segs.first() != Some(&shared.account_sid.as_str()) {
        return Reply::not_found(path);
    }
    let json_sid = |seg: &str, prefix: &str| {
        seg.strip_suffix(".json")
            .filter(|s| is_sid(s, prefix))
            .map(str::to_owned)
    };
    match (method.as_str(), &segs[1..]) {
        ("POST", ["Calls.json"]) => create_call(shared, form),
        ("GET", ["Calls.json"]) => list_calls(shared, query),
        ("GET", ["Calls", file]) => match json_sid(file, "CA") {
            Some(sid) => fetch_call(shared, &sid, path),
            None => Reply::not_found(path),
        },
        ("POST", ["Calls", file]) => match json_sid(file, "CA") {
            Some(sid) => update_call(shared, &sid, form, path),
            None => Reply::not_found(path),
        },
        ("POST", ["Calls", sid, "Recordings.json"]) if is_sid(sid, "CA") => {
            create_recording(shared, sid, form, path)
        }
        ("POST", ["Calls", sid, "Recordings", file]) if is_sid(sid, "CA") => {
            let rec = file.strip_suffix(".json").unwrap_or_default();
            update_recording(shared, sid, rec, form, path)
        }
        ("GET", ["Conferences.json"]) => list_conferences(shared, query),
        ("POST", ["Conferences", conf, "Participants.json"]) => {
            create_participant(shared, conf, form)
        }
        ("POST", ["Conferences", conf, "Participants", file]) => match json_sid(file, "CA") {
            Some(call) => update_participant(shared, conf, &call, form, path),
            None => Reply::not_found(path),
        },
        ("DELETE", ["Conferences", conf, "Participants", file]) => match json_sid(file, "CA") {
            Some(call) => delete_participant(shared, conf, &call, path),
            None => Reply::not_found(path),
        },
        _ => Reply::not_found(path),
    }
}

pub(super) fn now_rfc2822() -> String {
    chrono::Utc::now().to_rfc2822()
}

fn template(text: &str, replacements: &[(&str, &str)]) -> Value {
    let mut text = text.to_owned();
    for (from, to) in replacements {
        text = text.replace(from, to);
    }
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

pub(super) fn call_json(shared: &Shared, call: &FakeCall) -> Value {
    let mut v = template(
        CALL,
        &[
            (TEMPLATE_ACCOUNT, shared.account_sid.as_str()),
            (TEMPLATE_CALL, call.sid.as_str()),
        ],
    );
    v["parent_call_sid"] = call.parent.clone().map_or(Value::Null, Value::String);
    v["to"] = json!(call.to);
    v["to_formatted"] = json!(call.to);
    v["from"] = json!(call.from);
    v["from_formatted"] = json!(call.from);
    v["status"] = json!(call.status);
    v["direction"] = json!(call.direction);
    v["date_created"] = json!(call.created);
    v["date_updated"] = json!(now_rfc2822());
    v["start_time"] = if call.status == "queued" {
        Value::Null
    } else {
        json!(call.created)
    };
    v
}

fn participant_json(shared: &Shared, call: &FakeCall, cfg: &ParticipantCfg, status: &str) -> Value {
    let mut v = template(
        PARTICIPANT,
        &[
            (TEMPLATE_ACCOUNT, shared.account_sid.as_str()),
            (TEMPLATE_CALL, call.sid.as_str()),
            (TEMPLATE_CONFERENCE, cfg.conference.as_str()),
        ],
    );
    v["label"] = cfg.label.clone().map_or(Value::Null, Value::String);
    v["end_conference_on_exit"] = json!(cfg.end_on_exit);
    v["hold"] = json!(cfg.hold);
    v["muted"] = json!(cfg.muted);
    v["status"] = json!(status);
    v
}

fn recording_json(shared: &Shared, rec: &Recording) -> Value {
    let mut v = template(
        RECORDING,
        &[
            (TEMPLATE_ACCOUNT, shared.account_sid.as_str()),
            (TEMPLATE_CALL, rec.call_sid.as_str()),
            (TEMPLATE_RECORDING, rec.sid.as_str()),
        ],
    );
    v["status"] = json!(rec.status);
    v
}

fn conference_json(shared: &Shared, conf: &Conference) -> Value {
    let mut v = template(
        CONFERENCE,
        &[
            (TEMPLATE_ACCOUNT, shared.account_sid.as_str()),
            (TEMPLATE_CONFERENCE, conf.sid.as_str()),
        ],
    );
    v["friendly_name"] = json!(conf.friendly_name);
    v["status"] = json!(conf.status);
    v
}

fn page(list_name: &str, items: Vec<Value>) -> Value {
    let mut v = template(PAGE, &[]);
    v["end"] = json!(items.len().saturating_sub(1));
    v[list_name] = Value::Array(items);
    v
}

fn check_method(form: &[(String, String)], name: &str) -> Result<(), Reply> {
    match get(form, name) {
        None | Some("GET" | "POST") => Ok(()),
        Some(other) => Err(Reply::invalid(format!(
            "{name} must be GET or POST, not {other}"
        ))),
    }
}

fn check_url(form: &[(String, String)], name: &str) -> Result<(), Reply> {
    match get(form, name) {
        Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => Err(
            Reply::error(400, 21205, format!("{name} is not a valid URL: {url}")),
        ),
        _ => Ok(()),
    }
}

fn check_bool(form: &[(String, String)], name: &str) -> Result<Option<bool>, Reply> {
    match get(form, name) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => Err(Reply::invalid(format!(
            "{name} must be true or false, not {other}"
        ))),
    }
}

/// Array values: repeated keys, or (`space_separated`) one value holding several.
fn events(
    form: &[(String, String)],
    name: &str,
    allowed: &[&str],
    space_separated: bool,
) -> Result<Vec<String>, Reply> {
    let mut out = Vec::new();
    for value in all(form, name) {
        let parts: Vec<&str> = if space_separated {
            value.split_whitespace().collect()
        } else {
            vec![value]
        };
        for part in parts {
            if !allowed.contains(&part) {
                return Err(Reply::invalid(format!(
                    "{name} value {part:?} is not one of {allowed:?} (the Calls API takes one event per parameter)"
                )));
            }
            out.push(part.to_owned());
        }
    }
    Ok(out)
}

fn pace(shared: &Shared) -> Result<(), Reply> {
    let mut state = shared.state();
    let now = Instant::now();
    if let (Some(cps), Some(last)) = (state.cps_limit, state.last_create) {
        let min_gap = std::time::Duration::from_secs_f64(0.5 / cps);
        if now.saturating_duration_since(last) < min_gap {
            let mut reply = Reply::error(429, 20429, "Too Many Requests");
            reply.retry_after = Some(1);
            return Err(reply);
        }
    }
    state.last_create = Some(now);
    Ok(())
}

fn create_call(shared: &Arc<Shared>, form: &[(String, String)]) -> Reply {
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

fn fetch_call(shared: &Shared, sid: &str, path: &str) -> Reply {
    let state = shared.state();
    match state.calls.get(sid) {
        Some(call) => Reply::ok(200, call_json(shared, call)),
        None => Reply::not_found(path),
    }
}

fn list_calls(shared: &Shared, query: &[(String, String)]) -> Reply {
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

fn update_call(shared: &Arc<Shared>, sid: &str, form: &[(String, String)], path: &str) -> Reply {
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

fn create_recording(
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

fn update_recording(
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

fn list_conferences(shared: &Shared, query: &[(String, String)]) -> Reply {
    let name = get(query, "FriendlyName");
    let status = get(query, "Status");
    let state = shared.state();
    let items = state
        .conferences
        .values()
        .filter(|c| name.is_none_or(|n| c.friendly_name == n))
        .filter(|c| status.is_none_or(|s| c.status == s))
        .map(|c| conference_json(shared, c))
        .collect();
    Reply::ok(200, page("conferences", items))
}

/// The conference a path segment names: a `CF` SID, or (CreateParticipant only) a friendly name.
fn conference_sid(shared: &Shared, segment: &str, create: bool) -> Option<String> {
    let mut state = shared.state();
    if is_sid(segment, "CF") {
        return state
            .conferences
            .contains_key(segment)
            .then(|| segment.to_owned());
    }
    if let Some(conf) = state
        .conferences
        .values()
        .find(|c| c.friendly_name == segment && c.status != "completed")
    {
        return Some(conf.sid.clone());
    }
    if !create {
        return None;
    }
    let sid = shared.new_sid("CF");
    state.conferences.insert(
        sid.clone(),
        Conference {
            sid: sid.clone(),
            friendly_name: segment.to_owned(),
            status: "init".to_owned(),
            status_callback: None,
            events: Vec::new(),
            participants: Vec::new(),
            seq: 0,
        },
    );
    Some(sid)
}

fn create_participant(shared: &Arc<Shared>, conference: &str, form: &[(String, String)]) -> Reply {
    let Some(to) = get(form, "To") else {
        return Reply::error(400, 21201, "No 'To' number is specified");
    };
    let Some(from) = get(form, "From") else {
        return Reply::error(400, 21213, "No 'From' number is specified");
    };
    for check in [
        check_url(form, "StatusCallback"),
        check_method(form, "StatusCallbackMethod"),
    ] {
        if let Err(reply) = check {
            return reply;
        }
    }
    let events = match events(form, "StatusCallbackEvent", &CALL_EVENTS, true) {
        Ok(e) => e,
        Err(reply) => return reply,
    };
    let end_on_exit = match check_bool(form, "EndConferenceOnExit") {
        Ok(v) => v.unwrap_or(false),
        Err(reply) => return reply,
    };
    let muted = match check_bool(form, "Muted") {
        Ok(v) => v.unwrap_or(false),
        Err(reply) => return reply,
    };
    if let Err(reply) = pace(shared) {
        return reply;
    }
    let Some(conf_sid) = conference_sid(shared, conference, true) else {
        return Reply::not_found(conference);
    };
    let cfg = ParticipantCfg {
        conference: conf_sid,
        label: get(form, "Label").map(str::to_owned),
        end_on_exit,
        hold: false,
        muted,
    };
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
        url: None,
        twiml: None,
        timeout_answered_at: None,
        seq: 0,
        bridge: Bridge::None,
        amd: get(form, "MachineDetection").map(|m| {
            (
                m.to_owned(),
                get(form, "AmdStatusCallback").map(str::to_owned),
            )
        }),
        participant: Some(cfg.clone()),
        created: now_rfc2822(),
    };
    let body = participant_json(shared, &call, &cfg, "queued");
    shared.state().calls.insert(sid.clone(), call);
    sim::spawn(shared, move |shared| async move {
        sim::participant(&shared, &sid).await;
    });
    Reply::ok(201, body)
}

fn update_participant(
    shared: &Arc<Shared>,
    conference: &str,
    call_sid: &str,
    form: &[(String, String)],
    path: &str,
) -> Reply {
    let Some(conf_sid) = conference_sid(shared, conference, false) else {
        return Reply::not_found(path);
    };
    let (hold, muted, end) = match (
        check_bool(form, "Hold"),
        check_bool(form, "Muted"),
        check_bool(form, "EndConferenceOnExit"),
    ) {
        (Ok(h), Ok(m), Ok(e)) => (h, m, e),
        (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r,
    };
    let (call, cfg) = {
        let mut state = shared.state();
        let in_conf = state
            .conferences
            .get(&conf_sid)
            .is_some_and(|c| c.participants.iter().any(|p| p == call_sid));
        let Some(call) = state.calls.get_mut(call_sid).filter(|_| in_conf) else {
            return Reply::not_found(path);
        };
        let cfg = call.participant.get_or_insert_with(|| ParticipantCfg {
            conference: conf_sid.clone(),
            label: None,
            end_on_exit: false,
            hold: false,
            muted: false,
        });
        let mut changes = Vec::new();
        if let Some(h) = hold.filter(|h| *h != cfg.hold) {
            cfg.hold = h;
            changes.push(if h {
                "participant-hold"
            } else {
                "participant-unhold"
            });
        }
        if let Some(m) = muted.filter(|m| *m != cfg.muted) {
            cfg.muted = m;
            changes.push(if m {
                "participant-mute"
            } else {
                "participant-unmute"
            });
        }
        if let Some(e) = end {
            cfg.end_on_exit = e;
            if let Bridge::Conference { end_on_exit, .. } = &mut call.bridge {
                *end_on_exit = e;
            }
        }
        let cfg = cfg.clone();
        let call = call.clone();
        for change in changes {
            let conf = conf_sid.clone();
            let sid = call_sid.to_owned();
            sim::spawn(shared, move |shared| async move {
                sim::conference_event(&shared, &conf, change, Some(&sid)).await;
            });
        }
        (call, cfg)
    };
    Reply::ok(200, participant_json(shared, &call, &cfg, "connected"))
}

fn delete_participant(shared: &Arc<Shared>, conference: &str, call_sid: &str, path: &str) -> Reply {
    let Some(conf_sid) = conference_sid(shared, conference, false) else {
        return Reply::not_found(path);
    };
    let present = shared
        .state()
        .conferences
        .get(&conf_sid)
        .is_some_and(|c| c.participants.iter().any(|p| p == call_sid));
    if !present {
        return Reply::not_found(path);
    }
    let sid = call_sid.to_owned();
    sim::spawn(shared, move |shared| async move {
        sim::kick(&shared, &sid).await;
    });
    Reply {
        status: 204,
        body: None,
        retry_after: None,
    }
}
