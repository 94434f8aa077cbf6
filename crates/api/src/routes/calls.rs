//! Calls: originate, list, detail, and the in-call controls (hang up, hold, mute, record,
//! DTMF, park, disposition). Every path also exists under `/api/v1/users/me/calls` for the
//! caller's own calls.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use chrono::{DateTime, Utc};
use hookflash_provider::{LegId, ProviderError};
use hookflash_store::{CallCursor, CallFilter, CallRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody, Result};
use crate::extract::{ApiJson, ApiQuery};
use crate::phone::{normalize_e164_with, reject_crlf};
use crate::routes::scope::{load_call, my_agent, own_only};
use crate::state::{AppState, ServerEntry};

mod actions;
mod create;

pub(crate) use actions::{
    __path_hangup_call, __path_hold_start, __path_hold_stop, __path_mute_start, __path_mute_stop,
    __path_park_call, __path_send_dtmf, hangup_call, hold_start, hold_stop, mute_start, mute_stop,
    park_call, send_dtmf,
};
pub(crate) use create::{__path_create_call, create_call};

/// `POST /api/v1/calls`: a click-to-call (agent first, then the customer).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCall {
    /// The agent: its id or its endpoint (`PJSIP/1001`). An agent caller may omit it (themself).
    #[serde(default)]
    pub agent: Option<String>,
    /// The customer's number (any form; normalised to E.164).
    pub number: String,
    /// The caller id shown to the customer (E.164).
    #[serde(default)]
    pub caller_id: Option<String>,
    /// A DID of the tenant to present as caller id.
    #[serde(default)]
    pub did: Option<String>,
    /// The campaign this call belongs to.
    #[serde(default)]
    pub campaign_id: Option<String>,
    /// The contact being called.
    #[serde(default)]
    pub contact_id: Option<String>,
    /// Channel variables: only the names the server's `[variables]` configuration allows this
    /// tenant (none by default); names are letters, digits and `_` starting with a letter,
    /// values at most 1024 bytes without control characters, `,`, `"` or `\`.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// Record the call.
    #[serde(default)]
    pub record: bool,
    /// The server to place it on (default: the first configured).
    #[serde(default)]
    pub server: Option<String>,
}

/// The answer to `POST /api/v1/calls`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CallAccepted {
    /// The new call's id (events about it carry the same id).
    pub call_id: String,
    /// `created`; `pending` when the provider could not confirm the request in time (it may
    /// still ring: the call's events decide, and the record shows it).
    pub state: String,
}

pub use crate::views::{CallDetailView, CallPage, CallView, EventView, LegView};

/// Filters of `GET /api/v1/calls`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListCalls {
    /// State.
    pub state: Option<String>,
    /// `inbound` / `outbound`.
    pub direction: Option<String>,
    /// Agent id.
    pub agent: Option<String>,
    /// Campaign id.
    pub campaign: Option<String>,
    /// A number (from, to or DID); normalised to E.164.
    pub number: Option<String>,
    /// Disposition.
    pub disposition: Option<String>,
    /// Created at or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Created before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Page size (1..=500, default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Which party of the call an action addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartySel {
    /// The agent's leg.
    Agent,
    /// The customer's leg.
    Customer,
}

/// Body of hold and park actions (optional).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartyBody {
    /// Default: the customer.
    #[serde(default)]
    pub party: Option<PartySel>,
}

/// Body of mute actions.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MuteBody {
    /// `in` (what the party says), `out` (what they hear) or `both` (default).
    #[serde(default)]
    pub direction: Option<String>,
    /// Default: the agent.
    #[serde(default)]
    pub party: Option<PartySel>,
}

/// Body of `POST .../dtmf`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DtmfBody {
    /// Digits `0-9 * # A-D`, at most 32.
    pub digits: String,
    /// Default: the customer's leg.
    #[serde(default)]
    pub party: Option<PartySel>,
}

/// Body of `POST .../park`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParkBody {
    /// Parking lot.
    #[serde(default)]
    pub lot: Option<String>,
    /// Seconds before the call comes back.
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

/// Body of `PUT .../disposition`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispositionBody {
    /// Wrap-up code.
    pub code: String,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
}

/// The answer to an accepted action: its result comes later as events.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ActionAccepted {
    /// The call.
    pub call_id: String,
    /// What was requested.
    pub action: String,
    /// For the `record/*` actions: our id of the recording (see
    /// `GET /api/v1/calls/{id}/recordings`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording: Option<String>,
}

fn accepted(row: &CallRow, action: &str) -> (StatusCode, Json<ActionAccepted>) {
    (
        StatusCode::ACCEPTED,
        Json(ActionAccepted {
            call_id: row.id.to_string(),
            action: action.to_owned(),
            recording: None,
        }),
    )
}

/// Text that goes into an AMI/ARI field: no CR/LF, bounded, a safe charset.
pub(crate) fn safe_token(field: &str, value: &str, max: usize) -> Result<()> {
    reject_crlf(field, value)?;
    if value.is_empty() || value.len() > max {
        return Err(ApiError::validation(
            field,
            format!("must be 1 to {max} characters"),
        ));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "+*#@._-/:".contains(c))
    {
        return Err(ApiError::validation(
            field,
            "contains characters not allowed",
        ));
    }
    Ok(())
}

