//! Turning validated bytes into canonical pages, in this process. Callers that face untrusted
//! files go through [`crate::isolate`], which runs these in a child process with a time limit.
//!
//! - [`inspect`]: is the file what it claims, and how many pages of what size (full decode for
//!   images, so truncated ones are refused at the door; page geometry only for PDFs).
//! - [`render`]: every page as an image at a known DPI, plus a thumbnail, one page at a time.
//! - [`unlock_pdf`]: an unencrypted copy of a password-protected PDF, so the password is used
//!   once at import and never stored.

use crate::limits::{Limits, CANONICAL_DPI, THUMB_MAX};
use crate::pdfium_lib::pdfium;
use crate::reject::{RejectCode, Rejection};
use countersign_core::MimeType;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use pdfium_render::prelude::*;
use serde::{Deserialize, Serialize};
use std::io::Cursor;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CaptureError {
    /// The file is refused (a user error, with a stable code).
    #[error("{0}")]
    Rejected(#[from] Rejection),
    /// Something we need is missing on this machine (PDFium).
    #[error("{0}")]
    Unavailable(String),
    /// Our own failure (encoding, IO).
    #[error("{0}")]
    Internal(String),
}

fn reject(code: RejectCode, message: impl Into<String>) -> CaptureError {
    CaptureError::Rejected(Rejection::new(code, message))
}

/// One page's size in pixels at the DPI it will be rendered at (`None`: the file did not say).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PageGeometry {
    pub index: u32,
    pub width: u32,
    pub height: u32,
    pub dpi: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inspection {
    pub page_count: u32,
    /// The PDF already carries text (born-digital or OCRed before).
    pub has_text_layer: bool,
    pub encrypted: bool,
    pub pages: Vec<PageGeometry>,
}

/// A canonical page image (PNG) and its thumbnail (PNG).
#[derive(Clone, Debug)]
pub struct RenderedPage {
    pub geometry: PageGeometry,
    /// The page image file: PNG, or PGM/PPM when rendered raw ([`PageEncoding::Raw`]).
    pub png: Vec<u8>,
    pub thumbnail_png: Vec<u8>,
}

pub fn inspect(
    bytes: &[u8],
    mime: MimeType,
    password: Option<&str>,
    limits: &Limits,
) -> Result<Inspection, CaptureError> {
    let inspection = match mime {
        MimeType::Pdf => {
            let pdfium = pdfium().map_err(CaptureError::Unavailable)?;
            inspect_pdf(&open_pdf(pdfium, bytes, password)?, password, limits)?
        }
        MimeType::Tiff => {
            let mut pages = Vec::new();
            tiff_pages(bytes, limits, |geometry, _| {
                pages.push(geometry);
                Ok(())
            })?;
            Inspection {
                page_count: pages.len() as u32,
                has_text_layer: false,
                encrypted: false,
                pages,
            }
        }
        _ => {
            let (img, dpi) = decode_single(bytes, mime, limits)?;
            Inspection {
                page_count: 1,
                has_text_layer: false,
                encrypted: false,
                pages: vec![PageGeometry {
                    index: 0,
                    width: img.width(),
                    height: img.height(),
                    dpi,
                }],
            }
        }
    };
    checked_page_count(inspection, limits)
}

/// [`inspect`] of the file at `path`. A PDF is opened where it lies, so PDFium reads only what
/// inspecting needs (its cross-reference table, page tree and first pages), not the whole file.
pub fn inspect_file(
    path: &std::path::Path,
    mime: MimeType,
    password: Option<&str>,
    limits: &Limits,
) -> Result<Inspection, CaptureError> {
    if mime != MimeType::Pdf {
        let bytes = std::fs::read(path)
            .map_err(|e| CaptureError::Internal(format!("reading {}: {e}", path.display())))?;
        return inspect(&bytes, mime, password, limits);
    }
    let pdfium = pdfium().map_err(CaptureError::Unavailable)?;
    let doc = pdfium
        .load_pdf_from_file(path, password)
        .map_err(|e| pdf_open_error(e, password))?;
    checked_page_count(inspect_pdf(&doc, password, limits)?, limits)
}

fn checked_page_count(inspection: Inspection, limits: &Limits) -> Result<Inspection, CaptureError> {
    if inspection.page_count == 0 {
        return Err(reject(RejectCode::EmptyDocument, "the file has no pages"));
    }
    if inspection.page_count > limits.max_pages {
        return Err(reject(
            RejectCode::TooLarge,
            format!(
                "the file has {} pages; the limit is {}",
                inspection.page_count, limits.max_pages
            ),
        ));
    }
    Ok(inspection)
}

/// How rendered pages are handed over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageEncoding {
    /// PNG page and thumbnail: what the store keeps.
    #[default]
    Png,
    /// Uncompressed PGM/PPM and no thumbnail: for reading right away and throwing away (OCR
    /// only), where a PNG round trip would cost more than the reading saves.
    Raw,
}

/// Renders pages `from..` in order, handing each to `sink` as soon as it is ready (so memory holds
/// one page at a time, and a resumed job can start where it stopped).
pub fn render(
    bytes: &[u8],
    mime: MimeType,
    password: Option<&str>,
    limits: &Limits,
    from: u32,
    sink: impl FnMut(RenderedPage) -> Result<(), CaptureError>,
) -> Result<(), CaptureError> {
    render_encoded(bytes, mime, password, limits, from, PageEncoding::Png, sink)
}

