//! The parking lot: the tenant's parked calls, and picking one up by its slot.
//!
//! A parked call is listed and picked up only through the call it belongs to: a leg parked
//! without our call id (a phone parking on its own) or one of another tenant's calls is not
//! listed, and picking its slot up is 404, as for a slot nobody is parked in. Whoever picks up
//! is the caller's own agent (its configured endpoint rings), never an endpoint from the
//! request.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use hookflash_provider::{CallId, ParkedCall, PickupRequest, ProviderError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody, Result};
use crate::routes::scope::my_agent;
use crate::state::{AppState, ServerEntry};

/// One parked call of the caller's tenant.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub(crate) struct ParkedView {
    /// The parking space: what `POST /api/v1/parked/{slot}/pickup` names.
    pub slot: String,
    /// The parking lot, when not the default.
    pub lot: Option<String>,
    /// The server the call is parked on.
    pub server: String,
    /// The parked call.
    pub call_id: String,
    /// When it was parked, where the server says.
    pub parked_since: Option<DateTime<Utc>>,
    /// How long it waits in all before it goes back to its parker, in seconds.
    pub timeout_secs: Option<u64>,
    /// Who parked it (the parking agent's endpoint), where the server says.
    pub parker: Option<String>,
}

/// `GET /api/v1/parked`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub(crate) struct ParkedList {
    /// The tenant's parked calls, by slot.
    pub parked: Vec<ParkedView>,
}

/// A pick-up asked for.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub(crate) struct PickupView {
    /// The parking space.
    pub slot: String,
    /// The parked call.
    pub call_id: String,
    /// The endpoint that rings: the caller's own agent's.
    pub agent_endpoint: String,
    /// `requested`: the agent's phone rings; the call's record says when it was picked up.
    pub status: String,
}

fn provider_err(entry: &ServerEntry, e: ProviderError) -> ApiError {
    match e {
        ProviderError::NotConnected { .. } => ApiError::ProviderUnavailable {
            server: entry.name.clone(),
        },
        other => ApiError::Provider(other),
    }
}

/// A slot as parking lots number them: 1 to 8 digits. Anything else is no slot (404).
fn plausible_slot(slot: &str) -> bool {
    (1..=8).contains(&slot.len()) && slot.chars().all(|c| c.is_ascii_digit())
}

/// The parked calls of every connected server that belong to the caller's tenant, with the
/// server each is on. A server without a parking lot (Twilio) lists nothing.
async fn tenant_parked(
    state: &AppState,
    caller: &Caller,
) -> Result<Vec<(ServerEntry, ParkedCall, CallId)>> {
    let mut out = Vec::new();
    for entry in state.providers().iter() {
        if entry.probe.connected() == Some(false) {
            continue;
        }
        let listed = match entry.provider.parked_calls().await {
            Ok(l) => l,
            Err(ProviderError::Unsupported { .. }) => continue,
            Err(e) => return Err(provider_err(entry, e)),
        };
        for parked in listed {
            let Some(call_id) = parked.call_id else {
                continue;
            };
            // Tenant-scoped: a call of another tenant is not found here.
            if state
                .store()
                .calls()
                .get(caller.tenant, call_id)
                .await?
                .is_some()
            {
                out.push((entry.clone(), parked, call_id));
            }
        }
    }
    out.sort_by(|a, b| a.1.slot.cmp(&b.1.slot));
    Ok(out)
}

/// Lists the tenant's parked calls.
#[utoipa::path(get, path = "/api/v1/parked", tag = "parked",
    responses((status = 200, body = ParkedList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list_parked(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ParkedList>> {
    let parked = tenant_parked(&state, &caller)
        .await?
        .into_iter()
        .map(|(entry, p, call_id)| ParkedView {
            slot: p.slot,
            lot: p.lot,
            server: entry.name,
            call_id: call_id.to_string(),
            parked_since: p.parked_at,
            timeout_secs: p.timeout.map(|t| t.as_secs()),
            parker: p.parker,
        })
        .collect();
    Ok(Json(ParkedList { parked }))
}

/// Picks a parked call up: the caller's own agent's phone rings and is connected to the call
/// in the slot once it answers.
#[utoipa::path(post, path = "/api/v1/parked/{slot}/pickup", tag = "parked",
    params(("slot" = String, Path, description = "The parking space (digits)")),
    responses((status = 202, body = PickupView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn pickup_parked(
    State(state): State<AppState>,
    caller: Caller,
    Path(slot): Path<String>,
) -> Result<(StatusCode, Json<PickupView>)> {
    if !plausible_slot(&slot) {
        return Err(ApiError::NotFound("parked call"));
    }
    let agent = my_agent(&state, &caller).await?.ok_or_else(|| {
        ApiError::validation(
            "agent",
            "the caller has no agent: a pick-up rings the caller's own agent",
        )
    })?;
    let (entry, parked, call_id) = tenant_parked(&state, &caller)
        .await?
        .into_iter()
        .find(|(_, p, _)| p.slot == slot)
        .ok_or(ApiError::NotFound("parked call"))?;
    let mut request = PickupRequest::new(call_id, parked.slot.clone(), agent.endpoint.clone());
    request.lot = parked.lot.clone();
    entry
        .provider
        .pickup_parked(request)
        .await
        .map_err(|e| provider_err(&entry, e))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(PickupView {
            slot: parked.slot,
            call_id: call_id.to_string(),
            agent_endpoint: agent.endpoint,
            status: "requested".to_owned(),
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_digits_name_a_slot() {
        for ok in ["701", "1", "12345678"] {
            assert!(plausible_slot(ok), "{ok}");
        }
        for bad in ["", "70a", "701@x", "123456789", "../1", "7 1"] {
            assert!(!plausible_slot(bad), "{bad}");
        }
    }
}
