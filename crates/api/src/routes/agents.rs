//! Agents: CRUD, state changes (logged in, ready, paused with reason, logged out); the list
//! shows each agent's live state.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use hookflash_store::{Agent, AgentState, NewAgent};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::bus::BusMessage;
use crate::error::{ApiError, ErrorBody, Result};
use crate::extract::ApiJson;
use crate::phone::reject_crlf;
use crate::routes::calls::safe_token;
use crate::routes::scope::{my_agent, parse_uuid};
use crate::state::AppState;

/// An agent as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AgentView {
    /// Id.
    pub id: String,
    /// The user who signs in as this agent.
    pub user_id: Option<String>,
    /// Name.
    pub display_name: String,
    /// Endpoint dialled to reach the agent (`PJSIP/1001`).
    pub endpoint: String,
    /// Extension.
    pub extension: Option<String>,
    /// Skills.
    pub skills: Vec<String>,
    /// Live state: `offline`, `available`, `ringing`, `on_call`, `wrap_up`, `paused`.
    pub state: String,
    /// Since when.
    pub state_since: DateTime<Utc>,
    /// Why paused.
    pub pause_reason: Option<String>,
}

impl From<Agent> for AgentView {
    fn from(a: Agent) -> Self {
        Self {
            id: a.id.to_string(),
            user_id: a.user_id.map(|u| u.to_string()),
            display_name: a.display_name,
            endpoint: a.endpoint,
            extension: a.extension,
            skills: a.skills,
            state: a.state.as_str().to_owned(),
            state_since: a.state_since,
            pause_reason: a.pause_reason,
        }
    }
}

/// Create or replace an agent.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentBody {
    /// Name.
    pub display_name: String,
    /// Endpoint (`PJSIP/1001`).
    pub endpoint: String,
    /// Extension.
    #[serde(default)]
    pub extension: Option<String>,
    /// Skills.
    #[serde(default)]
    pub skills: Vec<String>,
    /// The user who signs in as this agent.
    #[serde(default)]
    pub user_id: Option<String>,
}

/// `logged_in`, `ready`, `paused` (with reason) or `logged_out`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgentStateSel {
    /// Signed in, not yet taking calls.
    LoggedIn,
    /// Taking calls.
    Ready,
    /// Not taking calls, with a reason.
    Paused,
    /// Signed out.
    LoggedOut,
}

/// `PUT /api/v1/agents/{id}/state`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentStateBody {
    /// The new state.
    pub state: AgentStateSel,
    /// Required for `paused`.
    #[serde(default)]
    pub reason: Option<String>,
}

async fn validate(state: &AppState, caller: &Caller, b: AgentBody) -> Result<NewAgent> {
    let name = b.display_name.trim().to_owned();
    reject_crlf("display_name", &name)?;
    if name.is_empty() || name.len() > 100 {
        return Err(ApiError::validation("display_name", "1 to 100 characters"));
    }
    safe_token("endpoint", &b.endpoint, 80)?;
    if !b.endpoint.contains('/') {
        return Err(ApiError::validation(
            "endpoint",
            "a technology/resource such as PJSIP/1001",
        ));
    }
    if let Some(e) = &b.extension {
        safe_token("extension", e, 32)?;
    }
    for s in &b.skills {
        safe_token("skills", s, 64)?;
    }
    let user_id = match &b.user_id {
        Some(u) => {
            let id = parse_uuid(u, "user")?;
            state
                .store()
                .users()
                .get(caller.tenant, id)
                .await?
                .ok_or(ApiError::NotFound("user"))?;
            Some(id)
        }
        None => None,
    };
    Ok(NewAgent {
        user_id,
        display_name: name,
        endpoint: b.endpoint,
        extension: b.extension,
        skills: b.skills,
    })
}

/// An agent of the caller's tenant that the caller may see (an agent: only themself).
async fn visible_agent(state: &AppState, caller: &Caller, id: &str) -> Result<Agent> {
    let id = parse_uuid(id, "agent")?;
    let agent = state
        .store()
        .agents()
        .get(caller.tenant, id)
        .await?
        .ok_or(ApiError::NotFound("agent"))?;
    if !caller.is_supervisor() && agent.user_id.is_none_or(|u| Some(u) != caller.user_id) {
        return Err(ApiError::NotFound("agent"));
    }
    Ok(agent)
}