/// [`render`], with the pages encoded as `encoding` says.
pub fn render_encoded(
    bytes: &[u8],
    mime: MimeType,
    password: Option<&str>,
    limits: &Limits,
    from: u32,
    encoding: PageEncoding,
    mut sink: impl FnMut(RenderedPage) -> Result<(), CaptureError>,
) -> Result<(), CaptureError> {
    let finish_page = |img, geometry| finish_page(img, geometry, encoding);
    match mime {
        MimeType::Pdf => {
            let pdfium = pdfium().map_err(CaptureError::Unavailable)?;
            let doc = open_pdf(pdfium, bytes, password)?;
            let count = doc.pages().len();
            // Looked for once, on the first page that could be taken from its image.
            let mut masks = None;
            for index in from as usize..count as usize {
                let page = doc.pages().get(index as PdfPageIndex).map_err(|e| {
                    reject(
                        RejectCode::CorruptPdf,
                        format!("page {} cannot be read: {e}", index + 1),
                    )
                })?;
                let geometry = pdf_page_geometry(index as u32, &page, limits);
                let scanned = scanned_page_image(&page, &geometry, || {
                    *masks.get_or_insert_with(|| names_a_mask(bytes))
                });
                let img = match scanned {
                    Some(img) => img,
                    None => render_pdf_page(&page, &geometry)?,
                };
                sink(finish_page(img, geometry)?)?;
            }
            Ok(())
        }
        MimeType::Tiff => tiff_pages(bytes, limits, |geometry, img| {
            if geometry.index >= from {
                sink(finish_page(
                    img.expect("tiff_pages decodes when asked to render"),
                    geometry,
                )?)?;
            }
            Ok(())
        }),
        _ => {
            if from > 0 {
                return Ok(());
            }
            let (img, dpi) = decode_single(bytes, mime, limits)?;
            let geometry = PageGeometry {
                index: 0,
                width: img.width(),
                height: img.height(),
                dpi,
            };
            sink(finish_page(img, geometry)?)
        }
    }
}

/// An unencrypted copy of a password-protected PDF (its pages imported into a new document).
pub fn unlock_pdf(bytes: &[u8], password: &str) -> Result<Vec<u8>, CaptureError> {
    let pdfium = pdfium().map_err(CaptureError::Unavailable)?;
    let locked = open_pdf(pdfium, bytes, Some(password))?;
    let mut copy = pdfium
        .create_new_pdf()
        .map_err(|e| CaptureError::Internal(e.to_string()))?;
    copy.pages_mut().append(&locked).map_err(|e| {
        reject(
            RejectCode::CorruptPdf,
            format!("the pages cannot be copied out of the encrypted PDF: {e}"),
        )
    })?;
    copy.save_to_bytes()
        .map_err(|e| CaptureError::Internal(e.to_string()))
}

fn open_pdf<'a>(
    pdfium: &'a Pdfium,
    bytes: &'a [u8],
    password: Option<&'a str>,
) -> Result<PdfDocument<'a>, CaptureError> {
    pdfium
        .load_pdf_from_byte_slice(bytes, password)
        .map_err(|e| pdf_open_error(e, password))
}

fn pdf_open_error(e: PdfiumError, password: Option<&str>) -> CaptureError {
    match e {
        PdfiumError::PdfiumLibraryInternalError(PdfiumInternalError::PasswordError) => match password {
            None => reject(RejectCode::EncryptedPdf, "the PDF is password-protected; import it again with its password"),
            Some(_) => reject(RejectCode::EncryptedPdf, "the password does not open this PDF"),
        },
        PdfiumError::PdfiumLibraryInternalError(PdfiumInternalError::SecurityError) => reject(
            RejectCode::EncryptedPdf,
            "the PDF is encrypted with a security handler Countersign cannot open (e.g. certificate-based)",
        ),
        other => reject(RejectCode::CorruptPdf, format!("the PDF cannot be read: {}", describe_pdf_error(&other))),
    }
}

fn describe_pdf_error(e: &PdfiumError) -> String {
    match e {
        PdfiumError::PdfiumLibraryInternalError(PdfiumInternalError::FormatError) => {
            "it is damaged or not a PDF (bad structure)".into()
        }
        PdfiumError::PdfiumLibraryInternalError(PdfiumInternalError::FileError) => {
            "it is truncated or unreadable".into()
        }
        other => other.to_string(),
    }
}

fn inspect_pdf(
    doc: &PdfDocument,
    password: Option<&str>,
    limits: &Limits,
) -> Result<Inspection, CaptureError> {
    let count = doc.pages().len() as u32;
    if count > limits.max_pages {
        return Err(reject(
            RejectCode::TooLarge,
            format!(
                "the PDF has {count} pages; the limit is {}",
                limits.max_pages
            ),
        ));
    }
    // Sizes without loading the pages (a page load parses its content and images).
    let sizes = doc.pages().page_sizes().map_err(|e| {
        reject(
            RejectCode::CorruptPdf,
            format!("the page sizes cannot be read: {e}"),
        )
    })?;
    let pages = sizes
        .iter()
        .enumerate()
        .map(|(index, rect)| {
            geometry_for(
                index as u32,
                rect.width().value,
                rect.height().value,
                limits,
            )
        })
        .collect();
    // Text on any of the first pages is enough to call it a text PDF.
    let has_text_layer = doc.pages().iter().take(5).any(|page| {
        page.text()
            .map(|t| t.all().chars().filter(|c| c.is_alphanumeric()).count() >= 16)
            .unwrap_or(false)
    });
    Ok(Inspection {
        page_count: count,
        has_text_layer,
        encrypted: password.is_some(),
        pages,
    })
}

/// The page at [`CANONICAL_DPI`], or lower where that would exceed the pixel limit (posters).
fn pdf_page_geometry(index: u32, page: &PdfPage, limits: &Limits) -> PageGeometry {
    geometry_for(index, page.width().value, page.height().value, limits)
}

