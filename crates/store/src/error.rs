/// Everything that can go wrong in the store.
///
/// Database errors are kept as their source so callers can log them; an API should map them to
/// a generic "internal database error" and never show the text to a client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL names no scheme the store knows (`sqlite:` or `postgres://`).
    #[error("unsupported database URL {0:?}: expected sqlite:PATH or postgres://...")]
    UnsupportedUrl(String),
    /// The database could not be reached or opened.
    #[error("cannot connect to the database at {url}")]
    Connect {
        /// The URL with any password removed.
        url: String,
        /// Why.
        #[source]
        source: sqlx::Error,
    },
    /// A query failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// Reading or applying migrations failed.
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A migration was left half-applied (its row says it did not succeed): fix the schema by
    /// hand, then delete that row or mark it successful.
    #[error("migration {0} is dirty: it was started but never finished")]
    DirtyMigration(i64),
    /// The database has a migration applied that this build does not know (a newer build ran?).
    #[error("migration {0} is applied in the database but unknown to this build")]
    UnknownMigration(i64),
    /// An applied migration's file changed after it was applied.
    #[error("migration {0} was changed after it was applied (checksum mismatch)")]
    ChangedMigration(i64),
    /// A migration has no down script, so it cannot be reverted.
    #[error("migration {0} cannot be reverted: it has no down script")]
    Irreversible(i64),
    /// The row does not exist (or belongs to another tenant).
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write (for example a duplicate username).
    #[error("already exists: {0}")]
    Conflict(String),
    /// The change would leave the tenant without an active admin (deactivating or demoting
    /// the last one), so nobody could administer it any more.
    #[error("the tenant's last active admin cannot be deactivated or demoted")]
    LastAdmin,
    /// A value read from the database is not one the store writes (hand-edited row?).
    #[error("invalid value in column {column}: {value:?}")]
    InvalidValue {
        /// The column.
        column: &'static str,
        /// The value found.
        value: String,
    },
    /// An argument is not acceptable (for example a phone number not in E.164 form).
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The argument.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A cursor given back by a client does not parse.
    #[error("invalid pagination cursor")]
    InvalidCursor,
    /// Hashing or verifying a password failed (not a wrong password: that is `Ok(false)`).
    #[error("password hashing failed: {0}")]
    PasswordHash(argon2::password_hash::Error),
    /// The operation needs PostgreSQL (LISTEN/NOTIFY on SQLite).
    #[error("{0} needs PostgreSQL")]
    PostgresOnly(&'static str),
    /// The batch writer has stopped (shut down, or its task ended).
    #[error("the batch writer is closed")]
    WriterClosed,
    /// The batch writer's queue is full (only from `try_write`).
    #[error("the batch writer's queue is full")]
    WriterFull,
}

impl StoreError {
    /// True when the row was not found.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound)
    }

    /// True when a unique constraint refused the write.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict(_))
    }

    /// True when the database could not be used at all (unreachable, pool exhausted or
    /// closed, server shutting down or out of connections, SQLite busy): the request may
    /// succeed when retried, so an API answers 503 rather than 500.
    pub fn is_unavailable(&self) -> bool {
        let err = match self {
            Self::Connect { .. } => return true,
            Self::Database(e) => e,
            _ => return false,
        };
        match err {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_) => true,
            sqlx::Error::Database(db) => db.code().is_some_and(|c| {
                // PostgreSQL: class 08 connection exception, 57P01-03 shutting down or
                // starting, 53300 too many connections. SQLite: 5 busy, 6 locked.
                c.starts_with("08")
                    || matches!(
                        c.as_ref(),
                        "57P01" | "57P02" | "57P03" | "53300" | "5" | "6"
                    )
            }),
            _ => false,
        }
    }

    /// Maps a unique-constraint violation to [`StoreError::Conflict`], anything else to
    /// [`StoreError::Database`].
    pub(crate) fn from_write(err: sqlx::Error, what: &str) -> Self {
        if let sqlx::Error::Database(db) = &err
            && db.is_unique_violation()
        {
            return Self::Conflict(what.to_owned());
        }
        Self::Database(err)
    }
}

/// Removes the password from a database URL so it can be shown in errors and logs.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
        assert_eq!(redact_url("sqlite:/tmp/x.db"), "sqlite:/tmp/x.db");
    }
}
