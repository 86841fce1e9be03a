//! The searchable PDF, checked with poppler-utils the way a viewer or a signing service reads it:
//! `pdftotext` finds the words in order with spaces, `pdftotext -bbox` finds them where they are
//! on the page image, `pdfinfo` reports the page size the resolution gives, `pdfimages` sees the
//! page image unchanged in kind, and `pdftoppm` renders the page as the image alone (the text
//! layer is invisible).

use countersign_core::{OcrPage, OcrWord};
use countersign_ocr::pdf::{searchable_pdf, PdfError, PdfPageInput};
use image::{DynamicImage, GrayImage, Luma, Rgb, RgbImage};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

fn word(text: &str, bbox: [u32; 4]) -> OcrWord {
    OcrWord {
        text: text.into(),
        confidence: 0.9,
        bbox,
        block: 0,
        paragraph: 0,
        line: 0,
    }
}

fn page(index: u32, width: u32, height: u32, words: Vec<OcrWord>) -> OcrPage {
    let text = words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    OcrPage {
        index,
        width,
        height,
        text,
        mean_confidence: 0.9,
        words,
        quality: None,
        preprocessing: Vec::new(),
    }
}

fn png(image: &DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// A letter page at 150 dpi (1275 × 1650), grey: white paper with some "ink" (a frame and a few
/// bars) away from the words, so the rendered page shows both where the image is placed and
/// whether any text became visible (the word areas are white).
fn letter_page_image() -> DynamicImage {
    let mut img = GrayImage::from_pixel(1275, 1650, Luma([255]));
    for y in 0..1650 {
        for x in 0..1275 {
            let frame = !(60..1215).contains(&x) || !(60..1590).contains(&y);
            let bar = (500..520).contains(&y) && (150..1100).contains(&x);
            let block = (1400..1500).contains(&y) && (700..1000).contains(&x);
            if frame {
                img.put_pixel(x, y, Luma([40]));
            } else if bar || block {
                img.put_pixel(x, y, Luma([(x % 200) as u8 + 20]));
            }
        }
    }
    DynamicImage::ImageLuma8(img)
}

const SIGNATURE_BOX: [u32; 4] = [150, 1200, 420, 1245];

fn letter_page_ocr() -> OcrPage {
    page(
        0,
        1275,
        1650,
        vec![
            word("Agreement", [150, 300, 420, 340]),
            word("No.", [440, 300, 520, 340]),
            word("2024-117", [540, 300, 760, 340]),
            word("Signature:", SIGNATURE_BOX),
            word("Jane", [445, 1202, 560, 1242]),
            word("Doe", [580, 1203, 680, 1242]),
        ],
    )
}

/// A small landscape RGB page at 200 dpi (1000 × 700 px = 360 × 252 pt, no standard size).
fn rgb_page_image() -> DynamicImage {
    let mut img = RgbImage::from_pixel(1000, 700, Rgb([250, 248, 240]));
    for y in 400..650 {
        for x in 100..900 {
            img.put_pixel(x, y, Rgb([(x / 4) as u8, 90, (y / 3) as u8]));
        }
    }
    DynamicImage::ImageRgb8(img)
}

fn rgb_page_ocr() -> OcrPage {
    page(
        1,
        1000,
        700,
        vec![
            word("Initials:", [100, 100, 300, 160]),
            word("JD", [330, 100, 400, 160]),
        ],
    )
}

fn write_pdf(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} cannot run ({e}); poppler-utils is needed"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn pdftotext(pdf: &Path, extra: &[&str]) -> String {
    let mut args: Vec<&str> = extra.to_vec();
    args.push(pdf.to_str().unwrap());
    args.push("-");
    run("pdftotext", &args)
}

/// `<word xMin=".." yMin=".." xMax=".." yMax="..">text</word>` rows of `pdftotext -bbox`, per page.
#[derive(Debug, Clone)]
struct BoxWord {
    text: String,
    x_min: f64,
    y_min: f64,
    x_max: f64,
    y_max: f64,
}

fn bbox_words(pdf: &Path, page: u32) -> Vec<BoxWord> {
    let p = page.to_string();
    let xhtml = pdftotext(pdf, &["-bbox", "-f", &p, "-l", &p]);
    let attr = |line: &str, name: &str| -> f64 {
        let start = line.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        let rest = &line[start..];
        rest[..rest.find('"').unwrap()].parse().unwrap()
    };
    xhtml
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("<word "))
        .map(|l| {
            let text = &l[l.find('>').unwrap() + 1..l.rfind("</word>").unwrap()];
            BoxWord {
                text: text
                    .replace("&amp;", "&")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">"),
                x_min: attr(l, "xMin"),
                y_min: attr(l, "yMin"),
                x_max: attr(l, "xMax"),
                y_max: attr(l, "yMax"),
            }
        })
        .collect()
}

