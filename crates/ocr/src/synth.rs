//! A synthetic evaluation set whose text is known exactly: business-document pages (letters,
//! invoices, agreements) typeset with PDFium's standard fonts (Times-Roman, Helvetica, Courier),
//! rendered at 300 dpi in grey, then degraded the ways scans are — skew, quarter-turn rotations,
//! noise, blur, low contrast, an uneven background, low resolution — with `imageproc`.
//!
//! Everything is deterministic: fixed texts, fixed fonts, fixed parameters, fixed noise seeds. Each
//! page is written as `<name>.png` (8-bit grey, its resolution in the PNG's `pHYs`) beside
//! `<name>.gt.txt` (the text as laid out, one line per printed line), and `MANIFEST.tsv` names
//! each page's degradation and its parameter.
//!
//! - [`generate`]: 3 texts × 14 variants (42 pages) to measure accuracy per degradation;
//! - [`generate_scan12`]: a 12-page "scan" with mild scanner degradation (small skew, light noise,
//!   one page upside down), as PNGs and as one 12-page PDF, for speed benchmarks.

use crate::eval::{manifest_tsv, ManifestRow, MANIFEST};
use image::imageops::FilterType;
use image::{GrayImage, Luma};
use imageproc::geometric_transformations::{rotate_about_center, Border, Interpolation};
use pdfium_render::prelude::*;
use std::path::{Path, PathBuf};

/// The resolution pages are typeset and rendered at.
pub const DPI: u32 = 300;

/// US Letter, in points.
const PAGE_W_PT: f32 = 612.0;
const PAGE_H_PT: f32 = 792.0;
/// One-inch margins: room for an 8° skew to stay on the page.
const MARGIN_PT: f32 = 72.0;

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("PDFium is not available: {0}")]
    Unavailable(String),
    #[error("PDFium failed to {action}: {message}")]
    Pdfium {
        action: &'static str,
        message: String,
    },
    #[error("the text of `{0}` does not fit on one page")]
    Overflow(&'static str),
    #[error("cannot write {path}: {message}")]
    Write { path: PathBuf, message: String },
}

fn pdfium_err(action: &'static str) -> impl Fn(PdfiumError) -> SynthError {
    move |e| SynthError::Pdfium {
        action,
        message: format!("{e:?}"),
    }
}

/// A standard PDF font (nothing is embedded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Font {
    Times,
    Helvetica,
    Courier,
}

impl Font {
    pub fn name(self) -> &'static str {
        match self {
            Font::Times => "times",
            Font::Helvetica => "helvetica",
            Font::Courier => "courier",
        }
    }

    /// Body size in points: what such a document would use.
    fn size(self) -> f32 {
        match self {
            Font::Times => 12.0,
            Font::Helvetica => 11.0,
            Font::Courier => 10.5,
        }
    }
}

/// A source text: a name for file names and its lines. A line is a paragraph (wrapped to the
/// text width); an empty line is a paragraph break.
pub struct SourceText {
    pub name: &'static str,
    pub text: &'static str,
}

