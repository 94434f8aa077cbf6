use futures::StreamExt;
use futures::stream::BoxStream;
use sqlx::postgres::PgListener;

use crate::db::{Db, Store};
use crate::error::StoreError;

/// What [`Store::listen_with_gaps`] yields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListenItem {
    /// A notification.
    Notification(Notification),
    /// The LISTEN connection was lost and is listening again: notifications sent in between
    /// are lost (PostgreSQL does not queue them), so whoever relays them must tell its
    /// consumers to re-read the store.
    Reconnected,
}

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

    /// Like [`Store::listen`], and says when notifications may have been lost: once the
    /// connection dropped and listens again, the stream yields [`ListenItem::Reconnected`]
    /// before anything received after the gap. A failed reconnect is an error item; polling
    /// again retries.
    ///
    /// # Errors
    /// [`StoreError::PostgresOnly`] on SQLite; the database's error.
    pub async fn listen_with_gaps(
        &self,
        channels: &[&str],
    ) -> Result<BoxStream<'static, Result<ListenItem, StoreError>>, StoreError> {
        let Db::Postgres(pool) = &self.db else {
            return Err(StoreError::PostgresOnly("LISTEN"));
        };
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen_all(channels.iter().copied()).await?;
        let state = Gaps {
            listener,
            pending: None,
            lost: false,
        };
        Ok(futures::stream::unfold(state, |mut st| async move {
            let item = st.next().await;
            Some((item, st))
        })
        .boxed())
    }
}

/// The state of [`Store::listen_with_gaps`]'s stream.
struct Gaps {
    listener: PgListener,
    /// A notification that arrived after a gap, delivered after `Reconnected`.
    pending: Option<Notification>,
    /// An error left the connection down; sqlx reconnects silently on the next receive.
    lost: bool,
}

impl Gaps {
    async fn next(&mut self) -> Result<ListenItem, StoreError> {
        if let Some(n) = self.pending.take() {
            return Ok(ListenItem::Notification(n));
        }
        match self.listener.try_recv().await {
            Ok(Some(n)) => {
                let n = Notification {
                    channel: n.channel().to_owned(),
                    payload: n.payload().to_owned(),
                };
                if std::mem::take(&mut self.lost) {
                    self.pending = Some(n);
                    Ok(ListenItem::Reconnected)
                } else {
                    Ok(ListenItem::Notification(n))
                }
            }
            // sqlx re-established the connection (and its LISTENs) before saying so.
            Ok(None) => {
                self.lost = false;
                Ok(ListenItem::Reconnected)
            }
            Err(e) => {
                self.lost = true;
                Err(StoreError::from(e))
            }
        }
    }
}
