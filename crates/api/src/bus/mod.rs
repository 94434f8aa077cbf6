//! The event bus: call and agent-state messages, in-process (tokio broadcast) and across
//! processes (PostgreSQL LISTEN/NOTIFY).