/// Page sizes in points as `pdfinfo` reports them, and the page count.
fn pdfinfo_pages(pdf: &Path) -> (u32, Vec<(f64, f64)>) {
    let info = run("pdfinfo", &["-f", "1", "-l", "100", pdf.to_str().unwrap()]);
    let count = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .map(|v| v.trim().parse().unwrap())
        .expect("pdfinfo Pages");
    let sizes = info
        .lines()
        .filter(|l| l.starts_with("Page ") && l.contains(" size: "))
        .map(|l| {
            let dims = l.split(" size: ").nth(1).unwrap();
            let mut it = dims.split_whitespace();
            let w: f64 = it.next().unwrap().parse().unwrap();
            assert_eq!(it.next(), Some("x"));
            let h: f64 = it.next().unwrap().parse().unwrap();
            (w, h)
        })
        .collect();
    (count, sizes)
}

/// Renders one page with pdftoppm at `dpi` and returns it.
fn render(pdf: &Path, page: u32, dpi: u32, gray: bool) -> DynamicImage {
    let dir = pdf.parent().unwrap();
    let prefix = dir.join(format!("render-{page}-{dpi}"));
    let p = page.to_string();
    let r = dpi.to_string();
    let mut args = vec!["-r", &r, "-f", &p, "-l", &p, "-png", "-singlefile"];
    if gray {
        args.push("-gray");
    }
    args.push(pdf.to_str().unwrap());
    args.push(prefix.to_str().unwrap());
    run("pdftoppm", &args);
    image::open(prefix.with_extension("png")).unwrap()
}

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x as i32 - *y as i32).unsigned_abs() as u64)
        .sum::<u64>() as f64
        / a.len() as f64
}

fn px_to_pt(px: u32, dpi: f32) -> f64 {
    px as f64 * 72.0 / dpi as f64
}

fn letter_pdf(dir: &Path) -> PathBuf {
    let image = png(&letter_page_image());
    let ocr = letter_page_ocr();
    let bytes = searchable_pdf(&[PdfPageInput {
        image_png: &image,
        dpi: 150.0,
        ocr: &ocr,
    }])
    .unwrap();
    write_pdf(dir, "letter.pdf", &bytes)
}

#[test]
fn pdftotext_reads_the_words_in_order_separated_by_spaces() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = letter_pdf(dir.path());

    let plain = pdftotext(&pdf, &[]);
    let lines: Vec<&str> = plain
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        lines,
        ["Agreement No. 2024-117", "Signature: Jane Doe"],
        "pdftotext:\n{plain}"
    );

    let layout = pdftotext(&pdf, &["-layout"]);
    let lines: Vec<Vec<&str>> = layout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|w| !w.is_empty())
        .collect();
    assert_eq!(
        lines,
        [
            vec!["Agreement", "No.", "2024-117"],
            vec!["Signature:", "Jane", "Doe"]
        ],
        "pdftotext -layout:\n{layout}"
    );
    // Words of a line are on one text line, the first line above the second.
    let first = layout
        .lines()
        .position(|l| l.contains("Agreement"))
        .unwrap();
    let second = layout
        .lines()
        .position(|l| l.contains("Signature:"))
        .unwrap();
    assert!(second > first + 1, "pdftotext -layout:\n{layout}");
    assert!(
        layout.contains("Signature: Jane Doe") || layout.contains("Signature:  Jane"),
        "{layout}"
    );
}

