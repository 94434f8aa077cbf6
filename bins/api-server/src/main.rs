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
//!
//! Everything it runs is composed in `hookflash-server` ([`hookflash_server::run_api_server`]).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Result;
use clap::Parser;
use hookflash_server::{ApiServerOptions, run_api_server, shutdown_signal};

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
    let mut options = ApiServerOptions::default();
    options.config = cli.config;
    options.listen = cli.listen;
    options.database_url = cli.database_url;
    options.separate_listener = cli.separate_listener;
    Ok(run_api_server(options, shutdown_signal()).await?)
}
