//! The translator's memory bound: a channel whose `Hangup` never arrives (a lost event, a
//! PBX that restarted under us) must not stay forever, so at most `max_channels` channels are
//! kept and the one seen first goes when a new one arrives past that.

use std::collections::VecDeque;

use hookflash_provider::CallId;

use super::AmiTranslator;

impl AmiTranslator {
    /// The default of [`AmiTranslator::with_max_channels`]: above the busiest single
    /// Asterisk's live channels, far below what would hurt memory (a channel costs about
    /// 1 KB here).
    pub const DEFAULT_MAX_CHANNELS: usize = 100_000;

    /// Sets the most channels kept at once (default
    /// [`AmiTranslator::DEFAULT_MAX_CHANNELS`], at least 1). Past it the
    /// channel seen first is forgotten: its later events are read as those of a channel not
    /// seen before, and the call tracker's own bound closes its call.
    #[must_use]
    pub fn with_max_channels(mut self, max: usize) -> Self {
        self.max_channels = max.max(1);
        self
    }

    /// The most channels kept at once.
    pub fn max_channels(&self) -> usize {
        self.max_channels
    }

    /// How many channels were forgotten to stay within [`AmiTranslator::max_channels`].
    pub fn evicted_channels(&self) -> u64 {
        self.evicted
    }

    /// Makes room for a channel about to be learnt (`uid` is not tracked yet).
    pub(super) fn admit(&mut self, uid: &str) {
        while self.chans.len() >= self.max_channels {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if self.chans.contains_key(&oldest) {
                self.forget(&oldest);
                self.evicted = self.evicted.saturating_add(1);
            }
        }
        self.order.push_back(uid.to_owned());
        let chans = &self.chans;
        compact(&mut self.order, chans.len(), |u| chans.contains_key(u));
        // Bridges outlive their members only until `BridgeDestroy`; drop the empty ones a
        // lost `BridgeDestroy` would leave once they are as many as the channels.
        if self.bridges.len() > self.max_channels {
            self.bridges.retain(|_, members| !members.is_empty());
        }
    }

    /// Keeps the announced originates within the same bound: an announcement whose call
    /// never produced a channel goes first.
    pub(super) fn admit_originate(&mut self, call_id: CallId) {
        self.originate_order.push_back(call_id);
        while self.originates.len() > self.max_channels {
            let Some(oldest) = self.originate_order.pop_front() else {
                break;
            };
            self.originates.remove(&oldest);
        }
        let originates = &self.originates;
        compact(&mut self.originate_order, originates.len(), |c| {
            originates.contains_key(c)
        });
    }

    /// Keeps the Originate ActionIDs waiting for their `OriginateResponse` within the same
    /// bound (a response lost with the connection would leave its entry forever).
    pub(super) fn admit_action(&mut self, action_id: &str) {
        self.action_order.push_back(action_id.to_owned());
        while self.action_calls.len() > self.max_channels {
            let Some(oldest) = self.action_order.pop_front() else {
                break;
            };
            self.action_calls.remove(&oldest);
        }
        let actions = &self.action_calls;
        compact(&mut self.action_order, actions.len(), |a| {
            actions.contains_key(a)
        });
    }
}

/// Drops the entries of an order queue that are no longer tracked once it holds more than
/// twice the live ones (amortised constant cost per insertion).
fn compact<T>(order: &mut VecDeque<T>, live: usize, tracked: impl Fn(&T) -> bool) {
    if order.len() > live.saturating_mul(2).saturating_add(64) {
        order.retain(|k| tracked(k));
    }
}
