use std::time::Duration;

use bytes::{BufMut, BytesMut};

use crate::error::AgiError;

/// A typed AGI command: what call flows use.
///
/// Encoding ([`Command::encode`]) validates every argument first and writes nothing when one
/// is refused: nothing can end the command line early (CR, LF, NUL are refused everywhere)
/// and strings are double-quoted with `\` escapes the way Asterisk's argument parser
/// (`parse_args` in `res_agi.c`) reads them, so a value cannot become a second argument or a
/// second command.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `ANSWER`: answers the channel.
    Answer,
    /// `STREAM FILE <file> <escape digits>`: plays a sound file; a digit of `escape_digits`
    /// stops it and is the result.
    StreamFile {
        /// The sound file without extension (e.g. `hello-world`).
        file: String,
        /// Digits (`0-9*#`) that stop playback; empty for none.
        escape_digits: String,
    },
    /// `GET DATA <file> [timeout] [max digits]`: plays a prompt and collects DTMF.
    GetData {
        /// The prompt sound file.
        file: String,
        /// How long to wait for digits (milliseconds on the wire); `None`: Asterisk's default.
        timeout: Option<Duration>,
        /// At most this many digits; `None`: no limit (Asterisk caps at 1024).
        max_digits: Option<u32>,
    },
    /// `SAY DIGITS <digits> <escape digits>`: says each digit.
    SayDigits {
        /// The digits to say (`0-9`).
        digits: String,
        /// Digits that stop it; empty for none.
        escape_digits: String,
    },
    /// `SET VARIABLE <name> <value>`.
    SetVariable {
        /// The variable name (`[A-Za-z0-9_]+`).
        name: String,
        /// The value (no CR, LF or NUL).
        value: String,
    },
    /// `GET VARIABLE <name>`.
    GetVariable {
        /// The variable name (`[A-Za-z0-9_]+`).
        name: String,
    },
    /// `EXEC <application> <options>`: runs a dialplan application.
    Exec {
        /// The application name (`[A-Za-z0-9_]+`).
        application: String,
        /// Its argument string as the dialplan would write it (no CR, LF or NUL).
        args: String,
    },
    /// `HANGUP`: hangs the channel up.
    Hangup,
    /// `VERBOSE <message> <level>`: logs to the Asterisk console.
    Verbose {
        /// The message (no CR, LF or NUL).
        message: String,
        /// The verbosity level (1-4).
        level: u8,
    },
}

fn refuse(what: &'static str, reason: &'static str) -> AgiError {
    AgiError::InvalidArgument { what, reason }
}

fn check_text(what: &'static str, s: &str) -> Result<(), AgiError> {
    if s.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
        return Err(refuse(what, "holds CR, LF or NUL"));
    }
    Ok(())
}

fn check_name(what: &'static str, s: &str) -> Result<(), AgiError> {
    if s.is_empty() {
        return Err(refuse(what, "is empty"));
    }
    if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(refuse(what, "may hold only A-Z, a-z, 0-9 and _"));
    }
    Ok(())
}

fn check_file(s: &str) -> Result<(), AgiError> {
    if s.is_empty() {
        return Err(refuse("sound file", "is empty"));
    }
    check_text("sound file", s)
}

fn check_escape(s: &str) -> Result<(), AgiError> {
    if !s
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
    {
        return Err(refuse("escape digits", "may hold only 0-9, * and #"));
    }
    Ok(())
}

fn put_quoted(buf: &mut BytesMut, s: &str) {
    buf.put_u8(b'"');
    for b in s.bytes() {
        if b == b'"' || b == b'\\' {
            buf.put_u8(b'\\');
        }
        buf.put_u8(b);
    }
    buf.put_u8(b'"');
}

