//! Tenant and ownership scoping shared by the handlers.

use axum::http::Uri;
use hookflash_provider::CallId;
use hookflash_store::{Agent, CallRow};
use uuid::Uuid;

use crate::auth::{Caller, Role};
use crate::error::{ApiError, Result};
use crate::state::AppState;

/// Paths under this prefix act on the caller's own calls only, whatever the role.
pub(crate) const ME_PREFIX: &str = "/api/v1/users/me/";

pub(crate) fn own_only(caller: &Caller, uri: &Uri) -> bool {
    caller.role == Role::Agent || uri.path().starts_with(ME_PREFIX)
}

/// The agent record linked to the caller's user, if any.
pub(crate) async fn my_agent(state: &AppState, caller: &Caller) -> Result<Option<Agent>> {
    let Some(user) = caller.user_id else {
        return Ok(None);
    };
    let agents = state.store().agents().list(caller.tenant, None).await?;
    Ok(agents.into_iter().find(|a| a.user_id == Some(user)))
}

/// True when `channel` (e.g. `PJSIP/1001-0000002a`) belongs to `endpoint` (`PJSIP/1001`).
pub(crate) fn channel_of_endpoint(channel: &str, endpoint: &str) -> bool {
    channel == endpoint
        || channel
            .strip_prefix(endpoint)
            .is_some_and(|rest| rest.starts_with('-') || rest.starts_with(';'))
}

pub(crate) fn agent_owns(row: &CallRow, agent: &Agent) -> bool {
    row.agent_id.as_deref() == Some(agent.id.to_string().as_str())
        || row
            .agent_channel
            .as_deref()
            .is_some_and(|c| channel_of_endpoint(c, &agent.endpoint))
}

pub(crate) fn parse_uuid(text: &str, what: &'static str) -> Result<Uuid> {
    Uuid::parse_str(text.trim()).map_err(|_| ApiError::NotFound(what))
}

/// Loads a call of the caller's tenant; for an own-only scope, only one of the caller's own
/// calls. Anything else (another tenant, another agent, a malformed id) is a 404.
pub(crate) async fn load_call(
    state: &AppState,
    caller: &Caller,
    id: &str,
    own: bool,
) -> Result<CallRow> {
    let id: CallId = id.parse().map_err(|_| ApiError::NotFound("call"))?;
    let row = state
        .store()
        .calls()
        .get(caller.tenant, id)
        .await?
        .ok_or(ApiError::NotFound("call"))?;
    if own {
        let me = my_agent(state, caller)
            .await?
            .ok_or(ApiError::NotFound("call"))?;
        if !agent_owns(&row, &me) {
            return Err(ApiError::NotFound("call"));
        }
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_match_their_endpoint_only() {
        assert!(channel_of_endpoint("PJSIP/1001-0000002a", "PJSIP/1001"));
        assert!(channel_of_endpoint("PJSIP/1001", "PJSIP/1001"));
        assert!(!channel_of_endpoint("PJSIP/10010-0000002a", "PJSIP/1001"));
        assert!(!channel_of_endpoint("PJSIP/1002-01", "PJSIP/1001"));
    }
}