/// Lists agents with their live state (an agent sees only themself).
#[utoipa::path(get, path = "/api/v1/agents", tag = "agents",
    responses((status = 200, body = [AgentView]), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list_agents(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<AgentView>>> {
    if !caller.is_supervisor() {
        let me = my_agent(&state, &caller).await?;
        return Ok(Json(me.into_iter().map(AgentView::from).collect()));
    }
    let agents = state.store().agents().list(caller.tenant, None).await?;
    Ok(Json(agents.into_iter().map(AgentView::from).collect()))
}

/// Creates an agent (supervisor).
#[utoipa::path(post, path = "/api/v1/agents", tag = "agents", request_body = AgentBody,
    responses((status = 201, body = AgentView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn create_agent(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<AgentBody>,
) -> Result<(StatusCode, Json<AgentView>)> {
    caller.require_supervisor()?;
    let new = validate(&state, &caller, body).await?;
    let agent = state.store().agents().create(caller.tenant, new).await?;
    Ok((StatusCode::CREATED, Json(agent.into())))
}

/// One agent.
#[utoipa::path(get, path = "/api/v1/agents/{id}", tag = "agents",
    params(("id" = String, Path, description = "Agent id")),
    responses((status = 200, body = AgentView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_agent(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<AgentView>> {
    Ok(Json(visible_agent(&state, &caller, &id).await?.into()))
}

/// Replaces an agent's details (supervisor).
#[utoipa::path(put, path = "/api/v1/agents/{id}", tag = "agents",
    params(("id" = String, Path, description = "Agent id")), request_body = AgentBody,
    responses((status = 200, body = AgentView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn update_agent(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AgentBody>,
) -> Result<Json<AgentView>> {
    let agent = visible_agent(&state, &caller, &id).await?;
    caller.require_supervisor()?;
    let new = validate(&state, &caller, body).await?;
    let updated = state
        .store()
        .agents()
        .update(caller.tenant, agent.id, new)
        .await?;
    Ok(Json(updated.into()))
}

/// Deletes an agent (supervisor).
#[utoipa::path(delete, path = "/api/v1/agents/{id}", tag = "agents",
    params(("id" = String, Path, description = "Agent id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn delete_agent(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let agent = visible_agent(&state, &caller, &id).await?;
    caller.require_supervisor()?;
    if !state
        .store()
        .agents()
        .delete(caller.tenant, agent.id)
        .await?
    {
        return Err(ApiError::NotFound("agent"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Changes an agent's state (the agent themself, or a supervisor).
#[utoipa::path(put, path = "/api/v1/agents/{id}/state", tag = "agents",
    params(("id" = String, Path, description = "Agent id")), request_body = AgentStateBody,
    responses((status = 200, body = AgentView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn set_agent_state(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AgentStateBody>,
) -> Result<Json<AgentView>> {
    let agent = visible_agent(&state, &caller, &id).await?;
    if let Some(r) = &body.reason {
        reject_crlf("reason", r)?;
        if r.len() > 100 {
            return Err(ApiError::validation("reason", "at most 100 characters"));
        }
    }
    let (new_state, reason) = match body.state {
        AgentStateSel::LoggedOut => (AgentState::Offline, None),
        AgentStateSel::Ready => (AgentState::Available, None),
        // Signed in but not taking calls yet: paused with a fixed reason.
        AgentStateSel::LoggedIn => (
            AgentState::Paused,
            Some(body.reason.unwrap_or_else(|| "logged_in".to_owned())),
        ),
        AgentStateSel::Paused => match body.reason.filter(|r| !r.trim().is_empty()) {
            Some(r) => (AgentState::Paused, Some(r)),
            None => return Err(ApiError::validation("reason", "required when paused")),
        },
    };
    let now = Utc::now();
    let updated = state
        .store()
        .agents()
        .set_state(caller.tenant, agent.id, new_state, reason.as_deref(), now)
        .await?;
    state.bus().publish(BusMessage::AgentState {
        tenant: caller.tenant,
        agent_id: updated.id,
        state: updated.state.as_str().to_owned(),
        pause_reason: updated.pause_reason.clone(),
        at: now,
    });
    Ok(Json(updated.into()))
}
