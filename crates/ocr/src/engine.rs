//! Tesseract through leptess. An [`Engine`] owns one Tesseract instance (created once, reused for
//! every page it is given); the [`Pool`] runs one engine per worker thread, so pages of one
//! document and of several documents are recognised in parallel with no global lock.

use crate::lept::Pix;
use crate::preprocess::{self, Options, PageImage};
use countersign_capture::limits::THUMB_MAX;
use countersign_core::{OcrPage, OcrWord, PreprocessStep};
use leptess::capi as sys;
use std::ffi::{CStr, CString};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, thiserror::Error)]
pub enum OcrError {
    #[error("Tesseract cannot start: {0} (install tesseract-ocr-eng; scripts/bootstrap.sh does)")]
    Init(String),
    #[error("the page image cannot be read by Tesseract: {0}")]
    Image(String),
    #[error("Tesseract's output cannot be read: {0}")]
    Output(String),
}

pub const LANGUAGE: &str = "eng";

/// A Tesseract instance through its C API (leptess's re-export), ended and freed on drop.
struct Tess(std::ptr::NonNull<sys::TessBaseAPI>);

// A TessBaseAPI may move between threads; it is used by one thread at a time (`&mut self`).
unsafe impl Send for Tess {}

impl Tess {
    /// Tesseract with `language`; tessdata from `TESSDATA_PREFIX` or the system's default.
    fn new(language: &str) -> Result<Tess, OcrError> {
        let lang = CString::new(language).expect("a language name has no NUL");
        let api = std::ptr::NonNull::new(unsafe { sys::TessBaseAPICreate() })
            .ok_or_else(|| OcrError::Init("Tesseract could not be created".into()))?;
        let tess = Tess(api);
        if unsafe { sys::TessBaseAPIInit3(tess.ptr(), std::ptr::null(), lang.as_ptr()) } != 0 {
            return Err(OcrError::Init(format!(
                "the {language} language data is missing (tessdata)"
            )));
        }
        Ok(tess)
    }

    fn ptr(&self) -> *mut sys::TessBaseAPI {
        self.0.as_ptr()
    }

    /// Sets a Tesseract parameter; false when Tesseract has no such parameter.
    fn set_variable(&mut self, name: &str, value: &str) -> bool {
        let (Ok(name), Ok(value)) = (CString::new(name), CString::new(value)) else {
            return false;
        };
        unsafe { sys::TessBaseAPISetVariable(self.ptr(), name.as_ptr(), value.as_ptr()) != 0 }
    }

    fn set_image(&mut self, pix: &Pix, dpi: Option<u32>) {
        let dpi = dpi.unwrap_or(300).clamp(70, 2400);
        // The image itself carries the resolution too: orientation detection reads it from there
        // (and warns about "0 dpi" otherwise).
        pix.set_dpi(dpi);
        // Tesseract takes its own reference to the image.
        unsafe {
            sys::TessBaseAPISetImage2(self.ptr(), pix.as_ptr().cast());
            sys::TessBaseAPISetSourceResolution(self.ptr(), dpi as i32);
        }
    }

    /// Recognises the image set and returns Tesseract's TSV (words with boxes and confidences).
    /// Recognition stops at `deadline` (what was read by then is returned), so no page can hold
    /// an engine for ever.
    fn tsv(&mut self, deadline: std::time::Duration) -> Result<String, OcrError> {
        let monitor = unsafe { sys::TessMonitorCreate() };
        if !monitor.is_null() {
            unsafe {
                sys::TessMonitorSetDeadlineMSecs(
                    monitor,
                    deadline.as_millis().min(i32::MAX as u128) as i32,
                );
                if sys::TessBaseAPIRecognize(self.ptr(), monitor) != 0 {
                    tracing::warn!(
                        seconds = deadline.as_secs(),
                        "recognition stopped at its deadline; keeping what was read"
                    );
                }
                sys::TessMonitorDelete(monitor);
            }
        }
        let text = unsafe { sys::TessBaseAPIGetTsvText(self.ptr(), 0) };
        if text.is_null() {
            return Err(OcrError::Output("Tesseract returned no result".into()));
        }
        let out = unsafe { CStr::from_ptr(text) }
            .to_string_lossy()
            .into_owned();
        unsafe { sys::TessDeleteText(text) };
        Ok(out)
    }

