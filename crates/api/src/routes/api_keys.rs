//! Api keys of the tenant (admin): created with the secret shown once in the answer, listed
//! and read without it, revoked.
//!
//! Keys are what machines (a dialer page's backend, a CRM) present instead of a login. The
//! store keeps only the SHA-256 of the secret, exactly what [`hookflash_store::ApiKeys::verify`]
//! checks, so a lost secret cannot be shown again: revoke the key and create another. A key
//! either acts as one user of the tenant (their role, and it stops working when they are
//! deactivated) or carries a role of its own (`admin`, `supervisor` or `agent`, stored as its
//! scope). Revoking a key closes the WebSockets opened with it at once.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use hookflash_store::{ApiKey, NewApiKey};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Caller, Role};
use crate::error::{ApiError, ErrorBody, Result};
use crate::extract::ApiJson;
use crate::phone::reject_crlf;
use crate::routes::scope::parse_uuid;
use crate::state::AppState;

/// Longest key label.
const MAX_NAME_LEN: usize = 100;

/// An api key as the API shows it: never the secret.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyView {
    /// Id.
    pub id: String,
    /// Label.
    pub name: String,
    /// The visible part of the key (`hfk_<prefix>_...`), to tell keys apart.
    pub prefix: String,
    /// The user the key acts as (their role applies), if any.
    pub user_id: Option<String>,
    /// The role of a key that acts as no user: `admin`, `supervisor` or `agent`; none for a
    /// user's key.
    pub role: Option<Role>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last successful use.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked; a revoked key is refused.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The role a key without a user gets, the same rule [`crate::auth`] applies when it is
/// presented.
fn key_role(key: &ApiKey) -> Option<Role> {
    if key.user_id.is_some() {
        None
    } else if key.has_scope("admin") {
        Some(Role::Admin)
    } else if key.has_scope("supervisor") {
        Some(Role::Supervisor)
    } else {
        Some(Role::Agent)
    }
}

impl From<ApiKey> for ApiKeyView {
    fn from(k: ApiKey) -> Self {
        Self {
            role: key_role(&k),
            id: k.id.to_string(),
            name: k.name,
            prefix: k.prefix,
            user_id: k.user_id.map(|u| u.to_string()),
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// `POST /api/v1/api-keys`: give either `user_id` or `role`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyBody {
    /// A label, 1 to 100 characters.
    pub name: String,
    /// The user of the tenant the key acts as (with that user's role).
    #[serde(default)]
    pub user_id: Option<String>,
    /// The role of a key that acts as no user.
    #[serde(default)]
    pub role: Option<Role>,
    /// When the key stops working (in the future); never when absent.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A created key, with its secret: shown this once, it cannot be read again (nor by
/// `Debug`).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedApiKeyView {
    /// The key.
    pub key: ApiKeyView,
    /// The secret to present as `X-API-Key` or `Authorization: Bearer`.
    pub secret: String,
}

debug_redacted!(CreatedApiKeyView { key; secret });

fn check_name(name: &str) -> Result<String> {
    reject_crlf("name", name)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
        return Err(ApiError::validation("name", "1 to 100 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::validation("name", "no control characters"));
    }
    Ok(name.to_owned())
}

fn role_scope(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Supervisor => "supervisor",
        Role::Agent => "agent",
    }
}

/// The key `id` names in the caller's tenant; anything else, a malformed id included, is a
/// 404 whatever the caller's role (as for every other resource of another tenant).
async fn tenant_key(state: &AppState, caller: &Caller, id: &str) -> Result<ApiKey> {
    let id = parse_uuid(id, "api key")?;
    state
        .store()
        .api_keys()
        .get(caller.tenant, id)
        .await?
        .ok_or(ApiError::NotFound("api key"))
}

/// Creates a key (admin); the answer carries its secret, the only time it is shown.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api_keys", request_body = CreateApiKeyBody,
    responses((status = 201, body = CreatedApiKeyView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`validation_failed`: name, user_id (not a user of the tenant), role (both or neither given), expires_at (not in the future)")),
    security(("bearer" = [])))]
pub(crate) async fn create_api_key(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateApiKeyBody>,
) -> Result<(StatusCode, Json<CreatedApiKeyView>)> {
    caller.require_admin()?;
    let name = check_name(&body.name)?;
    let (user_id, scopes) = match (body.user_id.as_deref(), body.role) {
        (Some(user), None) => {
            let id = uuid::Uuid::parse_str(user.trim())
                .map_err(|_| ApiError::validation("user_id", "a user id of the tenant"))?;
            let user = state
                .store()
                .users()
                .get(caller.tenant, id)
                .await?
                .ok_or_else(|| ApiError::validation("user_id", "a user id of the tenant"))?;
            if !user.active {
                return Err(ApiError::validation("user_id", "an active user"));
            }
            (Some(user.id), Vec::new())
        }
        (None, Some(role)) => (None, vec![role_scope(role).to_owned()]),
        _ => {
            return Err(ApiError::validation(
                "role",
                "give either user_id or role (admin, supervisor, agent)",
            ));
        }
    };
    if body.expires_at.is_some_and(|e| e <= Utc::now()) {
        return Err(ApiError::validation("expires_at", "a time in the future"));
    }
    let created = state
        .store()
        .api_keys()
        .create(
            caller.tenant,
            NewApiKey {
                name,
                user_id,
                scopes,
                expires_at: body.expires_at,
            },
        )
        .await?;
    tracing::info!(tenant = %caller.tenant, key = %created.key.id, "api key created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedApiKeyView {
            key: created.key.into(),
            secret: created.secret,
        }),
    ))
}

/// The tenant's keys, newest first, revoked ones included (admin); never their secrets.
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api_keys",
    responses((status = 200, body = [ApiKeyView]), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list_api_keys(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ApiKeyView>>> {
    caller.require_admin()?;
    let keys = state.store().api_keys().list(caller.tenant).await?;
    Ok(Json(keys.into_iter().map(ApiKeyView::from).collect()))
}

/// One key of the tenant (admin), without its secret.
#[utoipa::path(get, path = "/api/v1/api-keys/{id}", tag = "api_keys",
    params(("id" = String, Path, description = "Api key id")),
    responses((status = 200, body = ApiKeyView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_api_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ApiKeyView>> {
    let key = tenant_key(&state, &caller, &id).await?;
    caller.require_admin()?;
    Ok(Json(key.into()))
}

/// Revokes a key (admin): it is refused from now on and the WebSockets opened with it close.
/// Revoking a revoked key again is a no-op.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "api_keys",
    params(("id" = String, Path, description = "Api key id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn revoke_api_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let id = tenant_key(&state, &caller, &id).await?.id;
    caller.require_admin()?;
    if state.store().api_keys().revoke(caller.tenant, id).await? {
        tracing::info!(tenant = %caller.tenant, key = %id, "api key revoked");
        state.sessions().tenant_changed(caller.tenant);
    }
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert_eq!(check_name("  crm  ").unwrap(), "crm");
        assert!(check_name("").is_err());
        assert!(check_name("a\r\nb").is_err());
        assert!(check_name("a\u{7}b").is_err());
        assert!(check_name(&"x".repeat(101)).is_err());
    }
}
