use chrono::{DateTime, Utc};
use hookflash_provider::{CallId, RecordingId, TenantId};
use sqlx::types::Json;
use uuid::Uuid;

use crate::db::{Store, on_db};
use crate::error::StoreError;
use crate::util::now;

/// A prompt or music file of a tenant.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Sound {
    /// Its id.
    pub id: Uuid,
    /// Its tenant.
    pub tenant_id: Uuid,
    /// Name, unique in the tenant (what `sound:` URIs use).
    pub name: String,
    /// Formats it exists in (`wav`, `ulaw`, ...).
    #[sqlx(json)]
    pub formats: Vec<String>,
    /// Total size in bytes.
    pub size_bytes: i64,
    /// Added.
    pub created_at: DateTime<Utc>,
}

/// A recording of a call.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Recording {
    /// Its id.
    pub id: Uuid,
    /// Its tenant.
    pub tenant_id: Uuid,
    /// The call recorded.
    pub call_id: Option<Uuid>,
    /// Where the file is, unique in the tenant.
    pub path: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Length in milliseconds.
    pub duration_ms: i64,
    /// File format.
    pub format: String,
    /// Added.
    pub created_at: DateTime<Utc>,
    /// The caller's label for it (metadata only: never part of the file's name).
    pub label: Option<String>,
    /// When it was stopped through the API ([`Recordings::stop`]).
    pub stopped_at: Option<DateTime<Utc>>,
}

/// A recording that has just started, as [`Recordings::start`] stores it.
#[derive(Debug, Clone)]
pub struct StartedRecording {
    /// Our id of the recording (the row's id).
    pub id: RecordingId,
    /// The call recorded.
    pub call_id: CallId,
    /// The provider's name of the recording (file path, ARI recording name or Twilio SID),
    /// built by hookflash from its ids.
    pub path: String,
    /// File format.
    pub format: String,
    /// The caller's label, metadata only.
    pub label: Option<String>,
}

/// What [`Recordings::upsert`] needs.
#[derive(Debug, Clone)]
pub struct NewRecording {
    /// The call recorded.
    pub call_id: Option<CallId>,
    /// Where the file is.
    pub path: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Length in milliseconds.
    pub duration_ms: i64,
    /// File format.
    pub format: String,
}

/// The tenant's sounds.
#[derive(Debug, Clone, Copy)]
pub struct Sounds<'a> {
    pub(crate) store: &'a Store,
}

/// The tenant's recordings.
#[derive(Debug, Clone, Copy)]
pub struct Recordings<'a> {
    pub(crate) store: &'a Store,
}

const SOUND_COLS: &str = "id, tenant_id, name, formats, size_bytes, created_at";
const REC_INSERT_COLS: &str =
    "id, tenant_id, call_id, path, size_bytes, duration_ms, format, created_at";
const REC_COLS: &str =
    "id, tenant_id, call_id, path, size_bytes, duration_ms, format, created_at, label, stopped_at";

