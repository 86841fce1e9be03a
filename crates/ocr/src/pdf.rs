//! The searchable PDF: each page image, filling its page, with an invisible text layer on the
//! recognised words, so that selecting and searching in any PDF viewer lands on the word in the
//! image, and a signing service can find anchor text such as `Signature:` on a scanned page.
//!
//! Geometry. A page is `width_px × 72 / dpi` by `height_px × 72 / dpi` points and the image fills
//! it. Each word is one text object in Helvetica (a standard font: nothing is embedded) with text
//! render mode 3 (invisible). Its font size and baseline are chosen so that the font's
//! ascent–descent band — the box viewers highlight and `pdftotext -bbox` reports — covers the
//! word's box from top to bottom, and the text matrix scales it horizontally so that its advance
//! width is the box's width. Words of one line share one band (the line's), so text extraction
//! keeps the line together even around a dash or a dot whose own box is a few pixels high; on a
//! skewed line, whose band would be much taller than its words, each word keeps its own box.
//! Between two words of a line a space is written, stretched over the gap between them, so text
//! extraction yields `word word` and a selection runs along the line.
//!
//! Characters. The standard font's encoding (WinAnsi) covers ASCII, Latin-1 and the usual
//! typographic marks (€ – — ‘ ’ “ ” • …). Ligatures are written as their letters (`ﬁ` → `fi`),
//! Latin letters outside it as their base letter (`Ł` → `L`), and anything else as `?`.

use countersign_core::{OcrPage, OcrWord};
use pdfium_render::prelude::*;

/// One page to write: the page image as stored (PNG, or any format the `image` crate reads), the
/// resolution it was made at, and the OCR of that image.
pub struct PdfPageInput<'a> {
    pub image_png: &'a [u8],
    pub dpi: f32,
    pub ocr: &'a OcrPage,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum PdfError {
    #[error("PDFium is not available: {0}")]
    Unavailable(String),
    #[error("no pages to write")]
    NoPages,
    #[error("page {page}: the page image cannot be read: {message}")]
    Image { page: usize, message: String },
    #[error("page {page}: {message}")]
    InvalidPage { page: usize, message: String },
    #[error("PDFium failed to {action}: {message}")]
    Pdfium {
        action: &'static str,
        message: String,
    },
}

fn pdfium_err(action: &'static str) -> impl Fn(PdfiumError) -> PdfError {
    move |e| PdfError::Pdfium {
        action,
        message: format!("{e:?}"),
    }
}

/// Helvetica's ascent and descent (AFM `Ascender`/`Descender`, in em): what PDF readers use for
/// the standard font, which carries no font descriptor.
const ASCENT: f32 = 0.718;
const DESCENT: f32 = 0.207;
/// A word box narrower or lower than this (in points) carries no usable geometry.
const MIN_BOX_PT: f32 = 0.05;

/// Writes the searchable PDF: one page per input, in order.
/// A PDF of page images alone (no text layer), each page sized by `dpi`: what a scanner that
/// writes PDFs hands over.
pub fn image_pdf(pngs: &[Vec<u8>], dpi: f32) -> Result<Vec<u8>, PdfError> {
    let empty: Vec<OcrPage> = (0..pngs.len())
        .map(|i| OcrPage {
            index: i as u32,
            width: 0,
            height: 0,
            text: String::new(),
            mean_confidence: 0.0,
            words: Vec::new(),
            quality: None,
            preprocessing: Vec::new(),
        })
        .collect();
    let inputs: Vec<PdfPageInput> = pngs
        .iter()
        .zip(&empty)
        .map(|(png, ocr)| PdfPageInput {
            image_png: png,
            dpi,
            ocr,
        })
        .collect();
    searchable_pdf(&inputs)
}

pub fn searchable_pdf(pages: &[PdfPageInput]) -> Result<Vec<u8>, PdfError> {
    if pages.is_empty() {
        return Err(PdfError::NoPages);
    }
    let pdfium = countersign_capture::pdfium_lib::pdfium().map_err(PdfError::Unavailable)?;
    let mut doc = pdfium
        .create_new_pdf()
        .map_err(pdfium_err("create a document"))?;
    let font = doc.fonts_mut().helvetica();
    for (n, input) in pages.iter().enumerate() {
        add_page(&mut doc, font, n, input)?;
    }
    doc.save_to_bytes().map_err(pdfium_err("save the document"))
}

