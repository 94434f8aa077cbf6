//! Users of the tenant: an admin creates (onboards) them, changes role, name, password or
//! active flag, and deactivates them; supervisors list them. Password hashes never leave the
//! store.
//!
//! A password an admin sets for someone else, or one generated here, is a one-time password:
//! its owner must replace it (`POST /api/v1/auth/password`) before getting tokens, within
//! [`ONE_TIME_PASSWORD_TTL`]. No change may leave the tenant without an active admin (409
//! `last_admin`), whoever asks, an api key included. Each change is published so the user's
//! open WebSockets re-check at once.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Utc};
use hookflash_store::{NewUser, StoreError, User, UserRole, one_time_password};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody, Result};
use crate::extract::ApiJson;
pub use crate::password::MIN_PASSWORD_LEN;
use crate::password::check_password;
use crate::phone::reject_crlf;
use crate::routes::scope::parse_uuid;
use crate::state::AppState;

/// How long a one-time password works before its owner must have replaced it.
pub(crate) const ONE_TIME_PASSWORD_TTL: TimeDelta = TimeDelta::hours(72);

pub(crate) fn one_time_expiry() -> DateTime<Utc> {
    let now = Utc::now();
    now.checked_add_signed(ONE_TIME_PASSWORD_TTL).unwrap_or(now)
}

/// The store's refusal to remove the last admin as the API's 409 `last_admin`.
fn last_admin(e: StoreError) -> ApiError {
    match e {
        StoreError::LastAdmin => ApiError::LastAdmin,
        other => other.into(),
    }
}

/// A user as the API shows it (never the password hash).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    /// Id.
    pub id: String,
    /// Login name, unique in the tenant.
    pub username: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Name to show.
    pub display_name: Option<String>,
    /// `admin`, `supervisor` or `agent`.
    pub role: String,
    /// A deactivated user cannot log in.
    pub active: bool,
    /// The password is a one-time password its owner must change at first login.
    pub must_change_password: bool,
    /// When the one-time password stops working.
    pub password_expires_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Last successful login.
    pub last_login_at: Option<DateTime<Utc>>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id.to_string(),
            username: u.username,
            email: u.email,
            display_name: u.display_name,
            role: u.role.as_str().to_owned(),
            active: u.active,
            must_change_password: u.must_change_password,
            password_expires_at: u.password_expires_at,
            created_at: u.created_at,
            updated_at: u.updated_at,
            last_login_at: u.last_login_at,
        }
    }
}

/// `POST /api/v1/users`. `Debug` never shows the password.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserBody {
    /// Login name: 1 to 64 of letters, digits, `.`, `_`, `-`, `@`.
    pub username: String,
    /// E-mail address (also accepted at login).
    #[serde(default)]
    pub email: Option<String>,
    /// Name to show.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `admin`, `supervisor` or `agent`.
    #[schema(example = "agent")]
    pub role: String,
    /// 12 to 128 characters, no control characters, not easy to guess (zxcvbn score 3); omit
    /// it to get a generated one in the answer. Either way it is a one-time password: the
    /// user must change it at first login, within 72 hours.
    #[serde(default)]
    pub password: Option<String>,
}

debug_redacted!(CreateUserBody { username, email, display_name, role; password });

/// The created user, with the generated password when none was given (shown only once).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedUser {
    /// The user.
    pub user: UserView,
    /// The generated password: hand it to the user; it cannot be read again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub one_time_password: Option<String>,
}

debug_redacted!(CreatedUser { user; one_time_password });

/// `PATCH /api/v1/users/{id}`: only the fields present change.
#[derive(Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserBody {
    /// `admin`, `supervisor` or `agent`.
    #[serde(default)]
    pub role: Option<String>,
    /// Name to show.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Activate or deactivate.
    #[serde(default)]
    pub active: Option<bool>,
    /// A new one-time password for someone else (same rules as at creation; the user must
    /// change it at next login); the answer never contains it. Your own password is changed
    /// with `POST /api/v1/auth/password`.
    #[serde(default)]
    pub password: Option<String>,
}

debug_redacted!(UpdateUserBody { role, display_name, active; password });

fn parse_role(role: &str) -> Result<UserRole> {
    role.trim()
        .parse::<UserRole>()
        .map_err(|_| ApiError::validation("role", "one of admin, supervisor, agent"))
}

pub(crate) fn check_username(name: &str) -> Result<()> {
    reject_crlf("username", name)?;
    if name.is_empty() || name.len() > 64 {
        return Err(ApiError::validation("username", "1 to 64 characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
    {
        return Err(ApiError::validation(
            "username",
            "letters, digits, '.', '_', '-' and '@' only",
        ));
    }
    Ok(())
}

fn check_email(email: &str) -> Result<()> {
    reject_crlf("email", email)?;
    let ok = email.len() <= 254
        && !email.contains(char::is_whitespace)
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::validation("email", "an e-mail address"))
    }
}

fn check_display_name(name: &str) -> Result<String> {
    reject_crlf("display_name", name)?;
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(ApiError::validation("display_name", "1 to 100 characters"));
    }
    Ok(name.to_owned())
}

