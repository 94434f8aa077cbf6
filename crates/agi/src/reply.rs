use nom::IResult;
use nom::Parser;
use nom::bytes::complete::{tag, take_while_m_n};

use crate::error::{AgiError, snippet};

/// One reply of Asterisk to an AGI command.
///
/// The wire forms (`res/res_agi.c`): `200 result=<r>[ (<data>)][ endpos=<n>]...`,
/// `510 Invalid or unknown command`, `511 Command Not Permitted on a dead channel` (newer
/// versions add `or intercept routine`), `520 Invalid command syntax.  Proper usage not
/// available.` and the multi-line `520-Invalid command syntax.  Proper usage follows:` /
/// usage lines / `520 End of proper usage.`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reply {
    /// `200`: the command ran; what it did is in `result` (and `data`).
    Success(Success),
    /// `510`: Asterisk does not know the command.
    InvalidCommand,
    /// `511`: the command is not allowed once the channel hung up.
    DeadChannel,
    /// `520`: wrong syntax; the usage text (empty in the single-line form).
    Usage(String),
    /// Any other three-digit status (e.g. `503 result=-2 Memory allocation failure`).
    Other {
        /// The status.
        code: u16,
        /// The rest of the line after the status and its separator.
        text: String,
    },
}

impl Reply {
    /// Writes the reply as Asterisk does (for fake Asterisk peers in tests and examples).
    ///
    /// Text is written as given: a caller that puts a line end into it gets a second line.
    pub fn encode(&self, buf: &mut bytes::BytesMut) {
        use bytes::BufMut;
        match self {
            Reply::Success(s) => {
                buf.put_slice(b"200 result=");
                buf.put_slice(s.result.as_bytes());
                if let Some(d) = &s.data {
                    buf.put_slice(format!(" ({d})").as_bytes());
                }
                if let Some(e) = s.endpos {
                    buf.put_slice(format!(" endpos={e}").as_bytes());
                }
                if let Some(x) = &s.extra {
                    buf.put_u8(b' ');
                    buf.put_slice(x.as_bytes());
                }
                buf.put_u8(b'\n');
            }
            Reply::InvalidCommand => buf.put_slice(b"510 Invalid or unknown command\n"),
            Reply::DeadChannel => {
                buf.put_slice(b"511 Command Not Permitted on a dead channel or intercept routine\n")
            }
            Reply::Usage(u) if u.is_empty() => {
                buf.put_slice(b"520 Invalid command syntax.  Proper usage not available.\n")
            }
            Reply::Usage(u) => {
                buf.put_slice(b"520-Invalid command syntax.  Proper usage follows:\n");
                buf.put_slice(u.as_bytes());
                buf.put_slice(b"\n520 End of proper usage.\n");
            }
            Reply::Other { code, text } => buf.put_slice(format!("{code:03} {text}\n").as_bytes()),
        }
    }

    /// The `200` part, or the error the status stands for.
    ///
    /// # Errors
    /// [`AgiError::InvalidCommand`] (510), [`AgiError::DeadChannel`] (511),
    /// [`AgiError::Usage`] (520), [`AgiError::UnexpectedStatus`] otherwise.
    pub fn into_success(self) -> Result<Success, AgiError> {
        match self {
            Reply::Success(s) => Ok(s),
            Reply::InvalidCommand => Err(AgiError::InvalidCommand),
            Reply::DeadChannel => Err(AgiError::DeadChannel),
            Reply::Usage(usage) => Err(AgiError::Usage { usage }),
            Reply::Other { code, text } => Err(AgiError::UnexpectedStatus { code, text }),
        }
    }
}

/// The body of a `200` reply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Success {
    /// The `result=` token as sent: a number for most commands, the digits entered for
    /// `GET DATA` (may be empty).
    pub result: String,
    /// The text in parentheses after the result (`(timeout)`, `(hangup)`, a variable's value).
    pub data: Option<String>,
    /// `endpos=<n>`: where playback stopped (`STREAM FILE`).
    pub endpos: Option<u64>,
    /// Anything after the data and `endpos` (e.g. speech `results=...`), trimmed.
    pub extra: Option<String>,
}

impl Success {
    /// The result as an integer, if it is one.
    pub fn result_int(&self) -> Option<i64> {
        self.result.parse().ok()
    }

    /// True when the result is `-1` (the command failed; usually the channel hung up).
    pub fn is_failure(&self) -> bool {
        self.result_int() == Some(-1)
    }
}

fn status(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while_m_n(3, 3, |c: u8| c.is_ascii_digit()).parse(i)
}

