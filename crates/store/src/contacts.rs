use chrono::{DateTime, Utc};
use hookflash_provider::TenantId;
use sqlx::types::Json;
use uuid::Uuid;

use crate::db::{Dialect, Store, on_db};
use crate::error::StoreError;
use crate::text_enum::text_enum;
use crate::util::{check_e164, now};

text_enum! {
    /// Where a contact stands in its campaign.
    ContactStatus, column = "contacts.status" {
        /// Waiting to be dialed (now or at `next_attempt_at`).
        Pending = "pending",
        /// Being dialed.
        Dialing = "dialing",
        /// Reached; done.
        Completed = "completed",
        /// Out of attempts.
        Failed = "failed",
        /// On the do-not-call list.
        DoNotCall = "dnc",
        /// Removed from dialing by hand.
        Cancelled = "cancelled",
    }
}

/// A person to call.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Contact {
    /// Its id.
    pub id: Uuid,
    /// Its tenant.
    pub tenant_id: Uuid,
    /// The campaign it belongs to.
    pub campaign_id: Option<Uuid>,
    /// E.164 number.
    pub phone_number: String,
    /// Name.
    pub name: Option<String>,
    /// Free-form attributes (shown to the agent, used in scripts).
    #[sqlx(json)]
    pub attributes: serde_json::Value,
    /// Status.
    #[sqlx(try_from = "String")]
    pub status: ContactStatus,
    /// Attempts made.
    pub attempts: i64,
    /// Not before this time.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last attempt's disposition.
    pub last_disposition: Option<String>,
    /// IANA time zone of the contact, for the calling window.
    pub time_zone: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// What [`Contacts::create`] needs.
#[derive(Debug, Clone)]
pub struct NewContact {
    /// The campaign.
    pub campaign_id: Option<Uuid>,
    /// E.164 number.
    pub phone_number: String,
    /// Name.
    pub name: Option<String>,
    /// Attributes (a JSON object).
    pub attributes: serde_json::Value,
    /// IANA time zone.
    pub time_zone: Option<String>,
}

/// Filters for [`Contacts::list`]; every field narrows.
#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    /// In this campaign.
    pub campaign_id: Option<Uuid>,
    /// In this status.
    pub status: Option<ContactStatus>,
    /// With this number.
    pub phone_number: Option<String>,
    /// At most this many (default 100).
    pub limit: Option<i64>,
    /// Skip this many.
    pub offset: Option<i64>,
}

/// Contacts.
#[derive(Debug, Clone, Copy)]
pub struct Contacts<'a> {
    pub(crate) store: &'a Store,
}

const COLS: &str = "id, tenant_id, campaign_id, phone_number, name, attributes, status, attempts, \
                    next_attempt_at, last_disposition, time_zone, created_at, updated_at";

