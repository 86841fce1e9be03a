//! An owned, safe wrapper over the few Leptonica functions the preprocessing stages use (through
//! leptess's re-export of leptonica-sys). Leptonica is the image library Tesseract itself uses, so
//! the images handed to the engine need no conversion.

use crate::engine::OcrError;
use leptess::capi as sys;
use std::ptr::{null_mut, NonNull};

/// A Leptonica image, destroyed on drop.
pub struct Pix(NonNull<sys::PIX>);

// A Pix is plain memory owned by this value; Leptonica has no thread affinity.
unsafe impl Send for Pix {}

impl Drop for Pix {
    fn drop(&mut self) {
        let mut p = self.0.as_ptr();
        // SAFETY: we own the only reference; pixDestroy nulls the pointer.
        unsafe { sys::pixDestroy(&mut p) };
    }
}

fn made(p: *mut sys::PIX, what: &str) -> Result<Pix, OcrError> {
    NonNull::new(p)
        .map(Pix)
        .ok_or_else(|| OcrError::Image(format!("Leptonica could not {what}")))
}

impl Pix {
    /// Decodes an image file held in memory (PNG, TIFF, JPEG, PNM, …).
    pub fn read(bytes: &[u8]) -> Result<Pix, OcrError> {
        if let Some(pnm) = Pix::read_pnm(bytes) {
            return pnm;
        }
        // SAFETY: Leptonica copies from the buffer and does not keep the pointer.
        made(
            unsafe { sys::pixReadMem(bytes.as_ptr(), bytes.len()) },
            "read the page image",
        )
    }

    /// An image from a binary PGM (P5) or PPM (P6) with 8-bit samples, copied straight into a Pix
    /// (Leptonica's own PNM reader takes one byte at a time).
    pub fn read_pnm(bytes: &[u8]) -> Option<Result<Pix, OcrError>> {
        let magic = bytes.get(..2)?;
        let channels = match magic {
            b"P5" => 1usize,
            b"P6" => 3,
            _ => return None,
        };
        // Header: magic, width, height, maxval, each followed by whitespace (no comments: we
        // write these files ourselves).
        let mut fields = Vec::with_capacity(3);
        let mut at = 2;
        while fields.len() < 3 {
            while at < bytes.len() && bytes[at].is_ascii_whitespace() {
                at += 1;
            }
            let start = at;
            while at < bytes.len() && bytes[at].is_ascii_digit() {
                at += 1;
            }
            let n: usize = std::str::from_utf8(&bytes[start..at]).ok()?.parse().ok()?;
            fields.push(n);
        }
        at += 1; // the single whitespace after maxval
        let (w, h, maxval) = (fields[0], fields[1], fields[2]);
        if maxval != 255 || w == 0 || h == 0 || bytes.len() < at + w * h * channels {
            return Some(Err(OcrError::Image(
                "a truncated or unsupported PNM page".into(),
            )));
        }
        let pixels = &bytes[at..at + w * h * channels];
        let depth = if channels == 1 { 8 } else { 32 };
        let pix = match made(
            unsafe { sys::pixCreate(w as i32, h as i32, depth) },
            "allocate the page",
        ) {
            Ok(p) => p,
            Err(e) => return Some(Err(e)),
        };
        let wpl = unsafe { sys::pixGetWpl(pix.as_ptr()) } as usize;
        // SAFETY: the pix was just created with h rows of wpl words.
        let data =
            unsafe { std::slice::from_raw_parts_mut(sys::pixGetData(pix.as_ptr()), wpl * h) };
        for (row, src) in data
            .chunks_exact_mut(wpl)
            .zip(pixels.chunks_exact(w * channels))
        {
            if channels == 1 {
                for (word, px) in row.iter_mut().zip(src.chunks(4)) {
                    let mut b = [0u8; 4];
                    b[..px.len()].copy_from_slice(px);
                    *word = u32::from_be_bytes(b);
                }
            } else {
                for (word, px) in row.iter_mut().zip(src.chunks_exact(3)) {
                    *word = u32::from_be_bytes([px[0], px[1], px[2], 255]);
                }
            }
        }
        if channels == 3 {
            unsafe { sys::pixSetSpp(pix.as_ptr(), 3) };
        }
        Some(Ok(pix))
    }

    pub fn as_ptr(&self) -> *mut sys::PIX {
        self.0.as_ptr()
    }

    pub fn width(&self) -> u32 {
        unsafe { sys::pixGetWidth(self.as_ptr()) }.max(0) as u32
    }

    pub fn height(&self) -> u32 {
        unsafe { sys::pixGetHeight(self.as_ptr()) }.max(0) as u32
    }

