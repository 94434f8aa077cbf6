use chrono::{DateTime, Utc};
use hookflash_provider::TenantId;
use uuid::Uuid;

use crate::db::{Dialect, Store, on_db};
use crate::error::StoreError;
use crate::util::{check_e164, now};

/// A number of ours, presented as caller ID or dialed inbound.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Did {
    /// Its id.
    pub id: Uuid,
    /// Its tenant.
    pub tenant_id: Uuid,
    /// E.164 number, unique in the tenant.
    pub number: String,
    /// The campaign it serves, if any.
    pub campaign_id: Option<Uuid>,
    /// Share in rotation (higher first among equally rested numbers).
    pub weight: i64,
    /// Inactive numbers are not used.
    pub active: bool,
    /// Last presented.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Times presented.
    pub use_count: i64,
    /// Added.
    pub created_at: DateTime<Utc>,
}

/// The tenant's DIDs.
#[derive(Debug, Clone, Copy)]
pub struct Dids<'a> {
    pub(crate) store: &'a Store,
}

const COLS: &str =
    "id, tenant_id, number, campaign_id, weight, active, last_used_at, use_count, created_at";

impl Dids<'_> {
    /// Adds a DID, active and unused.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for a number not in E.164 form, [`StoreError::Conflict`]
    /// when the tenant has it already.
    pub async fn create(
        &self,
        tenant: TenantId,
        number: &str,
        campaign_id: Option<Uuid>,
        weight: i64,
    ) -> Result<Did, StoreError> {
        check_e164(number)?;
        let did = Did {
            id: Uuid::new_v4(),
            tenant_id: *tenant.as_uuid(),
            number: number.to_owned(),
            campaign_id,
            weight,
            active: true,
            last_used_at: None,
            use_count: 0,
            created_at: now(),
        };
        let sql = format!("INSERT INTO dids ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, NULL, 0, $7)");
        on_db!(&self.store.db, pool => sqlx::query(&sql)
            .bind(did.id)
            .bind(did.tenant_id)
            .bind(&did.number)
            .bind(did.campaign_id)
            .bind(did.weight)
            .bind(did.active)
            .bind(did.created_at)
            .execute(pool)
            .await.map(|r| r.rows_affected()))
        .map_err(|e| StoreError::from_write(e, "did number"))?;
        Ok(did)
    }

    /// The DID with this id in the tenant.
    ///
    /// # Errors
    /// The database's error.
    pub async fn get(&self, tenant: TenantId, id: Uuid) -> Result<Option<Did>, StoreError> {
        let sql = format!("SELECT {COLS} FROM dids WHERE tenant_id = $1 AND id = $2");
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, Did>(&sql)
            .bind(*tenant.as_uuid())
            .bind(id)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// The DID with this number in the tenant (inbound routing).
    ///
    /// # Errors
    /// The database's error.
    pub async fn get_by_number(
        &self,
        tenant: TenantId,
        number: &str,
    ) -> Result<Option<Did>, StoreError> {
        let sql = format!("SELECT {COLS} FROM dids WHERE tenant_id = $1 AND number = $2");
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, Did>(&sql)
            .bind(*tenant.as_uuid())
            .bind(number)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// The tenant's DIDs, optionally of one campaign, by number.
    ///
    /// # Errors
    /// The database's error.
    pub async fn list(
        &self,
        tenant: TenantId,
        campaign_id: Option<Uuid>,
    ) -> Result<Vec<Did>, StoreError> {
        let sql = format!(
            "SELECT {COLS} FROM dids WHERE tenant_id = $1 AND ($2 IS NULL OR campaign_id = $2) \
             ORDER BY number"
        );
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, Did>(&sql)
            .bind(*tenant.as_uuid())
            .bind(campaign_id)
            .fetch_all(pool)
            .await)?,
        )
    }

    /// Picks the next DID to present for a campaign (or among the tenant's unassigned ones when
    /// `campaign_id` is None) and records its use, atomically: the active DID unused longest,
    /// higher weight first among equals.
    ///
    /// # Errors
    /// The database's error.
    pub async fn take_next(
        &self,
        tenant: TenantId,
        campaign_id: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> Result<Option<Did>, StoreError> {
        // One statement, so the pick and its use are atomic; on PostgreSQL concurrent callers
        // skip a row another caller is taking instead of both getting it.
        let lock = match self.store.dialect() {
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        let sql = format!(
            "UPDATE dids SET last_used_at = $3, use_count = use_count + 1 \
             WHERE tenant_id = $1 AND id = (SELECT id FROM dids WHERE tenant_id = $1 \
             AND active = TRUE AND (($2 IS NULL AND campaign_id IS NULL) OR campaign_id = $2) \
             ORDER BY (last_used_at IS NOT NULL), last_used_at, weight DESC, number LIMIT 1{lock}) \
             RETURNING {COLS}"
        );
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, Did>(&sql)
            .bind(*tenant.as_uuid())
            .bind(campaign_id)
            .bind(at)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// Activates or deactivates a DID.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when it is not in the tenant.
    pub async fn set_active(
        &self,
        tenant: TenantId,
        id: Uuid,
        active: bool,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE dids SET active = $3 WHERE tenant_id = $1 AND id = $2";
        let done = on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(*tenant.as_uuid())
            .bind(id)
            .bind(active)
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Deletes a DID; true when one was deleted.
    ///
    /// # Errors
    /// The database's error.
    pub async fn delete(&self, tenant: TenantId, id: Uuid) -> Result<bool, StoreError> {
        let sql = "DELETE FROM dids WHERE tenant_id = $1 AND id = $2";
        let done = on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(*tenant.as_uuid())
            .bind(id)
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }
}
