//! The tracker: routes each leg event to its call, keeps every call's timeline in order and
//! refolds its record, and runs the timers that end, close and evict calls.

mod call;
mod routing;
mod snapshot;
mod timers;
mod tombstones;

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, TimeDelta, Utc};
use hookflash_provider::{CallId, LegEvent, LegId, TenantId};

use crate::config::TrackerConfig;
use crate::fold::{CallMeta, NOTE_ORIGINATE};
use crate::ids::derived_call_id;
use crate::record::{CallRecord, CallUpdate, Direction, TimelineEntry, UpdateKind};

use call::{Call, Phase};
use tombstones::Tombstones;

/// The call tracker: turns leg events into call records.
///
/// Sans-IO and deterministic: it owns no clock and no socket. Feed it every [`LegEvent`] of one
/// provider with [`Tracker::apply`], the provider's live legs after a reconnect with
/// [`Tracker::merge_snapshot`], and call [`Tracker::expire`] at [`Tracker::poll_timeout`].
///
/// # Behaviour
/// - Legs join calls by our call id when the leg carries it, else by the provider's linkedid
///   (following a leg whose linkedid changes, such as a park pickup), Local channel pairs,
///   the peer leg, and the legs an event names (a dial target, a park retriever).
/// - Each call's events are kept in time order and the record is refolded from them, so events
///   arriving out of order (within [`TrackerConfig::reorder_window`]) and duplicates give the
///   same record as the ordered stream.
/// - A call ends when all its legs have hung up. Its record then says `ended` at once (in an
///   `updated` update); the `ended` update, after which the outcome never changes, follows
///   once `reorder_window` has passed. Closed calls (silence, resync) end at once.
/// - Memory is bounded: ended calls are evicted after [`TrackerConfig::ended_linger`], silent
///   calls are closed, the number of calls and each timeline are capped.
#[derive(Debug)]
pub struct Tracker {
    config: TrackerConfig,
    // Boxed: a call is about a kilobyte, and the map keeps spare slots.
    calls: HashMap<CallId, Box<Call>>,
    by_leg: HashMap<LegId, CallId>,
    by_linkedid: HashMap<String, CallId>,
    by_local: HashMap<String, CallId>,
    alias: HashMap<CallId, CallId>,
    timers: BTreeSet<(DateTime<Utc>, CallId)>,
    tombstones: Tombstones,
    /// Legs an event tied to a call before the leg itself was seen (a park retriever named by
    /// `Unparked` ahead of its own events): they join that call when they appear.
    pending_ties: HashMap<LegId, CallId>,
    live: usize,
}

