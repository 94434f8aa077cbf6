use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::codec::{AgiCodec, Frame};
use crate::command::Command;
use crate::env::AgiEnv;
use crate::error::AgiError;
use crate::reply::{Reply, Success};

/// The channel variable hookflash stamps on the legs it places: the call record's id.
pub const CALL_ID_VARIABLE: &str = "HOOKFLASH_CALL_ID";

/// What a session reads from and writes to (a TCP stream, or an in-memory duplex in tests).
pub trait AgiIo: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> AgiIo for T {}

/// Digits collected by [`AgiSession::get_data`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digits {
    /// The digits entered (may be empty).
    pub digits: String,
    /// True when input ended because the timeout passed, not because enough digits came.
    pub timed_out: bool,
}

/// One FastAGI connection: the channel's environment and its command dialogue.
///
/// Commands are strictly one at a time: each call writes one command line and waits for its
/// reply, at most the per-command timeout. A `HANGUP` line Asterisk sends in between is
/// taken note of ([`AgiSession::is_hung_up`]) and the wait goes on for the reply, which
/// Asterisk still sends. After a timeout or an I/O error the dialogue is out of step, so the
/// session refuses further commands ([`AgiError::Poisoned`]).
///
/// # Cancel safety
/// Dropping a command's future mid-way leaves the dialogue out of step: the session is
/// poisoned the same way (the next command is refused instead of reading a stale reply).
pub struct AgiSession {
    env: AgiEnv,
    io: Box<dyn AgiIo>,
    codec: AgiCodec,
    buf: BytesMut,
    out: BytesMut,
    timeout: Duration,
    hung_up: bool,
    in_flight: bool,
    poisoned: bool,
}

impl std::fmt::Debug for AgiSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgiSession")
            .field("uniqueid", &self.env.uniqueid())
            .field("channel", &self.env.channel())
            .field("hung_up", &self.hung_up)
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

impl AgiSession {
    /// Reads the environment block from `io` (within `env_timeout`) and makes the session.
    ///
    /// # Errors
    /// [`AgiError::EnvIncomplete`] on a timeout or early close, codec errors on a malformed
    /// block, [`AgiError::Io`].
    pub async fn start(
        io: Box<dyn AgiIo>,
        codec: AgiCodec,
        env_timeout: Duration,
        command_timeout: Duration,
    ) -> Result<Self, AgiError> {
        let mut session = AgiSession {
            env: AgiEnv::default(),
            io,
            codec,
            buf: BytesMut::with_capacity(4096),
            out: BytesMut::with_capacity(256),
            timeout: command_timeout,
            hung_up: false,
            in_flight: false,
            poisoned: false,
        };
        let read = async {
            loop {
                match session.read_frame().await {
                    Ok(Some(Frame::Env(env))) => return Ok(env),
                    Ok(Some(_)) => {}
                    Ok(None) => return Err(AgiError::EnvIncomplete("connection closed")),
                    Err(e) => return Err(e),
                }
            }
        };
        let env = tokio::time::timeout(env_timeout, read)
            .await
            .map_err(|_| AgiError::EnvIncomplete("timed out"))??;
        session.env = env;
        Ok(session)
    }

    /// Reads the next frame; `None` at end of stream.
    async fn read_frame(&mut self) -> Result<Option<Frame>, AgiError> {
        loop {
            if let Some(f) = self.codec.decode_frame(&mut self.buf)? {
                return Ok(Some(f));
            }
            if self.io.read_buf(&mut self.buf).await? == 0 {
                return Ok(None);
            }
        }
    }

    /// The channel's `agi_*` variables.
    pub fn env(&self) -> &AgiEnv {
        &self.env
    }

    /// The channel's unique id (`agi_uniqueid`), joining this session to the AMI/ARI legs.
    pub fn uniqueid(&self) -> Option<&str> {
        self.env.uniqueid()
    }

    /// The channel name (`agi_channel`).
    pub fn channel(&self) -> Option<&str> {
        self.env.channel()
    }

    /// True once Asterisk sent `HANGUP` (the caller is gone; commands that need the channel
    /// now answer `511` or `result=-1`).
    pub fn is_hung_up(&self) -> bool {
        self.hung_up
    }

