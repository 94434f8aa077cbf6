//! The REST client: base URL, credentials, timeouts and the request plumbing the generated
//! operations use.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, Url};
use serde::de::DeserializeOwned;

use crate::Error;
use crate::ids::{IdGenerator, SharedIds, UuidIds};

/// How the client authenticates.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// HTTP basic auth (the `Authorization` header); the default.
    Basic {
        /// The ARI user (`ari.conf`).
        username: String,
        /// Its password.
        password: String,
    },
    /// The `api_key=user:password` query parameter, for proxies that strip `Authorization`.
    ApiKey {
        /// The ARI user.
        username: String,
        /// Its password.
        password: String,
    },
}

impl Credentials {
    pub(crate) fn username(&self) -> &str {
        match self {
            Credentials::Basic { username, .. } | Credentials::ApiKey { username, .. } => username,
        }
    }

    pub(crate) fn api_key(&self) -> Option<String> {
        match self {
            Credentials::ApiKey { username, password } => Some(format!("{username}:{password}")),
            Credentials::Basic { .. } => None,
        }
    }
}

impl fmt::Debug for Credentials {
    // The password never reaches a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Credentials::Basic { .. } => "Basic",
            Credentials::ApiKey { .. } => "ApiKey",
        };
        f.debug_struct(kind)
            .field("username", &self.username())
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Builds a [`Client`].
#[derive(Debug)]
pub struct ClientBuilder {
    base_url: String,
    credentials: Credentials,
    timeout: Duration,
    connect_timeout: Duration,
    ids: SharedIds,
}

impl ClientBuilder {
    /// Uses the `api_key` query parameter instead of basic auth.
    pub fn api_key(mut self) -> Self {
        if let Credentials::Basic { username, password } = self.credentials {
            self.credentials = Credentials::ApiKey { username, password };
        }
        self
    }

    /// Whole-request timeout for REST calls (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connect timeout (default 5 s): the TCP connect of REST calls, and the whole connect and
    /// upgrade handshake of the events WebSocket.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Replaces the generator of the ids the client chooses (default: random UUIDs).
    pub fn id_generator(mut self, ids: impl IdGenerator) -> Self {
        self.ids = SharedIds(Arc::new(ids));
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`] for a base URL that is not `http(s)://host[:port][/prefix][/ari]`,
    /// [`Error::Setup`] if the HTTP client cannot be built.
    pub fn build(self) -> Result<Client, Error> {
        let base = normalize_base(&self.base_url)?;
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .build()
            .map_err(Error::Setup)?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                credentials: self.credentials,
                connect_timeout: self.connect_timeout,
                ids: self.ids,
            }),
        })
    }
}

/// Accepts `http://host:8088`, `http://host:8088/`, `http://host:8088/ari` and `.../ari/`, and
/// returns the URL of the ARI root, without a trailing slash.
fn normalize_base(raw: &str) -> Result<Url, Error> {
    let invalid = |reason| Error::InvalidUrl {
        url: redact_url(raw),
        reason,
    };
    let mut url = Url::parse(raw.trim()).map_err(|_| invalid("not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("scheme must be http or https"));
    }
    if url.cannot_be_a_base() || url.host_str().is_none() {
        return Err(invalid("no host"));
    }
    url.set_query(None);
    url.set_fragment(None);
    // Credentials in the URL would end up in logs; they belong in `Credentials`.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("put credentials in the builder, not in the URL"));
    }
    let path = url.path().trim_end_matches('/').to_owned();
    let path = if path.ends_with("/ari") {
        path
    } else {
        format!("{path}/ari")
    };
    url.set_path(&path);
    Ok(url)
}

fn redact_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("redacted"));
            }
            u.set_query(None);
            u.to_string()
        }
        Err(_) => "<unparseable>".to_owned(),
    }
}

