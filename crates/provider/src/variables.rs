//! Channel variables a caller may set on an originated call: a validated vocabulary.
//!
//! Asterisk gives channel variables meaning in many places. A `Variable:` header of an AMI
//! `Originate` is split on commas (quotes and backslashes are consumed as escapes) and each
//! part is applied as `name=value`; a name with parentheses calls a dialplan function
//! (`CDR(userfield)`, `CALLERID(num)`); a leading `_` or `__` makes a variable inherited by
//! every channel the leg creates; and hookflash's own dialplan reads `HOOKFLASH_*` and
//! `DIAL_TIMEOUT`. So a caller's variables are checked here, once, for every provider:
//!
//! - names are 1 to [`MAX_NAME_LEN`] ASCII letters, digits and `_`, starting with a letter (no
//!   function syntax, no inheritance prefix);
//! - no name starts with a [reserved prefix](RESERVED_PREFIXES), compared without regard to
//!   case (`hookflash_trunk` is as reserved as `HOOKFLASH_TRUNK`);
//! - values are at most [`MAX_VALUE_LEN`] bytes with no control character and none of the
//!   characters Asterisk's argument parser treats specially (`,` `"` `\`), so a value is
//!   exactly one value;
//! - at most [`MAX_VARIABLES`] of them.
//!
//! Which names a tenant may use at all (an allow-list) is the application's decision; this type
//! only guarantees that whatever passes cannot reach past the variable it names.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest accepted variable name.
pub const MAX_NAME_LEN: usize = 64;
/// Longest accepted variable value, in bytes.
pub const MAX_VALUE_LEN: usize = 1024;
/// Most variables on one request.
pub const MAX_VARIABLES: usize = 32;

/// Name prefixes nobody outside hookflash may set (compared case-insensitively): hookflash's
/// own variables (`HOOKFLASH_CALL_ID`, `HOOKFLASH_TRUNK`, `DIAL_TIMEOUT`), and the Asterisk
/// variables that change what a channel does or where it goes (transfer and forward contexts,
/// features, parking, recording file names, Gosub/Macro state, `AST_` internals).
pub const RESERVED_PREFIXES: &[&str] = &[
    "HOOKFLASH",
    "DIAL_TIMEOUT",
    "AST_",
    "ATTENDEDTRANSFER",
    "BLINDTRANSFER",
    "TRANSFER_CONTEXT",
    "FORWARD_CONTEXT",
    "DYNAMIC_FEATURES",
    "PARK",
    "MIXMONITOR",
    "MONITOR",
    "GOSUB",
    "MACRO",
    "CHANNEL",
    "CALLERID",
    "CDR",
];

/// Why a variable was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VariableError {
    /// The name is malformed or reserved.
    #[error("variable name {name:?}: {reason}")]
    Name {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The value of a (well-formed) variable is refused.
    #[error("value of {name}: {reason}")]
    Value {
        /// The variable's name.
        name: String,
        /// What is wrong with the value.
        reason: &'static str,
    },
    /// More than [`MAX_VARIABLES`] variables.
    #[error("at most {max} variables")]
    TooMany {
        /// The limit.
        max: usize,
    },
}

impl VariableError {
    /// The request field to blame: `variables.<NAME>` for a bad value, `variables` otherwise
    /// (a bad name is not repeated into a field path).
    pub fn field(&self) -> String {
        match self {
            Self::Value { name, .. } => format!("variables.{name}"),
            _ => "variables".to_owned(),
        }
    }

    /// The reason alone, without the name (for an API error that names the field).
    pub fn reason(&self) -> String {
        match self {
            Self::Name { reason, .. } | Self::Value { reason, .. } => (*reason).to_owned(),
            Self::TooMany { max } => format!("at most {max} variables"),
        }
    }
}

/// A checked variable name (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct VariableName(String);

impl VariableName {
    /// Checks `name`.
    ///
    /// # Errors
    /// [`VariableError::Name`] saying what is wrong.
    pub fn new(name: &str) -> Result<Self, VariableError> {
        let bad = |reason| {
            Err(VariableError::Name {
                name: name.to_owned(),
                reason,
            })
        };
        if name.is_empty() || name.len() > MAX_NAME_LEN {
            return bad("names are 1 to 64 characters");
        }
        if name.starts_with('_') {
            return bad("inheritance prefixes (_ or __) are not accepted");
        }
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return bad("names are letters, digits and _ only (no function syntax)");
        }
        if !name.as_bytes()[0].is_ascii_alphabetic() {
            return bad("names start with a letter");
        }
        if is_reserved(name) {
            return bad("reserved name");
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VariableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for VariableName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new(&s).map_err(serde::de::Error::custom)
    }
}

/// Whether `name` starts with a [reserved prefix](RESERVED_PREFIXES), in any case and after any
/// inheritance underscores.
pub fn is_reserved(name: &str) -> bool {
    let bare = name.trim_start_matches('_').as_bytes();
    RESERVED_PREFIXES
        .iter()
        .any(|p| bare.len() >= p.len() && bare[..p.len()].eq_ignore_ascii_case(p.as_bytes()))
}

fn check_value(name: &str, value: &str) -> Result<(), VariableError> {
    let bad = |reason| {
        Err(VariableError::Value {
            name: name.to_owned(),
            reason,
        })
    };
    if value.len() > MAX_VALUE_LEN {
        return bad("at most 1024 bytes");
    }
    if value.chars().any(char::is_control) {
        return bad("must not contain control characters (CR, LF, NUL, ...)");
    }
    if value.contains([',', '"', '\\']) {
        return bad("must not contain , \" or \\ (Asterisk splits and unescapes on them)");
    }
    Ok(())
}

