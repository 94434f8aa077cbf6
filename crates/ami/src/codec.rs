use bytes::{Buf, BytesMut};
use memchr::memchr;
use nom::IResult;
use nom::Parser;
use nom::bytes::complete::{tag, take_while1};
use tokio_util::codec::{Decoder, Encoder};

use crate::action::Action;
use crate::error::AmiError;
use crate::message::{Message, Span};
use crate::text::Text;

/// Default maximum size of one frame (1 MiB: a large `Command` output fits).
pub const DEFAULT_MAX_FRAME_BYTES: usize = 1024 * 1024;
/// Default maximum number of headers in one frame.
pub const DEFAULT_MAX_HEADERS: usize = 4096;

const END_COMMAND: &[u8] = b"--END COMMAND--";

/// One decoded unit of the AMI byte stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// The greeting line the server sends first, e.g. `Asterisk Call Manager/11.0.0`.
    Banner(Text),
    /// A response, an event (or, server side, an action).
    Message(Message),
}

/// The version in an `Asterisk Call Manager/<version>` banner.
pub fn banner_version(banner: &[u8]) -> Option<&str> {
    fn parse(i: &[u8]) -> IResult<&[u8], &[u8]> {
        let (i, _) = tag(&b"Asterisk Call Manager/"[..]).parse(i)?;
        take_while1(|c: u8| c.is_ascii_alphanumeric() || c == b'.' || c == b'-').parse(i)
    }
    parse(banner)
        .ok()
        .and_then(|(_, v)| std::str::from_utf8(v).ok())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Follows {
    /// Not a `Response: Follows` message.
    No,
    /// In the headers of a `Response: Follows` message.
    Headers,
    /// In its body; the value is where the body started.
    Body(usize),
    /// After `--END COMMAND--`, waiting for the blank line.
    Done,
}

/// The AMI framing codec: sans-IO, usable with `tokio_util::codec` or by hand.
///
/// Decoding turns bytes into [`Frame`]s: first the banner line (when the first line of the
/// stream has no `:`), then messages up to a blank line. It copes with frames split at any byte,
/// bare-`\n` line ends, a frame ended by `\r\n\n`, stray blank lines between frames, values
/// holding `: `, empty values, non-UTF-8 bytes (kept as they are) and the legacy
/// `Response: Follows` body up to `--END COMMAND--`.
///
/// Limits: a frame longer than [`AmiCodec::max_frame_bytes`] or with more headers than
/// [`AmiCodec::max_headers`], or holding a line that is not `Key: value`, is reported once as
/// a typed error ([`AmiError::is_frame_error`]); the codec then discards input up to the next
/// blank line and decodes normally from there. It never holds more than about the frame limit
/// of a frame it is skipping. Call [`AmiCodec::decode_frame`] again after such an error.
/// (`tokio_util`'s `FramedRead` ends its stream after a decoder error; the [`crate::AmiClient`]
/// drives the codec directly and logs and skips bad frames.)
///
/// Encoding writes an [`Action`] (or a [`Message`]); see [`Action`] for what is refused.
#[derive(Debug)]
pub struct AmiCodec {
    max_frame: usize,
    max_headers: usize,
    banner_pending: bool,
    skipping: bool,
    skip_at_line_start: bool,
    scan: usize,
    fields: Vec<Span>,
    follows: Follows,
    body: Option<(u32, u32)>,
}

impl Default for AmiCodec {
    fn default() -> Self {
        AmiCodec::new(DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_HEADERS)
    }
}

impl AmiCodec {
    /// A codec with the given limits that expects a banner first.
    pub fn new(max_frame_bytes: usize, max_headers: usize) -> Self {
        AmiCodec {
            max_frame: max_frame_bytes.max(64),
            max_headers: max_headers.max(1),
            banner_pending: true,
            skipping: false,
            skip_at_line_start: true,
            scan: 0,
            fields: Vec::with_capacity(24),
            follows: Follows::No,
            body: None,
        }
    }

    /// A codec for the server side of a connection: no banner is expected.
    pub fn server() -> Self {
        AmiCodec {
            banner_pending: false,
            ..AmiCodec::default()
        }
    }

    /// The frame size limit.
    pub fn max_frame_bytes(&self) -> usize {
        self.max_frame
    }

    /// The header count limit.
    pub fn max_headers(&self) -> usize {
        self.max_headers
    }

    fn reset_frame(&mut self) {
        self.scan = 0;
        self.fields.clear();
        self.follows = Follows::No;
        self.body = None;
    }

    /// Drops the scanned part of a bad frame and switches to skipping mode.
    fn fail(
        &mut self,
        buf: &mut BytesMut,
        consumed: usize,
        err: AmiError,
    ) -> Result<Option<Frame>, AmiError> {
        let consumed = consumed.min(buf.len());
        // Whether what follows starts a fresh line decides if a lone "\r\n" ends the skip.
        self.skip_at_line_start = consumed == 0 || buf[consumed - 1] == b'\n';
        buf.advance(consumed);
        self.reset_frame();
        self.skipping = true;
        Err(err)
    }

    /// Discards input up to and including the next blank line. True when done.
    fn skip(&mut self, buf: &mut BytesMut) -> bool {
        loop {
            match memchr(b'\n', buf) {
                Some(nl) => {
                    let blank =
                        self.skip_at_line_start && (nl == 0 || (nl == 1 && buf[0] == b'\r'));
                    buf.advance(nl + 1);
                    self.skip_at_line_start = true;
                    if blank {
                        self.skipping = false;
                        return true;
                    }
                }
                None => {
                    // Keep a lone "\r" at a line start: it may be half of the blank line.
                    if self.skip_at_line_start && buf.len() == 1 && buf[0] == b'\r' {
                        return false;
                    }
                    if !buf.is_empty() {
                        self.skip_at_line_start = false;
                        buf.clear();
                    }
                    return false;
                }
            }
        }
    }

    /// Decodes the next frame from `buf`, consuming its bytes.
    ///
    /// `Ok(None)`: more bytes are needed. `Err(e)` with [`AmiError::is_frame_error`]: the frame
    /// was bad and is being skipped; call again to go on.
    pub fn decode_frame(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, AmiError> {
        if self.skipping && !self.skip(buf) {
            return Ok(None);
        }
        loop {
            let start = self.scan;
            let Some(rel) = find_newline(&buf[start..]) else {
                if buf.len() > self.max_frame {
                    let limit = self.max_frame;
                    let len = buf.len();
                    return self.fail(buf, len, AmiError::FrameTooLarge { limit });
                }
                return Ok(None);
            };
            let nl = start + rel;
            let next = nl + 1;
            if next > self.max_frame {
                let limit = self.max_frame;
                return self.fail(buf, next, AmiError::FrameTooLarge { limit });
            }
            let end = if nl > start && buf[nl - 1] == b'\r' {
                nl - 1
            } else {
                nl
            };

            if self.banner_pending {
                self.banner_pending = false;
                if start == 0 && end > 0 && memchr(b':', &buf[..end]).is_none() {
                    let line = buf.split_to(next).freeze().slice(..end);
                    return Ok(Some(Frame::Banner(Text::new(line))));
                }
            }

            match self.follows {
                Follows::Body(body_start) => {
                    if &buf[start..end] == END_COMMAND {
                        self.follows = Follows::Done;
                        self.body = Some((body_start as u32, start as u32));
                    }
                    self.scan = next;
                    continue;
                }
                Follows::Headers if end > start && !is_follows_header(&buf[start..end]) => {
                    if &buf[start..end] == END_COMMAND {
                        // A command without output.
                        self.follows = Follows::Done;
                        self.body = Some((start as u32, start as u32));
                    } else {
                        self.follows = Follows::Body(start);
                    }
                    self.scan = next;
                    continue;
                }
                _ => {}
            }

            if end == start {
                if self.fields.is_empty() {
                    // A stray blank line between frames (e.g. after Park's "\n\r\n\r\n").
                    buf.advance(next);
                    self.scan = 0;
                    continue;
                }
                let frame = buf.split_to(next).freeze();
                let fields = std::mem::replace(&mut self.fields, Vec::with_capacity(24));
                let body = self.body.take();
                self.scan = 0;
                self.follows = Follows::No;
                return Ok(Some(Frame::Message(Message::from_parts(
                    frame, fields, body,
                ))));
            }

            let line = &buf[start..end];
            // Keys are short: a plain scan beats memchr's vector setup here.
            let Some(colon) = line.iter().position(|&b| b == b':').filter(|&c| c > 0) else {
                let shown = &line[..line.len().min(80)];
                let err = AmiError::MalformedLine {
                    line: String::from_utf8_lossy(shown).into_owned(),
                };
                return self.fail(buf, next, err);
            };
            if self.fields.len() >= self.max_headers {
                let limit = self.max_headers;
                return self.fail(buf, next, AmiError::TooManyHeaders { limit });
            }
            let key_end = start + colon;
            let mut value_start = key_end + 1;
            if value_start < end && buf[value_start] == b' ' {
                value_start += 1;
            }
            self.fields.push(Span {
                key_start: start as u32,
                key_end: key_end as u32,
                value_start: value_start as u32,
                value_end: end as u32,
            });
            if self.fields.len() == 1
                && buf[start..key_end].eq_ignore_ascii_case(b"Response")
                && buf[value_start..end].eq_ignore_ascii_case(b"Follows")
            {
                self.follows = Follows::Headers;
            }
            self.scan = next;
        }
    }
}

/// The first `\n` in `hay`. AMI lines are short (about 25 bytes), so a word-at-a-time scan of
/// the first 64 bytes beats a vectorised search's setup; longer lines go to `memchr`.
#[inline]
fn find_newline(hay: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = LO * b'\n' as u64;
    let head = hay.len().min(64);
    let mut i = 0;
    while i + 8 <= head {
        let mut w = [0u8; 8];
        w.copy_from_slice(&hay[i..i + 8]);
        let x = u64::from_le_bytes(w) ^ NL;
        let found = x.wrapping_sub(LO) & !x & HI;
        if found != 0 {
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    memchr(b'\n', &hay[i..]).map(|p| p + i)
}

fn is_follows_header(line: &[u8]) -> bool {
    let Some(colon) = memchr(b':', line) else {
        return false;
    };
    let key = &line[..colon];
    key.eq_ignore_ascii_case(b"Privilege") || key.eq_ignore_ascii_case(b"ActionID")
}

impl Decoder for AmiCodec {
    type Item = Frame;
    type Error = AmiError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, AmiError> {
        self.decode_frame(src)
    }
}

impl Encoder<&Action> for AmiCodec {
    type Error = AmiError;

    fn encode(&mut self, item: &Action, dst: &mut BytesMut) -> Result<(), AmiError> {
        item.encode(dst)
    }
}

impl Encoder<Action> for AmiCodec {
    type Error = AmiError;

    fn encode(&mut self, item: Action, dst: &mut BytesMut) -> Result<(), AmiError> {
        item.encode(dst)
    }
}

impl Encoder<&Message> for AmiCodec {
    type Error = AmiError;

    /// Writes a raw message, refusing CR/LF in keys and values like [`Action::encode`] (no line
    /// length limit: servers and mocks write long lines).
    fn encode(&mut self, item: &Message, dst: &mut BytesMut) -> Result<(), AmiError> {
        for (k, v) in item.fields() {
            crate::action::check_header(k, v, usize::MAX)?;
        }
        item.to_wire(dst);
        Ok(())
    }
}

/// Convenience: decodes every message of a complete byte stream (banner skipped), collecting
/// frame errors instead of stopping. Used by tests, benches and the mock.
pub fn decode_all(bytes: &[u8]) -> (Vec<Message>, Vec<AmiError>) {
    let mut codec = AmiCodec::default();
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    let mut errs = Vec::new();
    loop {
        match codec.decode_frame(&mut buf) {
            Ok(Some(Frame::Message(m))) => out.push(m),
            Ok(Some(Frame::Banner(_))) => {}
            Ok(None) => break,
            Err(e) => errs.push(e),
        }
    }
    (out, errs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_split(data: &[u8], at: &[usize]) -> (Vec<Frame>, Vec<AmiError>) {
        let mut c = AmiCodec::default();
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        let mut errs = Vec::new();
        let mut prev = 0;
        for &p in at.iter().chain(std::iter::once(&data.len())) {
            buf.extend_from_slice(&data[prev..p]);
            prev = p;
            loop {
                match c.decode_frame(&mut buf) {
                    Ok(Some(f)) => frames.push(f),
                    Ok(None) => break,
                    Err(e) => errs.push(e),
                }
            }
        }
        (frames, errs)
    }

    fn msgs(frames: &[Frame]) -> Vec<&Message> {
        frames
            .iter()
            .filter_map(|f| match f {
                Frame::Message(m) => Some(m),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn banner_then_messages_split_everywhere() {
        let data = b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: a-1\r\nMessage: Authentication accepted\r\n\r\nEvent: FullyBooted\r\nPrivilege: system,all\r\n\r\n";
        for i in 0..data.len() {
            let (frames, errs) = decode_split(data, &[i]);
            assert!(errs.is_empty());
            assert_eq!(frames.len(), 3, "split at {i}");
            match &frames[0] {
                Frame::Banner(b) => assert_eq!(banner_version(b.as_bytes()), Some("11.0.0")),
                f => panic!("{f:?}"),
            }
            let m = msgs(&frames);
            assert_eq!(m[0].get_str("actionid"), Some("a-1"));
            assert_eq!(m[1].event_name(), Some(&b"FullyBooted"[..]));
        }
    }

    #[test]
    fn park_bare_lf_and_lf_terminated_frames() {
        let data = b"Response: Success\r\nActionID: p\r\nMessage: Park successful\n\r\n\r\nEvent: A\nX: 1\n\nEvent: B\r\nY: 2\r\n\nEvent: C\r\n\r\n";
        let (frames, errs) = decode_split(data, &[]);
        assert!(errs.is_empty(), "{errs:?}");
        let m = msgs(&frames);
        assert_eq!(m.len(), 4);
        assert_eq!(m[0].get_str("Message"), Some("Park successful"));
        assert_eq!(m[1].get_str("X"), Some("1"));
        assert_eq!(m[2].get_str("Y"), Some("2"));
        assert_eq!(m[3].event_name(), Some(&b"C"[..]));
    }

    #[test]
    fn values_with_colons_empty_values_and_non_utf8() {
        let mut data = b"Event: VarSet\r\nValue: a: b: c\r\nEmpty: \r\nBare:\r\nRaw: ".to_vec();
        data.extend_from_slice(&[0xff, 0xfe, b'x']);
        data.extend_from_slice(b"\r\n\r\n");
        let (frames, errs) = decode_split(&data, &[]);
        assert!(errs.is_empty());
        let m = msgs(&frames)[0];
        assert_eq!(m.get_str("Value"), Some("a: b: c"));
        assert_eq!(m.get_str("Empty"), Some(""));
        assert_eq!(m.get_str("Bare"), Some(""));
        let raw = m.get("Raw").unwrap();
        assert_eq!(raw.as_bytes(), &[0xff, 0xfe, b'x']);
        assert!(raw.as_str().is_none());
        assert_eq!(raw.to_str_lossy(), "\u{fffd}\u{fffd}x");
    }

    #[test]
    fn legacy_follows_body() {
        let data = b"Response: Follows\r\nPrivilege: Command\r\nActionID: c-1\r\nChannel  Location\nUptime: 5 s\n\nline after blank\n--END COMMAND--\r\n\r\nEvent: X\r\n\r\n";
        for i in 0..data.len() {
            let (frames, errs) = decode_split(data, &[i]);
            assert!(errs.is_empty());
            let m = msgs(&frames);
            assert_eq!(m.len(), 2, "split {i}");
            let r = crate::Response::from_message(m[0].clone()).unwrap();
            assert_eq!(r.kind(), &crate::ResponseKind::Follows);
            assert_eq!(r.action_id(), Some("c-1"));
            assert_eq!(
                r.output(),
                "Channel  Location\nUptime: 5 s\n\nline after blank"
            );
        }
    }

    #[test]
    fn legacy_follows_without_output() {
        let data =
            b"Response: Follows\r\nPrivilege: Command\r\n--END COMMAND--\r\n\r\nEvent: X\r\n\r\n";
        let (frames, errs) = decode_split(data, &[]);
        assert!(errs.is_empty());
        let m = msgs(&frames);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].body().unwrap().as_bytes(), b"");
    }

    #[test]
    fn malformed_frame_is_an_error_then_resync() {
        let data = b"Event: A\r\nthis line has no colon\r\nB: 1\r\n\r\nEvent: Good\r\n\r\n";
        for i in 0..data.len() {
            let (frames, errs) = decode_split(data, &[i]);
            assert_eq!(errs.len(), 1, "split {i}");
            assert!(errs[0].is_frame_error());
            let m = msgs(&frames);
            assert_eq!(m.len(), 1, "split {i}");
            assert_eq!(m[0].event_name(), Some(&b"Good"[..]));
        }
    }

    #[test]
    fn oversized_frame_is_skipped_without_buffering() {
        let mut c = AmiCodec::new(256, 8);
        let mut buf = BytesMut::new();
        buf.extend_from_slice(b"Event: Big\r\n");
        let mut errs = 0;
        for _ in 0..1000 {
            buf.extend_from_slice(&[b'x'; 100]);
            match c.decode_frame(&mut buf) {
                Err(AmiError::FrameTooLarge { limit: 256 }) => errs += 1,
                Ok(None) => {}
                other => panic!("{other:?}"),
            }
            assert!(buf.len() <= 400, "buffered {}", buf.len());
        }
        assert_eq!(errs, 1);
        buf.extend_from_slice(b"\r\n\r\nEvent: After\r\n\r\n");
        let f = c.decode_frame(&mut buf).unwrap().unwrap();
        assert!(matches!(f, Frame::Message(m) if m.event_name() == Some(&b"After"[..])));
    }

    #[test]
    fn too_many_headers() {
        let mut c = AmiCodec::new(1 << 20, 3);
        let mut buf =
            BytesMut::from(&b"Event: A\r\nB: 1\r\nC: 2\r\nD: 3\r\n\r\nEvent: Ok\r\n\r\n"[..]);
        assert!(matches!(
            c.decode_frame(&mut buf),
            Err(AmiError::TooManyHeaders { limit: 3 })
        ));
        assert!(matches!(
            c.decode_frame(&mut buf),
            Ok(Some(Frame::Message(_)))
        ));
    }

    #[test]
    fn find_newline_matches_memchr() {
        let mut data = vec![b'a'; 200];
        for pos in 0..200 {
            data[pos] = b'\n';
            for start in 0..pos.min(70) {
                assert_eq!(
                    find_newline(&data[start..]),
                    memchr(b'\n', &data[start..]),
                    "{pos} {start}"
                );
            }
            data[pos] = 0x8a; // high bit set, low bits of '\n'
            assert_eq!(find_newline(&data), None);
            data[pos] = b'a';
        }
    }

    #[test]
    fn first_line_with_colon_is_not_a_banner() {
        let (frames, _) = decode_split(b"Event: A\r\n\r\n", &[]);
        assert!(matches!(&frames[0], Frame::Message(_)));
    }
}