fn delta(d: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// `t + d`, saturating at the last representable time: a configured `Duration::MAX` (no
/// limit) or an event time from the far future must not panic (chrono's `+` does).
fn after(t: DateTime<Utc>, d: TimeDelta) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl Tracker {
    /// A tracker with no calls.
    pub fn new(config: TrackerConfig) -> Self {
        Self {
            config,
            calls: HashMap::new(),
            by_leg: HashMap::new(),
            by_linkedid: HashMap::new(),
            by_local: HashMap::new(),
            alias: HashMap::new(),
            timers: BTreeSet::new(),
            tombstones: Tombstones::default(),
            pending_ties: HashMap::new(),
            live: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &TrackerConfig {
        &self.config
    }

    /// A call's record (also under the id of a call that was merged into it).
    pub fn call(&self, id: &CallId) -> Option<&CallRecord> {
        self.calls.get(&self.resolve(*id)).map(|c| &c.record)
    }

    /// The calls not yet ended (including those whose `ended` update is still pending).
    pub fn live_calls(&self) -> impl Iterator<Item = &CallRecord> {
        self.calls
            .values()
            .filter(|c| c.phase == Phase::Live)
            .map(|c| &c.record)
    }

    /// Every call held: live ones and ended ones not yet evicted.
    pub fn calls(&self) -> impl Iterator<Item = &CallRecord> {
        self.calls.values().map(|c| &c.record)
    }

    /// How many calls are held (live and lingering).
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether no call is held.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// How many calls are live.
    pub fn live_len(&self) -> usize {
        self.live
    }

    /// The next time [`Tracker::expire`] has something to do.
    pub fn poll_timeout(&self) -> Option<DateTime<Utc>> {
        self.timers.first().map(|(t, _)| *t)
    }

    fn resolve(&self, id: CallId) -> CallId {
        let mut id = id;
        // Aliases are one hop in practice; the bound guards against a cycle.
        for _ in 0..8 {
            match self.alias.get(&id) {
                Some(next) if *next != id => id = *next,
                _ => break,
            }
        }
        id
    }

    /// Announces a call we are about to originate, so it exists (state `created`, outbound)
    /// before any leg does, and so an originate failure without any leg lands on it.
    pub fn register_originate(
        &mut self,
        call_id: CallId,
        tenant: TenantId,
        agent_endpoint: impl Into<String>,
        customer_number: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Vec<CallUpdate> {
        let mut out = Vec::new();
        let id = self.resolve(call_id);
        if !self.calls.contains_key(&id) && self.tombstones.calls.contains(&id) {
            return out;
        }
        let id = self.ensure_keyed(id, now);
        let limit = self.config.timeline_limit;
        let Some(call) = self.calls.get_mut(&id) else {
            return out;
        };
        call.meta.tenant = Some(tenant);
        call.meta.agent_endpoint = Some(agent_endpoint.into());
        call.meta.customer_number = Some(customer_number.into());
        call.meta.registered_at = Some(call.meta.registered_at.map_or(now, |r| r.min(now)));
        let entry = TimelineEntry {
            at: now,
            leg: None,
            role: None,
            event: Cow::Borrowed(NOTE_ORIGINATE),
            detail: None,
            note: None,
        };
        call.insert(entry.clone(), limit);
        if call.phase == Phase::Live {
            self.after_change(id, now, Some(entry), &mut out);
        }
        self.enforce_capacity(&mut out);
        out
    }

    /// Applies one leg event. `now` is the driver's clock (for timers); the event's own time
    /// orders it among the call's events.
    pub fn apply(&mut self, event: &LegEvent, now: DateTime<Utc>) -> Vec<CallUpdate> {
        let mut out = Vec::new();
        let Some(id) = self.route(event, now, &mut out) else {
            return out;
        };
        self.note_keys(id, event);
        self.tie_legs(id, event, now, &mut out);
        let entry = TimelineEntry {
            at: event.at,
            leg: Some(event.leg.clone()),
            role: None,
            event: Cow::Borrowed(event.kind.name()),
            detail: Some(event.kind.clone()),
            note: None,
        };
        let limit = self.config.timeline_limit;
        let Some(call) = self.calls.get_mut(&id) else {
            return out;
        };
        call.touched = now;
        let Some(pos) = call.insert(entry.clone(), limit) else {
            self.reset_timer(id);
            return out;
        };
        // A repeat of a fact the timeline shows already is no news (the record is refolded
        // all the same: the fold sees every entry).
        let news = call.is_news(pos);
        if let Phase::Final { .. } = call.phase {
            // After the end: recorded, never changes the outcome.
            call.refresh_timeline();
            if news {
                let mut entry = entry;
                entry.role = call.role_of(&event.leg);
                out.push(call.emit(UpdateKind::Updated, Some(entry)));
            }
            return out;
        }
        let entry = news.then_some(entry);
        self.after_change(id, now, entry, &mut out);
        self.enforce_capacity(&mut out);
        out
    }

    fn new_call(&mut self, meta: CallMeta, now: DateTime<Utc>) -> CallId {
        let id = meta.call_id;
        self.calls.insert(id, Box::new(Call::new(meta, now)));
        self.live += 1;
        id
    }

    fn ensure_keyed(&mut self, id: CallId, now: DateTime<Utc>) -> CallId {
        if self.calls.contains_key(&id) {
            return id;
        }
        let meta = CallMeta {
            call_id: id,
            derived: false,
            tenant: None,
            direction: Direction::Outbound,
            registered_at: None,
            agent_endpoint: None,
            customer_number: None,
            linkedid: None,
        };
        self.new_call(meta, now)
    }

    fn ensure_derived(&mut self, key: &str, now: DateTime<Utc>) -> CallId {
        let id = derived_call_id(&self.config.namespace, key);
        if self.calls.contains_key(&id) {
            return id;
        }
        let meta = CallMeta {
            call_id: id,
            derived: true,
            tenant: None,
            direction: Direction::Inbound,
            registered_at: None,
            agent_endpoint: None,
            customer_number: None,
            linkedid: None,
        };
        self.new_call(meta, now)
    }
}
