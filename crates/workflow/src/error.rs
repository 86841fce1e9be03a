use countersign_core::DocumentId;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Stable error codes: scripts and the UI branch on these, never on messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The file is not one of the accepted types (decided by content, not name).
    UnsupportedType,
    /// The file has no bytes (or no pages).
    EmptyDocument,
    /// The file is bigger than the configured limit (bytes, pages or pixels).
    TooLarge,
    /// A PDF that cannot be parsed.
    CorruptPdf,
    /// A PDF that needs a password (none or the wrong one was given).
    EncryptedPdf,
    /// An image that cannot be decoded.
    CorruptImage,
    /// Decoding the file took longer than the limit.
    DecodeTimeout,
    /// These exact bytes were already imported; `document_id` names the existing document.
    Duplicate,
    /// The input file could not be read.
    UnreadableFile,
    NotFound,
    /// The document is still being prepared (pages rendering); try again shortly.
    NotReady,
    InvalidArgument,
    /// The operation does not apply to the document in its current state (e.g. reprocessing one
    /// that is being sent for signature).
    InvalidState,
    /// Someone else changed the document since it was read (another reviewer, another window):
    /// reload it and try again.
    Conflict,
    InvalidConfig,
    /// The OS keychain (Secret Service, Keychain, Credential Manager) cannot be reached or
    /// refused the operation; the message says what to do.
    KeychainUnavailable,
    /// No provider token is stored yet (set it in Settings).
    MissingCredentials,
    /// The signature provider cannot be reached now (offline, down, rate limited); try later.
    ProviderUnavailable,
    /// The signature provider refused the request; the message says why.
    ProviderRejected,
    /// The routing policy file is invalid; the message names the file and line.
    InvalidPolicy,
    DataDirUnusable,
    /// A part this machine needs is missing (e.g. PDFium); the message says how to install it.
    EngineUnavailable,
    /// Scanning needs SANE's `scanimage`, which is not installed.
    ScannerUnavailable,
    /// The named scanner is not there, or no scanner at all.
    ScannerNotFound,
    /// Another program is using the scanner.
    ScannerBusy,
    /// The scanner offers no such resolution, mode or source; the message says what it offers.
    UnsupportedScanSetting,
    /// The scan ended without a page (e.g. an empty document feeder); nothing was stored.
    NoPages,
    /// The scan was stopped on request.
    ScanCancelled,
    /// The scanner failed (jam, cover open, I/O error, stopped responding).
    ScanFailed,
    /// A bug or a broken store; details are in the log, not in the message.
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::UnsupportedType => "unsupported_type",
            ErrorCode::EmptyDocument => "empty_document",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::CorruptPdf => "corrupt_pdf",
            ErrorCode::EncryptedPdf => "encrypted_pdf",
            ErrorCode::CorruptImage => "corrupt_image",
            ErrorCode::DecodeTimeout => "decode_timeout",
            ErrorCode::Duplicate => "duplicate",
            ErrorCode::UnreadableFile => "unreadable_file",
            ErrorCode::NotFound => "not_found",
            ErrorCode::NotReady => "not_ready",
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::InvalidState => "invalid_state",
            ErrorCode::Conflict => "conflict",
            ErrorCode::InvalidConfig => "invalid_config",
            ErrorCode::KeychainUnavailable => "keychain_unavailable",
            ErrorCode::MissingCredentials => "missing_credentials",
            ErrorCode::ProviderUnavailable => "provider_unavailable",
            ErrorCode::ProviderRejected => "provider_rejected",
            ErrorCode::InvalidPolicy => "invalid_policy",
            ErrorCode::DataDirUnusable => "data_dir_unusable",
            ErrorCode::EngineUnavailable => "engine_unavailable",
            ErrorCode::ScannerUnavailable => "scanner_unavailable",
            ErrorCode::ScannerNotFound => "scanner_not_found",
            ErrorCode::ScannerBusy => "scanner_busy",
            ErrorCode::UnsupportedScanSetting => "unsupported_scan_setting",
            ErrorCode::NoPages => "no_pages",
            ErrorCode::ScanCancelled => "scan_cancelled",
            ErrorCode::ScanFailed => "scan_failed",
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

    /// The file was refused at the edge (kept in the rejected area, not imported).
    pub fn is_rejection(&self) -> bool {
        matches!(
            self.code,
            ErrorCode::UnsupportedType
                | ErrorCode::EmptyDocument
                | ErrorCode::TooLarge
                | ErrorCode::CorruptPdf
                | ErrorCode::EncryptedPdf
                | ErrorCode::CorruptImage
                | ErrorCode::DecodeTimeout
                | ErrorCode::EngineUnavailable
        )
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

impl From<countersign_capture::Rejection> for Error {
    fn from(r: countersign_capture::Rejection) -> Error {
        use countersign_capture::RejectCode as R;
        let code = match r.code {
            R::UnsupportedType => ErrorCode::UnsupportedType,
            R::EmptyDocument => ErrorCode::EmptyDocument,
            R::TooLarge => ErrorCode::TooLarge,
            R::CorruptPdf => ErrorCode::CorruptPdf,
            R::EncryptedPdf => ErrorCode::EncryptedPdf,
            R::CorruptImage => ErrorCode::CorruptImage,
            R::DecodeTimeout => ErrorCode::DecodeTimeout,
        };
        Error::new(code, r.message)
    }
}

impl From<countersign_capture::CaptureError> for Error {
    fn from(e: countersign_capture::CaptureError) -> Error {
        match e {
            countersign_capture::CaptureError::Rejected(r) => r.into(),
            countersign_capture::CaptureError::Unavailable(m) => {
                Error::new(ErrorCode::EngineUnavailable, m)
            }
            countersign_capture::CaptureError::Internal(m) => {
                Error::internal("decoding the file", m)
            }
        }
    }
}

impl From<countersign_capture::scan::ScanError> for Error {
    fn from(e: countersign_capture::scan::ScanError) -> Error {
        use countersign_capture::scan::ScanError as S;
        let code = match &e {
            S::Unavailable { .. } => ErrorCode::ScannerUnavailable,
            S::NotFound { .. } => ErrorCode::ScannerNotFound,
            S::Busy { .. } => ErrorCode::ScannerBusy,
            S::Unsupported { .. } => ErrorCode::UnsupportedScanSetting,
            S::NoPages { .. } => ErrorCode::NoPages,
            S::Cancelled => ErrorCode::ScanCancelled,
            S::Failed { .. } => ErrorCode::ScanFailed,
        };
        Error::new(code, e.to_string())
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
            stale @ countersign_store::StoreError::Stale { .. } => {
                Error::new(ErrorCode::Conflict, stale.to_string())
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
