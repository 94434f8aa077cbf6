use bytes::{Buf, BytesMut};
use memchr::memchr;

use crate::env::AgiEnv;
use crate::error::{AgiError, snippet};
use crate::reply::{Reply, parse_status, parse_success};

/// Default maximum length of one line (8 KiB; Asterisk reads commands into 2 KiB and a
/// variable's value rarely comes close).
pub const DEFAULT_MAX_LINE_BYTES: usize = 8 * 1024;
/// Default maximum number of variables in the environment block (Asterisk sends about 25
/// plus one per AGI() argument, and at most 128 arguments).
pub const DEFAULT_MAX_ENV_VARS: usize = 256;
/// Default maximum number of lines of a `520-` usage text.
pub const DEFAULT_MAX_USAGE_LINES: usize = 256;

const END_OF_USAGE: &[u8] = b"520 End of proper usage.";

/// One decoded unit of what Asterisk sends a FastAGI server.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Frame {
    /// The `agi_*` environment block (first, once per connection).
    Env(AgiEnv),
    /// A reply to the command sent last.
    Reply(Reply),
    /// The `HANGUP` line: the channel hung up. Asterisk sends it on its own, at any point
    /// between replies; the reply to a command in flight still follows it.
    Hangup,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Reading the environment block.
    Env,
    /// A bad environment line was reported: dropping lines up to the block's blank line.
    EnvSkip,
    /// Reading replies and `HANGUP` lines.
    Replies,
}

/// The AGI codec: sans-IO, bytes in, [`Frame`]s out.
///
/// It reads what Asterisk sends on a FastAGI connection: the environment block (ended by an
/// empty line), then replies (`200`, `510`, `511`, single-line and multi-line `520`, other
/// statuses) with `HANGUP` lines anywhere between them. Lines end with `\n` (a `\r` before it
/// is dropped) and may arrive split at any byte. Stray empty lines between replies are
/// ignored.
///
/// Limits: a line longer than [`AgiCodec::max_line_bytes`] is reported as
/// [`AgiError::LineTooLong`] and skipped to its end (the codec holds at most about one line);
/// more environment variables than [`AgiCodec::max_env_vars`] or a usage text longer than
/// [`AgiCodec::max_usage_lines`] are reported once and the rest of that block is dropped.
/// Every error consumes input: call [`AgiCodec::decode_frame`] again to go on. Nothing in
/// here panics on any input.
#[derive(Debug)]
pub struct AgiCodec {
    max_line: usize,
    max_env: usize,
    max_usage: usize,
    phase: Phase,
    env: AgiEnv,
    /// In a `520-` reply: the usage lines so far.
    usage: Option<Vec<String>>,
    /// Dropping the rest of a usage text that was too long.
    usage_skip: bool,
    /// Dropping the rest of a line that was too long.
    skipping: bool,
}

impl Default for AgiCodec {
    fn default() -> Self {
        AgiCodec::new(
            DEFAULT_MAX_LINE_BYTES,
            DEFAULT_MAX_ENV_VARS,
            DEFAULT_MAX_USAGE_LINES,
        )
    }
}

impl AgiCodec {
    /// A codec with the given limits (each at least 1; lines at least 64 bytes) expecting
    /// the environment block first.
    pub fn new(max_line_bytes: usize, max_env_vars: usize, max_usage_lines: usize) -> Self {
        AgiCodec {
            max_line: max_line_bytes.max(64),
            max_env: max_env_vars.max(1),
            max_usage: max_usage_lines.max(1),
            phase: Phase::Env,
            env: AgiEnv::default(),
            usage: None,
            usage_skip: false,
            skipping: false,
        }
    }

    /// A codec past the environment block, reading replies only.
    pub fn replies_only() -> Self {
        AgiCodec {
            phase: Phase::Replies,
            ..AgiCodec::default()
        }
    }

    /// The line length limit.
    pub fn max_line_bytes(&self) -> usize {
        self.max_line
    }

