//! [`PeerGuard`]: the channels a live test leaves on the peer are hung up when it ends.

use std::collections::HashSet;
use std::io;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::ami::Session;

/// Names the peer's chroot (the same variable as `scripts/asterisk-peer/setup.sh`).
pub const PEER_ROOT_VAR: &str = "ASTERISK_PEER_ROOT";

/// The chroot the peer kit installs Asterisk into: `$ASTERISK_PEER_ROOT`, else
/// `/var/tmp/hookflash-asterisk-peer`.
pub fn peer_root() -> PathBuf {
    match std::env::var_os(PEER_ROOT_VAR) {
        Some(root) if !root.is_empty() => PathBuf::from(root),
        _ => PathBuf::from("/var/tmp/hookflash-asterisk-peer"),
    }
}

/// Where and as whom the guard reaches AMI.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AmiLogin {
    /// The peer's host.
    pub host: String,
    /// Its AMI port.
    pub port: u16,
    /// The AMI user (it needs the `system`/`call` rights for `CoreShowChannels` and `Hangup`).
    pub username: String,
    /// Its secret.
    pub secret: String,
}

impl AmiLogin {
    /// The peer kit's AMI account on `host`: port 5038, `ami`/`amipass`
    /// (`examples/asterisk/manager.conf`).
    pub fn peer(host: &str) -> Self {
        Self {
            host: host.to_owned(),
            port: 5038,
            username: "ami".to_owned(),
            secret: "amipass".to_owned(),
        }
    }

    /// The same account on another port.
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
}

/// Hangs up, when dropped, every channel of the peer that was not there when it was made: a
/// live test that fails half-way (a panic, an assertion, a timeout) no longer leaves calls up
/// that the live tests after it trip over.
///
/// It lists the channels over AMI when made and when dropped, and sends a `Hangup` for each
/// new one, then waits (at most 3 s) for them to be gone. When AMI cannot be reached at drop
/// and the peer runs on this machine in the peer kit's chroot ([`peer_root`]), it falls back
/// to `asterisk -rx "channel request hangup all"` there. When the first listing failed, every
/// channel at drop counts as left by the test. Live tests run one at a time (nextest group,
/// `flock`), so the channels that appear meanwhile are the test's own.
///
/// Everything is blocking with short timeouts and nothing panics, so it is safe in `Drop`
/// during a panic and inside a tokio runtime.
#[derive(Debug)]
pub struct PeerGuard {
    login: AmiLogin,
    before: Option<HashSet<String>>,
    timeout: Duration,
    /// The chroot of the fallback; `None`: no fallback.
    chroot: Option<PathBuf>,
}

impl PeerGuard {
    /// A guard over the peer kit's AMI account on `host` ([`AmiLogin::peer`]).
    pub fn new(host: &str) -> Self {
        Self::with_login(AmiLogin::peer(host))
    }

    /// A guard over another AMI account; lists the channels there now.
    pub fn with_login(login: AmiLogin) -> Self {
        let mut guard = Self {
            login,
            before: None,
            timeout: Duration::from_secs(3),
            chroot: Some(peer_root()),
        };
        match guard.channels() {
            Ok(now) => guard.before = Some(now.into_iter().collect()),
            Err(e) => eprintln!(
                "peer guard: cannot list the channels of {}:{} ({e}): every channel found at \
                 the end counts as left by the test",
                guard.login.host, guard.login.port
            ),
        }
        guard
    }

    /// Without the `asterisk -rx` fallback: only the channels AMI lists are touched (for a
    /// peer that is not the kit's, or one shared with tests that are not this one's).
    pub fn without_chroot_fallback(mut self) -> Self {
        self.chroot = None;
        self
    }

    /// The channels up now that were not when the guard was made.
    ///
    /// # Errors
    /// When AMI cannot be reached or refuses the listing.
    pub fn leftovers(&self) -> io::Result<Vec<String>> {
        let now = self.channels()?;
        Ok(now
            .into_iter()
            .filter(|c| self.before.as_ref().is_none_or(|b| !b.contains(c)))
            .collect())
    }

