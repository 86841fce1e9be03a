//! Preprocessing: what is done to a page image before Tesseract reads it.
//!
//! Every stage has one shape ([`Stage`]): it measures the page, decides by that measurement whether
//! it would help, and either changes the image or says why not. The orchestrator is the list
//! [`STAGES`]; orientation is decided after a first reading (see [`crate::engine`]), because a
//! page Tesseract reads confidently is upright and needs no orientation detection at all.
//!
//! Geometric stages (orientation, deskew) change the page itself: the straightened image becomes
//! the page image of the version and word boxes refer to it. Photometric stages (contrast,
//! denoise, upscale, binarise) change only what the engine sees; boxes found on an upscaled image
//! are scaled back.

use crate::engine::OcrError;
use crate::lept::Pix;
use countersign_core::{PageQuality, PreprocessStep};
use std::time::Instant;

/// Bumped when the stages change in a way that changes results.
pub const VERSION: u32 = 3;

/// Settings of the preprocessing stages (the defaults are the measured ones).
#[derive(Clone, Debug)]
pub struct Options {
    /// Run the stages at all (off: Tesseract gets the page as it is).
    pub enabled: bool,
    /// Skew below this is left to Tesseract's own line finding (degrees).
    pub deskew_min_degrees: f32,
    /// Skew is searched within ± this many degrees.
    pub deskew_range_degrees: f32,
    /// Contrast (0..1) below which levels are stretched.
    pub min_contrast: f64,
    /// Background variation (0..1) above which the background is flattened.
    pub max_background_variation: f64,
    /// Share of isolated specks among ink pixels above which the page is median-filtered.
    pub max_noise: f64,
    /// Median glyph height (pixels) below which the page is upscaled.
    pub min_glyph_height: u32,
    /// A first reading with mean word confidence below this runs orientation detection.
    pub orientation_below_confidence: f64,
    /// Recognition of one page stops after this long (what was read by then is kept).
    pub page_deadline: std::time::Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            enabled: true,
            // Measured on the 12-page scan and the degraded set: straightening 0.8° changed
            // nothing, 1.4–1.5° cut CER by ~10 %, 2° by up to 30× (Courier).
            deskew_min_degrees: 1.0,
            deskew_range_degrees: 10.0,
            min_contrast: 0.45,
            max_background_variation: 0.06,
            max_noise: 0.08,
            min_glyph_height: 18,
            orientation_below_confidence: 0.75,
            page_deadline: std::time::Duration::from_secs(120),
        }
    }
}

/// A page on its way to the engine.
pub struct PageImage {
    /// The page itself (colour kept), with the geometric corrections applied.
    pub page: Pix,
    /// The 8-bit grey image the photometric stages work on (and the engine reads, unless binarised).
    pub gray: Pix,
    /// Set by the binarise stage: what the engine reads instead of `gray`.
    pub binary: Option<Pix>,
    /// `gray` is this many times larger than `page` (upscaling).
    pub scale: f32,
    /// Resolution the page image is at (declared by the file or the renderer).
    pub declared_dpi: Option<u32>,
    pub quality: PageQuality,
    pub steps: Vec<PreprocessStep>,
    /// Orientation or deskew changed the page: it must be stored as the new page image.
    pub geometry_changed: bool,
    /// Levels found by the last measurement: ink mean, background mean, Otsu threshold.
    levels: Levels,
    /// `gray` thresholded at `levels` by the last measurement, for the orientation stage (which
    /// needs the same black-and-white page).
    measured_ink: Option<Pix>,
    glyph_height: Option<u32>,
    /// The orientation stage could judge the page (so no orientation detection after reading).
    pub orientation_known: bool,
    /// A stage changed the grey levels since `measure` (the binarise check must look again).
    levels_changed: bool,
}

#[derive(Clone, Copy, Debug, Default)]
struct Levels {
    ink: f64,
    background: f64,
    threshold: u8,
}

impl PageImage {
    pub fn new(bytes: &[u8], dpi: Option<u32>) -> Result<PageImage, OcrError> {
        let page = Pix::read(bytes)?;
        PageImage::from_pix(page, dpi)
    }

