//! Configuration: one TOML file plus environment overrides; secrets come from the environment.
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! database_url = "sqlite://hookflash.db?mode=rwc"
//! default_region = "US"
//! phone_validation = "valid" # or "possible": any number of a possible length (test PBXs)
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
//!
//! [variables]                 # channel variables callers may set on a call (none by default)
//! allow = ["CRM_ID"]          # every tenant
//! [variables.tenants]
//! acme = ["CRM_ID", "PRIORITY"] # tenant `acme` (slug or id): these instead
//! ```
//!
//! `cors_allowed_origins = ["https://dialer.example.com"]` lets a dialer page on another
//! origin call the API from a browser (none by default: no CORS headers at all).
//!
//! Environment overrides (applied after the file): `HOOKFLASH_LISTEN`, `HOOKFLASH_DATABASE_URL`,
//! `HOOKFLASH_DEFAULT_REGION`, `HOOKFLASH_JWT_SECRET`, `HOOKFLASH_ADMIN_PASSWORD`,
//! `HOOKFLASH_CORS_ALLOWED_ORIGINS` (comma-separated), and per server the variable named by
//! `secret_env` / `auth_token_env`. Secrets written in the file are accepted but the
//! environment wins.
//!
//! Secrets (the JWT secret, the admin password, PBX secrets, Twilio auth tokens) are
//! [`SecretString`]s: `Debug` prints `[REDACTED]`, so a logged or panicking configuration never
//! shows them, and they are wiped from memory when dropped.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::error::{ApiError, Result};

/// The database used when none is configured: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://hookflash.db?mode=rwc";
/// The listen address used when none is configured.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Which Asterisk interface a server entry speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// Asterisk Manager Interface (TCP).
    Ami,
    /// Asterisk REST Interface (HTTP + WebSocket).
    Ari,
    /// Twilio's REST API.
    Twilio,
}

impl Protocol {
    /// The lowercase name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Ami => "ami",
            Self::Ari => "ari",
            Self::Twilio => "twilio",
        }
    }
}

/// How a server is handed the customer number (the stored call keeps E.164).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DialFormat {
    /// `+15551204005` (Twilio always uses this).
    E164,
    /// E.164 without the plus, `15551204005`: what Asterisk dialplans usually match (the
    /// default for Asterisk servers, whose patterns match digits only).
    #[default]
    Digits,
    /// The national significant number, `5551204005`.
    National,
}

/// How strictly phone numbers in requests are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PhoneValidation {
    /// An assigned number (`phonenumber::is_valid`).
    #[default]
    Valid,
    /// Any number of a possible length for its country: for test PBXs and internal numbers
    /// (such as the unassigned `555` area code).
    Possible,
}

/// One Asterisk server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
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

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the api-server listens.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The database (`sqlite://...` or `postgres://...`).
    #[serde(default = "default_database_url")]
    pub database_url: String,
    /// The ISO 3166 region used to read numbers written without a `+` country code.
    #[serde(default = "default_region")]
    pub default_region: String,
    /// How strictly phone numbers are checked (`valid` by default).
    #[serde(default)]
    pub phone_validation: PhoneValidation,
    /// The HS256 secret for JWTs (prefer `HOOKFLASH_JWT_SECRET`).
    #[serde(default)]
    pub jwt_secret: Option<SecretString>,
    /// The bootstrap admin password (prefer `HOOKFLASH_ADMIN_PASSWORD`).
    #[serde(default)]
    pub admin_password: Option<SecretString>,
    /// Request body limit in bytes.
    #[serde(default = "default_body_limit")]
    pub body_limit: usize,
    /// Login attempts allowed per account (tenant and username) per minute, from anywhere.
    #[serde(default = "default_login_per_minute")]
    pub login_attempts_per_minute: u32,
    /// Login attempts allowed per client address per minute, whatever the usernames.
    #[serde(default = "default_login_per_ip_per_minute")]
    pub login_attempts_per_ip_per_minute: u32,
    /// Asterisk servers.
    #[serde(default)]
    pub asterisk: Vec<AsteriskServer>,
    /// Twilio accounts.
    #[serde(default)]
    pub twilio: Vec<TwilioAccount>,
    /// The channel variables callers may set on a call, for every tenant and per tenant
    /// (`[variables]`; none by default).
    #[serde(default)]
    pub variables: crate::variable_policy::VariablePolicy,
    /// Origins (`https://host[:port]`) whose pages may call the API from a browser (CORS);
    /// none by default.
    #[serde(default)]
    pub cors_allowed_origins: Vec<String>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_database_url() -> String {
    DEFAULT_DATABASE_URL.to_owned()
}
fn default_region() -> String {
    "US".to_owned()
}
fn default_body_limit() -> usize {
    64 * 1024
}
fn default_login_per_minute() -> u32 {
    5
}
fn default_login_per_ip_per_minute() -> u32 {
    30
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            database_url: default_database_url(),
            default_region: default_region(),
            phone_validation: PhoneValidation::default(),
            jwt_secret: None,
            admin_password: None,
            body_limit: default_body_limit(),
            login_attempts_per_minute: default_login_per_minute(),
            login_attempts_per_ip_per_minute: default_login_per_ip_per_minute(),
            asterisk: Vec::new(),
            twilio: Vec::new(),
            variables: crate::variable_policy::VariablePolicy::default(),
            cors_allowed_origins: Vec::new(),
        }
    }
}

