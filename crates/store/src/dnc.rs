use chrono::{DateTime, Utc};
use hookflash_provider::TenantId;
use uuid::Uuid;

use crate::db::{Store, on_db};
use crate::error::StoreError;
use crate::util::{check_e164, now};

/// A number that must not be called.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DncEntry {
    /// Its tenant.
    pub tenant_id: Uuid,
    /// E.164 number.
    pub phone_number: String,
    /// Why.
    pub reason: Option<String>,
    /// Added.
    pub created_at: DateTime<Utc>,
}

/// The tenant's do-not-call list.
#[derive(Debug, Clone, Copy)]
pub struct Dnc<'a> {
    pub(crate) store: &'a Store,
}

impl Dnc<'_> {
    /// Adds a number (again: keeps the first entry, updates the reason).
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for a number not in E.164 form.
    pub async fn add(
        &self,
        tenant: TenantId,
        phone_number: &str,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        check_e164(phone_number)?;
        let sql = "INSERT INTO dnc (tenant_id, phone_number, reason, created_at) \
                   VALUES ($1, $2, $3, $4) \
                   ON CONFLICT (tenant_id, phone_number) DO UPDATE SET reason = excluded.reason";
        on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(*tenant.as_uuid())
            .bind(phone_number)
            .bind(reason)
            .bind(now())
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Removes a number; true when it was listed.
    ///
    /// # Errors
    /// The database's error.
    pub async fn remove(&self, tenant: TenantId, phone_number: &str) -> Result<bool, StoreError> {
        let sql = "DELETE FROM dnc WHERE tenant_id = $1 AND phone_number = $2";
        let done = on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(*tenant.as_uuid())
            .bind(phone_number)
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }

    /// True when the number is on the tenant's list.
    ///
    /// # Errors
    /// The database's error.
    pub async fn contains(&self, tenant: TenantId, phone_number: &str) -> Result<bool, StoreError> {
        let sql = "SELECT COUNT(*) FROM dnc WHERE tenant_id = $1 AND phone_number = $2";
        let n: i64 = on_db!(&self.store.db, pool => sqlx::query_scalar(sql)
            .bind(*tenant.as_uuid())
            .bind(phone_number)
            .fetch_one(pool)
            .await)?;
        Ok(n > 0)
    }

    /// The tenant's list, by number.
    ///
    /// # Errors
    /// The database's error.
    pub async fn list(&self, tenant: TenantId) -> Result<Vec<DncEntry>, StoreError> {
        let sql = "SELECT tenant_id, phone_number, reason, created_at FROM dnc \
                   WHERE tenant_id = $1 ORDER BY phone_number";
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, DncEntry>(sql)
            .bind(*tenant.as_uuid())
            .fetch_all(pool)
            .await)?,
        )
    }
}
