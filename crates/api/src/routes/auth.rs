//! Login, token refresh and password change.
//!
//! A login issues an access token and a refresh token whose id is stored: each refresh token
//! is exchanged once for a new pair of the same family, and a refresh token presented again (a
//! stolen copy) revokes its whole family. A password change ends every token issued before it.
//! A one-time password (generated, or set by an admin for someone else) gives no tokens: its
//! owner must first replace it with `POST /api/v1/auth/password`, before it expires.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use hookflash_provider::TenantId;
use hookflash_store::{RefreshUse, User};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{ClientIp, REFRESH_TTL, Role, SessionGrant, TokenPair};
use crate::error::{ApiError, ErrorBody, Result};
use crate::extract::ApiJson;
use crate::password::check_password;
use crate::state::AppState;

/// The tenant used when a login names none.
pub const DEFAULT_TENANT_SLUG: &str = "default";

/// `POST /api/v1/auth/login`. `Debug` never shows the password.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// Username or email (any case).
    pub username: String,
    /// Password.
    pub password: String,
    /// Tenant slug (default `default`).
    #[serde(default)]
    pub tenant: Option<String>,
}

debug_redacted!(LoginBody { username, tenant; password });

/// `POST /api/v1/auth/refresh`. `Debug` never shows the token.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    /// The refresh token from the login or the last refresh (each is good once).
    pub refresh_token: String,
}

debug_redacted!(RefreshBody { ; refresh_token });

/// `POST /api/v1/auth/password`. `Debug` never shows the passwords.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordBody {
    /// Username or email (any case).
    pub username: String,
    /// The current password (or the one-time password).
    pub current_password: String,
    /// The new password: 12 to 128 characters, no control characters, not easy to guess.
    pub new_password: String,
    /// Tenant slug (default `default`).
    #[serde(default)]
    pub tenant: Option<String>,
}

debug_redacted!(ChangePasswordBody { username, tenant; current_password, new_password });

/// The user a username and password name, with the same work whether or not the tenant and
/// the user exist (one argon2 verification, one limiter check), so neither can be told apart
/// by timing. Attempts count per client address and per (tenant, username).
async fn check_credentials(
    state: &AppState,
    ip: Option<std::net::IpAddr>,
    tenant: Option<&str>,
    login: &str,
    password: &str,
) -> Result<(TenantId, User)> {
    let fail = || {
        state.metrics().login_failures.inc();
        ApiError::Unauthorized
    };
    if login.len() > 200 || password.len() > 1024 {
        return Err(fail());
    }
    let slug = tenant.unwrap_or(DEFAULT_TENANT_SLUG);
    if let Err(e) = state.login_limiter().check(ip, slug, login) {
        state.metrics().login_failures.inc();
        return Err(e);
    }
    let users = state.store().users();
    // A deactivated tenant is refused like an unknown one, with the same work.
    let tenant = state.store().tenants().get_by_slug(slug).await?;
    let Some(tenant) = tenant.filter(|t| t.active) else {
        users.burn_password_check(password).await;
        return Err(fail());
    };
    let tenant_id = tenant.tenant_id();
    match users.verify_password(tenant_id, login, password).await? {
        Some(user) => Ok((tenant_id, user)),
        None => Err(fail()),
    }
}

fn expired(user: &User, now: DateTime<Utc>) -> bool {
    user.password_expires_at.is_some_and(|at| at <= now)
}

/// Records a refresh token (in `family`, or a new one) and issues the pair for it.
async fn issue(
    state: &AppState,
    tenant: TenantId,
    user: &User,
    family: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<TokenPair> {
    let ttl = chrono::TimeDelta::from_std(REFRESH_TTL).unwrap_or(chrono::TimeDelta::days(7));
    let expires_at = now.checked_add_signed(ttl).unwrap_or(now);
    let refresh = state
        .store()
        .users()
        .issue_refresh_token(tenant, user.id, family, expires_at)
        .await?;
    state.jwt().issue_session(
        &SessionGrant {
            user: user.id,
            tenant,
            role: Role::from_user(user.role),
            version: user.token_version,
            refresh_id: refresh.id,
        },
        now,
    )
}

/// Exchanges a username and password for an access and a refresh token. Attempts are limited
/// per client address and per (tenant, username) (429 with `Retry-After`). A one-time password
/// gives no tokens: 403 `password_change_required` (change it with `POST
/// /api/v1/auth/password`), or 401 `password_expired` once it has expired.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, body = TokenPair),
        (status = 401, body = ErrorBody, description = "`unauthorized`, or `password_expired`: the one-time password expired"),
        (status = 403, body = ErrorBody, description = "`password_change_required`: the one-time password must be changed first"),
        (status = 429, body = ErrorBody)))]
