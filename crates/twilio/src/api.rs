//! The slice of Twilio's REST API 2010-04-01 that call control needs.
//!
//! Requests are `application/x-www-form-urlencoded` (array parameters as repeated keys), answers
//! are JSON with snake_case fields. 429 and 5xx answers are retried with exponential backoff,
//! honouring `Retry-After`, up to [`crate::RetryPolicy::max_attempts`] attempts. Note that a
//! retried CreateCall after a 5xx may, in principle, place a second call if the first request did
//! take effect; Twilio gives no idempotency key to prevent that.

use std::fmt;
use std::sync::Arc;

use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::config::{RetryPolicy, TwilioConfig};
use crate::error::{ApiErrorBody, TwilioError};
use crate::pacing::Pacer;
use crate::retry::{backoff, is_retryable};

/// Form parameters, in order, repeated keys allowed.
pub type Form = Vec<(&'static str, String)>;

/// A call resource (the fields this crate reads).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CallResource {
    /// `CA…`.
    pub sid: String,
    /// The call that created this one through `<Dial>`, if any.
    pub parent_call_sid: Option<String>,
    /// queued, ringing, in-progress, completed, busy, failed, no-answer, canceled.
    pub status: String,
    /// The called party.
    pub to: Option<String>,
    /// The caller.
    pub from: Option<String>,
    /// `outbound-api`, `outbound-dial`, `inbound`.
    pub direction: Option<String>,
    /// RFC 2822 start time, once started.
    pub start_time: Option<String>,
    /// RFC 2822 creation time.
    pub date_created: Option<String>,
}

/// A page of calls.
#[derive(Debug, Clone, Deserialize)]
struct CallPage {
    calls: Vec<CallResource>,
    next_page_uri: Option<String>,
}

/// A conference resource.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ConferenceResource {
    /// `CF…`.
    pub sid: String,
    /// The name given in `<Conference>` (our call id).
    pub friendly_name: String,
    /// init, in-progress, completed.
    pub status: String,
}

#[derive(Debug, Clone, Deserialize)]
struct ConferencePage {
    conferences: Vec<ConferenceResource>,
}

/// A conference participant.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ParticipantResource {
    /// The participant's call SID.
    pub call_sid: String,
    /// The conference.
    pub conference_sid: String,
    /// The label given at creation.
    pub label: Option<String>,
    /// Whether on hold.
    #[serde(default)]
    pub hold: bool,
    /// Whether muted.
    #[serde(default)]
    pub muted: bool,
    /// queued, connecting, ringing, connected, complete, failed.
    pub status: Option<String>,
}

/// A recording resource.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RecordingResource {
    /// `RE…`.
    pub sid: String,
    /// The recorded call.
    pub call_sid: Option<String>,
    /// in-progress, paused, stopped, processing, completed, absent.
    pub status: String,
}

/// A Twilio REST client for one account.
#[derive(Clone)]
pub struct TwilioApi {
    http: reqwest::Client,
    base: String,
    account_sid: String,
    auth_token: String,
    retry: RetryPolicy,
    pacer: Arc<Pacer>,
}

