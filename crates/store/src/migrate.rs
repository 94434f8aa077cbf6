use std::collections::BTreeMap;
use std::time::Duration;

use sqlx::migrate::{Migrate, Migration, Migrator};

use crate::db::{Db, Store, on_db};
use crate::error::StoreError;

static SQLITE: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("../../migrations/postgres");

/// One step reported while migrating.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MigrationProgress {
    /// About to apply a migration.
    Applying {
        /// Its version.
        version: i64,
        /// Its description (from the file name).
        description: String,
    },
    /// A migration was applied.
    Applied {
        /// Its version.
        version: i64,
        /// How long it took.
        elapsed: Duration,
    },
    /// About to revert a migration.
    Reverting {
        /// Its version.
        version: i64,
        /// Its description.
        description: String,
    },
    /// A migration was reverted.
    Reverted {
        /// Its version.
        version: i64,
        /// How long it took.
        elapsed: Duration,
    },
}

/// One migration as `status` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationState {
    /// Its version (the `NNNN` of the file name).
    pub version: i64,
    /// Its description; empty for a migration unknown to this build.
    pub description: String,
    /// Where it stands.
    pub status: MigrationStatusKind,
}

/// Where one migration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MigrationStatusKind {
    /// Applied and unchanged.
    Applied,
    /// Not applied yet.
    Pending,
    /// Started but never finished.
    Dirty,
    /// Applied, but its file changed since.
    Changed,
    /// Applied in the database but not known to this build.
    Unknown,
}

impl MigrationStatusKind {
    /// A short word for listings.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Pending => "pending",
            Self::Dirty => "DIRTY",
            Self::Changed => "CHANGED",
            Self::Unknown => "UNKNOWN",
        }
    }
}

fn migrator(db: &Db) -> &'static Migrator {
    match db {
        Db::Sqlite(_) => &SQLITE,
        Db::Postgres(_) => &POSTGRES,
    }
}

fn ups(m: &Migrator) -> impl Iterator<Item = &Migration> {
    m.iter().filter(|m| !m.migration_type.is_down_migration())
}

fn down_of(m: &Migrator, version: i64) -> Option<&Migration> {
    m.iter()
        .find(|m| m.version == version && m.migration_type.is_down_migration())
}

/// Applied versions with checksums, after refusing a dirty or unknown migration.
async fn checked_applied<C: Migrate + ?Sized>(
    conn: &mut C,
    m: &Migrator,
) -> Result<BTreeMap<i64, Vec<u8>>, StoreError> {
    conn.ensure_migrations_table().await?;
    if let Some(version) = conn.dirty_version().await? {
        return Err(StoreError::DirtyMigration(version));
    }
    let applied: BTreeMap<i64, Vec<u8>> = conn
        .list_applied_migrations()
        .await?
        .into_iter()
        .map(|a| (a.version, a.checksum.into_owned()))
        .collect();
    for (version, checksum) in &applied {
        match ups(m).find(|u| u.version == *version) {
            None => return Err(StoreError::UnknownMigration(*version)),
            Some(u) if u.checksum.as_ref() != checksum.as_slice() => {
                return Err(StoreError::ChangedMigration(*version));
            }
            Some(_) => {}
        }
    }
    Ok(applied)
}

/// Runs `body` between the database's migration lock and its release, releasing on error too
/// (PostgreSQL's advisory lock belongs to the session, which goes back to the pool).
macro_rules! locked {
    ($conn:expr, $body:expr) => {{
        $conn.lock().await?;
        let result = $body;
        let unlocked = $conn.unlock().await;
        let value = result?;
        unlocked?;
        value
    }};
}

async fn up<C: Migrate + ?Sized>(
    conn: &mut C,
    m: &Migrator,
    only: Option<i64>,
    progress: &mut (dyn FnMut(MigrationProgress) + Send),
) -> Result<Vec<i64>, StoreError> {
    let applied = checked_applied(conn, m).await?;
    let mut done = Vec::new();
    for migration in ups(m) {
        if applied.contains_key(&migration.version) || only.is_some_and(|v| v != migration.version)
        {
            continue;
        }
        progress(MigrationProgress::Applying {
            version: migration.version,
            description: migration.description.to_string(),
        });
        let elapsed = conn.apply(migration).await?;
        progress(MigrationProgress::Applied {
            version: migration.version,
            elapsed,
        });
        done.push(migration.version);
    }
    Ok(done)
}

