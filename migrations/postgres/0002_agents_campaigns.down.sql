DROP TABLE dids;
DROP TABLE dnc;
DROP TABLE contacts;
DROP TABLE campaigns;
DROP TABLE agent_sessions;
DROP TABLE agents;