impl Sounds<'_> {
    /// Adds a sound or replaces the one with that name (keeping its id).
    ///
    /// # Errors
    /// The database's error.
    pub async fn upsert(
        &self,
        tenant: TenantId,
        name: &str,
        formats: &[String],
        size_bytes: i64,
    ) -> Result<Sound, StoreError> {
        let sql = format!(
            "INSERT INTO sounds ({SOUND_COLS}) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (tenant_id, name) DO UPDATE SET formats = excluded.formats, \
             size_bytes = excluded.size_bytes"
        );
        on_db!(&self.store.db, pool => sqlx::query(&sql)
            .bind(Uuid::new_v4())
            .bind(*tenant.as_uuid())
            .bind(name)
            .bind(Json(formats))
            .bind(size_bytes)
            .bind(now())
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        self.get_by_name(tenant, name)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// The sound with this name in the tenant.
    ///
    /// # Errors
    /// The database's error.
    pub async fn get_by_name(
        &self,
        tenant: TenantId,
        name: &str,
    ) -> Result<Option<Sound>, StoreError> {
        let sql = format!("SELECT {SOUND_COLS} FROM sounds WHERE tenant_id = $1 AND name = $2");
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, Sound>(&sql)
            .bind(*tenant.as_uuid())
            .bind(name)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// The sound with this id in the tenant.
    ///
    /// # Errors
    /// The database's error.
    pub async fn get(&self, tenant: TenantId, id: Uuid) -> Result<Option<Sound>, StoreError> {
        let sql = format!("SELECT {SOUND_COLS} FROM sounds WHERE tenant_id = $1 AND id = $2");
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, Sound>(&sql)
            .bind(*tenant.as_uuid())
            .bind(id)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// The tenant's sounds, by name.
    ///
    /// # Errors
    /// The database's error.
    pub async fn list(&self, tenant: TenantId) -> Result<Vec<Sound>, StoreError> {
        let sql = format!("SELECT {SOUND_COLS} FROM sounds WHERE tenant_id = $1 ORDER BY name");
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, Sound>(&sql)
            .bind(*tenant.as_uuid())
            .fetch_all(pool)
            .await)?,
        )
    }

    /// Deletes a sound; true when one was deleted.
    ///
    /// # Errors
    /// The database's error.
    pub async fn delete(&self, tenant: TenantId, id: Uuid) -> Result<bool, StoreError> {
        let sql = "DELETE FROM sounds WHERE tenant_id = $1 AND id = $2";
        let done = on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(*tenant.as_uuid())
            .bind(id)
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }
}

impl Recordings<'_> {
    /// Records a recording file, or updates the one at that path (idempotent).
    ///
    /// # Errors
    /// The database's error (for example a call id that does not exist).
    pub async fn upsert(
        &self,
        tenant: TenantId,
        new: &NewRecording,
    ) -> Result<Recording, StoreError> {
        let sql = format!(
            "INSERT INTO recordings ({REC_INSERT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (tenant_id, path) DO UPDATE SET call_id = excluded.call_id, \
             size_bytes = excluded.size_bytes, duration_ms = excluded.duration_ms, \
             format = excluded.format"
        );
        on_db!(&self.store.db, pool => sqlx::query(&sql)
            .bind(Uuid::new_v4())
            .bind(*tenant.as_uuid())
            .bind(new.call_id.map(|c| *c.as_uuid()))
            .bind(&new.path)
            .bind(new.size_bytes)
            .bind(new.duration_ms)
            .bind(&new.format)
            .bind(now())
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        let sql = format!("SELECT {REC_COLS} FROM recordings WHERE tenant_id = $1 AND path = $2");
        on_db!(&self.store.db, pool => sqlx::query_as::<_, Recording>(&sql)
            .bind(*tenant.as_uuid())
            .bind(&new.path)
            .fetch_optional(pool)
            .await)?
        .ok_or(StoreError::NotFound)
    }

    /// Stores a recording that has just started, under our id, with size and length 0 until
    /// known.
    ///
    /// # Errors
    /// The database's error: a call that does not exist, or a recording of that id or path
    /// already stored ([`StoreError`]'s unique violation).
    pub async fn start(
        &self,
        tenant: TenantId,
        new: &StartedRecording,
    ) -> Result<Recording, StoreError> {
        let sql = format!(
            "INSERT INTO recordings ({REC_COLS}) VALUES ($1, $2, $3, $4, 0, 0, $5, $6, $7, NULL)"
        );
        on_db!(&self.store.db, pool => sqlx::query(&sql)
            .bind(*new.id.as_uuid())
            .bind(*tenant.as_uuid())
            .bind(*new.call_id.as_uuid())
            .bind(&new.path)
            .bind(&new.format)
            .bind(now())
            .bind(&new.label)
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        self.get(tenant, *new.id.as_uuid())
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Notes that a recording was stopped; false when it was not found or already stopped.
    ///
    /// # Errors
    /// The database's error.
    pub async fn stop(&self, tenant: TenantId, id: Uuid) -> Result<bool, StoreError> {
        let sql = "UPDATE recordings SET stopped_at = $3 \
                   WHERE tenant_id = $1 AND id = $2 AND stopped_at IS NULL";
        let done = on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(*tenant.as_uuid())
            .bind(id)
            .bind(now())
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }

    /// The recording with this id in the tenant.
    ///
    /// # Errors
    /// The database's error.
    pub async fn get(&self, tenant: TenantId, id: Uuid) -> Result<Option<Recording>, StoreError> {
        let sql = format!("SELECT {REC_COLS} FROM recordings WHERE tenant_id = $1 AND id = $2");
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, Recording>(&sql)
            .bind(*tenant.as_uuid())
            .bind(id)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// A call's recordings, oldest first.
    ///
    /// # Errors
    /// The database's error.
    pub async fn for_call(
        &self,
        tenant: TenantId,
        call: CallId,
    ) -> Result<Vec<Recording>, StoreError> {
        let sql = format!(
            "SELECT {REC_COLS} FROM recordings WHERE tenant_id = $1 AND call_id = $2 \
             ORDER BY created_at, id"
        );
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, Recording>(&sql)
            .bind(*tenant.as_uuid())
            .bind(*call.as_uuid())
            .fetch_all(pool)
            .await)?,
        )
    }

    /// The tenant's recordings, newest first, at most `limit`.
    ///
    /// # Errors
    /// The database's error.
    pub async fn list(&self, tenant: TenantId, limit: i64) -> Result<Vec<Recording>, StoreError> {
        let sql = format!(
            "SELECT {REC_COLS} FROM recordings WHERE tenant_id = $1 \
             ORDER BY created_at DESC, id LIMIT $2"
        );
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, Recording>(&sql)
            .bind(*tenant.as_uuid())
            .bind(limit)
            .fetch_all(pool)
            .await)?,
        )
    }

    /// Deletes a recording's row; true when one was deleted.
    ///
    /// # Errors
    /// The database's error.
    pub async fn delete(&self, tenant: TenantId, id: Uuid) -> Result<bool, StoreError> {
        let sql = "DELETE FROM recordings WHERE tenant_id = $1 AND id = $2";
        let done = on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(*tenant.as_uuid())
            .bind(id)
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }
}
