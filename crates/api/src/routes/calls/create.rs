//! `POST /api/v1/calls`: a click-to-call, validated, written as `created` and originated.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use hookflash_provider::{CallId, ChannelVariables, OriginateRequest};
use hookflash_store::{CallRow, CallWrite};
use uuid::Uuid;

use crate::auth::{Caller, Role};
use crate::error::{ApiError, ErrorBody, Result};
use crate::extract::ApiJson;
use crate::phone::{dial_string, normalize_e164_with, reject_crlf};
use crate::routes::scope::{my_agent, parse_uuid};
use crate::state::AppState;

use super::{CallAccepted, CreateCall, ensure_connected, provider_err};

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
