use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::{StoreError, redact_url};

/// Runs `$body` with `$pool` bound to the SQLite or the PostgreSQL pool.
///
/// The body is compiled once per dialect. Every query in the store is written with `$N`
/// placeholders, which both sqlx drivers accept, so the same text serves both databases.
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_db;

/// The connection pool behind a [`Store`].
#[derive(Debug, Clone)]
pub enum Db {
    /// An embedded SQLite file.
    Sqlite(SqlitePool),
    /// A PostgreSQL server.
    Postgres(PgPool),
}

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// Connection settings for [`Store::connect_with`].
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Most pooled connections (PostgreSQL; SQLite uses this too, but writes serialise anyway).
    pub max_connections: u32,
    /// How long to wait for a connection, including the first one.
    pub acquire_timeout: Duration,
    /// SQLite's busy timeout: how long a writer waits for another writer's lock.
    pub busy_timeout: Duration,
    /// Create the SQLite file when it does not exist.
    pub create_if_missing: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(10),
            busy_timeout: Duration::from_secs(5),
            create_if_missing: true,
        }
    }
}

/// The store: one pool, SQLite or PostgreSQL, and the repositories over it.
///
/// Cloning is cheap (the pool is shared). Every repository method that reads tenant data takes
/// the tenant id as a required argument and filters by it, so a query cannot return another
/// tenant's rows.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) db: Db,
    /// Argon2 verifications run (shared by clones); see [`Store::password_checks`].
    password_checks: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Store {
    /// Connects by URL with default options: `sqlite:PATH` (or `sqlite://PATH`, the file is
    /// created if missing; `sqlite::memory:` for a private in-memory database) or
    /// `postgres://` / `postgresql://`.
    ///
    /// Does not apply migrations: call [`Store::migrate`].
    ///
    /// # Errors
    /// [`StoreError::UnsupportedUrl`] for another scheme, [`StoreError::Connect`] when the
    /// database cannot be reached or opened.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, &ConnectOptions::default()).await
    }

    /// Connects by URL with the given options; see [`Store::connect`].
    ///
    /// # Errors
    /// As [`Store::connect`].
    pub async fn connect_with(url: &str, options: &ConnectOptions) -> Result<Self, StoreError> {
        let connect_err = |source| StoreError::Connect {
            url: redact_url(url),
            source,
        };
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(connect_err)?
                .create_if_missing(options.create_if_missing)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(options.busy_timeout)
                .foreign_keys(true);
            // An in-memory database exists once per connection: keep exactly one.
            let max = if url.contains(":memory:") {
                1
            } else {
                options.max_connections
            };
            let pool = SqlitePoolOptions::new()
                .max_connections(max)
                .acquire_timeout(options.acquire_timeout)
                .connect_with(opts)
                .await
                .map_err(connect_err)?;
            Ok(Self {
                db: Db::Sqlite(pool),
                password_checks: Default::default(),
            })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url).map_err(connect_err)?;
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(options.acquire_timeout)
                .connect_with(opts)
                .await
                .map_err(connect_err)?;
            Ok(Self {
                db: Db::Postgres(pool),
                password_checks: Default::default(),
            })
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }

    /// Wraps an existing pool.
    pub fn from_db(db: Db) -> Self {
        Self {
            db,
            password_checks: Default::default(),
        }
    }

    /// How many argon2 password verifications this store (and its clones) ran: a login costs
    /// exactly one whether or not its tenant and user exist, which this count makes visible
    /// to metrics and tests without measuring time.
    pub fn password_checks(&self) -> u64 {
        self.password_checks
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn count_password_check(&self) {
        self.password_checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The pool.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Which database this is.
    pub fn dialect(&self) -> Dialect {
        match self.db {
            Db::Sqlite(_) => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Checks the database answers (for readiness probes).
    ///
    /// # Errors
    /// The database's error.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_db!(&self.db, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        on_db!(&self.db, pool => pool.close().await)
    }
}