    pub fn from_pix(page: Pix, dpi: Option<u32>) -> Result<PageImage, OcrError> {
        let gray = page.to_gray()?;
        let declared_dpi = dpi.or_else(|| page.declared_dpi());
        Ok(PageImage {
            gray,
            page,
            binary: None,
            scale: 1.0,
            declared_dpi,
            quality: PageQuality {
                declared_dpi,
                ..PageQuality::default()
            },
            steps: Vec::new(),
            geometry_changed: false,
            levels: Levels::default(),
            measured_ink: None,
            glyph_height: None,
            orientation_known: false,
            levels_changed: false,
        })
    }

    /// The image the engine reads.
    pub fn for_engine(&self) -> &Pix {
        self.binary.as_ref().unwrap_or(&self.gray)
    }

    /// The resolution to tell the engine: declared (or estimated) × upscaling.
    pub fn engine_dpi(&self) -> Option<u32> {
        self.declared_dpi
            .or(self.quality.estimated_dpi)
            .map(|d| (d as f32 * self.scale).round() as u32)
    }

    /// Turns the page by `quarters` × 90° clockwise and starts the stages over.
    pub fn rotate_quarters(&mut self, quarters: u32) -> Result<(), OcrError> {
        let page = self.page.rotate_orth(quarters)?;
        let steps = std::mem::take(&mut self.steps);
        *self = PageImage::from_pix(page, self.declared_dpi)?;
        self.steps = steps;
        self.geometry_changed = true;
        Ok(())
    }
}

/// What a stage did.
pub struct Outcome {
    pub applied: bool,
    pub reason: String,
}

fn applied(reason: impl Into<String>) -> Result<Outcome, OcrError> {
    Ok(Outcome {
        applied: true,
        reason: reason.into(),
    })
}

fn skipped(reason: impl Into<String>) -> Result<Outcome, OcrError> {
    Ok(Outcome {
        applied: false,
        reason: reason.into(),
    })
}

/// One preprocessing stage.
pub type Stage = fn(&mut PageImage, &Options) -> Result<Outcome, OcrError>;

/// The stages, in order.
pub const STAGES: [(&str, Stage); 7] = [
    ("measure", measure),
    ("orientation", orientation),
    ("deskew", deskew),
    ("contrast", contrast),
    ("denoise", denoise),
    ("upscale", upscale),
    ("binarise", binarise),
];

/// Runs [`STAGES`] on the page, recording each on it.
pub fn prepare(page: &mut PageImage, options: &Options) -> Result<(), OcrError> {
    if !options.enabled {
        return Ok(());
    }
    for (name, stage) in STAGES {
        run(page, options, name, stage)?;
    }
    Ok(())
}

/// Runs one stage and records it.
pub fn run(
    page: &mut PageImage,
    options: &Options,
    name: &str,
    stage: Stage,
) -> Result<(), OcrError> {
    let started = Instant::now();
    let outcome = stage(page, options)?;
    page.steps.push(PreprocessStep {
        stage: name.to_owned(),
        applied: outcome.applied,
        reason: outcome.reason,
        millis: started.elapsed().as_millis() as u64,
    });
    Ok(())
}

/// Measures the page: grey levels and contrast, background evenness, specks, sharpness, glyph size
/// (hence the resolution the text suggests) and skew. Changes nothing.
pub fn measure(page: &mut PageImage, options: &Options) -> Result<Outcome, OcrError> {
    let (w, h) = (page.gray.width() as usize, page.gray.height() as usize);
    let gray = page.gray.gray_bytes();
    let levels = levels(&gray);
    page.levels = levels;
    let q = &mut page.quality;
    q.contrast = ((levels.background - levels.ink) / 255.0).clamp(0.0, 1.0);
    q.background_variation = background_variation(&gray, w, h);
    q.noise = speck_share(&gray, w, h, levels.threshold);
    q.sharpness = laplacian_variance(&gray, w, h);
    let binary = page.gray.threshold(levels.threshold.max(1))?;
    page.glyph_height = median_glyph_height(&binary);
    q.estimated_dpi = page.glyph_height.map(dpi_from_glyph_height);
    if let Some((angle, conf)) = binary.find_skew(options.deskew_range_degrees) {
        if conf >= MIN_SKEW_CONFIDENCE {
            q.skew_degrees = round2(angle as f64);
        }
    }
    page.measured_ink = Some(binary);
    applied(format!(
        "contrast {:.2}, background variation {:.3}, specks {:.3}, sharpness {:.0}, glyph height {}, skew {:.2}°",
        q.contrast,
        q.background_variation,
        q.noise,
        q.sharpness,
        page.glyph_height
            .map_or("unknown".to_owned(), |g| format!("{g} px")),
        q.skew_degrees
    ))
}

