//! User administration beyond login: changing a user's role and name, and one-time passwords.

use hookflash_provider::TenantId;
use uuid::Uuid;

use crate::db::on_db;
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

impl Users<'_> {
    /// Sets a user's role and display name; returns the updated user.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the user is not in the tenant.
    pub async fn update_details(
        &self,
        tenant: TenantId,
        id: Uuid,
        role: UserRole,
        display_name: Option<&str>,
    ) -> Result<User, StoreError> {
        let sql = "UPDATE users SET role = $3, display_name = $4, updated_at = $5 \
                   WHERE tenant_id = $1 AND id = $2";
        let done = on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(*tenant.as_uuid())
            .bind(id)
            .bind(role.as_str())
            .bind(display_name)
            .bind(now())
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        self.get(tenant, id).await?.ok_or(StoreError::NotFound)
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