impl Config {
    /// Reads the file at `path` (or starts from defaults when `None`), then applies the
    /// process environment.
    ///
    /// # Errors
    /// [`ApiError::Config`] when the file cannot be read or parsed, or the result is invalid.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        Self::load_with_env(path, |k| std::env::var(k).ok())
    }

    /// Like [`Config::load`] with an explicit environment lookup (tests pass a map).
    ///
    /// # Errors
    /// As [`Config::load`].
    pub fn load_with_env(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config> {
        let mut config = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| ApiError::Config(format!("reading {}: {e}", p.display())))?;
                Self::from_toml(&text)?
            }
            None => Config::default(),
        };
        config.apply_env(env)?;
        config.validate()?;
        Ok(config)
    }

    /// Parses TOML text (no environment applied).
    ///
    /// # Errors
    /// [`ApiError::Config`] with the parser's message.
    pub fn from_toml(text: &str) -> Result<Config> {
        toml::from_str(text).map_err(|e| ApiError::Config(e.to_string()))
    }

    /// Applies environment overrides and fills secrets from their variables.
    ///
    /// # Errors
    /// [`ApiError::Config`] when `HOOKFLASH_LISTEN` is not an address.
    pub fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<()> {
        if let Some(v) = env("HOOKFLASH_LISTEN") {
            self.listen = v
                .parse()
                .map_err(|_| ApiError::Config(format!("HOOKFLASH_LISTEN: not an address: {v}")))?;
        }
        if let Some(v) = env("HOOKFLASH_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = env("HOOKFLASH_DEFAULT_REGION") {
            self.default_region = v;
        }
        if let Some(v) = env("HOOKFLASH_JWT_SECRET") {
            self.jwt_secret = Some(v.into());
        }
        if let Some(v) = env("HOOKFLASH_ADMIN_PASSWORD") {
            self.admin_password = Some(v.into());
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
        if let Some(v) = env("HOOKFLASH_CORS_ALLOWED_ORIGINS") {
            self.cors_allowed_origins = v
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(str::to_owned)
                .collect();
        }
        Ok(())
    }

    /// Checks names are unique, protocols fit their section and the region is known.
    ///
    /// # Errors
    /// [`ApiError::Config`] naming the problem.
    pub fn validate(&self) -> Result<()> {
        let mut names = HashSet::new();
        for s in &self.asterisk {
            if s.protocol == Protocol::Twilio {
                return Err(ApiError::Config(format!(
                    "asterisk server {}: protocol must be ami or ari",
                    s.name
                )));
            }
            if !names.insert(s.name.as_str()) {
                return Err(ApiError::Config(format!(
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
                return Err(ApiError::Config(format!(
                    "asterisk server {}: transfer_context {c:?} is not a dialplan context name",
                    s.name
                )));
            }
        }
        // Twilio's callbacks are routed by AccountSid: one entry per account.
        let mut sids = HashSet::new();
        for t in &self.twilio {
            if !names.insert(t.name.as_str()) {
                return Err(ApiError::Config(format!(
                    "duplicate server name {}",
                    t.name
                )));
            }
            if !sids.insert(t.account_sid.as_str()) {
                return Err(ApiError::Config(format!(
                    "twilio account {}: account_sid {} is already configured",
                    t.name, t.account_sid
                )));
            }
        }
        if let Some(secret) = &self.jwt_secret {
            crate::password::check_jwt_secret(secret.expose_secret()).map_err(ApiError::Config)?;
        }
        for origin in &self.cors_allowed_origins {
            check_origin(origin)?;
        }
        if crate::phone::parse_region(&self.default_region).is_none() {
            return Err(ApiError::Config(format!(
                "default_region: unknown region {}",
                self.default_region
            )));
        }
        self.variables.validate()?;
        Ok(())
    }
}

/// A CORS origin as browsers send it: `http(s)://host[:port]`, no path, no trailing slash.
fn check_origin(origin: &str) -> Result<()> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    let ok = rest.is_some_and(|host| {
        !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
    });
    if ok {
        Ok(())
    } else {
        Err(ApiError::Config(format!(
            "cors_allowed_origins: {origin:?} is not an origin (http(s)://host[:port], no path)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As `openssl rand -base64 48` makes them.
    const STRONG_SECRET: &str = "q8Jx3mZ0r5Vt9Lk2WbN7yPc4Hs6Df1Ga0Ue8Ri3To5Yw2Ql7Mv9Xn4Bj6Kp1Sz8Ch";

    /// A JWT secret anyone could guess lets anyone sign tokens: the server refuses to start.
    #[test]
    fn weak_jwt_secrets_refuse_to_start() {
        for weak in [
            "x",
            "change-me",
            "e2e-secret-e2e-secret-e2e-secret",
            &"a".repeat(64),
        ] {
            let env = |k: &str| (k == "HOOKFLASH_JWT_SECRET").then(|| weak.to_owned());
            match Config::load_with_env(None, env) {
                Err(ApiError::Config(msg)) => assert!(msg.contains("jwt_secret"), "{msg}"),
                other => panic!("{weak:?} accepted: {other:?}"),
            }
        }
        let env = |k: &str| (k == "HOOKFLASH_JWT_SECRET").then(|| STRONG_SECRET.to_owned());
        Config::load_with_env(None, env).unwrap();
        // No secret at all is fine: a random one is drawn (tokens end at restart).
        Config::load_with_env(None, |_| None).unwrap();
    }

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
        let mut c = Config::from_toml(text).unwrap();
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
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
        assert_eq!(c.phone_validation, PhoneValidation::Valid);
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
        let exposed = |s: &Option<SecretString>| s.as_ref().map(|s| s.expose_secret().to_owned());
        assert_eq!(exposed(&c.asterisk[0].secret).as_deref(), Some("s1"));
        assert_eq!(exposed(&c.asterisk[1].secret).as_deref(), Some("s2"));
        assert_eq!(exposed(&c.twilio[0].auth_token).as_deref(), Some("tok"));
        assert_eq!(c.database_url, "postgres://x/y");
        assert_eq!(exposed(&c.jwt_secret).as_deref(), Some(STRONG_SECRET));
        // Debug never shows a secret (they are all set now).
        c.admin_password = Some("admin-pass-never-shown".into());
        let text = format!("{c:?}");
        for secret in [
            "s1\"",
            "s2\"",
            "tok\"",
            STRONG_SECRET,
            "admin-pass-never-shown",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("REDACTED"), "{text}");
        assert_eq!(c.listen.port(), 9000);
    }

    #[test]
    fn bad_files_are_refused() {
        assert!(Config::from_toml("nope = 1").is_err());
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
        assert!(Config::from_toml(dup).unwrap().validate().is_err());
        let same_account = r#"
            [[twilio]]
            name = "a"
            account_sid = "AC1"
            [[twilio]]
            name = "b"
            account_sid = "AC1"
        "#;
        let err = Config::from_toml(same_account)
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
        assert!(Config::from_toml(two).unwrap().validate().is_ok());
        let c = Config {
            default_region: "ZZ".into(),
            ..Config::default()
        };
        assert!(c.validate().is_err());
    }

    #[test]
    fn phone_settings_parse_and_bad_values_are_refused() {
        let c = Config::from_toml("phone_validation = \"possible\"").unwrap();
        assert_eq!(c.phone_validation, PhoneValidation::Possible);
        assert!(Config::from_toml("phone_validation = \"loose\"").is_err());
        let bad = r#"
            [[asterisk]]
            name = "a"
            protocol = "ami"
            host = "h"
            username = "u"
            dial_format = "+e164"
        "#;
        assert!(Config::from_toml(bad).is_err());
    }

    #[test]
    fn no_file_gives_defaults() {
        let c = Config::load_with_env(None, |_| None).unwrap();
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
    }

    #[test]
    fn cors_origins_are_origins() {
        let mut c = Config::default();
        c.apply_env(|k| {
            (k == "HOOKFLASH_CORS_ALLOWED_ORIGINS")
                .then(|| "https://dialer.example.com, http://localhost:3000".to_owned())
        })
        .unwrap();
        assert_eq!(
            c.cors_allowed_origins,
            ["https://dialer.example.com", "http://localhost:3000"]
        );
        c.validate().unwrap();
        for bad in [
            "dialer.example.com",
            "https://x.example/page",
            "*",
            "https://",
        ] {
            c.cors_allowed_origins = vec![bad.to_owned()];
            assert!(c.validate().is_err(), "{bad}");
        }
    }
}