/// Turns a page scanned sideways or upside down upright, judged from the shapes of its glyphs
/// (Leptonica: ascenders outnumber descenders in Latin script). Cheap (~15 ms on a 300-dpi page);
/// a page it cannot judge (little text) is left to Tesseract's orientation detection after a first
/// reading.
pub fn orientation(page: &mut PageImage, options: &Options) -> Result<Outcome, OcrError> {
    let binary = match page.measured_ink.take() {
        Some(binary) => binary,
        None => page.gray.threshold(page.levels.threshold.max(1))?,
    };
    // Glyphs shorter than this (in pixels, as measured) are judged at full size.
    const HALVE_FROM_GLYPH_HEIGHT: u32 = 20;
    let halve = page
        .glyph_height
        .is_none_or(|g| g >= HALVE_FROM_GLYPH_HEIGHT);
    let Some((rotation, up, left)) = binary.orientation(halve) else {
        page.orientation_known = false;
        return skipped(
            "too little text to judge from glyph shapes; left to Tesseract if the reading is poor",
        );
    };
    page.orientation_known = true;
    if rotation == 0 {
        return skipped(format!(
            "upright (glyph shapes: up/down {up:.1}, left/right {left:.1})"
        ));
    }
    let scanned_at = (360 - rotation) % 360;
    let steps = std::mem::take(&mut page.steps);
    let declared = page.declared_dpi;
    let turned = page.page.rotate_orth(rotation / 90)?;
    *page = PageImage::from_pix(turned, declared)?;
    page.steps = steps;
    page.geometry_changed = true;
    page.orientation_known = true;
    page.quality.orientation_degrees = scanned_at;
    // Skew, glyph sizes and the rest are measured again on the upright page.
    measure(page, options)?;
    page.measured_ink = None;
    applied(format!(
        "turned {rotation}° (scanned at {scanned_at}°; glyph shapes: up/down {up:.1}, left/right {left:.1})"
    ))
}

/// Leptonica's own floor for a skew estimate worth acting on.
const MIN_SKEW_CONFIDENCE: f32 = 3.0;

/// Skew up to this is straightened by shears rather than area mapping. Measured on 57 clean
/// pages skewed by 1.1–4.2°: reading after either was the same (452 vs 453 character edits of
/// 37,270 at 1.1–2.6°, 409 vs 408 of 33,543 at 2.8–4.2°, the shears losing only from 3.5°), and
/// the shears take ~15 ms on a 300-dpi letter page against ~45 ms.
const SHEAR_MAX_DEGREES: f32 = 3.0;

/// Straightens a skewed page (Leptonica's skew search; rotation by shears for small angles, by
/// area mapping beyond).
pub fn deskew(page: &mut PageImage, options: &Options) -> Result<Outcome, OcrError> {
    let angle = page.quality.skew_degrees as f32;
    if angle.abs() < options.deskew_min_degrees {
        return skipped(format!(
            "skew {angle:.2}° is below {:.1}°: Tesseract's line finding copes (measured)",
            options.deskew_min_degrees
        ));
    }
    let how = if angle.abs() <= SHEAR_MAX_DEGREES {
        page.page = page.page.rotate_sheared(angle)?;
        "by shears"
    } else {
        page.page = page.page.rotate(angle)?;
        "by area mapping"
    };
    page.gray = page.page.to_gray()?;
    page.measured_ink = None;
    page.geometry_changed = true;
    applied(format!("rotated {angle:.2}° {how} to straighten the lines"))
}

/// Flattens an uneven background and stretches low contrast.
pub fn contrast(page: &mut PageImage, options: &Options) -> Result<Outcome, OcrError> {
    let q = page.quality.clone();
    let uneven = q.background_variation > options.max_background_variation;
    let faint = q.contrast < options.min_contrast;
    if !uneven && !faint {
        return skipped(format!(
            "contrast {:.2} and background variation {:.3} are fine",
            q.contrast, q.background_variation
        ));
    }
    let mut done = Vec::new();
    page.levels_changed = true;
    if uneven {
        page.gray = page.gray.normalize_background()?;
        done.push(format!(
            "background flattened (variation {:.3})",
            q.background_variation
        ));
    }
    // Stretch the levels so ink is black and paper is white.
    let gray = page.gray.gray_bytes();
    let l = levels(&gray);
    if (l.background - l.ink) < 0.9 * 255.0 {
        let black = l.ink.round().clamp(0.0, 254.0) as u8;
        let white = (l.background.round() as u8).max(black.saturating_add(1));
        page.gray = page.gray.stretch(black, white)?;
        page.levels = levels(&page.gray.gray_bytes());
        done.push(format!("levels {black}..{white} stretched to 0..255"));
    } else {
        page.levels = l;
    }
    applied(done.join("; "))
}