fn add_page(
    doc: &mut PdfDocument,
    font: PdfFontToken,
    n: usize,
    input: &PdfPageInput,
) -> Result<(), PdfError> {
    if !(input.dpi.is_finite() && input.dpi > 0.0) {
        return Err(PdfError::InvalidPage {
            page: n,
            message: format!("invalid resolution {} dpi", input.dpi),
        });
    }
    let image = image::load_from_memory(input.image_png).map_err(|e| PdfError::Image {
        page: n,
        message: e.to_string(),
    })?;
    let (w_px, h_px) = (image.width(), image.height());
    if w_px == 0 || h_px == 0 {
        return Err(PdfError::Image {
            page: n,
            message: "the image is empty".into(),
        });
    }
    let dpi = input.dpi as f64;
    let (w_pt, h_pt) = (px_to_pt(w_px as f64, dpi), px_to_pt(h_px as f64, dpi));

    let mut page = doc
        .pages_mut()
        .create_page_at_end(PdfPagePaperSize::new_custom(
            PdfPoints::new(w_pt),
            PdfPoints::new(h_pt),
        ))
        .map_err(pdfium_err("create a page"))?;
    // One content stream write per page instead of one per object added.
    page.set_content_regeneration_strategy(PdfPageContentRegenerationStrategy::Manual);

    // The image: PDFium's unit square scaled to the page.
    let mut buffer = bitmap_bytes(&image);
    drop(image);
    let bitmap = PdfBitmap::from_bytes(
        w_px as Pixels,
        h_px as Pixels,
        buffer.format,
        &mut buffer.bytes,
    )
    .map_err(pdfium_err("create the page bitmap"))?;
    // pdfium-render's constructor (with its `image` feature) takes a DynamicImage, which it
    // turns into BGRA; start from a 1-pixel one and replace it with the page's own bitmap, which
    // PDFium copies (one byte a pixel for grey, three for colour).
    let mut image_object = PdfPageImageObject::new(doc, &image::DynamicImage::new_luma8(1, 1))
        .map_err(pdfium_err("create the page image"))?;
    image_object
        .set_bitmap(&bitmap)
        .map_err(pdfium_err("set the page image"))?;
    drop(bitmap);
    drop(buffer);
    image_object
        .scale(w_pt, h_pt)
        .map_err(pdfium_err("place the page image"))?;
    page.objects_mut()
        .add_image_object(image_object)
        .map_err(pdfium_err("add the page image"))?;

    // The OCR's boxes are in pixels of the image it read; should that image have had another
    // size than this one, its boxes are scaled to this one.
    let ocr = input.ocr;
    let sx = if ocr.width > 0 {
        w_px as f64 / ocr.width as f64
    } else {
        1.0
    };
    let sy = if ocr.height > 0 {
        h_px as f64 / ocr.height as f64
    } else {
        1.0
    };
    let words: Vec<(String, PtBox)> = ocr
        .words
        .iter()
        .filter_map(|word| {
            let text = to_win_ansi(&word.text);
            let b = pt_box(word, sx, sy, w_px, h_px, dpi)?;
            (!text.is_empty()).then_some((text, b))
        })
        .collect();

    for line in lines(&words) {
        let bands = line_bands(line);
        for (i, ((text, b), band)) in line.iter().zip(&bands).enumerate() {
            let size = band.height() / (ASCENT + DESCENT);
            let baseline = band.bottom + DESCENT * size;
            add_text(
                doc,
                &mut page,
                font,
                text,
                size,
                b.left,
                baseline,
                b.width(),
            )?;
            if let Some((_, next)) = line.get(i + 1) {
                let gap = (next.left - b.right).max(0.0);
                add_text(doc, &mut page, font, " ", size, b.right, baseline, gap)?;
            }
        }
    }
    page.regenerate_content()
        .map_err(pdfium_err("write the page content"))?;
    Ok(())
}