    /// Orientation and script detection: (clockwise rotation of the text in degrees, confidence).
    fn orientation(&mut self) -> Option<(u32, f32)> {
        let (mut degrees, mut conf, mut script_conf) = (0, 0f32, 0f32);
        let mut script: *const std::os::raw::c_char = std::ptr::null();
        let ok = unsafe {
            sys::TessBaseAPIDetectOrientationScript(
                self.ptr(),
                &mut degrees,
                &mut conf,
                &mut script,
                &mut script_conf,
            )
        };
        (ok != 0).then_some((degrees.rem_euclid(360) as u32, conf))
    }
}

impl Drop for Tess {
    fn drop(&mut self) {
        unsafe {
            sys::TessBaseAPIEnd(self.ptr());
            sys::TessBaseAPIDelete(self.ptr());
        }
    }
}

/// One page read: the normalised page (boxes on the page image), Tesseract's raw output, and the
/// straightened page image when orientation or deskew changed it.
pub struct PageOutput {
    pub page: OcrPage,
    /// Tesseract's TSV as it came out (coordinates of the image the engine read).
    pub raw_tsv: String,
    /// The page image after orientation/deskew, when it differs from the input.
    pub straightened: Option<Straightened>,
}

/// A page image turned upright and/or deskewed, with its thumbnail (PNG).
#[derive(Clone)]
pub struct Straightened {
    pub png: Vec<u8>,
    pub thumbnail_png: Vec<u8>,
}

/// Names the reading pipeline (engine, language data, preprocessing), stored with each page read,
/// so pages read by an older pipeline can be told apart (and a reprocess is visible).
pub fn pipeline_id() -> String {
    let version = unsafe { CStr::from_ptr(sys::TessVersion()) }.to_string_lossy();
    format!(
        "tesseract {version} {LANGUAGE}; preprocess {}",
        preprocess::VERSION
    )
}

pub struct Engine {
    text: Tess,
    /// Orientation detection uses its own instance with the `osd` data, made on first need.
    osd: Option<Tess>,
    pub options: Options,
}

impl Engine {
    pub fn new() -> Result<Engine, OcrError> {
        Engine::with_options(Options::default())
    }

    pub fn with_options(options: Options) -> Result<Engine, OcrError> {
        // Leptonica's informational messages ("text is oriented up", …) are not for operators.
        unsafe { sys::setMsgSeverity(sys::L_SEVERITY_ERROR as i32) };
        let text = Tess::new(LANGUAGE)?;
        // Automatic page segmentation, as the tesseract CLI uses (the C API defaults to one block).
        unsafe { sys::TessBaseAPISetPageSegMode(text.ptr(), sys::TessPageSegMode_PSM_AUTO) };
        Ok(Engine {
            text,
            osd: None,
            options,
        })
    }

    /// Sets a Tesseract parameter on the reading engine; false when there is no such parameter.
    pub fn set_variable(&mut self, name: &str, value: &str) -> bool {
        self.text.set_variable(name, value)
    }

