//! What can stop a service from starting or running. Each variant names what was being done;
//! the cause is its `source` (printed by the binaries as "Caused by").

use std::net::SocketAddr;

use crate::config::ConfigError;

/// A boxed cause from a platform crate (AMI, ARI, Twilio, TLS): each has its own error type.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a service could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The configuration was refused.
    #[error("loading the configuration")]
    Config(#[from] ConfigError),
    /// A configured server lacks what it needs (its secret, a protocol that fits).
    #[error("{0}")]
    Setup(String),
    /// A configured server could not be set up or reached.
    #[error("{what}")]
    Connect {
        /// Which server, and how it was reached.
        what: String,
        /// The platform's error.
        #[source]
        source: Cause,
    },
    /// The database refused.
    #[error("{what}")]
    Store {
        /// What was being done.
        what: &'static str,
        /// The store's error.
        #[source]
        source: hookflash_store::StoreError,
    },
    /// The database does not fit the mode (LISTEN/NOTIFY needs PostgreSQL).
    #[error("{0}")]
    Database(String),
    /// The API refused (the bootstrap admin password, a setting).
    #[error("setting up the API")]
    Api(#[from] hookflash_api::ApiError),
    /// The pipeline refused (the PostgreSQL bus on another database).
    #[error("setting up the event pipeline")]
    Pipeline(#[from] hookflash_pipeline::PipelineError),
    /// The listen address could not be bound.
    #[error("binding {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("serving")]
    Serve(#[source] std::io::Error),
}

impl ServerError {
    pub(crate) fn connect(
        what: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Connect {
            what: what.into(),
            source: Box::new(source),
        }
    }

    pub(crate) fn store(what: &'static str, source: hookflash_store::StoreError) -> Self {
        Self::Store { what, source }
    }
}

/// The result of the composition library.
pub type Result<T, E = ServerError> = std::result::Result<T, E>;
