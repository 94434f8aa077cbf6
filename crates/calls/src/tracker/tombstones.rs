//! Keys of evicted calls, so that their stray late events start no phantom call.

use std::collections::{HashSet, VecDeque};

use hookflash_provider::{CallId, LegId};

/// Keys of evicted calls, remembered for a while so that their stray late events are dropped.
#[derive(Debug, Default)]
pub(super) struct Tombstones {
    pub(super) order: VecDeque<Tomb>,
    pub(super) legs: HashSet<LegId>,
    pub(super) linkedids: HashSet<String>,
    pub(super) calls: HashSet<CallId>,
}

#[derive(Debug)]
pub(super) enum Tomb {
    Leg(LegId),
    Linkedid(String),
    Call(CallId),
}

impl Tombstones {
    pub(super) fn add(&mut self, tomb: Tomb, cap: usize) {
        let fresh = match &tomb {
            Tomb::Leg(l) => self.legs.insert(l.clone()),
            Tomb::Linkedid(l) => self.linkedids.insert(l.clone()),
            Tomb::Call(c) => self.calls.insert(*c),
        };
        if fresh {
            self.order.push_back(tomb);
        }
        while self.order.len() > cap {
            match self.order.pop_front() {
                Some(Tomb::Leg(l)) => {
                    self.legs.remove(&l);
                }
                Some(Tomb::Linkedid(l)) => {
                    self.linkedids.remove(&l);
                }
                Some(Tomb::Call(c)) => {
                    self.calls.remove(&c);
                }
                None => break,
            }
        }
    }
}
