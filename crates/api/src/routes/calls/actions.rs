//! The in-call controls: hang up, hold, mute, DTMF and park, each answered 202 with its
//! result to come as events.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use hookflash_provider::{
    HangupCause, HangupRequester, LegId, MediaDirection, ParkRequest, ProviderError,
};
use hookflash_store::CallRow;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, Role};
use crate::error::{ApiError, ErrorBody, Result};
use crate::extract::{ApiQuery, OptionalJson};
use crate::phone::reject_crlf;
use crate::state::{AppState, ServerEntry};

use super::{
    ActionAccepted, DtmfBody, MuteBody, ParkBody, PartyBody, PartySel, accepted, leg_of, live_call,
    provider_err, safe_token,
};

/// Who asks for a hangup, as `DELETE /calls/{id}?requested_by=` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RequestedBy {
    /// The call's agent (a dialer page's hang-up button).
    Agent,
    /// A supervisor.
    Supervisor,
    /// No person: an integration, a rule.
    System,
}

/// Query of `DELETE /calls/{id}`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct HangupParams {
    /// On whose behalf the call is hung up; the call record's `hung_up_by` says it. An agent
    /// always asks as the agent; otherwise the default is `supervisor` for a user and
    /// `system` for an api key that acts as no user.
    #[param(inline)]
    pub requested_by: Option<RequestedBy>,
}

/// Who asked for a hangup: an agent is always the agent; a supervisor, an admin or an api key
/// may say on whose behalf it asks.
fn requester(caller: &Caller, asked: Option<RequestedBy>) -> HangupRequester {
    if caller.role == Role::Agent {
        return HangupRequester::Agent;
    }
    match asked {
        Some(RequestedBy::Agent) => HangupRequester::Agent,
        Some(RequestedBy::Supervisor) => HangupRequester::Supervisor,
        Some(RequestedBy::System) => HangupRequester::System,
        None if caller.user_id.is_some() => HangupRequester::Supervisor,
        None => HangupRequester::System,
    }
}

/// Hangs the call up (every leg it has), on behalf of whoever asked (`requested_by`): the
/// provider stamps it on the legs, and the tracker records it as the call's `hung_up_by`.
#[utoipa::path(delete, path = "/api/v1/calls/{id}", tag = "calls",
    params(("id" = String, Path, description = "Call id"), HangupParams),
    responses((status = 202, body = ActionAccepted), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn hangup_call(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<HangupParams>,
) -> Result<(StatusCode, Json<ActionAccepted>)> {
    let by = requester(&caller, q.requested_by);
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
            .hangup_for(&leg, Some(HangupCause::from_code(16)), by)
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
