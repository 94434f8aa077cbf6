use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Utc};
use hookflash_provider::TenantId;
use uuid::Uuid;

use crate::db::{Store, on_db};
use crate::error::StoreError;
use crate::text_enum::text_enum;
use crate::util::{now, random_bytes};

text_enum! {
    /// What a user may do.
    UserRole, column = "users.role" {
        /// Everything in the tenant.
        Admin = "admin",
        /// Watches and steers agents and campaigns.
        Supervisor = "supervisor",
        /// Takes calls.
        Agent = "agent",
    }
}

/// A user (the password hash is never read back into this type).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct User {
    /// Its id.
    pub id: Uuid,
    /// Its tenant.
    pub tenant_id: Uuid,
    /// Login name, unique in the tenant.
    pub username: String,
    /// E-mail address, unique in the tenant; also accepted at login.
    pub email: Option<String>,
    /// Name to show.
    pub display_name: Option<String>,
    /// Role.
    #[sqlx(try_from = "String")]
    pub role: UserRole,
    /// A disabled user cannot log in.
    pub active: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Last successful password check.
    pub last_login_at: Option<DateTime<Utc>>,
    /// Carried in every token issued to the user; a password change bumps it, so tokens
    /// issued before the change stop working.
    pub token_version: i64,
    /// The password is a one-time password: it must be replaced before the user gets tokens.
    pub must_change_password: bool,
    /// When the one-time password stops working (none: it does not expire).
    pub password_expires_at: Option<DateTime<Utc>>,
}

/// What [`Users::create`] needs. `Debug` never shows the password.
#[derive(Clone)]
pub struct NewUser {
    /// Login name.
    pub username: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Name to show.
    pub display_name: Option<String>,
    /// The password in clear; only its argon2id hash is stored.
    pub password: String,
    /// Role.
    pub role: UserRole,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("display_name", &self.display_name)
            .field("password", &"<redacted>")
            .field("role", &self.role)
            .finish()
    }
}

/// Users of one tenant: create, find for login, verify passwords.
#[derive(Debug, Clone, Copy)]
pub struct Users<'a> {
    pub(crate) store: &'a Store,
}

pub(crate) const COLS: &str = "id, tenant_id, username, email, display_name, role, active, \
                    created_at, updated_at, last_login_at, token_version, must_change_password, \
                    password_expires_at";

/// Matches a login (username or e-mail) whatever its case: `admin` and `Admin` are one user.
const LOGIN_MATCH: &str = "(lower(username) = lower($2) OR lower(email) = lower($2))";

/// Hashes a password with argon2id (default parameters, random salt), off the async threads.
pub(crate) async fn hash_password(password: &str) -> Result<String, StoreError> {
    let password = password.to_owned();
    let salt_bytes = random_bytes::<16>();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&salt_bytes).map_err(StoreError::PasswordHash)?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(StoreError::PasswordHash)
    })
    .await
    .map_err(|_| StoreError::PasswordHash(argon2::password_hash::Error::Crypto))?
}

/// Checks a password against a stored argon2 hash, off the async threads.
pub(crate) async fn verify_password(password: &str, hash: &str) -> Result<bool, StoreError> {
    let password = password.to_owned();
    let hash = hash.to_owned();
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash).map_err(StoreError::PasswordHash)?;
        match Argon2::default().verify_password(password.as_bytes(), &parsed) {
            Ok(()) => Ok(true),
            Err(argon2::password_hash::Error::Password) => Ok(false),
            Err(e) => Err(StoreError::PasswordHash(e)),
        }
    })
    .await
    .map_err(|_| StoreError::PasswordHash(argon2::password_hash::Error::Crypto))?
}

