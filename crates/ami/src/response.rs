use crate::message::{Message, MessageKind};
use crate::text::Text;

/// The status line of a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseKind {
    /// `Response: Success`.
    Success,
    /// `Response: Error`.
    Error,
    /// `Response: Follows` (legacy `Command` output, Asterisk ≤ 13).
    Follows,
    /// `Response: Goodbye` (after `Logoff`).
    Goodbye,
    /// Any other status, kept as sent.
    Other(Text),
}

/// A typed view of a `Response:` message; the raw message stays available.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    kind: ResponseKind,
    raw: Message,
}

impl Response {
    /// Wraps `msg` when it is a response.
    pub fn from_message(msg: Message) -> Result<Response, Message> {
        if msg.kind() != MessageKind::Response {
            return Err(msg);
        }
        let v = msg.first_value().unwrap_or_default();
        let kind = if v.eq_ignore_ascii_case(b"Success") {
            ResponseKind::Success
        } else if v.eq_ignore_ascii_case(b"Error") {
            ResponseKind::Error
        } else if v.eq_ignore_ascii_case(b"Follows") {
            ResponseKind::Follows
        } else if v.eq_ignore_ascii_case(b"Goodbye") {
            ResponseKind::Goodbye
        } else {
            ResponseKind::Other(msg.get("Response").unwrap_or_default())
        };
        Ok(Response { kind, raw: msg })
    }

    /// A bare `Response: Success` (for a list whose response never came).
    pub(crate) fn synthetic_success() -> Response {
        Response {
            kind: ResponseKind::Success,
            raw: Message::from_pairs([("Response", "Success")]),
        }
    }

    /// The status.
    pub fn kind(&self) -> &ResponseKind {
        &self.kind
    }

    /// True for `Success`, `Follows` and `Goodbye`.
    pub fn is_success(&self) -> bool {
        matches!(
            self.kind,
            ResponseKind::Success | ResponseKind::Follows | ResponseKind::Goodbye
        )
    }

    /// True for `Error`.
    pub fn is_error(&self) -> bool {
        self.kind == ResponseKind::Error
    }

    /// `ActionID`.
    pub fn action_id(&self) -> Option<&str> {
        self.raw.get_str("ActionID")
    }

    /// `Message`, e.g. `Authentication accepted`.
    pub fn message(&self) -> Option<&str> {
        self.raw.get_str("Message")
    }

    /// Any header (ASCII case-insensitive).
    pub fn get(&self, key: &str) -> Option<Text> {
        self.raw.get(key)
    }

    /// True when the response announces an event list (`EventList: start`).
    pub fn starts_event_list(&self) -> bool {
        self.raw
            .get("EventList")
            .is_some_and(|v| v.eq_ignore_case("start"))
    }

    /// `Command` output as text, whatever the format: the `Output:` lines of Asterisk ≥ 14
    /// joined with `\n`, or the legacy `Response: Follows` body (without `--END COMMAND--`).
    pub fn output(&self) -> String {
        let mut out = String::new();
        for (i, line) in self.raw.get_all("Output").enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&line.to_str_lossy());
        }
        if out.is_empty()
            && let Some(body) = self.raw.body()
        {
            out = body
                .to_str_lossy()
                .trim_end_matches(['\r', '\n'])
                .to_string();
        }
        out
    }

    /// The raw message.
    pub fn raw(&self) -> &Message {
        &self.raw
    }

    /// Unwraps the raw message.
    pub fn into_raw(self) -> Message {
        self.raw
    }
}
