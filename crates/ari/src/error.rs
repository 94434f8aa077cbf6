//! The crate's one error type.

use std::time::Duration;

/// Everything that can go wrong talking to ARI.
///
/// HTTP error statuses keep the `message` Asterisk puts in its `{"message": "..."}` body.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 400: a parameter is missing or malformed.
    #[error("ARI bad request (400): {message}")]
    BadRequest {
        /// Asterisk's message.
        message: String,
    },
    /// 401 or 403: the credentials were refused.
    #[error("ARI authentication failed ({status}): {message}")]
    Unauthorized {
        /// 401 or 403.
        status: u16,
        /// Asterisk's message.
        message: String,
    },
    /// 404: the resource (channel, bridge, playback, recording, ...) or the route does not exist.
    #[error("ARI not found (404): {message}")]
    NotFound {
        /// Asterisk's message, e.g. `Channel not found`.
        message: String,
    },
    /// 405: the route exists but not with this method.
    #[error("ARI method not allowed (405): {message}")]
    MethodNotAllowed {
        /// Asterisk's message.
        message: String,
    },
    /// 409: a conflict, e.g. the channel is not in a Stasis application or the id is taken.
    #[error("ARI conflict (409): {message}")]
    Conflict {
        /// Asterisk's message, e.g. `Channel not in Stasis application`.
        message: String,
    },
    /// 412: a precondition failed, e.g. the channel is in an invalid state.
    #[error("ARI precondition failed (412): {message}")]
    PreconditionFailed {
        /// Asterisk's message.
        message: String,
    },
    /// 422: the request was understood but cannot be processed (e.g. channel not in the bridge).
    #[error("ARI unprocessable (422): {message}")]
    Unprocessable {
        /// Asterisk's message.
        message: String,
    },
    /// 5xx: Asterisk failed.
    #[error("ARI server error ({status}): {message}")]
    Server {
        /// The 5xx status.
        status: u16,
        /// Asterisk's message.
        message: String,
    },
    /// Any other non-success status.
    #[error("ARI unexpected status {status}: {message}")]
    UnexpectedStatus {
        /// The status.
        status: u16,
        /// Asterisk's message, or the body as text.
        message: String,
    },
    /// The request did not complete in time.
    #[error("ARI request timed out")]
    Timeout,
    /// The request could not be sent or its response not read (the URL is not included: it can
    /// carry an `api_key`).
    #[error("ARI transport error: {0}")]
    Transport(#[source] reqwest::Error),
    /// A success response whose body does not match the api-docs model.
    #[error("ARI response body does not match the model: {0}")]
    Decode(#[source] serde_json::Error),
    /// The base URL is not usable.
    #[error("invalid ARI base URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given (credentials removed).
        url: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The events WebSocket failed.
    #[error("ARI events WebSocket error: {0}")]
    WebSocket(#[source] Box<tokio_tungstenite::tungstenite::Error>),
    /// Building the HTTP client or the TLS configuration failed.
    #[error("ARI client setup failed: {0}")]
    Setup(#[source] reqwest::Error),
    /// The events task has stopped (the stream was closed or the application was replaced).
    #[error("ARI events stream closed")]
    Closed,
    /// A line of a recorded transcript is not a valid entry (fake server).
    #[cfg(feature = "fake")]
    #[error("transcript line {line}: {reason}")]
    Transcript {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A transcript could not be read or the fake server could not bind.
    #[cfg(feature = "fake")]
    #[error("fake ARI server I/O: {0}")]
    TranscriptIo(#[source] std::io::Error),
    /// The events WebSocket received nothing, not even a pong, for this long.
    #[error("ARI events WebSocket silent for {0:?}")]
    KeepaliveTimeout(Duration),
    /// No connection to the events WebSocket could be made within the given time.
    #[error("ARI events WebSocket did not connect within {0:?}")]
    ConnectTimeout(Duration),
}

impl Error {
    /// The HTTP status of an error response, if this error is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::BadRequest { .. } => Some(400),
            Error::Unauthorized { status, .. } => Some(*status),
            Error::NotFound { .. } => Some(404),
            Error::MethodNotAllowed { .. } => Some(405),
            Error::Conflict { .. } => Some(409),
            Error::PreconditionFailed { .. } => Some(412),
            Error::Unprocessable { .. } => Some(422),
            Error::Server { status, .. } | Error::UnexpectedStatus { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Asterisk's message of an error response, if this error is one.
    pub fn message(&self) -> Option<&str> {
        match self {
            Error::BadRequest { message }
            | Error::Unauthorized { message, .. }
            | Error::NotFound { message }
            | Error::MethodNotAllowed { message }
            | Error::Conflict { message }
            | Error::PreconditionFailed { message }
            | Error::Unprocessable { message }
            | Error::Server { message, .. }
            | Error::UnexpectedStatus { message, .. } => Some(message),
            _ => None,
        }
    }

    /// True for a 404 (e.g. the channel is already gone).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }

    /// True for a 409 (e.g. the channel is not in a Stasis application).
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Conflict { .. })
    }

    /// True when the request may have reached Asterisk but its outcome is unknown.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Error::Timeout) || matches!(self, Error::Transport(e) if !e.is_connect())
    }

    /// Maps an error status and its body to the typed error.
    pub fn from_response(status: u16, body: &[u8]) -> Self {
        let message = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned());
        match status {
            400 => Error::BadRequest { message },
            401 | 403 => Error::Unauthorized { status, message },
            404 => Error::NotFound { message },
            405 => Error::MethodNotAllowed { message },
            409 => Error::Conflict { message },
            412 => Error::PreconditionFailed { message },
            422 => Error::Unprocessable { message },
            500..=599 => Error::Server { status, message },
            _ => Error::UnexpectedStatus { status, message },
        }
    }

    pub(crate) fn transport(e: reqwest::Error) -> Self {
        if e.is_timeout() {
            Error::Timeout
        } else {
            Error::Transport(e.without_url())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_statuses_and_keeps_message() {
        let e = Error::from_response(409, br#"{"message": "Channel not in Stasis application"}"#);
        assert!(e.is_conflict());
        assert_eq!(e.message(), Some("Channel not in Stasis application"));
        assert_eq!(e.status(), Some(409));
        assert!(
            matches!(Error::from_response(503, b"down"), Error::Server { status: 503, ref message } if message == "down")
        );
        assert!(matches!(
            Error::from_response(418, b""),
            Error::UnexpectedStatus { status: 418, .. }
        ));
    }
}