/// Removes salt-and-pepper specks with a 3×3 median filter.
pub fn denoise(page: &mut PageImage, options: &Options) -> Result<Outcome, OcrError> {
    let noise = page.quality.noise;
    if noise <= options.max_noise {
        return skipped(format!(
            "isolated specks are {:.1} % of the ink (≤ {:.0} %)",
            noise * 100.0,
            options.max_noise * 100.0
        ));
    }
    page.gray = page.gray.median()?;
    page.levels_changed = true;
    applied(format!(
        "isolated specks are {:.1} % of the ink: 3×3 median filter",
        noise * 100.0
    ))
}

/// Enlarges pages whose glyphs are too small for the engine (low-resolution scans, faxes).
pub fn upscale(page: &mut PageImage, options: &Options) -> Result<Outcome, OcrError> {
    if let Some(dpi) = page.declared_dpi.filter(|&d| d >= 200) {
        return skipped(format!("the image is {dpi} dpi: enough for the engine"));
    }
    if page.levels_changed {
        // Specks removed or levels stretched since `measure`: size the glyphs again (noise
        // measured as glyphs would ask for a pointless, costly enlargement).
        let binary = page.gray.threshold(page.levels.threshold.max(1))?;
        page.glyph_height = median_glyph_height(&binary);
    }
    let Some(glyph) = page.glyph_height else {
        return skipped("no glyphs found to measure");
    };
    if glyph >= options.min_glyph_height {
        return skipped(format!(
            "median glyph height {glyph} px (≥ {} px)",
            options.min_glyph_height
        ));
    }
    if page.quality.noise > options.max_noise {
        return skipped(format!(
            "median glyph height {glyph} px, but the page is speckled ({:.0} % isolated specks): \
             enlarging would multiply the noise",
            page.quality.noise * 100.0
        ));
    }
    // Bounded so an enlarged page stays within what the engine reads in reasonable time.
    let pixels = (page.gray.width() as f32) * (page.gray.height() as f32);
    let cap = (MAX_ENGINE_PIXELS / pixels.max(1.0)).sqrt();
    let factor = (TARGET_GLYPH_HEIGHT / glyph.max(1) as f32)
        .clamp(1.5, 4.0)
        .min(cap);
    if factor < 1.2 {
        return skipped(format!(
            "median glyph height {glyph} px, but the page is already {:.0} megapixels",
            pixels / 1e6
        ));
    }
    page.gray = page.gray.scale(factor)?;
    page.scale *= factor;
    applied(format!(
        "median glyph height {glyph} px: enlarged {factor:.2}×"
    ))
}

/// The largest image the upscale stage makes (a letter page at 300 dpi is 8.4 megapixels).
const MAX_ENGINE_PIXELS: f32 = 36.0e6;

const TARGET_GLYPH_HEIGHT: f32 = 30.0;

/// Local (Sauvola) thresholding where the background is still uneven after normalisation;
/// elsewhere Tesseract's global Otsu threshold is as good and this stage is skipped.
pub fn binarise(page: &mut PageImage, options: &Options) -> Result<Outcome, OcrError> {
    let variation = if page.levels_changed || page.scale != 1.0 {
        let gray = page.gray.gray_bytes();
        background_variation(
            &gray,
            page.gray.width() as usize,
            page.gray.height() as usize,
        )
    } else {
        page.quality.background_variation
    };
    if variation <= options.max_background_variation {
        return skipped(format!(
            "background variation {variation:.3} is even: Tesseract's Otsu threshold suffices"
        ));
    }
    page.binary = Some(page.gray.sauvola()?);
    applied(format!(
        "background variation {variation:.3} after normalisation: Sauvola local threshold"
    ))
}