fn ensure_connected(entry: &ServerEntry) -> Result<()> {
    if entry.probe.connected() == Some(false) {
        return Err(ApiError::ProviderUnavailable {
            server: entry.name.clone(),
        });
    }
    Ok(())
}

/// Maps a provider's "not connected" to a 503 naming the configured server.
pub(crate) fn provider_err(entry: &ServerEntry, e: ProviderError) -> ApiError {
    match e {
        ProviderError::NotConnected { .. } => ApiError::ProviderUnavailable {
            server: entry.name.clone(),
        },
        other => ApiError::Provider(other),
    }
}

/// Lists the tenant's calls (an agent: their own), newest first, with cursor pagination.
#[utoipa::path(get, path = "/api/v1/calls", tag = "calls", params(ListCalls),
    responses((status = 200, body = CallPage), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list_calls(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    ApiQuery(q): ApiQuery<ListCalls>,
) -> Result<Json<CallPage>> {
    let region = state.settings().default_region.clone();
    let validation = state.settings().phone_validation;
    let mut filter = CallFilter {
        state: q.state,
        disposition: q.disposition,
        direction: q.direction,
        agent_id: q.agent,
        campaign_id: q.campaign,
        number: q
            .number
            .as_deref()
            .map(|n| normalize_e164_with("number", n, &region, validation))
            .transpose()?,
        since: q.from,
        until: q.to,
    };
    if own_only(&caller, &uri) {
        let Some(me) = my_agent(&state, &caller).await? else {
            return Ok(Json(CallPage {
                items: Vec::new(),
                next_cursor: None,
            }));
        };
        filter.agent_id = Some(me.id.to_string());
    }
    let after = q
        .cursor
        .as_deref()
        .map(|c| CallCursor::decode(c).map_err(|_| ApiError::validation("cursor", "not a cursor")))
        .transpose()?;
    let page = state
        .store()
        .calls()
        .list(caller.tenant, &filter, after, q.limit.unwrap_or(50))
        .await?;
    Ok(Json(CallPage {
        items: page.items.into_iter().map(CallView::from).collect(),
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

/// One call with its legs and event timeline.
#[utoipa::path(get, path = "/api/v1/calls/{id}", tag = "calls",
    params(("id" = String, Path, description = "Call id")),
    responses((status = 200, body = CallDetailView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_call(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Json<CallDetailView>> {
    let row = load_call(&state, &caller, &id, own_only(&caller, &uri)).await?;
    let call_id = row.call_id();
    let legs = state.store().calls().legs(caller.tenant, call_id).await?;
    let events = state.store().calls().events(caller.tenant, call_id).await?;
    Ok(Json(CallDetailView {
        call: row.into(),
        legs: legs.into_iter().map(LegView::from).collect(),
        events: events.into_iter().map(EventView::from).collect(),
    }))
}

/// A live call and its server, or why it cannot be acted on.
pub(crate) async fn live_call(
    state: &AppState,
    caller: &Caller,
    uri: &Uri,
    id: &str,
) -> Result<(CallRow, ServerEntry)> {
    let row = load_call(state, caller, id, own_only(caller, uri)).await?;
    if row.state == "ended" {
        return Err(ApiError::Conflict("the call has ended".to_owned()));
    }
    let entry = state.server_for(row.server.as_deref())?.clone();
    ensure_connected(&entry)?;
    Ok((row, entry))
}

pub(crate) fn leg_of(row: &CallRow, party: PartySel) -> Result<LegId> {
    let (leg, name) = match party {
        PartySel::Agent => (row.agent_leg_id.as_deref(), "agent"),
        PartySel::Customer => (row.customer_leg_id.as_deref(), "customer"),
    };
    leg.and_then(|l| LegId::new(l).ok())
        .ok_or_else(|| ApiError::Conflict(format!("the call has no {name} leg yet")))
}

/// Sets the wrap-up code and notes (also after the call has ended).
#[utoipa::path(put, path = "/api/v1/calls/{id}/disposition", tag = "calls",
    params(("id" = String, Path, description = "Call id")),
    request_body = DispositionBody,
    responses((status = 200, body = CallView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn set_disposition(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DispositionBody>,
) -> Result<Json<CallView>> {
    let row = load_call(&state, &caller, &id, own_only(&caller, &uri)).await?;
    if body.code.trim().is_empty() || body.code.len() > 64 {
        return Err(ApiError::validation("code", "1 to 64 characters"));
    }
    reject_crlf("code", &body.code)?;
    if body.notes.as_ref().is_some_and(|n| n.len() > 4000) {
        return Err(ApiError::validation("notes", "at most 4000 characters"));
    }
    let updated = state
        .store()
        .calls()
        .update_wrapup(
            caller.tenant,
            row.call_id(),
            Some(body.code.trim()),
            body.notes.as_deref(),
        )
        .await?;
    Ok(Json(updated.into()))
}
