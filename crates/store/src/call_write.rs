use std::collections::HashMap;

use sqlx::types::Json;
use uuid::Uuid;

use crate::calls::{CALL_COLS, CallRow, EVENT_COLS, EventRow, LEG_COLS, LegRow};
use crate::db::{Store, on_db};
use crate::error::StoreError;

/// One tracker update to persist: the call's latest snapshot, the legs that changed and the
/// new timeline events.
///
/// Writing is idempotent: the call is upserted by id and its legs by `(call, leg id)`, where a
/// snapshot with an older call `version` never overwrites a newer one; events are keyed by
/// `(call, seq)` (a repeated event is ignored). Re-applying writes after a crash therefore creates no duplicates. Legs and events
/// are stored under the call's tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct CallWrite {
    /// The call's snapshot.
    pub call: CallRow,
    /// Legs to upsert.
    pub legs: Vec<LegRow>,
    /// Events to add.
    pub events: Vec<EventRow>,
}

impl CallWrite {
    /// A write of the call alone.
    pub fn call(call: CallRow) -> Self {
        Self {
            call,
            legs: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Rows this write touches (call + legs + events): what the batch writer counts.
    pub fn rows(&self) -> usize {
        1 + self.legs.len() + self.events.len()
    }
}

/// What one [`Store::write_calls`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Distinct calls upserted.
    pub calls: usize,
    /// Distinct legs upserted.
    pub legs: usize,
    /// Events offered (repeats included; the database keeps each `(call, seq)` once).
    pub events: usize,
}

/// Events per multi-row INSERT: 7 columns each, well under SQLite's 32766 and PostgreSQL's
/// 65535 bound parameters.
const EVENT_CHUNK: usize = 500;

fn call_upsert_sql() -> String {
    let cols = CALL_COLS.join(", ");
    let params: Vec<String> = (1..=CALL_COLS.len()).map(|i| format!("${i}")).collect();
    let updates: Vec<String> = CALL_COLS
        .iter()
        .filter(|c| !matches!(**c, "id" | "tenant_id" | "wrapup_code" | "wrapup_notes"))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO calls ({cols}) VALUES ({}) ON CONFLICT (id) DO UPDATE SET {}, \
         wrapup_code = COALESCE(excluded.wrapup_code, calls.wrapup_code), \
         wrapup_notes = COALESCE(excluded.wrapup_notes, calls.wrapup_notes) \
         WHERE calls.tenant_id = excluded.tenant_id AND excluded.version >= calls.version",
        params.join(", "),
        updates.join(", ")
    )
}

fn leg_upsert_sql() -> String {
    format!(
        "INSERT INTO call_legs ({LEG_COLS}, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
         $10, $11, $12, $13) ON CONFLICT (call_id, leg_id) DO UPDATE SET role = excluded.role, \
         channel = excluded.channel, number = excluded.number, state = excluded.state, \
         answered_at = excluded.answered_at, ended_at = excluded.ended_at, \
         hangup_cause_code = excluded.hangup_cause_code, \
         hangup_cause_text = excluded.hangup_cause_text, version = excluded.version \
         WHERE call_legs.tenant_id = excluded.tenant_id AND excluded.version >= call_legs.version"
    )
}

fn event_insert_sql(rows: usize) -> String {
    let mut sql = format!("INSERT INTO call_events ({EVENT_COLS}) VALUES ");
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        let b = r * 7;
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${}, ${}, ${})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5,
            b + 6,
            b + 7
        ));
    }
    sql.push_str(" ON CONFLICT (call_id, seq) DO NOTHING");
    sql
}

/// Binds a [`CallRow`] in [`CALL_COLS`] order.
macro_rules! bind_call {
    ($q:expr, $c:expr) => {
        $q.bind($c.id)
            .bind($c.tenant_id)
            .bind($c.version)
            .bind(&$c.direction)
            .bind(&$c.provider)
            .bind(&$c.server)
            .bind(&$c.state)
            .bind(&$c.disposition)
            .bind(&$c.agent_id)
            .bind(&$c.campaign_id)
            .bind(&$c.contact_id)
            .bind(&$c.from_number)
            .bind(&$c.to_number)
            .bind(&$c.did)
            .bind(&$c.agent_leg_id)
            .bind(&$c.customer_leg_id)
            .bind(&$c.agent_channel)
            .bind(&$c.customer_channel)
            .bind(&$c.bridge_id)
            .bind(&$c.linkedid)
            .bind(&$c.provider_call_id)
            .bind($c.created_at)
            .bind($c.agent_answered_at)
            .bind($c.customer_ringing_at)
            .bind($c.answered_at)
            .bind($c.ended_at)
            .bind($c.ring_seconds)
            .bind($c.talk_seconds)
            .bind($c.total_seconds)
            .bind($c.hold_count)
            .bind($c.hold_seconds)
            .bind($c.is_on_hold)
            .bind($c.is_muted)
            .bind($c.hangup_cause_code)
            .bind(&$c.hangup_cause_text)
            .bind(&$c.hung_up_by)
            .bind(&$c.recording_path)
            .bind(&$c.wrapup_code)
            .bind(&$c.wrapup_notes)
            .bind(Json(&$c.metadata))
            .bind($c.updated_at)
    };
}

