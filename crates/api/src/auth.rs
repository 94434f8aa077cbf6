//! Authentication: HS256 JWTs (access + refresh) for people, `hfk_` api keys for machines, the
//! [`Caller`] extractor that every protected handler takes, and the login rate limiter.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use chrono::Utc;
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use hookflash_provider::TenantId;
use hookflash_store::{API_KEY_PREFIX, UserRole};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, Result};
use crate::state::AppState;

/// How long an access token lives.
pub const ACCESS_TTL: Duration = Duration::from_secs(15 * 60);
/// How long a refresh token lives.
pub const REFRESH_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// A caller's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything in the tenant.
    Admin,
    /// Everything in the tenant except server administration.
    Supervisor,
    /// Only their own calls and agent state.
    Agent,
}

impl Role {
    pub(crate) fn from_user(role: UserRole) -> Self {
        match role {
            UserRole::Admin => Self::Admin,
            UserRole::Supervisor => Self::Supervisor,
            _ => Self::Agent,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Supervisor => "supervisor",
            Self::Agent => "agent",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "supervisor" => Some(Self::Supervisor),
            "agent" => Some(Self::Agent),
            _ => None,
        }
    }
}

/// Who is calling: every handler scopes its queries to `tenant`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The caller's tenant.
    pub tenant: TenantId,
    /// The user (absent for an api key that acts as no user).
    pub user_id: Option<Uuid>,
    /// The role.
    pub role: Role,
}

impl Caller {
    /// Admin or supervisor.
    pub fn is_supervisor(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Supervisor)
    }

    /// Refuses anyone below supervisor.
    ///
    /// # Errors
    /// [`ApiError::Forbidden`].
    pub fn require_supervisor(&self) -> Result<()> {
        if self.is_supervisor() {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    /// Refuses anyone but an admin.
    ///
    /// # Errors
    /// [`ApiError::Forbidden`].
    pub fn require_admin(&self) -> Result<()> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

/// The claims inside our JWTs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The tenant id.
    pub tid: String,
    /// The role.
    pub role: String,
    /// `access` or `refresh`.
    pub typ: String,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
}

/// The HS256 signing and verifying keys.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(..)")
    }
}

/// A freshly issued token pair.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenPair {
    /// The access token (Bearer), valid 15 minutes.
    pub access_token: String,
    /// The refresh token, for `POST /api/v1/auth/refresh`.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Access-token lifetime in seconds.
    pub expires_in: u64,
    /// The caller's role.
    pub role: Role,
}

impl JwtKeys {
    /// Keys from a shared secret.
    pub fn from_secret(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    fn issue_one(
        &self,
        user: Uuid,
        tenant: TenantId,
        role: Role,
        typ: &str,
        ttl: Duration,
    ) -> Result<String> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user.to_string(),
            tid: tenant.to_string(),
            role: role.as_str().to_owned(),
            typ: typ.to_owned(),
            exp: now + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2),
            iat: now,
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// Issues an access + refresh pair.
    ///
    /// # Errors
    /// [`ApiError::Token`] if signing fails.
    pub fn issue(&self, user: Uuid, tenant: TenantId, role: Role) -> Result<TokenPair> {
        Ok(TokenPair {
            access_token: self.issue_one(user, tenant, role, "access", ACCESS_TTL)?,
            refresh_token: self.issue_one(user, tenant, role, "refresh", REFRESH_TTL)?,
            token_type: "Bearer".to_owned(),
            expires_in: ACCESS_TTL.as_secs(),
            role,
        })
    }

    /// Verifies a token of the given type (`access` or `refresh`).
    ///
    /// # Errors
    /// [`ApiError::Unauthorized`] for a bad signature, an expired token or the wrong type.
    pub fn verify(&self, token: &str, typ: &str) -> Result<Caller> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| ApiError::Unauthorized)?;
        let c = data.claims;
        if c.typ != typ {
            return Err(ApiError::Unauthorized);
        }
        Ok(Caller {
            tenant: c.tid.parse().map_err(|_| ApiError::Unauthorized)?,
            user_id: Some(c.sub.parse().map_err(|_| ApiError::Unauthorized)?),
            role: Role::parse(&c.role).ok_or(ApiError::Unauthorized)?,
        })
    }
}