    pub fn depth(&self) -> u32 {
        unsafe { sys::pixGetDepth(self.as_ptr()) }.max(0) as u32
    }

    /// The resolution the file declared, if it did.
    pub fn declared_dpi(&self) -> Option<u32> {
        let x = unsafe { sys::pixGetXRes(self.as_ptr()) };
        (x > 0).then_some(x as u32)
    }

    pub fn set_dpi(&self, dpi: u32) {
        unsafe { sys::pixSetResolution(self.as_ptr(), dpi as i32, dpi as i32) };
    }

    /// 8-bit grey, without a colour map (colour by luminance). An image that already is one is
    /// shared, not copied: no operation here changes an image in place.
    pub fn to_gray(&self) -> Result<Pix, OcrError> {
        let p = self.as_ptr();
        let out = unsafe {
            if self.depth() == 8 && sys::pixGetColormap(p).is_null() {
                // Another reference to the same pixels (Leptonica counts them; each drop releases one).
                sys::pixClone(p)
            } else if self.depth() == 32 {
                sys::pixConvertRGBToLuminance(p)
            } else {
                sys::pixConvertTo8(p, 0)
            }
        };
        made(out, "convert the page to grey")
    }

    /// The grey levels (8-bit images only), row by row.
    pub fn gray_bytes(&self) -> Vec<u8> {
        assert_eq!(self.depth(), 8, "gray_bytes needs an 8-bit image");
        let (w, h) = (self.width() as usize, self.height() as usize);
        let wpl = unsafe { sys::pixGetWpl(self.as_ptr()) } as usize;
        // SAFETY: an 8-bit pix holds h rows of wpl 32-bit words.
        let data = unsafe { std::slice::from_raw_parts(sys::pixGetData(self.as_ptr()), wpl * h) };
        let mut out = vec![0u8; w * h];
        if w == 0 {
            return out;
        }
        for (dst, row) in out.chunks_exact_mut(w).zip(data.chunks_exact(wpl)) {
            // Leptonica packs four pixels a word, the first in the most significant byte: a
            // word's big-endian bytes are its pixels in order.
            let whole = w / 4;
            for (px, word) in dst.chunks_exact_mut(4).zip(&row[..whole]) {
                px.copy_from_slice(&word.to_be_bytes());
            }
            let rest = w % 4;
            if rest > 0 {
                dst[whole * 4..].copy_from_slice(&row[whole].to_be_bytes()[..rest]);
            }
        }
        out
    }

    /// Black-and-white at `threshold`: grey levels below it are ink.
    pub fn threshold(&self, threshold: u8) -> Result<Pix, OcrError> {
        made(
            unsafe { sys::pixConvertTo1(self.as_ptr(), threshold as i32) },
            "binarise the page",
        )
    }

    /// Skew of the text lines of a 1-bit image: (degrees to rotate clockwise to straighten, the
    /// confidence of the estimate). Leptonica's sweep-and-search over ±`range` degrees.
    pub fn find_skew(&self, range: f32) -> Option<(f32, f32)> {
        let (mut angle, mut conf) = (0f32, 0f32);
        let failed = unsafe {
            sys::pixFindSkewSweepAndSearch(
                self.as_ptr(),
                &mut angle,
                &mut conf,
                4,
                2,
                range,
                1.0,
                0.01,
            )
        };
        (failed == 0).then_some((angle, conf))
    }

    /// Text orientation of a 1-bit image from the shapes of its glyphs (ascenders outnumber
    /// descenders in Latin text): `(clockwise rotation that makes the text upright — 0, 90, 180 or
    /// 270 —, up/down confidence, left/right confidence)`, or `None` when Leptonica cannot decide
    /// (too little text, or no clear answer). With `halve`, it works on the page reduced to half
    /// size (cheap; right for glyphs of ordinary size at 300 dpi, but small print at half size is
    /// too small for Leptonica's glyph shapes: a page of 5.8 pt text was judged sideways).
    pub fn orientation(&self, halve: bool) -> Option<(u32, f32, f32)> {
        let half;
        let judged = if halve {
            half = made(
                unsafe { sys::pixReduceRankBinaryCascade(self.as_ptr(), 1, 0, 0, 0) },
                "reduce the page",
            )
            .ok()?;
            &half
        } else {
            self
        };
        let (mut up, mut left) = (0f32, 0f32);
        if unsafe { sys::pixOrientDetect(judged.as_ptr(), &mut up, &mut left, 0, 0) } != 0 {
            return None;
        }
        let mut orient = 0;
        // Leptonica's default thresholds (minimum up/down confidence 8, ratio 2.5).
        let decided = unsafe { sys::makeOrientDecision(up, left, 0.0, 0.0, &mut orient, 0) } == 0;
        let rotation = match orient {
            _ if !decided => return None,
            o if o == sys::L_TEXT_ORIENT_UP as i32 => 0,
            o if o == sys::L_TEXT_ORIENT_LEFT as i32 => 90,
            o if o == sys::L_TEXT_ORIENT_DOWN as i32 => 180,
            o if o == sys::L_TEXT_ORIENT_RIGHT as i32 => 270,
            _ => return None,
        };
        Some((rotation, up, left))
    }

