-- Agents and their state history; campaigns, contacts, the do-not-call list and DIDs.
CREATE TABLE agents (
    id              UUID PRIMARY KEY,
    tenant_id       UUID NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id         UUID REFERENCES users(id) ON DELETE SET NULL,
    display_name    TEXT NOT NULL,
    endpoint        TEXT NOT NULL,
    extension       TEXT,
    skills          JSONB NOT NULL,
    state           TEXT NOT NULL,
    state_since     TIMESTAMPTZ NOT NULL,
    pause_reason    TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, endpoint)
);
CREATE INDEX agents_tenant_state ON agents (tenant_id, state);

CREATE TABLE agent_sessions (
    id            BIGSERIAL PRIMARY KEY,
    tenant_id     UUID NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    agent_id      UUID NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    state         TEXT NOT NULL,
    pause_reason  TEXT,
    started_at    TIMESTAMPTZ NOT NULL,
    ended_at      TIMESTAMPTZ
);
CREATE INDEX agent_sessions_agent ON agent_sessions (tenant_id, agent_id, started_at);

CREATE TABLE campaigns (
    id                  UUID PRIMARY KEY,
    tenant_id           UUID NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    mode                TEXT NOT NULL CHECK (mode IN ('preview', 'progressive', 'predictive')),
    status              TEXT NOT NULL,
    dial_ratio          DOUBLE PRECISION NOT NULL,
    max_abandon_rate    DOUBLE PRECISION NOT NULL,
    caller_id_strategy  TEXT NOT NULL,
    caller_id           TEXT,
    window_start        TEXT NOT NULL,
    window_end          TEXT NOT NULL,
    time_zone           TEXT NOT NULL,
    max_attempts        BIGINT NOT NULL,
    retry_delay_secs    BIGINT NOT NULL,
    retry_dispositions  JSONB NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, name)
);
CREATE INDEX campaigns_tenant_status ON campaigns (tenant_id, status);

CREATE TABLE contacts (
    id               UUID PRIMARY KEY,
    tenant_id        UUID NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    campaign_id      UUID REFERENCES campaigns(id) ON DELETE CASCADE,
    phone_number     TEXT NOT NULL,
    name             TEXT,
    attributes       JSONB NOT NULL,
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL,
    next_attempt_at  TIMESTAMPTZ,
    last_disposition TEXT,
    time_zone        TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX contacts_due ON contacts (tenant_id, campaign_id, status, next_attempt_at);
CREATE INDEX contacts_number ON contacts (tenant_id, phone_number);

CREATE TABLE dnc (
    tenant_id     UUID NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    phone_number  TEXT NOT NULL,
    reason        TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, phone_number)
);

CREATE TABLE dids (
    id            UUID PRIMARY KEY,
    tenant_id     UUID NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    number        TEXT NOT NULL,
    campaign_id   UUID REFERENCES campaigns(id) ON DELETE SET NULL,
    weight        BIGINT NOT NULL,
    active        BOOLEAN NOT NULL,
    last_used_at  TIMESTAMPTZ,
    use_count     BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, number)
);
