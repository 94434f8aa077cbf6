DROP INDEX calls_tenant_did;
