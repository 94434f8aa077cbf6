-- Calls as the tracker records them, their legs and timelines; recordings, sounds, raw CDRs.
CREATE TABLE calls (
    id                   UUID PRIMARY KEY,
    tenant_id            UUID NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    version              BIGINT NOT NULL,
    direction            TEXT NOT NULL,
    provider             TEXT NOT NULL,
    server               TEXT,
    state                TEXT NOT NULL,
    disposition          TEXT,
    agent_id             TEXT,
    campaign_id          TEXT,
    contact_id           TEXT,
    from_number          TEXT,
    to_number            TEXT,
    did                  TEXT,
    agent_leg_id         TEXT,
    customer_leg_id      TEXT,
    agent_channel        TEXT,
    customer_channel     TEXT,
    bridge_id            TEXT,
    linkedid             TEXT,
    provider_call_id     TEXT,
    created_at           TIMESTAMPTZ NOT NULL,
    agent_answered_at    TIMESTAMPTZ,
    customer_ringing_at  TIMESTAMPTZ,
    answered_at          TIMESTAMPTZ,
    ended_at             TIMESTAMPTZ,
    ring_seconds         BIGINT,
    talk_seconds         BIGINT,
    total_seconds        BIGINT,
    hold_count           BIGINT NOT NULL,
    hold_seconds         BIGINT NOT NULL,
    is_on_hold           BOOLEAN NOT NULL,
    is_muted             BOOLEAN NOT NULL,
    hangup_cause_code    BIGINT,
    hangup_cause_text    TEXT,
    hung_up_by           TEXT,
    recording_path       TEXT,
    wrapup_code          TEXT,
    wrapup_notes         TEXT,
    metadata             JSONB NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX calls_tenant_time ON calls (tenant_id, created_at, id);
CREATE INDEX calls_tenant_state ON calls (tenant_id, state, created_at);
CREATE INDEX calls_tenant_disposition ON calls (tenant_id, disposition, created_at);
CREATE INDEX calls_tenant_agent ON calls (tenant_id, agent_id, created_at);
CREATE INDEX calls_tenant_campaign ON calls (tenant_id, campaign_id, created_at);
CREATE INDEX calls_tenant_from ON calls (tenant_id, from_number);
CREATE INDEX calls_tenant_to ON calls (tenant_id, to_number);
CREATE INDEX calls_linkedid ON calls (linkedid);

CREATE TABLE call_legs (
    call_id            UUID NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    leg_id             TEXT NOT NULL,
    tenant_id          UUID NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    role               TEXT NOT NULL,
    channel            TEXT,
    number             TEXT,
    state              TEXT NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    answered_at        TIMESTAMPTZ,
    ended_at           TIMESTAMPTZ,
    hangup_cause_code  BIGINT,
    hangup_cause_text  TEXT,
    -- the call version this leg snapshot came with: an older one never overwrites a newer one
    version            BIGINT NOT NULL,
    PRIMARY KEY (call_id, leg_id)
);

CREATE TABLE call_events (
    call_id    UUID NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,
    tenant_id  UUID NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    at         TIMESTAMPTZ NOT NULL,
    kind       TEXT NOT NULL,
    leg_id     TEXT,
    payload    JSONB NOT NULL,
    PRIMARY KEY (call_id, seq)
);

CREATE TABLE recordings (
    id             UUID PRIMARY KEY,
    tenant_id      UUID NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    call_id        UUID REFERENCES calls(id) ON DELETE SET NULL,
    path           TEXT NOT NULL,
    size_bytes     BIGINT NOT NULL,
    duration_ms    BIGINT NOT NULL,
    format         TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, path)
);
CREATE INDEX recordings_call ON recordings (tenant_id, call_id);

CREATE TABLE sounds (
    id          UUID PRIMARY KEY,
    tenant_id   UUID NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    formats     JSONB NOT NULL,
    size_bytes  BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE cdr (
    tenant_id     UUID NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    uniqueid      TEXT NOT NULL,
    linkedid      TEXT,
    call_id       UUID,
    src           TEXT,
    dst           TEXT,
    dcontext      TEXT,
    channel       TEXT,
    dstchannel    TEXT,
    lastapp       TEXT,
    lastdata      TEXT,
    start_at      TIMESTAMPTZ,
    answer_at     TIMESTAMPTZ,
    end_at        TIMESTAMPTZ,
    duration      BIGINT,
    billsec       BIGINT,
    disposition   TEXT,
    accountcode   TEXT,
    userfield     TEXT,
    raw           JSONB NOT NULL,
    PRIMARY KEY (tenant_id, uniqueid)
);
CREATE INDEX cdr_linkedid ON cdr (tenant_id, linkedid);