/// A user of the caller's tenant whom the caller may see (below supervisor: only themself).
/// Anything else, including a malformed id, is a 404.
async fn visible_user(state: &AppState, caller: &Caller, id: &str) -> Result<User> {
    let id = parse_uuid(id, "user")?;
    let user = state
        .store()
        .users()
        .get(caller.tenant, id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    if !caller.is_supervisor() && caller.user_id != Some(user.id) {
        return Err(ApiError::NotFound("user"));
    }
    Ok(user)
}

/// Creates a user (admin); without a password, a generated one is returned once.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUserBody,
    responses((status = 201, body = CreatedUser), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`user_exists`: the username or e-mail is taken"),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateUserBody>,
) -> Result<(StatusCode, Json<CreatedUser>)> {
    caller.require_admin()?;
    let username = body.username.trim().to_owned();
    check_username(&username)?;
    let email = match body.email.as_deref().map(str::trim) {
        Some(e) if !e.is_empty() => {
            check_email(e)?;
            Some(e.to_owned())
        }
        _ => None,
    };
    let display_name = body
        .display_name
        .as_deref()
        .map(check_display_name)
        .transpose()?;
    let role = parse_role(&body.role)?;
    let (password, generated) = match body.password {
        Some(p) => {
            let mut context = vec![username.as_str()];
            context.extend(email.as_deref());
            context.extend(display_name.as_deref());
            check_password("password", &p, &context)?;
            (p, None)
        }
        None => {
            let p = one_time_password();
            (p.clone(), Some(p))
        }
    };
    let new = NewUser {
        username,
        email,
        display_name,
        password,
        role,
    };
    let user = state
        .store()
        .users()
        .create(caller.tenant, new)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ApiError::UserExists,
            other => other.into(),
        })?;
    let expires_at = one_time_expiry();
    state
        .store()
        .users()
        .require_password_change(caller.tenant, user.id, Some(expires_at))
        .await?;
    let user = User {
        must_change_password: true,
        password_expires_at: Some(expires_at),
        ..user
    };
    Ok((
        StatusCode::CREATED,
        Json(CreatedUser {
            user: user.into(),
            one_time_password: generated,
        }),
    ))
}

/// The tenant's users, by username (supervisor).
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = [UserView]), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<UserView>>> {
    caller.require_supervisor()?;
    let users = state.store().users().list(caller.tenant).await?;
    Ok(Json(users.into_iter().map(UserView::from).collect()))
}

/// One user (supervisor, or the user themself).
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<UserView>> {
    Ok(Json(visible_user(&state, &caller, &id).await?.into()))
}

/// Changes a user's role, name, active flag or password (admin). An admin cannot change
/// their own role nor deactivate themself, nor set their own password here; the tenant's last
/// active admin can be neither demoted nor deactivated (409 `last_admin`). A password set here
/// is a one-time password.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "User id")), request_body = UpdateUserBody,
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`conflict`: yourself; `last_admin`: the tenant's last active admin"),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateUserBody>,
) -> Result<Json<UserView>> {
    let user = visible_user(&state, &caller, &id).await?;
    caller.require_admin()?;
    let role = body.role.as_deref().map(parse_role).transpose()?;
    let display_name = body
        .display_name
        .as_deref()
        .map(check_display_name)
        .transpose()?;
    if let Some(p) = &body.password {
        let mut context = vec![user.username.as_str()];
        context.extend(user.email.as_deref());
        context.extend(user.display_name.as_deref());
        check_password("password", p, &context)?;
    }
    let myself = caller.user_id == Some(user.id);
    if myself && body.password.is_some() {
        return Err(ApiError::Conflict(
            "change your own password with POST /api/v1/auth/password".to_owned(),
        ));
    }
    if myself && role.is_some_and(|r| r != user.role) {
        return Err(ApiError::Conflict(
            "you cannot change your own role".to_owned(),
        ));
    }
    if myself && body.active == Some(false) {
        return Err(ApiError::Conflict(
            "you cannot deactivate yourself".to_owned(),
        ));
    }
    let users = state.store().users();
    // Role, name and active flag change in one statement: a refusal (the last admin) leaves
    // every field as it was, none half-applied.
    if role.is_some() || display_name.is_some() || body.active.is_some() {
        users
            .update_fields(
                caller.tenant,
                user.id,
                role,
                display_name.as_deref(),
                body.active,
            )
            .await
            .map_err(last_admin)?;
    }
    if let Some(p) = &body.password {
        users
            .set_one_time_password(caller.tenant, user.id, p, Some(one_time_expiry()))
            .await?;
    }
    state.sessions().changed(caller.tenant, user.id);
    let updated = users
        .get(caller.tenant, user.id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    Ok(Json(updated.into()))
}

/// Deactivates a user (admin): they can no longer log in and their open WebSockets close;
/// their history stays. An admin cannot deactivate themself, and nobody the tenant's last
/// active admin (409 `last_admin`).
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`conflict`: yourself; `last_admin`: the tenant's last active admin")),
    security(("bearer" = [])))]
pub(crate) async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let user = visible_user(&state, &caller, &id).await?;
    caller.require_admin()?;
    if caller.user_id == Some(user.id) {
        return Err(ApiError::Conflict(
            "you cannot deactivate yourself".to_owned(),
        ));
    }
    state
        .store()
        .users()
        .set_active(caller.tenant, user.id, false)
        .await
        .map_err(last_admin)?;
    state.sessions().changed(caller.tenant, user.id);
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_checked() {
        assert!(check_username("agent.smith-1").is_ok());
        assert!(check_username("a b").is_err());
        assert!(check_username("a\r\nb").is_err());
        assert!(check_email("a@example.com").is_ok());
        assert!(check_email("nope").is_err());
        assert!(parse_role("agent").is_ok());
        match parse_role("root") {
            Err(ApiError::Validation { field, .. }) => assert_eq!(field, "role"),
            other => panic!("{other:?}"),
        }
    }
}
