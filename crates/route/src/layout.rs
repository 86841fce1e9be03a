//! The OCR pages as rules and extractors see them: words with their boxes, tokens to compare, and
//! a page text whose byte ranges map back to words (so a regex match has a box and a confidence).
//!
//! Pages that carry text but no words (a text layer given as plain text) get synthetic words, one
//! per whitespace-separated token on a monospace grid, so the same layout logic applies; their
//! boxes are not real pixels and fields built from them report an empty bbox.

use crate::normalize;
use countersign_core::OcrPage;
use std::ops::Range;

#[derive(Clone, Debug)]
pub(crate) struct Word {
    pub text: String,
    pub token: String,
    pub confidence: f64,
    pub bbox: [u32; 4],
    pub line: u32,
}

impl Word {
    fn height(&self) -> u32 {
        self.bbox[3].saturating_sub(self.bbox[1]).max(1)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct PageView {
    pub index: u32,
    pub width: u32,
    pub height: u32,
    pub words: Vec<Word>,
    /// Words joined by spaces, lines by `\n`.
    pub text: String,
    /// Byte range of each word in `text`.
    pub spans: Vec<Range<usize>>,
    /// Words were made from plain text: boxes are a grid, not pixels.
    pub synthetic: bool,
}

/// Grid used for synthetic words: a character cell of 10 × 20 "pixels".
const CELL_W: u32 = 10;
const CELL_H: u32 = 20;

impl PageView {
    pub fn new(page: &OcrPage) -> PageView {
        let (words, synthetic) = if page.words.is_empty() && !page.text.trim().is_empty() {
            (synthetic_words(page), true)
        } else {
            let words = page
                .words
                .iter()
                .filter(|w| !w.text.trim().is_empty())
                .map(|w| Word {
                    text: w.text.trim().to_string(),
                    token: normalize::token(&w.text),
                    confidence: w.confidence.clamp(0.0, 1.0),
                    bbox: w.bbox,
                    line: w.line,
                })
                .collect();
            (words, false)
        };
        let mut text = String::new();
        let mut spans = Vec::with_capacity(words.len());
        for (i, w) in words.iter().enumerate() {
            if i > 0 {
                text.push(if words[i - 1].line == w.line {
                    ' '
                } else {
                    '\n'
                });
            }
            let start = text.len();
            text.push_str(&w.text);
            spans.push(start..text.len());
        }
        PageView {
            index: page.index,
            width: page.width,
            height: page.height,
            words,
            text,
            spans,
            synthetic,
        }
    }

    /// Union of the boxes of some words.
    pub fn bbox_of(&self, idx: &[usize]) -> [u32; 4] {
        let mut b = [u32::MAX, u32::MAX, 0, 0];
        for &i in idx {
            let w = &self.words[i].bbox;
            b = [
                b[0].min(w[0]),
                b[1].min(w[1]),
                b[2].max(w[2]),
                b[3].max(w[3]),
            ];
        }
        if idx.is_empty() {
            [0; 4]
        } else {
            b
        }
    }

    /// The lowest confidence among some words: one misread character spoils a value.
    pub fn min_confidence(&self, idx: &[usize]) -> f64 {
        idx.iter()
            .map(|&i| self.words[i].confidence)
            .fold(f64::INFINITY, f64::min)
            .min(1.0)
    }

    pub fn join(&self, idx: &[usize]) -> String {
        idx.iter()
            .map(|&i| self.words[i].text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Words overlapping a byte range of `text`.
    pub fn words_in(&self, range: Range<usize>) -> Vec<usize> {
        self.spans
            .iter()
            .enumerate()
            .filter(|(_, s)| s.start < range.end && range.start < s.end)
            .map(|(i, _)| i)
            .collect()
    }

    fn same_row_box(&self, a: [u32; 4], b: [u32; 4]) -> bool {
        let overlap = a[3].min(b[3]).saturating_sub(a[1].max(b[1]));
        let min_h = (a[3] - a[1].min(a[3])).min(b[3] - b[1].min(b[3])).max(1);
        overlap * 2 >= min_h
    }

    fn same_row(&self, a: usize, b: usize) -> bool {
        let (wa, wb) = (&self.words[a], &self.words[b]);
        wa.line == wb.line || self.same_row_box(wa.bbox, wb.bbox)
    }

    /// Every place a phrase (tokens) is written on one line, as word indices. Words that are only
    /// punctuation (a lone ":") are skipped; with `fuzzy`, long tokens may differ by OCR errors.
    pub fn find_phrase(&self, phrase: &[String], fuzzy: bool) -> Vec<Vec<usize>> {
        let mut found = Vec::new();
        if phrase.is_empty() {
            return found;
        }
        // OCR often loses the space inside a label ("FullName:", "InvoiceNumber"): a word that
        // is exactly the phrase's words run together is the phrase.
        let merged = (phrase.len() >= 2).then(|| phrase.concat());
        for start in 0..self.words.len() {
            if merged.as_deref() == Some(self.words[start].token.as_str()) {
                found.push(vec![start]);
                continue;
            }
            if !token_eq(&self.words[start].token, &phrase[0], fuzzy) {
                continue;
            }
            let mut idx = vec![start];
            let mut next = start + 1;
            let mut k = 1;
            while k < phrase.len() && next < self.words.len() {
                let w = &self.words[next];
                if w.token.is_empty() {
                    next += 1;
                    continue;
                }
                if !self.same_row(start, next) || !token_eq(&w.token, &phrase[k], fuzzy) {
                    break;
                }
                idx.push(next);
                k += 1;
                next += 1;
            }
            if k == phrase.len() {
                found.push(idx);
            }
        }
        found
    }

    fn label_height(&self, label: &[usize]) -> u32 {
        label
            .iter()
            .map(|&i| self.words[i].height())
            .max()
            .unwrap_or(1)
    }

    /// Words to the right of a label on its row, left to right (any distance: forms put values
    /// in a column far from their labels).
    pub fn right_of(&self, label: &[usize]) -> Vec<usize> {
        let lb = self.bbox_of(label);
        let last = *label.last().expect("label has words");
        let h = self.label_height(label);
        let mut out: Vec<usize> = (0..self.words.len())
            .filter(|i| !label.contains(i))
            .filter(|&i| {
                let w = &self.words[i];
                w.bbox[0] + h / 2 >= lb[2]
                    && (w.line == self.words[last].line || self.same_row_box(lb, w.bbox))
            })
            .collect();
        out.sort_by_key(|&i| (self.words[i].bbox[0], i));
        out
    }

    /// The nearest row below a label that overlaps its horizontal extent (within three line
    /// heights), from the first overlapping word rightwards.
    pub fn below(&self, label: &[usize]) -> Vec<usize> {
        let lb = self.bbox_of(label);
        let h = self.label_height(label);
        let overlaps_x = |w: &Word| w.bbox[2] > lb[0] && w.bbox[0] < lb[2];
        let is_below = |w: &Word| {
            w.bbox[1] + h / 4 >= lb[3]
                && w.bbox[1] <= lb[3] + 3 * h
                && !self.same_row_box(lb, w.bbox)
        };
        let Some(nearest) = (0..self.words.len())
            .filter(|i| !label.contains(i))
            .filter(|&i| overlaps_x(&self.words[i]) && is_below(&self.words[i]))
            .min_by_key(|&i| (self.words[i].bbox[1], self.words[i].bbox[0]))
        else {
            return Vec::new();
        };
        let row: Vec<usize> = (0..self.words.len())
            .filter(|&i| self.same_row(nearest, i) && is_below(&self.words[i]))
            .collect();
        let start_x = row
            .iter()
            .filter(|&&i| overlaps_x(&self.words[i]))
            .map(|&i| self.words[i].bbox[0])
            .min()
            .unwrap_or(self.words[nearest].bbox[0]);
        let mut out: Vec<usize> = row
            .into_iter()
            .filter(|&i| self.words[i].bbox[0] >= start_x)
            .collect();
        out.sort_by_key(|&i| (self.words[i].bbox[0], i));
        out
    }

    /// Splits words (sorted left to right on one row) where the gap between neighbours is wider
    /// than two line heights: a new column or cell starts there.
    pub fn runs(&self, words: &[usize]) -> Vec<Vec<usize>> {
        let mut runs: Vec<Vec<usize>> = Vec::new();
        for &i in words {
            let w = &self.words[i];
            match runs.last_mut() {
                Some(run) => {
                    let prev = &self.words[*run.last().expect("runs are non-empty")];
                    let gap = w.bbox[0].saturating_sub(prev.bbox[2]);
                    if gap > 2 * prev.height().max(w.height()) {
                        runs.push(vec![i]);
                    } else {
                        run.push(i);
                    }
                }
                None => runs.push(vec![i]),
            }
        }
        runs
    }

    /// Indices of the words on the same line as word `i`, left to right.
    pub fn line_of(&self, i: usize) -> Vec<usize> {
        let mut out: Vec<usize> = (0..self.words.len())
            .filter(|&j| self.words[j].line == self.words[i].line)
            .collect();
        out.sort_by_key(|&j| (self.words[j].bbox[0], j));
        out
    }
}

/// Token comparison; fuzzy allows OCR slips in words of five letters or more ("Invoce"), but
/// never across a `#` or digits ("invoice#" is not "invoice").
pub(crate) fn token_eq(word: &str, want: &str, fuzzy: bool) -> bool {
    let letters = |s: &str| s.chars().all(char::is_alphabetic);
    word == want
        || (fuzzy
            && want.len() >= 5
            && letters(want)
            && letters(word)
            && strsim::normalized_levenshtein(word, want) >= 0.8)
}

fn synthetic_words(page: &OcrPage) -> Vec<Word> {
    let mut words = Vec::new();
    for (line_no, line) in page.text.lines().enumerate() {
        let mut col = 0usize;
        for piece in line.split(' ') {
            let len = piece.chars().count();
            if !piece.trim().is_empty() {
                let (x0, y0) = (col as u32 * CELL_W, line_no as u32 * CELL_H);
                words.push(Word {
                    text: piece.trim().to_string(),
                    token: normalize::token(piece),
                    confidence: page.mean_confidence.clamp(0.0, 1.0),
                    bbox: [x0, y0, x0 + len as u32 * CELL_W, y0 + CELL_H * 4 / 5],
                    line: line_no as u32,
                });
            }
            col += len + 1;
        }
    }
    words
}

/// All pages of a document.
#[derive(Clone, Debug)]
pub(crate) struct DocView {
    pub pages: Vec<PageView>,
}

impl DocView {
    pub fn new(pages: &[OcrPage]) -> DocView {
        DocView {
            pages: pages.iter().map(PageView::new).collect(),
        }
    }

    pub fn word_count(&self) -> usize {
        self.pages.iter().map(|p| p.words.len()).sum()
    }

    /// Mean word confidence over the document; `None` without words.
    pub fn mean_confidence(&self) -> Option<f64> {
        let n = self.word_count();
        (n > 0).then(|| {
            self.pages
                .iter()
                .flat_map(|p| p.words.iter().map(|w| w.confidence))
                .sum::<f64>()
                / n as f64
        })
    }

    pub fn text(&self) -> String {
        self.pages
            .iter()
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    }

    /// Every non-empty token of the document, in reading order.
    pub fn tokens(&self) -> Vec<&str> {
        self.pages
            .iter()
            .flat_map(|p| p.words.iter())
            .filter(|w| !w.token.is_empty())
            .map(|w| w.token.as_str())
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Hand-built OCR pages: words placed on lines like Tesseract would report them.
    use countersign_core::{OcrPage, OcrWord};

    /// A page builder: `line(y, [(x, "text"), ..])` puts words of height 20 at row `y`,
    /// 12 pixels per character.
    pub struct PageBuilder {
        index: u32,
        words: Vec<OcrWord>,
        line: u32,
        confidence: f64,
    }

    pub fn page(index: u32) -> PageBuilder {
        PageBuilder {
            index,
            words: Vec::new(),
            line: 0,
            confidence: 0.96,
        }
    }

    impl PageBuilder {
        pub fn confidence(mut self, c: f64) -> Self {
            self.confidence = c;
            self
        }

        /// Words of one line; `x` is where the first word starts, following words continue after
        /// one space unless they carry their own `x` (`(x, text)` with x > 0).
        pub fn line(mut self, y: u32, items: &[(u32, &str)]) -> Self {
            let mut x_next = 0;
            for &(x, text) in items {
                for (k, word) in text.split_whitespace().enumerate() {
                    let x0 = if k == 0 && x > 0 { x } else { x_next };
                    let x1 = x0 + 12 * word.chars().count() as u32;
                    self.words.push(OcrWord {
                        text: word.to_string(),
                        confidence: self.confidence,
                        bbox: [x0, y, x1, y + 20],
                        block: 0,
                        paragraph: 0,
                        line: self.line,
                    });
                    x_next = x1 + 8;
                }
            }
            self.line += 1;
            self
        }

        /// Sets the confidence of the last word added.
        pub fn last_confidence(mut self, c: f64) -> Self {
            if let Some(w) = self.words.last_mut() {
                w.confidence = c;
            }
            self
        }

        pub fn build(self) -> OcrPage {
            let mut text = String::new();
            for (i, w) in self.words.iter().enumerate() {
                if i > 0 {
                    text.push(if self.words[i - 1].line == w.line {
                        ' '
                    } else {
                        '\n'
                    });
                }
                text.push_str(&w.text);
            }
            let mean = if self.words.is_empty() {
                0.0
            } else {
                self.words.iter().map(|w| w.confidence).sum::<f64>() / self.words.len() as f64
            };
            OcrPage {
                index: self.index,
                width: 1700,
                height: 2200,
                text,
                mean_confidence: mean,
                words: self.words,
                quality: None,
                preprocessing: Vec::new(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::page;
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        normalize::tokens(s)
    }

    #[test]
    fn phrases_are_found_on_one_line_only() {
        let p = PageView::new(
            &page(0)
                .line(100, &[(100, "Invoice Number: INV-1042")])
                .line(140, &[(100, "Total")])
                .line(180, &[(100, "Due $5.00")])
                .build(),
        );
        assert_eq!(
            p.find_phrase(&toks("invoice number"), false),
            vec![vec![0, 1]]
        );
        assert!(p.find_phrase(&toks("total due"), false).is_empty());
        assert!(p.find_phrase(&toks("invoice total"), true).is_empty());
        assert!(p.find_phrase(&toks("invoce number"), false).is_empty());
        assert_eq!(
            p.find_phrase(&toks("invoce number"), true),
            vec![vec![0, 1]]
        );
    }

    #[test]
    fn a_phrase_run_together_by_ocr_is_found() {
        // Regression: "FullName: Raymond Amy" (OCR lost the space) had no "Full Name" label.
        let p = PageView::new(
            &page(0)
                .line(100, &[(100, "FullName: Raymond Amy")])
                .line(140, &[(100, "Fullname")])
                .line(180, &[(100, "Fuller Name")])
                .build(),
        );
        assert_eq!(
            p.find_phrase(&toks("full name"), false),
            vec![vec![0], vec![3]]
        );
        // Only the whole phrase run together: a word that merely starts with it is not.
        assert!(p.find_phrase(&toks("full"), false).is_empty());
        assert_eq!(p.join(&p.right_of(&[0])), "Raymond Amy");
    }

    #[test]
    fn right_and_below_follow_the_geometry() {
        let p = PageView::new(
            &page(0)
                .line(100, &[(100, "Invoice Number:"), (900, "INV-1042")])
                .line(200, &[(100, "Total Due"), (600, "Notes")])
                .line(230, &[(40, "Qty"), (110, "$1,234.50"), (600, "none")])
                .build(),
        );
        let label = &p.find_phrase(&toks("invoice number"), false)[0];
        assert_eq!(p.join(&p.right_of(label)), "INV-1042");
        let total = &p.find_phrase(&toks("total due"), false)[0];
        assert_eq!(p.join(&p.right_of(total)), "Notes");
        assert_eq!(p.join(&p.below(total)), "$1,234.50 none");
        let below = p.below(total);
        assert_eq!(p.join(&p.runs(&below)[0]), "$1,234.50");
    }

    #[test]
    fn text_without_words_gets_a_grid() {
        let mut ocr = page(0).build();
        ocr.text = "Invoice Number: 42\nTotal Due".into();
        ocr.mean_confidence = 0.9;
        let p = PageView::new(&ocr);
        assert!(p.synthetic);
        let label = &p.find_phrase(&toks("invoice number"), false)[0];
        assert_eq!(p.join(&p.right_of(label)), "42");
        assert_eq!(p.text, "Invoice Number: 42\nTotal Due");
    }

    #[test]
    fn regex_ranges_map_back_to_words() {
        let p = PageView::new(
            &page(0)
                .line(10, &[(10, "between Acme Corp and Beta")])
                .build(),
        );
        let start = p.text.find("Acme").unwrap();
        let idx = p.words_in(start..start + "Acme Corp".len());
        assert_eq!(p.join(&idx), "Acme Corp");
    }
}
