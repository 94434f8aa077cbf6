use std::time::Duration;

/// How a [`crate::Tracker`] bounds time and memory.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackerConfig {
    /// Events of one call may arrive out of order by up to this much (provider time): the
    /// tracker orders them by time, and emits a call's `Ended` update only once this long has
    /// passed (by `now`) after the call's last hangup, so a late event can still be placed.
    pub reorder_window: Duration,
    /// A live call with no event for this long is closed with the reason `silent past max age`.
    pub max_silence: Duration,
    /// At most this many live calls; past it, the longest-silent call is closed
    /// (reason `evicted: tracker full`).
    pub max_calls: usize,
    /// At most this many timeline entries per call; older ones are folded in and dropped.
    pub timeline_limit: usize,
    /// How many ended legs and calls are remembered, so that stray events arriving after a
    /// call was evicted are dropped instead of starting a phantom call.
    pub tombstones: usize,
    /// A leg that carries no call id and joins no known call starts a call of its own (an
    /// inbound call), announced once a second leg joins it or it has lived this long: a park
    /// pickup channel or an originated leg whose call id arrives a moment later is merged
    /// into its real call before anyone hears of it.
    pub orphan_grace: Duration,
    /// An ended call stays this long after its `Ended` update (late events land in its
    /// timeline), then [`crate::Tracker::expire`] evicts it.
    pub ended_linger: Duration,
    /// The source this tracker serves (the pipeline sets its server's configured name): the id
    /// derived for an inbound call ([`crate::CallRecord::derived_id`]) comes from this and the
    /// provider's conversation id, so two PBXs that produce the same linkedid (both count
    /// from their start time) give two calls. Empty: the id comes from the conversation id
    /// alone.
    pub namespace: String,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            reorder_window: Duration::from_secs(2),
            max_silence: Duration::from_secs(4 * 3600),
            max_calls: 200_000,
            timeline_limit: 64,
            tombstones: 65_536,
            orphan_grace: Duration::from_secs(5),
            ended_linger: Duration::from_secs(10),
            namespace: String::new(),
        }
    }
}

impl TrackerConfig {
    /// Sets [`TrackerConfig::reorder_window`].
    #[must_use]
    pub fn with_reorder_window(mut self, window: Duration) -> Self {
        self.reorder_window = window;
        self
    }

    /// Sets [`TrackerConfig::max_silence`].
    #[must_use]
    pub fn with_max_silence(mut self, age: Duration) -> Self {
        self.max_silence = age;
        self
    }

    /// Sets [`TrackerConfig::max_calls`].
    #[must_use]
    pub fn with_max_calls(mut self, max: usize) -> Self {
        self.max_calls = max;
        self
    }

    /// Sets [`TrackerConfig::orphan_grace`].
    #[must_use]
    pub fn with_orphan_grace(mut self, grace: Duration) -> Self {
        self.orphan_grace = grace;
        self
    }

    /// Sets [`TrackerConfig::ended_linger`].
    #[must_use]
    pub fn with_ended_linger(mut self, linger: Duration) -> Self {
        self.ended_linger = linger;
        self
    }

    /// Sets [`TrackerConfig::namespace`].
    #[must_use]
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Sets [`TrackerConfig::timeline_limit`].
    #[must_use]
    pub fn with_timeline_limit(mut self, limit: usize) -> Self {
        self.timeline_limit = limit;
        self
    }
}