fn geometry_for(index: u32, width_pt: f32, height_pt: f32, limits: &Limits) -> PageGeometry {
    let w_in = (width_pt / 72.0).max(0.01) as f64;
    let h_in = (height_pt / 72.0).max(0.01) as f64;
    let fit = (limits.max_pixels_per_page as f64 / (w_in * h_in))
        .sqrt()
        .floor();
    let dpi = (CANONICAL_DPI as f64).min(fit).max(1.0);
    PageGeometry {
        index,
        width: ((w_in * dpi).round() as u32).max(1),
        height: ((h_in * dpi).round() as u32).max(1),
        dpi: Some(dpi as u32),
    }
}

/// The page rendered by PDFium at `geometry`'s size (with its form fields and annotations).
fn render_pdf_page(page: &PdfPage, geometry: &PageGeometry) -> Result<DynamicImage, CaptureError> {
    let index = geometry.index as usize;
    let config = PdfRenderConfig::new()
        .set_target_width(geometry.width as i32)
        .set_target_height(geometry.height as i32)
        .render_form_data(true)
        // PDFium's own byte order (B, G, R, A), as its decoded images come.
        .set_reverse_byte_order(false);
    let bitmap = page.render_with_config(&config).map_err(|e| {
        reject(
            RejectCode::CorruptPdf,
            format!("page {} cannot be rendered: {e}", index + 1),
        )
    })?;
    bitmap_pixels(&bitmap).ok_or_else(|| {
        reject(
            RejectCode::CorruptPdf,
            format!("page {} rendered to an unreadable bitmap", index + 1),
        )
    })
}

/// A scanned page's pixels taken straight from its image, without rendering the page.
///
/// A scanner's PDF page is one image drawn over the whole page. When that image has exactly the
/// pixels the page is rendered at, rendering only copies it 1:1 through PDFium's stretch engine,
/// which is most of a render's cost; decoding the image alone gives the same pixels (PDFium's
/// decoder, with its colour spaces, palettes and `/Decode` arrays, serves both). `None` — render
/// the page — for anything else: a rotated page, annotations or form fields, any other object, an
/// image that is clipped, transparent, placed rotated or flipped, does not fill the page, has
/// another resolution, or is (or may be) masked.
///
/// Where the page's size in points is not exact in floating point (240 × 364.8 pt), PDFium's
/// "1:1" is a hair off and it resamples, which smooths the edges of a 1-bit image: there the
/// image's own pixels are taken, not PDFium's resampled ones.
fn scanned_page_image(
    page: &PdfPage,
    geometry: &PageGeometry,
    file_names_a_mask: impl FnOnce() -> bool,
) -> Option<DynamicImage> {
    if !matches!(page.rotation(), Ok(PdfPageRenderRotation::None)) || !page.annotations().is_empty()
    {
        return None;
    }
    let objects = page.objects();
    if objects.len() != 1 {
        return None;
    }
    let object = objects.get(0).ok()?;
    let image = object.as_image_object()?;
    if object.has_transparency() || object.get_clip_path().is_some_and(|c| !c.is_empty()) {
        return None;
    }
    // The image space's unit square is drawn at `matrix`: it must be the page's box, upright.
    let (matrix, frame) = (
        object.matrix().ok()?,
        page.boundaries().bounding().ok()?.bounds,
    );
    let dpi = geometry.dpi? as f32;
    let close = |a: f32, b: f32| (a - b).abs() <= 0.1 * 72.0 / dpi; // a tenth of a pixel
    if !(close(matrix.b(), 0.0)
        && close(matrix.c(), 0.0)
        && close(matrix.a(), frame.width().value)
        && close(matrix.d(), frame.height().value)
        && close(matrix.e(), frame.left().value)
        && close(matrix.f(), frame.bottom().value))
    {
        return None;
    }
    if file_names_a_mask() {
        return None;
    }
    let bitmap = image.get_raw_bitmap().ok()?;
    if (bitmap.width() as u32, bitmap.height() as u32) != (geometry.width, geometry.height) {
        return None;
    }
    // PDFium hands palette images and 1-bit images with colours over as BGR; a grey bitmap is
    // either a DeviceGray image (its levels) or a stencil mask (coverage, not colour).
    if matches!(bitmap.format(), Ok(PdfBitmapFormat::Gray))
        && !matches!(image.color_space(), Ok(PdfColorSpace::DeviceGray))
    {
        return None;
    }
    bitmap_pixels(&bitmap)
}

/// Whether the PDF mentions an image mask anywhere (`/SMask`, `/Mask`, `/ImageMask`).
///
/// PDFium gives an image's pixels without its masks and says nothing of them, but an image is a
/// stream, streams never live inside object streams, and dictionaries are never encrypted: a file
/// whose bytes never name a mask has no masked image. A false alarm (the name inside some other
/// stream's data) only means the page is rendered.
fn names_a_mask(pdf: &[u8]) -> bool {
    let mut rest = pdf;
    while let Some(at) = rest.iter().position(|&b| b == b'/') {
        rest = &rest[at + 1..];
        if rest.starts_with(b"SMask") || rest.starts_with(b"Mask") || rest.starts_with(b"ImageMask")
        {
            return true;
        }
    }
    false
}

