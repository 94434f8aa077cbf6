//! `CoreShowChannels` listings: the live channels after a reconnect or on demand.

use chrono::{DateTime, Utc};
use hookflash_ami::Event;
use hookflash_provider::{CallId, LegId, LegSnapshot, LegState};

use super::AmiTranslator;
use super::wire::{leg, parse_hms};

impl AmiTranslator {
    /// Takes a `CoreShowChannels` listing after a reconnect: channels not listed are gone,
    /// listed ones are learnt; returns the live legs.
    pub fn resync(&mut self, listing: &[Event], now: DateTime<Utc>) -> Vec<LegSnapshot> {
        self.listing(listing, now, true)
    }

    /// Reads a `CoreShowChannels` listing without forgetting channels it does not show (a
    /// channel created after the listing was taken may already be known).
    pub fn snapshot_of(&mut self, listing: &[Event], now: DateTime<Utc>) -> Vec<LegSnapshot> {
        self.listing(listing, now, false)
    }

    fn listing(&mut self, listing: &[Event], now: DateTime<Utc>, forget: bool) -> Vec<LegSnapshot> {
        let mut legs = Vec::new();
        let mut seen = Vec::new();
        for event in listing {
            let Event::CoreShowChannel(e) = event else {
                continue;
            };
            let Some(info) = &e.channel else { continue };
            let Some(uid) = self.see(info, now) else {
                continue;
            };
            let state = match info.state() {
                Some(6) => LegState::Up,
                Some(5) => LegState::Ringing,
                _ => LegState::Down,
            };
            let bridge = e
                .bridge_id
                .as_ref()
                .map(|b| b.to_str_lossy().into_owned())
                .filter(|b| !b.is_empty());
            let age = e
                .duration
                .as_ref()
                .and_then(|d| parse_hms(&d.to_str_lossy()));
            if let Some(c) = self.chans.get_mut(&uid) {
                c.state = state;
                if let Some(b) = &bridge {
                    c.bridge = Some(b.clone());
                }
            }
            if let Some(b) = &bridge {
                let members = self.bridges.entry(b.clone()).or_default();
                if !members.contains(&uid) {
                    members.push(uid.clone());
                }
            }
            seen.push(uid.clone());
            let Some(id) = leg(&uid) else { continue };
            legs.push(LegSnapshot {
                leg: id,
                keys: self.keys(&uid),
                state,
                bridge,
                created_at: age.and_then(|a| now.checked_sub_signed(a)),
            });
        }
        self.place(&seen);
        self.queue_releases();
        if !forget {
            return legs;
        }
        let gone: Vec<String> = self
            .chans
            .keys()
            .filter(|u| !seen.contains(u))
            .cloned()
            .collect();
        for uid in gone {
            self.forget(&uid);
        }
        legs
    }

    /// Places the listed channels whose call is known (they carry its id, or head a group
    /// seen from its start) and the legs of placed heads. A head first seen in the listing
    /// without a call id waits for the PBX's answer ([`AmiTranslator::resolve_unkeyed`]); a
    /// channel whose head is gone stays unplaced: nothing tells whose leg it is, and its
    /// events would invent an inbound call.
    fn place(&mut self, listed: &[String]) {
        for uid in listed {
            let keyed = self
                .chans
                .get(uid)
                .is_some_and(|c| self.call_id_of(c).is_some());
            if keyed && let Some(c) = self.chans.get_mut(uid) {
                c.placed = true;
            }
        }
        self.place_group_legs(listed);
    }

    fn place_group_legs(&mut self, _listed: &[String]) {
        // Every channel of a placed head: listed ones, and legs created since the listing.
        let all: Vec<String> = self.chans.keys().cloned().collect();
        for uid in &all {
            let head_placed = self
                .chans
                .get(uid)
                .and_then(|c| c.linkedid.as_ref())
                .and_then(|l| self.chans.get(l))
                .is_some_and(|h| h.placed);
            if head_placed && let Some(c) = self.chans.get_mut(uid) {
                c.placed = true;
            }
        }
    }

