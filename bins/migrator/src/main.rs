//! `migrator`: applies, reverts and reports hookflash's database migrations.
//!
//! ```text
//! migrator up                                   # sqlite:hookflash.db, the api-server's default
//! HOOKFLASH_DATABASE_URL=postgres://... migrator status
//! migrator down 2 --yes                         # lists what it reverts; asks unless --yes
//! migrator redo --yes                         # the newest, reverted and applied again
//! ```
//!
//! Only `up` creates a missing SQLite file; `status`, `down` and `redo` report it missing.

use std::io::{BufRead, IsTerminal, Write};
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
    /// `sqlite:PATH` or `postgres://user:pass@host/db`. The default is the api-server's:
    /// `hookflash.db` in the working directory. Only `up` creates a missing SQLite file.
    #[arg(
        long,
        env = "HOOKFLASH_DATABASE_URL",
        hide_env_values = true,
        default_value = DEFAULT_DATABASE_URL
    )]
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
    /// Revert the newest N applied migrations (their tables and data are dropped). Lists
    /// them and asks for confirmation on a terminal; elsewhere `--yes` is required.
    Down {
        /// How many.
        #[arg(default_value_t = 1)]
        steps: usize,
        /// Revert without asking.
        #[arg(long)]
        yes: bool,
    },
    /// List the migrations and whether each is applied.
    Status,
    /// Revert the newest applied migration and apply it again (the data in its tables is
    /// dropped). Names it and asks for confirmation on a terminal; elsewhere `--yes` is
    /// required.
    Redo {
        /// Redo without asking.
        #[arg(long)]
        yes: bool,
    },
}

/// The api-server's default database (its `DEFAULT_DATABASE_URL`): `hookflash.db` here.
const DEFAULT_DATABASE_URL: &str = "sqlite:hookflash.db";

/// The newest `n` applied migrations, newest first, as `NNNN description`.
async fn newest_applied(store: &Store, n: usize) -> anyhow::Result<Vec<String>> {
    let mut applied: Vec<String> = store
        .migration_status()
        .await?
        .into_iter()
        .filter(|s| s.status == MigrationStatusKind::Applied)
        .map(|s| format!("{:04} {}", s.version, s.description))
        .collect();
    applied.reverse();
    applied.truncate(n);
    Ok(applied)
}

/// Asks on the terminal whether to revert `doomed`; refuses without a terminal unless `yes`.
fn confirm_down(doomed: &[String], yes: bool) -> anyhow::Result<()> {
    println!("reverting drops the tables and data of:");
    for m in doomed {
        println!("  {m}");
    }
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!("not reverting without confirmation: pass --yes (no terminal to ask on)");
    }
    print!("type yes to revert {} migration(s): ", doomed.len());
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != "yes" {
        bail!("not reverting: not confirmed");
    }
    Ok(())
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
    let creates = matches!(cli.command, Command::Up);
    let options = ConnectOptions {
        acquire_timeout: Duration::from_secs(cli.connect_timeout),
        max_connections: 2,
        create_if_missing: creates,
        ..ConnectOptions::default()
    };
    let store = Store::connect_with(&cli.database_url, &options)
        .await
        .with_context(|| {
            if creates {
                "cannot open the database".to_owned()
            } else {
                "cannot open the database (only `migrator up` creates a missing SQLite file)"
                    .to_owned()
            }
        })?;
    let result = match cli.command {
        Command::Up => {
            let applied = store.migrate_up(&mut report).await?;
            println!("{} migration(s) applied", applied.len());
            Ok(())
        }
        Command::Down { steps, yes } => {
            let applied = newest_applied(&store, steps).await?;
            if applied.is_empty() {
                println!("0 migration(s) reverted");
                Ok(())
            } else {
                match confirm_down(&applied, yes) {
                    Ok(()) => {
                        let reverted = store.migrate_down(steps, &mut report).await?;
                        println!("{} migration(s) reverted", reverted.len());
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
        }
        Command::Redo { yes } => {
            // Redo reverts first: the same confirmation as `down 1`.
            let newest = newest_applied(&store, 1).await?;
            if newest.is_empty() {
                println!("nothing to redo: no migration is applied");
                Ok(())
            } else {
                match confirm_down(&newest, yes) {
                    Ok(()) => {
                        match store.migrate_redo(&mut report).await? {
                            Some(v) => println!("migration {v:04} redone"),
                            None => println!("nothing to redo: no migration is applied"),
                        }
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
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
