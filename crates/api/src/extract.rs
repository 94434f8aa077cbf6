//! Extractors whose rejections use the crate's JSON error shape.
//!
//! A body is judged in two steps so that the status says what is wrong: text that is not JSON
//! at all is `400 bad_request`; JSON that does not fit the expected shape (a wrong type, a
//! missing or unknown field, a value out of range) is `422 validation_failed` naming the field
//! by its JSON path (`body` for the whole document). A body over the limit is `413`, one that
//! stalls past the server's body read timeout `408`.

use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body (`Content-Type: application/json` required), with the crate's errors.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(ApiError::BadRequest(
                "expected Content-Type: application/json".to_owned(),
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        parse(&bytes).map(Self)
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    let Some((kind, sub)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (sub.eq_ignore_ascii_case("json")
            || sub.len() > 5 && sub[sub.len() - 5..].eq_ignore_ascii_case("+json"))
}

/// A body that could not be read: too large (413), stalled (408), or cut off (400).
fn body_rejection(e: BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        if err.is::<tower_http::timeout::TimeoutError>() {
            return ApiError::RequestTimeout;
        }
        source = err.source();
    }
    ApiError::BadRequest(e.body_text())
}

/// Not JSON: 400. JSON of the wrong shape: 422 naming the field by its path.
///
/// The first pass only checks the grammar (numbers are not converted, so `1e999` is JSON
/// here); the second deserializes, and anything it refuses (a wrong type, a missing or
/// unknown field, a number out of range for its field) is the caller's value, not its syntax.
fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
        .map_err(|e| ApiError::BadRequest(format!("not JSON: {e}")))?;
    // Every body is an object; serde would also read a struct from an array of its fields
    // in order (`[null, null]` was a valid, empty update).
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::validation("body", "expected a JSON object"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let reason = e.inner().to_string();
        let at = (path != ".").then_some(path);
        // A missing field's path is its parent's; an unknown field's path is the field's.
        let field = match (backticked(&reason, "missing field `"), at) {
            (Some(f), Some(at)) => format!("{at}.{f}"),
            (Some(f), None) => f,
            (None, Some(at)) => at,
            (None, None) => {
                backticked(&reason, "unknown field `").unwrap_or_else(|| "body".to_owned())
            }
        };
        ApiError::validation(field, reason)
    })
}

/// The name in serde's "<lead>x`" messages ("missing field `x`", "unknown field `x`").
fn backticked(text: &str, lead: &str) -> Option<String> {
    let i = text.find(lead)?;
    let rest = text.get(i + lead.len()..)?;
    rest.split('`').next().map(str::to_owned)
}

/// Pulls the field out of serde's "missing field `x`" / "x: invalid ..." messages.
fn field_of(text: &str) -> Option<String> {
    if let Some(f) = backticked(text, "missing field `") {
        return Some(f);
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
            .map_err(body_rejection)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        parse(&bytes).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        count: u8,
    }

    fn field(e: ApiError) -> String {
        match e {
            ApiError::Validation { field, .. } => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn json_of_the_wrong_type_is_a_validation_error_naming_the_field() {
        for (text, want) in [
            (r#"[]"#, "body"),
            (r#""name""#, "body"),
            (r#"null"#, "body"),
            (r#"5"#, "body"),
            (r#"{"name": 5}"#, "name"),
            (r#"{"name": "x", "inner": {"count": 1000}}"#, "inner.count"),
            (r#"{"name": "x", "inner": {"count": "1"}}"#, "inner.count"),
            (r#"{"name": "x", "inner": {}}"#, "inner.count"),
            (r#"{"name": "x", "inner": {"count": 1e999}}"#, "inner.count"),
            (r#"{"name": "x", "inner": {"count": -1}}"#, "inner.count"),
            (r#"["x", null]"#, "body"),
            (r#"{}"#, "name"),
            (r#"{"name": "x", "other": 1}"#, "other"),
        ] {
            let e = parse::<Body>(text.as_bytes()).expect_err(text);
            assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY, "{text}");
            assert_eq!(field(e), want, "{text}");
        }
    }

    #[test]
    fn text_that_is_not_json_is_a_bad_request() {
        for text in ["{", "name=x", "{\"name\": \"x\"} trailing"] {
            let e = parse::<Body>(text.as_bytes()).expect_err(text);
            assert_eq!(e.status(), StatusCode::BAD_REQUEST, "{text}");
        }
    }

    #[test]
    fn json_content_types_are_recognised() {
        for (value, ok) in [
            ("application/json", true),
            ("Application/JSON; charset=utf-8", true),
            ("application/problem+json", true),
            ("text/plain", false),
            ("application/jsonx", false),
            ("+json", false),
        ] {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, value.parse().expect("header"));
            assert_eq!(is_json(&h), ok, "{value}");
        }
        assert!(!is_json(&HeaderMap::new()));
    }
}