/// A request's channel variables, each name and value checked (see the [module docs](self)).
///
/// Serialized as a plain JSON object; deserializing checks it again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    try_from = "BTreeMap<String, String>",
    into = "BTreeMap<String, String>"
)]
pub struct ChannelVariables(BTreeMap<VariableName, String>);

impl ChannelVariables {
    /// No variables.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) one variable.
    ///
    /// # Errors
    /// A bad name or value, or one variable more than [`MAX_VARIABLES`].
    pub fn insert(&mut self, name: &str, value: &str) -> Result<(), VariableError> {
        let name = VariableName::new(name)?;
        check_value(name.as_str(), value)?;
        if !self.0.contains_key(&name) && self.0.len() >= MAX_VARIABLES {
            return Err(VariableError::TooMany { max: MAX_VARIABLES });
        }
        self.0.insert(name, value.to_owned());
        Ok(())
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.as_str() == name)
            .map(|(_, v)| v.as_str())
    }

    /// The variables in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&VariableName, &str)> {
        self.0.iter().map(|(k, v)| (k, v.as_str()))
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True with none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl TryFrom<BTreeMap<String, String>> for ChannelVariables {
    type Error = VariableError;

    fn try_from(map: BTreeMap<String, String>) -> Result<Self, Self::Error> {
        if map.len() > MAX_VARIABLES {
            return Err(VariableError::TooMany { max: MAX_VARIABLES });
        }
        let mut vars = Self::new();
        for (k, v) in &map {
            vars.insert(k, v)?;
        }
        Ok(vars)
    }
}

impl From<ChannelVariables> for BTreeMap<String, String> {
    fn from(vars: ChannelVariables) -> Self {
        vars.0.into_iter().map(|(k, v)| (k.0, v)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name_err(name: &str) -> &'static str {
        match VariableName::new(name) {
            Err(VariableError::Name { reason, .. }) => reason,
            other => panic!("{name:?} accepted: {other:?}"),
        }
    }

    #[test]
    fn plain_names_and_values_pass() {
        let mut v = ChannelVariables::new();
        v.insert("CRM_ID", "42").unwrap();
        v.insert("account2", "a b=c;d:e/f").unwrap();
        assert_eq!(v.get("CRM_ID"), Some("42"));
        assert_eq!(v.len(), 2);
    }

    #[test]
    fn function_syntax_and_odd_characters_are_refused() {
        for name in [
            "CDR(userfield)",
            "CALLERID(num)",
            "A-B",
            "A B",
            "A=B",
            "A,B",
            "É",
            "",
        ] {
            name_err(name);
        }
        name_err(&"A".repeat(65));
        assert_eq!(name_err("1ABC"), "names start with a letter");
    }

    #[test]
    fn reserved_names_in_any_case_and_inheritance_form_are_refused() {
        for name in [
            "HOOKFLASH_CALL_ID",
            "HOOKFLASH_TRUNK",
            "hookflash_trunk",
            "HookFlash_Anything",
            "DIAL_TIMEOUT",
            "dial_timeout",
            "TRANSFER_CONTEXT",
            "MIXMONITOR_FILENAME",
        ] {
            assert_eq!(name_err(name), "reserved name", "{name}");
        }
        for name in ["__HOOKFLASH_CALL_ID", "_HOOKFLASH_TRUNK", "__CRM_ID"] {
            assert_eq!(
                name_err(name),
                "inheritance prefixes (_ or __) are not accepted"
            );
        }
        assert!(is_reserved("__hookflash_call_id"));
        assert!(!is_reserved("CRM_ID"));
    }

    #[test]
    fn values_that_asterisk_would_split_or_unescape_are_refused() {
        let mut v = ChannelVariables::new();
        for value in [
            "1,CDR(userfield)=x,CALLERID(num)=666",
            "a\"b",
            "a\\,b",
            "x\r\nAction: Command",
            "nul\0",
            "tab\t",
        ] {
            let e = v.insert("X", value).unwrap_err();
            assert_eq!(e.field(), "variables.X", "{value:?}");
        }
        assert!(v.insert("X", &"a".repeat(1025)).is_err());
        assert!(v.is_empty());
    }

    #[test]
    fn at_most_32_variables() {
        let map: BTreeMap<String, String> =
            (0..33).map(|i| (format!("V{i}"), "1".to_owned())).collect();
        assert_eq!(
            ChannelVariables::try_from(map).unwrap_err(),
            VariableError::TooMany { max: 32 }
        );
        let mut v = ChannelVariables::new();
        for i in 0..32 {
            v.insert(&format!("V{i}"), "1").unwrap();
        }
        v.insert("V0", "2").unwrap();
        assert!(v.insert("V32", "1").is_err());
    }

    #[test]
    fn json_round_trip_checks_again() {
        let v: ChannelVariables = serde_json::from_str(r#"{"CRM_ID":"42"}"#).unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"CRM_ID":"42"}"#);
        assert!(serde_json::from_str::<ChannelVariables>(r#"{"HOOKFLASH_TRUNK":"x"}"#).is_err());
        assert!(serde_json::from_str::<ChannelVariables>(r#"{"X":"1,Y=2"}"#).is_err());
    }
}
