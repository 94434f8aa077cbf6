-- The agent-state log: one row per state change of an agent (hookflash-agents' AgentChange),
-- each a whole stretch: the agent was in from_state (from_reason when paused) from
-- started_at until at, then entered to_state. Login, ready, talk, wrap-up and pause time per
-- reason for any period are sums of clipped stretches.
CREATE TABLE agent_state_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id    BLOB NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    agent_id     BLOB NOT NULL,
    from_state   TEXT NOT NULL,
    from_reason  TEXT,
    to_state     TEXT NOT NULL,
    to_reason    TEXT,
    cause        TEXT NOT NULL,
    call_id      BLOB,
    started_at   TEXT NOT NULL,
    at           TEXT NOT NULL
);
CREATE INDEX agent_state_log_tenant_at ON agent_state_log (tenant_id, at);
CREATE INDEX agent_state_log_agent_at ON agent_state_log (tenant_id, agent_id, at);