async fn down<C: Migrate + ?Sized>(
    conn: &mut C,
    m: &Migrator,
    steps: usize,
    progress: &mut (dyn FnMut(MigrationProgress) + Send),
) -> Result<Vec<i64>, StoreError> {
    let applied = checked_applied(conn, m).await?;
    let mut done = Vec::new();
    for version in applied.keys().rev().take(steps) {
        let migration = down_of(m, *version).ok_or(StoreError::Irreversible(*version))?;
        progress(MigrationProgress::Reverting {
            version: *version,
            description: migration.description.to_string(),
        });
        let elapsed = conn.revert(migration).await?;
        progress(MigrationProgress::Reverted {
            version: *version,
            elapsed,
        });
        done.push(*version);
    }
    Ok(done)
}

async fn status<C: Migrate + ?Sized>(
    conn: &mut C,
    m: &Migrator,
) -> Result<Vec<MigrationState>, StoreError> {
    conn.ensure_migrations_table().await?;
    let dirty = conn.dirty_version().await?;
    let applied: BTreeMap<i64, Vec<u8>> = conn
        .list_applied_migrations()
        .await?
        .into_iter()
        .map(|a| (a.version, a.checksum.into_owned()))
        .collect();
    let mut out: Vec<MigrationState> = ups(m)
        .map(|u| {
            let status = if dirty == Some(u.version) {
                MigrationStatusKind::Dirty
            } else {
                match applied.get(&u.version) {
                    None => MigrationStatusKind::Pending,
                    Some(sum) if sum.as_slice() != u.checksum.as_ref() => {
                        MigrationStatusKind::Changed
                    }
                    Some(_) => MigrationStatusKind::Applied,
                }
            };
            MigrationState {
                version: u.version,
                description: u.description.to_string(),
                status,
            }
        })
        .collect();
    for version in applied.keys() {
        if !out.iter().any(|s| s.version == *version) {
            out.push(MigrationState {
                version: *version,
                description: String::new(),
                status: if dirty == Some(*version) {
                    MigrationStatusKind::Dirty
                } else {
                    MigrationStatusKind::Unknown
                },
            });
        }
    }
    out.sort_by_key(|s| s.version);
    Ok(out)
}

impl Store {
    /// Applies every pending migration (the embedded `migrations/sqlite` or
    /// `migrations/postgres`, by dialect).
    ///
    /// # Errors
    /// [`StoreError::DirtyMigration`], [`StoreError::UnknownMigration`],
    /// [`StoreError::ChangedMigration`], or the database's error.
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        self.migrate_up(&mut |_| {}).await
    }

    /// Applies every pending migration, reporting each step to `progress`; returns the
    /// versions applied.
    ///
    /// # Errors
    /// As [`Store::migrate`].
    pub async fn migrate_up(
        &self,
        progress: &mut (dyn FnMut(MigrationProgress) + Send),
    ) -> Result<Vec<i64>, StoreError> {
        let m = migrator(&self.db);
        on_db!(&self.db, pool => {
            let mut conn = pool.acquire().await?;
            let conn = &mut *conn;
            Ok(locked!(conn, up(conn, m, None, progress).await))
        })
    }

    /// Reverts the last `steps` applied migrations, newest first; returns their versions.
    ///
    /// # Errors
    /// [`StoreError::Irreversible`] for a migration without a down script, and as
    /// [`Store::migrate`].
    pub async fn migrate_down(
        &self,
        steps: usize,
        progress: &mut (dyn FnMut(MigrationProgress) + Send),
    ) -> Result<Vec<i64>, StoreError> {
        let m = migrator(&self.db);
        on_db!(&self.db, pool => {
            let mut conn = pool.acquire().await?;
            let conn = &mut *conn;
            Ok(locked!(conn, down(conn, m, steps, progress).await))
        })
    }

    /// Reverts the newest applied migration and applies it again; returns its version (None
    /// when nothing was applied).
    ///
    /// # Errors
    /// As [`Store::migrate_down`].
    pub async fn migrate_redo(
        &self,
        progress: &mut (dyn FnMut(MigrationProgress) + Send),
    ) -> Result<Option<i64>, StoreError> {
        let m = migrator(&self.db);
        on_db!(&self.db, pool => {
            let mut conn = pool.acquire().await?;
            let conn = &mut *conn;
            Ok(locked!(conn, async {
                let reverted = down(conn, m, 1, progress).await?;
                match reverted.first() {
                    Some(v) => up(conn, m, Some(*v), progress).await.map(|_| Some(*v)),
                    None => Ok(None),
                }
            }.await))
        })
    }

    /// Lists every migration this build knows and any the database has that it does not,
    /// with where each stands. Creates the bookkeeping table if missing.
    ///
    /// # Errors
    /// The database's error.
    pub async fn migration_status(&self) -> Result<Vec<MigrationState>, StoreError> {
        let m = migrator(&self.db);
        on_db!(&self.db, pool => {
            let mut conn = pool.acquire().await?;
            status(&mut *conn, m).await
        })
    }
}
