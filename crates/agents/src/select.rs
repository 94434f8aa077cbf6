//! The ready-agent index and the ACD's choice: per tenant and per skill, the ready agents in
//! each strategy's order, so a choice among 10,000 agents walks a few entries of the smallest
//! skill's set instead of every agent.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use hookflash_provider::TenantId;

use crate::model::{AgentId, Requirement, Skill, Strategy};

/// What orders one agent in the index; fixed while the agent is ready (every field changes
/// only when the agent leaves `ready`, so removal finds the same keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Keys {
    pub(crate) idle_since: DateTime<Utc>,
    pub(crate) offered_seq: u64,
    pub(crate) calls_taken: u64,
}

#[derive(Debug, Default)]
struct Orders {
    idle: BTreeSet<(DateTime<Utc>, AgentId)>,
    round: BTreeSet<(u64, AgentId)>,
    fewest: BTreeSet<(u64, DateTime<Utc>, AgentId)>,
}

impl Orders {
    fn insert(&mut self, id: AgentId, k: Keys) {
        self.idle.insert((k.idle_since, id));
        self.round.insert((k.offered_seq, id));
        self.fewest.insert((k.calls_taken, k.idle_since, id));
    }

    fn remove(&mut self, id: AgentId, k: Keys) {
        self.idle.remove(&(k.idle_since, id));
        self.round.remove(&(k.offered_seq, id));
        self.fewest.remove(&(k.calls_taken, k.idle_since, id));
    }

    fn len(&self) -> usize {
        self.idle.len()
    }

    fn is_empty(&self) -> bool {
        self.idle.is_empty()
    }

    /// The agents in `strategy`'s order.
    fn ordered(&self, strategy: Strategy) -> Box<dyn Iterator<Item = AgentId> + '_> {
        match strategy {
            Strategy::RoundRobin => Box::new(self.round.iter().map(|(_, id)| *id)),
            Strategy::FewestCalls => Box::new(self.fewest.iter().map(|(_, _, id)| *id)),
            // LongestIdle, and any strategy added later until it has its own order.
            _ => Box::new(self.idle.iter().map(|(_, id)| *id)),
        }
    }
}

/// The ready agents, per tenant and per (tenant, skill).
#[derive(Debug, Default)]
pub(crate) struct ReadyIndex {
    all: HashMap<TenantId, Orders>,
    by_skill: HashMap<TenantId, HashMap<Skill, Orders>>,
}

impl ReadyIndex {
    pub(crate) fn insert<'a>(
        &mut self,
        tenant: TenantId,
        id: AgentId,
        skills: impl Iterator<Item = &'a Skill>,
        keys: Keys,
    ) {
        self.all.entry(tenant).or_default().insert(id, keys);
        let per = self.by_skill.entry(tenant).or_default();
        for skill in skills {
            per.entry(skill.clone()).or_default().insert(id, keys);
        }
    }

    pub(crate) fn remove<'a>(
        &mut self,
        tenant: TenantId,
        id: AgentId,
        skills: impl Iterator<Item = &'a Skill>,
        keys: Keys,
    ) {
        if let Some(o) = self.all.get_mut(&tenant) {
            o.remove(id, keys);
            if o.is_empty() {
                self.all.remove(&tenant);
            }
        }
        if let Some(per) = self.by_skill.get_mut(&tenant) {
            for skill in skills {
                if let Some(o) = per.get_mut(skill) {
                    o.remove(id, keys);
                    if o.is_empty() {
                        per.remove(skill);
                    }
                }
            }
            if per.is_empty() {
                self.by_skill.remove(&tenant);
            }
        }
    }

    /// How many agents of the tenant are ready.
    pub(crate) fn ready_len(&self, tenant: &TenantId) -> usize {
        self.all.get(tenant).map_or(0, Orders::len)
    }

    /// The first agent, in the requirement's order, for whom `eligible` holds (the levels
    /// check). Walks the smallest set among the required skills' sets.
    pub(crate) fn choose(
        &self,
        req: &Requirement,
        eligible: impl Fn(AgentId) -> bool,
    ) -> Option<AgentId> {
        let orders = if req.skills.is_empty() {
            self.all.get(&req.tenant)?
        } else {
            let per = self.by_skill.get(&req.tenant)?;
            let mut smallest: Option<&Orders> = None;
            for skill in req.skills.keys() {
                // A required skill nobody ready has: nobody is eligible.
                let o = per.get(skill)?;
                if smallest.is_none_or(|s| o.len() < s.len()) {
                    smallest = Some(o);
                }
            }
            smallest?
        };
        orders.ordered(req.strategy).find(|id| eligible(*id))
    }
}
