//! Authentication: HS256 JWTs (access + refresh) for people, `hfk_` api keys for machines, and
//! the [`Caller`] extractor that every protected handler takes.

use std::net::IpAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use chrono::{DateTime, TimeZone, Utc};
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
    /// The user's token version when issued: a password change moves it on, which ends every
    /// token issued before.
    #[serde(default)]
    pub ver: i64,
    /// A refresh token's id in the store (each is used once); absent on access tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// A verified credential: who is calling, and until when the credential is good. A
/// WebSocket uses the expiry to end the stream when the token does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Who is calling.
    pub caller: Caller,
    /// When the credential stops working (none: an api key without expiry).
    pub expires_at: Option<DateTime<Utc>>,
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

/// A freshly issued token pair. `Debug` never shows the tokens.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
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

debug_redacted!(TokenPair { token_type, expires_in, role; access_token, refresh_token });

impl JwtKeys {
    /// Keys from a shared secret.
    pub fn from_secret(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    /// Signs `claims` as they are (tests use it to make tokens with a chosen expiry).
    ///
    /// # Errors
    /// [`ApiError::Token`] if signing fails.
    pub fn sign(&self, claims: &Claims) -> Result<String> {
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &self.encoding,
        )?)
    }

    /// Issues an access + refresh pair at token version 0 whose refresh token is not
    /// recorded in the store (so it cannot be exchanged): for tools and tests that need an
    /// access token. Logins use [`JwtKeys::issue_session`].
    ///
    /// # Errors
    /// [`ApiError::Token`] if signing fails.
    pub fn issue(&self, user: Uuid, tenant: TenantId, role: Role) -> Result<TokenPair> {
        self.issue_session(
            &SessionGrant {
                user,
                tenant,
                role,
                version: 0,
                refresh_id: Uuid::nil(),
            },
            Utc::now(),
        )
    }

    /// Issues an access + refresh pair at `now` for a login or refresh recorded in the store.
    ///
    /// # Errors
    /// [`ApiError::Token`] if signing fails.
    pub fn issue_session(&self, grant: &SessionGrant, now: DateTime<Utc>) -> Result<TokenPair> {
        let iat = now.timestamp();
        let claims = |typ: &str, ttl: Duration, jti: Option<String>| Claims {
            sub: grant.user.to_string(),
            tid: grant.tenant.to_string(),
            role: grant.role.as_str().to_owned(),
            typ: typ.to_owned(),
            exp: iat.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2)),
            iat,
            ver: grant.version,
            jti,
        };
        Ok(TokenPair {
            access_token: self.sign(&claims("access", ACCESS_TTL, None))?,
            refresh_token: self.sign(&claims(
                "refresh",
                REFRESH_TTL,
                Some(grant.refresh_id.to_string()),
            ))?,
            token_type: "Bearer".to_owned(),
            expires_in: ACCESS_TTL.as_secs(),
            role: grant.role,
        })
    }

    /// Verifies a token of the given type (`access` or `refresh`) and returns its claims.
    ///
    /// # Errors
    /// [`ApiError::Unauthorized`] for a bad signature, an expired token or the wrong type.
    pub fn decode(&self, token: &str, typ: &str) -> Result<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| ApiError::Unauthorized)?;
        if data.claims.typ != typ {
            return Err(ApiError::Unauthorized);
        }
        Ok(data.claims)
    }

    /// Verifies a token of the given type (`access` or `refresh`).
    ///
    /// # Errors
    /// [`ApiError::Unauthorized`] for a bad signature, an expired token or the wrong type.
    pub fn verify(&self, token: &str, typ: &str) -> Result<Caller> {
        caller_of(&self.decode(token, typ)?)
    }
}

/// What a token pair is issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionGrant {
    /// The user.
    pub user: Uuid,
    /// Their tenant.
    pub tenant: TenantId,
    /// Their role now.
    pub role: Role,
    /// Their token version now.
    pub version: i64,
    /// The stored refresh token the pair's refresh token stands for.
    pub refresh_id: Uuid,
}

