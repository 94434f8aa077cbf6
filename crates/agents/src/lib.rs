//! The hookflash agent-state machine: who is free, and the ACD's choice among them.
//!
//! Sans-IO and deterministic, like the call tracker: no sockets, no clock of its own, no
//! locks. Every input takes `now`; the same inputs in the same order give the same outputs
//! (nothing iterates a hash map to produce output). One [`Agents`] owns the state of every
//! agent it holds: the ACD and the dialer ask it and reserve through it, nobody else sets an
//! agent's state.
//!
//! # States
//! `logged_out`, `ready`, `reserved` (an offer is being made: nothing else may take the
//! agent), `ringing`, `on_call`, `wrap_up` (after-call work with a time limit per queue or
//! campaign, then ready or paused as its [`WrapUpPolicy`] says), `paused` (with a reason code
//! from the tenant's list, [`Agents::set_pause_reasons`]).
//!
//! # Inputs
//! - The agent's own requests ([`Agents::request`]): log in (logged out → ready), log out
//!   (from ready, paused, wrap-up), ready (from paused, wrap-up), pause with a reason (from
//!   ready, wrap-up, paused). During an offer or a call they are refused: the call ends first.
//! - Offers: [`Agents::reserve`] (ready → reserved; a call is held by at most one agent, an
//!   agent by at most one call), [`Agents::offer_outcome`] (accepted → on call; rejected →
//!   ready; timed out → paused `missed`), [`Agents::release`] (reserved or ringing → ready,
//!   the caller left). [`Agents::select`] is the ACD's choice; [`Agents::select_and_reserve`]
//!   both.
//! - The call tracker's updates ([`Agents::apply`]): each leg of the call on an agent's
//!   endpoint (matched by its channel: the endpoint, or the endpoint, `-` and the platform's
//!   sequence; or the record's agent endpoint for its agent leg) rings, answers or ends; the
//!   details are on [`Agents::apply`].
//! - Timers: call [`Agents::poll`] once [`Agents::poll_timeout`] has passed: offers that rang
//!   out (ring timeout from the reservation) and wrap-ups at their limit.
//!
//! # Outputs
//! [`AgentUpdate::Changed`]: agent, tenant, from, to, cause, pause reason, time, time in the
//! previous state and call: one row of the agent-state log. Per agent, `at` never goes back
//! and the times in previous states add up to the time since registration (an input with an
//! older `now` takes effect at the agent's last change). [`AgentUpdate::NextAgent`]: an offered
//! call did not reach its agent (rejected, rang out, the agent's phone taken by another call):
//! offer it to the next one.
//!
//! # Selection
//! Eligible: ready, of the requirement's tenant, every required skill at its minimum level or
//! above (skills beat idle time: an agent without the skill is never chosen, however long
//! idle). Among them, the [`Strategy`]'s first: longest idle (ready the longest), round robin
//! (offered the longest ago), fewest calls (fewest answered, then longest idle). A reserved
//! agent is out of every index until released. Two ways to ask, both pure and giving the same
//! agent:
//! - [`Agents::select`] with any [`Requirement`]: ready agents are indexed per tenant and per
//!   skill, bucketed by level, in each order; the choice merges the buckets at or above the
//!   minimum of the required skill with the fewest eligible agents and takes the first who
//!   has the other skills too. One skill: a few steps from the head. Several skills: it walks
//!   past the agents with the first skill but not the others.
//! - [`Agents::add_queue`] then [`Agents::select_queue`]: the machine keeps each registered
//!   queue's own order of the ready agents who meet it (updated at every ready change, so
//!   [`AgentsConfig::max_queues`] bounds that work); the choice is its head, however many
//!   skills the queue asks.
//!
//! Measured by `cargo bench -p hookflash-agents --bench select` (`AGENTS_BENCH_REPORT_ONLY=1`
//! prints just decisions/s: choose, reserve and release, among 100, 1,000 and 10,000 agents
//! with 100 skills, five each). On the 2-core development machine: one skill per queue ad hoc
//! about 450k / 270k / 140k decisions/s; half the queues asking two skills ad hoc about
//! 590k / 160k / 13k; the same 64 queues registered about 270k / 150k / 83k.
//!
//! # Bounds
//! At most [`AgentsConfig::max_agents`] agents, [`AgentsConfig::max_skills`] skills per agent,
//! [`AgentsConfig::max_pause_reasons`] reasons per tenant; a bad input is a clear
//! [`AgentsError`] and changes nothing; no input panics; time arithmetic saturates.
//!
//! ```
//! use chrono::DateTime;
//! use hookflash_agents::{
//!     AgentId, AgentSpec, AgentState, Agents, AgentsConfig, Offer, Request, Requirement,
//!     Skill, Strategy,
//! };
//! use hookflash_provider::{CallId, TenantId};
//!
//! let mut agents = Agents::new(AgentsConfig::default());
//! let tenant = TenantId::new_random();
//! let t0 = DateTime::from_timestamp(1_795_315_411, 0).unwrap();
//! let sales = Skill::new("sales").unwrap();
//! let ann = AgentId::new_random();
//! agents
//!     .register(AgentSpec::new(ann, tenant, "PJSIP/agent1001").with_skill(sales.clone(), 5), t0)
//!     .unwrap();
//! agents.request(ann, Request::LogIn, t0).unwrap();
//! let req = Requirement::new(tenant, Strategy::LongestIdle).with_skill(sales, 3);
//! let call = CallId::new_random();
//! let (chosen, _) = agents.select_and_reserve(&req, Offer::new(call), t0).unwrap().unwrap();
//! assert_eq!(chosen, ann);
//! assert_eq!(agents.agent(&ann).unwrap().state(), AgentState::Reserved);
//! assert_eq!(agents.select(&req), None); // a reserved agent is never chosen again
//! ```
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod config;
mod error;
mod machine;
mod model;
mod select;
#[cfg(test)]
mod tests;

pub use config::AgentsConfig;
pub use error::AgentsError;
pub use machine::{AgentView, Agents};
pub use model::{
    AfterWrapUp, AgentChange, AgentId, AgentSpec, AgentState, AgentUpdate, Cause, Offer,
    OfferOutcome, QueueId, ReasonCode, Redistribute, Request, Requirement, Skill, Strategy,
    WrapUpPolicy,
};
