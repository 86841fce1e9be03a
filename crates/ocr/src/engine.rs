//! Tesseract through leptess. An [`Engine`] owns one Tesseract instance (created once, reused for
//! every page it is given); the [`Pool`] runs one engine per worker thread, so pages of one
//! document and of several documents are recognised in parallel with no global lock.

use countersign_core::{OcrPage, OcrWord};
use leptess::LepTess;
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

pub struct Engine {
    tess: LepTess,
}

impl Engine {
    /// Tesseract with English; tessdata from `TESSDATA_PREFIX` or the system's default.
    pub fn new() -> Result<Engine, OcrError> {
        let tess = LepTess::new(None, LANGUAGE).map_err(|e| OcrError::Init(e.to_string()))?;
        Ok(Engine { tess })
    }

    /// Recognises one page image (PNG, or any format Leptonica reads).
    pub fn recognize(
        &mut self,
        index: u32,
        image: &[u8],
        dpi: Option<u32>,
    ) -> Result<OcrPage, OcrError> {
        self.tess
            .set_image_from_mem(image)
            .map_err(|e| OcrError::Image(e.to_string()))?;
        let (width, height) = self.tess.get_image_dimensions().unwrap_or((0, 0));
        match dpi {
            Some(d) => self.tess.set_source_resolution(d as i32),
            None => self.tess.set_fallback_source_resolution(300),
        }
        let tsv = self
            .tess
            .get_tsv_text(0)
            .map_err(|e| OcrError::Output(e.to_string()))?;
        Ok(page_from_tsv(index, width, height, &tsv))
    }
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
}

type Reply = mpsc::Sender<Result<OcrPage, OcrError>>;

/// A fixed set of worker threads, each with its own engine, fed from one queue.
#[derive(Debug)]
pub struct Pool {
    queue: Mutex<Option<mpsc::Sender<(PageJob, Reply)>>>,
    workers: Mutex<Vec<std::thread::JoinHandle<()>>>,
    pub threads: usize,
}

impl Pool {
    /// `threads` workers (at least one); engines start lazily in their thread, once.
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
                    let mut engine: Option<Result<Engine, OcrError>> = None;
                    loop {
                        let next = jobs.lock().expect("ocr queue").recv();
                        let Ok((job, reply)) = next else { return };
                        let engine = engine.get_or_insert_with(Engine::new);
                        let result = match engine {
                            Ok(e) => e.recognize(job.index, &job.image, job.dpi),
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

    /// Queues the pages; results arrive on the returned channel as each page finishes (not in
    /// page order).
    pub fn recognize(&self, pages: Vec<PageJob>) -> mpsc::Receiver<Result<OcrPage, OcrError>> {
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
