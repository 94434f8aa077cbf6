//! The agent-state machine's integration tests: the property tests over random inputs (agents'
//! requests, offers, call legs through a real call tracker, timers) and a day replayed.

mod props;
mod world;
