//! The pipeline's errors.

/// What can go wrong in the pipeline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The store refused or could not be reached.
    #[error("store: {0}")]
    Store(#[from] hookflash_store::StoreError),
    /// The configuration does not fit (e.g. the PostgreSQL bus on a SQLite store).
    #[error("configuration: {0}")]
    Config(String),
}

/// The pipeline's result type.
pub type Result<T, E = PipelineError> = std::result::Result<T, E>;
