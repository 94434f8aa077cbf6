use std::fmt;
use std::time::Duration;

use crate::error::TwilioError;

/// Twilio's production REST API.
pub const DEFAULT_API_BASE: &str = "https://api.twilio.com";

/// How the two legs of an agent-first call are joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BridgeMode {
    /// The agent's TwiML `<Dial>`s the customer: cheapest, but no hold, mute, attended
    /// transfer or DTMF without breaking the bridge.
    #[default]
    Dial,
    /// The agent joins a per-call `<Conference>` named by our call id and the customer is added
    /// through the Participants API: hold, mute, attended transfer and DTMF work.
    Conference,
}

impl BridgeMode {
    /// The spelling used in callback URLs.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Dial => "dial",
            Self::Conference => "conference",
        }
    }

    /// Parses `dial` / `conference` (case-insensitive).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "dial" => Some(Self::Dial),
            "conference" => Some(Self::Conference),
            _ => None,
        }
    }
}

/// Answering-machine detection on the customer leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MachineDetection {
    /// `Enable`: returns as soon as a human or machine is recognised.
    Enable,
    /// `DetectMessageEnd`: for a machine, waits for the end of the greeting.
    DetectMessageEnd,
}

impl MachineDetection {
    /// Twilio's spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Enable => "Enable",
            Self::DetectMessageEnd => "DetectMessageEnd",
        }
    }
}

/// Retries of 429 and 5xx answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How many times a request is sent at most (1 = no retry).
    pub max_attempts: u32,
    /// The first backoff; doubled on each further attempt.
    pub base_delay: Duration,
    /// No single wait is longer than this, whatever `Retry-After` says.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
        }
    }
}

/// Everything [`crate::TwilioProvider`] needs to talk to Twilio and to be called back.
#[derive(Clone)]
#[non_exhaustive]
pub struct TwilioConfig {
    /// The account SID (`AC` + 32 hex digits).
    pub account_sid: String,
    /// The account's auth token: HTTP basic password and webhook signing key. Never printed.
    pub auth_token: String,
    /// The REST API's base URL (default [`DEFAULT_API_BASE`]; a fake's address in tests).
    pub api_base: String,
    /// Where Twilio reaches our webhook router (`https://hooks.example.com`), without a trailing
    /// slash. Callback URLs are built from it and signatures are checked against it, so it must be
    /// exactly what Twilio sees (scheme, host, port), not what a proxy forwards to us.
    pub public_base_url: String,
    /// The `From` presented to the agent's phone when the request gives no caller id
    /// (a Twilio number or verified caller id).
    pub agent_caller_id: Option<String>,
    /// The account's calls-per-second limit; CreateCall and CreateParticipant are paced to it.
    pub calls_per_second: f64,
    /// How the legs of a call are joined unless the request says otherwise.
    pub bridge: BridgeMode,
    /// Answering-machine detection on the customer leg, if wanted.
    pub customer_machine_detection: Option<MachineDetection>,
    /// Retries of throttled (429) and failed (5xx) requests.
    pub retry: RetryPolicy,
    /// Per-request timeout of REST calls.
    pub request_timeout: Duration,
    /// Capacity of the event broadcast; slower subscribers are told they lagged.
    pub event_capacity: usize,
    /// How long a seen webhook signature is remembered to refuse its replay.
    pub replay_window: Duration,
    /// How many webhook signatures are remembered at most.
    pub replay_capacity: usize,
}

impl fmt::Debug for TwilioConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioConfig")
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"<redacted>")
            .field("api_base", &self.api_base)
            .field("public_base_url", &self.public_base_url)
            .field("agent_caller_id", &self.agent_caller_id)
            .field("calls_per_second", &self.calls_per_second)
            .field("bridge", &self.bridge)
            .field(
                "customer_machine_detection",
                &self.customer_machine_detection,
            )
            .field("retry", &self.retry)
            .field("request_timeout", &self.request_timeout)
            .field("event_capacity", &self.event_capacity)
            .field("replay_window", &self.replay_window)
            .field("replay_capacity", &self.replay_capacity)
            .finish()
    }
}

