//! Why a file was refused at the edge: a stable code (for scripts and the UI) and a message that
//! tells the person what to do.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    /// Not one of the accepted types (decided by content).
    UnsupportedType,
    /// No bytes, or no pages.
    EmptyDocument,
    /// Over the byte, page or pixel limit.
    TooLarge,
    /// A PDF that cannot be parsed (bad xref, truncated, cyclic page tree, not a PDF inside).
    CorruptPdf,
    /// A PDF that needs a password (none or the wrong one was given), or a certificate.
    EncryptedPdf,
    /// An image that cannot be decoded (truncated, bad header).
    CorruptImage,
    /// Decoding took longer than the limit and was stopped.
    DecodeTimeout,
}

impl RejectCode {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectCode::UnsupportedType => "unsupported_type",
            RejectCode::EmptyDocument => "empty_document",
            RejectCode::TooLarge => "too_large",
            RejectCode::CorruptPdf => "corrupt_pdf",
            RejectCode::EncryptedPdf => "encrypted_pdf",
            RejectCode::CorruptImage => "corrupt_image",
            RejectCode::DecodeTimeout => "decode_timeout",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Rejection {
    pub code: RejectCode,
    pub message: String,
}

impl Rejection {
    pub fn new(code: RejectCode, message: impl Into<String>) -> Rejection {
        Rejection {
            code,
            message: message.into(),
        }
    }
}
