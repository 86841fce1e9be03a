//! A scanned page's only text is the OCR's invisible layer: the anchor is found there and the
//! stamp lands beside it. Checked the way any PDF reader sees it, with poppler's `pdftotext`.

use crate::support::*;
use countersign_core::{OcrPage, OcrWord};
use countersign_ocr::pdf::{searchable_pdf, PdfPageInput};
use countersign_sandbox::Config;
use countersign_sign::{Anchor, Position, Provider};
use image::{DynamicImage, GrayImage, Luma};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::Command;

const DPI: f32 = 150.0;
/// "Signature:" on page 2, in pixels at 150 dpi: (72, 576)–(201.6, 597.6) in points.
const ANCHOR_PX: [u32; 4] = [150, 1200, 420, 1245];

fn word(text: &str, bbox: [u32; 4], line: u32) -> OcrWord {
    OcrWord {
        text: text.into(),
        confidence: 0.93,
        bbox,
        block: 0,
        paragraph: 0,
        line,
    }
}

fn ocr_page(index: u32, words: Vec<OcrWord>) -> OcrPage {
    let text = words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    OcrPage {
        index,
        width: 1275,
        height: 1650,
        text,
        mean_confidence: 0.93,
        words,
        quality: None,
        preprocessing: Vec::new(),
    }
}

/// A letter page at 150 dpi as a scanner gives it: paper, a frame, a printed line to sign on.
fn page_png(signature_line: bool) -> Vec<u8> {
    let mut img = GrayImage::from_pixel(1275, 1650, Luma([250]));
    for y in 0..1650 {
        for x in 0..1275 {
            let frame = !(40..1235).contains(&x) || !(40..1610).contains(&y);
            let line = signature_line && (1246..1249).contains(&y) && (430..900).contains(&x);
            if frame || line {
                img.put_pixel(x, y, Luma([30]));
            }
        }
    }
    let mut out = Vec::new();
    DynamicImage::ImageLuma8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// Two scanned pages made searchable by Countersign's own writer; "Signature:" only on page 2.
fn scanned_pdf() -> Vec<u8> {
    let p1 = ocr_page(
        0,
        vec![
            word("Agreement", [150, 300, 420, 340], 0),
            word("No.", [440, 300, 520, 340], 0),
            word("2024-117", [540, 300, 760, 340], 0),
        ],
    );
    let p2 = ocr_page(
        1,
        vec![
            word("Executed", [150, 300, 400, 340], 0),
            word("Signature:", ANCHOR_PX, 1),
        ],
    );
    let (png1, png2) = (page_png(false), page_png(true));
    searchable_pdf(&[
        PdfPageInput {
            image_png: &png1,
            dpi: DPI,
            ocr: &p1,
        },
        PdfPageInput {
            image_png: &png2,
            dpi: DPI,
            ocr: &p2,
        },
    ])
    .expect("the searchable PDF is written")
}

#[derive(Debug)]
struct BoxWord {
    text: String,
    x_min: f64,
    y_min: f64,
    x_max: f64,
    y_max: f64,
}

impl BoxWord {
    fn y_mid(&self) -> f64 {
        (self.y_min + self.y_max) / 2.0
    }
}

fn pdftotext(pdf: &Path, args: &[&str]) -> String {
    let out = Command::new("pdftotext")
        .args(args)
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext runs (poppler-utils)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The words of one page (1-based) with their boxes, in points from the top-left corner.
fn words_on(pdf: &Path, page: u32) -> Vec<BoxWord> {
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
        .map(|l| BoxWord {
            text: l[l.find('>').unwrap() + 1..l.rfind("</word>").unwrap()].to_owned(),
            x_min: attr(l, "xMin"),
            y_min: attr(l, "yMin"),
            x_max: attr(l, "xMax"),
            y_max: attr(l, "yMax"),
        })
        .collect()
}

fn find<'a>(words: &'a [BoxWord], text: &str) -> Vec<&'a BoxWord> {
    words.iter().filter(|w| w.text == text).collect()
}

/// The word after `w` on the page, in reading order.
fn next_word<'a>(words: &'a [BoxWord], w: &BoxWord) -> &'a str {
    let i = words.iter().position(|x| std::ptr::eq(x, w)).unwrap();
    &words[i + 1].text
}

