use hookflash_provider::ProviderError;
use serde::Deserialize;

/// Twilio's error body: `{"code", "message", "more_info", "status"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiErrorBody {
    /// Twilio's error code (20404 not found, 21201 no `To`, 20003 authentication, ...).
    pub code: Option<i64>,
    /// Twilio's words.
    #[serde(default)]
    pub message: String,
    /// A link to the error's reference page.
    pub more_info: Option<String>,
    /// The HTTP status Twilio put in the body.
    pub status: Option<u16>,
}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TwilioError {
    /// Twilio answered with an error status.
    #[error("Twilio answered HTTP {status}{}: {}", code_text(.body), .body.message)]
    Api {
        /// The HTTP status.
        status: u16,
        /// Twilio's error body (or what could be made of a non-JSON one).
        body: ApiErrorBody,
    },
    /// The request did not get an answer (connection, TLS, timeout).
    #[error("HTTP request to Twilio failed")]
    Http(#[source] reqwest::Error),
    /// Twilio's answer was not the JSON we expect.
    #[error("unexpected {what} from Twilio")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// Why it failed.
        #[source]
        source: serde_json::Error,
    },
    /// A configuration field is wrong.
    #[error("invalid Twilio configuration: {field}: {reason}")]
    Config {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A webhook came without `X-Twilio-Signature`.
    #[error("missing X-Twilio-Signature")]
    SignatureMissing,
    /// A webhook's signature does not match its URL and parameters.
    #[error("X-Twilio-Signature does not match")]
    SignatureMismatch,
    /// A JSON webhook's body does not match its `bodySHA256` (or has none).
    #[error("bodySHA256 missing or does not match the body")]
    BodyHashMismatch,
    /// A webhook was seen before.
    #[error("replayed webhook")]
    Replayed,
    /// A webhook names an `AccountSid` no configured account has (or names none while
    /// several accounts share the router).
    #[error("webhook for an unknown account")]
    UnknownAccount,
}

fn code_text(body: &ApiErrorBody) -> String {
    body.code
        .map(|c| format!(" (code {c})"))
        .unwrap_or_default()
}

impl TwilioError {
    pub(crate) fn config(field: &'static str, reason: &'static str) -> Self {
        Self::Config { field, reason }
    }

    /// Twilio's error code, for [`TwilioError::Api`].
    pub fn api_code(&self) -> Option<i64> {
        match self {
            Self::Api { body, .. } => body.code,
            _ => None,
        }
    }

    /// The HTTP status, for [`TwilioError::Api`].
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the webhook must be refused (403) for a signature or replay problem.
    pub fn is_forbidden(&self) -> bool {
        matches!(
            self,
            Self::SignatureMissing
                | Self::SignatureMismatch
                | Self::BodyHashMismatch
                | Self::Replayed
                | Self::UnknownAccount
        )
    }
}

impl From<TwilioError> for ProviderError {
    fn from(err: TwilioError) -> Self {
        match err {
            TwilioError::Api { status, body } => {
                let reason = format!(
                    "Twilio error {} (HTTP {status}): {}{}",
                    body.code.map_or_else(|| "-".to_owned(), |c| c.to_string()),
                    body.message,
                    body.more_info
                        .as_deref()
                        .map(|m| format!(" ({m})"))
                        .unwrap_or_default()
                );
                match (status, body.code) {
                    (404, _) | (_, Some(20404)) => ProviderError::NotFound { what: reason },
                    (401, _) | (_, Some(20003)) => ProviderError::Auth { message: reason },
                    _ => ProviderError::Rejected { reason },
                }
            }
            TwilioError::Config { field, reason } => ProviderError::InvalidRequest {
                field: field.to_owned(),
                reason: reason.to_owned(),
            },
            TwilioError::Http(err) if err.is_timeout() => ProviderError::Timeout {
                what: "Twilio's answer (the request may have taken effect)".to_owned(),
            },
            other => ProviderError::transport(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: i64, message: &str) -> TwilioError {
        TwilioError::Api {
            status,
            body: ApiErrorBody {
                code: Some(code),
                message: message.to_owned(),
                more_info: Some(format!("https://www.twilio.com/docs/errors/{code}")),
                status: Some(status),
            },
        }
    }

    #[test]
    fn not_found_and_rejected_keep_code_and_message() {
        let err: ProviderError = api(404, 20404, "The requested resource was not found").into();
        assert!(matches!(&err, ProviderError::NotFound { what } if what.contains("20404")));
        let err: ProviderError = api(400, 21201, "No 'To' number is specified").into();
        match err {
            ProviderError::Rejected { reason } => {
                assert!(reason.contains("21201"));
                assert!(reason.contains("No 'To' number is specified"));
                assert!(reason.contains("docs/errors/21201"));
            }
            other => panic!("unexpected {other:?}"),
        }
        let err: ProviderError = api(401, 20003, "Authenticate").into();
        assert!(matches!(err, ProviderError::Auth { .. }));
    }
}