/// The batch reduced to what must be written: per call the newest snapshot, per leg the last
/// state, every event (in order).
struct Plan<'a> {
    calls: Vec<&'a CallRow>,
    legs: Vec<(Uuid, i64, &'a LegRow)>,
    events: Vec<(Uuid, &'a EventRow)>,
}

fn plan(batch: &[CallWrite]) -> Plan<'_> {
    let mut calls: Vec<&CallRow> = Vec::new();
    let mut call_at: HashMap<Uuid, usize> = HashMap::new();
    let mut legs: Vec<(Uuid, i64, &LegRow)> = Vec::new();
    let mut leg_at: HashMap<(Uuid, &str), usize> = HashMap::new();
    let mut events = Vec::new();
    for w in batch {
        match call_at.get(&w.call.id) {
            Some(&i) => {
                if w.call.version >= calls[i].version {
                    calls[i] = &w.call;
                }
            }
            None => {
                call_at.insert(w.call.id, calls.len());
                calls.push(&w.call);
            }
        }
        for leg in &w.legs {
            let entry = (w.call.tenant_id, w.call.version, leg);
            match leg_at.get(&(w.call.id, leg.leg_id.as_str())) {
                Some(&i) => {
                    if w.call.version >= legs[i].1 {
                        legs[i] = entry;
                    }
                }
                None => {
                    leg_at.insert((w.call.id, leg.leg_id.as_str()), legs.len());
                    legs.push(entry);
                }
            }
        }
        events.extend(w.events.iter().map(|e| (w.call.tenant_id, e)));
    }
    Plan {
        calls,
        legs,
        events,
    }
}

impl Store {
    /// Writes tracker updates in one transaction (all or nothing); see [`CallWrite`] for why
    /// this is idempotent.
    ///
    /// # Errors
    /// The database's error; nothing of the batch is written then.
    pub async fn write_calls(&self, batch: &[CallWrite]) -> Result<WriteStats, StoreError> {
        if batch.is_empty() {
            return Ok(WriteStats::default());
        }
        let plan = plan(batch);
        let call_sql = call_upsert_sql();
        let leg_sql = leg_upsert_sql();
        let full_chunk_sql = event_insert_sql(EVENT_CHUNK);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            for c in &plan.calls {
                bind_call!(sqlx::query(&call_sql), c).execute(&mut *tx).await?;
            }
            for (tenant, version, l) in &plan.legs {
                sqlx::query(&leg_sql)
                    .bind(l.call_id)
                    .bind(&l.leg_id)
                    .bind(*tenant)
                    .bind(&l.role)
                    .bind(&l.channel)
                    .bind(&l.number)
                    .bind(&l.state)
                    .bind(l.created_at)
                    .bind(l.answered_at)
                    .bind(l.ended_at)
                    .bind(l.hangup_cause_code)
                    .bind(&l.hangup_cause_text)
                    .bind(*version)
                    .execute(&mut *tx)
                    .await?;
            }
            for chunk in plan.events.chunks(EVENT_CHUNK) {
                let short_sql;
                let sql = if chunk.len() == EVENT_CHUNK {
                    &full_chunk_sql
                } else {
                    short_sql = event_insert_sql(chunk.len());
                    &short_sql
                };
                let mut q = sqlx::query(sql);
                for (tenant, e) in chunk {
                    q = q
                        .bind(e.call_id)
                        .bind(e.seq)
                        .bind(*tenant)
                        .bind(e.at)
                        .bind(&e.kind)
                        .bind(&e.leg_id)
                        .bind(Json(&e.payload));
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(())
        })?;
        Ok(WriteStats {
            calls: plan.calls.len(),
            legs: plan.legs.len(),
            events: plan.events.len(),
        })
    }

    /// Writes one update; see [`Store::write_calls`].
    ///
    /// # Errors
    /// The database's error.
    pub async fn write_call(&self, write: &CallWrite) -> Result<WriteStats, StoreError> {
        self.write_calls(std::slice::from_ref(write)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_shapes() {
        let sql = call_upsert_sql();
        assert!(sql.contains("$41)"));
        assert!(!sql.contains("id = excluded.id"));
        assert!(sql.contains("wrapup_code = COALESCE"));
        let ev = event_insert_sql(2);
        assert!(ev.contains("($8, $9, $10, $11, $12, $13, $14)"));
    }
}
