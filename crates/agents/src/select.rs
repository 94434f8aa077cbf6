//! The ready-agent index and the ACD's choice: per tenant and per skill, the ready agents in
//! each strategy's order, so a choice among 10,000 agents walks a few entries of the smallest
//! skill's set instead of every agent.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use hookflash_provider::TenantId;

use crate::model::{AgentId, QueueId, Requirement, Skill, Strategy};

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

    /// The agents in `strategy`'s order, each with its sort key (comparable across the
    /// `Orders` of one strategy, so level buckets can be merged).
    fn keyed(&self, strategy: Strategy) -> Box<dyn Iterator<Item = SortKey> + '_> {
        match strategy {
            Strategy::RoundRobin => Box::new(
                self.round
                    .iter()
                    .map(|(seq, id)| (*seq, DateTime::<Utc>::MIN_UTC, *id)),
            ),
            Strategy::FewestCalls => Box::new(self.fewest.iter().copied()),
            // LongestIdle, and any strategy added later until it has its own order.
            _ => Box::new(self.idle.iter().map(|(t, id)| (0, *t, *id))),
        }
    }
}

/// A strategy's order as one comparable key.
type SortKey = (u64, DateTime<Utc>, AgentId);

/// An agent's key in `strategy`'s order (the same keys [`Orders::keyed`] yields).
fn sort_key(strategy: Strategy, id: AgentId, k: Keys) -> SortKey {
    match strategy {
        Strategy::RoundRobin => (k.offered_seq, DateTime::<Utc>::MIN_UTC, id),
        Strategy::FewestCalls => (k.calls_taken, k.idle_since, id),
        _ => (0, k.idle_since, id),
    }
}

/// The ready agents with one skill, bucketed by their level in it: a queue's minimum level
/// selects whole buckets, so agents below it are never walked over.
#[derive(Debug, Default)]
struct SkillIndex {
    levels: BTreeMap<u8, Orders>,
}

impl SkillIndex {
    /// How many ready agents have the skill at `min` or above.
    fn count_from(&self, min: u8) -> usize {
        self.levels.range(min..).map(|(_, o)| o.len()).sum()
    }
}

/// The ready agents, per tenant and per (tenant, skill).
#[derive(Debug, Default)]
pub(crate) struct ReadyIndex {
    all: HashMap<TenantId, Orders>,
    by_skill: HashMap<TenantId, HashMap<Skill, SkillIndex>>,
    /// Registered queues: each keeps its own order of the ready agents who meet it, so its
    /// choice is the head of one set however many skills it asks.
    queues: HashMap<TenantId, BTreeMap<QueueId, (Requirement, BTreeSet<SortKey>)>>,
}

/// Whether skills meet a requirement's minimum levels.
pub(crate) fn meets(req: &Requirement, skills: &BTreeMap<Skill, u8>) -> bool {
    req.skills
        .iter()
        .all(|(s, min)| skills.get(s).is_some_and(|l| l >= min))
}

impl ReadyIndex {
    pub(crate) fn insert(
        &mut self,
        tenant: TenantId,
        id: AgentId,
        skills: &BTreeMap<Skill, u8>,
        keys: Keys,
    ) {
        self.all.entry(tenant).or_default().insert(id, keys);
        if let Some(queues) = self.queues.get_mut(&tenant) {
            for (req, order) in queues.values_mut() {
                if meets(req, skills) {
                    order.insert(sort_key(req.strategy, id, keys));
                }
            }
        }
        let per = self.by_skill.entry(tenant).or_default();
        for (skill, level) in skills {
            per.entry(skill.clone())
                .or_default()
                .levels
                .entry(*level)
                .or_default()
                .insert(id, keys);
        }
    }

