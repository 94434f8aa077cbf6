use std::fmt;

use bytes::{BufMut, BytesMut};

use crate::error::AmiError;

/// The longest line Asterisk's manager accepts on input, CRLF included.
pub const MAX_LINE_BYTES: usize = 1024;

/// An AMI action: its name, an ActionID and ordered headers (repeats allowed, e.g. `Variable`).
///
/// The client assigns the ActionID when it sends the action; a preset one is kept by
/// [`Action::encode`] but replaced by the client. `Debug` output redacts `Secret` and `Key`.
#[derive(Clone, PartialEq, Eq)]
pub struct Action {
    name: String,
    action_id: Option<String>,
    headers: Vec<(String, String)>,
}

impl Action {
    /// A new action named `name` (e.g. `"Originate"`).
    pub fn new(name: impl Into<String>) -> Self {
        Action {
            name: name.into(),
            action_id: None,
            headers: Vec::new(),
        }
    }

    /// Adds a header (builder style). Repeated keys are written in order.
    #[must_use]
    pub fn header(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((key.into(), value.into()));
        self
    }

    /// Adds a header.
    pub fn push(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.headers.push((key.into(), value.into()));
    }

    /// Adds a `Variable: name=value` header (Originate, Setvar...).
    #[must_use]
    pub fn variable(self, name: &str, value: &str) -> Self {
        self.header("Variable", format!("{name}={value}"))
    }

    /// Sets the ActionID (builder style).
    #[must_use]
    pub fn with_action_id(mut self, id: impl Into<String>) -> Self {
        self.action_id = Some(id.into());
        self
    }

    /// Sets the ActionID.
    pub fn set_action_id(&mut self, id: impl Into<String>) {
        self.action_id = Some(id.into());
    }

    /// The action's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The ActionID, once set.
    pub fn action_id(&self) -> Option<&str> {
        self.action_id.as_deref()
    }

    /// The headers after `Action` and `ActionID`.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The first value of `key` (ASCII case-insensitive).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// Checks every line: no CR/LF anywhere, a key without `:`, at most [`MAX_LINE_BYTES`].
    pub fn validate(&self) -> Result<(), AmiError> {
        check_header(b"Action", self.name.as_bytes(), MAX_LINE_BYTES)?;
        if let Some(id) = &self.action_id {
            check_header(b"ActionID", id.as_bytes(), MAX_LINE_BYTES)?;
        }
        for (k, v) in &self.headers {
            check_header(k.as_bytes(), v.as_bytes(), MAX_LINE_BYTES)?;
        }
        Ok(())
    }

    /// Writes `Action`, `ActionID` (when set), the headers and the blank line.
    ///
    /// Everything is validated first ([`Action::validate`]): on error not one byte is written.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), AmiError> {
        self.validate()?;
        let mut n = 10 + self.name.len() + 2;
        n += self.action_id.as_ref().map_or(0, |id| id.len() + 12);
        n += self
            .headers
            .iter()
            .map(|(k, v)| k.len() + v.len() + 4)
            .sum::<usize>();
        dst.reserve(n);
        put_line(dst, b"Action", self.name.as_bytes());
        if let Some(id) = &self.action_id {
            put_line(dst, b"ActionID", id.as_bytes());
        }
        for (k, v) in &self.headers {
            put_line(dst, k.as_bytes(), v.as_bytes());
        }
        dst.put_slice(b"\r\n");
        Ok(())
    }
}

fn put_line(dst: &mut BytesMut, k: &[u8], v: &[u8]) {
    dst.put_slice(k);
    dst.put_slice(b": ");
    dst.put_slice(v);
    dst.put_slice(b"\r\n");
}

pub(crate) fn check_header(k: &[u8], v: &[u8], max_line: usize) -> Result<(), AmiError> {
    let lossy = || String::from_utf8_lossy(&k[..k.len().min(80)]).into_owned();
    if k.iter().chain(v.iter()).any(|&b| b == b'\r' || b == b'\n') {
        return Err(AmiError::HeaderInjection { key: lossy() });
    }
    if k.is_empty() || k.contains(&b':') {
        return Err(AmiError::InvalidKey { key: lossy() });
    }
    let len = k.len() + 2 + v.len() + 2;
    if len > max_line {
        return Err(AmiError::LineTooLong {
            key: lossy(),
            len,
            max: max_line,
        });
    }
    Ok(())
}

fn is_secret(key: &str) -> bool {
    key.eq_ignore_ascii_case("Secret") || key.eq_ignore_ascii_case("Key")
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Headers<'a>(&'a [(String, String)]);
        impl fmt::Debug for Headers<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut l = f.debug_list();
                for (k, v) in self.0 {
                    if is_secret(k) {
                        l.entry(&(k, "<redacted>"));
                    } else {
                        l.entry(&(k, v));
                    }
                }
                l.finish()
            }
        }
        f.debug_struct("Action")
            .field("name", &self.name)
            .field("action_id", &self.action_id)
            .field("headers", &Headers(&self.headers))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_in_order_with_action_id_second() {
        let a = Action::new("Originate")
            .with_action_id("x-1")
            .header("Channel", "PJSIP/agent1001")
            .variable("A", "1")
            .variable("B", "2");
        let mut b = BytesMut::new();
        a.encode(&mut b).unwrap();
        assert_eq!(
            &b[..],
            b"Action: Originate\r\nActionID: x-1\r\nChannel: PJSIP/agent1001\r\nVariable: A=1\r\nVariable: B=2\r\n\r\n"
        );
    }

    #[test]
    fn refuses_injection_before_writing() {
        for (k, v) in [
            ("Channel", "a\r\nAction: Hangup"),
            ("Chan\nnel", "x"),
            ("Channel", "a\rb"),
        ] {
            let a = Action::new("Status")
                .with_action_id("1")
                .header("Ok", "fine")
                .header(k, v);
            let mut b = BytesMut::new();
            let e = a.encode(&mut b).unwrap_err();
            assert!(matches!(e, AmiError::HeaderInjection { .. }), "{e:?}");
            assert!(b.is_empty());
        }
        let mut b = BytesMut::new();
        assert!(Action::new("Ping\r\n").encode(&mut b).is_err());
        assert!(
            Action::new("Ping")
                .with_action_id("a\nb")
                .encode(&mut b)
                .is_err()
        );
        assert!(matches!(
            Action::new("Ping").header("A:b", "c").encode(&mut b),
            Err(AmiError::InvalidKey { .. })
        ));
        assert!(b.is_empty());
    }

    #[test]
    fn refuses_long_lines() {
        let ok = "x".repeat(MAX_LINE_BYTES - "Data: \r\n".len());
        let mut b = BytesMut::new();
        Action::new("UserEvent")
            .header("Data", ok.clone())
            .encode(&mut b)
            .unwrap();
        let mut b = BytesMut::new();
        let e = Action::new("UserEvent")
            .header("Data", ok + "x")
            .encode(&mut b)
            .unwrap_err();
        assert!(
            matches!(
                e,
                AmiError::LineTooLong {
                    len: 1025,
                    max: 1024,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(b.is_empty());
    }

    #[test]
    fn debug_redacts_secret() {
        let a = Action::new("Login")
            .header("Username", "ami")
            .header("Secret", "amipass");
        let d = format!("{a:?}");
        assert!(!d.contains("amipass"), "{d}");
        assert!(d.contains("ami"));
    }
}
