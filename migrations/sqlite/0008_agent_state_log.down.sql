DROP TABLE agent_state_log;
