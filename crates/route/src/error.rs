//! The crate's error type. Every variant has a stable snake_case code for the `{code, message}`
//! boundaries (CLI `--json`, Tauri); the message says what to fix.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The policy file could not be read (missing, unreadable, not UTF-8).
    #[error("cannot read routing policy {path}: {source}")]
    PolicyUnreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The policy text is not a valid policy. `line` is 1-based; `origin` is the file path or
    /// `<embedded default policy>`.
    #[error("{origin}:{line}: {message}")]
    PolicyInvalid {
        origin: String,
        line: usize,
        message: String,
    },
    /// A classifier model could not be trained, read or written.
    #[error("classifier model: {0}")]
    Model(String),
}

impl Error {
    /// Stable code for boundaries.
    pub fn code(&self) -> &'static str {
        match self {
            Error::PolicyUnreadable { .. } => "policy_unreadable",
            Error::PolicyInvalid { .. } => "invalid_policy",
            Error::Model(_) => "invalid_model",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