/// Adds one invisible text object: `text` at font size `size` with its baseline starting at
/// (`x`, `baseline`), stretched or squeezed to advance exactly `width` points.
#[allow(clippy::too_many_arguments)]
fn add_text<'a>(
    doc: &PdfDocument<'a>,
    page: &mut PdfPage<'a>,
    font: PdfFontToken,
    text: &str,
    size: f32,
    x: f32,
    baseline: f32,
    width: f32,
) -> Result<(), PdfError> {
    let natural = advance_em(text) * size;
    // A zero scale would make the text matrix singular; a gap of nothing is a hair-thin space.
    let h_scale = if natural > 0.0 {
        (width / natural).max(0.01)
    } else {
        1.0
    };
    let mut object = PdfPageTextObject::new(doc, text, font, PdfPoints::new(size))
        .map_err(pdfium_err("create a text object"))?;
    object
        .set_render_mode(PdfPageTextRenderMode::Invisible)
        .map_err(pdfium_err("make the text invisible"))?;
    object
        .transform(h_scale, 0.0, 0.0, 1.0, x, baseline)
        .map_err(pdfium_err("place a word"))?;
    page.objects_mut()
        .add_text_object(object)
        .map_err(pdfium_err("add a word"))?;
    Ok(())
}

/// Pixels to points, in f64 so that whole-point sizes come out whole (`700 × 72 / 200` is 252,
/// where `700 × (72 / 200)` in f32 is 252.00002 and pdftoppm then renders 701 rows).
fn px_to_pt(px: f64, dpi: f64) -> f32 {
    (px * 72.0 / dpi) as f32
}

/// A box in PDF points, origin bottom-left.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PtBox {
    left: f32,
    right: f32,
    bottom: f32,
    top: f32,
}

impl PtBox {
    fn width(&self) -> f32 {
        self.right - self.left
    }
    fn height(&self) -> f32 {
        self.top - self.bottom
    }
}

/// The word's box in points, clipped to the page; `None` when nothing usable is left.
fn pt_box(word: &OcrWord, sx: f64, sy: f64, w_px: u32, h_px: u32, dpi: f64) -> Option<PtBox> {
    let [x0, y0, x1, y1] = word.bbox;
    let clip_x = |v: u32| (v as f64 * sx).clamp(0.0, w_px as f64);
    let clip_y = |v: u32| (v as f64 * sy).clamp(0.0, h_px as f64);
    let (x0, x1) = (clip_x(x0.min(x1)), clip_x(x0.max(x1)));
    let (y0, y1) = (clip_y(y0.min(y1)), clip_y(y0.max(y1)));
    let b = PtBox {
        left: px_to_pt(x0, dpi),
        right: px_to_pt(x1, dpi),
        top: px_to_pt(h_px as f64 - y0, dpi),
        bottom: px_to_pt(h_px as f64 - y1, dpi),
    };
    (b.width() >= MIN_BOX_PT && b.height() >= MIN_BOX_PT).then_some(b)
}

/// Splits the words (in reading order) into lines: runs of consecutive words of which each one
/// continues the line of the one before it.
fn lines(words: &[(String, PtBox)]) -> Vec<&[(String, PtBox)]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=words.len() {
        if i == words.len() || !same_line(&words[i - 1].1, &words[i].1) {
            if i > start {
                out.push(&words[start..i]);
            }
            start = i;
        }
    }
    out
}

/// `next` continues the line of `b`: it starts at or after `b`'s end (give or take a little
/// overlap) and the two overlap vertically by at least half the lower one.
fn same_line(b: &PtBox, next: &PtBox) -> bool {
    let overlap = b.top.min(next.top) - b.bottom.max(next.bottom);
    let lower = b.height().min(next.height());
    overlap >= 0.5 * lower && next.left >= b.right - 0.25 * lower
}