    /// Hangs up [`PeerGuard::leftovers`] and waits (at most 3 s) until they are gone;
    /// returns the channels it hung up. Dropping the guard does this.
    ///
    /// # Errors
    /// When AMI cannot be reached or refuses the listing.
    pub fn hang_up_leftovers(&self) -> io::Result<Vec<String>> {
        let left = self.leftovers()?;
        if left.is_empty() {
            return Ok(left);
        }
        let mut session = self.session()?;
        for channel in &left {
            // Refused: it went away meanwhile (the other half of a Local pair, a phone's BYE).
            let _ = session.hangup(channel)?;
        }
        let deadline = Instant::now() + self.timeout;
        while Instant::now() < deadline {
            let now = session.channels()?;
            if !left.iter().any(|c| now.contains(c)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(left)
    }

    fn session(&self) -> io::Result<Session> {
        let addr = format!("{}:{}", self.login.host, self.login.port);
        Session::login(
            &addr,
            &self.login.username,
            &self.login.secret,
            self.timeout,
        )
    }

    /// The names of the channels the peer has now.
    ///
    /// # Errors
    /// When AMI cannot be reached or refuses the listing.
    pub fn channels(&self) -> io::Result<Vec<String>> {
        self.session()?.channels()
    }

    /// The peer kit's Asterisk on this machine: `channel request hangup all` in its chroot.
    fn hang_up_all_in_chroot(&self) -> io::Result<()> {
        let local = matches!(
            self.login.host.as_str(),
            "127.0.0.1" | "localhost" | "::1" | "[::1]"
        );
        let Some(root) = self.chroot.as_ref().filter(|_| local) else {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "no fallback for this peer",
            ));
        };
        if !root.join("usr/sbin/asterisk").exists() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no peer chroot at {}", root.display()),
            ));
        }
        let status = Command::new("chroot")
            .arg(root)
            .args(["asterisk", "-rx", "channel request hangup all"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!("asterisk -rx: {status}")))
        }
    }
}

