//! Recordings: our id of one, and the formats a recording may be written in.
//!
//! A recording's file (or platform) name is built by hookflash from its own ids
//! ([`RecordingRequest::file_stem`](crate::RecordingRequest::file_stem)), never from text a
//! caller sent: a caller's label is metadata the application stores, and the format is one of a
//! closed set. So nothing a caller sends can name a path.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

crate::ids::uuid_id!(
    /// Our id of a recording, chosen before the platform is asked to start it.
    RecordingId,
    "recording"
);

/// The audio format of a recording (Asterisk's format names; Twilio records in its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum RecordingFormat {
    /// 8 kHz 16-bit PCM WAV (`wav`), the default.
    #[default]
    Wav,
    /// 16 kHz 16-bit PCM WAV (`wav16`).
    Wav16,
    /// GSM 06.10 (`gsm`).
    Gsm,
    /// G.711 µ-law, headerless (`ulaw`).
    Ulaw,
    /// G.711 A-law, headerless (`alaw`).
    Alaw,
    /// G.722, headerless (`g722`).
    G722,
}

impl RecordingFormat {
    /// Every format, in the order shown to users.
    pub const ALL: [RecordingFormat; 6] = [
        Self::Wav,
        Self::Wav16,
        Self::Gsm,
        Self::Ulaw,
        Self::Alaw,
        Self::G722,
    ];

    /// Asterisk's name of the format, which is also the file extension.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Wav => "wav",
            Self::Wav16 => "wav16",
            Self::Gsm => "gsm",
            Self::Ulaw => "ulaw",
            Self::Alaw => "alaw",
            Self::G722 => "g722",
        }
    }
}

impl fmt::Display for RecordingFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A format name that is not one of [`RecordingFormat`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown recording format {0:?} (one of wav, wav16, gsm, ulaw, alaw, g722)")]
pub struct UnknownFormat(pub String);

impl FromStr for RecordingFormat {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_exactly() {
        for f in RecordingFormat::ALL {
            assert_eq!(f.as_str().parse::<RecordingFormat>(), Ok(f));
        }
        for bad in ["/../../x", "WAV", "wav/../x", "", "mp3"] {
            assert!(bad.parse::<RecordingFormat>().is_err(), "{bad}");
        }
    }

    #[test]
    fn recording_id_round_trips() {
        let id = RecordingId::new_random();
        assert_eq!(id.to_string().parse::<RecordingId>().unwrap(), id);
    }
}
