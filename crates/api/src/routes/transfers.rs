//! Transfers: blind or attended, then complete or cancel an attended one.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use hookflash_provider::{AttendedTransferRequest, BlindTransferRequest, ProviderError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody, Result};
use crate::extract::ApiJson;
use crate::routes::calls::{PartySel, safe_token};
use crate::routes::scope::{load_call, own_only};
use crate::state::{AppState, ServerEntry, TransferEntry};

/// `blind` or `attended`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransferKindSel {
    /// Sent straight on.
    Blind,
    /// The agent talks to the target first, then completes or cancels.
    Attended,
}

/// `POST /api/v1/transfers`.
///
/// There is no `context`: where a destination is looked up (the Asterisk dialplan context) is
/// the server's configuration, so an agent cannot send a customer into any part of the
/// dialplan; a body carrying one is refused (422 naming `context`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTransfer {
    /// The call.
    pub call_id: String,
    /// Blind or attended.
    pub kind: TransferKindSel,
    /// Where to: an extension of the server's transfer context (`1002`); over ARI also an
    /// endpoint (`PJSIP/agent1002`) or a number through the server's configured trunk
    /// (`PJSIP/<number>@<trunk>`). One that does not exist, or another trunk or technology, is
    /// refused (422 naming `destination`) and the customer stays with the agent; over ARI a
    /// blind transfer whose target is busy, unreachable or does not answer leaves the customer
    /// with the agent and the call's `transfers` say `failed`.
    pub destination: String,
}

/// A transfer started.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TransferView {
    /// The transfer's id (attended only: use it to complete or cancel).
    pub transfer_id: Option<String>,
    /// The call.
    pub call_id: String,
    /// Blind or attended.
    pub kind: TransferKindSel,
    /// `requested`, `completing`, `cancelling`.
    pub status: String,
}

fn leg(row: &hookflash_store::CallRow, p: PartySel) -> Result<hookflash_provider::LegId> {
    let (l, name) = match p {
        PartySel::Agent => (row.agent_leg_id.as_deref(), "agent"),
        PartySel::Customer => (row.customer_leg_id.as_deref(), "customer"),
    };
    l.and_then(|l| hookflash_provider::LegId::new(l).ok())
        .ok_or_else(|| ApiError::Conflict(format!("the call has no {name} leg yet")))
}

fn provider_err(entry: &ServerEntry, e: ProviderError) -> ApiError {
    match e {
        ProviderError::NotConnected { .. } => ApiError::ProviderUnavailable {
            server: entry.name.clone(),
        },
        other => ApiError::Provider(other),
    }
}

fn server_of(state: &AppState, name: Option<&str>) -> Result<ServerEntry> {
    let entry = state.server_for(name)?.clone();
    if entry.probe.connected() == Some(false) {
        return Err(ApiError::ProviderUnavailable { server: entry.name });
    }
    Ok(entry)
}

/// Starts a transfer of the call's customer.
#[utoipa::path(post, path = "/api/v1/transfers", tag = "transfers", request_body = CreateTransfer,
    responses((status = 202, body = TransferView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn create_transfer(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    ApiJson(body): ApiJson<CreateTransfer>,
) -> Result<(StatusCode, Json<TransferView>)> {
    safe_token("destination", &body.destination, 80)?;
    let row = load_call(&state, &caller, &body.call_id, own_only(&caller, &uri)).await?;
    if row.state == "ended" {
        return Err(ApiError::Conflict("the call has ended".to_owned()));
    }
    let entry = server_of(&state, row.server.as_deref())?;
    let call_id = row.call_id();
    let transfer_id = match body.kind {
        TransferKindSel::Blind => {
            entry
                .provider
                .blind_transfer(BlindTransferRequest {
                    call_id,
                    leg: leg(&row, PartySel::Customer)?,
                    transferer: leg(&row, PartySel::Agent).ok(),
                    destination: body.destination,
                })
                .await
                .map_err(|e| provider_err(&entry, e))?;
            None
        }
        TransferKindSel::Attended => {
            let provider_id = entry
                .provider
                .start_attended_transfer(AttendedTransferRequest {
                    call_id,
                    transferer: leg(&row, PartySel::Agent)?,
                    transferee: leg(&row, PartySel::Customer).ok(),
                    destination: body.destination,
                })
                .await
                .map_err(|e| provider_err(&entry, e))?;
            // Our own id: unguessable and tied to the tenant, whatever the provider's looks like.
            let id = Uuid::new_v4().to_string();
            state.put_transfer(
                id.clone(),
                TransferEntry {
                    tenant: caller.tenant,
                    call_id,
                    server: entry.name.clone(),
                    provider_id,
                },
            );
            Some(id)
        }
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(TransferView {
            transfer_id,
            call_id: call_id.to_string(),
            kind: body.kind,
            status: "requested".to_owned(),
        }),
    ))
}

async fn pending(
    state: &AppState,
    caller: &Caller,
    uri: &Uri,
    id: &str,
) -> Result<(TransferEntry, ServerEntry)> {
    let entry = state
        .transfer(id)
        .filter(|t| t.tenant == caller.tenant)
        .ok_or(ApiError::NotFound("transfer"))?;
    // Same ownership rule as the call itself.
    load_call(
        state,
        caller,
        &entry.call_id.to_string(),
        own_only(caller, uri),
    )
    .await
    .map_err(|e| match e {
        ApiError::NotFound(_) => ApiError::NotFound("transfer"),
        other => other,
    })?;
    let server = server_of(state, Some(&entry.server))?;
    Ok((entry, server))
}

/// Completes an attended transfer.
#[utoipa::path(put, path = "/api/v1/transfers/{id}/complete", tag = "transfers",
    params(("id" = String, Path, description = "Transfer id")),
    responses((status = 202, body = TransferView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn complete_transfer(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<TransferView>)> {
    let (t, server) = pending(&state, &caller, &uri, &id).await?;
    server
        .provider
        .complete_attended_transfer(&t.provider_id)
        .await
        .map_err(|e| provider_err(&server, e))?;
    state.take_transfer(&id);
    Ok((
        StatusCode::ACCEPTED,
        Json(TransferView {
            transfer_id: Some(id),
            call_id: t.call_id.to_string(),
            kind: TransferKindSel::Attended,
            status: "completing".to_owned(),
        }),
    ))
}

/// Cancels an attended transfer (the customer goes back to the agent).
#[utoipa::path(delete, path = "/api/v1/transfers/{id}", tag = "transfers",
    params(("id" = String, Path, description = "Transfer id")),
    responses((status = 202, body = TransferView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn cancel_transfer(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<TransferView>)> {
    let (t, server) = pending(&state, &caller, &uri, &id).await?;
    server
        .provider
        .cancel_attended_transfer(&t.provider_id)
        .await
        .map_err(|e| provider_err(&server, e))?;
    state.take_transfer(&id);
    Ok((
        StatusCode::ACCEPTED,
        Json(TransferView {
            transfer_id: Some(id),
            call_id: t.call_id.to_string(),
            kind: TransferKindSel::Attended,
            status: "cancelling".to_owned(),
        }),
    ))
}
