//! hOCR export (the open HTML-based OCR format read by hocr-tools, OCRmyPDF, search indexers):
//! pages → text blocks → paragraphs → lines → words, each with its box, words with confidence.

use countersign_core::{OcrDocument, OcrPage, OcrWord};
use std::fmt::Write;

/// The document as one hOCR file. `image` names the source in each page's title.
pub fn hocr(doc: &OcrDocument, image: &str) -> String {
    let mut out = String::new();
    out.push_str(concat!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
        "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\" ",
        "\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n",
        "<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n<head>\n",
    ));
    let _ = writeln!(out, "  <title>{}</title>", escape(image));
    out.push_str(concat!(
        "  <meta http-equiv=\"Content-Type\" content=\"text/html;charset=utf-8\"/>\n",
        "  <meta name=\"ocr-system\" content=\"countersign (tesseract)\"/>\n",
        "  <meta name=\"ocr-capabilities\" content=\"ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf\"/>\n",
        "</head>\n<body>\n",
    ));
    for page in &doc.pages {
        write_page(&mut out, page, image);
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn write_page(out: &mut String, page: &OcrPage, image: &str) {
    let p = page.index + 1;
    let _ = writeln!(
        out,
        "  <div class=\"ocr_page\" id=\"page_{p}\" title=\"image &quot;{}&quot;; bbox 0 0 {} {}; ppageno {}\">",
        escape(image),
        page.width,
        page.height,
        page.index
    );
    // Words are in reading order; a change of block, paragraph or line id opens a new element.
    let mut i = 0;
    let words = &page.words;
    while i < words.len() {
        let block = take_while(&words[i..], |w| w.block == words[i].block);
        let _ = writeln!(
            out,
            "   <div class=\"ocr_carea\" id=\"block_{p}_{}\" title=\"bbox {}\">",
            words[i].block + 1,
            bbox(block)
        );
        let mut j = 0;
        while j < block.len() {
            let par = take_while(&block[j..], |w| w.paragraph == block[j].paragraph);
            let _ = writeln!(
                out,
                "    <p class=\"ocr_par\" id=\"par_{p}_{}\" title=\"bbox {}\">",
                par[0].paragraph + 1,
                bbox(par)
            );
            let mut k = 0;
            while k < par.len() {
                let line = take_while(&par[k..], |w| w.line == par[k].line);
                let _ = write!(
                    out,
                    "     <span class=\"ocr_line\" id=\"line_{p}_{}\" title=\"bbox {}\">",
                    line[0].line + 1,
                    bbox(line)
                );
                for (n, w) in line.iter().enumerate() {
                    if n > 0 {
                        out.push(' ');
                    }
                    let [x0, y0, x1, y1] = w.bbox;
                    let _ = write!(
                        out,
                        "<span class=\"ocrx_word\" id=\"word_{p}_{}\" title=\"bbox {x0} {y0} {x1} {y1}; x_wconf {}\">{}</span>",
                        i + j + k + n + 1,
                        (w.confidence * 100.0).round() as u32,
                        escape(&w.text)
                    );
                }
                out.push_str("</span>\n");
                k += line.len();
            }
            out.push_str("    </p>\n");
            j += par.len();
        }
        out.push_str("   </div>\n");
        i += block.len();
    }
    out.push_str("  </div>\n");
}

fn take_while(words: &[OcrWord], same: impl Fn(&OcrWord) -> bool) -> &[OcrWord] {
    let n = words.iter().take_while(|w| same(w)).count().max(1);
    &words[..n]
}

fn bbox(words: &[OcrWord]) -> String {
    let x0 = words.iter().map(|w| w.bbox[0]).min().unwrap_or(0);
    let y0 = words.iter().map(|w| w.bbox[1]).min().unwrap_or(0);
    let x1 = words.iter().map(|w| w.bbox[2]).max().unwrap_or(0);
    let y1 = words.iter().map(|w| w.bbox[3]).max().unwrap_or(0);
    format!("{x0} {y0} {x1} {y1}")
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, bbox: [u32; 4], block: u32, paragraph: u32, line: u32) -> OcrWord {
        OcrWord {
            text: text.into(),
            confidence: 0.9,
            bbox,
            block,
            paragraph,
            line,
        }
    }

    #[test]
    fn blocks_paragraphs_lines_and_words_nest_with_boxes_and_confidence() {
        let page = OcrPage {
            index: 0,
            width: 1000,
            height: 800,
            text: String::new(),
            mean_confidence: 0.9,
            words: vec![
                word("Invoice", [10, 10, 90, 30], 0, 0, 0),
                word("<No.>", [100, 10, 140, 30], 0, 0, 0),
                word("Total", [10, 40, 60, 60], 0, 0, 1),
                word("R&D", [10, 400, 60, 420], 1, 1, 2),
            ],
            quality: None,
            preprocessing: Vec::new(),
        };
        let doc = OcrDocument { pages: vec![page] };
        let html = hocr(&doc, "scan \"1\".pdf");
        assert_eq!(html.matches("class=\"ocr_page\"").count(), 1);
        assert_eq!(html.matches("class=\"ocr_carea\"").count(), 2);
        assert_eq!(html.matches("class=\"ocr_par\"").count(), 2);
        assert_eq!(html.matches("class=\"ocr_line\"").count(), 3);
        assert_eq!(html.matches("class=\"ocrx_word\"").count(), 4);
        assert!(
            html.contains("title=\"bbox 10 10 140 60\""),
            "block box is the union"
        );
        assert!(html.contains("title=\"bbox 10 10 90 30; x_wconf 90\">Invoice</span>"));
        assert!(html.contains(">&lt;No.&gt;</span>") && html.contains(">R&amp;D</span>"));
        assert!(html.contains("image &quot;scan &quot;1&quot;.pdf&quot;; bbox 0 0 1000 800"));
        // Balanced elements (well-formed enough for any XML reader).
        assert_eq!(html.matches("<div").count(), html.matches("</div>").count());
        assert_eq!(
            html.matches("<span").count(),
            html.matches("</span>").count()
        );
        assert_eq!(html.matches("<p ").count(), html.matches("</p>").count());
    }
}