    /// Events of channels first seen mid-call that came before a listing placed the channel
    /// (or its call id was known): held, passed on with the channel's next event once it is
    /// placed, forgotten with it if it never is (nobody's).
    pub fn unplaced_events(&self) -> u64 {
        self.unplaced_events
    }

    /// The listed channels to ask the PBX for their call id: a channel first seen in a
    /// listing (the pipeline restarted, or the link was down when its `VarSet` of
    /// `HOOKFLASH_CALL_ID` went by) has no call id, so without one its legs would look like a
    /// new inbound call. Only the channel heading its linkedid group is named (the originated
    /// channel, which holds the variable); `(leg, channel name)` each.
    pub fn unkeyed(&self, legs: &[LegSnapshot]) -> Vec<(LegId, String)> {
        legs.iter()
            .filter(|l| l.keys.call_id.is_none())
            .filter(|l| {
                l.keys
                    .linkedid
                    .as_deref()
                    .is_none_or(|k| k == l.leg.as_str())
            })
            .filter(|l| self.chans.get(l.leg.as_str()).is_some_and(|c| !c.placed))
            .filter_map(|l| Some((l.leg.clone(), l.keys.channel.clone()?)))
            .collect()
    }

    /// Takes the PBX's answers for [`AmiTranslator::unkeyed`] channels: `Some(call id)` (its
    /// `HOOKFLASH_CALL_ID`: the channel and every channel of its linkedid belong to that
    /// call from now on) or `None` (the channel has no call id: a call hookflash did not
    /// place, such as an inbound one, placed as it is). A channel with no answer (hung up
    /// since the listing) stays unplaced. Then `legs` (the listing's legs) carry the call ids
    /// learnt, and the legs of channels still unplaced are left out: they are nobody's.
    pub fn resolve_unkeyed(
        &mut self,
        answers: &[(LegId, Option<CallId>)],
        legs: &mut Vec<LegSnapshot>,
    ) {
        for (leg, answer) in answers {
            match answer {
                Some(id) => self.learn_call_id(leg, *id, legs),
                None => {
                    if let Some(c) = self.chans.get_mut(leg.as_str()) {
                        c.placed = true;
                    }
                }
            }
        }
        let listed: Vec<String> = legs.iter().map(|l| l.leg.as_str().to_owned()).collect();
        self.place_group_legs(&listed);
        for snap in legs.iter_mut().filter(|s| s.keys.call_id.is_none()) {
            snap.keys = self.keys(snap.leg.as_str());
        }
        legs.retain(|l| {
            l.keys.call_id.is_some() || self.chans.get(l.leg.as_str()).is_some_and(|c| c.placed)
        });
        self.queue_releases();
    }

    /// Gives a listed channel the call id the PBX holds for it (its `HOOKFLASH_CALL_ID`, read
    /// back after a listing; see [`AmiTranslator::unkeyed`]): the channel and every channel
    /// of its linkedid belong to that call from now on, and `legs` (the listing's legs) carry
    /// it.
    pub fn learn_call_id(&mut self, leg: &LegId, call_id: CallId, legs: &mut [LegSnapshot]) {
        let Some(chan) = self.chans.get_mut(leg.as_str()) else {
            return;
        };
        chan.call_id = Some(call_id);
        chan.placed = true;
        if let Some(l) = chan.linkedid.clone() {
            self.linked_calls.entry(l).or_insert(call_id);
        }
        self.call_agent
            .entry(call_id)
            .or_insert_with(|| leg.as_str().to_owned());
        for snap in legs.iter_mut().filter(|s| s.keys.call_id.is_none()) {
            snap.keys = self.keys(snap.leg.as_str());
        }
    }