#[tokio::test]
async fn stamps_land_at_the_ocr_anchor_and_at_the_fallback_on_the_right_pages() {
    let s = sandbox(Config::default()).await;
    let a = adapter(&s);
    let original = scanned_pdf();
    let mut req = request(original.clone(), "scanned-nda");
    // Jane: beside "Signature:", 140 pt right of the anchor's left edge (past its end at ~130 pt).
    req.signers[0].anchors = vec![Anchor {
        anchor_text: "Signature:".into(),
        x_offset: 140.0,
        y_offset: 0.0,
        on_document: true,
        fallback: Position {
            page_number: 2,
            x: 72.0,
            y: 700.0,
        },
    }];
    // Lee: the OCR found no anchor for him, so a fixed place on page 1.
    req.signers[1].anchors = vec![Anchor {
        anchor_text: "Approved:".into(),
        x_offset: 0.0,
        y_offset: 0.0,
        on_document: false,
        fallback: Position {
            page_number: 1,
            x: 300.0,
            y: 650.0,
        },
    }];
    let id = a.create_envelope(&req).await.unwrap();
    assert_eq!(
        sign_on_page(&s, id.as_str(), "2").await,
        409,
        "Lee waits for Jane"
    );
    assert_eq!(sign_on_page(&s, id.as_str(), "1").await, 303);
    assert_eq!(sign_on_page(&s, id.as_str(), "2").await, 303);

    let combined = a.combined_pdf(&id).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("combined.pdf");
    std::fs::write(&path, &combined).unwrap();

    // Page 2: Jane's stamp right of the anchor, on its line; her date 36 pt below.
    let page2 = words_on(&path, 2);
    let anchor = find(&page2, "Signature:");
    assert_eq!(anchor.len(), 1, "{page2:?}");
    let anchor = anchor[0];
    assert!(
        (anchor.x_min - 72.0).abs() < 2.0 && (anchor.y_min - 576.0).abs() < 3.0,
        "{anchor:?}"
    );
    let signed = find(&page2, "Signed");
    assert_eq!(signed.len(), 1, "one stamp on page 2: {page2:?}");
    let stamp = signed[0];
    assert!(
        stamp.x_min >= anchor.x_max,
        "right of the anchor: {stamp:?} vs {anchor:?}"
    );
    assert!(
        stamp.x_min <= anchor.x_max + 30.0,
        "just right of the anchor: {stamp:?}"
    );
    assert!(
        (stamp.y_mid() - anchor.y_mid()).abs() < 8.0,
        "on the anchor's line: {stamp:?} vs {anchor:?}"
    );
    assert_eq!(next_word(&page2, stamp), "by");
    assert!(find(&page2, "Jane")
        .iter()
        .any(|w| (w.y_mid() - stamp.y_mid()).abs() < 1.0));
    assert!(
        find(&page2, "Lee").is_empty(),
        "Lee's stamp is not on page 2"
    );
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let date_below = page2.iter().any(|w| {
        w.text == today && w.y_min > anchor.y_max + 10.0 && (w.x_min - stamp.x_min).abs() < 10.0
    });
    assert!(
        date_below,
        "the date-signed tab below the signature: {page2:?}"
    );

    // Page 1: Lee's stamp at the fallback place (300, 650), and nothing of Jane's.
    let page1 = words_on(&path, 1);
    let signed = find(&page1, "Signed");
    assert_eq!(signed.len(), 1, "{page1:?}");
    let stamp = signed[0];
    assert!((300.0..315.0).contains(&stamp.x_min), "{stamp:?}");
    assert!((650.0..672.0).contains(&stamp.y_min), "{stamp:?}");
    assert!(find(&page1, "Lee")
        .iter()
        .any(|w| (w.y_mid() - stamp.y_mid()).abs() < 1.0));
    assert!(find(&page1, "Jane").is_empty());
    // The OCR layer is still there, unchanged.
    assert_eq!(find(&page1, "2024-117").len(), 1);

    // The certificate: who, when, from where, and the hashes of what was signed.
    let cert = a.certificate_pdf(&id).await.unwrap();
    let cert_path = dir.path().join("certificate.pdf");
    std::fs::write(&cert_path, &cert).unwrap();
    let text = pdftotext(&cert_path, &["-layout"]);
    assert!(text.contains(id.as_str()), "{text}");
    let original_sha = hex::encode(Sha256::digest(&original));
    let signed_sha = hex::encode(Sha256::digest(&combined));
    assert!(
        text.contains(&format!("Original sha256: {original_sha}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("Signed sha256: {signed_sha}")),
        "{text}"
    );
    for needle in [
        "Jane Doe",
        "Lee Roe",
        "envelope-sent",
        "recipient-completed",
        "envelope-completed",
        "IP 127.0.0.1",
        "Status: completed",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}