    pub(crate) fn remove(
        &mut self,
        tenant: TenantId,
        id: AgentId,
        skills: &BTreeMap<Skill, u8>,
        keys: Keys,
    ) {
        if let Some(queues) = self.queues.get_mut(&tenant) {
            // The skills are those the agent was inserted with: the same queues hold it.
            for (req, order) in queues.values_mut() {
                if meets(req, skills) {
                    order.remove(&sort_key(req.strategy, id, keys));
                }
            }
        }
        if let Some(o) = self.all.get_mut(&tenant) {
            o.remove(id, keys);
            if o.is_empty() {
                self.all.remove(&tenant);
            }
        }
        if let Some(per) = self.by_skill.get_mut(&tenant) {
            for (skill, level) in skills {
                if let Some(index) = per.get_mut(skill) {
                    if let Some(o) = index.levels.get_mut(level) {
                        o.remove(id, keys);
                        if o.is_empty() {
                            index.levels.remove(level);
                        }
                    }
                    if index.levels.is_empty() {
                        per.remove(skill);
                    }
                }
            }
            if per.is_empty() {
                self.by_skill.remove(&tenant);
            }
        }
    }

    /// Registers (or replaces) a queue, indexing the ready agents who meet it now.
    pub(crate) fn add_queue<'a>(
        &mut self,
        id: QueueId,
        req: Requirement,
        ready: impl Iterator<Item = (AgentId, &'a BTreeMap<Skill, u8>, Keys)>,
    ) {
        let order: BTreeSet<SortKey> = ready
            .filter(|(_, skills, _)| meets(&req, skills))
            .map(|(agent, _, keys)| sort_key(req.strategy, agent, keys))
            .collect();
        self.remove_queue(&id);
        self.queues
            .entry(req.tenant)
            .or_default()
            .insert(id, (req, order));
    }

    /// Forgets a queue; whether it was there.
    pub(crate) fn remove_queue(&mut self, id: &QueueId) -> bool {
        let mut found = false;
        self.queues.retain(|_, qs| {
            found |= qs.remove(id).is_some();
            !qs.is_empty()
        });
        found
    }

    /// How many queues are registered.
    pub(crate) fn queue_count(&self) -> usize {
        self.queues.values().map(BTreeMap::len).sum()
    }

    /// A registered queue's choice: the head of its own order.
    pub(crate) fn choose_queue(&self, tenant: &TenantId, id: &QueueId) -> Option<AgentId> {
        let (_, order) = self.queues.get(tenant)?.get(id)?;
        order.first().map(|(_, _, a)| *a)
    }

    /// The tenant a queue belongs to.
    pub(crate) fn queue_tenant(&self, id: &QueueId) -> Option<TenantId> {
        self.queues
            .iter()
            .find(|(_, qs)| qs.contains_key(id))
            .map(|(t, _)| *t)
    }

    /// How many agents of the tenant are ready.
    pub(crate) fn ready_len(&self, tenant: &TenantId) -> usize {
        self.all.get(tenant).map_or(0, Orders::len)
    }

    /// The first agent, in the requirement's order, for whom `eligible` holds (the other
    /// skills' levels). Walks the required skill with the fewest ready agents at its minimum
    /// level, merging that skill's level buckets from the minimum up.
    pub(crate) fn choose(
        &self,
        req: &Requirement,
        eligible: impl Fn(AgentId) -> bool,
    ) -> Option<AgentId> {
        if req.skills.is_empty() {
            let all = self.all.get(&req.tenant)?;
            return all
                .keyed(req.strategy)
                .map(|(_, _, id)| id)
                .find(|id| eligible(*id));
        }
        let per = self.by_skill.get(&req.tenant)?;
        let mut best: Option<(usize, &SkillIndex, u8)> = None;
        for (skill, min) in &req.skills {
            // A required skill nobody ready has at the level: nobody is eligible.
            let index = per.get(skill)?;
            let n = index.count_from(*min);
            if n == 0 {
                return None;
            }
            if best.is_none_or(|(m, _, _)| n < m) {
                best = Some((n, index, *min));
            }
        }
        let (_, index, min) = best?;
        let mut iters: Vec<_> = index
            .levels
            .range(min..)
            .map(|(_, o)| o.keyed(req.strategy))
            .collect();
        let mut heads: Vec<Option<SortKey>> = iters.iter_mut().map(|it| it.next()).collect();
        loop {
            let (i, key) = heads
                .iter()
                .enumerate()
                .filter_map(|(i, h)| h.map(|k| (i, k)))
                .min_by_key(|(_, k)| *k)?;
            if eligible(key.2) {
                return Some(key.2);
            }
            if let Some(head) = heads.get_mut(i) {
                *head = iters.get_mut(i).and_then(|it| it.next());
            }
        }
    }
}