    /// The environment variable count limit.
    pub fn max_env_vars(&self) -> usize {
        self.max_env
    }

    /// The usage text line limit.
    pub fn max_usage_lines(&self) -> usize {
        self.max_usage
    }

    /// True once the environment block was decoded.
    pub fn env_done(&self) -> bool {
        self.phase == Phase::Replies
    }

    /// Forgets a partial multi-line block after a bad or too long line.
    fn drop_partial(&mut self) {
        match self.phase {
            Phase::Env | Phase::EnvSkip => {
                self.env = AgiEnv::default();
                self.phase = Phase::EnvSkip;
            }
            Phase::Replies => {
                if self.usage.take().is_some() {
                    self.usage_skip = true;
                }
            }
        }
    }

    /// Decodes the next frame from `buf`, consuming its bytes.
    ///
    /// `Ok(None)`: more bytes are needed. `Err(e)` ([`AgiError::is_protocol_error`]): the bad
    /// input was consumed; call again to go on.
    pub fn decode_frame(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, AgiError> {
        loop {
            if self.skipping {
                match memchr(b'\n', buf) {
                    Some(nl) => {
                        buf.advance(nl + 1);
                        self.skipping = false;
                    }
                    None => {
                        buf.clear();
                        return Ok(None);
                    }
                }
            }
            let Some(nl) = memchr(b'\n', buf) else {
                if buf.len() > self.max_line {
                    buf.clear();
                    self.skipping = true;
                    self.drop_partial();
                    return Err(AgiError::LineTooLong {
                        limit: self.max_line,
                    });
                }
                return Ok(None);
            };
            if nl > self.max_line {
                buf.advance(nl + 1);
                self.drop_partial();
                return Err(AgiError::LineTooLong {
                    limit: self.max_line,
                });
            }
            let line = buf.split_to(nl + 1);
            let line = match &line[..nl] {
                [head @ .., b'\r'] => head,
                l => l,
            };
            if let Some(frame) = self.line(line)? {
                return Ok(Some(frame));
            }
        }
    }

    /// Handles one complete line (without its line end).
    fn line(&mut self, line: &[u8]) -> Result<Option<Frame>, AgiError> {
        match self.phase {
            Phase::EnvSkip => {
                if line.is_empty() {
                    self.phase = Phase::Env;
                }
                Ok(None)
            }
            Phase::Env => self.env_line(line),
            Phase::Replies => self.reply_line(line),
        }
    }

    fn env_line(&mut self, line: &[u8]) -> Result<Option<Frame>, AgiError> {
        if line.is_empty() {
            if self.env.len() == 0 {
                // A stray empty line before the block: nothing to end.
                return Ok(None);
            }
            self.phase = Phase::Replies;
            return Ok(Some(Frame::Env(std::mem::take(&mut self.env))));
        }
        let bad = || AgiError::MalformedEnv {
            line: snippet(line),
        };
        let Some(colon) = memchr(b':', line) else {
            self.drop_partial();
            return Err(bad());
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        let Some(name) = name.strip_prefix(b"agi_") else {
            self.drop_partial();
            return Err(bad());
        };
        if name.is_empty() || !name.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_') {
            self.drop_partial();
            return Err(bad());
        }
        if self.env.len() >= self.max_env {
            self.drop_partial();
            return Err(AgiError::EnvTooLarge {
                limit: self.max_env,
            });
        }
        let value = value.strip_prefix(b" ").unwrap_or(value);
        self.env.push(
            String::from_utf8_lossy(name).into_owned(),
            String::from_utf8_lossy(value).into_owned(),
        );
        Ok(None)
    }

    fn reply_line(&mut self, line: &[u8]) -> Result<Option<Frame>, AgiError> {
        // Inside a multi-line 520 every line is usage text up to the end marker. Old
        // versions wrote the usage without a final newline, so the marker may end a line.
        if self.usage.is_some() || self.usage_skip {
            let end = line.ends_with(END_OF_USAGE);
            let text = if end {
                &line[..line.len() - END_OF_USAGE.len()]
            } else {
                line
            };
            if self.usage_skip {
                self.usage_skip = !end;
                return Ok(None);
            }
            let Some(usage) = self.usage.as_mut() else {
                return Ok(None);
            };
            if !end || !text.is_empty() {
                if usage.len() >= self.max_usage {
                    self.usage = None;
                    self.usage_skip = !end;
                    return Err(AgiError::UsageTooLong {
                        limit: self.max_usage,
                    });
                }
                usage.push(String::from_utf8_lossy(text).into_owned());
            }
            if end {
                let lines = self.usage.take().unwrap_or_default();
                return Ok(Some(Frame::Reply(Reply::Usage(lines.join("\n")))));
            }
            return Ok(None);
        }
        if line.is_empty() {
            return Ok(None);
        }
        if line == b"HANGUP" {
            return Ok(Some(Frame::Hangup));
        }
        let (code, continued, rest) = parse_status(line)?;
        let reply = match (code, continued) {
            (200, false) => Reply::Success(parse_success(line, rest)?),
            (510, false) => Reply::InvalidCommand,
            (511, false) => Reply::DeadChannel,
            (520, false) => Reply::Usage(String::new()),
            (520, true) => {
                self.usage = Some(Vec::new());
                return Ok(None);
            }
            (_, true) => {
                return Err(AgiError::MalformedReply {
                    line: snippet(line),
                });
            }
            (code, false) => Reply::Other {
                code,
                text: String::from_utf8_lossy(rest).into_owned(),
            },
        };
        Ok(Some(Frame::Reply(reply)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::Success;

    fn all(codec: &mut AgiCodec, bytes: &[u8]) -> Vec<Result<Frame, String>> {
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        loop {
            match codec.decode_frame(&mut buf) {
                Ok(Some(f)) => out.push(Ok(f)),
                Ok(None) => return out,
                Err(e) => out.push(Err(e.to_string())),
            }
        }
    }

    const ENV: &[u8] = b"agi_network: yes\nagi_network_script: callback\nagi_request: agi://127.0.0.1:4573/callback\nagi_channel: PJSIP/carrier-00000001\nagi_uniqueid: 1733140000.12\nagi_callerid: 5551204005\nagi_arg_1: x\n\n";

    #[test]
    fn env_block_then_replies_and_inline_hangup() {
        let mut c = AgiCodec::default();
        let mut bytes = ENV.to_vec();
        bytes.extend_from_slice(b"200 result=0\nHANGUP\n200 result=-1\n");
        let frames = all(&mut c, &bytes);
        let Ok(Frame::Env(env)) = &frames[0] else {
            panic!("{frames:?}")
        };
        assert_eq!(env.script_path(), "callback");
        assert_eq!(env.uniqueid(), Some("1733140000.12"));
        assert_eq!(env.channel(), Some("PJSIP/carrier-00000001"));
        assert_eq!(env.caller_number(), Some("5551204005"));
        assert_eq!(env.args(), vec!["x"]);
        assert_eq!(frames[2], Ok(Frame::Hangup));
        let Ok(Frame::Reply(Reply::Success(s))) = &frames[3] else {
            panic!("{frames:?}")
        };
        assert!(s.is_failure());
        assert_eq!(frames.len(), 4);
    }

    #[test]
    fn statuses_510_511_520() {
        let mut c = AgiCodec::replies_only();
        let frames = all(
            &mut c,
            b"510 Invalid or unknown command\n511 Command Not Permitted on a dead channel or intercept routine\n520 Invalid command syntax.  Proper usage not available.\n520-Invalid command syntax.  Proper usage follows:\n Usage: GET DATA <file> [timeout] [maxdigits]\n  Stream the given file.\n520 End of proper usage.\n503 result=-2 Memory allocation failure\n",
        );
        assert_eq!(
            frames,
            vec![
                Ok(Frame::Reply(Reply::InvalidCommand)),
                Ok(Frame::Reply(Reply::DeadChannel)),
                Ok(Frame::Reply(Reply::Usage(String::new()))),
                Ok(Frame::Reply(Reply::Usage(
                    " Usage: GET DATA <file> [timeout] [maxdigits]\n  Stream the given file."
                        .to_owned()
                ))),
                Ok(Frame::Reply(Reply::Other {
                    code: 503,
                    text: "result=-2 Memory allocation failure".to_owned()
                })),
            ]
        );
    }

    #[test]
    fn usage_glued_to_end_marker_and_a_hangup_like_usage_line() {
        let mut c = AgiCodec::replies_only();
        let frames = all(
            &mut c,
            b"520-Invalid command syntax.  Proper usage follows:\nHANGUP\nAnswers channel.520 End of proper usage.\n200 result=0\n",
        );
        assert_eq!(
            frames[0],
            Ok(Frame::Reply(Reply::Usage(
                "HANGUP\nAnswers channel.".to_owned()
            )))
        );
        assert_eq!(
            frames[1],
            Ok(Frame::Reply(Reply::Success(Success {
                result: "0".into(),
                ..Success::default()
            })))
        );
    }

    #[test]
    fn split_at_every_byte_and_crlf() {
        let bytes = b"agi_channel: SIP/a\r\n\r\nHANGUP\r\n200 result=1 (v a l)\r\n";
        let mut c = AgiCodec::default();
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        for b in bytes {
            buf.extend_from_slice(&[*b]);
            while let Some(f) = c.decode_frame(&mut buf).unwrap() {
                frames.push(f);
            }
        }
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[1], Frame::Hangup);
    }

    #[test]
    fn long_line_is_reported_once_and_skipped() {
        let mut c = AgiCodec::new(64, 8, 4);
        c.phase = Phase::Replies;
        let mut buf = BytesMut::from(&[b'x'; 100][..]);
        assert!(matches!(
            c.decode_frame(&mut buf),
            Err(AgiError::LineTooLong { limit: 64 })
        ));
        assert!(buf.is_empty());
        buf.extend_from_slice(&[b'y'; 100]);
        buf.extend_from_slice(b"\n200 result=0\n");
        assert!(matches!(
            c.decode_frame(&mut buf),
            Ok(Some(Frame::Reply(Reply::Success(_))))
        ));
    }

    #[test]
    fn env_limits_and_malformed_lines_skip_the_block() {
        let mut c = AgiCodec::new(64, 2, 4);
        let frames = all(
            &mut c,
            b"agi_a: 1\nagi_b: 2\nagi_c: 3\nagi_d: 4\n\nagi_e: 5\n\n",
        );
        assert_eq!(frames.len(), 2, "{frames:?}");
        assert!(frames[0].is_err());
        assert_eq!(frames[1], Ok(Frame::Env(AgiEnv::from_pairs([("e", "5")]))));
        let mut c = AgiCodec::default();
        let frames = all(&mut c, b"not an env line\nagi_x: 1\n\n");
        assert!(frames[0].is_err());
        assert_eq!(frames.len(), 1);
    }

    #[test]
    fn usage_too_long_is_reported_and_its_rest_dropped() {
        let mut c = AgiCodec::new(64, 8, 2);
        c.phase = Phase::Replies;
        let frames = all(
            &mut c,
            b"520-x\na\nb\nc\nd\n520 End of proper usage.\n200 result=1\n",
        );
        assert_eq!(frames.len(), 2, "{frames:?}");
        assert!(frames[0].is_err());
        assert!(matches!(frames[1], Ok(Frame::Reply(Reply::Success(_)))));
    }

    #[test]
    fn garbage_replies_are_errors_not_panics() {
        let mut c = AgiCodec::replies_only();
        let frames = all(
            &mut c,
            b"hello\n200-x\n200 result\n\xff\xfe\n200 result=1\n",
        );
        assert_eq!(frames.iter().filter(|f| f.is_err()).count(), 4);
        assert!(frames[4].is_ok());
    }
}
