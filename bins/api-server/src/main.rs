//! `api-server`: the hookflash HTTP + WebSocket API. On a single node it embeds the event
//! pipeline (PBX events → tracker → store → in-process bus), so this one command is the whole
//! job:
//!
//! ```text
//! cargo run -p api-server                        # SQLite hookflash.db here, 127.0.0.1:8080
//! cargo run -p api-server -- --config hookflash.toml
//! api-server --config hookflash.toml --separate-listener   # beside an event-listener (PostgreSQL)
//! ```
//!
//! On an empty database it creates the `default` tenant and an `admin` user and prints the
//! admin's one-time password once (or takes it from `HOOKFLASH_ADMIN_PASSWORD`).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Parser;
use hookflash_api::bus::{EventBus, PgPublisher, Publisher, spawn_pg_relay};
use hookflash_api::listener::{Listener, ListenerConfig};
use hookflash_api::model::NumberReading;
use hookflash_api::{
    AppState, Config, ServeConfig, Settings, ensure_default_tenant_and_admin, router, serve,
};
use hookflash_event_listener::connect_providers;
use hookflash_store::{Dialect, Store};

#[derive(Debug, Parser)]
#[command(
    version,
    about = "hookflash api-server: HTTP + WebSocket API for call control"
)]
struct Cli {
    /// The configuration file (TOML). Without one: SQLite in the working directory, no PBX.
    #[arg(long, env = "HOOKFLASH_CONFIG")]
    config: Option<PathBuf>,
    /// Listen address (overrides the file and HOOKFLASH_LISTEN).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// The database (overrides the file).
    #[arg(long, hide_env_values = true)]
    database_url: Option<String>,
    /// An event-listener process runs beside this server: do not listen to Asterisk here;
    /// receive call updates over PostgreSQL LISTEN/NOTIFY instead.
    #[arg(long, env = "HOOKFLASH_SEPARATE_LISTENER")]
    separate_listener: bool,
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref()).context("loading the configuration")?;
    if let Some(addr) = cli.listen {
        config.listen = addr;
    }
    if let Some(url) = cli.database_url {
        config.database_url = url;
    }
    let store = Store::connect(&config.database_url)
        .await
        .with_context(|| "connecting to the database (database_url)")?;
    store.migrate().await.context("running migrations")?;
    if let Some(password) =
        ensure_default_tenant_and_admin(&store, config.admin_password.clone()).await?
    {
        println!("created the default tenant and its admin");
        println!("  username: {}", hookflash_api::ADMIN_USERNAME);
        println!("  password: {password}   (shown once; store it now)");
    }

    let connected = connect_providers(&config).await?;
    let bus = EventBus::default();
    let node = uuid::Uuid::new_v4();
    let (sources, publisher, relay) = if cli.separate_listener {
        if store.dialect() != Dialect::Postgres {
            bail!("--separate-listener needs a postgres:// database_url (LISTEN/NOTIFY)");
        }
        tracing::info!("call events come from a separate event-listener over LISTEN/NOTIFY");
        let relay = spawn_pg_relay(store.clone(), bus.clone(), node)?;
        // Twilio's events arrive here as webhooks: only this process can listen to them.
        let publisher = Publisher::Postgres(PgPublisher::new(store.clone(), node)?);
        (connected.twilio, publisher, Some(relay))
    } else {
        let mut sources = connected.asterisk;
        sources.extend(connected.twilio);
        (sources, Publisher::Local(bus.clone()), None)
    };
    let listener_config = ListenerConfig {
        numbers: NumberReading::new(config.default_region.clone(), config.phone_validation),
        ..ListenerConfig::default()
    };
    let listener = Listener::start(store.clone(), sources, publisher, listener_config);

    let state = AppState::new(
        store.clone(),
        connected.registry,
        bus,
        Settings::from_config(&config),
    );
    let mut app = router(state);
    if let Some(webhooks) = connected.webhooks {
        app = app.merge(webhooks);
    }
    let tcp = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = tcp.local_addr()?;
    tracing::info!(%addr, "api-server listening");
    println!("hookflash api-server listening on http://{addr}");
    // Header/body read timeouts and a connection limit (axum::serve has neither); on a
    // signal, open requests get ServeConfig::shutdown_grace to finish.
    serve(tcp, app, ServeConfig::default(), shutdown_signal())
        .await
        .context("serving")?;
    tracing::info!("shutting down: flushing pending writes");
    if let Some(relay) = relay {
        relay.abort();
    }
    listener.shutdown().await?;
    store.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
