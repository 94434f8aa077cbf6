use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A malformed id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The text is not a UUID.
    #[error("not a valid id: {0:?}")]
    NotUuid(String),
    /// A leg id must not be empty.
    #[error("a leg id must not be empty")]
    EmptyLegId,
}

/// Declares a UUID newtype id (random, wrapping, hyphenated text, parsed with [`IdError`]): our
/// call, tenant and recording ids are all one shape, written once here.
macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(uuid::Uuid);

        impl $name {
            #[doc = concat!("A fresh random ", $what, " id.")]
            pub fn new_random() -> Self {
                Self(uuid::Uuid::new_v4())
            }

            /// Wraps an existing UUID.
            pub const fn from_uuid(uuid: uuid::Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> &uuid::Uuid {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::ids::IdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s.trim())
                    .map(Self)
                    .map_err(|_| $crate::ids::IdError::NotUuid(s.to_owned()))
            }
        }
    };
}
pub(crate) use uuid_id;

uuid_id!(
    /// Our id of a call: a UUID chosen by hookflash before the first leg exists.
    CallId,
    "call"
);

uuid_id!(
    /// A tenant: every record and request belongs to exactly one.
    TenantId,
    "tenant"
);

/// A provider's id of one leg: an Asterisk channel's uniqueid (AMI) or channel id (ARI), or a
/// Twilio call SID. Unique within one provider, meaningless across providers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LegId(String);

impl LegId {
    /// Wraps a provider's leg id; refuses an empty one.
    pub fn new(id: impl Into<String>) -> Result<Self, IdError> {
        let id = id.into();
        if id.is_empty() {
            return Err(IdError::EmptyLegId);
        }
        Ok(Self(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LegId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for LegId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_id_round_trips_through_text() {
        let id = CallId::new_random();
        assert_eq!(id.to_string().parse::<CallId>().unwrap(), id);
        assert!(matches!("nope".parse::<CallId>(), Err(IdError::NotUuid(_))));
    }

    #[test]
    fn empty_leg_id_is_refused() {
        assert_eq!(LegId::new(""), Err(IdError::EmptyLegId));
        assert_eq!(LegId::new("1795315431.7").unwrap().as_str(), "1795315431.7");
    }
}