/// The vertical band each word of a line is written in. Punctuation and dashes (boxes under half
/// the line's median height) are left out of the measure. Normally the whole line shares the band
/// from the highest top to the lowest bottom of its words; when that band is much taller than its
/// tallest word (a skewed line) each word keeps its own box, and a small one borrows the band of
/// the nearest full-height word before it (or after it).
fn line_bands(line: &[(String, PtBox)]) -> Vec<PtBox> {
    let mut heights: Vec<f32> = line.iter().map(|(_, b)| b.height()).collect();
    heights.sort_by(f32::total_cmp);
    let median = heights[heights.len() / 2];
    let full = |b: &PtBox| b.height() >= 0.5 * median;
    let mut band: Option<PtBox> = None;
    let mut tallest = 0.0f32;
    for (_, b) in line.iter().filter(|(_, b)| full(b)) {
        tallest = tallest.max(b.height());
        band = Some(match band {
            None => *b,
            Some(u) => PtBox {
                left: u.left.min(b.left),
                right: u.right.max(b.right),
                bottom: u.bottom.min(b.bottom),
                top: u.top.max(b.top),
            },
        });
    }
    let band = band.expect("the median word is full height");
    if band.height() <= 1.5 * tallest {
        return vec![band; line.len()];
    }
    (0..line.len())
        .map(|i| {
            let own = line[i].1;
            if full(&own) {
                return own;
            }
            let before = line[..i].iter().rev().find(|(_, b)| full(b));
            let after = line[i + 1..].iter().find(|(_, b)| full(b));
            before.or(after).map_or(own, |(_, b)| *b)
        })
        .collect()
}

/// The word as the text layer holds it, in the standard font's WinAnsi encoding (PDFium writes
/// `ÿ` for a character it cannot encode). Whitespace and control characters inside a word
/// become single spaces and the ends are trimmed.
fn to_win_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
        } else if helvetica_width(c).is_some() {
            out.push(c);
        } else if let Some(s) = ligature(c) {
            out.push_str(s);
        } else if let Some(base) = latin_base(c) {
            out.push(base);
        } else {
            out.push('?');
        }
    }
    out.truncate(out.trim_end().len());
    out
}

fn ligature(c: char) -> Option<&'static str> {
    Some(match c {
        'ﬀ' => "ff",
        'ﬁ' => "fi",
        'ﬂ' => "fl",
        'ﬃ' => "ffi",
        'ﬄ' => "ffl",
        'ﬅ' | 'ﬆ' => "st",
        'Ĳ' => "IJ",
        'ĳ' => "ij",
        _ => return None,
    })
}

/// The base letter of a letter of Latin Extended-A (U+0100–U+017F), e.g. `Ł` → `L`, `ő` → `o`.
fn latin_base(c: char) -> Option<char> {
    // One base letter per code point from U+0100; '.' marks the ligatures handled above.
    const BASE: &str = concat!(
        "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIi..JjKkkLlLlLlLlLlNnNnNnnNnOoOoOoOoRrRrRr",
        "SsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs",
    );
    let i = (c as u32).checked_sub(0x100)? as usize;
    BASE.as_bytes()
        .get(i)
        .filter(|b| **b != b'.')
        .map(|b| *b as char)
}

/// Advance width of `text` in Helvetica, in em.
fn advance_em(text: &str) -> f32 {
    text.chars()
        .map(|c| helvetica_width(c).unwrap_or(556) as f32)
        .sum::<f32>()
        / 1000.0
}

/// Helvetica's advance width (Adobe's AFM, in 1/1000 em, what PDF readers use for the standard
/// font) of a character WinAnsi encodes; `None` for any other character.
fn helvetica_width(c: char) -> Option<u16> {
    #[rustfmt::skip]
    const ASCII: [u16; 95] = [
        // space ! " # $ % & ' ( ) * + , - . /
        278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
        // 0-9
        556, 556, 556, 556, 556, 556, 556, 556, 556, 556,
        // : ; < = > ? @
        278, 278, 584, 584, 584, 556, 1015,
        // A-Z
        667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833,
        722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611,
        // [ \ ] ^ _ `
        278, 278, 278, 469, 556, 333,
        // a-z
        556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833,
        556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500,
        // { | } ~
        334, 260, 334, 584,
    ];
    #[rustfmt::skip]
    const LATIN1: [u16; 96] = [
        // nbsp ¡ ¢ £ ¤ ¥ ¦ § ¨ © ª « ¬ shy ® ¯
        278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333,
        // ° ± ² ³ ´ µ ¶ · ¸ ¹ º » ¼ ½ ¾ ¿
        400, 584, 333, 333, 333, 556, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611,
        // À-Ï
        667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,
        // Ð-ß
        722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,
        // à-ï
        556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278,
        // ð-ÿ
        556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500,
    ];
    Some(match c {
        ' '..='~' => ASCII[c as usize - 0x20],
        '\u{a0}'..='ÿ' => LATIN1[c as usize - 0xa0],
        '€' | 'ƒ' | '†' | '‡' | '–' => 556,
        '‚' | '‘' | '’' => 222,
        '„' | '“' | '”' | 'ˆ' | '˜' | '‹' | '›' => 333,
        '…' | '‰' | 'Œ' | '—' | '™' => 1000,
        '•' => 350,
        'Š' | 'Ÿ' => 667,
        'Ž' => 611,
        'š' | 'ž' => 500,
        'œ' => 944,
        _ => return None,
    })
}