impl TwilioConfig {
    /// A configuration with the defaults: production API, 1 call per second, `<Dial>` bridging,
    /// no AMD, 4 attempts per request.
    ///
    /// # Errors
    /// [`TwilioError::Config`] when the account SID is not `AC` + 32 hex digits, the token is
    /// empty, or the public URL is not an absolute `http(s)` URL.
    pub fn new(
        account_sid: impl Into<String>,
        auth_token: impl Into<String>,
        public_base_url: impl Into<String>,
    ) -> Result<Self, TwilioError> {
        let config = Self {
            account_sid: account_sid.into(),
            auth_token: auth_token.into(),
            api_base: DEFAULT_API_BASE.to_owned(),
            public_base_url: public_base_url.into().trim_end_matches('/').to_owned(),
            agent_caller_id: None,
            calls_per_second: 1.0,
            bridge: BridgeMode::Dial,
            customer_machine_detection: None,
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(15),
            event_capacity: 1024,
            replay_window: Duration::from_secs(15 * 60),
            replay_capacity: 100_000,
        };
        config.validate()?;
        Ok(config)
    }

    /// Points the REST client somewhere else (a fake, a regional edge).
    #[must_use]
    pub fn with_api_base(mut self, api_base: impl Into<String>) -> Self {
        self.api_base = api_base.into().trim_end_matches('/').to_owned();
        self
    }

    /// Sets the `From` shown to agents.
    #[must_use]
    pub fn with_agent_caller_id(mut self, caller_id: impl Into<String>) -> Self {
        self.agent_caller_id = Some(caller_id.into());
        self
    }

    /// Sets the account's calls-per-second limit.
    #[must_use]
    pub fn with_calls_per_second(mut self, cps: f64) -> Self {
        self.calls_per_second = cps;
        self
    }

    /// Sets the default bridge mode.
    #[must_use]
    pub fn with_bridge(mut self, bridge: BridgeMode) -> Self {
        self.bridge = bridge;
        self
    }

    /// Turns on answering-machine detection on customer legs.
    #[must_use]
    pub fn with_customer_machine_detection(mut self, amd: MachineDetection) -> Self {
        self.customer_machine_detection = Some(amd);
        self
    }

    /// Sets the retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Checks the fields that a typo would break silently.
    ///
    /// # Errors
    /// [`TwilioError::Config`] naming the field.
    pub fn validate(&self) -> Result<(), TwilioError> {
        if !is_sid(&self.account_sid, "AC") {
            return Err(TwilioError::config(
                "account_sid",
                "must be AC followed by 32 hex digits",
            ));
        }
        if self.auth_token.is_empty() {
            return Err(TwilioError::config("auth_token", "must not be empty"));
        }
        for (field, url) in [
            ("public_base_url", &self.public_base_url),
            ("api_base", &self.api_base),
        ] {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(TwilioError::config(
                    field,
                    "must be an absolute http(s) URL",
                ));
            }
        }
        if !(self.calls_per_second.is_finite() && self.calls_per_second > 0.0) {
            return Err(TwilioError::config(
                "calls_per_second",
                "must be a positive number",
            ));
        }
        if self.retry.max_attempts == 0 {
            return Err(TwilioError::config(
                "retry.max_attempts",
                "must be at least 1",
            ));
        }
        if self.event_capacity == 0 || self.replay_capacity == 0 {
            return Err(TwilioError::config("capacity", "must be at least 1"));
        }
        Ok(())
    }
}

/// Whether `text` is `prefix` followed by 32 hex digits (Twilio's SID pattern).
pub fn is_sid(text: &str, prefix: &str) -> bool {
    text.len() == prefix.len() + 32
        && text.starts_with(prefix)
        && text[prefix.len()..].bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "AC0123456789abcdef0123456789abcdef";

    #[test]
    fn debug_never_shows_the_token() {
        let config = TwilioConfig::new(SID, "s3cr3t-token", "https://hooks.example.com/").unwrap();
        let text = format!("{config:?}");
        assert!(!text.contains("s3cr3t-token"));
        assert!(text.contains("<redacted>"));
        assert_eq!(config.public_base_url, "https://hooks.example.com");
    }

    #[test]
    fn bad_fields_are_named() {
        let err = TwilioConfig::new("ACnope", "t", "https://x").unwrap_err();
        assert!(err.to_string().contains("account_sid"));
        let err = TwilioConfig::new(SID, "t", "hooks.example.com").unwrap_err();
        assert!(err.to_string().contains("public_base_url"));
        let err = TwilioConfig::new(SID, "", "https://x").unwrap_err();
        assert!(err.to_string().contains("auth_token"));
    }

    #[test]
    fn sid_pattern() {
        assert!(is_sid("CA0123456789abcdef0123456789ABCDEF", "CA"));
        assert!(!is_sid("CA0123456789abcdef0123456789ABCDE", "CA"));
        assert!(!is_sid("CA0123456789abcdef0123456789ABCDEG", "CA"));
        assert!(!is_sid("RE0123456789abcdef0123456789ABCDEF", "CA"));
    }
}
