use chrono::{DateTime, Utc};
use hookflash_provider::TenantId;
use sqlx::types::Json;
use uuid::Uuid;

use crate::db::{Store, on_db};
use crate::error::StoreError;
use crate::util::{constant_time_eq, now, random_bytes, sha256_hex, to_hex};

/// The text every key starts with, so leaked keys are easy to recognise (and to scan for).
pub const API_KEY_PREFIX: &str = "hfk_";

/// An api key as stored: the secret itself is never stored, only its SHA-256.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ApiKey {
    /// Its id.
    pub id: Uuid,
    /// Its tenant.
    pub tenant_id: Uuid,
    /// The user it acts as, if any.
    pub user_id: Option<Uuid>,
    /// A label.
    pub name: String,
    /// The visible, non-secret part of the key (`hfk_<prefix>_...`), shown in listings.
    pub prefix: String,
    /// What the key may do.
    #[sqlx(json)]
    pub scopes: Vec<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last successful verification.
    pub last_used_at: Option<DateTime<Utc>>,
    /// After this the key is refused.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked; a revoked key is refused.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    /// The tenant as the typed id.
    pub fn tenant(&self) -> TenantId {
        TenantId::from_uuid(self.tenant_id)
    }

    /// True when the key grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope || s == "*")
    }
}

/// What [`ApiKeys::create`] needs.
#[derive(Debug, Clone, Default)]
pub struct NewApiKey {
    /// A label.
    pub name: String,
    /// The user it acts as.
    pub user_id: Option<Uuid>,
    /// What it may do (`*` for everything).
    pub scopes: Vec<String>,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A freshly created key: the secret is returned this once and never again. `Debug` never
/// shows it.
#[derive(Clone)]
pub struct CreatedApiKey {
    /// The stored key.
    pub key: ApiKey,
    /// The whole secret to hand to the client: `hfk_<prefix>_<secret>`.
    pub secret: String,
}

impl std::fmt::Debug for CreatedApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedApiKey")
            .field("key", &self.key)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Api keys: created per tenant, verified from the presented secret alone.
#[derive(Debug, Clone, Copy)]
pub struct ApiKeys<'a> {
    pub(crate) store: &'a Store,
}

const COLS: &str = "id, tenant_id, user_id, name, prefix, scopes, created_at, last_used_at, \
                    expires_at, revoked_at";

/// Splits `hfk_<prefix>_<secret>` into its prefix.
fn parse_prefix(presented: &str) -> Option<&str> {
    let rest = presented.strip_prefix(API_KEY_PREFIX)?;
    let (prefix, secret) = rest.split_once('_')?;
    (!prefix.is_empty() && !secret.is_empty()).then_some(prefix)
}