/// The image's pixels in a PDFium bitmap format, rows padded to 4 bytes: grey stays grey (one
/// byte a pixel), anything else becomes BGR; transparency is flattened onto white paper.
struct BitmapBytes {
    format: PdfBitmapFormat,
    bytes: Vec<u8>,
}

fn bitmap_bytes(image: &image::DynamicImage) -> BitmapBytes {
    use image::DynamicImage as D;
    let (w, h) = (image.width() as usize, image.height() as usize);
    let grey = matches!(
        image,
        D::ImageLuma8(_) | D::ImageLuma16(_) | D::ImageLumaA8(_) | D::ImageLumaA16(_)
    );
    let alpha = image.color().has_alpha();
    let (format, bpp) = if grey {
        (PdfBitmapFormat::Gray, 1)
    } else {
        (PdfBitmapFormat::BGR, 3)
    };
    let stride = (w * bpp).div_ceil(4) * 4;
    let mut bytes = vec![0u8; stride * h];
    let on_white =
        |v: u8, a: u8| ((v as u32 * a as u32 + 255 * (255 - a as u32) + 127) / 255) as u8;
    let rows = bytes.chunks_exact_mut(stride);
    match (grey, alpha) {
        (true, false) => {
            let luma = image.to_luma8();
            for (row, src) in rows.zip(luma.as_raw().chunks_exact(w)) {
                row[..w].copy_from_slice(src);
            }
        }
        (true, true) => {
            let luma = image.to_luma_alpha8();
            for (row, src) in rows.zip(luma.as_raw().chunks_exact(2 * w)) {
                for (dst, px) in row[..w].iter_mut().zip(src.chunks_exact(2)) {
                    *dst = on_white(px[0], px[1]);
                }
            }
        }
        (false, false) => {
            let rgb = image.to_rgb8();
            for (row, src) in rows.zip(rgb.as_raw().chunks_exact(3 * w)) {
                for (dst, px) in row[..3 * w].chunks_exact_mut(3).zip(src.chunks_exact(3)) {
                    dst.copy_from_slice(&[px[2], px[1], px[0]]);
                }
            }
        }
        (false, true) => {
            let rgba = image.to_rgba8();
            for (row, src) in rows.zip(rgba.as_raw().chunks_exact(4 * w)) {
                for (dst, px) in row[..3 * w].chunks_exact_mut(3).zip(src.chunks_exact(4)) {
                    let a = px[3];
                    dst.copy_from_slice(&[
                        on_white(px[2], a),
                        on_white(px[1], a),
                        on_white(px[0], a),
                    ]);
                }
            }
        }
    }
    BitmapBytes { format, bytes }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_base_table_covers_latin_extended_a_exactly() {
        assert_eq!(latin_base('Ā'), Some('A'));
        assert_eq!(latin_base('Ł'), Some('L'));
        assert_eq!(latin_base('ł'), Some('l'));
        assert_eq!(latin_base('ő'), Some('o'));
        assert_eq!(latin_base('Ř'), Some('R'));
        assert_eq!(latin_base('Ż'), Some('Z'));
        assert_eq!(latin_base('ſ'), Some('s'));
        assert_eq!(latin_base('ŉ'), Some('n'));
        assert_eq!(latin_base('ƀ'), None);
        assert_eq!(latin_base('Ĳ'), None);
        assert_eq!(latin_base('A'), None);
    }

    #[test]
    fn text_is_written_in_win_ansi() {
        assert_eq!(to_win_ansi("Müller"), "Müller");
        assert_eq!(to_win_ansi("€1,250.00—“ok”"), "€1,250.00—“ok”");
        assert_eq!(to_win_ansi("Łódź"), "Lódz");
        assert_eq!(to_win_ansi("ﬁne"), "fine");
        assert_eq!(to_win_ansi("日本"), "??");
        assert_eq!(to_win_ansi(" a\tb \n"), "a b");
    }
}
