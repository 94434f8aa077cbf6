use chrono::{DateTime, Utc};
use hookflash_provider::TenantId;
use sqlx::types::Json;
use uuid::Uuid;

use crate::db::{Store, on_db};
use crate::error::StoreError;
use crate::text_enum::text_enum;
use crate::util::now;

text_enum! {
    /// An agent's presence.
    AgentState, column = "agents.state" {
        /// Logged out.
        Offline = "offline",
        /// Ready for a call.
        Available = "available",
        /// A call is being offered.
        Ringing = "ringing",
        /// On a call.
        OnCall = "on_call",
        /// After a call, filling in the wrap-up.
        WrapUp = "wrap_up",
        /// Not taking calls (with a reason).
        Paused = "paused",
    }
}

/// An agent: a person at an endpoint who takes calls.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Agent {
    /// Its id.
    pub id: Uuid,
    /// Its tenant.
    pub tenant_id: Uuid,
    /// The user who logs in as this agent.
    pub user_id: Option<Uuid>,
    /// Name to show.
    pub display_name: String,
    /// Where to ring the agent, e.g. `PJSIP/agent1001`.
    pub endpoint: String,
    /// Internal extension.
    pub extension: Option<String>,
    /// Skills for routing.
    #[sqlx(json)]
    pub skills: Vec<String>,
    /// Current state.
    #[sqlx(try_from = "String")]
    pub state: AgentState,
    /// Since when the agent is in that state.
    pub state_since: DateTime<Utc>,
    /// Why paused.
    pub pause_reason: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// The editable part of an agent.
#[derive(Debug, Clone)]
pub struct NewAgent {
    /// The user who logs in as this agent.
    pub user_id: Option<Uuid>,
    /// Name to show.
    pub display_name: String,
    /// Where to ring the agent, unique in the tenant.
    pub endpoint: String,
    /// Internal extension.
    pub extension: Option<String>,
    /// Skills.
    pub skills: Vec<String>,
}

/// One stretch of time an agent spent in one state.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AgentSession {
    /// Its id (increasing).
    pub id: i64,
    /// Its tenant.
    pub tenant_id: Uuid,
    /// The agent.
    pub agent_id: Uuid,
    /// The state.
    #[sqlx(try_from = "String")]
    pub state: AgentState,
    /// Why paused.
    pub pause_reason: Option<String>,
    /// Entered.
    pub started_at: DateTime<Utc>,
    /// Left (None while current).
    pub ended_at: Option<DateTime<Utc>>,
}

/// Agents and their state history.
#[derive(Debug, Clone, Copy)]
pub struct Agents<'a> {
    pub(crate) store: &'a Store,
}

const COLS: &str = "id, tenant_id, user_id, display_name, endpoint, extension, skills, state, \
                    state_since, pause_reason, created_at, updated_at";
const SESSION_COLS: &str = "id, tenant_id, agent_id, state, pause_reason, started_at, ended_at";