    /// How many channels are tracked (bounded by the live channels).
    pub fn live_channels(&self) -> usize {
        self.chans.len()
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use hookflash_ami::{Event, decode_all};
    use hookflash_provider::CallId;

    use super::AmiTranslator;

    fn listing() -> Vec<Event> {
        let dir = std::env::var_os("HOOKFLASH_FIXTURES_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/asterisk-22").into()
            });
        let bytes = std::fs::read(dir.join("ami/reconnect-mid-call-b.recv")).unwrap();
        let (messages, _) = decode_all(&bytes);
        messages
            .into_iter()
            .filter_map(|m| Event::from_message(m).ok())
            .collect()
    }

    #[test]
    fn a_call_first_seen_in_a_listing_gets_its_call_id_from_the_pbx() {
        // A translator that never saw the call (the pipeline restarted mid-call).
        let mut t = AmiTranslator::new();
        let mut legs = t.resync(&listing(), Utc::now());
        assert_eq!(legs.len(), 2);
        assert!(legs.iter().all(|l| l.keys.call_id.is_none()));
        // Only the channel that heads the linkedid group (the originated agent channel,
        // which holds HOOKFLASH_CALL_ID) is asked for.
        let unkeyed = t.unkeyed(&legs);
        assert_eq!(unkeyed.len(), 1, "{unkeyed:?}");
        assert!(unkeyed[0].1.starts_with("PJSIP/agent1001"), "{unkeyed:?}");
        let id: CallId = "359f44ac-3cb3-45f4-aec7-65ef1ce34868".parse().unwrap();
        t.resolve_unkeyed(&[(unkeyed[0].0.clone(), Some(id))], &mut legs);
        // Both legs (the trunk's by its linkedid) now carry it, and so do later events.
        assert!(legs.iter().all(|l| l.keys.call_id == Some(id)), "{legs:?}");
        assert!(t.unkeyed(&legs).is_empty());
        let again = t.snapshot_of(&listing(), Utc::now());
        assert!(
            again.iter().all(|l| l.keys.call_id == Some(id)),
            "{again:?}"
        );
    }

    #[test]
    fn events_of_a_channel_first_seen_mid_call_wait_for_a_listing() {
        let (list, rest): (Vec<Event>, Vec<Event>) = listing().into_iter().partition(|e| {
            matches!(
                e,
                Event::CoreShowChannel(_) | Event::CoreShowChannelsComplete(_)
            )
        });
        assert!(!list.is_empty() && !rest.is_empty());
        // Without a listing, the hangups of a call under way are nobody's: no leg events
        // (they would make an inbound call of an outbound call's legs).
        let mut blind = AmiTranslator::new();
        let out: Vec<_> = rest
            .iter()
            .flat_map(|e| blind.on_event(e, Utc::now()))
            .collect();
        assert!(out.is_empty(), "{out:?}");
        assert!(blind.unplaced_events() > 0);
        // They were held, not lost: once a listing says whose they are, the ones of channels
        // still up go out with the next event.
        let mut legs = blind.resync(&list, Utc::now());
        let answers: Vec<_> = blind
            .unkeyed(&legs)
            .into_iter()
            .map(|(leg, _)| (leg, "359f44ac-3cb3-45f4-aec7-65ef1ce34868".parse().ok()))
            .collect();
        blind.resolve_unkeyed(&answers, &mut legs);
        // Once listed and the PBX said whose they are, they are passed on.
        let mut t = AmiTranslator::new();
        let mut legs = t.resync(&list, Utc::now());
        let answers: Vec<_> = t
            .unkeyed(&legs)
            .into_iter()
            .map(|(leg, _)| (leg, "359f44ac-3cb3-45f4-aec7-65ef1ce34868".parse().ok()))
            .collect();
        t.resolve_unkeyed(&answers, &mut legs);
        assert_eq!(legs.len(), 2);
        let out: Vec<_> = rest
            .iter()
            .flat_map(|e| t.on_event(e, Utc::now()))
            .collect();
        assert!(!out.is_empty());
        assert_eq!(t.unplaced_events(), 0);
    }
}
