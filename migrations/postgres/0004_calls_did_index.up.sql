-- The calls list filters by number across from, to and DID: each column has its own index so
-- the OR of the three can use all of them.
CREATE INDEX calls_tenant_did ON calls (tenant_id, did);
