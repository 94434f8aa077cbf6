//! The provider factory: every configured server (AMI, ARI, Twilio) connected, as call
//! control for the API ([`ProviderRegistry`]) and event sources for the pipeline.
//!
//! A server that cannot be reached at start does not stop either binary: it is reported down
//! (`/readyz`, `GET /api/v1/servers`, the listener's `/healthz`) and connected in the
//! background with backoff (`late`).

use std::sync::Arc;

use axum::Router;
use hookflash_api::{Protocol, ProviderRegistry};
use hookflash_asterisk::{AmiPing, AriInfo};
use hookflash_pipeline::listener::Source;
use hookflash_twilio::TwilioAccountFetch;
use secrecy::ExposeSecret;

use crate::config::{AsteriskServer, ServerConfig};
use crate::error::{Result, ServerError};
use crate::late;

/// The configured servers, connected.
#[derive(Debug, Default)]
pub struct Connected {
    /// Call control for the API, by name.
    pub registry: ProviderRegistry,
    /// Event sources for the pipeline, Asterisk servers (AMI and ARI).
    pub asterisk: Vec<Source>,
    /// Event sources for the pipeline, Twilio accounts (their events arrive as webhooks at the
    /// api-server, so only an api-server can listen to them).
    pub twilio: Vec<Source>,
    /// Twilio's webhook routes, to merge into the api-server's router.
    pub webhooks: Option<Router>,
}

/// Connects every server of the configuration. With none configured, logs how to add one.
///
/// # Errors
/// A server without its secret, or one that cannot be reached or refuses the login (named).
pub async fn connect_providers(config: &ServerConfig) -> Result<Connected> {
    let mut out = Connected::default();
    if config.asterisk.is_empty() && config.twilio.is_empty() {
        tracing::warn!(
            "no PBX configured: calls cannot be placed. Add an [[asterisk]] section \
             (protocol = \"ami\" or \"ari\", host, username; secret in \
             HOOKFLASH_SERVER_<NAME>_SECRET) to a config file and pass --config FILE"
        );
    }
    for server in &config.asterisk {
        if server.secret.is_none() {
            return Err(ServerError::Setup(format!(
                "asterisk server {}: no secret; set {}",
                server.name,
                server.secret_env_name()
            )));
        }
        if server.protocol == Protocol::Twilio {
            return Err(ServerError::Setup(format!(
                "asterisk server {}: protocol twilio",
                server.name
            )));
        }
        let protocol = server.protocol;
        let link = match connect_asterisk(server).await {
            Ok(connected) => connected,
            Err(e) => {
                // A PBX that is down (or restarting) must not keep the API from starting:
                // report it down and keep trying in the background.
                tracing::warn!(server = %server.name, error = %chain(&e),
                    "not connected at start; retrying in the background");
                let owned = server.clone();
                let (provider, probe) =
                    late::spawn(server.name.clone(), late::Backoff::default(), move || {
                        let server = owned.clone();
                        async move { connect_asterisk(&server).await }
                    });
                late::Link { provider, probe }
            }
        };
        out.registry.insert(
            server.name.clone(),
            protocol,
            Arc::clone(&link.provider),
            link.probe,
        );
        out.asterisk.push(Source::new(
            server.name.clone(),
            protocol.as_str(),
            link.provider,
        ));
    }
    let mut webhook_states = Vec::new();
    for account in &config.twilio {
        let Some(token) = account
            .auth_token
            .as_ref()
            .map(|t| t.expose_secret().to_owned())
        else {
            return Err(ServerError::Setup(format!(
                "twilio account {}: no auth token; set {}",
                account.name,
                account.auth_token_env_name()
            )));
        };
        let public = account
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", config.listen));
        let what = || format!("twilio account {}", account.name);
        let mut tw = hookflash_twilio::TwilioConfig::new(&account.account_sid, &token, public)
            .map_err(|e| ServerError::connect(what(), e))?;
        if let Some(base) = &account.base_url {
            tw = tw.with_api_base(base);
        }
        let api_base = tw.api_base.clone();
        let provider = hookflash_twilio::TwilioProvider::new(tw)
            .map_err(|e| ServerError::connect(what(), e))?;
        webhook_states.push(provider.webhook_state());
        let provider: Arc<dyn hookflash_provider::CallProvider> = Arc::new(provider);
        out.registry.insert(
            account.name.clone(),
            Protocol::Twilio,
            Arc::clone(&provider),
            Arc::new(
                TwilioAccountFetch::new(api_base, account.account_sid.clone(), token)
                    .map_err(|e| ServerError::connect(what(), e))?,
            ),
        );
        out.twilio
            .push(Source::new(account.name.clone(), "twilio", provider));
    }
    // One router for every account (merging one per account panics on the shared paths);
    // each callback goes to the account its AccountSid names.
    if !webhook_states.is_empty() {
        out.webhooks = Some(hookflash_twilio::webhook_router_for(webhook_states));
    }
    Ok(out)
}

