use countersign_core::DocumentId;
use serde::Serialize;
use ts_rs::TS;

/// Stable error codes: scripts and the UI branch on these, never on messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The file is not one of the accepted types (decided by content, not name).
    UnsupportedType,
    /// The file has no bytes (or no pages).
    EmptyDocument,
    /// The file is bigger than the configured limit.
    TooLarge,
    /// These exact bytes were already imported; `document_id` names the existing document.
    Duplicate,
    /// The input file could not be read.
    UnreadableFile,
    NotFound,
    InvalidArgument,
    InvalidConfig,
    DataDirUnusable,
    /// A bug or a broken store; details are in the log, not in the message.
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::UnsupportedType => "unsupported_type",
            ErrorCode::EmptyDocument => "empty_document",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::Duplicate => "duplicate",
            ErrorCode::UnreadableFile => "unreadable_file",
            ErrorCode::NotFound => "not_found",
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::InvalidConfig => "invalid_config",
            ErrorCode::DataDirUnusable => "data_dir_unusable",
            ErrorCode::Internal => "internal",
        }
    }
}

/// A workflow error: a stable code, a message for the person who can fix it, and for
/// `duplicate` the document that already holds the bytes.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
    pub document_id: Option<DocumentId>,
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
            document_id: None,
        }
    }

    /// An internal failure: logged in full here, shown as an opaque message.
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Error {
        tracing::error!(error = %err, "{context}");
        Error::new(
            ErrorCode::Internal,
            format!("internal error while {context} (details are in the log)"),
        )
    }
}

impl From<countersign_store::StoreError> for Error {
    fn from(e: countersign_store::StoreError) -> Error {
        match e {
            countersign_store::StoreError::NotFound(id) => {
                Error::new(ErrorCode::NotFound, format!("no document {id}"))
            }
            countersign_store::StoreError::Transition(t) => {
                Error::new(ErrorCode::InvalidArgument, t.to_string())
            }
            other => Error::internal("using the store", other),
        }
    }
}

/// The `{code, message}` every boundary (Tauri command, CLI `--json`) returns.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub document_id: Option<DocumentId>,
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        ApiError {
            code: e.code,
            message: e.message,
            document_id: e.document_id,
        }
    }
}
