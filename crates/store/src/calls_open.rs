//! The calls a listener reconciles: not ended, on one PBX, across tenants.

use std::collections::HashMap;

use uuid::Uuid;

use crate::calls::{CALL_COLS, Calls, LEG_COLS};
use crate::db::on_db;
use crate::error::StoreError;
use crate::{CallRow, LegRow};

/// A call the store holds open, with its legs (by creation).
#[derive(Debug, Clone, PartialEq)]
pub struct OpenCall {
    /// The call.
    pub call: CallRow,
    /// Its legs.
    pub legs: Vec<LegRow>,
}

impl Calls<'_> {
    /// Calls of every tenant that are not ended, placed or seen on `provider` (`ami`, `ari`,
    /// `twilio`) and on server `server` (or on no server named, as the pipeline writes
    /// calls the API did not place), oldest first, at most `limit` (clamped to 1..=100 000),
    /// with their legs.
    ///
    /// A listener that starts, or whose PBX link came back, reconciles these against the
    /// PBX's live channels: nothing else ever closes a call whose end it did not see.
    ///
    /// # Errors
    /// The database's error.
    pub async fn open_on(
        &self,
        provider: &str,
        server: &str,
        limit: i64,
    ) -> Result<Vec<OpenCall>, StoreError> {
        let limit = limit.clamp(1, 100_000);
        let filter = "state <> 'ended' AND provider = $1 AND (server = $2 OR server IS NULL)";
        let sql = format!(
            "SELECT {} FROM calls WHERE {filter} ORDER BY created_at, id LIMIT $3",
            CALL_COLS.join(", ")
        );
        let calls: Vec<CallRow> = on_db!(&self.store.db, pool => sqlx::query_as::<_, CallRow>(&sql)
            .bind(provider)
            .bind(server)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {LEG_COLS} FROM call_legs WHERE call_id IN \
             (SELECT id FROM calls WHERE {filter} ORDER BY created_at, id LIMIT $3) \
             ORDER BY created_at, leg_id"
        );
        let legs: Vec<LegRow> = on_db!(&self.store.db, pool => sqlx::query_as::<_, LegRow>(&sql)
            .bind(provider)
            .bind(server)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        let mut by_call: HashMap<Uuid, Vec<LegRow>> = HashMap::new();
        for leg in legs {
            by_call.entry(leg.call_id).or_default().push(leg);
        }
        Ok(calls
            .into_iter()
            .map(|call| OpenCall {
                legs: by_call.remove(&call.id).unwrap_or_default(),
                call,
            })
            .collect())
    }
}
