use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One thing a provider may or may not be able to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Capability {
    /// Agent-first originate.
    Originate,
    /// Hang a leg up.
    Hangup,
    /// Answer a ringing leg.
    Answer,
    /// Blind transfer.
    BlindTransfer,
    /// Attended transfer (start, complete, cancel).
    AttendedTransfer,
    /// Park a leg.
    Park,
    /// Hold and unhold.
    Hold,
    /// Mute and unmute, per direction.
    Mute,
    /// Send DTMF digits.
    Dtmf,
    /// Start and stop recording.
    Recording,
    /// Pause and resume a recording.
    RecordingPause,
    /// List the live legs (for resync after a reconnect).
    Snapshot,
    /// Report calls the provider did not place: a carrier call into a DID that the platform
    /// routes by itself (a queue ringing agents), seen and tracked like an originated call.
    InboundCalls,
}

impl Capability {
    /// Every capability, in a stable order.
    pub const ALL: [Capability; 13] = [
        Self::Originate,
        Self::Hangup,
        Self::Answer,
        Self::BlindTransfer,
        Self::AttendedTransfer,
        Self::Park,
        Self::Hold,
        Self::Mute,
        Self::Dtmf,
        Self::Recording,
        Self::RecordingPause,
        Self::Snapshot,
        Self::InboundCalls,
    ];

    /// The snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Originate => "originate",
            Self::Hangup => "hangup",
            Self::Answer => "answer",
            Self::BlindTransfer => "blind_transfer",
            Self::AttendedTransfer => "attended_transfer",
            Self::Park => "park",
            Self::Hold => "hold",
            Self::Mute => "mute",
            Self::Dtmf => "dtmf",
            Self::Recording => "recording",
            Self::RecordingPause => "recording_pause",
            Self::Snapshot => "snapshot",
            Self::InboundCalls => "inbound_calls",
        }
    }
}

/// How (and whether) a provider does one capability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "support", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Support {
    /// Done with the platform's own operation for it.
    Native {
        /// Which operation (`AMI Park`, `POST /channels/{id}/hold`).
        how: String,
    },
    /// Done by combining other operations; `how` says which, and what differs from native.
    Emulated {
        /// What is done instead.
        how: String,
    },
    /// Not possible with this provider.
    Unsupported {
        /// Why not.
        why: String,
    },
}

impl Support {
    /// Whether the capability can be used at all.
    pub fn is_available(&self) -> bool {
        !matches!(self, Self::Unsupported { .. })
    }
}

/// What a provider can do, and how: an honest table, one row per [`Capability`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    rows: BTreeMap<Capability, Support>,
}

impl Capabilities {
    /// An empty table: every capability unsupported until declared.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares a natively supported capability.
    #[must_use]
    pub fn native(mut self, capability: Capability, how: impl Into<String>) -> Self {
        self.rows
            .insert(capability, Support::Native { how: how.into() });
        self
    }

    /// Declares an emulated capability.
    #[must_use]
    pub fn emulated(mut self, capability: Capability, how: impl Into<String>) -> Self {
        self.rows
            .insert(capability, Support::Emulated { how: how.into() });
        self
    }

    /// Declares an unsupported capability with the reason.
    #[must_use]
    pub fn unsupported(mut self, capability: Capability, why: impl Into<String>) -> Self {
        self.rows
            .insert(capability, Support::Unsupported { why: why.into() });
        self
    }

    /// How the provider does `capability` (undeclared capabilities are unsupported).
    pub fn support(&self, capability: Capability) -> Support {
        self.rows
            .get(&capability)
            .cloned()
            .unwrap_or_else(|| Support::Unsupported {
                why: "not declared by the provider".to_owned(),
            })
    }

    /// Whether `capability` can be used.
    pub fn supports(&self, capability: Capability) -> bool {
        self.rows
            .get(&capability)
            .is_some_and(Support::is_available)
    }

    /// Every row, in [`Capability::ALL`] order, undeclared ones as unsupported.
    pub fn rows(&self) -> impl Iterator<Item = (Capability, Support)> + '_ {
        Capability::ALL.into_iter().map(|c| (c, self.support(c)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undeclared_capabilities_are_unsupported() {
        let caps = Capabilities::new()
            .native(Capability::Park, "AMI Park")
            .emulated(Capability::Hold, "music on hold via a holding bridge");
        assert!(caps.supports(Capability::Park));
        assert!(caps.supports(Capability::Hold));
        assert!(!caps.supports(Capability::Mute));
        assert_eq!(caps.rows().count(), Capability::ALL.len());
    }
}