/// Six business documents, ASCII only (what the standard fonts' WinAnsi encoding holds without
/// surprises), each with numbers, dates, amounts and a signature line.
pub const TEXTS: [SourceText; 6] = [
    SourceText {
        name: "letter",
        text: "Harbour & Finch Logistics Ltd.
14 Quayside Road, Bristol BS1 4RW
Tel. 0117 496 0382

March 14, 2025

Ms. Daniela Ortiz
Procurement Manager, Norland Foods Inc.
220 Mill Street, Suite 5
Albany, NY 12207

Re: Renewal of freight services agreement No. HF-2291

Dear Ms. Ortiz,

Thank you for your letter of February 27 and for the volumes you shared for the second half of the year. We are pleased to confirm that Harbour & Finch will renew the freight services agreement for a further term of 24 months, starting on April 1, 2025 and ending on March 31, 2027.

The rates in Schedule B remain unchanged for full container loads. For part loads we propose a fuel surcharge of 6.5% (previously 8%), reviewed every quarter against the published diesel index. Weekly collections from your Albany warehouse will move from Tuesday to Wednesday, at 07:30, so that consignments can reach the port before the Friday cut-off.

Payment terms stay at 30 days from the date of invoice. Our estimate for the first year is $184,250.00, based on 312 shipments. Please let us know by March 28 whether these terms are acceptable, and sign and return one copy of this letter.

Yours sincerely,

Jonathan Reyes, Director of Accounts

Signature: __________ Date: __________",
    },
    SourceText {
        name: "invoice",
        text: "INVOICE

Blackwell Office Supply Co.
881 Commerce Drive, Columbus, OH 43215
VAT reg. GB 294 7731 56

Invoice number: INV-2025-04817
Invoice date: 09/05/2025
Due date: 10/05/2025
Purchase order: PO-77120
Customer: Meridian Dental Group, 45 Elm Avenue, Dayton, OH 45402

Item 1: Copy paper A4, 80 g, 40 boxes at $32.50 = $1,300.00
Item 2: Toner cartridge TN-2420, 12 units at $68.99 = $827.88
Item 3: Ergonomic chair model EC-5, 4 units at $249.00 = $996.00
Item 4: Filing cabinet, 3 drawers, 2 units at $189.95 = $379.90
Item 5: Delivery and installation, 1 visit = $120.00

Subtotal: $3,623.78
Discount (5%): -$181.19
Sales tax (7.25%): $249.59
Total due: $3,692.18

Please pay by bank transfer to account 0048 3321 7765, routing number 041 215 663, quoting the invoice number. Payments received after the due date incur interest of 1.5% per month. Questions about this invoice can be sent to billing@blackwell-supply.com or by phone on (614) 555-0199, Monday to Friday, 8 a.m. to 5 p.m.

Goods remain the property of Blackwell Office Supply Co. until paid in full.

Received by: Laura Chen

Signature: __________",
    },
    SourceText {
        name: "nda",
        text: "MUTUAL NON-DISCLOSURE AGREEMENT

This Agreement is made on 2 June 2025 (the \"Effective Date\") between Quillon Analytics GmbH, Torstrasse 119, 10119 Berlin (\"Party A\"), and Westbrook Medical Devices LLC, 3100 Lakeshore Blvd, Chicago, IL 60614 (\"Party B\").

1. Purpose. The parties wish to evaluate a possible collaboration on the analysis of clinical device data (the \"Purpose\") and will exchange confidential information for that Purpose only.

2. Confidential Information. Any business, technical or financial information disclosed by one party to the other, in writing, orally or by inspection, that is marked confidential or would reasonably be understood to be confidential.

3. Obligations. The receiving party shall protect the information with at least the same degree of care it uses for its own information, and no less than reasonable care, and shall not disclose it to any third party without prior written consent.

4. Term. This Agreement remains in force for 3 (three) years from the Effective Date. The obligations of confidentiality survive for 5 years after termination.

5. Governing law. This Agreement is governed by the laws of the State of Delaware. Any dispute shall be settled in the courts of Wilmington, DE.

Agreed and signed by the authorised representatives of both parties:

For Party A: Dr. Miriam Vogel, Managing Director

Signature: __________ Date: 06/02/2025",
    },
    SourceText {
        name: "purchase-order",
        text: "PURCHASE ORDER No. PO-2025-3318

Issued by: Castellan Engineering Ltd., 7 Foundry Lane, Leeds LS9 8DX
Supplier: Pacific Fasteners & Tooling, 1200 Harbor Way, Oakland, CA 94607
Order date: 21 July 2025
Requested delivery: on or before 15 August 2025

Please supply the following goods in accordance with our standard terms and conditions (revision 4.2, attached):

Line 1: Hex bolt M10 x 60, stainless A4, 2,500 pieces at $0.42 = $1,050.00
Line 2: Washer M10, DIN 125, 5,000 pieces at $0.06 = $300.00
Line 3: Torque wrench 40-200 Nm, 6 pieces at $154.00 = $924.00
Line 4: Thread locker, 50 ml, 24 bottles at $11.75 = $282.00

Order total (excluding VAT): $2,556.00
Shipping: DAP Leeds, Incoterms 2020
Payment: net 45 days after receipt of a correct invoice quoting this order number.

Deliveries are accepted Monday to Thursday between 8:00 and 15:30 at Gate 3. Each delivery note must list the order number, the line numbers and the quantities delivered. Partial deliveries are only accepted with prior approval from the buyer. Certificates of conformity (EN 10204 3.1) must accompany lines 1 and 2.

Buyer: Thomas Aldridge, Senior Buyer, t.aldridge@castellan-eng.co.uk

Authorised signatory

Signature: __________",
    },
    SourceText {
        name: "offer-letter",
        text: "Greenfield Community Health Trust
Human Resources Department
301 Station Road, Norwich NR1 2EA

18 September 2025

Mr. Samuel Okafor
12 Rosemary Close
Cambridge CB4 1XT

Dear Mr. Okafor,

Offer of employment: Senior Data Analyst (ref. HR-5521)

Following your interview on 9 September, we are delighted to offer you the position of Senior Data Analyst in the Planning and Performance team, reporting to Ms. Helen Marsh. Your employment will begin on 3 November 2025, subject to satisfactory references and a basic disclosure check.

Your starting salary will be $58,400 per year, paid monthly in arrears on the 25th of each month. The post is full time, 37.5 hours per week, Monday to Friday. You will be entitled to 27 days of annual leave plus public holidays, rising to 29 days after 5 years of service. The first 6 months are a probationary period with a notice period of 2 weeks; afterwards the notice period is 8 weeks on either side.

Please confirm your acceptance by signing below and returning this letter by 30 September 2025. If you have any questions, call me on 01603 555 271.

Yours sincerely,

Priya Raman, HR Business Partner

I accept the offer on the terms above.

Employee name: Samuel Okafor

Signature: __________ Date: __________",
    },
    SourceText {
        name: "vendor-agreement",
        text: "VENDOR SERVICES AGREEMENT

Agreement number: VSA-0925-114
Between: Northgate Property Management Inc. (the \"Client\"), 55 Union Square, San Francisco, CA 94108
And: BrightLine Cleaning Services LLC (the \"Vendor\"), 918 Alvarado Street, Oakland, CA 94612

1. Services. The Vendor shall provide nightly cleaning of the common areas of the buildings listed in Annex 1 (4 buildings, 186,000 sq ft in total), five nights per week, between 19:00 and 02:00.

2. Fees. The Client shall pay a fixed monthly fee of $27,850.00, invoiced on the first business day of each month and payable within 30 days. Additional work requested in writing is charged at $46.00 per labour hour.

3. Term and termination. This Agreement starts on 1 October 2025 and runs for 12 months. Either party may terminate it with 60 days written notice, or at once for a material breach not cured within 10 days of notice.

4. Insurance. The Vendor shall maintain general liability insurance of at least $2,000,000 per occurrence and provide a certificate before the start date.

5. Performance. Monthly inspections score each building out of 100; two consecutive scores below 85 allow the Client to withhold 10% of that month's fee.

Client representative: Angela Brooks, Facilities Director
Vendor representative: Marco Ruiz, Operations Manager

Signature: __________ Date: 09/29/2025",
    },
];

/// One laid-out line: its text and its baseline, in points from the bottom of the page.
struct Line {
    text: String,
    baseline: f32,
}

/// Typesets `text` in `font` and renders it at 300 dpi in grey; returns the page image and the
/// text as laid out (the ground truth: printed lines joined by `\n`, paragraphs by a blank line).
pub fn render_page(text: &SourceText, font: Font) -> Result<(GrayImage, String), SynthError> {
    let pdfium = countersign_capture::pdfium_lib::pdfium().map_err(SynthError::Unavailable)?;
    let mut doc = pdfium
        .create_new_pdf()
        .map_err(pdfium_err("create a document"))?;
    let token = match font {
        Font::Times => doc.fonts_mut().times_roman(),
        Font::Helvetica => doc.fonts_mut().helvetica(),
        Font::Courier => doc.fonts_mut().courier(),
    };
    let size = font.size();
    let leading = size * 1.3;
    let max_width = PAGE_W_PT - 2.0 * MARGIN_PT;

    // Line breaking: greedy, measuring each candidate line with PDFium (its ink width).
    let measure = |s: &str| -> Result<f32, SynthError> {
        let object = PdfPageTextObject::new(&doc, s, token, PdfPoints::new(size))
            .map_err(pdfium_err("measure a line"))?;
        Ok(object.width().map_err(pdfium_err("measure a line"))?.value)
    };
    let mut lines: Vec<Line> = Vec::new();
    let mut y = PAGE_H_PT - MARGIN_PT - size;
    for paragraph in text.text.lines() {
        let words: Vec<&str> = paragraph.split_whitespace().collect();
        if words.is_empty() {
            y -= leading * 0.6;
            continue;
        }
        let mut current = String::new();
        for word in words {
            let candidate = if current.is_empty() {
                word.to_owned()
            } else {
                format!("{current} {word}")
            };
            if !current.is_empty() && measure(&candidate)? > max_width {
                lines.push(Line {
                    text: std::mem::replace(&mut current, word.to_owned()),
                    baseline: y,
                });
                y -= leading;
            } else {
                current = candidate;
            }
        }
        lines.push(Line {
            text: current,
            baseline: y,
        });
        y -= leading;
    }
    if y < MARGIN_PT - leading {
        return Err(SynthError::Overflow(text.name));
    }

    let mut page = doc
        .pages_mut()
        .create_page_at_end(PdfPagePaperSize::new_custom(
            PdfPoints::new(PAGE_W_PT),
            PdfPoints::new(PAGE_H_PT),
        ))
        .map_err(pdfium_err("create a page"))?;
    page.set_content_regeneration_strategy(PdfPageContentRegenerationStrategy::Manual);
    for line in &lines {
        page.objects_mut()
            .create_text_object(
                PdfPoints::new(MARGIN_PT),
                PdfPoints::new(line.baseline),
                &line.text,
                token,
                PdfPoints::new(size),
            )
            .map_err(pdfium_err("write a line"))?;
    }
    page.regenerate_content()
        .map_err(pdfium_err("write the page content"))?;

    let w = (PAGE_W_PT / 72.0 * DPI as f32).round() as i32;
    let h = (PAGE_H_PT / 72.0 * DPI as f32).round() as i32;
    let config = PdfRenderConfig::new()
        .set_target_width(w)
        .set_target_height(h)
        .set_clear_color(PdfColor::WHITE);
    let image = page
        .render_with_config(&config)
        .map_err(pdfium_err("render the page"))?
        .as_image()
        .map_err(pdfium_err("render the page"))?
        .to_luma8();

    // Ground truth: the printed lines; a blank line where the layout left a gap.
    let mut truth = String::new();
    let mut last: Option<f32> = None;
    for line in &lines {
        if let Some(prev) = last {
            truth.push('\n');
            if prev - line.baseline > leading * 1.01 {
                truth.push('\n');
            }
        }
        truth.push_str(&line.text);
        last = Some(line.baseline);
    }
    truth.push('\n');
    Ok((image, truth))
}

/// A way of degrading a page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Degradation {
    Clean,
    /// Rotation about the centre by this many degrees (positive: clockwise), white fill.
    Skew(f32),
    /// A quarter-turn rotation, clockwise: 90, 180 or 270.
    Rotate(u32),
    /// Additive gaussian noise with this standard deviation (grey levels), and a seed.
    GaussianNoise {
        sigma: f64,
        seed: u64,
    },
    /// This share of pixels set to black or white, and a seed.
    SaltAndPepper {
        rate: f64,
        seed: u64,
    },
    /// Gaussian blur with this sigma (pixels at 300 dpi).
    Blur(f32),
    /// Ink at grey `text` on paper at grey `background`.
    LowContrast {
        text: u8,
        background: u8,
    },
    /// Ink at grey `text` on paper whose grey falls from `light` (top left) to `dark` (bottom
    /// right), with a soft shadow along the left edge, as on a curled page under a lamp.
    UnevenBackground {
        text: u8,
        light: u8,
        dark: u8,
    },
    /// Downscaled to this resolution.
    LowDpi(u32),
}

impl Degradation {
    /// The manifest's `degradation` column.
    pub fn kind(&self) -> &'static str {
        match self {
            Degradation::Clean => "clean",
            Degradation::Skew(_) => "skew",
            Degradation::Rotate(_) => "rotated",
            Degradation::GaussianNoise { .. } => "gaussian_noise",
            Degradation::SaltAndPepper { .. } => "salt_and_pepper",
            Degradation::Blur(_) => "blur",
            Degradation::LowContrast { .. } => "low_contrast",
            Degradation::UnevenBackground { .. } => "uneven_background",
            Degradation::LowDpi(_) => "low_dpi",
        }
    }

    /// The manifest's `parameter` column.
    pub fn parameter(&self) -> String {
        match *self {
            Degradation::Clean => String::new(),
            Degradation::Skew(deg) => format!("{deg:+}deg"),
            Degradation::Rotate(deg) => format!("{deg}deg"),
            Degradation::GaussianNoise { sigma, .. } => format!("sigma={sigma}"),
            Degradation::SaltAndPepper { rate, .. } => format!("rate={rate}"),
            Degradation::Blur(sigma) => format!("sigma={sigma}"),
            Degradation::LowContrast { text, background } => {
                format!("text={text} background={background}")
            }
            Degradation::UnevenBackground { text, light, dark } => {
                format!("text={text} background={light}..{dark}")
            }
            Degradation::LowDpi(dpi) => format!("{dpi}dpi"),
        }
    }

    /// A file-name suffix (`skew-5`, `skew+2`, `rotated-180`, …).
    pub fn slug(&self) -> String {
        match *self {
            Degradation::Skew(deg) => format!("skew{deg:+}"),
            Degradation::Rotate(deg) => format!("rotated-{deg}"),
            Degradation::Blur(sigma) => format!("blur-{sigma}"),
            Degradation::LowDpi(dpi) => format!("{dpi}dpi"),
            Degradation::GaussianNoise { .. } => "noise".into(),
            Degradation::SaltAndPepper { .. } => "salt-pepper".into(),
            Degradation::LowContrast { .. } => "low-contrast".into(),
            Degradation::UnevenBackground { .. } => "uneven-background".into(),
            Degradation::Clean => "clean".into(),
        }
    }

    /// Applies the degradation to a 300-dpi page; returns the image and its resolution.
    pub fn apply(&self, page: &GrayImage) -> (GrayImage, u32) {
        match *self {
            Degradation::Clean => (page.clone(), DPI),
            Degradation::Skew(deg) => (skew(page, deg), DPI),
            Degradation::Rotate(90) => (image::imageops::rotate90(page), DPI),
            Degradation::Rotate(180) => (image::imageops::rotate180(page), DPI),
            Degradation::Rotate(270) => (image::imageops::rotate270(page), DPI),
            Degradation::Rotate(other) => (skew(page, other as f32), DPI),
            Degradation::GaussianNoise { sigma, seed } => (
                imageproc::noise::gaussian_noise(page, 0.0, sigma, seed),
                DPI,
            ),
            Degradation::SaltAndPepper { rate, seed } => (
                imageproc::noise::salt_and_pepper_noise(page, rate, seed),
                DPI,
            ),
            Degradation::Blur(sigma) => (imageproc::filter::gaussian_blur_f32(page, sigma), DPI),
            Degradation::LowContrast { text, background } => (
                remap(page, |_, _| (f32::from(text), f32::from(background))),
                DPI,
            ),
            Degradation::UnevenBackground { text, light, dark } => {
                let (w, h) = (page.width() as f32, page.height() as f32);
                let (light, dark) = (f32::from(light), f32::from(dark));
                let image = remap(page, |x, y| {
                    // Diagonal fall-off, plus a shadow over the left 15 % of the page.
                    let t = (x as f32 / w + y as f32 / h) / 2.0;
                    let edge = (1.0 - x as f32 / (0.15 * w)).max(0.0);
                    let paper = light + (dark - light) * t - 45.0 * edge * edge;
                    (f32::from(text).min(paper - 35.0), paper)
                });
                (image, DPI)
            }
            Degradation::LowDpi(dpi) => {
                let scale = dpi as f32 / DPI as f32;
                let w = (page.width() as f32 * scale).round() as u32;
                let h = (page.height() as f32 * scale).round() as u32;
                (
                    image::imageops::resize(page, w, h, FilterType::Triangle),
                    dpi,
                )
            }
        }
    }
}

/// Rotation about the centre by `deg` degrees clockwise, same canvas, white where nothing was.
fn skew(page: &GrayImage, deg: f32) -> GrayImage {
    rotate_about_center(
        page,
        deg.to_radians(),
        Interpolation::Bilinear,
        Border::Constant(Luma([255])),
    )
}

/// Maps the page's grey (0 ink … 255 paper) linearly onto `ink … paper` given per pixel.
fn remap(page: &GrayImage, levels: impl Fn(u32, u32) -> (f32, f32)) -> GrayImage {
    GrayImage::from_fn(page.width(), page.height(), |x, y| {
        let (ink, paper) = levels(x, y);
        let v = f32::from(page.get_pixel(x, y)[0]) / 255.0;
        Luma([(ink + (paper - ink) * v).round().clamp(0.0, 255.0) as u8])
    })
}

/// The 14 variants of the evaluation set for source text number `n` (0, 1 or 2): the signs of
/// the skews alternate between texts, blur and noise strengths vary a little.
pub fn variants(n: usize) -> Vec<Degradation> {
    let sign = |k: usize| if (n + k).is_multiple_of(2) { 1.0 } else { -1.0 };
    let seed = 1000 + n as u64;
    vec![
        Degradation::Clean,
        Degradation::Skew(2.0 * sign(0)),
        Degradation::Skew(5.0 * sign(1)),
        Degradation::Skew(8.0 * sign(2)),
        Degradation::Rotate(90),
        Degradation::Rotate(180),
        Degradation::Rotate(270),
        Degradation::GaussianNoise {
            sigma: [20.0, 30.0, 40.0][n % 3],
            seed,
        },
        Degradation::SaltAndPepper {
            rate: [0.01, 0.02, 0.03][n % 3],
            seed,
        },
        Degradation::Blur([1.0, 1.25, 1.5][n % 3]),
        Degradation::LowContrast {
            text: [110, 125, 140][n % 3],
            background: [180, 190, 200][n % 3],
        },
        Degradation::UnevenBackground {
            text: [120, 110, 130][n % 3],
            light: 215,
            dark: 140,
        },
        Degradation::LowDpi(150),
        Degradation::LowDpi(100),
    ]
}

/// Writes `<name>.png` (grey, with `pHYs`) and `<name>.gt.txt`.
pub fn write_page(
    dir: &Path,
    name: &str,
    image: &GrayImage,
    dpi: u32,
    truth: &str,
) -> Result<(), SynthError> {
    let png = dir.join(format!("{name}.png"));
    write_file(&png, &encode_png(image, dpi)?)?;
    write_file(&dir.join(format!("{name}.gt.txt")), truth.as_bytes())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), SynthError> {
    std::fs::write(path, bytes).map_err(|e| SynthError::Write {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// One 300-dpi US Letter page of small print: the paragraphs of the first `texts` of [`TEXTS`]
/// (cycling) set in 5.8 pt Times, as much as fits — about 1,450 words when `texts` is 40.
pub fn small_print_page(texts: usize) -> Result<GrayImage, SynthError> {
    use crate::typeset::{Paragraph, Style, Typesetter};
    let mut ts = Typesetter::new()?;
    let style = Style::new(Font::Times, 5.8);
    let paragraphs: Vec<Paragraph> = TEXTS
        .iter()
        .cycle()
        .take(texts)
        .flat_map(|t| t.text.split("\n\n"))
        .map(|p| Paragraph {
            text: p.replace('\n', " "),
            style,
            space_before: 1.0,
        })
        .collect();
    let layout = ts.flow(&paragraphs, 30.0, 1)?.remove(0);
    ts.render(&layout)
}

/// An 8-bit grey PNG with the resolution in its `pHYs` chunk (pixels per metre).
pub fn encode_png(image: &GrayImage, dpi: u32) -> Result<Vec<u8>, SynthError> {
    let mut out = Vec::new();
    let fail = |e: png::EncodingError| SynthError::Write {
        path: PathBuf::from("<png>"),
        message: e.to_string(),
    };
    {
        let mut encoder = png::Encoder::new(&mut out, image.width(), image.height());
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        let ppm = (dpi as f64 / 0.0254).round() as u32;
        encoder.set_pixel_dims(Some(png::PixelDimensions {
            xppu: ppm,
            yppu: ppm,
            unit: png::Unit::Meter,
        }));
        let mut writer = encoder.write_header().map_err(fail)?;
        writer.write_image_data(image.as_raw()).map_err(fail)?;
        writer.finish().map_err(fail)?;
    }
    Ok(out)
}

/// The font each source text is set in, in the evaluation set.
fn font_of(n: usize) -> Font {
    [Font::Times, Font::Helvetica, Font::Courier][n % 3]
}

/// The evaluation set: the first three texts (letter in Times, invoice in Helvetica, NDA in
/// Courier), each clean and in 13 degradations, into `dir` (created if needed), with the
/// manifest. Returns the manifest's rows.
pub fn generate(dir: &Path) -> Result<Vec<ManifestRow>, SynthError> {
    create_dir(dir)?;
    let mut rows = Vec::new();
    for (n, text) in TEXTS.iter().take(3).enumerate() {
        let font = font_of(n);
        let (page, truth) = render_page(text, font)?;
        for degradation in variants(n) {
            let name = format!("{}-{}-{}", text.name, font.name(), degradation.slug());
            let (image, dpi) = degradation.apply(&page);
            write_page(dir, &name, &image, dpi, &truth)?;
            rows.push(ManifestRow {
                name,
                degradation: degradation.kind().to_owned(),
                parameter: degradation.parameter(),
            });
        }
    }
    write_file(&dir.join(MANIFEST), manifest_tsv(&rows).as_bytes())?;
    Ok(rows)
}

/// The file name of the 12-page PDF [`generate_scan12`] writes.
pub const SCAN12_PDF: &str = "scan12.pdf";

/// The mild degradation of page `i` (0-based) of the 12-page scan: a small skew, light noise;
/// page 7 is upside down.
pub fn scan12_degradations(i: usize) -> Vec<Degradation> {
    let skew = [
        0.4, -0.8, 1.2, -0.3, 0.9, -1.5, 0.6, 0.0, -1.0, 1.4, -0.6, 0.2,
    ][i % 12];
    let mut steps = vec![];
    if i == 6 {
        steps.push(Degradation::Rotate(180));
    }
    if skew != 0.0 {
        steps.push(Degradation::Skew(skew));
    }
    steps.push(Degradation::Blur(0.6));
    steps.push(Degradation::GaussianNoise {
        sigma: 8.0,
        seed: 2000 + i as u64,
    });
    steps
}

/// A 12-page "scan": the six texts, each in two fonts, lightly degraded as a sheet-fed scanner
/// would (small skew, a little blur and noise, one page upside down), 300 dpi. Writes
/// `page-01.png` … `page-12.png` with their `.gt.txt`, the manifest, and the same pages as one
/// image-only PDF, [`SCAN12_PDF`] (each page an 8.5 × 11 in image at 300 dpi).
pub fn generate_scan12(dir: &Path) -> Result<Vec<ManifestRow>, SynthError> {
    create_dir(dir)?;
    let fonts = [Font::Times, Font::Helvetica, Font::Courier];
    let mut rows = Vec::new();
    let mut pngs = Vec::new();
    for i in 0..12 {
        let text = &TEXTS[i % TEXTS.len()];
        let font = fonts[(i + i / TEXTS.len()) % fonts.len()];
        let (mut image, truth) = render_page(text, font)?;
        let steps = scan12_degradations(i);
        for step in &steps {
            image = step.apply(&image).0;
        }
        let name = format!("page-{:02}", i + 1);
        let png = encode_png(&image, DPI)?;
        write_file(&dir.join(format!("{name}.png")), &png)?;
        write_file(&dir.join(format!("{name}.gt.txt")), truth.as_bytes())?;
        pngs.push(png);
        let rotated = steps.iter().any(|s| matches!(s, Degradation::Rotate(_)));
        rows.push(ManifestRow {
            name,
            degradation: if rotated { "scan_rotated" } else { "scan" }.to_owned(),
            parameter: format!(
                "{} {}; {}",
                text.name,
                font.name(),
                steps
                    .iter()
                    .map(|s| format!("{} {}", s.kind(), s.parameter()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    write_file(&dir.join(MANIFEST), manifest_tsv(&rows).as_bytes())?;
    let pdf = crate::pdf::image_pdf(&pngs, DPI as f32).map_err(|e| SynthError::Pdfium {
        action: "write the 12-page PDF",
        message: e.to_string(),
    })?;
    write_file(&dir.join(SCAN12_PDF), &pdf)?;
    Ok(rows)
}

fn create_dir(dir: &Path) -> Result<(), SynthError> {
    std::fs::create_dir_all(dir).map_err(|e| SynthError::Write {
        path: dir.to_owned(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> GrayImage {
        // A black bar on white, off centre.
        GrayImage::from_fn(300, 200, |x, y| {
            Luma([if (50..120).contains(&x) && (40..60).contains(&y) {
                0
            } else {
                255
            }])
        })
    }

    #[test]
    fn texts_are_business_documents_of_the_right_length() {
        for t in &TEXTS {
            let words = t.text.split_whitespace().count();
            assert!((150..=300).contains(&words), "{}: {words} words", t.name);
            assert!(t.text.contains("Signature: ____"), "{}", t.name);
            assert!(t.text.is_ascii(), "{}", t.name);
            assert!(t.text.chars().any(|c| c.is_ascii_digit()), "{}", t.name);
        }
    }

    #[test]
    fn degradations_are_deterministic_and_keep_or_scale_the_size() {
        let p = page();
        for n in 0..3 {
            for d in variants(n) {
                let (a, dpi) = d.apply(&p);
                let (b, _) = d.apply(&p);
                assert_eq!(a, b, "{d:?} is deterministic");
                match d {
                    Degradation::Rotate(90 | 270) => assert_eq!(a.dimensions(), (200, 300)),
                    Degradation::LowDpi(150) => {
                        assert_eq!((a.dimensions(), dpi), ((150, 100), 150))
                    }
                    Degradation::LowDpi(100) => assert_eq!((a.dimensions(), dpi), ((100, 67), 100)),
                    _ => assert_eq!((a.dimensions(), dpi), ((300, 200), DPI)),
                }
            }
        }
    }

    #[test]
    fn low_contrast_maps_ink_and_paper() {
        let (img, _) = Degradation::LowContrast {
            text: 120,
            background: 190,
        }
        .apply(&page());
        assert_eq!(img.get_pixel(60, 50)[0], 120);
        assert_eq!(img.get_pixel(0, 0)[0], 190);
        let (img, _) = Degradation::UnevenBackground {
            text: 120,
            light: 205,
            dark: 165,
        }
        .apply(&page());
        assert!(img.get_pixel(299, 199)[0] < img.get_pixel(100, 0)[0]);
    }

    #[test]
    fn png_carries_its_resolution() {
        let bytes = encode_png(&page(), 150).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let reader = decoder.read_info().unwrap();
        let dims = reader.info().pixel_dims.unwrap();
        assert_eq!(dims.xppu, 5906); // 150 / 0.0254
        assert_eq!(dims.unit, png::Unit::Meter);
    }
}