    /// Rotated clockwise by `degrees` about the centre, same size, white brought in.
    pub fn rotate(&self, degrees: f32) -> Result<Pix, OcrError> {
        made(
            unsafe {
                sys::pixRotate(
                    self.as_ptr(),
                    degrees.to_radians(),
                    sys::L_ROTATE_AREA_MAP as i32,
                    sys::L_BRING_IN_WHITE as i32,
                    0,
                    0,
                )
            },
            "rotate the page",
        )
    }

    /// [`Pix::rotate`] by three shears: whole-pixel shifts, no interpolation, a third of the
    /// cost. Each row and column moves in steps 1/tan(angle) pixels long (29 px at 2°).
    pub fn rotate_sheared(&self, degrees: f32) -> Result<Pix, OcrError> {
        made(
            unsafe {
                sys::pixRotate(
                    self.as_ptr(),
                    degrees.to_radians(),
                    sys::L_ROTATE_SHEAR as i32,
                    sys::L_BRING_IN_WHITE as i32,
                    0,
                    0,
                )
            },
            "rotate the page",
        )
    }

    /// Rotated clockwise by `quarters` × 90°.
    pub fn rotate_orth(&self, quarters: u32) -> Result<Pix, OcrError> {
        made(
            unsafe { sys::pixRotateOrth(self.as_ptr(), (quarters % 4) as i32) },
            "rotate the page",
        )
    }

    /// Uneven illumination flattened: the background is mapped to a constant level (8-bit grey).
    pub fn normalize_background(&self) -> Result<Pix, OcrError> {
        made(
            unsafe { sys::pixBackgroundNormSimple(self.as_ptr(), null_mut(), null_mut()) },
            "normalise the background",
        )
    }

    /// Linear contrast stretch: `black` and below → 0, `white` and above → 255.
    pub fn stretch(&self, black: u8, white: u8) -> Result<Pix, OcrError> {
        made(
            unsafe { sys::pixGammaTRC(null_mut(), self.as_ptr(), 1.0, black as i32, white as i32) },
            "stretch the contrast",
        )
    }

    /// Linear level mapping where `black` → 0 and `white` → 255; values outside 0..255 reduce
    /// the contrast instead (used to make faded test pages).
    pub fn stretch_from(&self, black: i32, white: i32) -> Result<Pix, OcrError> {
        made(
            unsafe { sys::pixGammaTRC(null_mut(), self.as_ptr(), 1.0, black, white) },
            "map the levels",
        )
    }

    /// 3×3 median filter (8-bit grey): removes specks, keeps edges.
    pub fn median(&self) -> Result<Pix, OcrError> {
        made(
            unsafe { sys::pixMedianFilter(self.as_ptr(), 3, 3) },
            "filter the page",
        )
    }

    /// Scaled by `factor` (linear interpolation for grey).
    pub fn scale(&self, factor: f32) -> Result<Pix, OcrError> {
        made(
            unsafe { sys::pixScale(self.as_ptr(), factor, factor) },
            "scale the page",
        )
    }

    /// Sauvola's local adaptive thresholding (8-bit grey in, 1-bit out), tiled to bound memory.
    pub fn sauvola(&self) -> Result<Pix, OcrError> {
        let nx = (self.width() / 1000).max(1) as i32;
        let ny = (self.height() / 1000).max(1) as i32;
        let mut out: *mut sys::PIX = null_mut();
        let failed = unsafe {
            sys::pixSauvolaBinarizeTiled(self.as_ptr(), 25, 0.34, nx, ny, null_mut(), &mut out)
        };
        if failed != 0 {
            return Err(OcrError::Image(
                "Leptonica could not binarise the page".into(),
            ));
        }
        made(out, "binarise the page")
    }

    /// Sizes `(width, height)` of the 8-connected components of a 1-bit image (glyphs, mostly).
    pub fn component_sizes(&self) -> Vec<(u32, u32)> {
        let boxa = unsafe { sys::pixConnCompBB(self.as_ptr(), 8) };
        if boxa.is_null() {
            return Vec::new();
        }
        let n = unsafe { sys::boxaGetCount(boxa) };
        let mut sizes = Vec::with_capacity(n.max(0) as usize);
        for i in 0..n {
            let (mut x, mut y, mut w, mut h) = (0, 0, 0, 0);
            if unsafe { sys::boxaGetBoxGeometry(boxa, i, &mut x, &mut y, &mut w, &mut h) } == 0 {
                sizes.push((w.max(0) as u32, h.max(0) as u32));
            }
        }
        let mut boxa = boxa;
        unsafe { sys::boxaDestroy(&mut boxa) };
        sizes
    }

