//! The document record: the JSON shape DESIGN.md fixes (snake_case field names are a contract).

use crate::{DocumentId, EnvelopeId, Status, TenantId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use ts_rs::TS;

/// How the paper came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Upload,
    Scanner,
    Folder,
    Photo,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Upload => "upload",
            Source::Scanner => "scanner",
            Source::Folder => "folder",
            Source::Photo => "photo",
        }
    }
    pub fn parse(s: &str) -> Option<Source> {
        [
            Source::Upload,
            Source::Scanner,
            Source::Folder,
            Source::Photo,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// The file types Countersign accepts, decided from the content (magic bytes), never the name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
pub enum MimeType {
    #[serde(rename = "application/pdf")]
    Pdf,
    #[serde(rename = "image/tiff")]
    Tiff,
    #[serde(rename = "image/png")]
    Png,
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/webp")]
    Webp,
}

impl MimeType {
    pub const ALL: [MimeType; 5] = [
        MimeType::Pdf,
        MimeType::Tiff,
        MimeType::Png,
        MimeType::Jpeg,
        MimeType::Webp,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            MimeType::Pdf => "application/pdf",
            MimeType::Tiff => "image/tiff",
            MimeType::Png => "image/png",
            MimeType::Jpeg => "image/jpeg",
            MimeType::Webp => "image/webp",
        }
    }
    pub fn parse(s: &str) -> Option<MimeType> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum DecisionAction {
    AutoRoute,
    Review,
    Quarantine,
}

/// What routing decided and why; the reasons are shown to reviewers ("why flagged").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct Decision {
    pub action: DecisionAction,
    pub reasons: Vec<String>,
}

/// An extracted field. `bbox` is `[x0, y0, x1, y1]` in pixels of the rendered page image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct Field {
    pub value: String,
    pub confidence: f64,
    pub page: u32,
    pub bbox: [u32; 4],
}

/// Why a document is `failed`: the stage that failed and a structured, stable error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct Failure {
    pub stage: String,
    pub code: String,
    pub message: String,
    pub retryable: bool,
}

/// One canonical page of a version: size in pixels of the page image, and the resolution it was
/// made at (`None`: the image did not say).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct PageInfo {
    pub index: u32,
    pub width: u32,
    pub height: u32,
    pub dpi: Option<u32>,
    /// A page image is stored (rendering may still be under way for later pages).
    pub rendered: bool,
}

/// A recognised word. `bbox` is `[x0, y0, x1, y1]` in pixels of the version's page image;
/// `confidence` is 0..1. A page lists its words in reading order; `block`, `paragraph` and `line`
/// number the page's text blocks, paragraphs and lines in that order (0-based, unique on the page,
/// so words with the same `line` are on one line).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct OcrWord {
    pub text: String,
    pub confidence: f64,
    pub bbox: [u32; 4],
    #[serde(default)]
    pub block: u32,
    #[serde(default)]
    pub paragraph: u32,
    #[serde(default)]
    pub line: u32,
}

/// What was measured on a page image before recognition (all estimates).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct PageQuality {
    /// Resolution the text size suggests (dots per inch), from the median height of the glyphs.
    pub estimated_dpi: Option<u32>,
    /// Resolution the image file declared, if any.
    pub declared_dpi: Option<u32>,
    /// Spread between dark (text) and light (background) levels, 0..1 (1 = black on white).
    pub contrast: f64,
    /// Unevenness of the background (standard deviation of the local background level, 0..1).
    pub background_variation: f64,
    /// Share of ink pixels that are isolated specks (salt-and-pepper noise), 0..1.
    pub noise: f64,
    /// Sharpness: variance of the Laplacian of the grey image (low = blurred).
    pub sharpness: f64,
    /// Skew of the text lines in degrees, counter-clockwise positive, as found before deskewing.
    pub skew_degrees: f64,
    /// Orientation of the page as scanned (0, 90, 180 or 270, clockwise), as found by Tesseract OSD.
    pub orientation_degrees: u32,
}

/// One preprocessing stage as run on a page: whether it changed the image, what it measured, why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct PreprocessStep {
    pub stage: String,
    pub applied: bool,
    pub reason: String,
    #[ts(type = "number")]
    pub millis: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct OcrPage {
    pub index: u32,
    pub width: u32,
    pub height: u32,
    pub text: String,
    pub mean_confidence: f64,
    pub words: Vec<OcrWord>,
    #[serde(default)]
    pub quality: Option<PageQuality>,
    #[serde(default)]
    pub preprocessing: Vec<PreprocessStep>,
}

impl OcrPage {
    /// Replaces the text of word `index` with a person's reading (confidence 1), and the page
    /// text and mean confidence with it. Returns the word's previous text, or `None` if there is
    /// no such word. A correction may contain spaces; it stays one word (one box).
    pub fn correct_word(&mut self, index: usize, text: &str) -> Option<String> {
        let word = self.words.get_mut(index)?;
        let old = std::mem::replace(&mut word.text, text.to_owned());
        word.confidence = 1.0;
        self.rebuild_text();
        Some(old)
    }