fn caller_of(c: &Claims) -> Result<Caller> {
    Ok(Caller {
        tenant: c.tid.parse().map_err(|_| ApiError::Unauthorized)?,
        user_id: Some(c.sub.parse().map_err(|_| ApiError::Unauthorized)?),
        role: Role::parse(&c.role).ok_or(ApiError::Unauthorized)?,
    })
}

/// Resolves a presented credential (JWT access token or `hfk_` api key) to a caller.
///
/// # Errors
/// [`ApiError::Unauthorized`] when it does not verify; the store's error otherwise.
pub async fn authenticate_token(state: &AppState, token: &str) -> Result<Caller> {
    Ok(authenticate_session(state, token).await?.caller)
}

/// Like [`authenticate_token`], with the credential's expiry.
///
/// A deactivated or deleted user loses access at once, not when the token expires; a changed
/// role applies at once too (a demoted admin keeps no admin power); a password change ends
/// every token issued before it (the token version moved on). Every credential of a
/// deactivated tenant is refused.
///
/// # Errors
/// As [`authenticate_token`].
pub async fn authenticate_session(state: &AppState, token: &str) -> Result<Session> {
    let session = if token.starts_with(API_KEY_PREFIX) {
        authenticate_api_key(state, token).await?
    } else {
        authenticate_jwt(state, token).await?
    };
    if !state
        .store()
        .tenants()
        .is_active(session.caller.tenant)
        .await?
    {
        return Err(ApiError::Unauthorized);
    }
    Ok(session)
}

async fn authenticate_jwt(state: &AppState, token: &str) -> Result<Session> {
    let claims = state.jwt().decode(token, "access")?;
    let mut caller = caller_of(&claims)?;
    if let Some(user) = caller.user_id {
        match state.store().users().get(caller.tenant, user).await? {
            Some(u) if u.active && u.token_version == claims.ver => {
                caller.role = Role::from_user(u.role);
            }
            _ => return Err(ApiError::Unauthorized),
        }
    }
    Ok(Session {
        caller,
        expires_at: Utc.timestamp_opt(claims.exp, 0).single(),
    })
}

async fn authenticate_api_key(state: &AppState, token: &str) -> Result<Session> {
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
    Ok(Session {
        caller: Caller {
            tenant,
            user_id: key.user_id,
            role,
        },
        expires_at: key.expires_at,
    })
}

/// A change to who may do what in a tenant (a user deactivated, demoted or given a new
/// password; an api key revoked): open WebSockets of that tenant re-check their credential at
/// once rather than at their next periodic check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionChange {
    /// The tenant.
    pub tenant: TenantId,
    /// The user whose access changed (none: re-check every session of the tenant).
    pub user: Option<Uuid>,
}

/// Publishes [`SessionChange`]s to the open WebSockets of this process (bounded; a socket that
/// misses some re-checks anyway).
#[derive(Debug, Clone)]
pub struct SessionChanges {
    tx: tokio::sync::broadcast::Sender<SessionChange>,
}

impl Default for SessionChanges {
    fn default() -> Self {
        Self {
            tx: tokio::sync::broadcast::channel(256).0,
        }
    }
}

impl SessionChanges {
    /// A user's access changed.
    pub fn changed(&self, tenant: TenantId, user: Uuid) {
        // No receiver (no open socket) is not an error.
        let _ = self.tx.send(SessionChange {
            tenant,
            user: Some(user),
        });
    }

    /// Something not tied to one user changed (an api key was revoked): every session of the
    /// tenant re-checks.
    pub fn tenant_changed(&self, tenant: TenantId) {
        let _ = self.tx.send(SessionChange { tenant, user: None });
    }

    pub(crate) fn subscribe(&self) -> tokio::sync::broadcast::Receiver<SessionChange> {
        self.tx.subscribe()
    }
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
}
