//! The API's settings: its part of the configuration file (the listen address, the Asterisk
//! servers and the Twilio accounts are the composition layer's, `hookflash-server`'s
//! `ServerConfig`, which hands every other key of the file to [`Config`]).
//!
//! ```toml
//! database_url = "sqlite://hookflash.db?mode=rwc"
//! default_region = "US"
//! phone_validation = "valid" # or "possible": any number of a possible length (test PBXs)
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
//! Environment overrides (applied after the file): `HOOKFLASH_DATABASE_URL`,
//! `HOOKFLASH_DEFAULT_REGION`, `HOOKFLASH_JWT_SECRET`, `HOOKFLASH_ADMIN_PASSWORD`,
//! `HOOKFLASH_CORS_ALLOWED_ORIGINS` (comma-separated). Secrets written in the file are accepted
//! but the environment wins.
//!
//! Secrets (the JWT secret, the admin password; PBX secrets and Twilio auth tokens likewise in
//! the server's configuration) are
//! [`SecretString`]s: `Debug` prints `[REDACTED]`, so a logged or panicking configuration never
//! shows them, and they are wiped from memory when dropped.

use std::path::Path;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::error::{ApiError, Result};

/// The database used when none is configured: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://hookflash.db?mode=rwc";

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

/// The API's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
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
    /// The channel variables callers may set on a call, for every tenant and per tenant
    /// (`[variables]`; none by default).
    #[serde(default)]
    pub variables: crate::variable_policy::VariablePolicy,
    /// Origins (`https://host[:port]`) whose pages may call the API from a browser (CORS);
    /// none by default.
    #[serde(default)]
    pub cors_allowed_origins: Vec<String>,
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
            database_url: default_database_url(),
            default_region: default_region(),
            phone_validation: PhoneValidation::default(),
            jwt_secret: None,
            admin_password: None,
            body_limit: default_body_limit(),
            login_attempts_per_minute: default_login_per_minute(),
            login_attempts_per_ip_per_minute: default_login_per_ip_per_minute(),
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
    /// None today; kept fallible for overrides that can be malformed.
    pub fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<()> {
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

    /// Checks the JWT secret is strong, CORS origins are origins, the region is known and
    /// the variable policy is well formed.
    ///
    /// # Errors
    /// [`ApiError::Config`] naming the problem.
    pub fn validate(&self) -> Result<()> {
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
            default_region = "GB"
            body_limit = 1024
        "#;
        let mut c = Config::from_toml(text).unwrap();
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.default_region, "GB");
        assert_eq!(c.body_limit, 1024);
        assert_eq!(c.phone_validation, PhoneValidation::Valid);
        let env = |k: &str| match k {
            "HOOKFLASH_DATABASE_URL" => Some("postgres://x/y".to_owned()),
            "HOOKFLASH_JWT_SECRET" => Some(STRONG_SECRET.to_owned()),
            _ => None,
        };
        c.apply_env(env).unwrap();
        c.validate().unwrap();
        let exposed = |s: &Option<SecretString>| s.as_ref().map(|s| s.expose_secret().to_owned());
        assert_eq!(c.database_url, "postgres://x/y");
        assert_eq!(exposed(&c.jwt_secret).as_deref(), Some(STRONG_SECRET));
        // Debug never shows a secret (they are all set now).
        c.admin_password = Some("admin-pass-never-shown".into());
        let text = format!("{c:?}");
        for secret in [STRONG_SECRET, "admin-pass-never-shown"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("REDACTED"), "{text}");
    }

    #[test]
    fn bad_files_are_refused() {
        assert!(Config::from_toml("nope = 1").is_err());
        // The servers are the composition layer's part of the file, not the API's.
        assert!(Config::from_toml("[[asterisk]]\nname = \"a\"").is_err());
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
    }

    #[test]
    fn no_file_gives_defaults() {
        let c = Config::load_with_env(None, |_| None).unwrap();
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
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
