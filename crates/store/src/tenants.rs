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

const COLS: &str = "id, name, slug, created_at";

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
        };
        let sql = "INSERT INTO tenants (id, name, slug, created_at) VALUES ($1, $2, $3, $4)";
        on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(tenant.id)
            .bind(&tenant.name)
            .bind(&tenant.slug)
            .bind(tenant.created_at)
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
}
