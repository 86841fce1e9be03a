//! Everything the sandbox does to PDFs, with PDFium (the binding `countersign-capture` finds):
//! checking a document, finding anchor text, stamping signatures, rendering pages for the signing
//! page, writing the certificate, joining documents.
//!
//! All of it is synchronous and CPU-bound: callers run it on the blocking pool.
//!
//! Coordinates. Tabs use DocuSign's: points (1 "pixel" = 1 point at 72 dpi) from the page's
//! top-left corner, y growing downwards. An anchor tab's place is the anchor text's top-left
//! corner moved by `anchorXOffset`/`anchorYOffset`; a sign-here stamp's box has its top-left
//! corner there, a date-signed stamp's text its top. (DocuSign's own placement differs by a few
//! points depending on the tab type; nothing here depends on that.) Anchors are found in the text
//! layer, which for a scanned page is the OCR's invisible text, so a scanned page gets its
//! signature beside the printed "Signature:" the OCR read.

use countersign_capture::pdfium_lib;
use pdfium_render::prelude::*;

#[derive(Debug, Clone, thiserror::Error)]
pub enum PdfError {
    #[error("PDFium is not available: {0}")]
    Unavailable(String),
    #[error("the document cannot be read as a PDF: {0}")]
    Unreadable(String),
    #[error("PDFium failed to {action}: {message}")]
    Pdfium {
        action: &'static str,
        message: String,
    },
    #[error("page {0} is not in the document")]
    NoSuchPage(u32),
}

fn pdfium() -> Result<&'static Pdfium, PdfError> {
    pdfium_lib::pdfium().map_err(PdfError::Unavailable)
}

fn err(action: &'static str) -> impl Fn(PdfiumError) -> PdfError {
    move |e| PdfError::Pdfium {
        action,
        message: format!("{e:?}"),
    }
}

fn load<'a>(pdfium: &'a Pdfium, bytes: &'a [u8]) -> Result<PdfDocument<'a>, PdfError> {
    pdfium
        .load_pdf_from_byte_slice(bytes, None)
        .map_err(|e| PdfError::Unreadable(format!("{e:?}")))
}

/// The page count of a readable, unencrypted PDF.
pub fn page_count(bytes: &[u8]) -> Result<u32, PdfError> {
    let pdfium = pdfium()?;
    let doc = load(pdfium, bytes)?;
    let n = doc.pages().len() as u32;
    if n == 0 {
        return Err(PdfError::Unreadable("the document has no pages".into()));
    }
    Ok(n)
}

/// How an anchor string is matched (DocuSign: case-insensitive, anywhere in a word, by default).
#[derive(Debug, Clone, PartialEq)]
pub struct AnchorText {
    pub text: String,
    pub case_sensitive: bool,
    pub whole_word: bool,
}

