//! The two services, composed: [`run_api_server`] and [`run_event_listener`]. The binaries only
//! parse their command line into these options and call them.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use hookflash_api::{
    AppState, ServeConfig, ensure_default_tenant_and_admin, model::NumberReading, router, serve,
};
use hookflash_pipeline::bus::{EventBus, PgPublisher, Publisher, spawn_pg_relay};
use hookflash_pipeline::listener::{Listener, ListenerConfig, Source};
use hookflash_store::{Dialect, Store};

use crate::config::ServerConfig;
use crate::connect::connect_providers;
use crate::error::{Result, ServerError};
use crate::health::{HealthState, health_router};

/// What the api-server is asked to run.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ApiServerOptions {
    /// The configuration file (TOML). Without one: SQLite in the working directory, no PBX.
    pub config: Option<PathBuf>,
    /// Listen address (overrides the file and `HOOKFLASH_LISTEN`).
    pub listen: Option<SocketAddr>,
    /// The database (overrides the file).
    pub database_url: Option<String>,
    /// An event-listener process runs beside this server: Asterisk events are tracked there
    /// and call updates arrive over PostgreSQL LISTEN/NOTIFY.
    pub separate_listener: bool,
}

/// What the event-listener is asked to run.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ListenerOptions {
    /// The configuration file (TOML), shared with the api-servers.
    pub config: Option<PathBuf>,
    /// Where `/healthz` and `/metrics` are served.
    pub listen: SocketAddr,
    /// The database (overrides the file); must be PostgreSQL.
    pub database_url: Option<String>,
}

impl Default for ListenerOptions {
    fn default() -> Self {
        Self {
            config: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 9090)),
            database_url: None,
        }
    }
}

/// The pipeline's settings from the configuration: numbers are read as the API reads them.
fn listener_config(config: &ServerConfig) -> ListenerConfig {
    ListenerConfig::default().with_numbers(Arc::new(NumberReading::new(
        config.api.default_region.clone(),
        config.api.phone_validation,
    )))
}

/// Runs the api-server until `shutdown` completes: migrations, the bootstrap tenant and admin
/// (its one-time password printed once), every configured server connected, the event
/// pipeline embedded (or, with [`ApiServerOptions::separate_listener`], the relay from the
/// listener's NOTIFY), the router with the pipeline's figures on `/metrics`; then flushes every
/// pending write.
///
/// Beside a separate listener, this process still runs the pipeline for two kinds of event
/// only it can see: Twilio's (its webhooks arrive here) and the refusals of the Originates it
/// sent ([`Source::refusals_only`]): the provider reports a refusal on the connection that
/// sent the action, so the listener never hears of it, and the call would stay `created`.
///
/// # Errors
/// A configuration, database, provider or bind error (with context).
pub async fn run_api_server(
    options: ApiServerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let mut config = ServerConfig::load(options.config.as_deref())?;
    if let Some(addr) = options.listen {
        config.listen = addr;
    }
    if let Some(url) = options.database_url {
        config.api.database_url = url;
    }
    let store = Store::connect(&config.api.database_url)
        .await
        .map_err(|e| ServerError::store("connecting to the database (database_url)", e))?;
    store
        .migrate()
        .await
        .map_err(|e| ServerError::store("running migrations", e))?;
    if let Some(password) =
        ensure_default_tenant_and_admin(&store, config.api.admin_password.clone()).await?
    {
        println!("created the default tenant and its admin");
        println!("  username: {}", hookflash_api::ADMIN_USERNAME);
        println!("  password: {password}   (shown once; store it now)");
    }

    let connected = connect_providers(&config).await?;
    let bus = EventBus::default();
    let node = uuid::Uuid::new_v4();
    let (sources, publisher, relay) = if options.separate_listener {
        if store.dialect() != Dialect::Postgres {
            return Err(ServerError::Database(
                "--separate-listener needs a postgres:// database_url (LISTEN/NOTIFY)".to_owned(),
            ));
        }
        tracing::info!("call events come from a separate event-listener over LISTEN/NOTIFY");
        let relay = spawn_pg_relay(store.clone(), bus.clone(), node)?;
        let publisher = Publisher::Postgres(PgPublisher::new(store.clone(), node)?);
        // Twilio's events arrive here as webhooks: only this process can listen to them.
        let mut sources = connected.twilio;
        sources.extend(
            connected
                .asterisk
                .into_iter()
                .map(|s| Source::refusals_only(s.name, s.protocol, s.provider)),
        );
        (sources, publisher, Some(relay))
    } else {
        let mut sources = connected.asterisk;
        sources.extend(connected.twilio);
        (sources, Publisher::Local(bus.clone()), None)
    };
    let listener = Listener::start(store.clone(), sources, publisher, listener_config(&config));

    let state = AppState::new(store.clone(), connected.registry, bus, config.settings());
    state
        .metrics()
        .include(listener.metrics().registry().clone());
    let mut app = router(state);
    if let Some(webhooks) = connected.webhooks {
        app = app.merge(webhooks);
    }
    let tcp = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = tcp.local_addr().map_err(|source| ServerError::Bind {
        addr: config.listen,
        source,
    })?;
    tracing::info!(%addr, "api-server listening");
    println!("hookflash api-server listening on http://{addr}");
    // Header/body read timeouts and a connection limit (axum::serve has neither); on a
    // signal, open requests get ServeConfig::shutdown_grace to finish.
    serve(tcp, app, ServeConfig::default(), shutdown)
        .await
        .map_err(ServerError::Serve)?;
    tracing::info!("shutting down: flushing pending writes");
    if let Some(relay) = relay {
        relay.abort();
    }
    listener.shutdown().await?;
    store.close().await;
    Ok(())
}

