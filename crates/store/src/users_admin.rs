//! User administration beyond login: changing a user's role and name, and one-time passwords.

use hookflash_provider::TenantId;
use uuid::Uuid;

use crate::db::Db;
use crate::error::StoreError;
use crate::users::{User, UserRole, Users};
use crate::util::{now, random_bytes};

/// Letters and digits without look-alikes (0/O, 1/l/I), so a password read aloud survives.
const PASSWORD_ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A random 20-character password (about 115 bits) from the operating system's generator.
pub fn one_time_password() -> String {
    let len = PASSWORD_ALPHABET.len();
    // Rejection sampling keeps every character equally likely.
    let limit = 256 - (256 % len);
    let mut out = String::with_capacity(20);
    while out.len() < 20 {
        for b in random_bytes::<32>() {
            let b = usize::from(b);
            if b < limit && out.len() < 20 {
                out.push(char::from(PASSWORD_ALPHABET[b % len]));
            }
        }
    }
    out
}

/// True after the change when the user stays an active admin, or was not one, or another
/// active admin remains: the statement below changes nothing otherwise.
const KEEPS_AN_ADMIN: &str = "((COALESCE($3, active) AND COALESCE($4, role) = 'admin') \
     OR NOT (active AND role = 'admin') \
     OR EXISTS (SELECT 1 FROM users o WHERE o.tenant_id = $1 AND o.id <> $2 \
                AND o.role = 'admin' AND o.active = TRUE))";

impl Users<'_> {
    /// Sets a user's role and display name; returns the updated user. The tenant's last
    /// active admin keeps the admin role.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the user is not in the tenant; [`StoreError::LastAdmin`]
    /// when it would leave the tenant without an active admin.
    pub async fn update_details(
        &self,
        tenant: TenantId,
        id: Uuid,
        role: UserRole,
        display_name: Option<&str>,
    ) -> Result<User, StoreError> {
        self.update_keeping_an_admin(tenant, id, None, Some(role), Some(display_name))
            .await?;
        self.get(tenant, id).await?.ok_or(StoreError::NotFound)
    }

    /// Changes the role, the display name and the active flag (each when given) in one
    /// statement: either all of them change or, when the result would leave the tenant
    /// without an active admin, none does. Returns the updated user.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the user is not in the tenant; [`StoreError::LastAdmin`]
    /// when it would leave the tenant without an active admin.
    pub async fn update_fields(
        &self,
        tenant: TenantId,
        id: Uuid,
        role: Option<UserRole>,
        display_name: Option<&str>,
        active: Option<bool>,
    ) -> Result<User, StoreError> {
        self.update_keeping_an_admin(tenant, id, active, role, display_name.map(Some))
            .await?;
        self.get(tenant, id).await?.ok_or(StoreError::NotFound)
    }

    /// Deletes a user unless they are the tenant's last active admin (locked like
    /// [`Self::update_keeping_an_admin`] on PostgreSQL).
    pub(crate) async fn delete_keeping_an_admin(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<bool, StoreError> {
        let sql = "DELETE FROM users WHERE tenant_id = $1 AND id = $2 \
             AND (NOT (active AND role = 'admin') \
                  OR EXISTS (SELECT 1 FROM users o WHERE o.tenant_id = $1 AND o.id <> $2 \
                             AND o.role = 'admin' AND o.active = TRUE))";
        let tenant_id = *tenant.as_uuid();
        let done = match &self.store.db {
            Db::Sqlite(pool) => sqlx::query(sql)
                .bind(tenant_id)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected(),
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query(
                    "SELECT id FROM users WHERE tenant_id = $1 AND role = 'admin' \
                     AND active = TRUE FOR UPDATE",
                )
                .bind(tenant_id)
                .fetch_all(&mut *tx)
                .await?;
                let done = sqlx::query(sql)
                    .bind(tenant_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                done
            }
        };
        if done > 0 {
            return Ok(true);
        }
        match self.get(tenant, id).await? {
            Some(_) => Err(StoreError::LastAdmin),
            None => Ok(false),
        }
    }

    /// Changes the active flag, the role and the display name (each when given) unless the
    /// tenant would be left without an active admin. On PostgreSQL the tenant's active admins
    /// are locked first so two admins demoting each other at once cannot both succeed; on
    /// SQLite the single statement runs under the database's one write lock.
    pub(crate) async fn update_keeping_an_admin(
        &self,
        tenant: TenantId,
        id: Uuid,
        active: Option<bool>,
        role: Option<UserRole>,
        display_name: Option<Option<&str>>,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "UPDATE users SET active = COALESCE($3, active), role = COALESCE($4, role), \
             display_name = CASE WHEN $5 THEN $6 ELSE display_name END, updated_at = $7 \
             WHERE tenant_id = $1 AND id = $2 AND {KEEPS_AN_ADMIN}"
        );
        let tenant_id = *tenant.as_uuid();
        let role = role.map(|r| r.as_str());
        let set_name = display_name.is_some();
        let name = display_name.flatten();
        let at = now();
        let done = match &self.store.db {
            Db::Sqlite(pool) => sqlx::query(&sql)
                .bind(tenant_id)
                .bind(id)
                .bind(active)
                .bind(role)
                .bind(set_name)
                .bind(name)
                .bind(at)
                .execute(pool)
                .await?
                .rows_affected(),
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query(
                    "SELECT id FROM users WHERE tenant_id = $1 AND role = 'admin' \
                     AND active = TRUE FOR UPDATE",
                )
                .bind(tenant_id)
                .fetch_all(&mut *tx)
                .await?;
                let done = sqlx::query(&sql)
                    .bind(tenant_id)
                    .bind(id)
                    .bind(active)
                    .bind(role)
                    .bind(set_name)
                    .bind(name)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                done
            }
        };
        if done > 0 {
            return Ok(());
        }
        match self.get(tenant, id).await? {
            Some(_) => Err(StoreError::LastAdmin),
            None => Err(StoreError::NotFound),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_passwords_are_long_and_distinct() {
        let a = one_time_password();
        let b = one_time_password();
        assert_eq!(a.len(), 20);
        assert!(a.bytes().all(|c| PASSWORD_ALPHABET.contains(&c)));
        assert_ne!(a, b);
    }
}