impl Command {
    /// Checks every argument without writing anything.
    ///
    /// # Errors
    /// [`AgiError::InvalidArgument`] naming the refused argument.
    pub fn validate(&self) -> Result<(), AgiError> {
        match self {
            Command::Answer | Command::Hangup => Ok(()),
            Command::StreamFile {
                file,
                escape_digits,
            } => {
                check_file(file)?;
                check_escape(escape_digits)
            }
            Command::GetData {
                file, max_digits, ..
            } => {
                check_file(file)?;
                if *max_digits == Some(0) {
                    return Err(refuse("max digits", "is zero"));
                }
                Ok(())
            }
            Command::SayDigits {
                digits,
                escape_digits,
            } => {
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(refuse("digits", "must be one or more of 0-9"));
                }
                check_escape(escape_digits)
            }
            Command::SetVariable { name, value } => {
                check_name("variable name", name)?;
                check_text("variable value", value)
            }
            Command::GetVariable { name } => check_name("variable name", name),
            Command::Exec { application, args } => {
                check_name("application name", application)?;
                check_text("application arguments", args)
            }
            Command::Verbose { message, level } => {
                check_text("verbose message", message)?;
                if !(1..=4).contains(level) {
                    return Err(refuse("verbose level", "must be 1 to 4"));
                }
                Ok(())
            }
        }
    }

    /// Appends the command line (with its `\n`) to `buf`.
    ///
    /// # Errors
    /// [`AgiError::InvalidArgument`]; `buf` is then unchanged.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), AgiError> {
        self.validate()?;
        match self {
            Command::Answer => buf.put_slice(b"ANSWER"),
            Command::Hangup => buf.put_slice(b"HANGUP"),
            Command::StreamFile {
                file,
                escape_digits,
            } => {
                buf.put_slice(b"STREAM FILE ");
                put_quoted(buf, file);
                buf.put_u8(b' ');
                put_quoted(buf, escape_digits);
            }
            Command::GetData {
                file,
                timeout,
                max_digits,
            } => {
                buf.put_slice(b"GET DATA ");
                put_quoted(buf, file);
                if timeout.is_some() || max_digits.is_some() {
                    // 0 asks for Asterisk's default timeout (needed when only max is given).
                    let ms = timeout.map_or(0, |t| t.as_millis().clamp(1, i32::MAX as u128));
                    buf.put_slice(format!(" {ms}").as_bytes());
                }
                if let Some(max) = max_digits {
                    buf.put_slice(format!(" {max}").as_bytes());
                }
            }
            Command::SayDigits {
                digits,
                escape_digits,
            } => {
                buf.put_slice(b"SAY DIGITS ");
                buf.put_slice(digits.as_bytes());
                buf.put_u8(b' ');
                put_quoted(buf, escape_digits);
            }
            Command::SetVariable { name, value } => {
                buf.put_slice(b"SET VARIABLE ");
                buf.put_slice(name.as_bytes());
                buf.put_u8(b' ');
                put_quoted(buf, value);
            }
            Command::GetVariable { name } => {
                buf.put_slice(b"GET VARIABLE ");
                buf.put_slice(name.as_bytes());
            }
            Command::Exec { application, args } => {
                buf.put_slice(b"EXEC ");
                buf.put_slice(application.as_bytes());
                buf.put_u8(b' ');
                put_quoted(buf, args);
            }
            Command::Verbose { message, level } => {
                buf.put_slice(b"VERBOSE ");
                put_quoted(buf, message);
                buf.put_slice(format!(" {level}").as_bytes());
            }
        }
        buf.put_u8(b'\n');
        Ok(())
    }

    /// The command's name as Asterisk knows it (for logs).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Answer => "ANSWER",
            Command::StreamFile { .. } => "STREAM FILE",
            Command::GetData { .. } => "GET DATA",
            Command::SayDigits { .. } => "SAY DIGITS",
            Command::SetVariable { .. } => "SET VARIABLE",
            Command::GetVariable { .. } => "GET VARIABLE",
            Command::Exec { .. } => "EXEC",
            Command::Hangup => "HANGUP",
            Command::Verbose { .. } => "VERBOSE",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(c: &Command) -> String {
        let mut b = BytesMut::new();
        c.encode(&mut b).unwrap();
        String::from_utf8(b.to_vec()).unwrap()
    }

    #[test]
    fn encodes_each_command() {
        assert_eq!(wire(&Command::Answer), "ANSWER\n");
        assert_eq!(
            wire(&Command::StreamFile {
                file: "hello-world".into(),
                escape_digits: "1#".into()
            }),
            "STREAM FILE \"hello-world\" \"1#\"\n"
        );
        assert_eq!(
            wire(&Command::GetData {
                file: "beep".into(),
                timeout: Some(Duration::from_secs(5)),
                max_digits: Some(1)
            }),
            "GET DATA \"beep\" 5000 1\n"
        );
        assert_eq!(
            wire(&Command::GetData {
                file: "beep".into(),
                timeout: None,
                max_digits: Some(4)
            }),
            "GET DATA \"beep\" 0 4\n"
        );
        assert_eq!(
            wire(&Command::SetVariable {
                name: "X_1".into(),
                value: "a \"b\" \\c".into()
            }),
            "SET VARIABLE X_1 \"a \\\"b\\\" \\\\c\"\n"
        );
        assert_eq!(
            wire(&Command::Exec {
                application: "Playback".into(),
                args: "tt-monkeys,noanswer".into()
            }),
            "EXEC Playback \"tt-monkeys,noanswer\"\n"
        );
        assert_eq!(
            wire(&Command::Verbose {
                message: "hi".into(),
                level: 3
            }),
            "VERBOSE \"hi\" 3\n"
        );
    }

    #[test]
    fn refuses_injection_and_bad_names_writing_nothing() {
        let bad = [
            Command::SetVariable {
                name: "X".into(),
                value: "1\nHANGUP".into(),
            },
            Command::SetVariable {
                name: "X Y".into(),
                value: "1".into(),
            },
            Command::GetVariable {
                name: "CALLERID(num)".into(),
            },
            Command::GetVariable { name: "".into() },
            Command::Exec {
                application: "System;".into(),
                args: "".into(),
            },
            Command::Exec {
                application: "Playback".into(),
                args: "a\rb".into(),
            },
            Command::StreamFile {
                file: "x\0".into(),
                escape_digits: "".into(),
            },
            Command::StreamFile {
                file: "x".into(),
                escape_digits: "1 2".into(),
            },
            Command::SayDigits {
                digits: "12a".into(),
                escape_digits: "".into(),
            },
            Command::Verbose {
                message: "m".into(),
                level: 9,
            },
        ];
        for c in bad {
            let mut b = BytesMut::new();
            let err = c.encode(&mut b).unwrap_err();
            assert!(err.is_not_sent(), "{c:?}");
            assert!(b.is_empty(), "{c:?}");
        }
    }
}
