use chrono::{DateTime, Utc};
use hookflash_provider::TenantId;
use uuid::Uuid;

use crate::db::{Store, on_db};
use crate::error::StoreError;
use crate::util::now;

/// A tenant: the unit of isolation. Every other row belongs to one.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Tenant {
    /// Its id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Unique short name (used at login to pick the tenant).
    pub slug: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// A deactivated tenant keeps its data, but its users cannot log in and its tokens and
    /// api keys are refused.
    pub active: bool,
}

impl Tenant {
    /// The id as the typed [`TenantId`] every tenant-scoped query takes.
    pub fn tenant_id(&self) -> TenantId {
        TenantId::from_uuid(self.id)
    }
}

/// Tenants: create and look up. (Tenants are not tenant data, so these take no tenant id.)
#[derive(Debug, Clone, Copy)]
pub struct Tenants<'a> {
    pub(crate) store: &'a Store,
}

const COLS: &str = "id, name, slug, created_at, active";

impl Tenants<'_> {
    /// Creates a tenant.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the slug is taken.
    pub async fn create(&self, name: &str, slug: &str) -> Result<Tenant, StoreError> {
        let tenant = Tenant {
            id: Uuid::new_v4(),
            name: name.to_owned(),
            slug: slug.to_owned(),
            created_at: now(),
            active: true,
        };
        let sql = "INSERT INTO tenants (id, name, slug, created_at, active) \
                   VALUES ($1, $2, $3, $4, $5)";
        on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(tenant.id)
            .bind(&tenant.name)
            .bind(&tenant.slug)
            .bind(tenant.created_at)
            .bind(tenant.active)
            .execute(pool)
            .await.map(|r| r.rows_affected()))
        .map_err(|e| StoreError::from_write(e, "tenant slug"))?;
        Ok(tenant)
    }

    /// The tenant with this id.
    ///
    /// # Errors
    /// The database's error.
    pub async fn get(&self, id: TenantId) -> Result<Option<Tenant>, StoreError> {
        let sql = format!("SELECT {COLS} FROM tenants WHERE id = $1");
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, Tenant>(&sql)
            .bind(*id.as_uuid())
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// The tenant with this slug.
    ///
    /// # Errors
    /// The database's error.
    pub async fn get_by_slug(&self, slug: &str) -> Result<Option<Tenant>, StoreError> {
        let sql = format!("SELECT {COLS} FROM tenants WHERE slug = $1");
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, Tenant>(&sql)
            .bind(slug)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// Every tenant, by name.
    ///
    /// # Errors
    /// The database's error.
    pub async fn list(&self) -> Result<Vec<Tenant>, StoreError> {
        let sql = format!("SELECT {COLS} FROM tenants ORDER BY name, id");
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, Tenant>(&sql)
            .fetch_all(pool)
            .await)?,
        )
    }

    /// Changes a tenant's name and active flag (each when given); the updated tenant, or None
    /// when there is no tenant with this id.
    ///
    /// # Errors
    /// The database's error.
    pub async fn update(
        &self,
        id: TenantId,
        name: Option<&str>,
        active: Option<bool>,
    ) -> Result<Option<Tenant>, StoreError> {
        let sql = "UPDATE tenants SET name = COALESCE($2, name), active = COALESCE($3, active) \
                   WHERE id = $1";
        let done = on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(*id.as_uuid())
            .bind(name)
            .bind(active)
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        if done == 0 {
            return Ok(None);
        }
        self.get(id).await
    }

    /// Deletes a tenant and, by cascade, everything of it; true when one was deleted. Only
    /// for undoing a creation that could not be completed (a tenant is otherwise deactivated,
    /// never deleted: its calls are records).
    ///
    /// # Errors
    /// The database's error.
    pub async fn delete(&self, id: TenantId) -> Result<bool, StoreError> {
        let done = on_db!(&self.store.db, pool => sqlx::query("DELETE FROM tenants WHERE id = $1")
            .bind(*id.as_uuid())
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }

    /// True when the tenant exists and is active: what every authenticated request of the
    /// tenant needs.
    ///
    /// # Errors
    /// The database's error.
    pub async fn is_active(&self, id: TenantId) -> Result<bool, StoreError> {
        Ok(self.get(id).await?.is_some_and(|t| t.active))
    }
}
