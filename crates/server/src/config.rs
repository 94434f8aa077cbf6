//! The configuration file of both services: one TOML file plus environment overrides.
//!
//! The parts about the platforms and the process live here, in the composition layer: where
//! the api-server listens, the Asterisk servers (`[[asterisk]]`) and the Twilio accounts
//! (`[[twilio]]`). Everything else in the file is the HTTP API's own settings
//! ([`hookflash_api::Config`]: database, phone numbers, JWT, login limits, variables, CORS).
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! database_url = "sqlite://hookflash.db?mode=rwc"
//! default_region = "US"
//!
//! [[asterisk]]
//! name = "pbx1"
//! protocol = "ami"          # or "ari"
//! host = "127.0.0.1"
//! port = 5038
//! username = "ami"
//! secret_env = "PBX1_SECRET" # default: HOOKFLASH_SERVER_PBX1_SECRET
//! dial_format = "digits"     # how the customer number is dialled: "e164" (+15551204005),
//!                            # "digits" (15551204005, the default), "national" (5551204005)
//! transfer_context = "hookflash-transfer" # where transfer destinations are looked up (the
//!                            # default); requests never choose it
//!
//! [[twilio]]
//! name = "twilio-main"
//! account_sid = "AC..."
//! auth_token_env = "TWILIO_MAIN_TOKEN" # default: HOOKFLASH_TWILIO_TWILIO_MAIN_TOKEN
//! ```
//!
//! Environment overrides (applied after the file): `HOOKFLASH_LISTEN`, per server the variable
//! named by `secret_env` / `auth_token_env`, and the API's own (see [`hookflash_api::Config`]).
//! Secrets written in the file are accepted but the environment wins; they are
//! [`SecretString`]s (`Debug` prints `[REDACTED]`).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;

use hookflash_api::{DialFormat, Protocol, Settings};
use secrecy::SecretString;
use serde::Deserialize;

/// The listen address used when none is configured.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not TOML of the expected shape.
    #[error("{0}")]
    Parse(String),
    /// The values do not fit together (named).
    #[error("{0}")]
    Invalid(String),
    /// The API's part of the configuration was refused.
    #[error(transparent)]
    Api(#[from] hookflash_api::ApiError),
}

/// One Asterisk server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AsteriskServer {
    /// A unique name (used in `/api/v1/servers/{name}` and in `POST /calls` `server`).
    pub name: String,
    /// `ami` or `ari`.
    pub protocol: Protocol,
    /// Host name or address.
    pub host: String,
    /// Port (default 5038 for AMI, 8088 for ARI).
    pub port: Option<u16>,
    /// Login user.
    pub username: String,
    /// The secret, if written in the file (the environment variable wins).
    #[serde(default)]
    pub secret: Option<SecretString>,
    /// The environment variable holding the secret.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// TLS to the server.
    #[serde(default)]
    pub tls: bool,
    /// ARI: the Stasis application name.
    #[serde(default)]
    pub app: Option<String>,
    /// The form of the customer number handed to the server (default `digits`).
    #[serde(default)]
    pub dial_format: DialFormat,
    /// The dialplan context transfer destinations are looked up in (default
    /// `hookflash-transfer`). Configuration only: a transfer request cannot name a context, so
    /// an agent cannot send a customer into any other part of the dialplan.
    #[serde(default)]
    pub transfer_context: Option<String>,
}

impl AsteriskServer {
    /// The port, defaulted by protocol.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.protocol {
            Protocol::Ari => 8088,
            _ => 5038,
        })
    }

    /// The name of the environment variable that holds this server's secret.
    pub fn secret_env_name(&self) -> String {
        self.secret_env
            .clone()
            .unwrap_or_else(|| format!("HOOKFLASH_SERVER_{}_SECRET", env_suffix(&self.name)))
    }
}

/// One Twilio account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TwilioAccount {
    /// A unique name among all servers.
    pub name: String,
    /// The account SID (`AC...`).
    pub account_sid: String,
    /// The auth token, if written in the file (the environment variable wins).
    #[serde(default)]
    pub auth_token: Option<SecretString>,
    /// The environment variable holding the auth token.
    #[serde(default)]
    pub auth_token_env: Option<String>,
    /// API base URL (default `https://api.twilio.com`); tests point it at a local server.
    #[serde(default)]
    pub base_url: Option<String>,
    /// The public base URL Twilio calls back (status callbacks, TwiML).
    #[serde(default)]
    pub public_url: Option<String>,
}

impl TwilioAccount {
    /// The name of the environment variable that holds the auth token.
    pub fn auth_token_env_name(&self) -> String {
        self.auth_token_env
            .clone()
            .unwrap_or_else(|| format!("HOOKFLASH_TWILIO_{}_TOKEN", env_suffix(&self.name)))
    }
}