impl Contacts<'_> {
    /// Creates contacts (pending, no attempts) in one transaction; returns their ids in order.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for a number not in E.164 form (nothing is written).
    pub async fn create_many(
        &self,
        tenant: TenantId,
        new: &[NewContact],
    ) -> Result<Vec<Uuid>, StoreError> {
        for c in new {
            check_e164(&c.phone_number)?;
        }
        let at = now();
        let ids: Vec<Uuid> = new.iter().map(|_| Uuid::new_v4()).collect();
        let sql = format!(
            "INSERT INTO contacts ({COLS}) VALUES \
             ($1, $2, $3, $4, $5, $6, 'pending', 0, NULL, NULL, $7, $8, $8)"
        );
        on_db!(&self.store.db, pool => {
            let mut tx = pool.begin().await?;
            for (id, c) in ids.iter().zip(new) {
                sqlx::query(&sql)
                    .bind(*id)
                    .bind(*tenant.as_uuid())
                    .bind(c.campaign_id)
                    .bind(&c.phone_number)
                    .bind(&c.name)
                    .bind(Json(&c.attributes))
                    .bind(&c.time_zone)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        })?;
        Ok(ids)
    }

    /// Creates one contact.
    ///
    /// # Errors
    /// As [`Contacts::create_many`].
    pub async fn create(&self, tenant: TenantId, new: NewContact) -> Result<Contact, StoreError> {
        let ids = self.create_many(tenant, std::slice::from_ref(&new)).await?;
        let id = ids.first().copied().ok_or(StoreError::NotFound)?;
        self.get(tenant, id).await?.ok_or(StoreError::NotFound)
    }

    /// The contact with this id in the tenant.
    ///
    /// # Errors
    /// The database's error.
    pub async fn get(&self, tenant: TenantId, id: Uuid) -> Result<Option<Contact>, StoreError> {
        let sql = format!("SELECT {COLS} FROM contacts WHERE tenant_id = $1 AND id = $2");
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, Contact>(&sql)
            .bind(*tenant.as_uuid())
            .bind(id)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// The tenant's contacts matching `filter`, oldest first.
    ///
    /// # Errors
    /// The database's error.
    pub async fn list(
        &self,
        tenant: TenantId,
        filter: &ContactFilter,
    ) -> Result<Vec<Contact>, StoreError> {
        let sql = format!(
            "SELECT {COLS} FROM contacts WHERE tenant_id = $1 \
             AND ($2 IS NULL OR campaign_id = $2) AND ($3 IS NULL OR status = $3) \
             AND ($4 IS NULL OR phone_number = $4) \
             ORDER BY created_at, id LIMIT $5 OFFSET $6"
        );
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, Contact>(&sql)
            .bind(*tenant.as_uuid())
            .bind(filter.campaign_id)
            .bind(filter.status.map(|s| s.as_str()))
            .bind(&filter.phone_number)
            .bind(filter.limit.unwrap_or(100))
            .bind(filter.offset.unwrap_or(0))
            .fetch_all(pool)
            .await)?,
        )
    }

    /// Pending contacts of a campaign whose next attempt is due at `at`, not on the
    /// do-not-call list, fewest attempts first.
    ///
    /// # Errors
    /// The database's error.
    pub async fn due(
        &self,
        tenant: TenantId,
        campaign_id: Uuid,
        at: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Contact>, StoreError> {
        let sql = format!(
            "SELECT {COLS} FROM contacts c WHERE tenant_id = $1 AND campaign_id = $2 \
             AND status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= $3) \
             AND NOT EXISTS (SELECT 1 FROM dnc d \
                             WHERE d.tenant_id = c.tenant_id AND d.phone_number = c.phone_number) \
             ORDER BY attempts, next_attempt_at, created_at, id LIMIT $4"
        );
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, Contact>(&sql)
            .bind(*tenant.as_uuid())
            .bind(campaign_id)
            .bind(at)
            .bind(limit)
            .fetch_all(pool)
            .await)?,
        )
    }

    /// Takes up to `limit` due contacts (as [`Contacts::due`]) for dialing: marks them
    /// `dialing` and returns them, atomically, so two dialers never take the same contact
    /// (PostgreSQL skips rows another transaction is taking; SQLite has one writer).
    ///
    /// # Errors
    /// The database's error.
    pub async fn claim_due(
        &self,
        tenant: TenantId,
        campaign_id: Uuid,
        at: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Contact>, StoreError> {
        let lock = match self.store.dialect() {
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        let sql = format!(
            "WITH picked AS MATERIALIZED (SELECT id FROM contacts c WHERE tenant_id = $1 \
             AND campaign_id = $2 AND status = 'pending' \
             AND (next_attempt_at IS NULL OR next_attempt_at <= $3) \
             AND NOT EXISTS (SELECT 1 FROM dnc d \
                             WHERE d.tenant_id = c.tenant_id AND d.phone_number = c.phone_number) \
             ORDER BY attempts, next_attempt_at, created_at, id LIMIT $4{lock}) \
             UPDATE contacts SET status = 'dialing', updated_at = $5 \
             WHERE tenant_id = $1 AND id IN (SELECT id FROM picked) \
             RETURNING {COLS}"
        );
        let mut claimed: Vec<Contact> = on_db!(&self.store.db, pool => sqlx::query_as::<_, Contact>(&sql)
            .bind(*tenant.as_uuid())
            .bind(campaign_id)
            .bind(at)
            .bind(limit)
            .bind(now())
            .fetch_all(pool)
            .await)?;
        // RETURNING gives no order; keep the one `due` promises.
        claimed.sort_by(|a, b| {
            (a.attempts, a.next_attempt_at, a.created_at, a.id).cmp(&(
                b.attempts,
                b.next_attempt_at,
                b.created_at,
                b.id,
            ))
        });
        Ok(claimed)
    }

    /// Records an attempt: one more attempt, its disposition, the new status and when to try
    /// next.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the contact is not in the tenant.
    pub async fn record_attempt(
        &self,
        tenant: TenantId,
        id: Uuid,
        disposition: &str,
        status: ContactStatus,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<Contact, StoreError> {
        let sql = "UPDATE contacts SET attempts = attempts + 1, last_disposition = $3, \
                   status = $4, next_attempt_at = $5, updated_at = $6 \
                   WHERE tenant_id = $1 AND id = $2";
        let done = on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(*tenant.as_uuid())
            .bind(id)
            .bind(disposition)
            .bind(status.as_str())
            .bind(next_attempt_at)
            .bind(now())
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        self.get(tenant, id).await?.ok_or(StoreError::NotFound)
    }

    /// Sets a contact's status.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the contact is not in the tenant.
    pub async fn set_status(
        &self,
        tenant: TenantId,
        id: Uuid,
        status: ContactStatus,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE contacts SET status = $3, updated_at = $4 \
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

    /// Deletes a contact; true when one was deleted.
    ///
    /// # Errors
    /// The database's error.
    pub async fn delete(&self, tenant: TenantId, id: Uuid) -> Result<bool, StoreError> {
        let sql = "DELETE FROM contacts WHERE tenant_id = $1 AND id = $2";
        let done = on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(*tenant.as_uuid())
            .bind(id)
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }
}
