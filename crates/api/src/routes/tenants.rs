//! Tenants, for the platform operator: list, create (with the new tenant's first admin), read,
//! rename, deactivate and reactivate.
//!
//! # Who may
//! Tenants are above tenant data, so no tenant role covers them. The rule is the smallest one
//! that needs no new role: a **platform admin** is an admin (a user with the admin role, or an
//! api key with the admin role) of the *platform tenant*, the tenant whose slug is
//! [`Settings::platform_tenant`](crate::Settings) — `default` unless configured, the tenant the
//! first start creates. A platform admin may do everything here. Any other admin may read
//! their own tenant; every other tenant id is a 404 to them (as if it did not exist), and
//! changing their own tenant is 403. Below admin everything is 403 (own tenant) or 404.
//!
//! A deactivated tenant keeps its data; its users cannot log in, and its tokens and api keys
//! are refused from the next request on (its open WebSockets close at once). The platform
//! tenant cannot be deactivated (409): that would lock every platform admin out.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use hookflash_provider::TenantId;
use hookflash_store::{NewUser, StoreError, Tenant, User, UserRole, one_time_password};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Caller, Role};
use crate::error::{ApiError, ErrorBody, Result};
use crate::extract::ApiJson;
use crate::phone::reject_crlf;
use crate::routes::scope::parse_uuid;
use crate::routes::users::{UserView, check_username, one_time_expiry};
use crate::state::AppState;

/// Longest tenant slug (a DNS label's length, so it can name a subdomain).
const MAX_SLUG_LEN: usize = 63;

/// A tenant as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TenantView {
    /// Id.
    pub id: String,
    /// Name to show.
    pub name: String,
    /// Short unique name, given at login.
    pub slug: String,
    /// A deactivated tenant's users cannot log in and its keys are refused.
    pub active: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl From<Tenant> for TenantView {
    fn from(t: Tenant) -> Self {
        Self {
            id: t.id.to_string(),
            name: t.name,
            slug: t.slug,
            active: t.active,
            created_at: t.created_at,
        }
    }
}

/// `POST /api/v1/tenants`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenantBody {
    /// Name to show, 1 to 100 characters.
    pub name: String,
    /// 2 to 63 of lowercase letters, digits and `-`, starting and ending with a letter or
    /// digit; unique.
    #[schema(example = "acme")]
    pub slug: String,
    /// Username of the tenant's first admin (default `admin`); their one-time password is in
    /// the answer.
    #[serde(default)]
    pub admin_username: Option<String>,
}

/// The created tenant and its first admin, whose generated one-time password is shown only
/// here (it must be changed at first login, within 72 hours; `Debug` never shows it).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedTenant {
    /// The tenant.
    pub tenant: TenantView,
    /// Its first admin.
    pub admin: UserView,
    /// The admin's one-time password.
    pub admin_one_time_password: String,
}

debug_redacted!(CreatedTenant { tenant, admin; admin_one_time_password });

/// `PATCH /api/v1/tenants/{id}`: only the fields present change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenantBody {
    /// Name to show.
    #[serde(default)]
    pub name: Option<String>,
    /// Activate or deactivate.
    #[serde(default)]
    pub active: Option<bool>,
}

/// Checks a slug; slugs are never rewritten (a slug given in capitals is refused, not
/// lowered), so the one an operator types is the one users log in with.
pub(crate) fn check_slug(slug: &str) -> Result<()> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let ok = (2..=MAX_SLUG_LEN).contains(&slug.len())
        && slug.chars().all(|c| ok_char(c) || c == '-')
        && slug.starts_with(ok_char)
        && slug.ends_with(ok_char);
    if ok {
        Ok(())
    } else {
        Err(ApiError::validation(
            "slug",
            "2 to 63 of a-z, 0-9 and '-', starting and ending with a letter or digit",
        ))
    }
}

fn check_name(name: &str) -> Result<String> {
    reject_crlf("name", name)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::validation(
            "name",
            "1 to 100 characters, no control characters",
        ));
    }
    Ok(name.to_owned())
}

/// True when the caller is a platform admin (see the module docs).
async fn is_platform_admin(state: &AppState, caller: &Caller) -> Result<bool> {
    if caller.role != Role::Admin {
        return Ok(false);
    }
    let tenant = state.store().tenants().get(caller.tenant).await?;
    Ok(tenant.is_some_and(|t| t.slug == state.settings().platform_tenant))
}

/// Refuses anyone but a platform admin.
async fn require_platform_admin(state: &AppState, caller: &Caller) -> Result<()> {
    if is_platform_admin(state, caller).await? {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

/// The tenant `id` names, for a caller who means to `change` it or only read it: a platform
/// admin reaches every tenant; anyone else only their own (reading it as an admin), and any
/// other id is a 404.
async fn reachable_tenant(
    state: &AppState,
    caller: &Caller,
    id: &str,
    change: bool,
) -> Result<Tenant> {
    let id = TenantId::from_uuid(parse_uuid(id, "tenant")?);
    if !is_platform_admin(state, caller).await? {
        if id != caller.tenant {
            return Err(ApiError::NotFound("tenant"));
        }
        caller.require_admin()?;
        if change {
            return Err(ApiError::Forbidden);
        }
    }
    state
        .store()
        .tenants()
        .get(id)
        .await?
        .ok_or(ApiError::NotFound("tenant"))
}

/// Every tenant, by name (platform admin).
#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants",
    responses((status = 200, body = [TenantView]), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "`forbidden`: not a platform admin")),
    security(("bearer" = [])))]
