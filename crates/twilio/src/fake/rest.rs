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

use super::{Conference, FakeCall, ParticipantCfg, RecordedRequest, Recording, Shared};
use crate::config::is_sid;

mod calls;
mod conferences;

use calls::{create_call, create_recording, fetch_call, list_calls, update_call, update_recording};
use conferences::{create_participant, delete_participant, list_conferences, update_participant};

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
