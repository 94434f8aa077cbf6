//! Refresh-token families: each refresh token is used once and replaced by the next one of its
//! family; a token presented a second time (a stolen copy racing its owner) revokes the whole
//! family, so the thief and the owner both have to log in again and a stolen token cannot live
//! forever. A password change revokes every family of the user.

use chrono::{DateTime, Utc};
use hookflash_provider::TenantId;
use uuid::Uuid;

use crate::db::on_db;
use crate::error::StoreError;
use crate::users::Users;
use crate::util::now;

/// A refresh token as stored (its id is the JWT's `jti`; the signed token itself is not kept).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RefreshToken {
    /// Its id.
    pub id: Uuid,
    /// The family: the first token of a login and every token that replaced it.
    pub family_id: Uuid,
    /// Its tenant.
    pub tenant_id: Uuid,
    /// Its user.
    pub user_id: Uuid,
    /// Issued.
    pub created_at: DateTime<Utc>,
    /// Refused after this.
    pub expires_at: DateTime<Utc>,
    /// When it was exchanged for a new pair; a used token is never accepted again.
    pub used_at: Option<DateTime<Utc>>,
    /// When it (or its family) was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefreshUse {
    /// The token was fresh and is now used: issue its successor in `family_id`.
    Fresh {
        /// The user it belongs to.
        user_id: Uuid,
        /// Its family, for the successor.
        family_id: Uuid,
    },
    /// The token had been used already: its whole family is now revoked.
    Reused {
        /// The revoked family.
        family_id: Uuid,
    },
    /// Unknown, another tenant's, expired or revoked.
    Refused,
}

const COLS: &str = "id, family_id, tenant_id, user_id, created_at, expires_at, used_at, revoked_at";

impl Users<'_> {
    /// Records a new refresh token for `user`, in `family` (none: the first of a new login).
    ///
    /// # Errors
    /// The database's error.
    pub async fn issue_refresh_token(
        &self,
        tenant: TenantId,
        user: Uuid,
        family: Option<Uuid>,
        expires_at: DateTime<Utc>,
    ) -> Result<RefreshToken, StoreError> {
        let id = Uuid::new_v4();
        let token = RefreshToken {
            id,
            family_id: family.unwrap_or(id),
            tenant_id: *tenant.as_uuid(),
            user_id: user,
            created_at: now(),
            expires_at,
            used_at: None,
            revoked_at: None,
        };
        let sql = "INSERT INTO refresh_tokens (id, family_id, tenant_id, user_id, created_at, \
                   expires_at) VALUES ($1, $2, $3, $4, $5, $6)";
        on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(token.id)
            .bind(token.family_id)
            .bind(token.tenant_id)
            .bind(token.user_id)
            .bind(token.created_at)
            .bind(token.expires_at)
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        Ok(token)
    }

    /// Presents refresh token `id` at time `at`: marks a fresh one used, revokes the family of
    /// one used before. The mark is a conditional update, so of two concurrent uses exactly
    /// one is fresh and the other revokes the family.
    ///
    /// # Errors
    /// The database's error.
    pub async fn use_refresh_token(
        &self,
        tenant: TenantId,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<RefreshUse, StoreError> {
        let sql = format!("SELECT {COLS} FROM refresh_tokens WHERE tenant_id = $1 AND id = $2");
        let found: Option<RefreshToken> = on_db!(&self.store.db, pool =>
            sqlx::query_as::<_, RefreshToken>(&sql)
                .bind(*tenant.as_uuid())
                .bind(id)
                .fetch_optional(pool)
                .await)?;
        let Some(token) = found else {
            return Ok(RefreshUse::Refused);
        };
        if token.revoked_at.is_some() || token.expires_at <= at {
            return Ok(RefreshUse::Refused);
        }
        if token.used_at.is_some() {
            self.revoke_refresh_family(tenant, token.family_id).await?;
            return Ok(RefreshUse::Reused {
                family_id: token.family_id,
            });
        }
        let sql = "UPDATE refresh_tokens SET used_at = $3 \
                   WHERE tenant_id = $1 AND id = $2 AND used_at IS NULL AND revoked_at IS NULL";
        let done = on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(*tenant.as_uuid())
            .bind(id)
            .bind(at)
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        if done == 1 {
            Ok(RefreshUse::Fresh {
                user_id: token.user_id,
                family_id: token.family_id,
            })
        } else {
            // Someone used it between the read and the update.
            self.revoke_refresh_family(tenant, token.family_id).await?;
            Ok(RefreshUse::Reused {
                family_id: token.family_id,
            })
        }
    }

    /// Revokes every token of a family.
    ///
    /// # Errors
    /// The database's error.
    pub async fn revoke_refresh_family(
        &self,
        tenant: TenantId,
        family: Uuid,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE refresh_tokens SET revoked_at = $3 \
                   WHERE tenant_id = $1 AND family_id = $2 AND revoked_at IS NULL";
        on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(*tenant.as_uuid())
            .bind(family)
            .bind(now())
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Revokes every refresh token of a user (a password change, a forced logout).
    ///
    /// # Errors
    /// The database's error.
    pub async fn revoke_refresh_tokens(
        &self,
        tenant: TenantId,
        user: Uuid,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE refresh_tokens SET revoked_at = $3 \
                   WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL";
        on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(*tenant.as_uuid())
            .bind(user)
            .bind(now())
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Marks a user's current password as one-time: it must be changed at the next login and
    /// stops working at `expires_at` (none: no expiry). Used right after creating a user with
    /// a generated password, without hashing it twice.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the user is not in the tenant.
    pub async fn require_password_change(
        &self,
        tenant: TenantId,
        id: Uuid,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE users SET must_change_password = TRUE, password_expires_at = $3 \
                   WHERE tenant_id = $1 AND id = $2";
        let done = on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(*tenant.as_uuid())
            .bind(id)
            .bind(expires_at)
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
