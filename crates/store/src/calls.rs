//! Calls as stored and read back: listing, detail, wrap-up, statistics.

use chrono::{DateTime, Utc};
use hookflash_provider::{CallId, TenantId};
use uuid::Uuid;

use crate::db::{Store, on_db};
use crate::error::StoreError;
use crate::util::now;

mod rows;

pub use rows::{
    CallCursor, CallDetail, CallFilter, CallRow, CallStats, EventRow, LegRow, Page, StatsQuery,
};

/// Calls: listing, detail, wrap-up, statistics. (Tracker writes go through
/// [`Store::write_calls`] or the [`crate::BatchWriter`].)
#[derive(Debug, Clone, Copy)]
pub struct Calls<'a> {
    pub(crate) store: &'a Store,
}

pub(crate) const CALL_COLS: &[&str] = &[
    "id",
    "tenant_id",
    "version",
    "direction",
    "provider",
    "server",
    "state",
    "disposition",
    "agent_id",
    "campaign_id",
    "contact_id",
    "from_number",
    "to_number",
    "did",
    "agent_leg_id",
    "customer_leg_id",
    "agent_channel",
    "customer_channel",
    "bridge_id",
    "linkedid",
    "provider_call_id",
    "created_at",
    "agent_answered_at",
    "customer_ringing_at",
    "answered_at",
    "ended_at",
    "ring_seconds",
    "talk_seconds",
    "total_seconds",
    "hold_count",
    "hold_seconds",
    "is_on_hold",
    "is_muted",
    "hangup_cause_code",
    "hangup_cause_text",
    "hung_up_by",
    "recording_path",
    "wrapup_code",
    "wrapup_notes",
    "metadata",
    "updated_at",
];

pub(crate) const LEG_COLS: &str = "call_id, leg_id, tenant_id, role, channel, number, state, \
                                   created_at, answered_at, ended_at, hangup_cause_code, \
                                   hangup_cause_text";
pub(crate) const EVENT_COLS: &str = "call_id, seq, tenant_id, at, kind, leg_id, payload";

fn call_cols() -> String {
    CALL_COLS.join(", ")
}

/// A value bound to a dynamically built query.
enum Bind {
    Text(String),
    Time(DateTime<Utc>),
    Id(Uuid),
}

/// Most rows one page may hold.
pub const MAX_PAGE: i64 = 500;

