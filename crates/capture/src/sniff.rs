//! Deciding a file's type from its first bytes. The file name is never trusted.
//! (Full validation of each format — decoding limits, encrypted and corrupt PDFs — belongs to the
//! capture stage; this is the gate at the door.)

use crate::reject::{RejectCode, Rejection};
use countersign_core::MimeType;

/// The accepted type of `bytes`, or `unsupported_type` naming what it looks like instead.
pub fn sniff(bytes: &[u8]) -> Result<MimeType, Rejection> {
    if bytes.is_empty() {
        return Err(Rejection::new(
            RejectCode::EmptyDocument,
            "the file is empty (0 bytes)",
        ));
    }
    // PDF: the header may follow up to 1 KiB of junk (PDF 1.7, annex H.3, note 13).
    let head = &bytes[..bytes.len().min(1024)];
    if head.windows(5).any(|w| w == b"%PDF-") {
        return Ok(MimeType::Pdf);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(MimeType::Png);
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(MimeType::Jpeg);
    }
    if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        return Ok(MimeType::Tiff);
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Ok(MimeType::Webp);
    }
    Err(Rejection::new(
        RejectCode::UnsupportedType,
        format!(
            "{} files are not supported; Countersign accepts PDF, TIFF, PNG, JPEG and WebP",
            describe(bytes)
        ),
    ))
}

/// A human name for common types we refuse, so the message says what the file is.
fn describe(bytes: &[u8]) -> &'static str {
    let ftyp = bytes.get(4..12);
    match () {
        _ if matches!(
            ftyp,
            Some(b"ftypheic" | b"ftypheix" | b"ftypmif1" | b"ftypmsf1" | b"ftyphevc")
        ) =>
        {
            "HEIC/HEIF"
        }
        _ if bytes.starts_with(b"GIF8") => "GIF",
        _ if bytes.starts_with(b"BM") => "BMP",
        _ if bytes.starts_with(b"PK\x03\x04") => "ZIP (or DOCX/XLSX)",
        _ if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) => "legacy Office",
        _ if std::str::from_utf8(&bytes[..bytes.len().min(512)]).is_ok() => "Text",
        _ => "Unrecognised",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_types_are_recognised_by_content() {
        assert_eq!(sniff(b"%PDF-1.7\n...").unwrap(), MimeType::Pdf);
        assert_eq!(sniff(b"junk before\n%PDF-1.4").unwrap(), MimeType::Pdf);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0").unwrap(), MimeType::Png);
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]).unwrap(), MimeType::Jpeg);
        assert_eq!(sniff(b"II*\0\x08\0\0\0").unwrap(), MimeType::Tiff);
        assert_eq!(sniff(b"MM\0*\0\0\0\x08").unwrap(), MimeType::Tiff);
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8 ").unwrap(), MimeType::Webp);
    }

    #[test]
    fn refused_types_say_what_they_are() {
        let e = sniff(b"").unwrap_err();
        assert_eq!(e.code, RejectCode::EmptyDocument);
        let e = sniff(b"\0\0\0\x18ftypheic\0\0").unwrap_err();
        assert_eq!(e.code, RejectCode::UnsupportedType);
        assert!(e.message.starts_with("HEIC"), "{}", e.message);
        let e = sniff(b"hello, this is a text file").unwrap_err();
        assert!(e.message.starts_with("Text"));
        let e = sniff(b"GIF89a").unwrap_err();
        assert!(e.message.starts_with("GIF"));
    }
}