    /// The image for the `image` crate: RGB if it is 32-bit colour, else 8-bit grey.
    pub fn to_image(&self) -> Result<image::DynamicImage, OcrError> {
        let (w, h) = (self.width(), self.height());
        if self.depth() != 32 {
            let gray =
                if self.depth() == 8 && unsafe { sys::pixGetColormap(self.as_ptr()) }.is_null() {
                    self.gray_bytes()
                } else {
                    self.to_gray()?.gray_bytes()
                };
            return image::GrayImage::from_raw(w, h, gray)
                .map(image::DynamicImage::ImageLuma8)
                .ok_or_else(|| OcrError::Image("a grey page of the wrong size".into()));
        }
        let wpl = unsafe { sys::pixGetWpl(self.as_ptr()) } as usize;
        // SAFETY: a 32-bit pix holds h rows of wpl words, one word per pixel (R, G, B, A from the
        // most significant byte).
        let data =
            unsafe { std::slice::from_raw_parts(sys::pixGetData(self.as_ptr()), wpl * h as usize) };
        let mut rgb = Vec::with_capacity((w * h * 3) as usize);
        for row in data.chunks_exact(wpl) {
            for &px in &row[..w as usize] {
                rgb.extend_from_slice(&[(px >> 24) as u8, (px >> 16) as u8, (px >> 8) as u8]);
            }
        }
        image::RgbImage::from_raw(w, h, rgb)
            .map(image::DynamicImage::ImageRgb8)
            .ok_or_else(|| OcrError::Image("a colour page of the wrong size".into()))
    }

    /// The image as a PNG file (Leptonica's encoder; see [`Pix::to_image`] for a faster path).
    pub fn png(&self) -> Result<Vec<u8>, OcrError> {
        unsafe { sys::pixSetZlibCompression(self.as_ptr(), 1) };
        let mut data: *mut u8 = null_mut();
        let mut size = 0usize;
        let failed =
            unsafe { sys::pixWriteMem(&mut data, &mut size, self.as_ptr(), sys::IFF_PNG as i32) };
        if failed != 0 || data.is_null() {
            return Err(OcrError::Image("Leptonica could not encode a PNG".into()));
        }
        // SAFETY: Leptonica allocated `size` bytes at `data`; we copy them and free its buffer.
        let out = unsafe { std::slice::from_raw_parts(data, size) }.to_vec();
        unsafe { sys::lept_free(data.cast()) };
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `w`×`h` 8-bit image whose pixel (x, y) is `f(x, y)`, set one pixel at a time.
    fn gray_pix(w: u32, h: u32, f: impl Fn(u32, u32) -> u8) -> Pix {
        let pix = made(unsafe { sys::pixCreate(w as i32, h as i32, 8) }, "allocate").unwrap();
        for y in 0..h {
            for x in 0..w {
                unsafe { sys::pixSetPixel(pix.as_ptr(), x as i32, y as i32, f(x, y) as u32) };
            }
        }
        pix
    }

    #[test]
    fn gray_bytes_are_the_pixels_in_order_for_any_width() {
        for w in [1, 3, 4, 5, 7, 8, 13] {
            let f = |x: u32, y: u32| (x * 31 + y * 7) as u8;
            let bytes = gray_pix(w, 3, f).gray_bytes();
            let expected: Vec<u8> = (0..3).flat_map(|y| (0..w).map(move |x| f(x, y))).collect();
            assert_eq!(bytes, expected, "width {w}");
        }
    }

    #[test]
    fn a_grey_image_made_grey_is_shared_and_outlives_its_source() {
        let page = gray_pix(9, 4, |x, y| (x + 10 * y) as u8);
        let gray = page.to_gray().unwrap();
        assert_eq!(gray.as_ptr(), page.as_ptr(), "the same pixels, not a copy");
        let expected = page.gray_bytes();
        drop(page);
        assert_eq!(gray.gray_bytes(), expected);
        // A colour page still becomes a grey one of its own.
        let rgb = made(unsafe { sys::pixConvert8To32(gray.as_ptr()) }, "to colour").unwrap();
        let back = rgb.to_gray().unwrap();
        assert_ne!(back.as_ptr(), rgb.as_ptr());
        assert_eq!(back.gray_bytes(), expected);
    }
}
