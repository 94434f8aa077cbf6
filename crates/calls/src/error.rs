use std::path::PathBuf;

/// What can go wrong around the tracker (the tracker itself never fails: it records what it
/// cannot place and drops what belongs to evicted calls).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallsError {
    /// A fixture file could not be read.
    #[error("cannot read fixture {path}: {source}")]
    Fixture {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A fixture file is not the JSON expected.
    #[error("fixture {path} is not valid JSON: {source}")]
    FixtureJson {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// expected.json has no such scenario.
    #[error("expected.json has no scenario {scenario}")]
    NoScenario {
        /// `group/name`.
        scenario: String,
    },
}
