//! What the live test binaries share: the gate on `HOOKFLASH_LIVE_ASTERISK` and the sipp
//! phones of `scripts/asterisk-peer/`.

use std::path::PathBuf;
use std::process::Command;

pub(crate) fn live_host(test: &str) -> Option<String> {
    match std::env::var("HOOKFLASH_LIVE_ASTERISK") {
        Ok(h) if !h.is_empty() => Some(h),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test}: HOOKFLASH_LIVE_ASTERISK must be set in CI"
            );
            println!("skipped: {test}: set HOOKFLASH_LIVE_ASTERISK (scripts/test.sh does)");
            None
        }
    }
}

pub(crate) fn peer_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/asterisk-peer"
    ))
}

/// A sipp phone, stopped (by PID) when dropped.
pub(crate) struct Phone(u32);

impl Phone {
    pub(crate) fn start(role: &str, scenario: &str) -> Self {
        Self::start_args(role, &[scenario])
    }

    pub(crate) fn start_args(role: &str, args: &[&str]) -> Self {
        let out = Command::new("bash")
            .arg(peer_dir().join("phone.sh"))
            .arg(role)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "phone.sh: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Phone(String::from_utf8_lossy(&out.stdout).trim().parse().unwrap())
    }
}

impl Drop for Phone {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.to_string()).status();
    }
}