/// A PDFium bitmap (a rendered page or a decoded image) as canonical page pixels: 8-bit grey when
/// every pixel is grey (channels within 2 levels, as [`is_grey`]), else RGB. One pass over a grey
/// page (the usual scan), without the image crate's floating-point conversions.
fn bitmap_pixels(bitmap: &PdfBitmap) -> Option<DynamicImage> {
    let (w, h) = (
        bitmap.width().max(0) as usize,
        bitmap.height().max(0) as usize,
    );
    let bpp = match bitmap.format().ok()? {
        PdfBitmapFormat::Gray => 1,
        PdfBitmapFormat::BGR => 3,
        PdfBitmapFormat::BGRx | PdfBitmapFormat::BGRA => 4,
    };
    let bytes = bitmap.as_raw_bytes();
    let stride = bytes.len().checked_div(h)?;
    if w == 0 || stride < w * bpp {
        return None;
    }
    let rows = || {
        bytes
            .chunks_exact(stride)
            .take(h)
            .map(|row| &row[..w * bpp])
    };
    let mut grey = Vec::with_capacity(w * h);
    if bpp == 1 {
        rows().for_each(|row| grey.extend_from_slice(row));
        return image::GrayImage::from_raw(w as u32, h as u32, grey).map(DynamicImage::ImageLuma8);
    }
    // PDFium's byte order is B, G, R (then X or A, ignored: pages are rendered on white).
    let colour = rows().any(|row| {
        for p in row.chunks_exact(bpp) {
            let (b, g, r) = (p[0], p[1], p[2]);
            if b == g && g == r {
                grey.push(g); // the usual case, and what `luma` gives for it
            } else if b.abs_diff(g) <= 2 && g.abs_diff(r) <= 2 {
                grey.push(luma(r, g, b));
            } else {
                return true;
            }
        }
        false
    });
    if !colour {
        return image::GrayImage::from_raw(w as u32, h as u32, grey).map(DynamicImage::ImageLuma8);
    }
    drop(grey);
    let mut rgb = Vec::with_capacity(w * h * 3);
    for row in rows() {
        for p in row.chunks_exact(bpp) {
            rgb.extend_from_slice(&[p[2], p[1], p[0]]);
        }
    }
    image::RgbImage::from_raw(w as u32, h as u32, rgb).map(DynamicImage::ImageRgb8)
}

/// Rec. 709 luma, rounded: what the image crate's grey conversion computes, in integers.
fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((2126 * r as u32 + 7152 * g as u32 + 722 * b as u32 + 5000) / 10000) as u8
}

fn image_limits(limits: &Limits) -> image::Limits {
    let mut l = image::Limits::default();
    let side = limits.max_pixels_per_page.min(u32::MAX as u64) as u32;
    l.max_image_width = Some(side);
    l.max_image_height = Some(side);
    // Room for one RGBA page plus the decoder's working buffers.
    l.max_alloc = Some(limits.max_pixels_per_page.saturating_mul(8));
    l
}

fn check_pixels(width: u32, height: u32, limits: &Limits) -> Result<(), CaptureError> {
    let pixels = width as u64 * height as u64;
    if pixels > limits.max_pixels_per_page {
        return Err(reject(
            RejectCode::TooLarge,
            format!(
                "a page is {width}×{height} pixels ({:.0} MP); the limit is {:.0} MP per page",
                pixels as f64 / 1e6,
                limits.max_pixels_per_page as f64 / 1e6
            ),
        ));
    }
    Ok(())
}