impl Calls<'_> {
    /// The call with this id in the tenant.
    ///
    /// # Errors
    /// The database's error.
    pub async fn get(&self, tenant: TenantId, id: CallId) -> Result<Option<CallRow>, StoreError> {
        let sql = format!(
            "SELECT {} FROM calls WHERE tenant_id = $1 AND id = $2",
            call_cols()
        );
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, CallRow>(&sql)
            .bind(*tenant.as_uuid())
            .bind(*id.as_uuid())
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// The call with its legs and timeline.
    ///
    /// # Errors
    /// The database's error.
    pub async fn get_detail(
        &self,
        tenant: TenantId,
        id: CallId,
    ) -> Result<Option<CallDetail>, StoreError> {
        let Some(call) = self.get(tenant, id).await? else {
            return Ok(None);
        };
        let legs = self.legs(tenant, id).await?;
        let events = self.events(tenant, id).await?;
        Ok(Some(CallDetail { call, legs, events }))
    }

    /// A call's legs, by creation.
    ///
    /// # Errors
    /// The database's error.
    pub async fn legs(&self, tenant: TenantId, id: CallId) -> Result<Vec<LegRow>, StoreError> {
        let sql = format!(
            "SELECT {LEG_COLS} FROM call_legs WHERE tenant_id = $1 AND call_id = $2 \
             ORDER BY created_at, leg_id"
        );
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, LegRow>(&sql)
            .bind(*tenant.as_uuid())
            .bind(*id.as_uuid())
            .fetch_all(pool)
            .await)?,
        )
    }

    /// A call's timeline, by `seq`.
    ///
    /// # Errors
    /// The database's error.
    pub async fn events(&self, tenant: TenantId, id: CallId) -> Result<Vec<EventRow>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLS} FROM call_events WHERE tenant_id = $1 AND call_id = $2 \
             ORDER BY seq"
        );
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, EventRow>(&sql)
            .bind(*tenant.as_uuid())
            .bind(*id.as_uuid())
            .fetch_all(pool)
            .await)?,
        )
    }

    /// One page of the tenant's calls matching `filter`, newest first (keyset pagination on
    /// `(created_at, id)`: pass the previous page's `next` as `after`). `limit` is clamped to
    /// 1..=[`MAX_PAGE`].
    ///
    /// # Errors
    /// The database's error.
    pub async fn list(
        &self,
        tenant: TenantId,
        filter: &CallFilter,
        after: Option<CallCursor>,
        limit: i64,
    ) -> Result<Page<CallRow>, StoreError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let mut sql = format!("SELECT {} FROM calls WHERE tenant_id = $1", call_cols());
        let mut binds: Vec<Bind> = vec![Bind::Id(*tenant.as_uuid())];
        let mut push = |sql: &mut String, cond: &str, bind: Bind| {
            binds.push(bind);
            let n = binds.len();
            sql.push_str(" AND ");
            sql.push_str(&cond.replace("$N", &format!("${n}")));
        };
        let text_filters = [
            ("state = $N", &filter.state),
            ("disposition = $N", &filter.disposition),
            ("direction = $N", &filter.direction),
            ("agent_id = $N", &filter.agent_id),
            ("campaign_id = $N", &filter.campaign_id),
            (
                "(from_number = $N OR to_number = $N OR did = $N)",
                &filter.number,
            ),
        ];
        for (cond, value) in text_filters {
            if let Some(v) = value {
                push(&mut sql, cond, Bind::Text(v.clone()));
            }
        }
        if let Some(since) = filter.since {
            push(&mut sql, "created_at >= $N", Bind::Time(since));
        }
        if let Some(until) = filter.until {
            push(&mut sql, "created_at < $N", Bind::Time(until));
        }
        if let Some(cursor) = after {
            push(&mut sql, "created_at <= $N", Bind::Time(cursor.created_at));
            let n = binds.len();
            binds.push(Bind::Id(cursor.id));
            let m = binds.len();
            sql.push_str(&format!(
                " AND (created_at < ${n} OR (created_at = ${n} AND id < ${m}))"
            ));
        }
        sql.push_str(&format!(
            " ORDER BY created_at DESC, id DESC LIMIT {}",
            limit + 1
        ));
        let mut items: Vec<CallRow> = on_db!(&self.store.db, pool => {
            let mut q = sqlx::query_as::<_, CallRow>(&sql);
            for b in &binds {
                q = match b {
                    Bind::Text(t) => q.bind(t.clone()),
                    Bind::Time(t) => q.bind(*t),
                    Bind::Id(u) => q.bind(*u),
                };
            }
            q.fetch_all(pool).await
        })?;
        let more = items.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next = if more {
            items.last().map(|c| CallCursor {
                created_at: c.created_at,
                id: c.id,
            })
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// Sets a call's wrap-up code and notes (the tracker's later writes keep them).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the call is not in the tenant.
    pub async fn update_wrapup(
        &self,
        tenant: TenantId,
        id: CallId,
        code: Option<&str>,
        notes: Option<&str>,
    ) -> Result<CallRow, StoreError> {
        let sql = "UPDATE calls SET wrapup_code = $3, wrapup_notes = $4, updated_at = $5 \
                   WHERE tenant_id = $1 AND id = $2";
        let done = on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(*tenant.as_uuid())
            .bind(*id.as_uuid())
            .bind(code)
            .bind(notes)
            .bind(now())
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        self.get(tenant, id).await?.ok_or(StoreError::NotFound)
    }

    /// Statistics of the tenant's calls created in `[since, until)`.
    ///
    /// # Errors
    /// The database's error.
    pub async fn stats(&self, tenant: TenantId, q: &StatsQuery) -> Result<CallStats, StoreError> {
        let scope = "tenant_id = $1 AND created_at >= $2 AND created_at < $3 \
                     AND ($4 IS NULL OR campaign_id = $4) AND ($5 IS NULL OR agent_id = $5)";
        let totals = format!(
            "SELECT COUNT(*), \
             CAST(COALESCE(SUM(CASE WHEN answered_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN disposition = 'abandoned' THEN 1 ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN answered_at IS NOT NULL OR disposition = 'abandoned' \
                                    THEN 1 ELSE 0 END), 0) AS BIGINT), \
             CAST(AVG(ring_seconds) AS DOUBLE PRECISION), \
             CAST(AVG(CASE WHEN answered_at IS NOT NULL THEN talk_seconds END) AS DOUBLE PRECISION) \
             FROM calls WHERE {scope}"
        );
        let groups = format!(
            "SELECT disposition, COUNT(*) FROM calls WHERE {scope} \
             GROUP BY disposition ORDER BY (disposition IS NOT NULL), disposition"
        );
        type Totals = (i64, i64, i64, i64, Option<f64>, Option<f64>);
        let (totals, by_disposition): (Totals, Vec<(Option<String>, i64)>) = on_db!(&self.store.db, pool => {
            let totals: Totals = sqlx::query_as(&totals)
                .bind(*tenant.as_uuid())
                .bind(q.since)
                .bind(q.until)
                .bind(&q.campaign_id)
                .bind(&q.agent_id)
                .fetch_one(pool)
                .await?;
            let groups: Vec<(Option<String>, i64)> = sqlx::query_as(&groups)
                .bind(*tenant.as_uuid())
                .bind(q.since)
                .bind(q.until)
                .bind(&q.campaign_id)
                .bind(&q.agent_id)
                .fetch_all(pool)
                .await?;
            Ok::<_, sqlx::Error>((totals, groups))
        })?;
        let (total, answered, abandoned, reached, avg_ring, avg_talk) = totals;
        let ratio = |a: i64, b: i64| if b > 0 { a as f64 / b as f64 } else { 0.0 };
        Ok(CallStats {
            total,
            answered,
            abandoned,
            answer_rate: ratio(answered, total),
            abandon_rate: ratio(abandoned, reached),
            avg_ring_seconds: avg_ring,
            avg_talk_seconds: avg_talk,
            by_disposition,
        })
    }

    /// Calls not ended yet, counted by state.
    ///
    /// # Errors
    /// The database's error.
    pub async fn live_counts(&self, tenant: TenantId) -> Result<Vec<(String, i64)>, StoreError> {
        let sql = "SELECT state, COUNT(*) FROM calls WHERE tenant_id = $1 AND ended_at IS NULL \
                   GROUP BY state ORDER BY state";
        Ok(on_db!(&self.store.db, pool => sqlx::query_as(sql)
            .bind(*tenant.as_uuid())
            .fetch_all(pool)
            .await)?)
    }

    /// The tenant's calls with this Asterisk linkedid, oldest first.
    ///
    /// # Errors
    /// The database's error.
    pub async fn by_linkedid(
        &self,
        tenant: TenantId,
        linkedid: &str,
    ) -> Result<Vec<CallRow>, StoreError> {
        let sql = format!(
            "SELECT {} FROM calls WHERE tenant_id = $1 AND linkedid = $2 \
             ORDER BY created_at, id",
            call_cols()
        );
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, CallRow>(&sql)
            .bind(*tenant.as_uuid())
            .bind(linkedid)
            .fetch_all(pool)
            .await)?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let c = CallCursor {
            created_at: DateTime::<Utc>::from_timestamp(1_700_000_000, 123_456_789).unwrap(),
            id: Uuid::new_v4(),
        };
        assert_eq!(CallCursor::decode(&c.encode()).unwrap(), c);
        assert!(CallCursor::decode("nope").is_err());
        assert!(CallCursor::decode("12_0.not-a-uuid").is_err());
        assert!(CallCursor::decode("12.00000000000000000000000000000000").is_err());
    }
}
