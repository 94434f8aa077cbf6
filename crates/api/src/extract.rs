//! Extractors whose rejections use the crate's JSON error shape.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// `axum::Json` with JSON errors: 413 for an oversized body, 422 naming the field for a value
/// of the wrong shape, 400 for text that is not JSON.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(e) => Err(json_rejection(e)),
        }
    }
}

fn json_rejection(e: JsonRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge;
    }
    match e {
        JsonRejection::JsonDataError(d) => {
            let text = d.body_text();
            let field = field_of(&text).unwrap_or_else(|| "body".to_owned());
            ApiError::validation(field, text)
        }
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::BadRequest("expected Content-Type: application/json".to_owned())
        }
        other => ApiError::BadRequest(other.body_text()),
    }
}

/// Pulls the field out of serde's "missing field `x`" / "x: invalid ..." messages.
fn field_of(text: &str) -> Option<String> {
    if let Some(i) = text.find("missing field `") {
        let rest = &text[i + "missing field `".len()..];
        return rest.split('`').next().map(str::to_owned);
    }
    let body = text.split_once(": ").map(|(_, b)| b)?;
    let (path, _) = body.split_once(": ")?;
    (!path.is_empty() && !path.contains(' ')).then(|| path.to_owned())
}

/// `axum::extract::Query` with the JSON 422 shape.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Self(v)),
            Err(e) => Err(query_rejection(e)),
        }
    }
}

fn query_rejection(e: QueryRejection) -> ApiError {
    let text = e.body_text();
    ApiError::validation(field_of(&text).unwrap_or_else(|| "query".to_owned()), text)
}

/// An optional JSON body: an empty body gives `T::default()`; otherwise as [`ApiJson`]
/// (no content-type requirement, since bodiless PUTs are the common case).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OptionalJson<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::BadRequest(e.body_text())
                }
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        serde_json::from_slice(&bytes).map(Self).map_err(|e| {
            if e.is_data() {
                let text = e.to_string();
                ApiError::validation(
                    field_of(&format!("body: {text}")).unwrap_or_else(|| "body".to_owned()),
                    text,
                )
            } else {
                ApiError::BadRequest(format!("not JSON: {e}"))
            }
        })
    }
}