/// Connects one Asterisk server (AMI or ARI). Its CDRs (AMI) arrive as provider events.
async fn connect_asterisk(server: &AsteriskServer) -> Result<late::Link> {
    let Some(secret) = server.secret.as_ref().map(|s| s.expose_secret().to_owned()) else {
        return Err(ServerError::Setup(format!(
            "asterisk server {}: no secret; set {}",
            server.name,
            server.secret_env_name()
        )));
    };
    let port = server.port();
    match server.protocol {
        Protocol::Ami => {
            let mut ami =
                hookflash_ami::AmiConfig::new(&server.host, port, &server.username, secret);
            if server.tls {
                ami.tls = Some(
                    hookflash_ami::TlsConfig::with_roots(server.host.clone(), web_roots())
                        .map_err(|e| {
                            ServerError::connect(
                                format!("asterisk server {}: TLS configuration", server.name),
                                e,
                            )
                        })?,
                );
            }
            let mut ami_config = hookflash_asterisk::AmiProviderConfig::new(ami);
            if let Some(context) = &server.transfer_context {
                ami_config.transfer_context = context.clone();
            }
            let provider = hookflash_asterisk::AmiProvider::connect(ami_config)
                .await
                .map_err(|e| {
                    ServerError::connect(
                        format!(
                            "connecting to asterisk server {} (AMI {}:{port})",
                            server.name, server.host
                        ),
                        e,
                    )
                })?;
            let probe = AmiPing::new(server.name.clone(), provider.client().clone());
            tracing::info!(server = %server.name, host = %server.host, port, "AMI connected");
            Ok(late::Link {
                provider: Arc::new(provider),
                probe: Arc::new(probe),
            })
        }
        Protocol::Ari => {
            let scheme = if server.tls { "https" } else { "http" };
            let base = format!("{scheme}://{}:{port}/ari", server.host);
            let client = hookflash_ari::Client::builder(&base, &server.username, secret)
                .build()
                .map_err(|e| ServerError::connect(format!("ARI client for {}", server.name), e))?;
            let app = server.app.clone().unwrap_or_else(|| "hookflash".to_owned());
            let provider = hookflash_asterisk::AriProvider::connect(
                client.clone(),
                match &server.transfer_context {
                    Some(context) => {
                        hookflash_asterisk::AriProviderConfig::new(app).transfer_context(context)
                    }
                    None => hookflash_asterisk::AriProviderConfig::new(app),
                },
            )
            .await
            .map_err(|e| {
                ServerError::connect(
                    format!("connecting to asterisk server {} (ARI {base})", server.name),
                    e,
                )
            })?;
            tracing::info!(server = %server.name, %base, "ARI connected");
            Ok(late::Link {
                provider: Arc::new(provider),
                probe: Arc::new(AriInfo::new(client)),
            })
        }
        Protocol::Twilio => Err(ServerError::Setup(format!(
            "asterisk server {}: protocol twilio",
            server.name
        ))),
    }
}

/// The public CA roots (Mozilla's, as webpki-roots ships them).
fn web_roots() -> rustls::RootCertStore {
    rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// An error with its causes, on one line (`what: cause: cause`), for logs.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
