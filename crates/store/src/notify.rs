use futures::StreamExt;
use futures::stream::BoxStream;
use sqlx::postgres::PgListener;

use crate::db::{Db, Store};
use crate::error::StoreError;

/// A message received on a PostgreSQL channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The channel.
    pub channel: String,
    /// The payload (at most 8000 bytes, PostgreSQL's limit).
    pub payload: String,
}

impl Store {
    /// Sends `payload` on `channel` to every listener (PostgreSQL `pg_notify`); delivered
    /// when the surrounding transaction (here: this statement) commits.
    ///
    /// # Errors
    /// [`StoreError::PostgresOnly`] on SQLite; the database's error.
    pub async fn notify(&self, channel: &str, payload: &str) -> Result<(), StoreError> {
        let Db::Postgres(pool) = &self.db else {
            return Err(StoreError::PostgresOnly("NOTIFY"));
        };
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(payload)
            .execute(pool)
            .await?;
        Ok(())
    }

    /// Listens on `channels`; the stream yields every notification sent after this returns.
    ///
    /// The listener has its own connection. When that connection drops it reconnects and
    /// listens again; notifications sent in between are lost (PostgreSQL does not queue them),
    /// so use this as a wake-up signal, not as the record.
    ///
    /// # Errors
    /// [`StoreError::PostgresOnly`] on SQLite; the database's error.
    pub async fn listen(
        &self,
        channels: &[&str],
    ) -> Result<BoxStream<'static, Result<Notification, StoreError>>, StoreError> {
        let Db::Postgres(pool) = &self.db else {
            return Err(StoreError::PostgresOnly("LISTEN"));
        };
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen_all(channels.iter().copied()).await?;
        Ok(listener
            .into_stream()
            .map(|n| {
                n.map(|n| Notification {
                    channel: n.channel().to_owned(),
                    payload: n.payload().to_owned(),
                })
                .map_err(StoreError::from)
            })
            .boxed())
    }
}
