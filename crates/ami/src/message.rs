use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use crate::text::Text;

/// Byte offsets of one `Key: value` line inside a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) key_start: u32,
    pub(crate) key_end: u32,
    pub(crate) value_start: u32,
    pub(crate) value_end: u32,
}

/// What a message is, from its first header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// Starts with `Response:`.
    Response,
    /// Starts with `Event:`.
    Event,
    /// Starts with `Action:` (what a client sends).
    Action,
    /// Anything else.
    Unknown,
}

/// One AMI message: ordered `Key: value` headers, repeated keys kept in order.
///
/// The message keeps the frame's bytes as one shared [`Bytes`] and indexes into it, so decoding
/// copies nothing; [`Message::get`] hands out zero-copy [`Text`] slices. Key lookup ignores ASCII
/// case. A legacy (Asterisk ≤ 13) `Response: Follows` message also carries the command output
/// body up to `--END COMMAND--` ([`Message::body`]).
#[derive(Clone)]
pub struct Message {
    frame: Bytes,
    fields: Vec<Span>,
    body: Option<(u32, u32)>,
}

impl Message {
    pub(crate) fn from_parts(frame: Bytes, fields: Vec<Span>, body: Option<(u32, u32)>) -> Self {
        Message {
            frame,
            fields,
            body,
        }
    }

    /// Builds a message from ordered key/value pairs (for tests, mocks and replay).
    ///
    /// Keys and values are stored as given; [`Message::to_wire`] writes them back.
    pub fn from_pairs<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let mut buf = BytesMut::new();
        let mut fields = Vec::new();
        for (k, v) in pairs {
            let (k, v) = (k.as_ref(), v.as_ref());
            let key_start = buf.len() as u32;
            buf.put_slice(k);
            let key_end = buf.len() as u32;
            buf.put_slice(b": ");
            let value_start = buf.len() as u32;
            buf.put_slice(v);
            let value_end = buf.len() as u32;
            buf.put_slice(b"\r\n");
            fields.push(Span {
                key_start,
                key_end,
                value_start,
                value_end,
            });
        }
        buf.put_slice(b"\r\n");
        Message {
            frame: buf.freeze(),
            fields,
            body: None,
        }
    }

    pub(crate) fn spans(&self) -> &[Span] {
        &self.fields
    }

    #[inline]
    pub(crate) fn key_of(&self, s: &Span) -> &[u8] {
        &self.frame[s.key_start as usize..s.key_end as usize]
    }

    #[inline]
    pub(crate) fn value_of(&self, s: &Span) -> &[u8] {
        &self.frame[s.value_start as usize..s.value_end as usize]
    }

    #[inline]
    fn text_of(&self, s: &Span) -> Text {
        Text::new(
            self.frame
                .slice(s.value_start as usize..s.value_end as usize),
        )
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when the message has no header.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The headers in order, as raw byte slices.
    pub fn fields(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.fields
            .iter()
            .map(|s| (self.key_of(s), self.value_of(s)))
    }

    /// The headers in order, as zero-copy [`Text`] slices.
    pub fn fields_text(&self) -> impl Iterator<Item = (Text, Text)> + '_ {
        self.fields.iter().map(|s| {
            (
                Text::new(self.frame.slice(s.key_start as usize..s.key_end as usize)),
                self.text_of(s),
            )
        })
    }

    #[inline]
    fn find(&self, key: &str) -> Option<&Span> {
        let key = key.as_bytes();
        self.fields.iter().find(|s| {
            (s.key_end - s.key_start) as usize == key.len() && key_eq(self.key_of(s), key)
        })
    }

    /// The first value of `key` (ASCII case-insensitive), as raw bytes.
    pub fn get_bytes(&self, key: &str) -> Option<&[u8]> {
        self.find(key).map(|s| self.value_of(s))
    }

    /// The first value of `key` (ASCII case-insensitive), if it is UTF-8.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get_bytes(key)
            .and_then(|b| std::str::from_utf8(b).ok())
    }

    /// The first value of `key` (ASCII case-insensitive), as a zero-copy [`Text`].
    pub fn get(&self, key: &str) -> Option<Text> {
        self.find(key).map(|s| self.text_of(s))
    }

    /// Every value of `key` in order (for repeated keys such as `Output` or `Variable`).
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = Text> + 'a {
        let k = key.as_bytes();
        self.fields
            .iter()
            .filter(move |s| self.key_of(s).eq_ignore_ascii_case(k))
            .map(|s| self.text_of(s))
    }

    /// The first header's key.
    pub fn first_key(&self) -> Option<&[u8]> {
        self.fields.first().map(|s| self.key_of(s))
    }

    /// Whether this is a response, an event or an action.
    pub fn kind(&self) -> MessageKind {
        match self.first_key() {
            Some(k) if k.eq_ignore_ascii_case(b"Response") => MessageKind::Response,
            Some(k) if k.eq_ignore_ascii_case(b"Event") => MessageKind::Event,
            Some(k) if k.eq_ignore_ascii_case(b"Action") => MessageKind::Action,
            _ => MessageKind::Unknown,
        }
    }

    /// The value of the first header (event name, response status or action name).
    pub fn first_value(&self) -> Option<&[u8]> {
        self.fields.first().map(|s| self.value_of(s))
    }

    /// The event name when this is an event.
    pub fn event_name(&self) -> Option<&[u8]> {
        match self.kind() {
            MessageKind::Event => self.first_value(),
            _ => None,
        }
    }

    /// The `ActionID` header, if any.
    pub fn action_id(&self) -> Option<&[u8]> {
        self.get_bytes("ActionID")
    }

    /// The command output of a legacy `Response: Follows` message (without `--END COMMAND--`).
    pub fn body(&self) -> Option<Text> {
        self.body
            .map(|(a, b)| Text::new(self.frame.slice(a as usize..b as usize)))
    }

    /// The frame exactly as received (or as built by [`Message::from_pairs`]).
    pub fn frame(&self) -> &Bytes {
        &self.frame
    }

    /// Writes the message in wire form: one `Key: value\r\n` per header, the body if any, and
    /// the blank line.
    pub fn to_wire(&self, dst: &mut BytesMut) {
        for s in &self.fields {
            dst.put_slice(self.key_of(s));
            dst.put_slice(b": ");
            dst.put_slice(self.value_of(s));
            dst.put_slice(b"\r\n");
        }
        if let Some((a, b)) = self.body {
            dst.put_slice(&self.frame[a as usize..b as usize]);
            dst.put_slice(b"--END COMMAND--\r\n");
        }
        dst.put_slice(b"\r\n");
    }
}

