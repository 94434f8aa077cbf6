use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

/// What identifies one delivery of a webhook: its signature and the fields that make
/// callbacks of one call differ (`CallSid`, status, `SequenceNumber` or `Timestamp`).
pub(crate) type ReplayKey = (String, String, String, String);

/// Remembers recently seen webhook deliveries for `window`, at most `capacity` of them, and
/// refuses a second delivery of the same one. Sans-IO: the time is passed in.
#[derive(Debug)]
pub(crate) struct ReplayGuard {
    window: Duration,
    capacity: usize,
    seen: HashSet<ReplayKey>,
    order: VecDeque<(Instant, ReplayKey)>,
}

impl ReplayGuard {
    pub(crate) fn new(window: Duration, capacity: usize) -> Self {
        Self {
            window,
            capacity: capacity.max(1),
            seen: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    /// Records `key`; returns `false` when it was seen within the window (a replay).
    pub(crate) fn check(&mut self, key: ReplayKey, now: Instant) -> bool {
        while let Some((at, _)) = self.order.front() {
            if now.saturating_duration_since(*at) < self.window && self.order.len() < self.capacity
            {
                break;
            }
            if let Some((_, old)) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        if self.seen.contains(&key) {
            return false;
        }
        self.seen.insert(key.clone());
        self.order.push_back((now, key));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> ReplayKey {
        (
            s.to_owned(),
            "CA1".to_owned(),
            "ringing".to_owned(),
            "1".to_owned(),
        )
    }

    #[test]
    fn refuses_a_replay_within_the_window_and_forgets_after() {
        let t0 = Instant::now();
        let mut guard = ReplayGuard::new(Duration::from_secs(60), 10);
        assert!(guard.check(key("a"), t0));
        assert!(!guard.check(key("a"), t0 + Duration::from_secs(1)));
        assert!(guard.check(key("b"), t0 + Duration::from_secs(1)));
        assert!(guard.check(key("a"), t0 + Duration::from_secs(61)));
    }

    #[test]
    fn bounded_by_capacity() {
        let t0 = Instant::now();
        let mut guard = ReplayGuard::new(Duration::from_secs(60), 2);
        assert!(guard.check(key("a"), t0));
        assert!(guard.check(key("b"), t0));
        assert!(guard.check(key("c"), t0));
        assert!(guard.seen.len() <= 2);
    }
}