fn result_prefix(i: &[u8]) -> IResult<&[u8], &[u8]> {
    tag(&b"result="[..]).parse(i)
}

/// The start of a reply line: the status and whether it is a `-` continuation.
pub(crate) fn parse_status(line: &[u8]) -> Result<(u16, bool, &[u8]), AgiError> {
    let bad = || AgiError::MalformedReply {
        line: snippet(line),
    };
    let (rest, digits) = status(line).map_err(|_| bad())?;
    let code = digits
        .iter()
        .try_fold(0u16, |acc, d| {
            acc.checked_mul(10)?.checked_add(u16::from(d - b'0'))
        })
        .ok_or_else(bad)?;
    match rest.split_first() {
        None => Ok((code, false, rest)),
        Some((b' ', r)) => Ok((code, false, r)),
        Some((b'-', r)) => Ok((code, true, r)),
        Some(_) => Err(bad()),
    }
}

/// Parses the text after `200 `.
pub(crate) fn parse_success(line: &[u8], rest: &[u8]) -> Result<Success, AgiError> {
    let bad = || AgiError::MalformedReply {
        line: snippet(line),
    };
    let (rest, _) = result_prefix(rest).map_err(|_| bad())?;
    let text = String::from_utf8_lossy(rest);
    let (result, mut tail) = match text.split_once(' ') {
        Some((r, t)) => (r.to_owned(), t.trim_start()),
        None => (text.clone().into_owned(), ""),
    };
    let mut out = Success {
        result,
        ..Success::default()
    };
    if let Some(inner) = tail.strip_prefix('(') {
        // The value may hold spaces and parentheses: it runs to the last `)` that is
        // followed by the end or by a space.
        let close = inner
            .rmatch_indices(')')
            .map(|(i, _)| i)
            .find(|&i| inner[i + 1..].is_empty() || inner[i + 1..].starts_with(' '));
        match close {
            Some(i) => {
                out.data = Some(inner[..i].to_owned());
                tail = inner[i + 1..].trim_start();
            }
            None => return Err(bad()),
        }
    }
    if let Some(after) = tail.strip_prefix("endpos=") {
        let (num, t) = after.split_once(' ').unwrap_or((after, ""));
        out.endpos = Some(num.parse().map_err(|_| bad())?);
        tail = t.trim_start();
    }
    let tail = tail.trim_end();
    if !tail.is_empty() {
        out.extra = Some(tail.to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Success {
        let (code, cont, rest) = parse_status(line.as_bytes()).unwrap();
        assert_eq!((code, cont), (200, false));
        parse_success(line.as_bytes(), rest).unwrap()
    }

    #[test]
    fn plain_result() {
        let s = ok("200 result=0");
        assert_eq!(s.result_int(), Some(0));
        assert_eq!((s.data, s.endpos, s.extra), (None, None, None));
    }

    #[test]
    fn data_with_spaces_and_parentheses() {
        let s = ok("200 result=1 (a (b) c)");
        assert_eq!(s.data.as_deref(), Some("a (b) c"));
    }

    #[test]
    fn endpos_with_and_without_data() {
        let s = ok("200 result=0 endpos=8000");
        assert_eq!(s.endpos, Some(8000));
        let s = ok("200 result=49 (dtmf) endpos=1234 results=foo bar");
        assert_eq!(s.result_int(), Some(49));
        assert_eq!(s.data.as_deref(), Some("dtmf"));
        assert_eq!(s.endpos, Some(1234));
        assert_eq!(s.extra.as_deref(), Some("results=foo bar"));
    }

    #[test]
    fn get_data_timeout_with_empty_result() {
        let s = ok("200 result= (timeout)");
        assert_eq!(s.result, "");
        assert_eq!(s.data.as_deref(), Some("timeout"));
    }

    #[test]
    fn malformed_lines_are_errors() {
        for line in ["20 result=1", "200result=1", "2x0 result=1", "200_x"] {
            assert!(parse_status(line.as_bytes()).is_err(), "{line}");
        }
        let (_, _, rest) = parse_status(b"200 res=1").unwrap();
        assert!(parse_success(b"200 res=1", rest).is_err());
        let (_, _, rest) = parse_status(b"200 result=1 (open").unwrap();
        assert!(parse_success(b"200 result=1 (open", rest).is_err());
        let (_, _, rest) = parse_status(b"200 result=1 endpos=x").unwrap();
        assert!(parse_success(b"200 result=1 endpos=x", rest).is_err());
    }
}
