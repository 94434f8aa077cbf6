//! What the `event-listener` and `api-server` binaries share: connecting the configured PBX
//! servers ([`connect_providers`]) and the listener's own small HTTP surface
//! ([`health_router`]: `/healthz`, `/metrics`).
//!
//! A server that cannot be reached at start does not stop either binary: it is reported down
//! (`/readyz`, `GET /api/v1/servers`, the listener's `/healthz`) and connected in the
//! background with backoff (`late`).

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use hookflash_api::listener::{Listener, Source, SourceStatus};
use hookflash_api::{
    AmiPing, AriInfo, AsteriskServer, Config, Protocol, ProviderRegistry, TwilioAccountFetch,
};
use hookflash_store::Store;

mod late;

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
pub async fn connect_providers(config: &Config) -> Result<Connected> {
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
            bail!(
                "asterisk server {}: no secret; set {}",
                server.name,
                server.secret_env_name()
            );
        }
        if server.protocol == Protocol::Twilio {
            bail!("asterisk server {}: protocol twilio", server.name);
        }
        let protocol = server.protocol;
        let (link, cdr_events) = match connect_asterisk(server).await {
            Ok(connected) => connected,
            Err(e) => {
                // A PBX that is down (or restarting) must not keep the API from starting:
                // report it down and keep trying in the background.
                tracing::warn!(server = %server.name, error = %format!("{e:#}"),
                    "not connected at start; retrying in the background");
                let owned = server.clone();
                let (provider, probe) =
                    late::spawn(server.name.clone(), late::Backoff::default(), move || {
                        let server = owned.clone();
                        async move { connect_asterisk(&server).await.map(|(link, _)| link) }
                    });
                (late::Link { provider, probe }, None)
            }
        };
        out.registry.insert(
            server.name.clone(),
            protocol,
            Arc::clone(&link.provider),
            link.probe,
        );
        out.asterisk.push(Source {
            name: server.name.clone(),
            protocol: protocol.as_str(),
            provider: link.provider,
            cdr_events,
        });
    }
    let mut webhook_states = Vec::new();
    for account in &config.twilio {
        let Some(token) = account.auth_token.clone() else {
            bail!(
                "twilio account {}: no auth token; set {}",
                account.name,
                account.auth_token_env_name()
            );
        };
        let public = account
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", config.listen));
        let mut tw = hookflash_twilio::TwilioConfig::new(&account.account_sid, &token, public)
            .with_context(|| format!("twilio account {}", account.name))?;
        if let Some(base) = &account.base_url {
            tw = tw.with_api_base(base);
        }
        let api_base = tw.api_base.clone();
        let provider = hookflash_twilio::TwilioProvider::new(tw)
            .with_context(|| format!("twilio account {}", account.name))?;
        webhook_states.push(provider.webhook_state());
        let provider: Arc<dyn hookflash_provider::CallProvider> = Arc::new(provider);
        out.registry.insert(
            account.name.clone(),
            Protocol::Twilio,
            Arc::clone(&provider),
            Arc::new(
                TwilioAccountFetch::new(api_base, account.account_sid.clone(), token)
                    .with_context(|| format!("twilio account {}", account.name))?,
            ),
        );
        out.twilio.push(Source {
            name: account.name.clone(),
            protocol: "twilio",
            provider,
            cdr_events: None,
        });
    }
    // One router for every account (merging one per account panics on the shared paths);
    // each callback goes to the account its AccountSid names.
    if !webhook_states.is_empty() {
        out.webhooks = Some(hookflash_twilio::webhook_router_for(webhook_states));
    }
    Ok(out)
}

