//! Calls: originate, list, detail, and the in-call controls (hang up, hold, mute, record,
//! DTMF, park, disposition). Every path also exists under `/api/v1/users/me/calls` for the
//! caller's own calls.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use chrono::{DateTime, Utc};
use hookflash_provider::{
    CallId, ChannelVariables, HangupCause, LegId, MediaDirection, OriginateRequest, ParkRequest,
    ProviderError,
};
use hookflash_store::{CallCursor, CallFilter, CallRow, CallWrite};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::{Caller, Role};
use crate::error::{ApiError, ErrorBody, Result};
use crate::extract::{ApiJson, ApiQuery, OptionalJson};
use crate::phone::{dial_string, normalize_e164_with, reject_crlf};
use crate::routes::scope::{load_call, my_agent, own_only, parse_uuid};
use crate::state::{AppState, ServerEntry};

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

/// The request's channel variables, checked in one place ([`ChannelVariables`]) and against
/// the tenant's allow-list.
async fn check_variables(
    state: &AppState,
    caller: &Caller,
    vars: &BTreeMap<String, String>,
) -> Result<ChannelVariables> {
    let policy = &state.settings().variables;
    let slug = if vars.is_empty() || policy.is_empty() {
        None
    } else {
        state
            .store()
            .tenants()
            .get(caller.tenant)
            .await?
            .map(|t| t.slug)
    };
    policy.check(caller.tenant, slug.as_deref(), vars.clone())
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

/// Places a call: validates, records it as `created`, then asks the provider to originate.
#[utoipa::path(post, path = "/api/v1/calls", tag = "calls", request_body = CreateCall,
    responses((status = 202, body = CallAccepted), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn create_call(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateCall>,
) -> Result<(StatusCode, Json<CallAccepted>)> {
    let region = state.settings().default_region.clone();
    let validation = state.settings().phone_validation;
    let normalize =
        |field: &str, value: &str| normalize_e164_with(field, value, &region, validation);
    // Every text that can reach AMI is checked before anything else happens.
    for (field, value) in [
        ("agent", &body.agent),
        ("caller_id", &body.caller_id),
        ("did", &body.did),
        ("campaign_id", &body.campaign_id),
        ("contact_id", &body.contact_id),
        ("server", &body.server),
    ] {
        if let Some(v) = value {
            reject_crlf(field, v)?;
        }
    }
    reject_crlf("number", &body.number)?;
    let variables = check_variables(&state, &caller, &body.variables).await?;
    let number = normalize("number", &body.number)?;
    let caller_id = body
        .caller_id
        .as_deref()
        .map(|c| normalize("caller_id", c))
        .transpose()?;
    let did = match body.did.as_deref() {
        Some(d) => {
            let d = normalize("did", d)?;
            state
                .store()
                .dids()
                .get_by_number(caller.tenant, &d)
                .await?
                .ok_or_else(|| ApiError::validation("did", "not a DID of this tenant"))?;
            Some(d)
        }
        None => None,
    };
    let entry = state.server_for(body.server.as_deref())?.clone();

    let agent = match (&body.agent, caller.role) {
        (_, Role::Agent) => {
            let me = my_agent(&state, &caller)
                .await?
                .ok_or(ApiError::NotFound("agent"))?;
            if let Some(a) = &body.agent
                && a != &me.id.to_string()
                && a != &me.endpoint
            {
                return Err(ApiError::NotFound("agent"));
            }
            me
        }
        (Some(a), _) => {
            let found = match Uuid::parse_str(a) {
                Ok(id) => state.store().agents().get(caller.tenant, id).await?,
                Err(_) => {
                    state
                        .store()
                        .agents()
                        .get_by_endpoint(caller.tenant, a)
                        .await?
                }
            };
            found.ok_or(ApiError::NotFound("agent"))?
        }
        (None, _) => return Err(ApiError::validation("agent", "an agent is required")),
    };
    reject_crlf("agent", &agent.endpoint)?;
    let campaign_id = match &body.campaign_id {
        Some(c) => {
            let id = parse_uuid(c, "campaign")?;
            state
                .store()
                .campaigns()
                .get(caller.tenant, id)
                .await?
                .ok_or(ApiError::NotFound("campaign"))?;
            Some(id.to_string())
        }
        None => None,
    };
    let contact_id = match &body.contact_id {
        Some(c) => {
            let id = parse_uuid(c, "contact")?;
            state
                .store()
                .contacts()
                .get(caller.tenant, id)
                .await?
                .ok_or(ApiError::NotFound("contact"))?;
            Some(id.to_string())
        }
        None => None,
    };
    ensure_connected(&entry)?;

    let call_id = CallId::new_random();
    let now = Utc::now();
    let mut row = CallRow::new(
        call_id,
        caller.tenant,
        "outbound",
        entry.protocol.as_str(),
        "created",
        now,
    );
    row.server = Some(entry.name.clone());
    row.agent_id = Some(agent.id.to_string());
    row.campaign_id = campaign_id;
    row.contact_id = contact_id;
    row.to_number = Some(number.clone());
    row.from_number = caller_id.clone().or_else(|| did.clone());
    row.did = did.clone();
    row.metadata = serde_json::json!({
        "variables": body.variables,
        "record": body.record,
        "agent_endpoint": agent.endpoint,
    });
    // The stored call keeps E.164; the server gets the form its dialplan matches. Everything
    // that can refuse the request is done before the row is written.
    let dialled = dial_string("number", &number, state.settings().dial_format(&entry.name))?;
    let mut request = OriginateRequest::new(call_id, caller.tenant, &agent.endpoint, &dialled);
    request.caller_id = caller_id.or(did);
    request.variables = variables;
    request.record = body.record;
    // The call's state is the tracker's alone: this handler writes none after `created`. A
    // refusal reaches the tracker as the provider's `originate_result` event (failure
    // `refused`), which ends the call as failed; a request whose outcome is unknown (a
    // timeout) may still ring, so it is answered 202 `pending` and its legs' events decide.
    //
    // hyper drops this handler's future when the client goes away; a row written and never
    // originated would stay `created` forever. So the write and the originate run to the end
    // in a task of their own, whatever the connection does.
    let store = state.store().clone();
    let placing = tokio::spawn(async move {
        store.write_call(&CallWrite::call(row)).await?;
        match entry.provider.originate(request).await {
            Ok(()) => Ok::<_, ApiError>("created"),
            Err(e) if e.is_outcome_unknown() => {
                tracing::warn!(%call_id, server = %entry.name, error = %e, "originate outcome unknown");
                Ok("pending")
            }
            Err(e) => Err(provider_err(&entry, e)),
        }
    });
    let accepted = placing
        .await
        .map_err(|_| ApiError::Internal("the originate task did not finish"))??;
    tracing::info!(%call_id, state = accepted, "originate requested");
    Ok((
        StatusCode::ACCEPTED,
        Json(CallAccepted {
            call_id: call_id.to_string(),
            state: accepted.to_owned(),
        }),
    ))
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

/// Hangs the call up (every leg it has).
#[utoipa::path(delete, path = "/api/v1/calls/{id}", tag = "calls",
    params(("id" = String, Path, description = "Call id")),
    responses((status = 202, body = ActionAccepted), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn hangup_call(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<ActionAccepted>)> {
    let (row, entry) = live_call(&state, &caller, &uri, &id).await?;
    let legs: Vec<LegId> = [row.agent_leg_id.as_deref(), row.customer_leg_id.as_deref()]
        .into_iter()
        .flatten()
        .filter_map(|l| LegId::new(l).ok())
        .collect();
    if legs.is_empty() {
        return Err(ApiError::Conflict("the call has no leg yet".to_owned()));
    }
    let mut hung = 0;
    let mut last_err = None;
    for leg in legs {
        match entry
            .provider
            .hangup(&leg, Some(HangupCause::from_code(16)))
            .await
        {
            Ok(()) => hung += 1,
            // The other leg may already be gone because the first hangup collapsed the bridge.
            Err(ProviderError::NotFound { .. }) => {}
            Err(e) => last_err = Some(e),
        }
    }
    if hung == 0
        && let Some(e) = last_err
    {
        return Err(provider_err(&entry, e));
    }
    Ok(accepted(&row, "hangup"))
}

macro_rules! call_action {
    ($name:ident, $path:literal, $method:ident, $body:ty, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path($method, path = $path, tag = "calls",
            params(("id" = String, Path, description = "Call id")),
            request_body(content = Option<$body>),
            responses((status = 202, body = ActionAccepted), (status = 401, body = ErrorBody),
                (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
                (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
            security(("bearer" = [])))]
        pub(crate) async fn $name(
            State(state): State<AppState>,
            caller: Caller,
            uri: Uri,
            Path(id): Path<String>,
            OptionalJson(body): OptionalJson<$body>,
        ) -> Result<(StatusCode, Json<ActionAccepted>)> {
            let (row, entry) = live_call(&state, &caller, &uri, &id).await?;
            let action = stringify!($name);
            body.run(&state, &row, &entry, action).await?;
            Ok(accepted(&row, action))
        }
    };
}

/// What each action does once the call and its server are known.
trait Act {
    async fn run(
        self,
        state: &AppState,
        row: &CallRow,
        entry: &ServerEntry,
        action: &str,
    ) -> Result<()>;
}

impl Act for PartyBody {
    async fn run(
        self,
        _state: &AppState,
        row: &CallRow,
        entry: &ServerEntry,
        action: &str,
    ) -> Result<()> {
        let leg = leg_of(row, self.party.unwrap_or(PartySel::Customer))?;
        let r = if action == "hold_start" {
            entry.provider.hold(&leg).await
        } else {
            entry.provider.unhold(&leg).await
        };
        r.map_err(|e| provider_err(entry, e))
    }
}

impl Act for MuteBody {
    async fn run(
        self,
        _state: &AppState,
        row: &CallRow,
        entry: &ServerEntry,
        action: &str,
    ) -> Result<()> {
        let direction = match self.direction.as_deref() {
            None | Some("both") => MediaDirection::Both,
            Some("in") => MediaDirection::In,
            Some("out") => MediaDirection::Out,
            Some(_) => {
                return Err(ApiError::validation("direction", "one of in, out, both"));
            }
        };
        let leg = leg_of(row, self.party.unwrap_or(PartySel::Agent))?;
        let r = if action == "mute_start" {
            entry.provider.mute(&leg, direction).await
        } else {
            entry.provider.unmute(&leg, direction).await
        };
        r.map_err(|e| provider_err(entry, e))
    }
}

impl Act for DtmfBody {
    async fn run(
        self,
        _state: &AppState,
        row: &CallRow,
        entry: &ServerEntry,
        _action: &str,
    ) -> Result<()> {
        reject_crlf("digits", &self.digits)?;
        if self.digits.is_empty()
            || self.digits.len() > 32
            || !self
                .digits
                .chars()
                .all(|c| c.is_ascii_digit() || "*#ABCD".contains(c))
        {
            return Err(ApiError::validation("digits", "1 to 32 of 0-9, *, #, A-D"));
        }
        let leg = leg_of(row, self.party.unwrap_or(PartySel::Customer))?;
        entry
            .provider
            .send_dtmf(&leg, &self.digits)
            .await
            .map_err(|e| provider_err(entry, e))
    }
}

impl Act for ParkBody {
    async fn run(
        self,
        _state: &AppState,
        row: &CallRow,
        entry: &ServerEntry,
        _action: &str,
    ) -> Result<()> {
        if let Some(lot) = &self.lot {
            safe_token("lot", lot, 64)?;
        }
        if self.timeout_secs.is_some_and(|t| t == 0 || t > 3600) {
            return Err(ApiError::validation("timeout_secs", "1 to 3600"));
        }
        let leg = leg_of(row, PartySel::Customer)?;
        entry
            .provider
            .park(ParkRequest {
                call_id: row.call_id(),
                leg,
                parker: leg_of(row, PartySel::Agent).ok(),
                lot: self.lot,
                timeout: self.timeout_secs.map(Duration::from_secs),
            })
            .await
            .map_err(|e| provider_err(entry, e))
    }
}

call_action!(
    hold_start,
    "/api/v1/calls/{id}/hold/start",
    put,
    PartyBody,
    "Puts a party on hold (default: the customer)."
);
call_action!(
    hold_stop,
    "/api/v1/calls/{id}/hold/stop",
    put,
    PartyBody,
    "Takes a party off hold."
);
call_action!(
    mute_start,
    "/api/v1/calls/{id}/mute/start",
    put,
    MuteBody,
    "Mutes a party (default: the agent, both directions)."
);
call_action!(
    mute_stop,
    "/api/v1/calls/{id}/mute/stop",
    put,
    MuteBody,
    "Unmutes a party."
);
call_action!(
    send_dtmf,
    "/api/v1/calls/{id}/dtmf",
    post,
    DtmfBody,
    "Sends DTMF digits to a party (default: the customer)."
);
call_action!(
    park_call,
    "/api/v1/calls/{id}/park",
    post,
    ParkBody,
    "Parks the customer."
);

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