/// ASCII case-insensitive equality, inlined: keys are short, most differ in the first byte.
#[inline]
pub(crate) fn key_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x == y || x.eq_ignore_ascii_case(y))
}

impl PartialEq for Message {
    fn eq(&self, other: &Self) -> bool {
        self.fields.len() == other.fields.len()
            && self.fields().zip(other.fields()).all(|(a, b)| a == b)
            && self.body().map(|t| t.bytes().clone()) == other.body().map(|t| t.bytes().clone())
    }
}

impl Eq for Message {}

const REDACTED_KEYS: [&[u8]; 2] = [b"Secret", b"Key"];

fn is_secret_key(key: &[u8]) -> bool {
    REDACTED_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in self.fields() {
            let key = String::from_utf8_lossy(k);
            if is_secret_key(k) {
                m.entry(&key, &"<redacted>");
            } else {
                m.entry(&key, &String::from_utf8_lossy(v));
            }
        }
        if let Some(body) = self.body() {
            m.entry(&"<body>", &body.to_str_lossy());
        }
        m.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_case_insensitive_and_repeats_are_ordered() {
        let m = Message::from_pairs([("Response", "Success"), ("Output", "a"), ("output", "b")]);
        assert_eq!(m.get_str("RESPONSE"), Some("Success"));
        let all: Vec<_> = m.get_all("Output").map(|t| t.to_string()).collect();
        assert_eq!(all, ["a", "b"]);
        assert_eq!(m.kind(), MessageKind::Response);
    }

    #[test]
    fn debug_redacts_secrets() {
        let m = Message::from_pairs([("Action", "Login"), ("Secret", "hunter2"), ("key", "abc")]);
        let d = format!("{m:?}");
        assert!(!d.contains("hunter2") && !d.contains("abc"), "{d}");
    }
}
