//! The agent-state log: every state change of every agent, as the agent-state machine
//! (`hookflash-agents`) emits them, and the time per state per agent over a range.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hookflash_agents::{AgentChange, AgentId, AgentState};
use hookflash_provider::TenantId;
use uuid::Uuid;

use crate::db::{Store, on_db};
use crate::error::StoreError;

/// Columns written per row.
const COLS: usize = 10;

/// Rows per multi-row INSERT: SQLite allows 32,766 bound values per statement, PostgreSQL
/// 65,535; 500 rows of 10 stay far below both and keep a statement small.
const CHUNK: usize = 500;

/// Time one agent spent in one state (and pause reason) within a range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateTime {
    /// The agent.
    pub agent: AgentId,
    /// The state.
    pub state: AgentState,
    /// The pause reason, for [`AgentState::Paused`].
    pub pause_reason: Option<String>,
    /// The time, clipped to the range.
    pub time: Duration,
}

/// The agent-state log.
#[derive(Debug, Clone, Copy)]
pub struct AgentStateLog<'a> {
    pub(crate) store: &'a Store,
}

fn insert_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO agent_state_log (tenant_id, agent_id, from_state, from_reason, to_state, \
         to_reason, cause, call_id, started_at, at) VALUES ",
    );
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..COLS {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", r * COLS + c + 1));
        }
        sql.push(')');
    }
    sql
}

fn parse_state(s: &str) -> Result<AgentState, StoreError> {
    AgentState::ALL
        .into_iter()
        .find(|st| st.as_str() == s)
        .ok_or_else(|| StoreError::InvalidValue {
            column: "agent_state_log.from_state",
            value: s.to_owned(),
        })
}

/// When the state left began: `at` minus the time in it (the machine never makes it
/// negative; a row from elsewhere that would underflow starts at `at`).
fn started_at(c: &AgentChange) -> DateTime<Utc> {
    chrono::TimeDelta::from_std(c.time_in_previous)
        .ok()
        .and_then(|d| c.at.checked_sub_signed(d))
        .unwrap_or(c.at)
}

impl AgentStateLog<'_> {
    /// Writes a batch of changes in one transaction (all or none), in multi-row statements.
    /// Returns the rows written.
    ///
    /// The pipeline hands it what [`hookflash_agents::Agents`] emitted since the last batch,
    /// in order; the log does not deduplicate, so a batch whose commit outcome is unknown
    /// must be checked (by its last change's agent and time) before it is written again.
    ///
    /// # Errors
    /// The database's error (nothing of the batch is written).
    pub async fn write(&self, changes: &[AgentChange]) -> Result<usize, StoreError> {
        if changes.is_empty() {
            return Ok(0);
        }
        on_db!(&self.store.db, pool => {
            let mut tx = pool.begin().await?;
            for chunk in changes.chunks(CHUNK) {
                let sql = insert_sql(chunk.len());
                let mut q = sqlx::query(&sql);
                for c in chunk {
                    q = q
                        .bind(*c.tenant.as_uuid())
                        .bind(*c.agent.as_uuid())
                        .bind(c.from.as_str())
                        .bind(c.from_pause_reason.as_ref().map(|r| r.as_str().to_owned()))
                        .bind(c.to.as_str())
                        .bind(c.pause_reason.as_ref().map(|r| r.as_str().to_owned()))
                        .bind(c.cause.as_str())
                        .bind(c.call.map(|id| *id.as_uuid()))
                        .bind(started_at(c))
                        .bind(c.at);
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })?;
        Ok(changes.len())
    }

    /// Time per agent, state and pause reason within `[from, to)`, from the logged stretches
    /// (each row: its `from_state` between its start and its change), clipped to the range.
    /// The stretch an agent is in now has no row yet: the machine's view has it.
    /// Sorted by agent, state, reason; zero times are left out.
    ///
    /// # Errors
    /// The database's error; [`StoreError::InvalidValue`] for a state the store does not
    /// write.
    pub async fn time_in_states(
        &self,
        tenant: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<StateTime>, StoreError> {
        let sql = "SELECT agent_id, from_state, from_reason, started_at, at FROM agent_state_log \
                   WHERE tenant_id = $1 AND at > $2 AND started_at < $3";
        type Row = (Uuid, String, Option<String>, DateTime<Utc>, DateTime<Utc>);
        let rows: Vec<Row> = on_db!(&self.store.db, pool => sqlx::query_as(sql)
            .bind(*tenant.as_uuid())
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await)?;
        let mut sums: BTreeMap<(AgentId, AgentState, Option<String>), Duration> = BTreeMap::new();
        for (agent, state, reason, start, end) in rows {
            let state = parse_state(&state)?;
            let (start, end) = (start.max(from), end.min(to));
            let Ok(time) = end.signed_duration_since(start).to_std() else {
                continue;
            };
            let slot = sums
                .entry((AgentId::from_uuid(agent), state, reason))
                .or_default();
            *slot = slot.saturating_add(time);
        }
        Ok(sums
            .into_iter()
            .filter(|(_, time)| !time.is_zero())
            .map(|((agent, state, pause_reason), time)| StateTime {
                agent,
                state,
                pause_reason,
                time,
            })
            .collect())
    }
}