    /// Recognises one page image (PNG, or any format Leptonica reads) at `dpi` (when known).
    ///
    /// With `keep_straightened`, a page that orientation or deskew changed comes back as a new
    /// page image (PNG + thumbnail); without, only its words do (OCR-only use).
    pub fn recognize(
        &mut self,
        index: u32,
        image: &[u8],
        dpi: Option<u32>,
        keep_straightened: bool,
    ) -> Result<PageOutput, OcrError> {
        let mut page = PageImage::new(image, dpi)?;
        preprocess::prepare(&mut page, &self.options)?;
        let (mut best, mut raw) = self.read(index, &page)?;

        // Orientation by Tesseract's OSD: only for pages the glyph-shape stage could not judge,
        // and only when the reading is poor (a confident reading is upright).
        if self.options.enabled && !page.orientation_known {
            let started = std::time::Instant::now();
            let mut turned_page = None;
            let sideways = sideways_share(&best);
            let reason = if best.mean_confidence >= self.options.orientation_below_confidence
                && !best.words.is_empty()
                && sideways < 0.5
            {
                format!(
                    "read upright with confidence {:.2}: no orientation detection needed",
                    best.mean_confidence
                )
            } else {
                match self.detect_orientation(&page)? {
                    None => "orientation detection found no text to judge".to_owned(),
                    Some((0, conf)) => format!("upright (OSD confidence {conf:.1})"),
                    Some((degrees, conf)) => {
                        let mut turned =
                            PageImage::from_pix(page.page.rotate_orth(0)?, page.declared_dpi)?;
                        turned.rotate_quarters((360 - degrees) / 90)?;
                        turned.quality.orientation_degrees = degrees;
                        preprocess::prepare(&mut turned, &self.options)?;
                        let (again, raw_again) = self.read(index, &turned)?;
                        let before = best.mean_confidence;
                        // As well as before is enough: Tesseract reads sideways lines by
                        // itself, but the page image and the boxes should be upright.
                        if again.mean_confidence >= before - 0.01 && !again.words.is_empty() {
                            best = again;
                            raw = raw_again;
                            turned_page = Some(turned);
                            format!(
                                "turned {}° (OSD: {degrees}°, confidence {conf:.1}); reading confidence {before:.2} → {:.2}",
                                360 - degrees,
                                best.mean_confidence
                            )
                        } else {
                            format!(
                                "OSD suggested {degrees}° (confidence {conf:.1}) but the turned page read worse ({:.2} < {before:.2})",
                                again.mean_confidence
                            )
                        }
                    }
                }
            };
            page.steps.push(PreprocessStep {
                stage: "orientation".into(),
                applied: turned_page.is_some(),
                reason,
                millis: started.elapsed().as_millis() as u64,
            });
            if let Some(mut turned) = turned_page {
                // The record reads: first pass, orientation, the stages again on the turned page.
                let mut steps = std::mem::take(&mut page.steps);
                steps.append(&mut turned.steps);
                turned.steps = steps;
                page = turned;
            }
        }
        best.quality = Some(page.quality.clone());
        best.preprocessing = std::mem::take(&mut page.steps);
        let straightened = if page.geometry_changed && keep_straightened {
            let img = page.page.to_image()?;
            let thumb = img.thumbnail(THUMB_MAX, THUMB_MAX);
            let png = |img: &image::DynamicImage| {
                countersign_capture::decode::encode_png(img)
                    .map_err(|e| OcrError::Image(e.to_string()))
            };
            Some(Straightened {
                png: png(&img)?,
                thumbnail_png: png(&thumb)?,
            })
        } else {
            None
        };
        Ok(PageOutput {
            page: best,
            raw_tsv: raw,
            straightened,
        })
    }

    /// One reading of the prepared page; boxes mapped back to the page image.
    fn read(&mut self, index: u32, page: &PageImage) -> Result<(OcrPage, String), OcrError> {
        self.text.set_image(page.for_engine(), page.engine_dpi());
        let tsv = self.text.tsv(self.options.page_deadline)?;
        let mut ocr = page_from_tsv(index, page.page.width(), page.page.height(), &tsv);
        if page.scale != 1.0 {
            let (w, h) = (page.page.width(), page.page.height());
            for word in &mut ocr.words {
                let [x0, y0, x1, y1] = word.bbox;
                let f = |v: u32, max: u32| ((v as f32 / page.scale).round() as u32).min(max);
                word.bbox = [f(x0, w), f(y0, h), f(x1, w), f(y1, h)];
            }
        }
        Ok((ocr, tsv))
    }