#[test]
fn signature_anchor_is_found_where_it_is_on_the_page_image() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = letter_pdf(dir.path());
    let words = bbox_words(&pdf, 1);
    let texts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
    assert_eq!(
        texts,
        ["Agreement", "No.", "2024-117", "Signature:", "Jane", "Doe"]
    );

    // Every word where its OCR box is (pdftotext measures y from the top of the page, in points).
    for (found, expected) in words.iter().zip(letter_page_ocr().words) {
        let [x0, y0, x1, y1] = expected.bbox.map(|v| px_to_pt(v, 150.0));
        let tol = 3.0;
        assert!((found.x_min - x0).abs() < tol, "{found:?} vs x0 {x0}");
        assert!((found.y_min - y0).abs() < tol, "{found:?} vs y0 {y0}");
        assert!((found.y_max - y1).abs() < tol, "{found:?} vs y1 {y1}");
        let (w_found, w_expected) = (found.x_max - found.x_min, x1 - x0);
        assert!(
            (w_found - w_expected).abs() <= 0.15 * w_expected,
            "{found:?}: width {w_found} vs {w_expected}"
        );
    }
    let sig = words.iter().find(|w| w.text == "Signature:").unwrap();
    let [x0, y0, x1, _] = SIGNATURE_BOX.map(|v| px_to_pt(v, 150.0));
    assert!(
        (sig.x_min - x0).abs() < 3.0 && (sig.y_min - y0).abs() < 3.0,
        "{sig:?}"
    );
    assert!(
        ((sig.x_max - sig.x_min) - (x1 - x0)).abs() <= 0.15 * (x1 - x0),
        "{sig:?}"
    );
}

#[test]
fn page_size_in_points_follows_the_resolution_and_every_input_is_a_page() {
    let dir = tempfile::tempdir().unwrap();
    let (letter, letter_ocr) = (png(&letter_page_image()), letter_page_ocr());
    let (small, small_ocr) = (png(&rgb_page_image()), rgb_page_ocr());
    let bytes = searchable_pdf(&[
        PdfPageInput {
            image_png: &letter,
            dpi: 150.0,
            ocr: &letter_ocr,
        },
        PdfPageInput {
            image_png: &small,
            dpi: 200.0,
            ocr: &small_ocr,
        },
    ])
    .unwrap();
    let pdf = write_pdf(dir.path(), "two.pdf", &bytes);

    let (count, sizes) = pdfinfo_pages(&pdf);
    assert_eq!(count, 2);
    let expected = [
        (px_to_pt(1275, 150.0), px_to_pt(1650, 150.0)),
        (px_to_pt(1000, 200.0), px_to_pt(700, 200.0)),
    ];
    assert_eq!(expected, [(612.0, 792.0), (360.0, 252.0)]);
    for ((w, h), (ew, eh)) in sizes.iter().zip(expected) {
        assert!(
            (w - ew).abs() < 0.01 && (h - eh).abs() < 0.01,
            "pdfinfo size {w} x {h}, expected {ew} x {eh}"
        );
    }
    assert_eq!(sizes.len(), 2);

    // Each page carries its own words, placed at its own resolution.
    let second = bbox_words(&pdf, 2);
    assert_eq!(
        second.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(),
        ["Initials:", "JD"]
    );
    assert!(
        (second[0].x_min - px_to_pt(100, 200.0)).abs() < 3.0,
        "{second:?}"
    );
    assert!(
        (second[0].y_min - px_to_pt(100, 200.0)).abs() < 3.0,
        "{second:?}"
    );
    assert_eq!(
        pdftotext(&pdf, &["-f", "2", "-l", "2"]).trim(),
        "Initials: JD"
    );
    assert!(!pdftotext(&pdf, &["-f", "1", "-l", "1"]).contains("Initials"));

    // The page images keep their kind: grey stays one 8-bit grey channel, RGB stays RGB, at
    // their own pixel size and resolution.
    let list = run("pdfimages", &["-list", pdf.to_str().unwrap()]);
    let rows: Vec<Vec<&str>> = list
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 2, "{list}");
    // page num type width height color comp bpc enc interp object ID x-ppi y-ppi ...
    // PDFium writes an 8-bit grey bitmap as Indexed over a grey ramp: still one byte a pixel.
    assert_eq!(&rows[0][..5], ["1", "0", "image", "1275", "1650"], "{list}");
    assert!(matches!(rows[0][5], "gray" | "index"), "{list}");
    assert_eq!(&rows[0][6..8], ["1", "8"], "{list}");
    assert_eq!(
        &rows[1][..8],
        ["2", "1", "image", "1000", "700", "rgb", "3", "8"],
        "{list}"
    );
    assert_eq!((rows[0][12], rows[0][13]), ("150", "150"), "{list}");
    assert_eq!((rows[1][12], rows[1][13]), ("200", "200"), "{list}");
}

