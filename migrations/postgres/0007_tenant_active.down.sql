ALTER TABLE tenants DROP COLUMN active;
