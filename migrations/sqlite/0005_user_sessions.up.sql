-- Sessions that end when they must (issue 12, points 5 and 7):
-- * token_version: every access and refresh token carries it; a password change bumps it, so
--   every token issued before the change stops working at once.
-- * must_change_password / password_expires_at: a one-time password (generated, or set by an
--   admin for someone else) must be replaced at first login and stops working when it expires.
-- * refresh_tokens: each refresh token is used once; using it again (a stolen copy) revokes
--   its whole family.
-- * usernames and e-mails are unique in a tenant whatever their case.
ALTER TABLE users ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN password_expires_at TEXT;
CREATE UNIQUE INDEX users_tenant_username_ci ON users (tenant_id, lower(username));
CREATE UNIQUE INDEX users_tenant_email_ci ON users (tenant_id, lower(email));

CREATE TABLE refresh_tokens (
    id          BLOB PRIMARY KEY,
    family_id   BLOB NOT NULL,
    tenant_id   BLOB NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id     BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    revoked_at  TEXT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (tenant_id, user_id);
