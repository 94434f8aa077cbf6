use std::collections::HashMap;

use sqlx::types::Json;
use uuid::Uuid;

use crate::calls::{CALL_COLS, CallRow, EVENT_COLS, EventRow, LEG_COLS, LegRow};
use crate::db::{Dialect, Store, on_db};
use crate::error::StoreError;

/// One tracker update to persist: the call's latest snapshot, the legs that changed and the
/// new timeline events.
///
/// Writing is idempotent: the call is upserted by id and its legs by `(call, leg id)`, where a
/// snapshot with an older call `version` never overwrites a newer one; events are keyed by
/// `(call, seq)` (a repeated event is ignored).
///
/// A snapshot does not erase what it does not know: an empty attribution column (agent,
/// campaign, contact, numbers, DID, server, provider call id, recording, wrap-up) keeps the
/// stored value, provider `unknown` keeps the stored provider, and `metadata` is merged into
/// the stored object (keys of the snapshot win). Re-applying writes after a crash therefore creates no duplicates. Legs and events
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

/// Rows per multi-row statement: (calls, events).
///
/// PostgreSQL gains from fewer round trips (41 and 7 parameters a row, far under its 65535).
/// sqlx's SQLite driver looks each parameter up by name, which grows with the statement, so
/// there small statements are fastest (measured: 50 single-row call upserts took half the
/// time of one 50-row upsert; 10-row event inserts beat both 1 and 500).
fn chunk_sizes(dialect: Dialect) -> (usize, usize) {
    match dialect {
        Dialect::Postgres => (100, 500),
        Dialect::Sqlite => (1, 10),
    }
}

/// Columns the tracker may not know (the API fills them when it places the call): a write
/// without them keeps what is stored.
const KEPT_WHEN_NULL: &[&str] = &[
    "server",
    "agent_id",
    "campaign_id",
    "contact_id",
    "from_number",
    "to_number",
    "did",
    "provider_call_id",
    "recording_path",
    "wrapup_code",
    "wrapup_notes",
];

/// `($1, ..., $width), ($width+1, ...), ...` for `rows` rows.
fn values(rows: usize, width: usize) -> String {
    let mut sql = String::with_capacity(rows * width * 5);
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..width {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", r * width + c + 1));
        }
        sql.push(')');
    }
    sql
}

fn call_upsert_sql(dialect: Dialect, rows: usize) -> String {
    let cols = CALL_COLS.join(", ");
    let merge_metadata = match dialect {
        Dialect::Postgres => "calls.metadata || excluded.metadata",
        Dialect::Sqlite => "json_patch(calls.metadata, excluded.metadata)",
    };
    let updates: Vec<String> = CALL_COLS
        .iter()
        .filter(|c| !matches!(**c, "id" | "tenant_id"))
        .map(|c| match *c {
            c if KEPT_WHEN_NULL.contains(&c) => format!("{c} = COALESCE(excluded.{c}, calls.{c})"),
            "provider" => "provider = CASE WHEN excluded.provider = 'unknown' \
                           THEN calls.provider ELSE excluded.provider END"
                .to_owned(),
            "metadata" => format!("metadata = {merge_metadata}"),
            c => format!("{c} = excluded.{c}"),
        })
        .collect();
    format!(
        "INSERT INTO calls ({cols}) VALUES {} ON CONFLICT (id) DO UPDATE SET {} \
         WHERE calls.tenant_id = excluded.tenant_id AND excluded.version >= calls.version",
        values(rows, CALL_COLS.len()),
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
    format!(
        "INSERT INTO call_events ({EVENT_COLS}) VALUES {} ON CONFLICT (call_id, seq) DO NOTHING",
        values(rows, 7)
    )
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
    calls: Vec<CallRow>,
    legs: Vec<(Uuid, i64, &'a LegRow)>,
    events: Vec<(Uuid, &'a EventRow)>,
}

/// Top-level keys with a null value removed: both databases then merge metadata alike
/// (SQLite's `json_patch` deletes a key patched with null, PostgreSQL's `||` keeps it).
fn without_nulls(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// What the database makes of `newer` written over `base`: the upsert's rules, in memory, so
/// coalescing a batch gives the same row as writing its snapshots one by one.
fn merged(base: &CallRow, newer: &CallRow) -> CallRow {
    let mut out = newer.clone();
    macro_rules! keep {
        ($($f:ident),*) => { $( if out.$f.is_none() { out.$f.clone_from(&base.$f); } )* };
    }
    keep!(
        server,
        agent_id,
        campaign_id,
        contact_id,
        from_number,
        to_number,
        did,
        provider_call_id,
        recording_path,
        wrapup_code,
        wrapup_notes
    );
    if out.provider == "unknown" {
        out.provider.clone_from(&base.provider);
    }
    if let (serde_json::Value::Object(old), serde_json::Value::Object(new)) =
        (&base.metadata, &newer.metadata)
    {
        let mut m = old.clone();
        m.extend(
            new.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        out.metadata = serde_json::Value::Object(m);
    }
    out.metadata = without_nulls(&out.metadata);
    out
}

fn plan(batch: &[CallWrite]) -> Plan<'_> {
    let mut calls: Vec<CallRow> = Vec::new();
    let mut call_at: HashMap<Uuid, usize> = HashMap::new();
    let mut legs: Vec<(Uuid, i64, &LegRow)> = Vec::new();
    let mut leg_at: HashMap<(Uuid, &str), usize> = HashMap::new();
    let mut events = Vec::new();
    for w in batch {
        match call_at.get(&w.call.id) {
            Some(&i) => {
                if w.call.version >= calls[i].version && w.call.tenant_id == calls[i].tenant_id {
                    calls[i] = merged(&calls[i], &w.call);
                }
            }
            None => {
                call_at.insert(w.call.id, calls.len());
                let mut first = w.call.clone();
                first.metadata = without_nulls(&first.metadata);
                calls.push(first);
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
        let dialect = self.dialect();
        let (call_chunk, event_chunk) = chunk_sizes(dialect);
        let full_call_sql = call_upsert_sql(dialect, call_chunk);
        let leg_sql = leg_upsert_sql();
        let full_chunk_sql = event_insert_sql(event_chunk);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            // One statement per chunk: the calls of a batch are distinct (coalesced), which a
            // multi-row upsert requires.
            for chunk in plan.calls.chunks(call_chunk) {
                let short_sql;
                let sql = if chunk.len() == call_chunk {
                    &full_call_sql
                } else {
                    short_sql = call_upsert_sql(dialect, chunk.len());
                    &short_sql
                };
                let mut q = sqlx::query(sql);
                for c in chunk {
                    q = bind_call!(q, c);
                }
                q.execute(&mut *tx).await?;
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
            for chunk in plan.events.chunks(event_chunk) {
                let short_sql;
                let sql = if chunk.len() == event_chunk {
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
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            let sql = call_upsert_sql(dialect, 2);
            assert!(sql.contains("$41), ($42,"));
            assert!(sql.contains("$82)"));
            assert!(!sql.contains(" id = excluded.id"));
            assert!(
                sql.contains("wrapup_code = COALESCE(excluded.wrapup_code, calls.wrapup_code)")
            );
            assert!(sql.contains("agent_id = COALESCE"));
            assert!(sql.contains("state = excluded.state"));
        }
        assert!(call_upsert_sql(Dialect::Sqlite, 1).contains("json_patch"));
        let ev = event_insert_sql(2);
        assert!(ev.contains("($8, $9, $10, $11, $12, $13, $14)"));
    }
}