/// Resolution suggested by a median glyph height, calibrated on 10–12 pt body text (whose
/// connected components — lower-case letters with and without ascenders — have a median height of
/// about 0.085 inch).
fn dpi_from_glyph_height(h: u32) -> u32 {
    ((h as f64 / 0.085).round() as u32).clamp(30, 1200)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Ink mean, background mean and the Otsu threshold between them.
fn levels(gray: &[u8]) -> Levels {
    // Four histograms, summed after: consecutive equal pixels (most of a page) would otherwise
    // wait on each other's count.
    let mut four = [[0u32; 256]; 4];
    let mut quads = gray.chunks_exact(4);
    for q in &mut quads {
        four[0][q[0] as usize] += 1;
        four[1][q[1] as usize] += 1;
        four[2][q[2] as usize] += 1;
        four[3][q[3] as usize] += 1;
    }
    for &g in quads.remainder() {
        four[0][g as usize] += 1;
    }
    let mut hist = [0u64; 256];
    for (i, n) in hist.iter_mut().enumerate() {
        *n = four.iter().map(|h| h[i] as u64).sum();
    }
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return Levels {
            ink: 0.0,
            background: 255.0,
            threshold: 128,
        };
    }
    let sum: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &n)| i as f64 * n as f64)
        .sum();
    let (mut w0, mut sum0) = (0f64, 0f64);
    let (mut best, mut threshold) = (-1f64, 128usize);
    for (t, &n) in hist.iter().enumerate() {
        w0 += n as f64;
        sum0 += t as f64 * n as f64;
        let w1 = total as f64 - w0;
        if w0 == 0.0 || w1 == 0.0 {
            continue;
        }
        let (m0, m1) = (sum0 / w0, (sum - sum0) / w1);
        let between = w0 * w1 * (m0 - m1) * (m0 - m1);
        if between > best {
            best = between;
            threshold = t + 1;
        }
    }
    let mean = |range: std::ops::Range<usize>| {
        let n: u64 = hist[range.clone()].iter().sum();
        if n == 0 {
            None
        } else {
            Some(range.map(|i| i as f64 * hist[i] as f64).sum::<f64>() / n as f64)
        }
    };
    let ink = mean(0..threshold.min(256)).unwrap_or(0.0);
    let background = mean(threshold.min(256)..256).unwrap_or(255.0);
    Levels {
        ink,
        background,
        threshold: threshold.min(255) as u8,
    }
}

/// Standard deviation (0..1) of the paper level across 64-pixel tiles (each tile's 90th
/// percentile), so text density does not count as unevenness.
fn background_variation(gray: &[u8], w: usize, h: usize) -> f64 {
    const TILE: usize = 64;
    if w < TILE * 2 || h < TILE * 2 {
        return 0.0;
    }
    let mut levels = Vec::new();
    for ty in (0..h - TILE + 1).step_by(TILE) {
        for tx in (0..w - TILE + 1).step_by(TILE) {
            let mut hist = [0u32; 256];
            for y in (ty..ty + TILE).step_by(2) {
                for &g in &gray[y * w + tx..y * w + tx + TILE] {
                    hist[g as usize] += 1;
                }
            }
            let n: u32 = hist.iter().sum();
            let mut seen = 0;
            let mut p90 = 255;
            for (i, &c) in hist.iter().enumerate() {
                seen += c;
                if seen * 10 >= n * 9 {
                    p90 = i;
                    break;
                }
            }
            levels.push(p90 as f64);
        }
    }
    let mean = levels.iter().sum::<f64>() / levels.len() as f64;
    let var = levels.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / levels.len() as f64;
    var.sqrt() / 255.0
}

/// Share of ink pixels (below `threshold`) with no ink among their 8 neighbours, on every other row.
fn speck_share(gray: &[u8], w: usize, h: usize, threshold: u8) -> f64 {
    if w < 3 || h < 3 {
        return 0.0;
    }
    let (mut ink, mut specks) = (0u64, 0u64);
    for y in (1..h - 1).step_by(2) {
        for x in 1..w - 1 {
            if gray[y * w + x] >= threshold {
                continue;
            }
            ink += 1;
            let alone = [
                (y - 1) * w + x - 1,
                (y - 1) * w + x,
                (y - 1) * w + x + 1,
                y * w + x - 1,
                y * w + x + 1,
                (y + 1) * w + x - 1,
                (y + 1) * w + x,
                (y + 1) * w + x + 1,
            ]
            .iter()
            .all(|&i| gray[i] >= threshold);
            if alone {
                specks += 1;
            }
        }
    }
    if ink == 0 {
        0.0
    } else {
        specks as f64 / ink as f64
    }
}

