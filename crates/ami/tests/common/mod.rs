//! Helpers shared by the integration tests: fixture paths and transcript reading.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

/// The fixtures directory (`HOOKFLASH_FIXTURES_DIR`, else the project's copy).
pub use hookflash_testkit::fixtures_dir;

/// A file of the AMI fixtures.
pub fn ami_fixture(name: &str) -> PathBuf {
    fixtures_dir().join("ami").join(name)
}

/// Every AMI transcript name (without extension).
pub fn transcript_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir().join("ami"))
        .expect("fixtures dir")
        .filter_map(|e| {
            let p = e.ok()?.path();
            if p.extension()? == "jsonl" {
                Some(p.file_stem()?.to_string_lossy().into_owned())
            } else {
                None
            }
        })
        .collect();
    names.sort();
    names
}

/// (dir, data) entries of a transcript.
pub fn transcript(name: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(ami_fixture(&format!("{name}.jsonl"))).expect("transcript");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json line");
            (
                v["dir"].as_str().unwrap_or_default().to_string(),
                v["data"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}