impl Agents<'_> {
    /// Creates an agent, offline, and opens its first session.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the endpoint is taken in the tenant.
    pub async fn create(&self, tenant: TenantId, new: NewAgent) -> Result<Agent, StoreError> {
        let at = now();
        let agent = Agent {
            id: Uuid::new_v4(),
            tenant_id: *tenant.as_uuid(),
            user_id: new.user_id,
            display_name: new.display_name,
            endpoint: new.endpoint,
            extension: new.extension,
            skills: new.skills,
            state: AgentState::Offline,
            state_since: at,
            pause_reason: None,
            created_at: at,
            updated_at: at,
        };
        let sql = "INSERT INTO agents (id, tenant_id, user_id, display_name, endpoint, extension, \
                   skills, state, state_since, pause_reason, created_at, updated_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $9, $9)";
        let session = "INSERT INTO agent_sessions (tenant_id, agent_id, state, started_at) \
                       VALUES ($1, $2, $3, $4)";
        on_db!(&self.store.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(sql)
                .bind(agent.id)
                .bind(agent.tenant_id)
                .bind(agent.user_id)
                .bind(&agent.display_name)
                .bind(&agent.endpoint)
                .bind(&agent.extension)
                .bind(Json(&agent.skills))
                .bind(agent.state.as_str())
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::from_write(e, "agent endpoint"))?;
            sqlx::query(session)
                .bind(agent.tenant_id)
                .bind(agent.id)
                .bind(agent.state.as_str())
                .bind(at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })?;
        Ok(agent)
    }

    /// The agent with this id in the tenant.
    ///
    /// # Errors
    /// The database's error.
    pub async fn get(&self, tenant: TenantId, id: Uuid) -> Result<Option<Agent>, StoreError> {
        let sql = format!("SELECT {COLS} FROM agents WHERE tenant_id = $1 AND id = $2");
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, Agent>(&sql)
            .bind(*tenant.as_uuid())
            .bind(id)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// The agent at this endpoint in the tenant.
    ///
    /// # Errors
    /// The database's error.
    pub async fn get_by_endpoint(
        &self,
        tenant: TenantId,
        endpoint: &str,
    ) -> Result<Option<Agent>, StoreError> {
        let sql = format!("SELECT {COLS} FROM agents WHERE tenant_id = $1 AND endpoint = $2");
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, Agent>(&sql)
            .bind(*tenant.as_uuid())
            .bind(endpoint)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// The tenant's agents, optionally only those in one state, by name.
    ///
    /// # Errors
    /// The database's error.
    pub async fn list(
        &self,
        tenant: TenantId,
        state: Option<AgentState>,
    ) -> Result<Vec<Agent>, StoreError> {
        let sql = format!(
            "SELECT {COLS} FROM agents WHERE tenant_id = $1 AND ($2 IS NULL OR state = $2) \
             ORDER BY display_name, id"
        );
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, Agent>(&sql)
            .bind(*tenant.as_uuid())
            .bind(state.map(|s| s.as_str()))
            .fetch_all(pool)
            .await)?,
        )
    }

    /// How many of the tenant's agents are in each state (states with none are left out).
    ///
    /// # Errors
    /// The database's error, or a state the store does not know.
    pub async fn state_counts(
        &self,
        tenant: TenantId,
    ) -> Result<Vec<(AgentState, i64)>, StoreError> {
        let sql = "SELECT state, COUNT(*) FROM agents WHERE tenant_id = $1 \
                   GROUP BY state ORDER BY state";
        let rows: Vec<(String, i64)> = on_db!(&self.store.db, pool => sqlx::query_as(sql)
            .bind(*tenant.as_uuid())
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|(state, n)| Ok((state.parse()?, n)))
            .collect()
    }

    /// Replaces an agent's editable fields.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the agent is not in the tenant, [`StoreError::Conflict`]
    /// when the endpoint is taken.
    pub async fn update(
        &self,
        tenant: TenantId,
        id: Uuid,
        new: NewAgent,
    ) -> Result<Agent, StoreError> {
        let sql = "UPDATE agents SET user_id = $3, display_name = $4, endpoint = $5, \
                   extension = $6, skills = $7, updated_at = $8 \
                   WHERE tenant_id = $1 AND id = $2";
        let done = on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(*tenant.as_uuid())
            .bind(id)
            .bind(new.user_id)
            .bind(&new.display_name)
            .bind(&new.endpoint)
            .bind(&new.extension)
            .bind(Json(&new.skills))
            .bind(now())
            .execute(pool)
            .await.map(|r| r.rows_affected()))
        .map_err(|e| StoreError::from_write(e, "agent endpoint"))?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        self.get(tenant, id).await?.ok_or(StoreError::NotFound)
    }

    /// Deletes an agent and its sessions; true when one was deleted.
    ///
    /// # Errors
    /// The database's error.
    pub async fn delete(&self, tenant: TenantId, id: Uuid) -> Result<bool, StoreError> {
        let sql = "DELETE FROM agents WHERE tenant_id = $1 AND id = $2";
        let done = on_db!(&self.store.db, pool => sqlx::query(sql)
            .bind(*tenant.as_uuid())
            .bind(id)
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }

    /// Moves an agent to `state` at `at`: closes the open session and opens a new one, in one
    /// transaction. Setting the state it already has (with the same pause reason) changes
    /// nothing.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the agent is not in the tenant.
    pub async fn set_state(
        &self,
        tenant: TenantId,
        id: Uuid,
        state: AgentState,
        pause_reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Agent, StoreError> {
        let current = self.get(tenant, id).await?.ok_or(StoreError::NotFound)?;
        let pause_reason = if state == AgentState::Paused {
            pause_reason
        } else {
            None
        };
        if current.state == state && current.pause_reason.as_deref() == pause_reason {
            return Ok(current);
        }
        let close = "UPDATE agent_sessions SET ended_at = $3 \
                     WHERE tenant_id = $1 AND agent_id = $2 AND ended_at IS NULL";
        let open = "INSERT INTO agent_sessions (tenant_id, agent_id, state, pause_reason, \
                    started_at) VALUES ($1, $2, $3, $4, $5)";
        let update = "UPDATE agents SET state = $3, state_since = $4, pause_reason = $5, \
                      updated_at = $4 WHERE tenant_id = $1 AND id = $2";
        on_db!(&self.store.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(close)
                .bind(*tenant.as_uuid())
                .bind(id)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            sqlx::query(open)
                .bind(*tenant.as_uuid())
                .bind(id)
                .bind(state.as_str())
                .bind(pause_reason)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            sqlx::query(update)
                .bind(*tenant.as_uuid())
                .bind(id)
                .bind(state.as_str())
                .bind(at)
                .bind(pause_reason)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })?;
        self.get(tenant, id).await?.ok_or(StoreError::NotFound)
    }

    /// An agent's sessions, newest first, at most `limit`.
    ///
    /// # Errors
    /// The database's error.
    pub async fn sessions(
        &self,
        tenant: TenantId,
        agent_id: Uuid,
        limit: i64,
    ) -> Result<Vec<AgentSession>, StoreError> {
        let sql = format!(
            "SELECT {SESSION_COLS} FROM agent_sessions WHERE tenant_id = $1 AND agent_id = $2 \
             ORDER BY id DESC LIMIT $3"
        );
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, AgentSession>(&sql)
            .bind(*tenant.as_uuid())
            .bind(agent_id)
            .bind(limit)
            .fetch_all(pool)
            .await)?,
        )
    }
}