/// Connects one Asterisk server (AMI or ARI); for AMI also returns the raw event stream the
/// listener reads CDRs from.
async fn connect_asterisk(
    server: &AsteriskServer,
) -> Result<(late::Link, Option<hookflash_ami::EventStream>)> {
    let Some(secret) = server.secret.clone() else {
        bail!(
            "asterisk server {}: no secret; set {}",
            server.name,
            server.secret_env_name()
        );
    };
    let port = server.port();
    match server.protocol {
        Protocol::Ami => {
            let mut ami =
                hookflash_ami::AmiConfig::new(&server.host, port, &server.username, secret);
            if server.tls {
                ami.tls = Some(
                    hookflash_ami::TlsConfig::with_roots(server.host.clone(), web_roots())
                        .context("TLS configuration")?,
                );
            }
            let mut ami_config = hookflash_asterisk::AmiProviderConfig::new(ami);
            if let Some(context) = &server.transfer_context {
                ami_config.transfer_context = context.clone();
            }
            let provider = hookflash_asterisk::AmiProvider::connect(ami_config)
                .await
                .with_context(|| {
                    format!(
                        "connecting to asterisk server {} (AMI {}:{port})",
                        server.name, server.host
                    )
                })?;
            let probe = AmiPing::new(server.name.clone(), provider.client().clone());
            let cdr_events = provider.client().subscribe();
            tracing::info!(server = %server.name, host = %server.host, port, "AMI connected");
            Ok((
                late::Link {
                    provider: Arc::new(provider),
                    probe: Arc::new(probe),
                },
                Some(cdr_events),
            ))
        }
        Protocol::Ari => {
            let scheme = if server.tls { "https" } else { "http" };
            let base = format!("{scheme}://{}:{port}/ari", server.host);
            let client = hookflash_ari::Client::builder(&base, &server.username, secret)
                .build()
                .with_context(|| format!("ARI client for {}", server.name))?;
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
            .with_context(|| {
                format!("connecting to asterisk server {} (ARI {base})", server.name)
            })?;
            tracing::info!(server = %server.name, %base, "ARI connected");
            Ok((
                late::Link {
                    provider: Arc::new(provider),
                    probe: Arc::new(AriInfo::new(client)),
                },
                None,
            ))
        }
        Protocol::Twilio => bail!("asterisk server {}: protocol twilio", server.name),
    }
}

/// The public CA roots (Mozilla's, as webpki-roots ships them).
fn web_roots() -> rustls::RootCertStore {
    rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// What the listener's `/healthz` and `/metrics` read.
#[derive(Debug, Clone)]
pub struct HealthState {
    /// The store (pinged by `/healthz`).
    pub store: Store,
    /// The sources' status.
    pub statuses: Vec<Arc<SourceStatus>>,
    /// The pipeline's counters.
    pub metrics: hookflash_api::listener::ListenerMetrics,
}

impl HealthState {
    /// The state of a running listener.
    pub fn of(store: Store, listener: &Listener) -> Self {
        Self {
            store,
            statuses: listener.statuses().to_vec(),
            metrics: listener.metrics().clone(),
        }
    }
}

/// `GET /healthz` (200 when the database answers and every PBX link is up, else 503, with
/// per-server detail) and `GET /metrics` (Prometheus text).
pub fn health_router(state: HealthState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn healthz(State(state): State<HealthState>) -> impl IntoResponse {
    let db = state.store.ping().await.is_ok();
    let servers: Vec<_> = state
        .statuses
        .iter()
        .map(|s| {
            serde_json::json!({
                "name": s.name,
                "protocol": s.protocol,
                "connected": s.connected(),
                "live_calls": s.live_calls(),
            })
        })
        .collect();
    let ok = db && state.statuses.iter().all(|s| s.connected());
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        axum::Json(serde_json::json!({
            "status": if ok { "ok" } else { "degraded" },
            "database": db,
            "servers": servers,
        })),
    )
}

async fn metrics(State(state): State<HealthState>) -> impl IntoResponse {
    let mut text = state.metrics.render();
    for s in &state.statuses {
        text.push_str(&format!(
            "hookflash_listener_server_up{{server=\"{}\"}} {}\n",
            s.name,
            u8::from(s.connected())
        ));
    }
    ([("content-type", "text/plain; version=0.0.4")], text)
}
