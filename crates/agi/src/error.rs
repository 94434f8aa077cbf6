use std::io;
use std::time::Duration;

/// Every error of this crate.
///
/// Codec errors ([`AgiError::is_protocol_error`]) always consume the offending input, so a
/// caller that decodes again after one makes progress.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgiError {
    /// A line grew past the configured byte limit; the codec skips to the end of that line.
    #[error("AGI line longer than {limit} bytes (skipped to the next line end)")]
    LineTooLong {
        /// The configured limit.
        limit: usize,
    },
    /// The environment block had more variables than the configured limit.
    #[error("AGI environment block with more than {limit} variables")]
    EnvTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// A `520-` usage text had more lines than the configured limit.
    #[error("AGI 520 usage text longer than {limit} lines")]
    UsageTooLong {
        /// The configured limit.
        limit: usize,
    },
    /// A line of the environment block is not `agi_<name>: value`.
    #[error("malformed AGI environment line {line:?}")]
    MalformedEnv {
        /// The offending line, lossily decoded and cut to 80 bytes.
        line: String,
    },
    /// A reply line is not `HANGUP` nor `<3 digits><space or dash>...`, or a `200` line
    /// has no `result=`.
    #[error("malformed AGI reply line {line:?}")]
    MalformedReply {
        /// The offending line, lossily decoded and cut to 80 bytes.
        line: String,
    },
    /// A command argument could inject a second command or is not what the command accepts;
    /// nothing was written.
    #[error("invalid AGI {what}: {reason}")]
    InvalidArgument {
        /// Which argument (e.g. `variable name`).
        what: &'static str,
        /// Why it is refused.
        reason: &'static str,
    },
    /// Asterisk answered `510 Invalid or unknown command`.
    #[error("AGI command unknown to Asterisk (510)")]
    InvalidCommand,
    /// Asterisk answered `511 Command Not Permitted on a dead channel`.
    #[error("AGI command not permitted on a dead channel (511)")]
    DeadChannel,
    /// Asterisk answered `520`: the command's syntax is wrong; its usage text is kept.
    #[error("AGI command syntax refused (520)")]
    Usage {
        /// The usage text Asterisk sent (empty for the single-line form).
        usage: String,
    },
    /// Asterisk answered a status this crate does not know.
    #[error("unexpected AGI status {code}: {text:?}")]
    UnexpectedStatus {
        /// The three-digit status.
        code: u16,
        /// The rest of the line.
        text: String,
    },
    /// The command ran and reported failure (`result=-1`, often: the channel hung up).
    #[error("AGI command failed: result={result}")]
    CommandFailed {
        /// The `result=` value.
        result: String,
    },
    /// No reply within the per-command timeout; the command may have run. The session is
    /// out of step with Asterisk and refuses further commands.
    #[error("no AGI reply within {0:?} (outcome unknown; session closed)")]
    Timeout(Duration),
    /// Asterisk closed the connection (the AGI ended or the channel is gone).
    #[error("AGI connection closed by Asterisk")]
    Closed,
    /// The connection closed or timed out before a full environment block arrived.
    #[error("AGI environment block incomplete: {0}")]
    EnvIncomplete(&'static str),
    /// A previous timeout or I/O error left the session unusable.
    #[error("AGI session is out of step after an earlier error")]
    Poisoned,
    /// A non-loopback bind address was given without allowing it explicitly.
    #[error("refusing to bind FastAGI to non-loopback {0} (use allow_non_loopback)")]
    NonLoopbackBind(std::net::SocketAddr),
    /// A handler gave up with its own reason.
    #[error("AGI handler error: {0}")]
    Handler(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Socket I/O failed.
    #[error("AGI I/O error: {0}")]
    Io(#[from] io::Error),
}

impl AgiError {
    /// True for errors of the decoder about the bytes it was given (the bad input was
    /// consumed; decode again to go on).
    pub fn is_protocol_error(&self) -> bool {
        matches!(
            self,
            AgiError::LineTooLong { .. }
                | AgiError::EnvTooLarge { .. }
                | AgiError::UsageTooLong { .. }
                | AgiError::MalformedEnv { .. }
                | AgiError::MalformedReply { .. }
        )
    }

    /// True when the command was refused before anything was written.
    pub fn is_not_sent(&self) -> bool {
        matches!(self, AgiError::InvalidArgument { .. } | AgiError::Poisoned)
    }
}

/// A short, lossy rendering of a bad line for error messages.
pub(crate) fn snippet(line: &[u8]) -> String {
    let cut = &line[..line.len().min(80)];
    String::from_utf8_lossy(cut).into_owned()
}
