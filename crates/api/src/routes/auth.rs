//! Login and token refresh.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::{ClientIp, Role, TokenPair};
use crate::error::{ApiError, ErrorBody, Result};
use crate::extract::ApiJson;
use crate::state::AppState;

/// The tenant used when a login names none.
pub const DEFAULT_TENANT_SLUG: &str = "default";

/// `POST /api/v1/auth/login`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// Username or email.
    pub username: String,
    /// Password.
    pub password: String,
    /// Tenant slug (default `default`).
    #[serde(default)]
    pub tenant: Option<String>,
}

/// `POST /api/v1/auth/refresh`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    /// The refresh token from the login.
    pub refresh_token: String,
}

/// Exchanges a username and password for an access and a refresh token. Attempts are limited
/// per client address and username (429 with `Retry-After`).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, body = TokenPair), (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub(crate) async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Json<TokenPair>> {
    if body.username.len() > 200 || body.password.len() > 1024 {
        return Err(ApiError::Unauthorized);
    }
    if let Err(e) = state.login_limiter().check(ip, &body.username) {
        state.metrics().login_failures.inc();
        return Err(e);
    }
    let slug = body.tenant.as_deref().unwrap_or(DEFAULT_TENANT_SLUG);
    let Some(tenant) = state.store().tenants().get_by_slug(slug).await? else {
        state.metrics().login_failures.inc();
        return Err(ApiError::Unauthorized);
    };
    let tenant_id = tenant.tenant_id();
    let Some(user) = state
        .store()
        .users()
        .verify_password(tenant_id, &body.username, &body.password)
        .await?
    else {
        state.metrics().login_failures.inc();
        return Err(ApiError::Unauthorized);
    };
    let role = role_of(user.role);
    Ok(Json(state.jwt().issue(user.id, tenant_id, role)?))
}

fn role_of(role: hookflash_store::UserRole) -> Role {
    Role::from_user(role)
}

/// Exchanges a refresh token for a new pair (the user must still be active; the role is read
/// again).
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshBody,
    responses((status = 200, body = TokenPair), (status = 401, body = ErrorBody)))]
pub(crate) async fn refresh(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<Json<TokenPair>> {
    let caller = state.jwt().verify(&body.refresh_token, "refresh")?;
    let user_id = caller.user_id.ok_or(ApiError::Unauthorized)?;
    let user = state
        .store()
        .users()
        .get(caller.tenant, user_id)
        .await?
        .filter(|u| u.active)
        .ok_or(ApiError::Unauthorized)?;
    Ok(Json(state.jwt().issue(
        user.id,
        caller.tenant,
        role_of(user.role),
    )?))
}
