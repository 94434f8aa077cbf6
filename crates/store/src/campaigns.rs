use chrono::{DateTime, Utc};
use hookflash_provider::TenantId;
use sqlx::types::Json;
use uuid::Uuid;

use crate::db::{Store, on_db};
use crate::error::StoreError;
use crate::text_enum::text_enum;
use crate::util::now;

text_enum! {
    /// How a campaign dials.
    CampaignMode, column = "campaigns.mode" {
        /// The agent sees the contact first and starts the call.
        Preview = "preview",
        /// One call per free agent.
        Progressive = "progressive",
        /// More calls than free agents, paced by the dial ratio and the abandon rate.
        Predictive = "predictive",
    }
}

text_enum! {
    /// Where a campaign stands.
    CampaignStatus, column = "campaigns.status" {
        /// Being set up.
        Draft = "draft",
        /// Dialing.
        Active = "active",
        /// Stopped for now.
        Paused = "paused",
        /// Done.
        Completed = "completed",
        /// Kept for reports only.
        Archived = "archived",
    }
}

text_enum! {
    /// Which caller ID a campaign presents.
    CallerIdStrategy, column = "campaigns.caller_id_strategy" {
        /// Always `caller_id`.
        Fixed = "fixed",
        /// Rotate over the campaign's DIDs.
        Rotate = "rotate",
        /// A DID with the callee's area code when there is one.
        LocalPresence = "local_presence",
    }
}

/// A dialing campaign.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Campaign {
    /// Its id.
    pub id: Uuid,
    /// Its tenant.
    pub tenant_id: Uuid,
    /// Name, unique in the tenant.
    pub name: String,
    /// Dialing mode.
    #[sqlx(try_from = "String")]
    pub mode: CampaignMode,
    /// Status.
    #[sqlx(try_from = "String")]
    pub status: CampaignStatus,
    /// Calls per free agent (predictive).
    pub dial_ratio: f64,
    /// Highest abandon rate allowed, 0..1 (predictive).
    pub max_abandon_rate: f64,
    /// Caller ID strategy.
    #[sqlx(try_from = "String")]
    pub caller_id_strategy: CallerIdStrategy,
    /// The fixed caller ID.
    pub caller_id: Option<String>,
    /// Start of the calling window, `HH:MM` in the contact's (or the campaign's) time zone.
    pub window_start: String,
    /// End of the calling window, `HH:MM`.
    pub window_end: String,
    /// IANA time zone of the window when the contact has none.
    pub time_zone: String,
    /// Most attempts per contact.
    pub max_attempts: i64,
    /// Wait between attempts.
    pub retry_delay_secs: i64,
    /// Dispositions that earn a retry.
    #[sqlx(json)]
    pub retry_dispositions: Vec<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// The editable part of a campaign.
#[derive(Debug, Clone)]
pub struct NewCampaign {
    /// Name.
    pub name: String,
    /// Mode.
    pub mode: CampaignMode,
    /// Status.
    pub status: CampaignStatus,
    /// Calls per free agent.
    pub dial_ratio: f64,
    /// Highest abandon rate allowed.
    pub max_abandon_rate: f64,
    /// Caller ID strategy.
    pub caller_id_strategy: CallerIdStrategy,
    /// The fixed caller ID.
    pub caller_id: Option<String>,
    /// Window start, `HH:MM`.
    pub window_start: String,
    /// Window end, `HH:MM`.
    pub window_end: String,
    /// IANA time zone.
    pub time_zone: String,
    /// Most attempts per contact.
    pub max_attempts: i64,
    /// Wait between attempts.
    pub retry_delay_secs: i64,
    /// Dispositions that earn a retry.
    pub retry_dispositions: Vec<String>,
}

impl NewCampaign {
    /// A draft campaign with common defaults: 09:00-20:00 UTC, 3 attempts an hour apart.
    pub fn new(name: impl Into<String>, mode: CampaignMode) -> Self {
        Self {
            name: name.into(),
            mode,
            status: CampaignStatus::Draft,
            dial_ratio: 1.0,
            max_abandon_rate: 0.03,
            caller_id_strategy: CallerIdStrategy::Fixed,
            caller_id: None,
            window_start: "09:00".into(),
            window_end: "20:00".into(),
            time_zone: "UTC".into(),
            max_attempts: 3,
            retry_delay_secs: 3600,
            retry_dispositions: vec!["no_answer".into(), "busy".into()],
        }
    }
}

/// Campaigns.
#[derive(Debug, Clone, Copy)]
pub struct Campaigns<'a> {
    pub(crate) store: &'a Store,
}

const COLS: &str = "id, tenant_id, name, mode, status, dial_ratio, max_abandon_rate, \
                    caller_id_strategy, caller_id, window_start, window_end, time_zone, \
                    max_attempts, retry_delay_secs, retry_dispositions, created_at, updated_at";

