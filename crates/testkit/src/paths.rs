//! Where the test data and the peer kit are.

use std::path::PathBuf;

/// Names another fixtures directory than the project's `testdata/asterisk-22` (a capture of
/// another Asterisk is tested with no code change).
pub const FIXTURES_VAR: &str = "HOOKFLASH_FIXTURES_DIR";

/// Names another peer kit than the project's `scripts/asterisk-peer`.
pub const PEER_DIR_VAR: &str = "HOOKFLASH_PEER_DIR";

/// The workspace root (this crate sits at `crates/testkit`).
pub fn workspace_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The captured transcripts: `$HOOKFLASH_FIXTURES_DIR` when set and not empty, else the
/// project's copy, `testdata/asterisk-22`.
pub fn fixtures_dir() -> PathBuf {
    dir_from(FIXTURES_VAR, "testdata/asterisk-22")
}

/// The Asterisk peer kit (`phone.sh`, `start.sh`, ...): `$HOOKFLASH_PEER_DIR` when set and not
/// empty, else the project's `scripts/asterisk-peer`.
pub fn peer_dir() -> PathBuf {
    dir_from(PEER_DIR_VAR, "scripts/asterisk-peer")
}

fn dir_from(var: &str, default: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace_dir().join(default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_project_copies() {
        // The variables are not set by `cargo test` itself; a developer who sets them gets
        // their directories, which is what this checks the shape of.
        if std::env::var_os(FIXTURES_VAR).is_none() {
            assert!(fixtures_dir().join("expected.json").is_file());
        }
        if std::env::var_os(PEER_DIR_VAR).is_none() {
            assert!(peer_dir().join("phone.sh").is_file());
        }
        assert!(workspace_dir().join("Cargo.toml").is_file());
    }
}