/// Where a tab goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// At every occurrence of the text, moved by the offsets (points, y down).
    Anchor {
        anchor: AnchorText,
        x_offset: f32,
        y_offset: f32,
    },
    /// On one page (1-based), in points from its top-left corner.
    Fixed { page: u32, x: f32, y: f32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkKind {
    SignHere,
    DateSigned,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub kind: MarkKind,
    pub placement: Placement,
}

/// Whether the text occurs anywhere in the document.
pub fn contains_anchor(bytes: &[u8], anchor: &AnchorText) -> Result<bool, PdfError> {
    let pdfium = pdfium()?;
    let doc = load(pdfium, bytes)?;
    for page in doc.pages().iter() {
        if !anchor_hits(&page, anchor)?.is_empty() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The anchor's occurrences on a page, as (left, top) in top-left coordinates.
fn anchor_hits(page: &PdfPage, anchor: &AnchorText) -> Result<Vec<(f32, f32)>, PdfError> {
    let text = page.text().map_err(err("read the text layer"))?;
    let options = PdfSearchOptions::new()
        .match_case(anchor.case_sensitive)
        .match_whole_word(anchor.whole_word);
    let search = text
        .search(&anchor.text, &options)
        .map_err(err("search the text layer"))?;
    let height = page.height().value;
    let mut hits = Vec::new();
    for segments in search.iter(PdfSearchDirection::SearchForward) {
        // A match may span segments (a line break): its place is that of its first one.
        if let Ok(first) = segments.first() {
            let b = first.bounds();
            hits.push((b.left().value, height - b.top().value));
        }
    }
    Ok(hits)
}

const INK: PdfColor = PdfColor::new(24, 48, 150, 255);
const STAMP_FONT_PT: f32 = 9.0;
const STAMP_PAD_PT: f32 = 5.0;
const STAMP_HEIGHT_PT: f32 = 22.0;

/// Stamps one signer's marks onto a document: "Signed by NAME, DATE" in a box at every sign-here
/// place, the date at every date-signed place. The caller passes only the marks meant for this
/// document (anchors: all; fixed places: those naming its `documentId`). Returns the new document
/// bytes and how many stamps were placed.
pub fn stamp(
    bytes: &[u8],
    marks: &[Mark],
    signer_name: &str,
    date: &str,
) -> Result<(Vec<u8>, usize), PdfError> {
    let pdfium = pdfium()?;
    let mut doc = load(pdfium, bytes)?;
    let font = doc.fonts_mut().helvetica();
    let page_total = doc.pages().len() as u32;
    let mut placed = 0;
    for index in 0..page_total {
        let mut page = doc
            .pages()
            .get(index as PdfPageIndex)
            .map_err(err("open a page"))?;
        let (w, h) = (page.width().value, page.height().value);
        let mut spots: Vec<(MarkKind, f32, f32)> = Vec::new();
        for mark in marks {
            match &mark.placement {
                Placement::Anchor {
                    anchor,
                    x_offset,
                    y_offset,
                } => {
                    for (left, top) in anchor_hits(&page, anchor)? {
                        spots.push((mark.kind, left + x_offset, top + y_offset));
                    }
                }
                Placement::Fixed { page: p, x, y } if *p == index + 1 => {
                    spots.push((mark.kind, *x, *y));
                }
                Placement::Fixed { .. } => {}
            }
        }
        if spots.is_empty() {
            continue;
        }
        page.set_content_regeneration_strategy(PdfPageContentRegenerationStrategy::Manual);
        for (kind, x, y) in spots {
            let text = match kind {
                MarkKind::SignHere => format!("Signed by {signer_name}, {date}"),
                MarkKind::DateSigned => date.to_owned(),
            };
            let text = win_ansi(&text);
            let text_w = approx_width(&text, STAMP_FONT_PT);
            // Keep the stamp on the page.
            let box_w = text_w + 2.0 * STAMP_PAD_PT;
            let box_h = match kind {
                MarkKind::SignHere => STAMP_HEIGHT_PT,
                MarkKind::DateSigned => STAMP_FONT_PT * 1.4,
            };
            let x = x.clamp(0.0, (w - box_w).max(0.0));
            let y = y.clamp(0.0, (h - box_h).max(0.0));
            let (left, top) = (x, h - y);
            if kind == MarkKind::SignHere {
                let rect = PdfRect::new_from_values(top - box_h, left, top, left + box_w);
                let frame = PdfPagePathObject::new_rect(
                    &doc,
                    rect,
                    Some(INK),
                    Some(PdfPoints::new(1.0)),
                    None,
                )
                .map_err(err("draw the signature box"))?;
                page.objects_mut()
                    .add_path_object(frame)
                    .map_err(err("add the signature box"))?;
            }
            let baseline = top - box_h / 2.0 - STAMP_FONT_PT * 0.35;
            let pad = if kind == MarkKind::SignHere {
                STAMP_PAD_PT
            } else {
                0.0
            };
            let mut object =
                PdfPageTextObject::new(&doc, &text, font, PdfPoints::new(STAMP_FONT_PT))
                    .map_err(err("write the stamp"))?;
            object
                .set_fill_color(INK)
                .map_err(err("colour the stamp"))?;
            object
                .translate(PdfPoints::new(left + pad), PdfPoints::new(baseline))
                .map_err(err("place the stamp"))?;
            page.objects_mut()
                .add_text_object(object)
                .map_err(err("add the stamp"))?;
            placed += 1;
        }
        page.regenerate_content()
            .map_err(err("write the page content"))?;
    }
    let out = doc.save_to_bytes().map_err(err("save the document"))?;
    Ok((out, placed))
}

/// One page (1-based) as a PNG `width_px` wide.
pub fn render_page_png(bytes: &[u8], page: u32, width_px: u32) -> Result<Vec<u8>, PdfError> {
    let pdfium = pdfium()?;
    let doc = load(pdfium, bytes)?;
    if page == 0 || page > doc.pages().len() as u32 {
        return Err(PdfError::NoSuchPage(page));
    }
    let page = doc
        .pages()
        .get((page - 1) as PdfPageIndex)
        .map_err(err("open a page"))?;
    let config = PdfRenderConfig::new()
        .set_target_width(width_px as Pixels)
        .render_form_data(true);
    let image = page
        .render_with_config(&config)
        .map_err(err("render a page"))?
        .as_image()
        .map_err(err("convert a page"))?;
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(image.to_rgb8())
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .map_err(|e| PdfError::Pdfium {
            action: "encode a page as PNG",
            message: e.to_string(),
        })?;
    Ok(out)
}

/// The documents one after another, as one PDF (one document: its bytes unchanged).
pub fn concatenate(documents: &[Vec<u8>]) -> Result<Vec<u8>, PdfError> {
    if documents.len() == 1 {
        return Ok(documents[0].clone());
    }
    let pdfium = pdfium()?;
    let mut out = pdfium.create_new_pdf().map_err(err("create a document"))?;
    for bytes in documents {
        let doc = load(pdfium, bytes)?;
        out.pages_mut()
            .append(&doc)
            .map_err(err("append a document"))?;
    }
    out.save_to_bytes().map_err(err("save the document"))
}

/// A text page: lines in Helvetica on US Letter pages, a new page when one is full. Each line
/// is (size in points, text).
pub fn text_document(lines: &[(f32, String)]) -> Result<Vec<u8>, PdfError> {
    const MARGIN: f32 = 54.0;
    let (page_w, page_h) = (612.0, 792.0);
    let pdfium = pdfium()?;
    let mut doc = pdfium.create_new_pdf().map_err(err("create a document"))?;
    let font = doc.fonts_mut().helvetica();
    let mut wrapped: Vec<(f32, String)> = Vec::new();
    for (size, line) in lines {
        for part in wrap(&win_ansi(line), *size, page_w - 2.0 * MARGIN) {
            wrapped.push((*size, part));
        }
    }
    let mut page: Option<PdfPage> = None;
    let mut y = 0.0;
    for (size, line) in wrapped {
        let step = size * 1.45;
        if page.is_none() || y - step < MARGIN {
            if let Some(mut done) = page.take() {
                done.regenerate_content()
                    .map_err(err("write the page content"))?;
            }
            let mut new = doc
                .pages_mut()
                .create_page_at_end(PdfPagePaperSize::new_custom(
                    PdfPoints::new(page_w),
                    PdfPoints::new(page_h),
                ))
                .map_err(err("create a page"))?;
            new.set_content_regeneration_strategy(PdfPageContentRegenerationStrategy::Manual);
            page = Some(new);
            y = page_h - MARGIN;
        }
        y -= step;
        if line.trim().is_empty() {
            continue;
        }
        let mut object = PdfPageTextObject::new(&doc, &line, font, PdfPoints::new(size))
            .map_err(err("write a line"))?;
        object
            .translate(PdfPoints::new(MARGIN), PdfPoints::new(y))
            .map_err(err("place a line"))?;
        page.as_mut()
            .expect("a page was created above")
            .objects_mut()
            .add_text_object(object)
            .map_err(err("add a line"))?;
    }
    if let Some(mut done) = page.take() {
        done.regenerate_content()
            .map_err(err("write the page content"))?;
    }
    doc.save_to_bytes().map_err(err("save the document"))
}

/// Splits a line into pieces no wider than `width` points, at spaces where possible.
fn wrap(line: &str, size: f32, width: f32) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for word in line.split(' ') {
        let candidate = if current.is_empty() {
            word.to_owned()
        } else {
            format!("{current} {word}")
        };
        if approx_width(&candidate, size) <= width || current.is_empty() {
            current = candidate;
        } else {
            out.push(std::mem::take(&mut current));
            current = format!("    {word}");
        }
    }
    out.push(current);
    out
}

/// Helvetica is about half an em wide on average; wide enough an estimate for boxes and wrapping.
fn approx_width(text: &str, size: f32) -> f32 {
    text.chars()
        .map(|c| match c {
            'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '!' | '|' | ' ' => 0.28,
            'm' | 'w' | 'M' | 'W' | '@' => 0.85,
            'A'..='Z' | '0'..='9' => 0.64,
            _ => 0.54,
        })
        .sum::<f32>()
        * size
}

/// The standard fonts encode WinAnsi: keep Latin-1 and printable ASCII, replace the rest.
fn win_ansi(text: &str) -> String {
    text.chars()
        .map(|c| {
            if (' '..='~').contains(&c) || ('\u{a0}'..='ÿ').contains(&c) {
                c
            } else {
                '?'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_lines_within_the_width() {
        let line = "word ".repeat(60);
        let parts = wrap(line.trim(), 10.0, 300.0);
        assert!(parts.len() > 1);
        for p in &parts {
            assert!(approx_width(p, 10.0) <= 300.0, "{p}");
        }
        assert_eq!(wrap("short", 10.0, 300.0), vec!["short".to_owned()]);
    }

    #[test]
    fn text_outside_win_ansi_is_replaced() {
        assert_eq!(win_ansi("Zoë 日本"), "Zoë ??");
    }
}