impl Campaigns<'_> {
    /// Creates a campaign.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the name is taken in the tenant.
    pub async fn create(&self, tenant: TenantId, new: NewCampaign) -> Result<Campaign, StoreError> {
        let id = Uuid::new_v4();
        let at = now();
        let sql = format!(
            "INSERT INTO campaigns ({COLS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)"
        );
        on_db!(&self.store.db, pool => sqlx::query(&sql)
            .bind(id)
            .bind(*tenant.as_uuid())
            .bind(&new.name)
            .bind(new.mode.as_str())
            .bind(new.status.as_str())
            .bind(new.dial_ratio)
            .bind(new.max_abandon_rate)
            .bind(new.caller_id_strategy.as_str())
            .bind(&new.caller_id)
            .bind(&new.window_start)
            .bind(&new.window_end)
            .bind(&new.time_zone)
            .bind(new.max_attempts)
            .bind(new.retry_delay_secs)
            .bind(Json(&new.retry_dispositions))
            .bind(at)
            .execute(pool)
            .await.map(|r| r.rows_affected()))
        .map_err(|e| StoreError::from_write(e, "campaign name"))?;
        self.get(tenant, id).await?.ok_or(StoreError::NotFound)
    }

    /// The campaign with this id in the tenant.
    ///
    /// # Errors
    /// The database's error.
    pub async fn get(&self, tenant: TenantId, id: Uuid) -> Result<Option<Campaign>, StoreError> {
        let sql = format!("SELECT {COLS} FROM campaigns WHERE tenant_id = $1 AND id = $2");
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, Campaign>(&sql)
            .bind(*tenant.as_uuid())
            .bind(id)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// The tenant's campaigns, optionally in one status, by name.
    ///
    /// # Errors
    /// The database's error.
    pub async fn list(
        &self,
        tenant: TenantId,
        status: Option<CampaignStatus>,
    ) -> Result<Vec<Campaign>, StoreError> {
        let sql = format!(
            "SELECT {COLS} FROM campaigns WHERE tenant_id = $1 AND ($2 IS NULL OR status = $2) \
             ORDER BY name, id"
        );
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, Campaign>(&sql)
            .bind(*tenant.as_uuid())
            .bind(status.map(|s| s.as_str()))
            .fetch_all(pool)
            .await)?,
        )
    }

    /// Replaces a campaign's editable fields.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when it is not in the tenant.
    pub async fn update(
        &self,
        tenant: TenantId,
        id: Uuid,
        new: NewCampaign,
    ) -> Result<Campaign, StoreError> {
        let sql = "UPDATE campaigns SET name = $3, mode = $4, status = $5, dial_ratio = $6, \
                   max_abandon_rate = $7, caller_id_strategy = $8, caller_id = $9, \
                   window_start = $10, window_end = $11, time_zone = $12, max_attempts = $13, \
                   retry_delay_secs = $14, retry_dispositions = $15, updated_at = $16 \
                   WHERE tenant_id = $1 AND id = $2";
        let done = on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(*tenant.as_uuid())
            .bind(id)
            .bind(&new.name)
            .bind(new.mode.as_str())
            .bind(new.status.as_str())
            .bind(new.dial_ratio)
            .bind(new.max_abandon_rate)
            .bind(new.caller_id_strategy.as_str())
            .bind(&new.caller_id)
            .bind(&new.window_start)
            .bind(&new.window_end)
            .bind(&new.time_zone)
            .bind(new.max_attempts)
            .bind(new.retry_delay_secs)
            .bind(Json(&new.retry_dispositions))
            .bind(now())
            .execute(pool)
            .await.map(|r| r.rows_affected()))
        .map_err(|e| StoreError::from_write(e, "campaign name"))?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        self.get(tenant, id).await?.ok_or(StoreError::NotFound)
    }

    /// Changes a campaign's status.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when it is not in the tenant.
    pub async fn set_status(
        &self,
        tenant: TenantId,
        id: Uuid,
        status: CampaignStatus,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE campaigns SET status = $3, updated_at = $4 \
                   WHERE tenant_id = $1 AND id = $2";
        let done = on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(*tenant.as_uuid())
            .bind(id)
            .bind(status.as_str())
            .bind(now())
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Deletes a campaign and its contacts; true when one was deleted.
    ///
    /// # Errors
    /// The database's error.
    pub async fn delete(&self, tenant: TenantId, id: Uuid) -> Result<bool, StoreError> {
        let sql = "DELETE FROM campaigns WHERE tenant_id = $1 AND id = $2";
        let done = on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(*tenant.as_uuid())
            .bind(id)
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }
}
