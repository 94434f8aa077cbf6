//! First start: a default tenant and an admin on an empty database.

use base64::Engine;
use hookflash_store::{NewUser, Store, UserRole};
use secrecy::{ExposeSecret, SecretString};

use crate::error::{ApiError, Result};
use crate::password::check_password;
use crate::routes::auth::DEFAULT_TENANT_SLUG;

/// The bootstrap admin's username.
pub const ADMIN_USERNAME: &str = "admin";

/// On a database without tenants, creates the `default` tenant and an `admin` user.
///
/// The admin's password is `password` when given (e.g. from `HOOKFLASH_ADMIN_PASSWORD`),
/// which must pass the same policy as every other password; otherwise a random one is drawn
/// and returned — the only time it exists in clear, for the caller to print once. A drawn
/// password is a one-time password: it must be changed at first login (`POST
/// /api/v1/auth/password`); it does not expire, since nobody else could reset it. Returns
/// `None` when nothing was generated (database not empty, or the password was given).
///
/// # Errors
/// [`ApiError::Config`] when the given password is too weak (checked before anything is
/// created); the store's error.
pub async fn ensure_default_tenant_and_admin(
    store: &Store,
    password: Option<SecretString>,
) -> Result<Option<String>> {
    if !store.tenants().list().await?.is_empty() {
        return Ok(None);
    }
    let password = password
        .map(|p| p.expose_secret().to_owned())
        .filter(|p| !p.is_empty());
    if let Some(p) = &password {
        check_password("HOOKFLASH_ADMIN_PASSWORD", p, &[ADMIN_USERNAME]).map_err(|e| {
            ApiError::Config(format!("the bootstrap admin password is refused: {e}"))
        })?;
    }
    let tenant = store
        .tenants()
        .create("Default", DEFAULT_TENANT_SLUG)
        .await?;
    let (password, generated) = match password {
        Some(p) => (p, false),
        None => (random_password(), true),
    };
    let admin = store
        .users()
        .create(
            tenant.tenant_id(),
            NewUser {
                username: ADMIN_USERNAME.to_owned(),
                email: None,
                display_name: Some("Administrator".to_owned()),
                password: password.clone(),
                role: UserRole::Admin,
            },
        )
        .await?;
    if generated {
        store
            .users()
            .require_password_change(tenant.tenant_id(), admin.id, None)
            .await?;
    }
    tracing::info!(tenant = %tenant.id, "created the default tenant and its admin");
    Ok(generated.then_some(password))
}

fn random_password() -> String {
    let mut bytes = Vec::with_capacity(32);
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes[..24])
}
