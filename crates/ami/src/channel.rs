use std::fmt;

use bytes::Bytes;

use crate::message::Message;
use crate::text::Text;

const NONE: (u32, u32) = (u32::MAX, u32::MAX);

macro_rules! field_set {
    (
        $(#[$doc:meta])*
        $name:ident { $( $(#[$fdoc:meta])* $idx:literal $field:ident = $suffix:literal ),* $(,)? }
    ) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            frame: Bytes,
            spans: [(u32, u32); $name::SUFFIXES.len()],
        }

        impl $name {
            const SUFFIXES: &'static [&'static str] = &[$($suffix),*];

            fn value(&self, i: usize) -> Option<&[u8]> {
                let (a, b) = self.spans[i];
                (a != u32::MAX).then(|| &self.frame[a as usize..b as usize])
            }

            fn text(&self, i: usize) -> Option<Text> {
                let (a, b) = self.spans[i];
                (a != u32::MAX).then(|| Text::new(self.frame.slice(a as usize..b as usize)))
            }

            $(
                $(#[$fdoc])*
                pub fn $field(&self) -> Option<&str> {
                    self.value($idx).and_then(|v| std::str::from_utf8(v).ok())
                }
            )*

            /// The value of `suffix` (e.g. `"Uniqueid"`) as a zero-copy [`Text`], bytes kept.
            pub fn get(&self, suffix: &str) -> Option<Text> {
                let i = Self::SUFFIXES.iter().position(|s| s.eq_ignore_ascii_case(suffix))?;
                self.text(i)
            }

            /// Collects the `<prefix><Field>` headers of `msg`; `None` when none is present.
            pub fn parse(msg: &Message, prefix: &str) -> Option<Self> {
                let prefix = prefix.as_bytes();
                let mut spans = [NONE; $name::SUFFIXES.len()];
                let mut any = false;
                for s in msg.spans() {
                    let key = msg.key_of(s);
                    if key.len() <= prefix.len()
                        || (!prefix.is_empty() && !key[..prefix.len()].eq_ignore_ascii_case(prefix))
                    {
                        continue;
                    }
                    if let Some(i) = Self::index(&key[prefix.len()..]) {
                        if spans[i] == NONE {
                            spans[i] = (s.value_start, s.value_end);
                            any = true;
                        }
                    }
                }
                any.then(|| $name { frame: msg.frame().clone(), spans })
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut d = f.debug_struct(stringify!($name));
                $(
                    if let Some(v) = self.value($idx) {
                        d.field(stringify!($field), &String::from_utf8_lossy(v));
                    }
                )*
                d.finish()
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                (0..Self::SUFFIXES.len()).all(|i| self.value(i) == other.value(i))
            }
        }
    };
}

field_set! {
    /// The channel snapshot Asterisk attaches to channel events, with or without a prefix
    /// (`Dest`, `Transferer`, `Transferee`, `Parkee`, `Retriever`, `LocalOne`, ...).
    ///
    /// Zero-copy: it shares the event's frame and keeps offsets into it.
    ChannelInfo {
        /// `Channel`, e.g. `PJSIP/agent1001-00000004`.
        0 channel = "Channel",
        /// `ChannelState` (numeric, see [`ChannelInfo::state`]).
        1 channel_state = "ChannelState",
        /// `ChannelStateDesc`, e.g. `Up`.
        2 channel_state_desc = "ChannelStateDesc",
        /// `CallerIDNum`.
        3 caller_id_num = "CallerIDNum",
        /// `CallerIDName`.
        4 caller_id_name = "CallerIDName",
        /// `ConnectedLineNum`.
        5 connected_line_num = "ConnectedLineNum",
        /// `ConnectedLineName`.
        6 connected_line_name = "ConnectedLineName",
        /// `Language`.
        7 language = "Language",
        /// `AccountCode`.
        8 account_code = "AccountCode",
        /// `Context`.
        9 context = "Context",
        /// `Exten`.
        10 exten = "Exten",
        /// `Priority`.
        11 priority = "Priority",
        /// `Uniqueid`.
        12 uniqueid = "Uniqueid",
        /// `Linkedid`.
        13 linkedid = "Linkedid",
    }
}

impl ChannelInfo {
    #[inline]
    fn index(suffix: &[u8]) -> Option<usize> {
        let n = suffix.len();
        if n < 5 {
            return None;
        }
        // (length, second byte, last byte) picks the one candidate; then compare it.
        let i = match (n, suffix[1] | 0x20, suffix[n - 1] | 0x20) {
            (5, b'x', b'n') => 10,
            (7, b'h', b'l') => 0,
            (7, b'o', b't') => 9,
            (8, b'a', b'e') => 7,
            (8, b'r', b'y') => 11,
            (8, b'n', b'd') => 12,
            (8, b'i', b'd') => 13,
            (11, b'a', b'm') => 3,
            (11, b'c', b'e') => 8,
            (12, b'h', b'e') => 1,
            (12, b'a', b'e') => 4,
            (16, b'h', b'c') => 2,
            (16, b'o', b'm') => 5,
            (17, b'o', b'e') => 6,
            _ => return None,
        };
        let want = Self::SUFFIXES[i].as_bytes();
        crate::message::key_eq(want, suffix).then_some(i)
    }

    /// `ChannelState` as a number (0 Down ... 6 Up, 5 Ringing).
    pub fn state(&self) -> Option<i64> {
        self.channel_state()?.trim().parse().ok()
    }
}

field_set! {
    /// The bridge snapshot attached to bridge events (optionally prefixed: `To`, `From`,
    /// `Orig`, `Second`).
    BridgeInfo {
        /// `BridgeUniqueid`.
        0 uniqueid = "BridgeUniqueid",
        /// `BridgeType`, e.g. `basic`.
        1 bridge_type = "BridgeType",
        /// `BridgeTechnology`, e.g. `simple_bridge`.
        2 technology = "BridgeTechnology",
        /// `BridgeCreator`.
        3 creator = "BridgeCreator",
        /// `BridgeName`.
        4 name = "BridgeName",
        /// `BridgeNumChannels`.
        5 num_channels = "BridgeNumChannels",
        /// `BridgeVideoSourceMode`.
        6 video_source_mode = "BridgeVideoSourceMode",
    }
}

impl BridgeInfo {
    #[inline]
    fn index(suffix: &[u8]) -> Option<usize> {
        if suffix.len() < 10 || !suffix[..6].eq_ignore_ascii_case(b"Bridge") {
            return None;
        }
        Self::SUFFIXES
            .iter()
            .position(|s| s.as_bytes().eq_ignore_ascii_case(suffix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixed_and_plain_sets_are_apart() {
        let m = Message::from_pairs([
            ("Event", "DialEnd"),
            ("DestChannel", "PJSIP/agent1001-00000004"),
            ("DestUniqueid", "1.4"),
            ("DestChannelState", "6"),
            ("DialStatus", "ANSWER"),
        ]);
        assert!(ChannelInfo::parse(&m, "").is_none());
        let d = ChannelInfo::parse(&m, "Dest").unwrap();
        assert_eq!(d.channel(), Some("PJSIP/agent1001-00000004"));
        assert_eq!(d.uniqueid(), Some("1.4"));
        assert_eq!(d.state(), Some(6));
        assert_eq!(d.linkedid(), None);
        assert_eq!(d.get("uniqueid").unwrap(), "1.4");
    }
}