impl ApiKeys<'_> {
    /// Creates a key; the returned secret is the only copy.
    ///
    /// # Errors
    /// The database's error.
    pub async fn create(
        &self,
        tenant: TenantId,
        new: NewApiKey,
    ) -> Result<CreatedApiKey, StoreError> {
        let prefix = to_hex(&random_bytes::<6>());
        let secret = format!("{API_KEY_PREFIX}{prefix}_{}", to_hex(&random_bytes::<32>()));
        let key = ApiKey {
            id: Uuid::new_v4(),
            tenant_id: *tenant.as_uuid(),
            user_id: new.user_id,
            name: new.name,
            prefix,
            scopes: new.scopes,
            created_at: now(),
            last_used_at: None,
            expires_at: new.expires_at,
            revoked_at: None,
        };
        let sql = "INSERT INTO api_keys (id, tenant_id, user_id, name, prefix, secret_hash, \
                   scopes, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
        on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(key.id)
            .bind(key.tenant_id)
            .bind(key.user_id)
            .bind(&key.name)
            .bind(&key.prefix)
            .bind(sha256_hex(&secret))
            .bind(Json(&key.scopes))
            .bind(key.created_at)
            .bind(key.expires_at)
            .execute(pool)
            .await.map(|r| r.rows_affected()))
        .map_err(|e| StoreError::from_write(e, "api key prefix"))?;
        Ok(CreatedApiKey { key, secret })
    }

    /// Checks a presented key: the live (not revoked, not expired) key it names, or None.
    /// A success records the time of use.
    ///
    /// This is the one lookup without a tenant argument: the key is what tells the tenant.
    ///
    /// # Errors
    /// The database's error.
    pub async fn verify(&self, presented: &str) -> Result<Option<ApiKey>, StoreError> {
        let Some(prefix) = parse_prefix(presented) else {
            return Ok(None);
        };
        let sql = format!("SELECT {COLS}, secret_hash FROM api_keys WHERE prefix = $1");
        let row: Option<(ApiKey, String)> = on_db!(&self.store.db, pool => {
            use sqlx::Row;
            let row = sqlx::query(&sql).bind(prefix).fetch_optional(pool).await?;
            match row {
                Some(row) => {
                    let key = <ApiKey as sqlx::FromRow<_>>::from_row(&row)?;
                    let hash: String = row.try_get("secret_hash")?;
                    Ok::<_, sqlx::Error>(Some((key, hash)))
                }
                None => Ok(None),
            }
        })?;
        let Some((mut key, hash)) = row else {
            return Ok(None);
        };
        let at = now();
        if !constant_time_eq(hash.as_bytes(), sha256_hex(presented).as_bytes())
            || key.revoked_at.is_some()
            || key.expires_at.is_some_and(|e| e <= at)
        {
            return Ok(None);
        }
        let sql = "UPDATE api_keys SET last_used_at = $2 WHERE id = $1";
        on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(key.id)
            .bind(at)
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        key.last_used_at = Some(at);
        Ok(Some(key))
    }

    /// The key with this id in the tenant.
    ///
    /// # Errors
    /// The database's error.
    pub async fn get(&self, tenant: TenantId, id: Uuid) -> Result<Option<ApiKey>, StoreError> {
        let sql = format!("SELECT {COLS} FROM api_keys WHERE tenant_id = $1 AND id = $2");
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, ApiKey>(&sql)
            .bind(*tenant.as_uuid())
            .bind(id)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// The tenant's keys, newest first.
    ///
    /// # Errors
    /// The database's error.
    pub async fn list(&self, tenant: TenantId) -> Result<Vec<ApiKey>, StoreError> {
        let sql = format!(
            "SELECT {COLS} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at DESC, id"
        );
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, ApiKey>(&sql)
            .bind(*tenant.as_uuid())
            .fetch_all(pool)
            .await)?,
        )
    }

    /// Revokes a key; true when a live key of the tenant was revoked.
    ///
    /// # Errors
    /// The database's error.
    pub async fn revoke(&self, tenant: TenantId, id: Uuid) -> Result<bool, StoreError> {
        let sql = "UPDATE api_keys SET revoked_at = $3 \
                   WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL";
        let done = on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(*tenant.as_uuid())
            .bind(id)
            .bind(now())
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let created = CreatedApiKey {
            key: ApiKey {
                id: Uuid::nil(),
                tenant_id: Uuid::nil(),
                user_id: None,
                name: "crm".into(),
                prefix: "abc".into(),
                scopes: vec!["agent".into()],
                created_at: now(),
                last_used_at: None,
                expires_at: None,
                revoked_at: None,
            },
            secret: "hfk_abc_0123456789deadbeef".into(),
        };
        let text = format!("{created:?}");
        assert!(!text.contains("0123456789deadbeef"), "{text}");
        assert!(text.contains("abc"), "{text}");
    }

    #[test]
    fn parses_prefix() {
        assert_eq!(parse_prefix("hfk_abc_def"), Some("abc"));
        assert_eq!(parse_prefix("hfk_abc_"), None);
        assert_eq!(parse_prefix("xyz_abc_def"), None);
        assert_eq!(parse_prefix("hfk_abc"), None);
    }
}
