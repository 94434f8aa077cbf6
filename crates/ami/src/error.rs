use std::io;
use std::time::Duration;

use crate::response::Response;

/// Every error of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AmiError {
    /// A frame grew past the configured byte limit; the decoder skips to the next blank line.
    #[error("AMI frame larger than {limit} bytes (skipped to the next blank line)")]
    FrameTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// A frame had more headers than the configured limit; the frame is skipped.
    #[error("AMI frame with more than {limit} headers (skipped)")]
    TooManyHeaders {
        /// The configured limit.
        limit: usize,
    },
    /// A line of a frame is not `Key: value`; the frame is skipped.
    #[error("malformed AMI line {line:?} (frame skipped)")]
    MalformedLine {
        /// The offending line, lossily decoded and cut to 80 bytes.
        line: String,
    },
    /// The first line the server sent is not an AMI banner.
    #[error("not an AMI server: unexpected banner {banner:?}")]
    BadBanner {
        /// The line that was received.
        banner: String,
    },
    /// An action key or value holds CR or LF (header injection); nothing was written.
    #[error("CR or LF in AMI header {key:?} (header injection refused)")]
    HeaderInjection {
        /// The key of the offending header (lossy, may itself be the offending part).
        key: String,
    },
    /// An action key is empty or holds `:`; nothing was written.
    #[error("invalid AMI header key {key:?}")]
    InvalidKey {
        /// The offending key.
        key: String,
    },
    /// An action line is longer than the 1024 bytes Asterisk accepts; nothing was written.
    #[error("AMI line for {key:?} is {len} bytes, Asterisk accepts at most {max}")]
    LineTooLong {
        /// The key of the offending header.
        key: String,
        /// The line length including CRLF.
        len: usize,
        /// The maximum accepted.
        max: usize,
    },
    /// Socket I/O failed.
    #[error("AMI I/O error: {0}")]
    Io(#[from] io::Error),
    /// TLS setup failed (bad server name, handshake).
    #[error("AMI TLS error: {0}")]
    Tls(String),
    /// Login was refused (bad username or secret).
    #[error("AMI login refused: {message}")]
    Authentication {
        /// The server's `Message`.
        message: String,
    },
    /// The server answered an action with `Response: Error`.
    #[error("AMI action {action} failed: {}", response.message().unwrap_or("(no message)"))]
    ActionFailed {
        /// The action's name.
        action: String,
        /// The full error response.
        response: Box<Response>,
    },
    /// The connection dropped while the action was in flight: it may or may not have been
    /// executed, and it is never re-sent.
    #[error("AMI connection lost while the action was in flight: {reason}")]
    ConnectionLost {
        /// Why the link dropped.
        reason: String,
    },
    /// The client is currently not connected (reconnecting); the action was never sent.
    #[error("AMI client not connected; action not sent")]
    NotConnected,
    /// The client task has stopped (every handle closed or reconnect disabled); nothing was sent.
    #[error("AMI client closed")]
    Closed,
    /// No answer within the action timeout; the action may have been executed.
    #[error("AMI action timed out after {0:?}")]
    Timeout(Duration),
    /// The server answered in a way the protocol does not allow (e.g. no banner, EOF mid-login).
    #[error("AMI protocol error: {0}")]
    Protocol(String),
}

impl AmiError {
    /// True when the action was certainly never written to the socket.
    pub fn is_not_sent(&self) -> bool {
        matches!(
            self,
            AmiError::NotConnected
                | AmiError::Closed
                | AmiError::HeaderInjection { .. }
                | AmiError::InvalidKey { .. }
                | AmiError::LineTooLong { .. }
        )
    }

    /// True for a dropped link (the action's outcome is unknown).
    pub fn is_connection_lost(&self) -> bool {
        matches!(self, AmiError::ConnectionLost { .. })
    }

    /// True for a frame-level decoding error after which the decoder has resynchronised.
    pub fn is_frame_error(&self) -> bool {
        matches!(
            self,
            AmiError::FrameTooLarge { .. }
                | AmiError::TooManyHeaders { .. }
                | AmiError::MalformedLine { .. }
        )
    }
}
