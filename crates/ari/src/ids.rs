//! Injectable id generation for stage-then-execute.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Makes the ids the client chooses itself (channel, bridge, playback, snoop, recording names).
///
/// The default draws random UUIDs; tests inject [`SequentialIds`] to get predictable ids.
pub trait IdGenerator: Send + Sync + 'static {
    /// A new id, unique for the life of the Asterisk server.
    fn next_id(&self) -> String;
}

/// Random v4 UUIDs (the default).
#[derive(Debug, Default, Clone, Copy)]
pub struct UuidIds;

impl IdGenerator for UuidIds {
    fn next_id(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

/// `prefix-1`, `prefix-2`, ...: predictable ids for tests.
#[derive(Debug)]
pub struct SequentialIds {
    prefix: String,
    next: AtomicU64,
}

impl SequentialIds {
    /// Ids `prefix-1`, `prefix-2`, ...
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            next: AtomicU64::new(1),
        }
    }
}

impl IdGenerator for SequentialIds {
    fn next_id(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n}", self.prefix)
    }
}

#[derive(Clone)]
pub(crate) struct SharedIds(pub(crate) Arc<dyn IdGenerator>);

impl fmt::Debug for SharedIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdGenerator")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_ids_count_up() {
        let ids = SequentialIds::new("t");
        assert_eq!(ids.next_id(), "t-1");
        assert_eq!(ids.next_id(), "t-2");
        assert_ne!(UuidIds.next_id(), UuidIds.next_id());
    }
}