#[test]
fn the_text_layer_is_invisible_the_rendered_page_is_the_page_image() {
    let dir = tempfile::tempdir().unwrap();
    let (letter_img, small_img) = (letter_page_image(), rgb_page_image());
    let (letter, letter_ocr) = (png(&letter_img), letter_page_ocr());
    let (small, small_ocr) = (png(&small_img), rgb_page_ocr());
    let bytes = searchable_pdf(&[
        PdfPageInput {
            image_png: &letter,
            dpi: 150.0,
            ocr: &letter_ocr,
        },
        PdfPageInput {
            image_png: &small,
            dpi: 200.0,
            ocr: &small_ocr,
        },
    ])
    .unwrap();
    let pdf = write_pdf(dir.path(), "render.pdf", &bytes);

    let grey = render(&pdf, 1, 150, true).to_luma8();
    assert_eq!(grey.dimensions(), (1275, 1650));
    let diff = mean_abs_diff(grey.as_raw(), letter_img.to_luma8().as_raw());
    assert!(
        diff < 2.0,
        "page 1 differs from its image by {diff} on average"
    );
    // Where the words are, the paper is white in the image and must stay white.
    for w in &letter_ocr.words {
        let [x0, y0, x1, y1] = w.bbox;
        let darkest = (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .map(|(x, y)| grey.get_pixel(x, y).0[0])
            .min();
        assert!(
            darkest.unwrap() > 230,
            "something visible where {:?} is: {darkest:?}",
            w.text
        );
    }

    let colour = render(&pdf, 2, 200, false).to_rgb8();
    assert_eq!(colour.dimensions(), (1000, 700));
    let diff = mean_abs_diff(colour.as_raw(), small_img.to_rgb8().as_raw());
    assert!(
        diff < 2.0,
        "page 2 differs from its image by {diff} on average"
    );
}

#[test]
fn a_page_without_words_is_the_image_alone() {
    let dir = tempfile::tempdir().unwrap();
    let image = png(&letter_page_image());
    let ocr = page(0, 1275, 1650, vec![]);
    let bytes = searchable_pdf(&[PdfPageInput {
        image_png: &image,
        dpi: 150.0,
        ocr: &ocr,
    }])
    .unwrap();
    let pdf = write_pdf(dir.path(), "blank.pdf", &bytes);
    assert_eq!(pdftotext(&pdf, &[]).trim(), "");
    assert_eq!(pdfinfo_pages(&pdf).0, 1);
}

#[test]
fn bad_input_is_refused_with_a_reason() {
    let ocr = letter_page_ocr();
    assert!(matches!(searchable_pdf(&[]), Err(PdfError::NoPages)));
    let not_an_image = b"not an image";
    let err = searchable_pdf(&[PdfPageInput {
        image_png: not_an_image,
        dpi: 150.0,
        ocr: &ocr,
    }])
    .unwrap_err();
    assert!(matches!(err, PdfError::Image { page: 0, .. }), "{err:?}");
    let image = png(&letter_page_image());
    for dpi in [0.0, -72.0, f32::NAN] {
        let err = searchable_pdf(&[
            PdfPageInput {
                image_png: &image,
                dpi: 150.0,
                ocr: &ocr,
            },
            PdfPageInput {
                image_png: &image,
                dpi,
                ocr: &ocr,
            },
        ])
        .unwrap_err();
        assert!(
            matches!(err, PdfError::InvalidPage { page: 1, .. }),
            "{err:?}"
        );
    }
}

/// One page of the letter image with the given words, as a PDF in `dir`.
fn letter_pdf_with(dir: &Path, name: &str, ocr: &OcrPage) -> PathBuf {
    let image = png(&letter_page_image());
    let bytes = searchable_pdf(&[PdfPageInput {
        image_png: &image,
        dpi: 150.0,
        ocr,
    }])
    .unwrap();
    write_pdf(dir, name, &bytes)
}

/// Tesseract boxes a dash by its ink: a few pixels high. Written at its own height it became a
/// one-point font on a twelve-point line, and pdftotext broke the line around it.
#[test]
fn a_dash_in_a_line_keeps_the_line_together() {
    let dir = tempfile::tempdir().unwrap();
    let ocr = page(
        0,
        1275,
        1650,
        vec![
            word("Total:", [150, 237, 203, 254]),
            word("€1,250.00", [210, 237, 301, 257]),
            word("—", [309, 247, 326, 249]),
            word("payable", [337, 237, 408, 259]),
            word("within", [414, 237, 472, 254]),
            word("30", [479, 237, 500, 254]),
            word("days.", [507, 237, 555, 259]),
            word("Next", [150, 299, 198, 316]),
            word("line.", [205, 299, 250, 316]),
        ],
    );
    let pdf = letter_pdf_with(dir.path(), "dash.pdf", &ocr);
    let plain = pdftotext(&pdf, &[]);
    let lines: Vec<&str> = plain
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        lines,
        ["Total: €1,250.00 — payable within 30 days.", "Next line."],
        "pdftotext:\n{plain}"
    );
    // The dash is still found across its own width.
    let dash = bbox_words(&pdf, 1)
        .into_iter()
        .find(|w| w.text == "—")
        .unwrap();
    assert!((dash.x_min - px_to_pt(309, 150.0)).abs() < 1.0, "{dash:?}");
    assert!((dash.x_max - px_to_pt(326, 150.0)).abs() < 1.0, "{dash:?}");
}