fn env_suffix(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The whole configuration file.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Where the api-server listens.
    pub listen: SocketAddr,
    /// Asterisk servers.
    pub asterisk: Vec<AsteriskServer>,
    /// Twilio accounts.
    pub twilio: Vec<TwilioAccount>,
    /// The HTTP API's own settings (every other key of the file).
    pub api: hookflash_api::Config,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            asterisk: Vec::new(),
            twilio: Vec::new(),
            api: hookflash_api::Config::default(),
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(key: &str, value: toml::Value) -> Result<T, ConfigError> {
    value
        .try_into()
        .map_err(|e| ConfigError::Parse(format!("{key}: {e}")))
}

impl ServerConfig {
    /// Reads the file at `path` (or starts from defaults when `None`), then applies the
    /// process environment and checks the result.
    ///
    /// # Errors
    /// [`ConfigError`] when the file cannot be read or parsed, or the result is invalid.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with_env(path, |k| std::env::var(k).ok())
    }

    /// Like [`ServerConfig::load`] with an explicit environment lookup (tests pass a map).
    ///
    /// # Errors
    /// As [`ServerConfig::load`].
    pub fn load_with_env(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut config = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.display().to_string(),
                    source,
                })?;
                Self::from_toml(&text)?
            }
            None => Self::default(),
        };
        config.apply_env(env)?;
        config.validate()?;
        Ok(config)
    }

    /// Parses TOML text (no environment applied): `listen`, `[[asterisk]]` and `[[twilio]]`
    /// here, every other key as the API's settings (which refuse keys they do not know).
    ///
    /// # Errors
    /// [`ConfigError::Parse`] with the parser's message.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let mut table: toml::Table =
            toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        let mut config = Self::default();
        if let Some(v) = table.remove("listen") {
            let text: String = parse("listen", v)?;
            config.listen = text
                .parse()
                .map_err(|_| ConfigError::Parse(format!("listen: not an address: {text}")))?;
        }
        if let Some(v) = table.remove("asterisk") {
            config.asterisk = parse("asterisk", v)?;
        }
        if let Some(v) = table.remove("twilio") {
            config.twilio = parse("twilio", v)?;
        }
        config.api = toml::Value::Table(table).try_into().map_err(|e| {
            let text = e.to_string();
            // The API lists only its own keys; the file's other keys are read here.
            if text.contains("unknown field") {
                ConfigError::Parse(format!("{text}, `listen`, `asterisk`, `twilio`"))
            } else {
                ConfigError::Parse(text)
            }
        })?;
        Ok(config)
    }

    /// Applies environment overrides and fills secrets from their variables.
    ///
    /// # Errors
    /// [`ConfigError`] when `HOOKFLASH_LISTEN` is not an address, or the API's overrides are
    /// refused.
    pub fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = env("HOOKFLASH_LISTEN") {
            self.listen = v.parse().map_err(|_| {
                ConfigError::Invalid(format!("HOOKFLASH_LISTEN: not an address: {v}"))
            })?;
        }
        for server in &mut self.asterisk {
            if let Some(v) = env(&server.secret_env_name()) {
                server.secret = Some(v.into());
            }
        }
        for account in &mut self.twilio {
            if let Some(v) = env(&account.auth_token_env_name()) {
                account.auth_token = Some(v.into());
            }
        }
        self.api.apply_env(&env)?;
        Ok(())
    }

    /// Checks server names are unique, protocols fit their section, transfer contexts are
    /// context names and Twilio accounts are configured once; then the API's settings.
    ///
    /// # Errors
    /// [`ConfigError`] naming the problem.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut names = HashSet::new();
        for s in &self.asterisk {
            if s.protocol == Protocol::Twilio {
                return Err(ConfigError::Invalid(format!(
                    "asterisk server {}: protocol must be ami or ari",
                    s.name
                )));
            }
            if !names.insert(s.name.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "duplicate server name {}",
                    s.name
                )));
            }
            if let Some(c) = &s.transfer_context
                && (c.is_empty()
                    || !c
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch)))
            {
                return Err(ConfigError::Invalid(format!(
                    "asterisk server {}: transfer_context {c:?} is not a dialplan context name",
                    s.name
                )));
            }
        }
        // Twilio's callbacks are routed by AccountSid: one entry per account.
        let mut sids = HashSet::new();
        for t in &self.twilio {
            if !names.insert(t.name.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "duplicate server name {}",
                    t.name
                )));
            }
            if !sids.insert(t.account_sid.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "twilio account {}: account_sid {} is already configured",
                    t.name, t.account_sid
                )));
            }
        }
        self.api.validate()?;
        Ok(())
    }

    /// The customer-number form of each Asterisk server (a server not listed, such as a Twilio
    /// account, dials E.164).
    pub fn dial_formats(&self) -> HashMap<String, DialFormat> {
        self.asterisk
            .iter()
            .map(|s| (s.name.clone(), s.dial_format))
            .collect()
    }

    /// The router's settings: the API's, with the servers' dial formats.
    pub fn settings(&self) -> Settings {
        let mut settings = Settings::from_config(&self.api);
        settings.dial_formats = self.dial_formats();
        settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    /// As `openssl rand -base64 48` makes them.
    const STRONG_SECRET: &str = "q8Jx3mZ0r5Vt9Lk2WbN7yPc4Hs6Df1Ga0Ue8Ri3To5Yw2Ql7Mv9Xn4Bj6Kp1Sz8Ch";

    #[test]
    fn file_then_env_overrides() {
        let text = r#"
            listen = "0.0.0.0:9000"
            default_region = "GB"
            [[asterisk]]
            name = "pbx-1"
            protocol = "ami"
            host = "10.0.0.1"
            username = "ami"
            [[asterisk]]
            name = "pbx2"
            protocol = "ari"
            host = "10.0.0.2"
            username = "ari"
            secret_env = "MY_ARI"
            dial_format = "national"
            transfer_context = "sales-transfer"
            [[twilio]]
            name = "tw"
            account_sid = "AC123"
        "#;
        let mut c = ServerConfig::from_toml(text).unwrap();
        assert_eq!(c.api.database_url, hookflash_api::DEFAULT_DATABASE_URL);
        assert_eq!(c.api.default_region, "GB");
        assert_eq!(c.asterisk[0].port(), 5038);
        assert_eq!(c.asterisk[1].port(), 8088);
        assert_eq!(c.asterisk[0].dial_format, DialFormat::Digits);
        assert_eq!(c.asterisk[1].dial_format, DialFormat::National);
        assert_eq!(c.asterisk[0].transfer_context, None);
        assert_eq!(
            c.asterisk[1].transfer_context.as_deref(),
            Some("sales-transfer")
        );
        let mut bad = c.clone();
        bad.asterisk[1].transfer_context = Some("x,1)".into());
        assert!(bad.validate().is_err());
        let env = |k: &str| match k {
            "HOOKFLASH_SERVER_PBX_1_SECRET" => Some("s1".to_owned()),
            "MY_ARI" => Some("s2".to_owned()),
            "HOOKFLASH_TWILIO_TW_TOKEN" => Some("tok".to_owned()),
            "HOOKFLASH_DATABASE_URL" => Some("postgres://x/y".to_owned()),
            "HOOKFLASH_JWT_SECRET" => Some(STRONG_SECRET.to_owned()),
            _ => None,
        };
        c.apply_env(env).unwrap();
        c.validate().unwrap();
        let secret = |s: &Option<SecretString>| s.as_ref().map(|s| s.expose_secret().to_owned());
        assert_eq!(secret(&c.asterisk[0].secret).as_deref(), Some("s1"));
        assert_eq!(secret(&c.asterisk[1].secret).as_deref(), Some("s2"));
        assert_eq!(secret(&c.twilio[0].auth_token).as_deref(), Some("tok"));
        assert_eq!(c.api.database_url, "postgres://x/y");
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(
            c.settings().dial_format("pbx2"),
            DialFormat::National,
            "the router dials each server in its form"
        );
        assert_eq!(c.settings().dial_format("tw"), DialFormat::E164);
        // Debug never shows a secret.
        assert!(!format!("{c:?}").contains("s1"));
    }

    #[test]
    fn bad_files_are_refused() {
        let unknown = ServerConfig::from_toml("nope = 1").unwrap_err().to_string();
        assert!(
            unknown.contains("`nope`"),
            "API keys stay checked: {unknown}"
        );
        assert!(unknown.contains("`asterisk`"), "{unknown}");
        assert!(ServerConfig::from_toml("listen = \"here\"").is_err());
        let dup = r#"
            [[asterisk]]
            name = "a"
            protocol = "ami"
            host = "h"
            username = "u"
            [[twilio]]
            name = "a"
            account_sid = "AC1"
        "#;
        assert!(ServerConfig::from_toml(dup).unwrap().validate().is_err());
        let same_account = r#"
            [[twilio]]
            name = "a"
            account_sid = "AC1"
            [[twilio]]
            name = "b"
            account_sid = "AC1"
        "#;
        let err = ServerConfig::from_toml(same_account)
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("account_sid AC1"), "{err}");
        let two = r#"
            [[twilio]]
            name = "a"
            account_sid = "AC1"
            [[twilio]]
            name = "b"
            account_sid = "AC2"
        "#;
        assert!(ServerConfig::from_toml(two).unwrap().validate().is_ok());
        let bad_format = r#"
            [[asterisk]]
            name = "a"
            protocol = "ami"
            host = "h"
            username = "u"
            dial_format = "+e164"
        "#;
        assert!(ServerConfig::from_toml(bad_format).is_err());
        let twilio_as_asterisk = r#"
            [[asterisk]]
            name = "a"
            protocol = "twilio"
            host = "h"
            username = "u"
        "#;
        assert!(
            ServerConfig::from_toml(twilio_as_asterisk)
                .unwrap()
                .validate()
                .is_err()
        );
    }

    #[test]
    fn no_file_gives_defaults() {
        let c = ServerConfig::load_with_env(None, |_| None).unwrap();
        assert_eq!(c.api.database_url, hookflash_api::DEFAULT_DATABASE_URL);
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert!(c.asterisk.is_empty() && c.twilio.is_empty());
    }
}
