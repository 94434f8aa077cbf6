//! A minimal blocking AMI session (login, `CoreShowChannels`, `Hangup`), std only, so that a
//! guard can use it in `Drop`, also while a test panics inside a tokio runtime. Not a client
//! for anything else: `hookflash-ami` is that.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// One AMI message: its headers in order.
pub(crate) type Message = Vec<(String, String)>;

/// The value of `key` in `message` (keys compare case-insensitively, as Asterisk's do).
pub(crate) fn header<'a>(message: &'a Message, key: &str) -> Option<&'a str> {
    message
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

/// Splits complete messages (ended by a blank line) off the front of `buf`; a partial one
/// stays. Lines without `: ` (the banner, `--END COMMAND--`) are skipped.
pub(crate) fn take_messages(buf: &mut Vec<u8>) -> Vec<Message> {
    let mut out = Vec::new();
    while let Some(end) = find(buf, b"\r\n\r\n") {
        let raw: Vec<u8> = buf.drain(..end + 4).collect();
        let text = String::from_utf8_lossy(&raw);
        let message: Message = text
            .split("\r\n")
            .filter_map(|line| line.split_once(": "))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        if !message.is_empty() {
            out.push(message);
        }
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Renders an action; `None` when a value holds CR or LF (it would split the message).
pub(crate) fn render(action: &str, action_id: &str, headers: &[(&str, &str)]) -> Option<String> {
    let mut text = format!("Action: {action}\r\nActionID: {action_id}\r\n");
    for (k, v) in headers {
        if k.contains(['\r', '\n']) || v.contains(['\r', '\n']) {
            return None;
        }
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text.push_str("\r\n");
    Some(text)
}

/// A logged-in AMI session with a deadline on every exchange.
pub(crate) struct Session {
    stream: TcpStream,
    buf: Vec<u8>,
    pending: Vec<Message>,
    next_id: u32,
    timeout: Duration,
}

impl Session {
    /// Connects to `addr` and logs in with events off (only our answers come back).
    pub(crate) fn login(
        addr: &str,
        username: &str,
        secret: &str,
        timeout: Duration,
    ) -> io::Result<Self> {
        let sock = addr.to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("{addr}: no address"))
        })?;
        let stream = TcpStream::connect_timeout(&sock, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        let mut session = Self {
            stream,
            buf: Vec::new(),
            pending: Vec::new(),
            next_id: 0,
            timeout,
        };
        session.skip_banner()?;
        let answer = session.request(
            "Login",
            &[
                ("Username", username),
                ("Secret", secret),
                ("Events", "off"),
            ],
        )?;
        match header(&answer, "Response") {
            Some(r) if r.eq_ignore_ascii_case("Success") => Ok(session),
            _ => Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("AMI login refused: {answer:?}"),
            )),
        }
    }

    /// The names of the channels Asterisk has now.
    pub(crate) fn channels(&mut self) -> io::Result<Vec<String>> {
        let id = self.send("CoreShowChannels", &[])?;
        let mut names = Vec::new();
        let deadline = Instant::now() + self.timeout;
        loop {
            let message = self.read_for(&id, deadline)?;
            if header(&message, "Response").is_some_and(|r| r.eq_ignore_ascii_case("Error")) {
                return Err(io::Error::other(format!("CoreShowChannels: {message:?}")));
            }
            match header(&message, "Event") {
                Some(e) if e.eq_ignore_ascii_case("CoreShowChannel") => {
                    if let Some(name) = header(&message, "Channel") {
                        names.push(name.to_owned());
                    }
                }
                Some(e) if e.eq_ignore_ascii_case("CoreShowChannelsComplete") => return Ok(names),
                _ => {}
            }
        }
    }

    /// Hangs `channel` up; `Ok(false)` when Asterisk refused (it is already gone).
    pub(crate) fn hangup(&mut self, channel: &str) -> io::Result<bool> {
        let answer = self.request("Hangup", &[("Channel", channel), ("Cause", "16")])?;
        Ok(header(&answer, "Response").is_some_and(|r| r.eq_ignore_ascii_case("Success")))
    }

    fn request(&mut self, action: &str, headers: &[(&str, &str)]) -> io::Result<Message> {
        let id = self.send(action, headers)?;
        let deadline = Instant::now() + self.timeout;
        self.read_for(&id, deadline)
    }

    fn send(&mut self, action: &str, headers: &[(&str, &str)]) -> io::Result<String> {
        self.next_id = self.next_id.wrapping_add(1);
        let id = format!("hookflash-testkit-{}", self.next_id);
        let text = render(action, &id, headers).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "CR or LF in an AMI header")
        })?;
        self.stream.write_all(text.as_bytes())?;
        Ok(id)
    }

    /// The next message answering `id` (others are dropped).
    fn read_for(&mut self, id: &str, deadline: Instant) -> io::Result<Message> {
        loop {
            if let Some(i) = self
                .pending
                .iter()
                .position(|m| header(m, "ActionID") == Some(id))
            {
                return Ok(self.pending.remove(i));
            }
            self.pending.clear();
            self.fill(deadline)?;
            self.pending = take_messages(&mut self.buf);
        }
    }

    /// Reads the `Asterisk Call Manager/x.y` line.
    fn skip_banner(&mut self) -> io::Result<()> {
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Some(end) = find(&self.buf, b"\r\n") {
                self.buf.drain(..end + 2);
                return Ok(());
            }
            self.fill(deadline)?;
        }
    }

    fn fill(&mut self, deadline: Instant) -> io::Result<()> {
        if Instant::now() >= deadline {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "AMI answer late"));
        }
        let mut chunk = [0u8; 8192];
        let n = self.stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "AMI closed"));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_split_at_blank_lines_and_a_partial_one_waits() {
        let mut buf = b"Response: Success\r\nActionID: a1\r\n\r\nEvent: CoreShowChannel\r\nChannel: PJSIP/x-1\r\n\r\nEvent: Core"
            .to_vec();
        let got = take_messages(&mut buf);
        assert_eq!(got.len(), 2);
        assert_eq!(header(&got[0], "actionid"), Some("a1"));
        assert_eq!(header(&got[1], "Channel"), Some("PJSIP/x-1"));
        assert_eq!(buf, b"Event: Core");
    }

    #[test]
    fn a_header_value_with_cr_or_lf_is_not_rendered() {
        assert_eq!(
            render("Hangup", "7", &[("Channel", "PJSIP/a-1")]).as_deref(),
            Some("Action: Hangup\r\nActionID: 7\r\nChannel: PJSIP/a-1\r\n\r\n")
        );
        assert_eq!(
            render("Hangup", "7", &[("Channel", "a\r\nAction: X")]),
            None
        );
    }
}
