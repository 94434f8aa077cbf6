//! `event-listener`: connects every configured Asterisk (AMI or ARI), feeds the call tracker,
//! writes through the store's batch writer and publishes call updates over PostgreSQL
//! LISTEN/NOTIFY to the api-servers beside it. Serves `/healthz` and `/metrics`.
//!
//! ```text
//! event-listener --config hookflash.toml --listen 127.0.0.1:9090
//! ```
//!
//! It needs the same configuration file (and PostgreSQL `database_url`) as the api-servers,
//! which then run with `--separate-listener`. Everything it runs is composed in
//! `hookflash-server` ([`hookflash_server::run_event_listener`]).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Result;
use clap::Parser;
use hookflash_server::{ListenerOptions, run_event_listener, shutdown_signal};

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
    let mut options = ListenerOptions::default();
    options.config = cli.config;
    options.listen = cli.listen;
    options.database_url = cli.database_url;
    Ok(run_event_listener(options, shutdown_signal()).await?)
}
