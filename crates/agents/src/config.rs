use std::time::Duration;

use crate::model::{AfterWrapUp, ReasonCode, WrapUpPolicy};

/// How an [`crate::Agents`] machine bounds memory and what it does when nobody says otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AgentsConfig {
    /// At most this many agents (all tenants together); registering one more is
    /// [`crate::AgentsError::TooManyAgents`], so memory stays bounded.
    pub max_agents: usize,
    /// At most this many skills per agent and per queue requirement
    /// ([`crate::AgentsError::TooManySkills`]).
    pub max_skills: usize,
    /// At most this many registered queues, all tenants together
    /// ([`crate::AgentsError::TooManyQueues`]): each ready change updates every queue of its
    /// tenant, so this bounds the work per change too.
    pub max_queues: usize,
    /// At most this many pause reasons per tenant ([`crate::AgentsError::TooManyReasons`]).
    pub max_pause_reasons: usize,
    /// An offer the agent neither accepts nor rejects is timed out this long after the
    /// reservation when the offer names no ring timeout of its own.
    pub offer_timeout: Duration,
    /// The agent who lets an offer ring out (timed out, or the offered leg ended unanswered)
    /// is paused with this reason, so the next caller does not wait on a phone nobody picks
    /// up (app_queue's `autopause`, VICIdial's missed-call pause). `None`: the agent is made
    /// ready again.
    pub missed_pause: Option<ReasonCode>,
    /// Wrap-up after a call that was not offered through this machine (a manual call, a call
    /// app_queue rang): its time limit and what follows it.
    pub default_wrap_up: WrapUpPolicy,
}

impl Default for AgentsConfig {
    fn default() -> Self {
        Self {
            max_agents: 100_000,
            max_skills: 64,
            max_queues: 1_000,
            max_pause_reasons: 64,
            offer_timeout: Duration::from_secs(20),
            missed_pause: Some(ReasonCode::missed()),
            default_wrap_up: WrapUpPolicy {
                limit: Duration::from_secs(30),
                then: AfterWrapUp::Ready,
            },
        }
    }
}

impl AgentsConfig {
    /// Sets [`AgentsConfig::max_agents`].
    #[must_use]
    pub fn with_max_agents(mut self, max: usize) -> Self {
        self.max_agents = max;
        self
    }

    /// Sets [`AgentsConfig::max_skills`].
    #[must_use]
    pub fn with_max_skills(mut self, max: usize) -> Self {
        self.max_skills = max;
        self
    }

    /// Sets [`AgentsConfig::max_queues`].
    #[must_use]
    pub fn with_max_queues(mut self, max: usize) -> Self {
        self.max_queues = max;
        self
    }

    /// Sets [`AgentsConfig::max_pause_reasons`].
    #[must_use]
    pub fn with_max_pause_reasons(mut self, max: usize) -> Self {
        self.max_pause_reasons = max;
        self
    }

    /// Sets [`AgentsConfig::offer_timeout`].
    #[must_use]
    pub fn with_offer_timeout(mut self, timeout: Duration) -> Self {
        self.offer_timeout = timeout;
        self
    }

    /// Sets [`AgentsConfig::missed_pause`].
    #[must_use]
    pub fn with_missed_pause(mut self, reason: Option<ReasonCode>) -> Self {
        self.missed_pause = reason;
        self
    }

    /// Sets [`AgentsConfig::default_wrap_up`].
    #[must_use]
    pub fn with_default_wrap_up(mut self, policy: WrapUpPolicy) -> Self {
        self.default_wrap_up = policy;
        self
    }
}