impl Users<'_> {
    /// Creates a user with an argon2id hash of `new.password`.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the username or e-mail is taken in the tenant, whatever
    /// its case.
    pub async fn create(&self, tenant: TenantId, new: NewUser) -> Result<User, StoreError> {
        let hash = hash_password(&new.password).await?;
        let at = now();
        let user = User {
            id: Uuid::new_v4(),
            tenant_id: *tenant.as_uuid(),
            username: new.username,
            email: new.email,
            display_name: new.display_name,
            role: new.role,
            active: true,
            created_at: at,
            updated_at: at,
            last_login_at: None,
            token_version: 0,
            must_change_password: false,
            password_expires_at: None,
        };
        let sql = "INSERT INTO users (id, tenant_id, username, email, display_name, \
                   password_hash, role, active, created_at, updated_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)";
        on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(user.id)
            .bind(user.tenant_id)
            .bind(&user.username)
            .bind(&user.email)
            .bind(&user.display_name)
            .bind(&hash)
            .bind(user.role.as_str())
            .bind(user.active)
            .bind(at)
            .execute(pool)
            .await.map(|r| r.rows_affected()))
        .map_err(|e| StoreError::from_write(e, "username or email"))?;
        Ok(user)
    }

    /// The user with this id in the tenant.
    ///
    /// # Errors
    /// The database's error.
    pub async fn get(&self, tenant: TenantId, id: Uuid) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {COLS} FROM users WHERE tenant_id = $1 AND id = $2");
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, User>(&sql)
            .bind(*tenant.as_uuid())
            .bind(id)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// The user whose username or e-mail is `login` (any case), in the tenant.
    ///
    /// # Errors
    /// The database's error.
    pub async fn find_by_login(
        &self,
        tenant: TenantId,
        login: &str,
    ) -> Result<Option<User>, StoreError> {
        let sql = format!(
            "SELECT {COLS} FROM users WHERE tenant_id = $1 AND {LOGIN_MATCH} \
             ORDER BY CASE WHEN lower(username) = lower($2) THEN 0 ELSE 1 END LIMIT 1"
        );
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, User>(&sql)
            .bind(*tenant.as_uuid())
            .bind(login)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// Checks a login: the active user whose username or e-mail is `login` (any case) and
    /// whose password is `password`, or None. A success records the login time. Exactly one
    /// argon2 verification runs whether or not the user exists.
    ///
    /// # Errors
    /// The database's error, or a stored hash that does not parse.
    pub async fn verify_password(
        &self,
        tenant: TenantId,
        login: &str,
        password: &str,
    ) -> Result<Option<User>, StoreError> {
        let sql = format!(
            "SELECT id, password_hash FROM users \
             WHERE tenant_id = $1 AND {LOGIN_MATCH} AND active = TRUE \
             ORDER BY CASE WHEN lower(username) = lower($2) THEN 0 ELSE 1 END LIMIT 1"
        );
        let found: Option<(Uuid, String)> = on_db!(&self.store.db, pool => sqlx::query_as(&sql)
            .bind(*tenant.as_uuid())
            .bind(login)
            .fetch_optional(pool)
            .await)?;
        let Some((id, hash)) = found else {
            // Spend the same time as a real check so a missing user is not told apart by timing.
            self.burn_password_check(password).await;
            return Ok(None);
        };
        self.store.count_password_check();
        if !verify_password(password, &hash).await? {
            return Ok(None);
        }
        let sql = "UPDATE users SET last_login_at = $3 WHERE tenant_id = $1 AND id = $2";
        on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(*tenant.as_uuid())
            .bind(id)
            .bind(now())
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        self.get(tenant, id).await
    }

    /// Every user of the tenant, by username.
    ///
    /// # Errors
    /// The database's error.
    pub async fn list(&self, tenant: TenantId) -> Result<Vec<User>, StoreError> {
        let sql = format!("SELECT {COLS} FROM users WHERE tenant_id = $1 ORDER BY username");
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, User>(&sql)
            .bind(*tenant.as_uuid())
            .fetch_all(pool)
            .await)?,
        )
    }

    /// Runs one argon2 verification against a dummy hash and throws the answer away: a login
    /// for an unknown tenant or user costs what a real one costs, so it cannot be told apart
    /// by timing.
    pub async fn burn_password_check(&self, password: &str) {
        self.store.count_password_check();
        let _ = verify_password(password, DUMMY_HASH).await;
    }

    /// Replaces a user's password. The new one is the user's own (no change required at next
    /// login); every token issued before is revoked (the token version moves on and every
    /// refresh token is revoked).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the user is not in the tenant.
    pub async fn set_password(
        &self,
        tenant: TenantId,
        id: Uuid,
        password: &str,
    ) -> Result<(), StoreError> {
        self.set_password_hash(tenant, id, password, false, None)
            .await
    }

    /// Replaces a user's password with a one-time password: it must be changed at the next
    /// login and stops working at `expires_at` (none: no expiry). Tokens are revoked as by
    /// [`Users::set_password`].
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the user is not in the tenant.
    pub async fn set_one_time_password(
        &self,
        tenant: TenantId,
        id: Uuid,
        password: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        self.set_password_hash(tenant, id, password, true, expires_at)
            .await
    }

    async fn set_password_hash(
        &self,
        tenant: TenantId,
        id: Uuid,
        password: &str,
        one_time: bool,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let hash = hash_password(password).await?;
        let sql = "UPDATE users SET password_hash = $3, updated_at = $4, \
                   token_version = token_version + 1, must_change_password = $5, \
                   password_expires_at = $6 WHERE tenant_id = $1 AND id = $2";
        let done = on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(*tenant.as_uuid())
            .bind(id)
            .bind(hash)
            .bind(now())
            .bind(one_time)
            .bind(expires_at)
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        self.revoke_refresh_tokens(tenant, id).await
    }

    /// Enables or disables a user. The tenant's last active admin cannot be disabled.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the user is not in the tenant; [`StoreError::LastAdmin`]
    /// when it would leave the tenant without an active admin.
    pub async fn set_active(
        &self,
        tenant: TenantId,
        id: Uuid,
        active: bool,
    ) -> Result<(), StoreError> {
        self.update_keeping_an_admin(tenant, id, Some(active), None, None)
            .await
    }

    /// Deletes a user; true when one was deleted, false when there is no such user in the
    /// tenant. The tenant's last active admin is kept, as [`Users::set_active`] keeps them.
    ///
    /// # Errors
    /// [`StoreError::LastAdmin`] when it would leave the tenant without an active admin; the
    /// database's error.
    pub async fn delete(&self, tenant: TenantId, id: Uuid) -> Result<bool, StoreError> {
        self.delete_keeping_an_admin(tenant, id).await
    }
}

/// An argon2id hash of a random password, checked against when the user does not exist.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0rLkOA2h1A8bmvJZ3gbR0P1b3TqsZC+JyU7mH6bHqPY";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let hash = hash_password("s3cret").await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("s3cret", &hash).await.unwrap());
        assert!(!verify_password("wrong", &hash).await.unwrap());
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn debug_never_shows_the_password() {
        let new = NewUser {
            username: "ann".into(),
            email: None,
            display_name: None,
            password: "hunter2-but-longer".into(),
            role: UserRole::Agent,
        };
        let text = format!("{new:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("ann"), "{text}");
    }

    #[test]
    fn roles_round_trip() {
        for role in UserRole::ALL {
            assert_eq!(role.as_str().parse::<UserRole>().unwrap(), *role);
        }
        assert!("root".parse::<UserRole>().is_err());
    }
}
