//! `event-listener`: connects every configured Asterisk (AMI or ARI), feeds the call tracker,
//! writes through the store's batch writer and publishes call updates over PostgreSQL
//! LISTEN/NOTIFY to the api-servers beside it. Serves `/healthz` and `/metrics`.
//!
//! ```text
//! event-listener --config hookflash.toml --listen 127.0.0.1:9090
//! ```
//!
//! It needs the same configuration file (and PostgreSQL `database_url`) as the api-servers,
//! which then run with `--separate-listener`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Parser;
use hookflash_api::Config;
use hookflash_api::bus::{PgPublisher, Publisher};
use hookflash_api::listener::{Listener, ListenerConfig};
use hookflash_api::model::NumberReading;
use hookflash_event_listener::{HealthState, connect_providers, health_router};
use hookflash_store::{Dialect, Store};

#[derive(Debug, Parser)]
#[command(
    version,
    about = "hookflash event-listener: PBX events to calls, store and bus"
)]
struct Cli {
    /// The configuration file (TOML), shared with the api-servers.
    #[arg(long, env = "HOOKFLASH_CONFIG")]
    config: Option<PathBuf>,
    /// Where `/healthz` and `/metrics` are served.
    #[arg(
        long,
        env = "HOOKFLASH_LISTENER_LISTEN",
        default_value = "127.0.0.1:9090"
    )]
    listen: SocketAddr,
    /// The database (overrides the file); must be PostgreSQL.
    #[arg(long, env = "HOOKFLASH_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
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
    if let Some(url) = cli.database_url {
        config.database_url = url;
    }
    let store = Store::connect(&config.database_url)
        .await
        .context("connecting to the database")?;
    if store.dialect() != Dialect::Postgres {
        bail!(
            "the event-listener publishes over PostgreSQL LISTEN/NOTIFY: set a postgres:// \
             database_url (on SQLite, run the api-server alone: it embeds the listener)"
        );
    }
    store.migrate().await.context("running migrations")?;
    let connected = connect_providers(&config).await?;
    if !connected.twilio.is_empty() {
        tracing::info!(
            "Twilio accounts are listened to by the api-server (their webhooks arrive there)"
        );
    }
    let node = uuid_node();
    let publisher = Publisher::Postgres(PgPublisher::new(store.clone(), node)?);
    let listener = Listener::start(
        store.clone(),
        connected.asterisk,
        publisher,
        ListenerConfig {
            numbers: NumberReading::new(config.default_region.clone(), config.phone_validation),
            ..ListenerConfig::default()
        },
    );
    let app = health_router(HealthState::of(store.clone(), &listener));
    let tcp = tokio::net::TcpListener::bind(cli.listen)
        .await
        .with_context(|| format!("binding {}", cli.listen))?;
    tracing::info!(addr = %tcp.local_addr()?, "event-listener serving /healthz and /metrics");
    hookflash_api::serve(
        tcp,
        app,
        hookflash_api::ServeConfig::default(),
        shutdown_signal(),
    )
    .await
    .context("serving")?;
    tracing::info!("shutting down: flushing pending writes");
    listener.shutdown().await?;
    store.close().await;
    Ok(())
}

fn uuid_node() -> uuid::Uuid {
    uuid::Uuid::new_v4()
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