/// On a skewed scan the words of one line drift down the page; each keeps its own place.
#[test]
fn words_of_a_skewed_line_keep_their_own_boxes() {
    let dir = tempfile::tempdir().unwrap();
    let words: Vec<OcrWord> = ["Please", "sign", "on", "the", "line", "below"]
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let (x, y) = (150 + 150 * i as u32, 600 + 10 * i as u32);
            word(t, [x, y, x + 120, y + 40])
        })
        .collect();
    let ocr = page(0, 1275, 1650, words.clone());
    let pdf = letter_pdf_with(dir.path(), "skew.pdf", &ocr);
    let found = bbox_words(&pdf, 1);
    assert_eq!(found.len(), words.len());
    for (f, w) in found.iter().zip(&words) {
        assert_eq!(f.text, w.text);
        let [x0, y0, x1, y1] = w.bbox.map(|v| px_to_pt(v, 150.0));
        assert!(
            (f.x_min - x0).abs() < 1.0 && (f.x_max - x1).abs() < 1.0,
            "{f:?}"
        );
        assert!(
            (f.y_min - y0).abs() < 1.0 && (f.y_max - y1).abs() < 1.0,
            "{f:?}"
        );
    }
    let text: Vec<String> = pdftotext(&pdf, &[])
        .split_whitespace()
        .map(String::from)
        .collect();
    assert_eq!(text, ["Please", "sign", "on", "the", "line", "below"]);
}

/// The standard font encodes WinAnsi only: ligatures Tesseract may return are written as their
/// letters and other Latin letters as their base letter, so the words can still be searched.
#[test]
fn ligatures_and_letters_outside_win_ansi_stay_searchable() {
    let dir = tempfile::tempdir().unwrap();
    let ocr = page(
        0,
        1275,
        1650,
        vec![
            word("Müller", [150, 300, 300, 340]),
            word("ﬁnal", [320, 300, 420, 340]),
            word("Łódź", [440, 300, 540, 340]),
            word("“ok”", [560, 300, 640, 340]),
        ],
    );
    let pdf = letter_pdf_with(dir.path(), "charset.pdf", &ocr);
    assert_eq!(pdftotext(&pdf, &[]).trim(), "Müller final Lódz “ok”");
    for (f, w) in bbox_words(&pdf, 1).iter().zip(&ocr.words) {
        let [x0, _, x1, _] = w.bbox.map(|v| px_to_pt(v, 150.0));
        assert!(
            (f.x_min - x0).abs() < 1.0 && (f.x_max - x1).abs() < 1.0,
            "{f:?}"
        );
    }
}

/// Boxes are in pixels of the image the OCR read; an OCR made on the page at twice the
/// resolution still lands on the words of this image.
#[test]
fn boxes_of_an_ocr_of_another_size_are_scaled_to_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let double = |b: [u32; 4]| b.map(|v| 2 * v);
    let ocr = page(
        0,
        2550,
        3300,
        vec![word("Signature:", double(SIGNATURE_BOX))],
    );
    let pdf = letter_pdf_with(dir.path(), "scaled.pdf", &ocr);
    let sig = &bbox_words(&pdf, 1)[0];
    let [x0, y0, x1, y1] = SIGNATURE_BOX.map(|v| px_to_pt(v, 150.0));
    assert_eq!(sig.text, "Signature:");
    assert!(
        (sig.x_min - x0).abs() < 1.0 && (sig.x_max - x1).abs() < 1.0,
        "{sig:?}"
    );
    assert!(
        (sig.y_min - y0).abs() < 1.0 && (sig.y_max - y1).abs() < 1.0,
        "{sig:?}"
    );
}