pub(crate) async fn list_tenants(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<TenantView>>> {
    require_platform_admin(&state, &caller).await?;
    let tenants = state.store().tenants().list().await?;
    Ok(Json(tenants.into_iter().map(TenantView::from).collect()))
}

/// Creates a new tenant's first admin with a one-time password; the user and the password.
async fn first_admin(
    state: &AppState,
    tenant: &Tenant,
    username: String,
) -> Result<(User, String)> {
    let password = one_time_password();
    let users = state.store().users();
    let admin = users
        .create(
            tenant.tenant_id(),
            NewUser {
                username,
                email: None,
                display_name: None,
                password: password.clone(),
                role: UserRole::Admin,
            },
        )
        .await?;
    let expires_at = one_time_expiry();
    users
        .require_password_change(tenant.tenant_id(), admin.id, Some(expires_at))
        .await?;
    let admin = User {
        must_change_password: true,
        password_expires_at: Some(expires_at),
        ..admin
    };
    Ok((admin, password))
}

/// Creates a tenant and its first admin (platform admin); the admin's one-time password is in
/// the answer, the only time it is shown.
#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants", request_body = CreateTenantBody,
    responses((status = 201, body = CreatedTenant), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "`forbidden`: not a platform admin"),
        (status = 409, body = ErrorBody, description = "`conflict`: the slug is taken"),
        (status = 422, body = ErrorBody, description = "`validation_failed`: name, slug or admin_username")),
    security(("bearer" = [])))]
pub(crate) async fn create_tenant(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateTenantBody>,
) -> Result<(StatusCode, Json<CreatedTenant>)> {
    require_platform_admin(&state, &caller).await?;
    let name = check_name(&body.name)?;
    check_slug(&body.slug)?;
    let username = body
        .admin_username
        .as_deref()
        .map_or("admin", str::trim)
        .to_owned();
    check_username(&username).map_err(|_| {
        ApiError::validation(
            "admin_username",
            "1 to 64 of letters, digits, '.', '_', '-' and '@'",
        )
    })?;
    let tenant = state
        .store()
        .tenants()
        .create(&name, &body.slug)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => {
                ApiError::Conflict(format!("the slug {} is taken", body.slug))
            }
            other => other.into(),
        })?;
    let (admin, password) = match first_admin(&state, &tenant, username).await {
        Ok(done) => done,
        Err(e) => {
            // A tenant without its admin could never be used (nobody may create users in
            // it): undo the creation so the slug can be tried again.
            if let Err(undo) = state.store().tenants().delete(tenant.tenant_id()).await {
                tracing::warn!(tenant = %tenant.id, error = %undo, "could not undo a tenant");
            }
            return Err(e);
        }
    };
    tracing::info!(tenant = %tenant.id, slug = %tenant.slug, "tenant created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedTenant {
            tenant: tenant.into(),
            admin: admin.into(),
            admin_one_time_password: password,
        }),
    ))
}

/// One tenant: a platform admin's any, another admin's own.
#[utoipa::path(get, path = "/api/v1/tenants/{id}", tag = "tenants",
    params(("id" = String, Path, description = "Tenant id")),
    responses((status = 200, body = TenantView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<TenantView>> {
    Ok(Json(
        reachable_tenant(&state, &caller, &id, false).await?.into(),
    ))
}

/// Refuses to deactivate the platform tenant (it would lock every platform admin out).
fn check_active_change(state: &AppState, tenant: &Tenant, active: bool) -> Result<()> {
    if !active && tenant.slug == state.settings().platform_tenant {
        return Err(ApiError::Conflict(
            "the platform tenant cannot be deactivated".to_owned(),
        ));
    }
    Ok(())
}

/// Renames, deactivates or reactivates a tenant (platform admin).
#[utoipa::path(patch, path = "/api/v1/tenants/{id}", tag = "tenants",
    params(("id" = String, Path, description = "Tenant id")), request_body = UpdateTenantBody,
    responses((status = 200, body = TenantView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`conflict`: deactivating the platform tenant"),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn update_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateTenantBody>,
) -> Result<Json<TenantView>> {
    let tenant = reachable_tenant(&state, &caller, &id, true).await?;
    let name = body.name.as_deref().map(check_name).transpose()?;
    if let Some(active) = body.active {
        check_active_change(&state, &tenant, active)?;
    }
    let updated = state
        .store()
        .tenants()
        .update(tenant.tenant_id(), name.as_deref(), body.active)
        .await?
        .ok_or(ApiError::NotFound("tenant"))?;
    if body.active == Some(false) {
        state.sessions().tenant_changed(updated.tenant_id());
    }
    Ok(Json(updated.into()))
}

/// Deactivates a tenant (platform admin): its data stays, its users and keys stop working
/// (`PATCH` with `active: true` brings it back).
#[utoipa::path(delete, path = "/api/v1/tenants/{id}", tag = "tenants",
    params(("id" = String, Path, description = "Tenant id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`conflict`: the platform tenant")),
    security(("bearer" = [])))]
pub(crate) async fn deactivate_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let tenant = reachable_tenant(&state, &caller, &id, true).await?;
    check_active_change(&state, &tenant, false)?;
    state
        .store()
        .tenants()
        .update(tenant.tenant_id(), None, Some(false))
        .await?
        .ok_or(ApiError::NotFound("tenant"))?;
    state.sessions().tenant_changed(tenant.tenant_id());
    tracing::info!(tenant = %tenant.id, "tenant deactivated");
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_checked() {
        for ok in ["acme", "a1", "acme-sales", "0-9"] {
            assert!(check_slug(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "a", "Acme", "-acme", "acme-", "ac me", "acme_1", "é-x", "a\r\nb",
        ] {
            assert!(check_slug(bad).is_err(), "{bad:?}");
        }
        assert!(check_slug(&"a".repeat(63)).is_ok());
        assert!(check_slug(&"a".repeat(64)).is_err());
    }
}
