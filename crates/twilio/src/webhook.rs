//! The webhooks Twilio calls: voice TwiML, `<Dial>` actions, call status, AMD, recording and
//! conference callbacks. Every request is checked before anything in it is interpreted: a
//! missing, forged or tampered `X-Twilio-Signature`, a JSON body that does not match its
//! `bodySHA256`, or a replay of a request already seen gets 403.
//!
//! One router serves every account: a callback goes to the account its `AccountSid` names
//! (and is verified with that account's auth token); an `AccountSid` no account has gets 403.
//! A genuine callback about a call id the account did not place (or no longer remembers) is
//! acknowledged and ignored: it would start a call record that nothing ever ends.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::Utc;
use hookflash_provider::{CallId, LegRole};
use tokio::time::Instant;

use crate::config::is_sid;
use crate::error::TwilioError;
use crate::provider::{WebhookState, lock};
use crate::registry::Params;
use crate::signature::{SIGNATURE_HEADER, validate_form, validate_json};
use crate::twiml::{self, Element};
use crate::urls::{DialPlan, parse_role};

/// Largest webhook body accepted; Twilio's callbacks are a few hundred bytes.
const MAX_BODY: usize = 64 * 1024;

/// The webhook routes, all under `/twilio/`, for the api-server to merge at its root (the paths
/// must match the URLs built from [`crate::TwilioConfig::public_base_url`]).
///
/// - `POST /twilio/voice/{call_id}`: TwiML for the agent's answered leg.
/// - `POST /twilio/dial-action/{call_id}`: the end of a `<Dial>`; answers `<Hangup/>`.
/// - `POST /twilio/status/{call_id}?leg=agent|customer|target`: call progress.
/// - `POST /twilio/amd/{call_id}`: answering-machine detection result.
/// - `POST /twilio/recording/{call_id}`: recording status.
/// - `POST /twilio/conference/{call_id}`: conference join/leave/hold/mute.
pub fn webhook_router(state: WebhookState) -> Router {
    webhook_router_for([state])
}

/// The webhook routes of several accounts (as [`webhook_router`]): each callback is handled by
/// the account its `AccountSid` parameter names. With a single account, a callback without
/// `AccountSid` goes to it (still verified with its token).
pub fn webhook_router_for(states: impl IntoIterator<Item = WebhookState>) -> Router {
    let accounts: HashMap<String, WebhookState> = states
        .into_iter()
        .map(|s| (s.inner.config.account_sid.clone(), s))
        .collect();
    Router::new()
        .route("/twilio/voice/{call_id}", post(voice))
        .route("/twilio/dial-action/{call_id}", post(dial_action))
        .route("/twilio/status/{call_id}", post(status))
        .route("/twilio/amd/{call_id}", post(amd))
        .route("/twilio/recording/{call_id}", post(recording))
        .route("/twilio/conference/{call_id}", post(conference))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(Accounts(Arc::new(accounts)))
}

/// The router's state: every account's webhook state, by account SID.
#[derive(Clone)]
struct Accounts(Arc<HashMap<String, WebhookState>>);

impl Accounts {
    /// The account a callback belongs to, by its (not yet verified) `AccountSid`: verification
    /// with that account's token follows, so a wrong claim only gets the request refused.
    fn pick(&self, headers: &HeaderMap, body: &[u8]) -> Result<&WebhookState, TwilioError> {
        let params = if is_json(headers) {
            json_params(body)
        } else {
            Params::parse(body)
        };
        match params.get("AccountSid") {
            Some(sid) => self.0.get(sid).ok_or(TwilioError::UnknownAccount),
            None if self.0.len() == 1 => self.0.values().next().ok_or(TwilioError::UnknownAccount),
            None => Err(TwilioError::UnknownAccount),
        }
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().starts_with("application/json"))
}

/// Picks the account and verifies the request with its token.
fn accept<'a>(
    accounts: &'a Accounts,
    uri: &OriginalUri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(&'a WebhookState, Params), TwilioError> {
    let state = accounts.pick(headers, body)?;
    let params = verify(state, uri, headers, body)?;
    Ok((state, params))
}

/// The call id of a call this account placed and still remembers.
fn known_call(state: &WebhookState, call_id: &str) -> Option<CallId> {
    let id = CallId::from_str(call_id).ok()?;
    if state.inner.registry().call(id).is_some() {
        Some(id)
    } else {
        tracing::warn!(%call_id, "ignored a Twilio callback for a call this account did not place");
        None
    }
}

/// Checks signature and replay; returns the parameters only for a genuine, new request.
fn verify(
    state: &WebhookState,
    uri: &OriginalUri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Params, TwilioError> {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or(TwilioError::SignatureMissing)?;
    let inner = &state.inner;
    let path_and_query = uri
        .0
        .path_and_query()
        .map_or_else(|| uri.0.path().to_owned(), |pq| pq.as_str().to_owned());
    let url = format!(
        "{}{path_and_query}",
        inner.config.public_base_url.trim_end_matches('/')
    );
    let params = if is_json(headers) {
        validate_json(&inner.config.auth_token, &url, body, signature)?;
        json_params(body)
    } else {
        let params = Params::parse(body);
        validate_form(&inner.config.auth_token, &url, &params.0, signature)?;
        params
    };
    let field = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| params.get(n))
            .unwrap_or_default()
            .to_owned()
    };
    let key = (
        signature.to_owned(),
        field(&["CallSid"]),
        field(&[
            "CallStatus",
            "RecordingStatus",
            "StatusCallbackEvent",
            "AnsweredBy",
            "DialCallStatus",
        ]),
        field(&["SequenceNumber", "Timestamp"]),
    );
    if !lock(&inner.replay).check(key, Instant::now()) {
        return Err(TwilioError::Replayed);
    }
    Ok(params)
}

