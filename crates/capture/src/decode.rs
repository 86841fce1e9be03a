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
        MimeType::Pdf => inspect_pdf(bytes, password, limits)?,
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
            for index in from as usize..count as usize {
                let page = doc.pages().get(index as PdfPageIndex).map_err(|e| {
                    reject(
                        RejectCode::CorruptPdf,
                        format!("page {} cannot be read: {e}", index + 1),
                    )
                })?;
                let geometry = pdf_page_geometry(index as u32, &page, limits);
                let config = PdfRenderConfig::new()
                    .set_target_width(geometry.width as i32)
                    .set_target_height(geometry.height as i32)
                    .render_form_data(true);
                let bitmap = page.render_with_config(&config).map_err(|e| {
                    reject(
                        RejectCode::CorruptPdf,
                        format!("page {} cannot be rendered: {e}", index + 1),
                    )
                })?;
                let img = bitmap.as_image().map_err(|e| {
                    reject(
                        RejectCode::CorruptPdf,
                        format!("page {} cannot be rendered: {e}", index + 1),
                    )
                })?;
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
    pdfium.load_pdf_from_byte_slice(bytes, password).map_err(|e| match e {
        PdfiumError::PdfiumLibraryInternalError(PdfiumInternalError::PasswordError) => match password {
            None => reject(RejectCode::EncryptedPdf, "the PDF is password-protected; import it again with its password"),
            Some(_) => reject(RejectCode::EncryptedPdf, "the password does not open this PDF"),
        },
        PdfiumError::PdfiumLibraryInternalError(PdfiumInternalError::SecurityError) => reject(
            RejectCode::EncryptedPdf,
            "the PDF is encrypted with a security handler Countersign cannot open (e.g. certificate-based)",
        ),
        other => reject(RejectCode::CorruptPdf, format!("the PDF cannot be read: {}", describe_pdf_error(&other))),
    })
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
    bytes: &[u8],
    password: Option<&str>,
    limits: &Limits,
) -> Result<Inspection, CaptureError> {
    let pdfium = pdfium().map_err(CaptureError::Unavailable)?;
    let doc = open_pdf(pdfium, bytes, password)?;
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
    let img = if is_grey(&img) {
        DynamicImage::ImageLuma8(img.to_luma8())
    } else {
        DynamicImage::ImageRgb8(img.to_rgb8())
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
    match img {
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageLuma16(_) => true,
        DynamicImage::ImageLumaA8(_) | DynamicImage::ImageLumaA16(_) => true,
        other => {
            let rgb = other.to_rgb8();
            rgb.pixels()
                .all(|p| p[0].abs_diff(p[1]) <= 2 && p[1].abs_diff(p[2]) <= 2)
        }
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
}