/// Variance of the 4-neighbour Laplacian on every fourth row (a standard focus measure).
fn laplacian_variance(gray: &[u8], w: usize, h: usize) -> f64 {
    if w < 3 || h < 3 {
        return 0.0;
    }
    let (mut n, mut sum, mut sq) = (0f64, 0f64, 0f64);
    for y in (1..h - 1).step_by(4) {
        for x in 1..w - 1 {
            let c = gray[y * w + x] as f64;
            let l = gray[(y - 1) * w + x] as f64
                + gray[(y + 1) * w + x] as f64
                + gray[y * w + x - 1] as f64
                + gray[y * w + x + 1] as f64
                - 4.0 * c;
            n += 1.0;
            sum += l;
            sq += l * l;
        }
    }
    let mean = sum / n;
    (sq / n - mean * mean).max(0.0).round()
}

/// Median height of glyph-like components (not specks, not lines or pictures).
fn median_glyph_height(binary: &Pix) -> Option<u32> {
    let mut heights: Vec<u32> = binary
        .component_sizes()
        .into_iter()
        .filter(|&(w, h)| (4..=400).contains(&h) && w <= 3 * h && w * h >= 12)
        .map(|(_, h)| h)
        .collect();
    if heights.len() < 10 {
        return None;
    }
    heights.sort_unstable();
    Some(heights[heights.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otsu_levels_split_ink_from_paper() {
        let mut gray = vec![200u8; 900];
        gray.extend(vec![40u8; 100]);
        let l = levels(&gray);
        assert!((l.ink - 40.0).abs() < 1e-9, "{l:?}");
        assert!((l.background - 200.0).abs() < 1e-9, "{l:?}");
        assert!(l.threshold > 40 && l.threshold <= 200, "{l:?}");
    }

    #[test]
    fn levels_count_every_pixel_whatever_the_length() {
        // 1,003 pixels: the four-way histogram's remainder counts too.
        let gray: Vec<u8> = (0..1003u32)
            .map(|i| if i % 10 < 3 { 30 } else { 220 })
            .collect();
        let l = levels(&gray);
        assert!((l.ink - 30.0).abs() < 1e-9, "{l:?}");
        assert!((l.background - 220.0).abs() < 1e-9, "{l:?}");
        let ink = gray.iter().filter(|&&g| g < l.threshold).count();
        assert_eq!(ink, (0..1003).filter(|i| i % 10 < 3).count());
    }

    #[test]
    fn specks_are_counted_and_strokes_are_not() {
        let (w, h) = (40, 40);
        let mut gray = vec![255u8; w * h];
        // A solid stroke: no isolated pixels.
        for y in 5..35 {
            for x in 10..13 {
                gray[y * w + x] = 0;
            }
        }
        assert_eq!(speck_share(&gray, w, h, 128), 0.0);
        // Lone specks on the rows the measure samples.
        for x in (20..38).step_by(3) {
            gray[21 * w + x] = 0;
        }
        assert!(speck_share(&gray, w, h, 128) > 0.1);
    }

    #[test]
    fn a_gradient_background_varies_and_a_flat_one_does_not() {
        let (w, h) = (512, 512);
        let flat = vec![230u8; w * h];
        assert!(background_variation(&flat, w, h) < 1e-9);
        let gradient: Vec<u8> = (0..w * h)
            .map(|i| (120 + (i % w) * 130 / w) as u8)
            .collect();
        assert!(background_variation(&gradient, w, h) > 0.1);
    }

    #[test]
    fn blur_lowers_sharpness() {
        let (w, h) = (64, 64);
        let sharp: Vec<u8> = (0..w * h)
            .map(|i| {
                if (i % w / 3 + i / w / 3) % 2 == 0 {
                    0
                } else {
                    255
                }
            })
            .collect();
        let mut soft = sharp.clone();
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                let s: u32 = [-1i32, 0, 1]
                    .iter()
                    .flat_map(|dy| [-1i32, 0, 1].map(move |dx| (dx, *dy)))
                    .map(|(dx, dy)| {
                        sharp[(y as i32 + dy) as usize * w + (x as i32 + dx) as usize] as u32
                    })
                    .sum();
                soft[y * w + x] = (s / 9) as u8;
            }
        }
        assert!(laplacian_variance(&sharp, w, h) > 4.0 * laplacian_variance(&soft, w, h));
    }
}