pub(crate) async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Json<TokenPair>> {
    let (tenant, user) = check_credentials(
        &state,
        ip,
        body.tenant.as_deref(),
        &body.username,
        &body.password,
    )
    .await?;
    let now = Utc::now();
    if user.must_change_password {
        return Err(if expired(&user, now) {
            ApiError::PasswordExpired
        } else {
            ApiError::PasswordChangeRequired
        });
    }
    Ok(Json(issue(&state, tenant, &user, None, now).await?))
}

/// Exchanges a refresh token for a new pair; the presented token is used up. A token used
/// before (a stolen copy) revokes its whole family: both holders must log in again. The user
/// must still be active, with the password the token was issued under; the role is read again.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshBody,
    responses((status = 200, body = TokenPair), (status = 401, body = ErrorBody)))]
pub(crate) async fn refresh(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<Json<TokenPair>> {
    let claims = state.jwt().decode(&body.refresh_token, "refresh")?;
    let tenant: TenantId = claims.tid.parse().map_err(|_| ApiError::Unauthorized)?;
    let id: Uuid = claims
        .jti
        .as_deref()
        .and_then(|j| j.parse().ok())
        .ok_or(ApiError::Unauthorized)?;
    let now = Utc::now();
    let users = state.store().users();
    let family = match users.use_refresh_token(tenant, id, now).await? {
        RefreshUse::Fresh { family_id, .. } => family_id,
        RefreshUse::Reused { family_id } => {
            tracing::warn!(%tenant, family = %family_id, "refresh token reused: family revoked");
            return Err(ApiError::Unauthorized);
        }
        _ => return Err(ApiError::Unauthorized),
    };
    let user_id: Uuid = claims.sub.parse().map_err(|_| ApiError::Unauthorized)?;
    let user = users
        .get(tenant, user_id)
        .await?
        .filter(|u| u.active && u.token_version == claims.ver && !u.must_change_password)
        .ok_or(ApiError::Unauthorized)?;
    // A deactivated tenant's sessions get no new tokens.
    if !state.store().tenants().is_active(tenant).await? {
        return Err(ApiError::Unauthorized);
    }
    Ok(Json(issue(&state, tenant, &user, Some(family), now).await?))
}

/// Changes one's own password, proving it with the current one (any role; this is also how a
/// one-time password is replaced at first login). Every token issued before is revoked; the
/// answer is a fresh pair. Limited like the login.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth",
    request_body = ChangePasswordBody,
    responses((status = 200, body = TokenPair),
        (status = 401, body = ErrorBody, description = "`unauthorized`, or `password_expired`: the one-time password expired"),
        (status = 422, body = ErrorBody, description = "`validation_failed` on `new_password`: too short, control characters, too easy to guess, or unchanged"),
        (status = 429, body = ErrorBody)))]
pub(crate) async fn change_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<ChangePasswordBody>,
) -> Result<Json<TokenPair>> {
    let (tenant, user) = check_credentials(
        &state,
        ip,
        body.tenant.as_deref(),
        &body.username,
        &body.current_password,
    )
    .await?;
    let now = Utc::now();
    if user.must_change_password && expired(&user, now) {
        return Err(ApiError::PasswordExpired);
    }
    let mut context = vec![user.username.as_str()];
    context.extend(user.email.as_deref());
    context.extend(user.display_name.as_deref());
    check_password("new_password", &body.new_password, &context)?;
    if body.new_password == body.current_password {
        return Err(ApiError::validation(
            "new_password",
            "must differ from the current password",
        ));
    }
    let users = state.store().users();
    users
        .set_password(tenant, user.id, &body.new_password)
        .await?;
    state.sessions().changed(tenant, user.id);
    let user = users
        .get(tenant, user.id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    Ok(Json(issue(&state, tenant, &user, None, now).await?))
}