    /// The page text from the words in reading order: a space between words of a line, a line
    /// break between lines of a block, an empty line between blocks (as the engine writes it).
    pub fn rebuild_text(&mut self) {
        let mut text = String::new();
        let mut last: Option<(u32, u32)> = None;
        for w in &self.words {
            match last {
                None => {}
                Some((b, l)) if b == w.block && l == w.line => text.push(' '),
                Some((b, _)) if b == w.block => text.push('\n'),
                Some(_) => text.push_str("\n\n"),
            }
            text.push_str(&w.text);
            last = Some((w.block, w.line));
        }
        self.text = text;
        self.mean_confidence = if self.words.is_empty() {
            0.0
        } else {
            self.words.iter().map(|w| w.confidence).sum::<f64>() / self.words.len() as f64
        };
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct OcrDocument {
    pub pages: Vec<OcrPage>,
}

/// The document record of DESIGN.md: a document at one version. Fields that are not known yet are
/// `null` in JSON (never omitted), except `ocr`, which is only present when asked for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct DocumentRecord {
    pub document_id: DocumentId,
    pub version: u32,
    pub source: Source,
    pub file_name: String,
    pub mime_type: MimeType,
    /// sha256 (hex) of the original bytes.
    pub checksum: String,
    pub page_count: Option<u32>,
    /// The original is a PDF that already carries text (born digital, or OCRed before).
    pub has_text_layer: bool,
    pub status: Status,
    /// Mean word confidence, 0..1.
    pub ocr_confidence: Option<f64>,
    pub document_type: Option<String>,
    /// 0..1
    pub classification_confidence: Option<f64>,
    pub decision: Option<Decision>,
    pub route: Option<String>,
    pub fields: BTreeMap<String, Field>,
    pub envelope_id: Option<EnvelopeId>,
    pub tenant_id: TenantId,
    pub department: Option<String>,
    pub policy_tags: Vec<String>,
    pub retention_class: Option<String>,
    /// Set while `status` is `failed`.
    pub failure: Option<Failure>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub ocr: Option<OcrDocument>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, confidence: f64, block: u32, line: u32) -> OcrWord {
        OcrWord {
            text: text.into(),
            confidence,
            bbox: [0, 0, 1, 1],
            block,
            paragraph: block,
            line,
        }
    }

    #[test]
    fn a_corrected_word_changes_the_page_text_and_confidence() {
        let mut page = OcrPage {
            index: 0,
            width: 10,
            height: 10,
            text: "Invoice Totai\n100\n\nThanks".into(),
            mean_confidence: 0.7,
            words: vec![
                word("Invoice", 0.9, 0, 0),
                word("Totai", 0.3, 0, 0),
                word("100", 0.9, 0, 1),
                word("Thanks", 0.7, 1, 2),
            ],
            quality: None,
            preprocessing: vec![],
        };
        assert_eq!(page.correct_word(1, "Total").as_deref(), Some("Totai"));
        assert_eq!(page.text, "Invoice Total\n100\n\nThanks");
        assert_eq!(page.words[1].confidence, 1.0);
        assert!((page.mean_confidence - 0.875).abs() < 1e-9);
        assert_eq!(page.correct_word(9, "x"), None);
    }

    #[test]
    fn record_json_uses_the_contract_names() {
        let now = Utc::now();
        let rec = DocumentRecord {
            document_id: DocumentId::new(),
            version: 1,
            source: Source::Upload,
            file_name: "a.png".into(),
            mime_type: MimeType::Png,
            checksum: "00".repeat(32),
            page_count: Some(1),
            has_text_layer: false,
            status: Status::Received,
            ocr_confidence: None,
            document_type: None,
            classification_confidence: None,
            decision: Some(Decision {
                action: DecisionAction::AutoRoute,
                reasons: vec![],
            }),
            route: None,
            fields: BTreeMap::new(),
            envelope_id: None,
            tenant_id: TenantId::default(),
            department: None,
            policy_tags: vec![],
            retention_class: None,
            failure: None,
            created_at: now,
            updated_at: now,
            ocr: None,
        };
        let v = serde_json::to_value(&rec).unwrap();
        for key in [
            "document_id",
            "version",
            "source",
            "file_name",
            "mime_type",
            "checksum",
            "page_count",
            "status",
            "ocr_confidence",
            "document_type",
            "classification_confidence",
            "decision",
            "route",
            "fields",
            "envelope_id",
            "tenant_id",
            "department",
            "policy_tags",
            "retention_class",
            "created_at",
            "updated_at",
        ] {
            assert!(v.get(key).is_some(), "missing `{key}` in {v}");
        }
        assert!(v.get("ocr").is_none(), "ocr only when asked for");
        assert_eq!(v["mime_type"], "image/png");
        assert_eq!(v["source"], "upload");
        assert_eq!(v["decision"]["action"], "auto_route");
        let back: DocumentRecord = serde_json::from_value(v).unwrap();
        assert_eq!(back, rec);
    }
}