/// A flat JSON object's string and number fields as parameters.
fn json_params(body: &[u8]) -> Params {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(body) else {
        return Params::default();
    };
    Params(
        map.into_iter()
            .filter_map(|(k, v)| match v {
                serde_json::Value::String(s) => Some((k, s)),
                serde_json::Value::Number(n) => Some((k, n.to_string())),
                serde_json::Value::Bool(b) => Some((k, b.to_string())),
                _ => None,
            })
            .collect(),
    )
}

fn forbidden(err: &TwilioError) -> Response {
    tracing::warn!(error = %err, "refused a Twilio webhook");
    (StatusCode::FORBIDDEN, "forbidden\n").into_response()
}

fn xml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

fn query_param(uri: &OriginalUri, name: &str) -> Option<String> {
    form_urlencoded::parse(uri.0.query().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn hangup_twiml() -> Response {
    xml(twiml::response([Element::new("Hangup")]))
}

async fn voice(
    State(accounts): State<Accounts>,
    uri: OriginalUri,
    Path(call_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (state, params) = match accept(&accounts, &uri, &headers, &body) {
        Ok(p) => p,
        Err(err) => return forbidden(&err),
    };
    let plan = DialPlan::from_query(uri.0.query().unwrap_or_default());
    let (Some(call_id), Some(plan)) = (known_call(state, &call_id), plan) else {
        tracing::warn!(%call_id, "voice webhook without a usable call id or dial plan");
        return hangup_twiml();
    };
    let inner = &state.inner;
    let events = inner
        .registry()
        .status_callback(call_id, LegRole::Agent, &params, Utc::now());
    inner.publish(events);
    let body = inner.agent_twiml(call_id, &plan);
    if plan.bridge == crate::BridgeMode::Conference {
        let inner = std::sync::Arc::clone(inner);
        let agent = params.get("CallSid").map(str::to_owned);
        tokio::spawn(async move {
            let _ = inner.add_customer(call_id, agent.as_deref(), &plan).await;
        });
    }
    xml(body)
}

async fn dial_action(
    State(accounts): State<Accounts>,
    uri: OriginalUri,
    Path(call_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (state, params) = match accept(&accounts, &uri, &headers, &body) {
        Ok(p) => p,
        Err(err) => return forbidden(&err),
    };
    if let Some(call_id) = known_call(state, &call_id) {
        let events = state
            .inner
            .registry()
            .dial_action(call_id, &params, Utc::now());
        state.inner.publish(events);
    }
    hangup_twiml()
}

async fn status(
    State(accounts): State<Accounts>,
    uri: OriginalUri,
    Path(call_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (state, params) = match accept(&accounts, &uri, &headers, &body) {
        Ok(p) => p,
        Err(err) => return forbidden(&err),
    };
    let Some(call_id) = known_call(state, &call_id) else {
        return StatusCode::NO_CONTENT.into_response();
    };
    let role = query_param(&uri, "leg").map_or(LegRole::SecondAgent, |r| parse_role(&r));
    let events = state
        .inner
        .registry()
        .status_callback(call_id, role, &params, Utc::now());
    state.inner.publish(events);
    let unanswered = matches!(
        params.get("CallStatus"),
        Some("busy" | "no-answer" | "failed" | "canceled")
    );
    if let Some(agent) = query_param(&uri, "agent").filter(|a| unanswered && is_sid(a, "CA")) {
        let inner = std::sync::Arc::clone(&state.inner);
        tokio::spawn(async move { inner.end_lonely_agent(&agent).await });
    }
    StatusCode::NO_CONTENT.into_response()
}

type Translate = fn(
    &mut crate::registry::TwilioTranslator,
    CallId,
    &Params,
    chrono::DateTime<Utc>,
) -> Vec<hookflash_provider::LegEvent>;

fn simple(
    accounts: &Accounts,
    uri: &OriginalUri,
    call_id: &str,
    headers: &HeaderMap,
    body: &[u8],
    translate: Translate,
) -> Response {
    let (state, params) = match accept(accounts, uri, headers, body) {
        Ok(p) => p,
        Err(err) => return forbidden(&err),
    };
    if let Some(call_id) = known_call(state, call_id) {
        let events = translate(&mut state.inner.registry(), call_id, &params, Utc::now());
        state.inner.publish(events);
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn amd(
    State(accounts): State<Accounts>,
    uri: OriginalUri,
    Path(call_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    simple(
        &accounts,
        &uri,
        &call_id,
        &headers,
        &body,
        crate::registry::TwilioTranslator::amd_callback,
    )
}

async fn recording(
    State(accounts): State<Accounts>,
    uri: OriginalUri,
    Path(call_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    simple(
        &accounts,
        &uri,
        &call_id,
        &headers,
        &body,
        crate::registry::TwilioTranslator::recording_callback,
    )
}

async fn conference(
    State(accounts): State<Accounts>,
    uri: OriginalUri,
    Path(call_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    simple(
        &accounts,
        &uri,
        &call_id,
        &headers,
        &body,
        crate::registry::TwilioTranslator::conference_callback,
    )
}
