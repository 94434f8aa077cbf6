-- A tenant can be deactivated (by a platform admin) without losing its data: its users and
-- api keys stop working until it is activated again.
ALTER TABLE tenants ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE;
