//! The login rate limiter: attempts are counted per client address (so one address spraying
//! many usernames is stopped) and per account, the (tenant, username) pair (so a distributed
//! attack on one account is stopped, and an attack on one tenant's `admin` never locks out
//! another tenant's `admin`). Both maps are bounded in memory.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::error::{ApiError, Result};

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock>;

/// Keys kept per map before old entries are pruned; bounds memory under a spray of usernames
/// or addresses.
const MAX_LIMITER_KEYS: usize = 10_000;

/// Login (and password change) attempts per client address and per account.
pub(crate) struct LoginLimiter {
    per_ip: Keyed<String>,
    per_account: Keyed<(String, String)>,
    clock: DefaultClock,
}

impl std::fmt::Debug for LoginLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginLimiter")
            .field("addresses", &self.per_ip.len())
            .field("accounts", &self.per_account.len())
            .finish()
    }
}

fn quota(per_minute: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN))
}

impl LoginLimiter {
    /// Allows `per_account` attempts per minute on one account and `per_ip` per minute from
    /// one address (each a burst of that many, then refilling).
    pub(crate) fn new(per_account: u32, per_ip: u32) -> Self {
        Self {
            per_ip: RateLimiter::hashmap(quota(per_ip)),
            per_account: RateLimiter::hashmap(quota(per_account)),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one attempt from `ip` on `username` of the tenant `tenant_slug` (as typed:
    /// compared without case, like logins).
    ///
    /// # Errors
    /// [`ApiError::RateLimited`] with the wait until the next allowed attempt.
    pub(crate) fn check(
        &self,
        ip: Option<IpAddr>,
        tenant_slug: &str,
        username: &str,
    ) -> Result<()> {
        if self.per_ip.len() > MAX_LIMITER_KEYS {
            self.per_ip.retain_recent();
        }
        if self.per_account.len() > MAX_LIMITER_KEYS {
            self.per_account.retain_recent();
        }
        let limited = |not_until: governor::NotUntil<_>| ApiError::RateLimited {
            retry_after: not_until.wait_time_from(self.clock.now()),
        };
        let ip = ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        self.per_ip.check_key(&ip).map_err(limited)?;
        let account = (tenant_slug.to_lowercase(), username.trim().to_lowercase());
        self.per_account.check_key(&account).map_err(limited)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn wait(r: Result<()>) -> Duration {
        match r {
            Err(ApiError::RateLimited { retry_after }) => retry_after,
            other => panic!("not limited: {other:?}"),
        }
    }

    #[test]
    fn an_account_is_limited_whatever_the_case_and_tenants_apart() {
        let l = LoginLimiter::new(3, 100);
        for _ in 0..3 {
            l.check(None, "acme", "admin").unwrap();
        }
        assert!(wait(l.check(None, "ACME", "Admin")) > Duration::ZERO);
        // From another address too: the account is what is limited.
        let other: IpAddr = [10, 0, 0, 9].into();
        assert!(wait(l.check(Some(other), "acme", "admin")) > Duration::ZERO);
        // Another tenant's admin is not locked out, nor another user.
        l.check(None, "globex", "admin").unwrap();
        l.check(None, "acme", "someone-else").unwrap();
    }

    #[test]
    fn one_address_spraying_usernames_is_limited() {
        let l = LoginLimiter::new(5, 10);
        let ip: IpAddr = [192, 0, 2, 1].into();
        for i in 0..10 {
            l.check(Some(ip), "acme", &format!("user{i}")).unwrap();
        }
        assert!(wait(l.check(Some(ip), "acme", "user-new")) > Duration::ZERO);
        // Another address still gets through.
        l.check(Some([192, 0, 2, 2].into()), "acme", "user-new")
            .unwrap();
    }
}
