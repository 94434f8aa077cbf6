//! `migrator`: applies, reverts and reports hookflash's database migrations.
//!
//! ```text
//! migrator --database-url sqlite:hookflash.db up
//! HOOKFLASH_DATABASE_URL=postgres://... migrator status
//! migrator down 2
//! migrator redo
//! ```

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use hookflash_store::{ConnectOptions, MigrationProgress, MigrationStatusKind, Store};

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Applies, reverts and reports hookflash's database migrations"
)]
struct Cli {
    /// `sqlite:PATH` (created if missing) or `postgres://user:pass@host/db`.
    #[arg(long, env = "HOOKFLASH_DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// Seconds to wait for the database before giving up.
    #[arg(long, default_value_t = 10)]
    connect_timeout: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply every pending migration.
    Up,
    /// Revert the newest N applied migrations.
    Down {
        /// How many.
        #[arg(default_value_t = 1)]
        steps: usize,
    },
    /// List the migrations and whether each is applied.
    Status,
    /// Revert the newest applied migration and apply it again.
    Redo,
}

fn report(p: MigrationProgress) {
    match p {
        MigrationProgress::Applying {
            version,
            description,
        } => println!("applying {version:04} {description} ..."),
        MigrationProgress::Applied { version, elapsed } => {
            println!("applied  {version:04} in {} ms", elapsed.as_millis());
        }
        MigrationProgress::Reverting {
            version,
            description,
        } => println!("reverting {version:04} {description} ..."),
        MigrationProgress::Reverted { version, elapsed } => {
            println!("reverted  {version:04} in {} ms", elapsed.as_millis());
        }
        other => println!("{other:?}"),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let options = ConnectOptions {
        acquire_timeout: Duration::from_secs(cli.connect_timeout),
        max_connections: 2,
        ..ConnectOptions::default()
    };
    let store = Store::connect_with(&cli.database_url, &options)
        .await
        .context("cannot open the database")?;
    let result = match cli.command {
        Command::Up => {
            let applied = store.migrate_up(&mut report).await?;
            println!("{} migration(s) applied", applied.len());
            Ok(())
        }
        Command::Down { steps } => {
            let reverted = store.migrate_down(steps, &mut report).await?;
            println!("{} migration(s) reverted", reverted.len());
            Ok(())
        }
        Command::Redo => {
            match store.migrate_redo(&mut report).await? {
                Some(v) => println!("migration {v:04} redone"),
                None => println!("nothing to redo: no migration is applied"),
            }
            Ok(())
        }
        Command::Status => {
            let states = store.migration_status().await?;
            for s in &states {
                println!(
                    "{:04}  {:<8} {}",
                    s.version,
                    s.status.as_str(),
                    s.description
                );
            }
            let bad: Vec<String> = states
                .iter()
                .filter(|s| {
                    !matches!(
                        s.status,
                        MigrationStatusKind::Applied | MigrationStatusKind::Pending
                    )
                })
                .map(|s| format!("{:04} {}", s.version, s.status.as_str()))
                .collect();
            if bad.is_empty() {
                Ok(())
            } else {
                bail!("the database needs attention: {}", bad.join(", "))
            }
        }
    };
    store.close().await;
    result
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