impl Drop for PeerGuard {
    fn drop(&mut self) {
        match self.hang_up_leftovers() {
            Ok(left) if left.is_empty() => {}
            Ok(left) => eprintln!(
                "peer guard: hung up {} channel(s) the test left: {}",
                left.len(),
                left.join(", ")
            ),
            Err(e) => match self.hang_up_all_in_chroot() {
                Ok(()) => eprintln!(
                    "peer guard: AMI unreachable ({e}); hung up every channel of the local peer"
                ),
                Err(e2) => eprintln!("peer guard: could not clean the peer: AMI {e}; chroot {e2}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A fake AMI with a channel list: logs anyone in, lists and hangs up its channels.
    fn fake_ami(channels: Arc<Mutex<Vec<String>>>) -> u16 {
        let listener = match TcpListener::bind("127.0.0.1:0") {
            Ok(l) => l,
            Err(e) => panic!("bind: {e}"),
        };
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                serve(stream, &channels);
            }
        });
        port
    }

    fn serve(stream: std::net::TcpStream, channels: &Mutex<Vec<String>>) {
        let Ok(mut out) = stream.try_clone() else {
            return;
        };
        let _ = out.write_all(b"Asterisk Call Manager/9.0.0\r\n");
        let mut lines = BufReader::new(stream).lines();
        let mut action: Vec<(String, String)> = Vec::new();
        while let Some(Ok(line)) = lines.next() {
            if !line.is_empty() {
                if let Some((k, v)) = line.split_once(": ") {
                    action.push((k.to_owned(), v.to_owned()));
                }
                continue;
            }
            let get = |key: &str| {
                action
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let id = get("ActionID");
            let mut reply = String::new();
            match get("Action").as_str() {
                "CoreShowChannels" => {
                    reply.push_str(&format!(
                        "Response: Success\r\nActionID: {id}\r\nEventList: start\r\n\r\n"
                    ));
                    let list = channels.lock().map(|c| c.clone()).unwrap_or_default();
                    for c in &list {
                        reply.push_str(&format!(
                            "Event: CoreShowChannel\r\nActionID: {id}\r\nChannel: {c}\r\n\r\n"
                        ));
                    }
                    reply.push_str(&format!(
                        "Event: CoreShowChannelsComplete\r\nActionID: {id}\r\n\r\n"
                    ));
                }
                "Hangup" => {
                    let c = get("Channel");
                    let found = channels
                        .lock()
                        .map(|mut list| {
                            let before = list.len();
                            list.retain(|x| *x != c);
                            list.len() < before
                        })
                        .unwrap_or(false);
                    let r = if found { "Success" } else { "Error" };
                    reply.push_str(&format!("Response: {r}\r\nActionID: {id}\r\n\r\n"));
                }
                _ => reply.push_str(&format!("Response: Success\r\nActionID: {id}\r\n\r\n")),
            }
            if out.write_all(reply.as_bytes()).is_err() {
                return;
            }
            action.clear();
        }
    }

    fn list(channels: &Mutex<Vec<String>>) -> Vec<String> {
        channels.lock().map(|c| c.clone()).unwrap_or_default()
    }

    #[test]
    fn dropping_the_guard_hangs_up_the_channels_the_test_left_and_only_those() {
        let channels = Arc::new(Mutex::new(vec!["PJSIP/someone-00000001".to_owned()]));
        let port = fake_ami(channels.clone());
        let guard = PeerGuard::with_login(AmiLogin::peer("127.0.0.1").with_port(port))
            .without_chroot_fallback();
        if let Ok(mut c) = channels.lock() {
            c.push("PJSIP/agent1001-00000002".to_owned());
            c.push("Local/1002@hookflash-transfer-00000003;1".to_owned());
        }
        assert_eq!(
            guard.leftovers().ok(),
            Some(vec![
                "PJSIP/agent1001-00000002".to_owned(),
                "Local/1002@hookflash-transfer-00000003;1".to_owned()
            ])
        );
        drop(guard);
        assert_eq!(list(&channels), vec!["PJSIP/someone-00000001".to_owned()]);
    }

    #[test]
    fn a_guard_that_could_not_list_at_first_hangs_up_everything_it_finds() {
        let channels = Arc::new(Mutex::new(Vec::new()));
        let port = fake_ami(channels.clone());
        // Made against a closed port: no first listing.
        let closed = match TcpListener::bind("127.0.0.1:0") {
            Ok(l) => l.local_addr().map(|a| a.port()).unwrap_or_default(),
            Err(e) => panic!("bind: {e}"),
        };
        let mut guard = PeerGuard::with_login(AmiLogin::peer("127.0.0.1").with_port(closed))
            .without_chroot_fallback();
        assert!(guard.leftovers().is_err());
        guard.login.port = port;
        if let Ok(mut c) = channels.lock() {
            c.push("PJSIP/customer-00000009".to_owned());
        }
        let hung = guard.hang_up_leftovers().ok();
        assert_eq!(hung, Some(vec!["PJSIP/customer-00000009".to_owned()]));
        assert!(list(&channels).is_empty());
    }

    #[test]
    fn an_unreachable_remote_peer_is_reported_not_panicked_on() {
        // Never the real peer's chroot here: a live test may be running on it.
        let guard = PeerGuard::with_login(AmiLogin::peer("127.0.0.1").with_port(1))
            .without_chroot_fallback();
        assert!(guard.hang_up_leftovers().is_err());
        assert!(guard.hang_up_all_in_chroot().is_err());
        drop(guard);
        let remote = PeerGuard {
            login: AmiLogin::peer("192.0.2.1"),
            before: None,
            timeout: Duration::from_millis(10),
            chroot: Some(PathBuf::from("/")),
        };
        // A remote peer's channels are not this machine's to hang up.
        assert_eq!(
            remote.hang_up_all_in_chroot().map_err(|e| e.kind()),
            Err(io::ErrorKind::Unsupported)
        );
        drop(remote);
    }
}