    fn detect_orientation(&mut self, page: &PageImage) -> Result<Option<(u32, f32)>, OcrError> {
        if self.osd.is_none() {
            self.osd = Some(Tess::new("osd")?);
        }
        let osd = self.osd.as_mut().expect("made above");
        osd.set_image(&page.gray, page.engine_dpi());
        Ok(osd.orientation())
    }
}

/// Share of the words of three or more letters whose box is taller than wide: Tesseract reads
/// sideways lines by itself, so a confident reading can still come from a page on its side.
fn sideways_share(page: &OcrPage) -> f64 {
    let long: Vec<&OcrWord> = page
        .words
        .iter()
        .filter(|w| w.text.chars().count() >= 3)
        .collect();
    if long.is_empty() {
        return 0.0;
    }
    let tall = long
        .iter()
        .filter(|w| w.bbox[3] - w.bbox[1] > w.bbox[2] - w.bbox[0])
        .count();
    tall as f64 / long.len() as f64
}

/// Builds the page from Tesseract's TSV: level-5 rows are words with their box and confidence;
/// block/paragraph/line numbers give the reading order and the line breaks of the page text.
pub fn page_from_tsv(index: u32, width: u32, height: u32, tsv: &str) -> OcrPage {
    let mut words = Vec::new();
    let mut text = String::new();
    let mut last: Option<(u32, u32, u32)> = None;
    // Page-unique, 0-based counters for blocks, paragraphs and lines in reading order.
    let (mut block_id, mut par_id, mut line_id) = (0u32, 0u32, 0u32);
    for row in tsv.lines() {
        let cols: Vec<&str> = row.splitn(12, '\t').collect();
        if cols.len() < 12 || cols[0] != "5" {
            continue;
        }
        let num = |i: usize| cols[i].trim().parse::<i64>().unwrap_or(0).max(0) as u32;
        let word = cols[11].trim();
        let conf: f64 = cols[10].trim().parse().unwrap_or(-1.0);
        if word.is_empty() || conf < 0.0 {
            continue;
        }
        let (block, par, line) = (num(2), num(3), num(4));
        let (left, top, w, h) = (num(6), num(7), num(8), num(9));
        match last {
            None => {}
            Some(l) if l == (block, par, line) => text.push(' '),
            Some((b, p, _)) if b == block => {
                text.push('\n');
                line_id += 1;
                if p != par {
                    par_id += 1;
                }
            }
            Some(_) => {
                text.push_str("\n\n");
                block_id += 1;
                par_id += 1;
                line_id += 1;
            }
        }
        text.push_str(word);
        last = Some((block, par, line));
        words.push(OcrWord {
            text: word.to_owned(),
            confidence: (conf / 100.0).clamp(0.0, 1.0),
            bbox: [left, top, left + w, top + h],
            block: block_id,
            paragraph: par_id,
            line: line_id,
        });
    }
    let mean_confidence = if words.is_empty() {
        0.0
    } else {
        words.iter().map(|w| w.confidence).sum::<f64>() / words.len() as f64
    };
    OcrPage {
        index,
        width,
        height,
        text,
        mean_confidence,
        words,
        quality: None,
        preprocessing: Vec::new(),
    }
}

/// One page to recognise.
pub struct PageJob {
    pub index: u32,
    pub image: Vec<u8>,
    pub dpi: Option<u32>,
    /// Return the straightened page image when orientation/deskew changed the page.
    pub keep_straightened: bool,
}

pub type Reply = mpsc::Sender<Result<PageOutput, OcrError>>;

/// A fixed set of worker threads, each with its own engine, fed from one queue.
#[derive(Debug)]
pub struct Pool {
    queue: Mutex<Option<mpsc::Sender<(PageJob, Reply)>>>,
    workers: Mutex<Vec<std::thread::JoinHandle<()>>>,
    pub threads: usize,
}

