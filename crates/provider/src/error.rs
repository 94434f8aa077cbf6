use crate::capabilities::Capability;

/// Why a provider could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The provider cannot do this at all (see [`crate::Capabilities`]).
    #[error("{capability:?} is not supported by this provider: {why}")]
    Unsupported {
        /// What was asked.
        capability: Capability,
        /// Why it is not possible.
        why: String,
    },
    /// The leg, call or transfer does not exist (any more) on the provider.
    #[error("not found: {what}")]
    NotFound {
        /// What was looked for.
        what: String,
    },
    /// The provider refused the request; `reason` is its own message.
    #[error("rejected by the provider: {reason}")]
    Rejected {
        /// The PBX's or platform's words.
        reason: String,
    },
    /// The request is malformed before it reaches the provider (CR/LF in a value, a bad number).
    #[error("invalid {field}: {reason}")]
    InvalidRequest {
        /// The offending field.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No answer in time; the request may or may not have taken effect.
    #[error("timed out waiting for {what}")]
    Timeout {
        /// What was waited for.
        what: String,
    },
    /// The provider is not connected right now; nothing was sent.
    #[error("provider {provider} is not connected")]
    NotConnected {
        /// The provider's configured name.
        provider: String,
    },
    /// The connection failed while the request was under way.
    #[error("transport error: {source}")]
    Transport {
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// The provider refused our credentials.
    #[error("authentication failed: {message}")]
    Auth {
        /// The provider's words.
        message: String,
    },
}

impl ProviderError {
    /// Wraps a transport-level error.
    pub fn transport(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Transport {
            source: Box::new(source),
        }
    }

    /// Whether retrying later might succeed (timeouts, lost or missing connections).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Timeout { .. } | Self::NotConnected { .. } | Self::Transport { .. }
        )
    }

    /// Whether the request may have reached the platform although it failed here (no answer
    /// in time, the link lost mid-request): its outcome is unknown, and only the platform's
    /// events can tell what happened. Every other error means the request was not carried
    /// out.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Self::Timeout { .. } | Self::Transport { .. })
    }

    /// A stable snake_case code for APIs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unsupported { .. } => "unsupported",
            Self::NotFound { .. } => "not_found",
            Self::Rejected { .. } => "rejected",
            Self::InvalidRequest { .. } => "invalid_request",
            Self::Timeout { .. } => "timeout",
            Self::NotConnected { .. } => "not_connected",
            Self::Transport { .. } => "transport",
            Self::Auth { .. } => "auth",
        }
    }
}
