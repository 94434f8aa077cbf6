//! Users of the tenant: an admin creates (onboards) them, changes role, name, password or
//! active flag, and deactivates them; supervisors list them. Password hashes never leave the
//! store.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use hookflash_store::{NewUser, StoreError, User, UserRole, one_time_password};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody, Result};
use crate::extract::ApiJson;
use crate::phone::reject_crlf;
use crate::routes::scope::parse_uuid;
use crate::state::AppState;

/// Shortest password an admin may set.
pub const MIN_PASSWORD_LEN: usize = 12;
/// Longest password accepted (argon2 work grows with it).
const MAX_PASSWORD_LEN: usize = 128;

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
            created_at: u.created_at,
            updated_at: u.updated_at,
            last_login_at: u.last_login_at,
        }
    }
}

/// `POST /api/v1/users`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
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
    /// At least 12 characters; omit it to get a generated one-time password in the answer.
    #[serde(default)]
    pub password: Option<String>,
}

/// The created user, with the generated password when none was given (shown only once).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedUser {
    /// The user.
    pub user: UserView,
    /// The generated password: hand it to the user; it cannot be read again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub one_time_password: Option<String>,
}

/// `PATCH /api/v1/users/{id}`: only the fields present change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
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
    /// A new password (at least 12 characters); the answer never contains it.
    #[serde(default)]
    pub password: Option<String>,
}

fn parse_role(role: &str) -> Result<UserRole> {
    role.trim()
        .parse::<UserRole>()
        .map_err(|_| ApiError::validation("role", "one of admin, supervisor, agent"))
}

fn check_username(name: &str) -> Result<()> {
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

fn check_password(password: &str) -> Result<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN || password.len() > MAX_PASSWORD_LEN {
        return Err(ApiError::validation(
            "password",
            format!("{MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} characters"),
        ));
    }
    Ok(())
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
            check_password(&p)?;
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
/// their own role nor deactivate themself.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "User id")), request_body = UpdateUserBody,
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
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
        check_password(p)?;
    }
    let myself = caller.user_id == Some(user.id);
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
    if role.is_some() || display_name.is_some() {
        users
            .update_details(
                caller.tenant,
                user.id,
                role.unwrap_or(user.role),
                display_name.as_deref().or(user.display_name.as_deref()),
            )
            .await?;
    }
    if let Some(p) = &body.password {
        users.set_password(caller.tenant, user.id, p).await?;
    }
    if let Some(active) = body.active {
        users.set_active(caller.tenant, user.id, active).await?;
    }
    let updated = users
        .get(caller.tenant, user.id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    Ok(Json(updated.into()))
}

/// Deactivates a user (admin): they can no longer log in; their history stays. An admin
/// cannot deactivate themself.
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
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
        .await?;
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
        assert!(check_password("short").is_err());
        assert!(check_password("twelve chars").is_ok());
        assert!(parse_role("agent").is_ok());
        match parse_role("root") {
            Err(ApiError::Validation { field, .. }) => assert_eq!(field, "role"),
            other => panic!("{other:?}"),
        }
    }
}