impl Pool {
    /// `threads` workers (at least one), each starting its engine at once, in its own thread.
    pub fn new(threads: usize) -> Pool {
        let threads = threads.max(1);
        let (queue, jobs) = mpsc::channel::<(PageJob, Reply)>();
        let jobs = Arc::new(Mutex::new(jobs));
        let mut workers = Vec::with_capacity(threads);
        for n in 0..threads {
            let jobs = jobs.clone();
            let worker = std::thread::Builder::new()
                .name(format!("ocr-{n}"))
                .spawn(move || {
                    // Made before the first page arrives: loading the language data (~50 ms)
                    // overlaps with whatever produces the pages (a PDF being opened, decoded).
                    let mut engine = Engine::new();
                    loop {
                        let next = jobs.lock().expect("ocr queue").recv();
                        let Ok((job, reply)) = next else { return };
                        let result = match &mut engine {
                            Ok(e) => {
                                e.recognize(job.index, &job.image, job.dpi, job.keep_straightened)
                            }
                            Err(e) => Err(e.clone()),
                        };
                        let _ = reply.send(result);
                    }
                })
                .expect("spawn an OCR thread");
            workers.push(worker);
        }
        Pool {
            queue: Mutex::new(Some(queue)),
            workers: Mutex::new(workers),
            threads,
        }
    }

    /// Stops the workers once their current page is done and frees their engines (Tesseract
    /// complains about leaked caches when a process exits with engines still alive).
    pub fn shutdown(&self) {
        self.queue.lock().expect("ocr queue").take();
        for worker in self.workers.lock().expect("ocr workers").drain(..) {
            let _ = worker.join();
        }
    }

    /// One worker per core.
    pub fn per_core() -> Pool {
        Pool::new(
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        )
    }

    /// A channel for results of pages [`submit`](Pool::submit)ted one by one.
    pub fn results() -> (Reply, mpsc::Receiver<Result<PageOutput, OcrError>>) {
        mpsc::channel()
    }

    /// Queues one page; its result arrives on `reply` (so reading starts while later pages are
    /// still being rendered). Returns false after a shutdown.
    pub fn submit(&self, page: PageJob, reply: &Reply) -> bool {
        match self.queue.lock().expect("ocr queue").as_ref() {
            Some(queue) => queue.send((page, reply.clone())).is_ok(),
            None => false,
        }
    }

    /// Queues the pages; results arrive on the returned channel as each page finishes (not in
    /// page order).
    pub fn recognize(&self, pages: Vec<PageJob>) -> mpsc::Receiver<Result<PageOutput, OcrError>> {
        let (reply, results) = mpsc::channel();
        if let Some(queue) = self.queue.lock().expect("ocr queue").as_ref() {
            for page in pages {
                let _ = queue.send((page, reply.clone()));
            }
        }
        // After a shutdown nothing is queued and the receiver ends at once (no results).
        results
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_rows_become_words_lines_and_blocks() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
                   1\t1\t0\t0\t0\t0\t0\t0\t100\t100\t-1\t\n\
                   5\t1\t1\t1\t1\t1\t10\t20\t30\t10\t96.5\tInvoice\n\
                   5\t1\t1\t1\t1\t2\t45\t20\t20\t10\t90\tNo.\n\
                   5\t1\t1\t1\t2\t1\t10\t40\t50\t10\t50\tTotal\n\
                   5\t1\t2\t1\t1\t1\t10\t80\t50\t10\t80\tSignature:\n";
        let page = page_from_tsv(0, 100, 100, tsv);
        assert_eq!(page.text, "Invoice No.\nTotal\n\nSignature:");
        assert_eq!(page.words.len(), 4);
        assert_eq!(page.words[0].bbox, [10, 20, 40, 30]);
        let ids: Vec<(u32, u32, u32)> = page
            .words
            .iter()
            .map(|w| (w.block, w.paragraph, w.line))
            .collect();
        assert_eq!(ids, [(0, 0, 0), (0, 0, 0), (0, 0, 1), (1, 1, 2)]);
        assert!((page.words[0].confidence - 0.965).abs() < 1e-9);
        assert!((page.mean_confidence - (0.965 + 0.9 + 0.5 + 0.8) / 4.0).abs() < 1e-9);
    }
}