/// Resolves a presented credential (JWT access token or `hfk_` api key) to a caller.
///
/// # Errors
/// [`ApiError::Unauthorized`] when it does not verify; the store's error otherwise.
pub async fn authenticate_token(state: &AppState, token: &str) -> Result<Caller> {
    if token.starts_with(API_KEY_PREFIX) {
        return authenticate_api_key(state, token).await;
    }
    let mut caller = state.jwt().verify(token, "access")?;
    // A deactivated or deleted user loses access at once, not when the token expires; a
    // changed role applies at once too (a demoted admin keeps no admin power).
    if let Some(user) = caller.user_id {
        match state.store().users().get(caller.tenant, user).await? {
            Some(u) if u.active => caller.role = Role::from_user(u.role),
            _ => return Err(ApiError::Unauthorized),
        }
    }
    Ok(caller)
}

async fn authenticate_api_key(state: &AppState, token: &str) -> Result<Caller> {
    let Some(key) = state.store().api_keys().verify(token).await? else {
        return Err(ApiError::Unauthorized);
    };
    let tenant = key.tenant();
    let role = if let Some(user) = key.user_id {
        match state.store().users().get(tenant, user).await? {
            Some(u) if u.active => Role::from_user(u.role),
            _ => return Err(ApiError::Unauthorized),
        }
    } else if key.has_scope("admin") {
        Role::Admin
    } else if key.has_scope("supervisor") {
        Role::Supervisor
    } else {
        Role::Agent
    };
    Ok(Caller {
        tenant,
        user_id: key.user_id,
        role,
    })
}

/// The credential in a request's headers: `Authorization: Bearer ...` or `X-API-Key`.
pub(crate) fn bearer_from_headers(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(v.trim().to_owned());
    }
    let auth = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = auth.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        if let Some(c) = parts.extensions.get::<Caller>() {
            return Ok(c.clone());
        }
        let token = bearer_from_headers(&parts.headers).ok_or(ApiError::Unauthorized)?;
        let caller = authenticate_token(state, &token).await?;
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

/// The client address of a request: the socket peer when the server was started with
/// `into_make_service_with_connect_info`, else none (in-process tests).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientIp(pub(crate) Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// Login attempts per (client IP, username), bounded in memory.
pub(crate) struct LoginLimiter {
    limiter: RateLimiter<(String, String), DefaultKeyedStateStore<(String, String)>, DefaultClock>,
    clock: DefaultClock,
}

impl std::fmt::Debug for LoginLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginLimiter")
            .field("keys", &self.limiter.len())
            .finish()
    }
}

/// Keys kept before old entries are pruned; bounds memory under a spray of usernames.
const MAX_LIMITER_KEYS: usize = 10_000;

impl LoginLimiter {
    /// Allows `per_minute` attempts per key per minute (a burst of that many, then refills).
    pub(crate) fn new(per_minute: u32) -> Self {
        let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::hashmap(Quota::per_minute(n)),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one attempt.
    ///
    /// # Errors
    /// [`ApiError::RateLimited`] with the wait until the next allowed attempt.
    pub(crate) fn check(&self, ip: Option<IpAddr>, username: &str) -> Result<()> {
        if self.limiter.len() > MAX_LIMITER_KEYS {
            self.limiter.retain_recent();
        }
        let ip = ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        let key = (ip, username.to_ascii_lowercase());
        self.limiter
            .check_key(&key)
            .map_err(|not_until| ApiError::RateLimited {
                retry_after: not_until.wait_time_from(self.clock.now()),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_types_are_kept_apart() {
        let keys = JwtKeys::from_secret(b"secret");
        let tenant = TenantId::new_random();
        let user = Uuid::new_v4();
        let pair = keys.issue(user, tenant, Role::Supervisor).unwrap();
        let c = keys.verify(&pair.access_token, "access").unwrap();
        assert_eq!(c.tenant, tenant);
        assert_eq!(c.user_id, Some(user));
        assert_eq!(c.role, Role::Supervisor);
        assert!(keys.verify(&pair.refresh_token, "access").is_err());
        assert!(keys.verify(&pair.access_token, "refresh").is_err());
        let other = JwtKeys::from_secret(b"other");
        assert!(other.verify(&pair.access_token, "access").is_err());
    }

    #[test]
    fn limiter_refuses_after_the_burst() {
        let l = LoginLimiter::new(3);
        for _ in 0..3 {
            l.check(None, "admin").unwrap();
        }
        match l.check(None, "ADMIN") {
            Err(ApiError::RateLimited { retry_after }) => assert!(retry_after > Duration::ZERO),
            other => panic!("{other:?}"),
        }
        l.check(None, "someone-else").unwrap();
    }
}