/// Runs the event-listener until `shutdown` completes: every configured Asterisk connected,
/// its events tracked, written and published over PostgreSQL NOTIFY, `/healthz` and
/// `/metrics` served; then flushes every pending write.
///
/// # Errors
/// A configuration, database (not PostgreSQL), provider or bind error (with context).
pub async fn run_event_listener(
    options: ListenerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let mut config = ServerConfig::load(options.config.as_deref())?;
    if let Some(url) = options.database_url {
        config.api.database_url = url;
    }
    let store = Store::connect(&config.api.database_url)
        .await
        .map_err(|e| ServerError::store("connecting to the database", e))?;
    if store.dialect() != Dialect::Postgres {
        return Err(ServerError::Database(
            "the event-listener publishes over PostgreSQL LISTEN/NOTIFY: set a postgres:// \
             database_url (on SQLite, run the api-server alone: it embeds the listener)"
                .to_owned(),
        ));
    }
    store
        .migrate()
        .await
        .map_err(|e| ServerError::store("running migrations", e))?;
    let connected = connect_providers(&config).await?;
    if !connected.twilio.is_empty() {
        tracing::info!(
            "Twilio accounts are listened to by the api-server (their webhooks arrive there)"
        );
    }
    let node = uuid::Uuid::new_v4();
    let publisher = Publisher::Postgres(PgPublisher::new(store.clone(), node)?);
    let listener = Listener::start(
        store.clone(),
        connected.asterisk,
        publisher,
        listener_config(&config),
    );
    let app = health_router(HealthState::of(store.clone(), &listener));
    let tcp = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: options.listen,
            source,
        })?;
    if let Ok(addr) = tcp.local_addr() {
        tracing::info!(%addr, "event-listener serving /healthz and /metrics");
    }
    serve(tcp, app, ServeConfig::default(), shutdown)
        .await
        .map_err(ServerError::Serve)?;
    tracing::info!("shutting down: flushing pending writes");
    listener.shutdown().await?;
    store.close().await;
    Ok(())
}
