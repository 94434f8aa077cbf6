//! `CoreShowChannels` listings: the live channels after a reconnect or on demand.

use chrono::{DateTime, Utc};
use hookflash_ami::Event;
use hookflash_provider::{LegSnapshot, LegState};

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

    /// How many channels are tracked (bounded by the live channels).
    pub fn live_channels(&self) -> usize {
        self.chans.len()
    }
}