/// Decodes a one-page raster (PNG, JPEG, WebP), refusing it from its header if it is too big, and
/// applies its EXIF orientation.
fn decode_single(
    bytes: &[u8],
    mime: MimeType,
    limits: &Limits,
) -> Result<(DynamicImage, Option<u32>), CaptureError> {
    let format = match mime {
        MimeType::Png => ImageFormat::Png,
        MimeType::Jpeg => ImageFormat::Jpeg,
        MimeType::Webp => ImageFormat::WebP,
        _ => {
            return Err(CaptureError::Internal(format!(
                "decode_single cannot read {}",
                mime.as_str()
            )))
        }
    };
    let corrupt = |e: image::ImageError| match e {
        image::ImageError::Limits(_) => reject(
            RejectCode::TooLarge,
            format!("the image is too large to decode safely ({e})"),
        ),
        other => reject(
            RejectCode::CorruptImage,
            format!("the image cannot be decoded: {other}"),
        ),
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(image_limits(limits));
    let mut decoder = reader.into_decoder().map_err(corrupt)?;
    let (w, h) = decoder.dimensions();
    check_pixels(w, h, limits)?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    img.apply_orientation(orientation);
    Ok((img, None))
}

/// Walks every page (IFD) of a TIFF: geometry always, the decoded image only when rendering.
fn tiff_pages(
    bytes: &[u8],
    limits: &Limits,
    mut each: impl FnMut(PageGeometry, Option<DynamicImage>) -> Result<(), CaptureError>,
) -> Result<(), CaptureError> {
    use tiff::decoder::{Decoder, DecodingResult};
    use tiff::tags::Tag;
    use tiff::ColorType;
    let corrupt = |e: tiff::TiffError| match e {
        tiff::TiffError::LimitsExceeded => reject(
            RejectCode::TooLarge,
            "a TIFF page is too large to decode safely",
        ),
        tiff::TiffError::UnsupportedError(u) => reject(
            RejectCode::UnsupportedType,
            format!("this kind of TIFF is not supported ({u}); convert it to PDF or PNG"),
        ),
        other => reject(
            RejectCode::CorruptImage,
            format!("the TIFF cannot be decoded: {other}"),
        ),
    };
    let mut tiff_limits = tiff::decoder::Limits::default();
    tiff_limits.decoding_buffer_size = (limits.max_pixels_per_page * 8) as usize;
    tiff_limits.intermediate_buffer_size = (limits.max_pixels_per_page * 8) as usize;
    let mut decoder = Decoder::new(Cursor::new(bytes))
        .map_err(corrupt)?
        .with_limits(tiff_limits);
    let mut index = 0u32;
    loop {
        if index >= limits.max_pages {
            return Err(reject(
                RejectCode::TooLarge,
                format!("the TIFF has more than {} pages", limits.max_pages),
            ));
        }
        let (w, h) = decoder.dimensions().map_err(corrupt)?;
        check_pixels(w, h, limits)?;
        // XResolution is a RATIONAL, which `get_tag_f64` does not convert.
        let dpi = decoder
            .find_tag(Tag::XResolution)
            .ok()
            .flatten()
            .and_then(|v| match v {
                tiff::decoder::ifd::Value::Rational(n, d) if d != 0 => Some(n as f64 / d as f64),
                other => other.into_f64().ok(),
            })
            .filter(|d| *d >= 50.0 && *d <= 4800.0)
            .map(
                |d| match decoder.get_tag_u32(Tag::ResolutionUnit).unwrap_or(2) {
                    3 => (d * 2.54).round() as u32, // per centimetre
                    _ => d.round() as u32,
                },
            );
        // The tiff crate already turns WhiteIsZero data into BlackIsZero (0 = black) when it
        // decodes, so the samples below are BlackIsZero whatever the file said.
        let orientation = decoder
            .get_tag_u32(Tag::Orientation)
            .ok()
            .and_then(|v| image::metadata::Orientation::from_exif(v as u8))
            .unwrap_or(image::metadata::Orientation::NoTransforms);
        let colortype = decoder.colortype().map_err(corrupt)?;
        let data = decoder.read_image().map_err(corrupt)?;
        let unsupported = || {
            reject(
                RejectCode::CorruptImage,
                format!("TIFF pixel layout {colortype:?} is not supported"),
            )
        };
        let img: DynamicImage = match (colortype, data) {
            (ColorType::Gray(1), DecodingResult::U8(packed)) => {
                let row = w.div_ceil(8) as usize;
                let mut px = Vec::with_capacity((w * h) as usize);
                for y in 0..h as usize {
                    for x in 0..w as usize {
                        let bit = packed
                            .get(y * row + x / 8)
                            .map(|b| (b >> (7 - x % 8)) & 1)
                            .unwrap_or(0);
                        px.push(if bit == 1 { 255 } else { 0 });
                    }
                }
                DynamicImage::ImageLuma8(
                    image::GrayImage::from_raw(w, h, px).ok_or_else(unsupported)?,
                )
            }
            (ColorType::Gray(8), DecodingResult::U8(px)) => DynamicImage::ImageLuma8(
                image::GrayImage::from_raw(w, h, px).ok_or_else(unsupported)?,
            ),
            (ColorType::Gray(16), DecodingResult::U16(px)) => DynamicImage::ImageLuma16(
                image::ImageBuffer::from_raw(w, h, px).ok_or_else(unsupported)?,
            ),
            (ColorType::RGB(8), DecodingResult::U8(px)) => DynamicImage::ImageRgb8(
                image::RgbImage::from_raw(w, h, px).ok_or_else(unsupported)?,
            ),
            (ColorType::RGBA(8), DecodingResult::U8(px)) => DynamicImage::ImageRgba8(
                image::RgbaImage::from_raw(w, h, px).ok_or_else(unsupported)?,
            ),
            (ColorType::RGB(16), DecodingResult::U16(px)) => DynamicImage::ImageRgb16(
                image::ImageBuffer::from_raw(w, h, px).ok_or_else(unsupported)?,
            ),
            (ColorType::CMYK(8), DecodingResult::U8(px)) => {
                let rgb: Vec<u8> = px
                    .chunks_exact(4)
                    .flat_map(|c| {
                        let k = 255 - c[3] as u32;
                        [0, 1, 2].map(|i| ((255 - c[i] as u32) * k / 255) as u8)
                    })
                    .collect();
                DynamicImage::ImageRgb8(
                    image::RgbImage::from_raw(w, h, rgb).ok_or_else(unsupported)?,
                )
            }
            (ColorType::Palette(_), _) | (_, _) => return Err(unsupported()),
        };
        let mut img = img;
        img.apply_orientation(orientation);
        each(
            PageGeometry {
                index,
                width: img.width(),
                height: img.height(),
                dpi,
            },
            Some(img),
        )?;
        index += 1;
        if !decoder.more_images() {
            return Ok(());
        }
        decoder.next_image().map_err(corrupt)?;
    }
}

/// The canonical page (grey if it has no colour, else RGB) as PNG, and its thumbnail (or, raw, as
/// PGM/PPM without a thumbnail).
fn finish_page(
    img: DynamicImage,
    geometry: PageGeometry,
    encoding: PageEncoding,
) -> Result<RenderedPage, CaptureError> {
    let img = match img {
        DynamicImage::ImageLuma8(_) => img,
        img if is_grey(&img) => DynamicImage::ImageLuma8(img.to_luma8()),
        DynamicImage::ImageRgb8(_) => img,
        img => DynamicImage::ImageRgb8(img.to_rgb8()),
    };
    if encoding == PageEncoding::Raw {
        let (magic, pixels) = match &img {
            DynamicImage::ImageLuma8(g) => ("P5", g.as_raw()),
            DynamicImage::ImageRgb8(c) => ("P6", c.as_raw()),
            _ => unreachable!("made grey or RGB above"),
        };
        let mut pnm = format!("{magic}\n{} {}\n255\n", img.width(), img.height()).into_bytes();
        pnm.extend_from_slice(pixels);
        return Ok(RenderedPage {
            geometry: PageGeometry {
                width: img.width(),
                height: img.height(),
                ..geometry
            },
            png: pnm,
            thumbnail_png: Vec::new(),
        });
    }
    let thumb = img.thumbnail(THUMB_MAX, THUMB_MAX);
    let geometry = PageGeometry {
        width: img.width(),
        height: img.height(),
        ..geometry
    };
    Ok(RenderedPage {
        geometry,
        png: encode_png(&img)?,
        thumbnail_png: encode_png(&thumb)?,
    })
}

fn is_grey(img: &DynamicImage) -> bool {
    let grey = |p: &[u8]| p[0].abs_diff(p[1]) <= 2 && p[1].abs_diff(p[2]) <= 2;
    match img {
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageLuma16(_) => true,
        DynamicImage::ImageLumaA8(_) | DynamicImage::ImageLumaA16(_) => true,
        // Checked in place: no copy of the page for the common 8-bit layouts.
        DynamicImage::ImageRgb8(rgb) => rgb.as_raw().chunks_exact(3).all(grey),
        DynamicImage::ImageRgba8(rgba) => rgba.as_raw().chunks_exact(4).all(grey),
        other => other.to_rgb8().as_raw().chunks_exact(3).all(grey),
    }
}

pub fn encode_png(img: &DynamicImage) -> Result<Vec<u8>, CaptureError> {
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    let mut out = Vec::new();
    let encoder =
        PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive);
    img.write_with_encoder(encoder)
        .map_err(|e| CaptureError::Internal(format!("encoding a page: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG whose header claims `w`×`h` pixels, with almost no data behind it.
    fn png_header_only(w: u32, h: u32) -> Vec<u8> {
        fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
            out.extend((data.len() as u32).to_be_bytes());
            let mut c = kind.to_vec();
            c.extend(data);
            out.extend(&c);
            out.extend(crc32(&c).to_be_bytes());
        }
        fn crc32(bytes: &[u8]) -> u32 {
            let mut crc = !0u32;
            for b in bytes {
                crc ^= *b as u32;
                for _ in 0..8 {
                    crc = if crc & 1 != 0 {
                        (crc >> 1) ^ 0xEDB8_8320
                    } else {
                        crc >> 1
                    };
                }
            }
            !crc
        }
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend(w.to_be_bytes());
        ihdr.extend(h.to_be_bytes());
        ihdr.extend([8, 0, 0, 0, 0]);
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(
            &mut out,
            b"IDAT",
            &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
        );
        chunk(&mut out, b"IEND", &[]);
        out
    }

    #[test]
    fn a_decompression_bomb_is_refused_from_its_header() {
        // 100 000 × 100 000 grey pixels would be 10 GB; refused before any pixel is allocated.
        let err = inspect(
            &png_header_only(100_000, 100_000),
            MimeType::Png,
            None,
            &Limits::default(),
        )
        .unwrap_err();
        match err {
            CaptureError::Rejected(r) => assert_eq!(r.code, RejectCode::TooLarge, "{}", r.message),
            other => panic!("expected too_large, got {other:?}"),
        }
    }

    #[test]
    fn a_truncated_image_is_corrupt() {
        let err = inspect(
            &png_header_only(64, 64),
            MimeType::Png,
            None,
            &Limits::default(),
        )
        .unwrap_err();
        match err {
            CaptureError::Rejected(r) => {
                assert_eq!(r.code, RejectCode::CorruptImage, "{}", r.message)
            }
            other => panic!("expected corrupt_image, got {other:?}"),
        }
    }

    #[test]
    fn white_is_zero_bilevel_tiffs_render_black_text_on_white_paper() {
        // phototest.tif is a 1-bit WhiteIsZero TIFF: it once rendered as a negative.
        let Some(corpus) = [
            std::env::var_os("COUNTERSIGN_CORPUS").map(std::path::PathBuf::from),
            Some(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus").into()),
            Some("/work/shared/corpus".into()),
        ]
        .into_iter()
        .flatten()
        .find(|p| p.join("MANIFEST.tsv").is_file()) else {
            panic!("the shared test corpus (set COUNTERSIGN_CORPUS)");
        };
        let bytes = std::fs::read(corpus.join("ocr/tesseract-test/phototest.tif")).unwrap();
        let mut pages = Vec::new();
        render(&bytes, MimeType::Tiff, None, &Limits::default(), 0, |p| {
            pages.push(p);
            Ok(())
        })
        .unwrap();
        let img = image::load_from_memory(&pages[0].png).unwrap().to_luma8();
        let white = img.pixels().filter(|p| p.0[0] == 255).count();
        assert!(
            white * 10 > img.pixels().len() * 8,
            "mostly white paper: {white} of {} pixels",
            img.pixels().len()
        );
    }

    #[test]
    fn raw_pages_are_plain_pgm_of_the_same_pixels_without_a_thumbnail() {
        let img = image::GrayImage::from_fn(40, 30, |x, y| image::Luma([(x * 6 + y) as u8]));
        let mut png = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let mut pages = Vec::new();
        render_encoded(
            &png,
            MimeType::Png,
            None,
            &Limits::default(),
            0,
            PageEncoding::Raw,
            |p| {
                pages.push(p);
                Ok(())
            },
        )
        .unwrap();
        let page = &pages[0];
        let header = b"P5\n40 30\n255\n";
        assert!(page.png.starts_with(header));
        assert_eq!(&page.png[header.len()..], img.as_raw().as_slice());
        assert!(page.thumbnail_png.is_empty());
        assert_eq!((page.geometry.width, page.geometry.height), (40, 30));
    }

    /// A one-page PDF, `w_pt`×`h_pt`, whose content stream is `content`, with one image XObject
    /// `/Im0` (`image_dict` entries, unfiltered `samples`) and the objects `extra` as 6 0 R, 7 0 R…
    fn one_image_pdf(
        (w_pt, h_pt): (u32, u32),
        image_dict: &str,
        samples: &[u8],
        content: &str,
        extra: &[Vec<u8>],
    ) -> Vec<u8> {
        let stream = |dict: &str, data: &[u8]| {
            let mut o = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
            o.extend_from_slice(data);
            o.extend_from_slice(b"\nendstream");
            o
        };
        let mut objects = vec![
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w_pt} {h_pt}] /Contents 5 0 R \
                 /Resources << /XObject << /Im0 4 0 R >> \
                 /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>"
            )
            .into_bytes(),
            stream(
                &format!("/Type /XObject /Subtype /Image {image_dict}"),
                samples,
            ),
            stream("", content.as_bytes()),
        ];
        objects.extend(extra.iter().cloned());
        let mut pdf = b"%PDF-1.7\n".to_vec();
        let mut offsets = Vec::new();
        for (n, object) in objects.iter().enumerate() {
            offsets.push(pdf.len());
            pdf.extend(format!("{} 0 obj\n", n + 1).into_bytes());
            pdf.extend_from_slice(object);
            pdf.extend_from_slice(b"\nendobj\n");
        }
        let xref = pdf.len();
        pdf.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).into_bytes());
        for at in offsets {
            pdf.extend(format!("{at:010} 00000 n \n").into_bytes());
        }
        pdf.extend(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .into_bytes(),
        );
        pdf
    }

    /// A 72×96 pt page (300×400 pixels at 300 dpi) drawing its image over the whole page.
    const PAGE_PT: (u32, u32) = (72, 96);
    const FILL: &str = "q 72 0 0 96 0 0 cm /Im0 Do Q";

    fn grey_samples(w: u32, h: u32) -> Vec<u8> {
        (0..w * h)
            .map(|i| ((i % w) * 7 + (i / w) * 3) as u8 | 0x10)
            .collect()
    }

    /// Page 0 of `pdf`: (what `render` hands over, its image taken straight from the PDF if that
    /// applies, the page rendered by PDFium), the check for masks in the file left to `masks`.
    fn page_three_ways(
        pdf: &[u8],
        masks: bool,
    ) -> (RenderedPage, Option<DynamicImage>, DynamicImage) {
        let limits = Limits::default();
        let mut pages = Vec::new();
        render_encoded(
            pdf,
            MimeType::Pdf,
            None,
            &limits,
            0,
            PageEncoding::Raw,
            |p| {
                pages.push(p);
                Ok(())
            },
        )
        .unwrap();
        let pdfium = pdfium().unwrap();
        let doc = open_pdf(pdfium, pdf, None).unwrap();
        let page = doc.pages().get(0).unwrap();
        let geometry = pdf_page_geometry(0, &page, &limits);
        let taken = scanned_page_image(&page, &geometry, || masks);
        let rendered = render_pdf_page(&page, &geometry).unwrap();
        (pages.remove(0), taken, rendered)
    }

    fn pnm_pixels(page: &RenderedPage) -> &[u8] {
        // "P5\n300 400\n255\n" or "P6…": three lines of header.
        let mut at = 0;
        for _ in 0..3 {
            at += page.png[at..].iter().position(|&b| b == b'\n').unwrap() + 1;
        }
        &page.png[at..]
    }

    #[test]
    fn a_scanned_pdf_page_is_its_image_with_the_pixels_and_size_rendering_gives() {
        let samples = grey_samples(300, 400);
        let dict = "/Width 300 /Height 400 /ColorSpace /DeviceGray /BitsPerComponent 8";
        let pdf = one_image_pdf(PAGE_PT, dict, &samples, FILL, &[]);
        let (page, taken, rendered) = page_three_ways(&pdf, names_a_mask(&pdf));
        let taken = taken.expect("a page-filling 300-dpi image is taken as it is");
        assert_eq!((taken.width(), taken.height()), (300, 400));
        assert_eq!((page.geometry.width, page.geometry.height), (300, 400));
        assert_eq!(page.geometry.dpi, Some(300));
        assert!(taken.as_bytes() == rendered.as_bytes(), "pixels differ");
        assert!(taken.as_bytes() == samples.as_slice(), "pixels differ");
        assert!(pnm_pixels(&page) == samples.as_slice(), "pixels differ");
    }

    #[test]
    fn a_black_and_white_scan_is_taken_as_black_and_white() {
        // 1 bit a pixel (CCITT and JBIG2 scans decode to this), 0 = black.
        let bits: Vec<u8> = (0..400)
            .flat_map(|y| vec![if y % 3 == 0 { 0x0f } else { 0xf0 }; 38])
            .collect();
        let dict = "/Width 300 /Height 400 /ColorSpace /DeviceGray /BitsPerComponent 1";
        let pdf = one_image_pdf(PAGE_PT, dict, &bits, FILL, &[]);
        let (page, taken, rendered) = page_three_ways(&pdf, false);
        let taken = taken.expect("taken from the image");
        let expected: Vec<u8> = (0..400usize)
            .flat_map(|y| {
                (0..300usize).map(move |x| {
                    let byte = if y % 3 == 0 { 0x0f } else { 0xf0 };
                    if byte & (0x80 >> (x % 8)) != 0 {
                        255
                    } else {
                        0
                    }
                })
            })
            .collect();
        assert!(taken.as_bytes() == expected.as_slice(), "pixels differ");
        assert!(rendered.as_bytes() == expected.as_slice(), "pixels differ");
        assert!(pnm_pixels(&page) == expected.as_slice(), "pixels differ");
    }

    #[test]
    fn a_palette_image_comes_out_in_its_palette_colours() {
        // Indexed over DeviceGray with an inverting palette: index i is grey 255 - i.
        let palette: String = (0..=255u8).rev().map(|g| format!("{g:02x}")).collect();
        let dict = format!(
            "/Width 300 /Height 400 /ColorSpace [/Indexed /DeviceGray 255 <{palette}>] /BitsPerComponent 8"
        );
        let samples = grey_samples(300, 400);
        let pdf = one_image_pdf(PAGE_PT, &dict, &samples, FILL, &[]);
        let (page, taken, rendered) = page_three_ways(&pdf, false);
        let taken = taken.expect("taken from the image");
        let inverted: Vec<u8> = samples.iter().map(|s| 255 - s).collect();
        assert!(taken.as_bytes() == inverted.as_slice(), "pixels differ");
        assert!(rendered.as_bytes() == inverted.as_slice(), "pixels differ");
        assert!(pnm_pixels(&page) == inverted.as_slice(), "pixels differ");
    }

    #[test]
    fn a_colour_scan_stays_colour() {
        let samples: Vec<u8> = grey_samples(300, 400)
            .iter()
            .flat_map(|&g| [g, 255 - g, g / 2])
            .collect();
        let dict = "/Width 300 /Height 400 /ColorSpace /DeviceRGB /BitsPerComponent 8";
        let pdf = one_image_pdf(PAGE_PT, dict, &samples, FILL, &[]);
        let (page, taken, rendered) = page_three_ways(&pdf, false);
        let taken = taken.expect("taken from the image");
        assert!(matches!(taken, DynamicImage::ImageRgb8(_)));
        assert!(taken.as_bytes() == samples.as_slice(), "pixels differ");
        assert!(taken.as_bytes() == rendered.as_bytes(), "pixels differ");
        assert!(page.png.starts_with(b"P6\n300 400\n"));
    }

    #[test]
    fn pages_that_are_not_a_plain_scan_are_rendered() {
        let grey = "/Width 300 /Height 400 /ColorSpace /DeviceGray /BitsPerComponent 8";
        let samples = grey_samples(300, 400);
        let half = grey_samples(150, 200);
        let mask: Vec<u8> = (0..300 * 400)
            .map(|i| if i % 300 < 150 { 255 } else { 0 })
            .collect();
        let smask = {
            let mut o = format!(
                "<< /Type /XObject /Subtype /Image /Width 300 /Height 400 /ColorSpace /DeviceGray \
                 /BitsPerComponent 8 /Length {} >>\nstream\n",
                mask.len()
            )
            .into_bytes();
            o.extend_from_slice(&mask);
            o.extend_from_slice(b"\nendstream");
            o
        };
        let stencil: Vec<u8> = (0..400)
            .flat_map(|y| vec![if y % 2 == 0 { 0x0f } else { 0xf0 }; 38])
            .collect();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "150 dpi image",
                one_image_pdf(
                    PAGE_PT,
                    "/Width 150 /Height 200 /ColorSpace /DeviceGray /BitsPerComponent 8",
                    &half,
                    FILL,
                    &[],
                ),
            ),
            (
                "upside down",
                one_image_pdf(
                    PAGE_PT,
                    grey,
                    &samples,
                    "q 72 0 0 -96 0 96 cm /Im0 Do Q",
                    &[],
                ),
            ),
            (
                "not filling the page",
                one_image_pdf(PAGE_PT, grey, &samples, "q 36 0 0 48 0 0 cm /Im0 Do Q", &[]),
            ),
            (
                "text on top",
                one_image_pdf(
                    PAGE_PT,
                    grey,
                    &samples,
                    &format!("{FILL} BT /F1 12 Tf 10 10 Td (Hi) Tj ET"),
                    &[],
                ),
            ),
            (
                "clipped",
                one_image_pdf(
                    PAGE_PT,
                    grey,
                    &samples,
                    &format!("q 0 0 36 96 re W n {FILL} Q"),
                    &[],
                ),
            ),
            (
                "stencil mask",
                one_image_pdf(
                    PAGE_PT,
                    "/Width 300 /Height 400 /ImageMask true",
                    &stencil,
                    &format!("0 g {FILL}"),
                    &[],
                ),
            ),
        ];
        for (case, pdf) in &cases {
            let (page, taken, rendered) = page_three_ways(pdf, false);
            assert!(taken.is_none(), "{case}: taken from the image");
            assert_eq!(
                (page.geometry.width, page.geometry.height),
                (300, 400),
                "{case}"
            );
            assert!(pnm_pixels(&page) == rendered.as_bytes(), "{case}");
        }
        // A soft mask cannot be seen through PDFium's API: the file naming one is enough.
        let masked = one_image_pdf(
            PAGE_PT,
            &format!("{grey} /SMask 6 0 R"),
            &samples,
            FILL,
            &[smask],
        );
        assert!(names_a_mask(&masked));
        let (page, _, rendered) = page_three_ways(&masked, names_a_mask(&masked));
        assert!(pnm_pixels(&page) == rendered.as_bytes(), "pixels differ");
        let left = rendered.as_bytes()[10];
        let right = rendered.as_bytes()[290];
        assert_eq!(right, 255, "transparent half shows the white page");
        assert_eq!(left, samples[10], "opaque half shows the image");
    }

    #[test]
    fn mask_names_are_found_only_as_names() {
        assert!(names_a_mask(b"<< /SMask 5 0 R >>"));
        assert!(names_a_mask(b"<< /Mask [0 10] >>"));
        assert!(names_a_mask(b"<</ImageMask true>>"));
        assert!(!names_a_mask(
            b"<< /Type /XObject /Subtype /Image >> Masking tape"
        ));
    }
}
