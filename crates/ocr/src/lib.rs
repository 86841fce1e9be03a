//! OCR: page images in, words with boxes and confidences out, and the searchable PDF.
//!
//! - [`engine`]: Tesseract through leptess, one engine per worker thread, created once and reused.
//! - [`pdf`]: the searchable PDF — each page image with an invisible text layer on the words.
//! - [`omp`]: Tesseract's OpenMP threads must be limited before the process starts.

pub mod engine;
pub mod eval;
pub mod hocr;
pub mod lept;
pub mod omp;
pub mod pdf;
pub mod preprocess;
pub mod synth;
pub mod typeset;