    /// The per-command timeout.
    pub fn command_timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends one command and returns Asterisk's reply as it came (`HANGUP` lines before it
    /// are noted, not returned).
    ///
    /// # Errors
    /// [`AgiError::InvalidArgument`] (nothing sent), [`AgiError::Poisoned`],
    /// [`AgiError::Timeout`], [`AgiError::Closed`], [`AgiError::Io`], codec errors.
    pub async fn send(&mut self, command: &Command) -> Result<Reply, AgiError> {
        if self.poisoned || self.in_flight {
            self.poisoned = true;
            return Err(AgiError::Poisoned);
        }
        self.out.clear();
        command.encode(&mut self.out)?;
        self.in_flight = true;
        let limit = self.timeout;
        let result = tokio::time::timeout(limit, self.exchange()).await;
        self.in_flight = false;
        match result {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e)) => {
                if !e.is_protocol_error() {
                    self.poisoned = true;
                }
                Err(e)
            }
            Err(_) => {
                self.poisoned = true;
                Err(AgiError::Timeout(limit))
            }
        }
    }

    async fn exchange(&mut self) -> Result<Reply, AgiError> {
        self.io.write_all(&self.out).await?;
        self.io.flush().await?;
        loop {
            match self.read_frame().await? {
                Some(Frame::Reply(r)) => return Ok(r),
                Some(Frame::Hangup) => {
                    tracing::debug!(uniqueid = ?self.env.uniqueid(), "AGI: HANGUP received");
                    self.hung_up = true;
                }
                Some(Frame::Env(_)) => {}
                None => {
                    self.hung_up = true;
                    return Err(AgiError::Closed);
                }
            }
        }
    }

    /// Sends a command and requires a `200` reply whose result is not `-1`.
    ///
    /// # Errors
    /// As [`AgiSession::send`], plus the reply's status errors ([`Reply::into_success`]) and
    /// [`AgiError::CommandFailed`] for `result=-1`.
    pub async fn command(&mut self, command: &Command) -> Result<Success, AgiError> {
        let s = self.send(command).await?.into_success()?;
        if s.is_failure() {
            return Err(AgiError::CommandFailed { result: s.result });
        }
        Ok(s)
    }

    /// `ANSWER`.
    ///
    /// # Errors
    /// As [`AgiSession::command`].
    pub async fn answer(&mut self) -> Result<(), AgiError> {
        self.command(&Command::Answer).await.map(|_| ())
    }

    /// `STREAM FILE`: the escape digit pressed, if any.
    ///
    /// # Errors
    /// As [`AgiSession::command`].
    pub async fn stream_file(
        &mut self,
        file: &str,
        escape_digits: &str,
    ) -> Result<Option<char>, AgiError> {
        let s = self
            .command(&Command::StreamFile {
                file: file.to_owned(),
                escape_digits: escape_digits.to_owned(),
            })
            .await?;
        Ok(digit_of(&s))
    }

    /// `GET DATA`: the digits entered.
    ///
    /// # Errors
    /// As [`AgiSession::command`].
    pub async fn get_data(
        &mut self,
        file: &str,
        timeout: Option<Duration>,
        max_digits: Option<u32>,
    ) -> Result<Digits, AgiError> {
        let s = self
            .command(&Command::GetData {
                file: file.to_owned(),
                timeout,
                max_digits,
            })
            .await?;
        Ok(Digits {
            timed_out: s.data.as_deref() == Some("timeout"),
            digits: s.result,
        })
    }

    /// `SAY DIGITS`: the escape digit pressed, if any.
    ///
    /// # Errors
    /// As [`AgiSession::command`].
    pub async fn say_digits(
        &mut self,
        digits: &str,
        escape_digits: &str,
    ) -> Result<Option<char>, AgiError> {
        let s = self
            .command(&Command::SayDigits {
                digits: digits.to_owned(),
                escape_digits: escape_digits.to_owned(),
            })
            .await?;
        Ok(digit_of(&s))
    }

    /// `SET VARIABLE`.
    ///
    /// # Errors
    /// As [`AgiSession::command`].
    pub async fn set_variable(&mut self, name: &str, value: &str) -> Result<(), AgiError> {
        self.command(&Command::SetVariable {
            name: name.to_owned(),
            value: value.to_owned(),
        })
        .await
        .map(|_| ())
    }

    /// `GET VARIABLE`: `None` when the variable is not set.
    ///
    /// # Errors
    /// As [`AgiSession::send`] and the reply's status errors.
    pub async fn get_variable(&mut self, name: &str) -> Result<Option<String>, AgiError> {
        let s = self
            .send(&Command::GetVariable {
                name: name.to_owned(),
            })
            .await?
            .into_success()?;
        Ok(match s.result_int() {
            Some(1) => Some(s.data.unwrap_or_default()),
            _ => None,
        })
    }

    /// The hookflash call id of this channel (`GET VARIABLE HOOKFLASH_CALL_ID`), so what
    /// the script does can be joined to the call record; `None` for a call hookflash did
    /// not place.
    ///
    /// # Errors
    /// As [`AgiSession::get_variable`].
    pub async fn call_id(&mut self) -> Result<Option<String>, AgiError> {
        Ok(self
            .get_variable(CALL_ID_VARIABLE)
            .await?
            .filter(|v| !v.is_empty()))
    }

    /// `EXEC`: the application's return value (`-2`: no such application).
    ///
    /// # Errors
    /// As [`AgiSession::send`] and the reply's status errors.
    pub async fn exec(&mut self, application: &str, args: &str) -> Result<i64, AgiError> {
        let s = self
            .send(&Command::Exec {
                application: application.to_owned(),
                args: args.to_owned(),
            })
            .await?
            .into_success()?;
        s.result_int()
            .ok_or(AgiError::CommandFailed { result: s.result })
    }

    /// `HANGUP`.
    ///
    /// # Errors
    /// As [`AgiSession::command`].
    pub async fn hangup(&mut self) -> Result<(), AgiError> {
        self.command(&Command::Hangup).await.map(|_| ())
    }

    /// `VERBOSE`.
    ///
    /// # Errors
    /// As [`AgiSession::command`].
    pub async fn verbose(&mut self, message: &str, level: u8) -> Result<(), AgiError> {
        self.command(&Command::Verbose {
            message: message.to_owned(),
            level,
        })
        .await
        .map(|_| ())
    }
}

/// The DTMF digit a result holds as an ASCII code (`0`: none).
fn digit_of(s: &Success) -> Option<char> {
    s.result_int()
        .and_then(|n| u8::try_from(n).ok())
        .filter(|n| *n != 0)
        .map(char::from)
}
