DROP TABLE refresh_tokens;
DROP INDEX users_tenant_email_ci;
DROP INDEX users_tenant_username_ci;
ALTER TABLE users DROP COLUMN password_expires_at;
ALTER TABLE users DROP COLUMN must_change_password;
ALTER TABLE users DROP COLUMN token_version;
