//! sipp phones of the peer kit (`scripts/asterisk-peer/phone.sh`).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::paths::peer_dir;

/// How long a started phone may take to bind its SIP port.
const BIND_WITHIN: Duration = Duration::from_secs(5);

/// A sipp phone started in the background by `phone.sh`, stopped (by PID) when dropped.
///
/// The roles are `phone.sh`'s: `agent1001`, `agent1002`, `loadagents`, `customer`, `carrier`;
/// the scenario a file of `testdata/asterisk-22/sipp` or a path.
#[derive(Debug)]
pub struct Phone {
    pid: u32,
}

impl Phone {
    /// Starts `role` playing `scenario` (`phone.sh ROLE SCENARIO`).
    ///
    /// # Panics
    /// When `phone.sh` fails or prints no PID: the test cannot go on without its phone.
    pub fn start(role: &str, scenario: &str) -> Self {
        Self::start_args(role, &[scenario])
    }

    /// Starts `role` with `phone.sh`'s other arguments (`phone.sh ROLE SCENARIO [ARGS...]`;
    /// a carrier UAC's target comes right after the scenario), and returns once the phone's
    /// SIP port is bound, so the peer can reach it at once (no fixed sleep: the port is
    /// polled, at most 5 s).
    ///
    /// # Panics
    /// When `phone.sh` fails or prints no PID.
    pub fn start_args(role: &str, args: &[&str]) -> Self {
        let script = peer_dir().join("phone.sh");
        let out = match Command::new("bash")
            .arg(&script)
            .arg(role)
            .args(args)
            .output()
        {
            Ok(out) => out,
            Err(e) => panic!("running {}: {e}", script.display()),
        };
        assert!(
            out.status.success(),
            "phone.sh {role}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let Ok(pid) = stdout.trim().parse() else {
            panic!("phone.sh {role} printed no PID: {stdout:?}")
        };
        let phone = Self { pid };
        if let Some(port) = sip_port(role) {
            phone.wait_bound(port);
        }
        phone
    }

    /// The sipp process's id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Waits until a UDP socket is bound to `port` on this machine, or the phone has
    /// exited, or [`BIND_WITHIN`] has passed (the test then finds out from the call).
    fn wait_bound(&self, port: u16) {
        let start = Instant::now();
        while start.elapsed() < BIND_WITHIN {
            if udp_port_bound(port) || !self.running() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn running(&self) -> bool {
        std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
    }
}

impl Drop for Phone {
    fn drop(&mut self) {
        // The phone may have ended on its own already.
        let _ = Command::new("kill")
            .arg(self.pid.to_string())
            .stderr(Stdio::null())
            .status();
    }
}

/// The SIP port `phone.sh` gives each role.
fn sip_port(role: &str) -> Option<u16> {
    match role {
        "agent1001" => Some(5071),
        "agent1002" => Some(5072),
        "loadagents" => Some(5073),
        "customer" => Some(5080),
        "carrier" => Some(5090),
        _ => None,
    }
}

/// Whether `/proc/net/udp` (or `udp6`) lists a socket bound to `port`. `false` where there is
/// no procfs: the wait then just runs out.
fn udp_port_bound(port: u16) -> bool {
    ["/proc/net/udp", "/proc/net/udp6"]
        .iter()
        .any(|table| std::fs::read_to_string(table).is_ok_and(|text| table_has_port(&text, port)))
}

/// Reads a `/proc/net/udp` table: the second column is `ADDR:PORT` with the port in hex.
fn table_has_port(table: &str, port: u16) -> bool {
    let want = format!("{port:04X}");
    table.lines().skip(1).any(|line| {
        line.split_whitespace()
            .nth(1)
            .and_then(|local| local.rsplit_once(':'))
            .is_some_and(|(_, p)| p.eq_ignore_ascii_case(&want))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_udp_table_is_read_by_local_port() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
             1: 0100007F:13CF 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0 0\n\
             2: 00000000:13C4 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0 0\n";
        assert!(table_has_port(table, 5071));
        assert!(table_has_port(table, 5060));
        assert!(!table_has_port(table, 5080));
        // The remote column never counts.
        assert!(!table_has_port(table, 0));
    }

    #[test]
    fn roles_have_the_ports_of_phone_sh() {
        let script = std::fs::read_to_string(peer_dir().join("phone.sh"));
        if let Ok(script) = script {
            for role in [
                "agent1001",
                "agent1002",
                "loadagents",
                "customer",
                "carrier",
            ] {
                let Some(port) = sip_port(role) else {
                    panic!("{role}: no port")
                };
                assert!(
                    script.contains(&format!("{role}) sip={port}")),
                    "phone.sh gives {role} another port than {port}"
                );
            }
        }
        assert_eq!(sip_port("nobody"), None);
    }
}
