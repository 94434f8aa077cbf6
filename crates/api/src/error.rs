//! The crate's error type and its JSON shape on the wire.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hookflash_provider::ProviderError;
use hookflash_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// Everything a request or the library's setup can fail with.
///
/// Each variant maps to one HTTP status and one stable `code` string (see [`ApiError::code`]);
/// internal details (database, transport) are logged, never sent to the client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// No credentials, or credentials that do not verify.
    #[error("authentication required")]
    Unauthorized,
    /// Authenticated, but the role may not do this.
    #[error("not allowed for this role")]
    Forbidden,
    /// The resource does not exist for the caller's tenant (also: belongs to another tenant).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The route exists, not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A field failed validation.
    #[error("invalid {field}: {reason}")]
    Validation {
        /// The request field, as named in the request body or query.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The body could not be read as the expected JSON.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The request conflicts with the resource's state (e.g. a call that has ended).
    #[error("{0}")]
    Conflict(String),
    /// A user with this username or e-mail already exists in the tenant.
    #[error("a user with this username or email already exists")]
    UserExists,
    /// The change would leave the tenant without an active admin.
    #[error("the tenant's last active admin cannot be deactivated or demoted")]
    LastAdmin,
    /// The password is a one-time password: change it with `POST /api/v1/auth/password`
    /// before logging in.
    #[error("this one-time password must be changed: POST /api/v1/auth/password")]
    PasswordChangeRequired,
    /// The one-time password has expired: an admin must set a new one.
    #[error("this one-time password has expired: ask an admin for a new one")]
    PasswordExpired,
    /// Too many attempts; try again after the given time.
    #[error("too many attempts")]
    RateLimited {
        /// How long until an attempt is allowed again.
        retry_after: Duration,
    },
    /// The request body is larger than the limit.
    #[error("request body too large")]
    PayloadTooLarge,
    /// The request body stalled for longer than the server's body read timeout.
    #[error("the request body was not received in time")]
    RequestTimeout,
    /// The PBX connection a request needs is not connected.
    #[error("server {server} is not connected")]
    ProviderUnavailable {
        /// The configured server name.
        server: String,
    },
    /// The provider refused or failed the operation.
    #[error("provider error: {0}")]
    Provider(#[from] ProviderError),
    /// The store failed.
    #[error("store error: {0}")]
    Store(#[from] StoreError),
    /// The configuration could not be loaded.
    #[error("configuration: {0}")]
    Config(String),
    /// A token could not be issued.
    #[error("token error: {0}")]
    Token(#[from] jsonwebtoken::errors::Error),
    /// A task the request handed its work to did not finish (it panicked or the runtime is
    /// shutting down); what it did is unknown to the caller.
    #[error("internal: {0}")]
    Internal(&'static str),
}

/// The JSON body of every error response: `{ "error": { "code", "message" } }`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The inside of [`ErrorBody`].
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable machine-readable code, e.g. `validation_failed`.
    pub code: String,
    /// A human-readable message.
    pub message: String,
    /// For validation errors: the offending field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    /// A validation error for `field`.
    pub fn validation(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Validation {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Conflict(_) | Self::UserExists | Self::LastAdmin => StatusCode::CONFLICT,
            Self::PasswordChangeRequired => StatusCode::FORBIDDEN,
            Self::PasswordExpired => StatusCode::UNAUTHORIZED,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::ProviderUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Provider(e) => match e {
                ProviderError::NotConnected { .. } => StatusCode::SERVICE_UNAVAILABLE,
                ProviderError::NotFound { .. } => StatusCode::NOT_FOUND,
                ProviderError::InvalidRequest { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                ProviderError::Unsupported { .. } => StatusCode::NOT_IMPLEMENTED,
                ProviderError::Rejected { .. } => StatusCode::CONFLICT,
                ProviderError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
                _ => StatusCode::BAD_GATEWAY,
            },
            Self::Store(e) if e.is_not_found() => StatusCode::NOT_FOUND,
            Self::Store(e) if e.is_conflict() => StatusCode::CONFLICT,
            Self::Store(e) if e.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            Self::Store(_) | Self::Config(_) | Self::Token(_) | Self::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The stable error code sent as `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Validation { .. } => "validation_failed",
            Self::BadRequest(_) => "bad_request",
            Self::Conflict(_) => "conflict",
            Self::UserExists => "user_exists",
            Self::LastAdmin => "last_admin",
            Self::PasswordChangeRequired => "password_change_required",
            Self::PasswordExpired => "password_expired",
            Self::RateLimited { .. } => "rate_limited",
            Self::PayloadTooLarge => "payload_too_large",
            Self::RequestTimeout => "request_timeout",
            Self::ProviderUnavailable { .. } => "provider_unavailable",
            Self::Provider(ProviderError::NotConnected { .. }) => "provider_unavailable",
            Self::Provider(e) => match e.code() {
                "unsupported" => "provider_unsupported",
                "not_found" => "provider_not_found",
                "rejected" => "provider_rejected",
                "invalid_request" => "provider_invalid_request",
                "timeout" => "provider_timeout",
                "auth" => "provider_auth",
                _ => "provider_error",
            },
            Self::Store(e) if e.is_not_found() => "not_found",
            Self::Store(e) if e.is_conflict() => "conflict",
            Self::Store(e) if e.is_unavailable() => "database_unavailable",
            Self::Store(_) | Self::Config(_) | Self::Token(_) | Self::Internal(_) => "internal",
        }
    }

    fn public_message(&self) -> String {
        match self {
            Self::Store(e) if e.is_conflict() => "already exists".to_owned(),
            Self::Store(e) if e.is_not_found() => "not found".to_owned(),
            Self::Store(e) if e.is_unavailable() => {
                "the database is unavailable; try again shortly".to_owned()
            }
            Self::Store(_) | Self::Config(_) | Self::Token(_) | Self::Internal(_) => {
                "internal error".to_owned()
            }
            Self::Provider(ProviderError::Transport { .. }) => {
                "the PBX connection failed".to_owned()
            }
            other => other.to_string(),
        }
    }
}

/// The `Retry-After` of a 503 for an unavailable database: long enough for a pool to
/// reconnect, short enough that a client does not give up.
const DATABASE_RETRY_AFTER_SECS: u64 = 5;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = %self, code = self.code(), "request failed");
        }
        let field = match &self {
            Self::Validation { field, .. } => Some(field.clone()),
            // A provider's refusal of one field (a transfer destination the dialplan lacks).
            Self::Provider(ProviderError::InvalidRequest { field, .. }) => Some(field.clone()),
            _ => None,
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message: self.public_message(),
                field,
            },
        };
        let mut response = (status, Json(body)).into_response();
        let retry_after = match &self {
            Self::RateLimited { retry_after } => Some(retry_after.as_secs().max(1)),
            Self::Store(e) if e.is_unavailable() => Some(DATABASE_RETRY_AFTER_SECS),
            _ => None,
        };
        if let Some(secs) = retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// The crate's result type.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;