/// An ARI client: cheap to clone, shares one connection pool.
///
/// Every REST operation of the api-docs is a method of a per-resource accessor:
/// `client.channels().originate(...)`, `client.bridges().add_channel(...)`, ... The events
/// WebSocket is opened with [`Client::events`].
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    credentials: Credentials,
    connect_timeout: Duration,
    ids: SharedIds,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base.as_str())
            .field("credentials", &self.inner.credentials)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts a builder for the ARI at `base_url` (with or without the trailing `/ari`), using
    /// basic auth.
    pub fn builder(
        base_url: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            credentials: Credentials::Basic {
                username: username.into(),
                password: password.into(),
            },
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            ids: SharedIds(Arc::new(UuidIds)),
        }
    }

    /// The ARI root URL, e.g. `http://127.0.0.1:8088/ari`.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// A fresh id from the client's id generator (for stage-then-execute).
    pub fn new_id(&self) -> String {
        self.inner.ids.0.next_id()
    }

    pub(crate) fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    pub(crate) fn connect_timeout(&self) -> Duration {
        self.inner.connect_timeout
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    async fn send(
        &self,
        method: Method,
        segments: &[&str],
        mut query: Vec<(&'static str, String)>,
        body: Option<serde_json::Value>,
    ) -> Result<reqwest::Response, Error> {
        let url = self.url(segments);
        tracing::debug!(%method, path = url.path(), "ARI request");
        if let Some(key) = self.inner.credentials.api_key() {
            query.push(("api_key", key));
        }
        let mut req = self.inner.http.request(method, url);
        if !query.is_empty() {
            req = req.query(&query);
        }
        if let Credentials::Basic { username, password } = &self.inner.credentials {
            req = req.basic_auth(username, Some(password));
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.map_err(Error::transport)?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let bytes = resp.bytes().await.map_err(Error::transport)?;
        let err = Error::from_response(status.as_u16(), &bytes);
        tracing::debug!(status = status.as_u16(), error = %err, "ARI error response");
        Err(err)
    }

    pub(crate) async fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        query: Vec<(&'static str, String)>,
        body: Option<serde_json::Value>,
    ) -> Result<T, Error> {
        let resp = self.send(method, segments, query, body).await?;
        let bytes = resp.bytes().await.map_err(Error::transport)?;
        serde_json::from_slice(&bytes).map_err(Error::Decode)
    }

    pub(crate) async fn send_empty(
        &self,
        method: Method,
        segments: &[&str],
        query: Vec<(&'static str, String)>,
        body: Option<serde_json::Value>,
    ) -> Result<(), Error> {
        self.send(method, segments, query, body).await.map(drop)
    }

    pub(crate) async fn send_bytes(
        &self,
        method: Method,
        segments: &[&str],
        query: Vec<(&'static str, String)>,
        body: Option<serde_json::Value>,
    ) -> Result<bytes::Bytes, Error> {
        let resp = self.send(method, segments, query, body).await?;
        resp.bytes().await.map_err(Error::transport)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_with_or_without_ari() {
        for raw in [
            "http://127.0.0.1:8088",
            "http://127.0.0.1:8088/",
            "http://127.0.0.1:8088/ari",
            "http://127.0.0.1:8088/ari/",
        ] {
            assert_eq!(
                normalize_base(raw).unwrap().as_str(),
                "http://127.0.0.1:8088/ari",
                "{raw}"
            );
        }
        assert_eq!(
            normalize_base("https://pbx.example/asterisk/")
                .unwrap()
                .as_str(),
            "https://pbx.example/asterisk/ari"
        );
        assert!(normalize_base("ftp://x").is_err());
        assert!(normalize_base("http://u:secret@x/").is_err());
        let e = normalize_base("http://u:secret@x/")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn url_encodes_segments() {
        let c = Client::builder("http://h:1/ari/", "u", "p")
            .build()
            .unwrap();
        assert_eq!(
            c.url(&["endpoints", "PJSIP", "agent 1/x"]).as_str(),
            "http://h:1/ari/endpoints/PJSIP/agent%201%2Fx"
        );
    }

    #[test]
    fn debug_redacts_credentials() {
        let c = Client::builder("http://h:1", "ari", "s3cret-pass")
            .api_key()
            .build()
            .unwrap();
        let d = format!("{c:?}");
        assert!(!d.contains("s3cret-pass"), "{d}");
        assert!(d.contains("ari"), "{d}");
        let b = format!("{:?}", Client::builder("http://h:1", "ari", "s3cret-pass"));
        assert!(!b.contains("s3cret-pass"), "{b}");
        let e = format!("{:?}", c.event_stream(["a"]));
        assert!(!e.contains("s3cret-pass"), "{e}");
    }
}