impl fmt::Debug for TwilioApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioApi")
            .field("base", &self.base)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"<redacted>")
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl TwilioApi {
    /// A client for the configured account.
    ///
    /// # Errors
    /// [`TwilioError::Config`] for a bad configuration, [`TwilioError::Http`] when the HTTP client
    /// cannot be built.
    pub fn new(config: &TwilioConfig) -> Result<Self, TwilioError> {
        config.validate()?;
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .user_agent(concat!("hookflash-twilio/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(TwilioError::Http)?;
        Ok(Self {
            http,
            base: config.api_base.trim_end_matches('/').to_owned(),
            account_sid: config.account_sid.clone(),
            auth_token: config.auth_token.clone(),
            retry: config.retry,
            pacer: Arc::new(Pacer::new(config.calls_per_second)),
        })
    }

    fn account_path(&self, rest: &str) -> String {
        format!(
            "{}/2010-04-01/Accounts/{}{rest}",
            self.base, self.account_sid
        )
    }

    /// CreateCall, paced at the account's calls-per-second.
    ///
    /// # Errors
    /// [`TwilioError::Api`] with Twilio's error body, or a transport error.
    pub async fn create_call(&self, form: &Form) -> Result<CallResource, TwilioError> {
        self.pacer.acquire().await;
        self.json(
            Method::POST,
            &self.account_path("/Calls.json"),
            Some(form),
            &[],
        )
        .await
    }

    /// UpdateCall (hang up, redirect).
    ///
    /// # Errors
    /// As [`TwilioApi::create_call`].
    pub async fn update_call(&self, sid: &str, form: &Form) -> Result<CallResource, TwilioError> {
        let url = self.account_path(&format!("/Calls/{sid}.json"));
        self.json(Method::POST, &url, Some(form), &[]).await
    }

    /// ListCall with one `Status`, following `next_page_uri` for at most `max_pages` pages.
    ///
    /// # Errors
    /// As [`TwilioApi::create_call`].
    pub async fn list_calls(
        &self,
        status: &str,
        max_pages: usize,
    ) -> Result<Vec<CallResource>, TwilioError> {
        let mut out = Vec::new();
        let mut url = self.account_path("/Calls.json");
        let mut query = vec![
            ("Status", status.to_owned()),
            ("PageSize", "200".to_owned()),
        ];
        for _ in 0..max_pages {
            let page: CallPage = self.json(Method::GET, &url, None, &query).await?;
            out.extend(page.calls);
            match page.next_page_uri {
                Some(next) if !next.is_empty() => {
                    url = format!("{}{next}", self.base);
                    query.clear();
                }
                _ => break,
            }
        }
        Ok(out)
    }

    /// ListConference by friendly name and status.
    ///
    /// # Errors
    /// As [`TwilioApi::create_call`].
    pub async fn list_conferences(
        &self,
        friendly_name: &str,
        status: &str,
    ) -> Result<Vec<ConferenceResource>, TwilioError> {
        let url = self.account_path("/Conferences.json");
        let query = vec![
            ("FriendlyName", friendly_name.to_owned()),
            ("Status", status.to_owned()),
        ];
        let page: ConferencePage = self.json(Method::GET, &url, None, &query).await?;
        Ok(page.conferences)
    }

    /// CreateParticipant (dials `To` into a conference), paced like CreateCall.
    ///
    /// # Errors
    /// As [`TwilioApi::create_call`].
    pub async fn create_participant(
        &self,
        conference: &str,
        form: &Form,
    ) -> Result<ParticipantResource, TwilioError> {
        self.pacer.acquire().await;
        let url = self.account_path(&format!("/Conferences/{conference}/Participants.json"));
        self.json(Method::POST, &url, Some(form), &[]).await
    }

    /// UpdateParticipant (hold, mute, end-conference-on-exit).
    ///
    /// # Errors
    /// As [`TwilioApi::create_call`].
    pub async fn update_participant(
        &self,
        conference_sid: &str,
        call_sid: &str,
        form: &Form,
    ) -> Result<ParticipantResource, TwilioError> {
        let url = self.account_path(&format!(
            "/Conferences/{conference_sid}/Participants/{call_sid}.json"
        ));
        self.json(Method::POST, &url, Some(form), &[]).await
    }

    /// DeleteParticipant (removes the participant's call from the conference, ending it).
    ///
    /// # Errors
    /// As [`TwilioApi::create_call`].
    pub async fn delete_participant(
        &self,
        conference_sid: &str,
        call_sid: &str,
    ) -> Result<(), TwilioError> {
        let url = self.account_path(&format!(
            "/Conferences/{conference_sid}/Participants/{call_sid}.json"
        ));
        self.send(Method::DELETE, &url, None, &[]).await.map(|_| ())
    }

    /// CreateCallRecording.
    ///
    /// # Errors
    /// As [`TwilioApi::create_call`].
    pub async fn create_call_recording(
        &self,
        call_sid: &str,
        form: &Form,
    ) -> Result<RecordingResource, TwilioError> {
        let url = self.account_path(&format!("/Calls/{call_sid}/Recordings.json"));
        self.json(Method::POST, &url, Some(form), &[]).await
    }

    /// UpdateCallRecording (`Status` paused / in-progress / stopped).
    ///
    /// # Errors
    /// As [`TwilioApi::create_call`].
    pub async fn update_call_recording(
        &self,
        call_sid: &str,
        recording_sid: &str,
        status: &str,
    ) -> Result<RecordingResource, TwilioError> {
        let url = self.account_path(&format!(
            "/Calls/{call_sid}/Recordings/{recording_sid}.json"
        ));
        let form: Form = vec![("Status", status.to_owned())];
        self.json(Method::POST, &url, Some(&form), &[]).await
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        form: Option<&Form>,
        query: &[(&'static str, String)],
    ) -> Result<T, TwilioError> {
        let body = self.send(method, url, form, query).await?;
        serde_json::from_slice(&body).map_err(|source| TwilioError::Decode {
            what: std::any::type_name::<T>()
                .rsplit("::")
                .next()
                .unwrap_or("response"),
            source,
        })
    }

    async fn send(
        &self,
        method: Method,
        url: &str,
        form: Option<&Form>,
        query: &[(&'static str, String)],
    ) -> Result<Vec<u8>, TwilioError> {
        let mut attempt = 1;
        loop {
            let mut request = self
                .http
                .request(method.clone(), url)
                .basic_auth(&self.account_sid, Some(&self.auth_token))
                .header(reqwest::header::ACCEPT, "application/json");
            if !query.is_empty() {
                request = request.query(query);
            }
            if let Some(form) = form {
                request = request.form(form);
            }
            let response = request.send().await.map_err(TwilioError::Http)?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = response.bytes().await.map_err(TwilioError::Http)?;
            if (200..300).contains(&status) {
                return Ok(body.to_vec());
            }
            if is_retryable(status) && attempt < self.retry.max_attempts {
                let wait = backoff(&self.retry, attempt, retry_after.as_deref());
                tracing::debug!(status, attempt, ?wait, "Twilio asked us to retry");
                tokio::time::sleep(wait).await;
                attempt += 1;
                continue;
            }
            return Err(TwilioError::Api {
                status,
                body: parse_error(status, &body),
            });
        }
    }
}

/// Twilio's error JSON, or a stand-in built from a non-JSON body.
fn parse_error(status: u16, body: &[u8]) -> ApiErrorBody {
    match serde_json::from_slice::<ApiErrorBody>(body) {
        Ok(parsed) => parsed,
        Err(_) => ApiErrorBody {
            code: None,
            message: String::from_utf8_lossy(body).chars().take(200).collect(),
            more_info: None,
            status: Some(status),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_parses_or_falls_back() {
        let body = br#"{"code": 20404, "message": "The requested resource /2010-04-01/Accounts/AC/Calls/CA.json was not found", "more_info": "https://www.twilio.com/docs/errors/20404", "status": 404}"#;
        let parsed = parse_error(404, body);
        assert_eq!(parsed.code, Some(20404));
        assert_eq!(parsed.status, Some(404));
        let fallback = parse_error(502, b"<html>Bad Gateway</html>");
        assert_eq!(fallback.code, None);
        assert_eq!(fallback.message, "<html>Bad Gateway</html>");
    }
}
