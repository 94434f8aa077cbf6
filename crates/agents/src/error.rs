use hookflash_provider::CallId;

use crate::model::{AgentId, AgentState};

/// Why the machine refused an input. A refused input changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AgentsError {
    /// The machine holds its maximum number of agents ([`crate::AgentsConfig::max_agents`]).
    #[error("too many agents (at most {max})")]
    TooManyAgents {
        /// The bound.
        max: usize,
    },
    /// No agent has this id.
    #[error("no agent {0}")]
    UnknownAgent(AgentId),
    /// An agent with this id is registered already.
    #[error("agent {0} is registered already")]
    AgentExists(AgentId),
    /// Another agent of the tenant has this endpoint: a leg could not say whose it is.
    #[error("endpoint {endpoint} belongs to agent {owner}")]
    EndpointTaken {
        /// The endpoint.
        endpoint: String,
        /// Its agent.
        owner: AgentId,
    },
    /// An endpoint is empty or too long.
    #[error("endpoint {0:?} is empty or longer than 256 bytes")]
    BadEndpoint(String),
    /// A skill or reason code is empty, too long or has characters other than `a-z`, `0-9`,
    /// `_`, `-`, `.`.
    #[error("{0:?} is not a valid code (1 to 64 of a-z 0-9 _ - .)")]
    BadCode(String),
    /// More skills than [`crate::AgentsConfig::max_skills`].
    #[error("too many skills (at most {max})")]
    TooManySkills {
        /// The bound.
        max: usize,
    },
    /// More queues than [`crate::AgentsConfig::max_queues`].
    #[error("too many queues (at most {max})")]
    TooManyQueues {
        /// The bound.
        max: usize,
    },
    /// More pause reasons than [`crate::AgentsConfig::max_pause_reasons`].
    #[error("too many pause reasons (at most {max})")]
    TooManyReasons {
        /// The bound.
        max: usize,
    },
    /// The pause reason is not in the tenant's list.
    #[error("pause reason {0} is not in the tenant's list")]
    UnknownPauseReason(String),
    /// The request does not fit the agent's state (ready while logged out, log in twice, a
    /// reservation of an agent who is not ready).
    #[error("agent {agent} is {state}: cannot {action}")]
    NotAllowed {
        /// The agent.
        agent: AgentId,
        /// Its state.
        state: AgentState,
        /// What was asked.
        action: &'static str,
    },
    /// The call is offered to another agent already: one call is never offered to two agents.
    #[error("call {call} is offered to agent {agent} already")]
    CallOffered {
        /// The call.
        call: CallId,
        /// The agent holding it.
        agent: AgentId,
    },
    /// The agent holds no offer of this call.
    #[error("agent {agent} holds no offer of call {call}")]
    NoSuchOffer {
        /// The agent.
        agent: AgentId,
        /// The call.
        call: CallId,
    },
}
