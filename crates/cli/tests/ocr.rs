//! OCR through the real binary: rotated pages, hOCR, a scanned page's searchable PDF with its
//! "Signature:" anchor where the ink is, and reprocessing as a new version.

mod support;

use countersign_ocr::synth::{self, Degradation, Font};
use std::path::Path;
use std::process::Command;
use support::{arg, corpus, describe, json_lines, one_json_line, Env};

/// Levenshtein distance over characters ÷ length of the truth (whitespace runs collapsed).
fn cer(truth: &str, got: &str) -> f64 {
    countersign_ocr::eval::cer(truth, got)
}

fn ocr_text(env: &Env, file: &Path) -> (String, serde_json::Value) {
    let out = env.run(&["ocr", arg(file), "--json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let doc = one_json_line(&out);
    let text = doc["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("\n");
    (text, doc)
}

#[test]
fn a_page_scanned_upside_down_reads_as_well_as_the_upright_one() {
    let env = Env::new();
    let dir = corpus().join("ocr/tesseract-test");
    let truth = std::fs::read_to_string(dir.join("phototest.txt")).unwrap();
    let (upright, _) = ocr_text(&env, &dir.join("phototest.tif"));
    let (turned, doc) = ocr_text(&env, &dir.join("phototest-rotated-180.png"));
    let (a, b) = (cer(&truth, &upright), cer(&truth, &turned));
    assert!(
        b <= a + 0.01,
        "upside down CER {b:.4} vs upright {a:.4}\n{turned}"
    );
    let page = &doc["pages"][0];
    assert_eq!(page["quality"]["orientation_degrees"], 180);
    let steps = page["preprocessing"].as_array().unwrap();
    assert!(
        steps
            .iter()
            .any(|s| s["stage"] == "orientation" && s["applied"] == true),
        "the page was turned, and the record says so: {steps:?}"
    );
    // Words carry line and block ids in reading order.
    let words = page["words"].as_array().unwrap();
    assert!(words
        .iter()
        .all(|w| w["line"].is_u64() && w["block"].is_u64()));
    assert!(!env.data_dir.exists(), "`ocr` stores nothing");
}

#[test]
fn ocr_prints_hocr_with_every_word() {
    let env = Env::new();
    let file = corpus().join("ocr/tesseract-test/phototest.tif");
    let (_, doc) = ocr_text(&env, &file);
    let words = doc["pages"][0]["words"].as_array().unwrap().len();
    let out = env.run(&["ocr", arg(&file), "--hocr"]);
    assert!(out.status.success(), "{}", describe(&out));
    let html = String::from_utf8(out.stdout).unwrap();
    assert!(html.starts_with("<?xml"));
    assert_eq!(html.matches("class=\"ocrx_word\"").count(), words);
    assert!(html.contains("class=\"ocr_page\"") && html.contains("bbox 0 0 640 480"));
    assert!(html.contains(">quick</span>"));
}

/// A 300-dpi letter with a signature line, skewed 3° with scanner noise, as PNG.
fn scanned_letter() -> Vec<u8> {
    let text = synth::TEXTS
        .iter()
        .find(|t| t.text.contains("Signature:"))
        .unwrap();
    let (clean, _) = synth::render_page(text, Font::Times).unwrap();
    let (skewed, dpi) = Degradation::Skew(3.0).apply(&clean);
    let (noisy, _) = Degradation::GaussianNoise {
        sigma: 10.0,
        seed: 7,
    }
    .apply(&skewed);
    synth::encode_png(&noisy, dpi).unwrap()
}

fn tool(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} (poppler-utils): {e}"));
    assert!(out.status.success(), "{cmd} {args:?}: {}", describe(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_scanned_page_becomes_a_searchable_pdf_with_the_signature_anchor_on_its_ink() {
    let env = Env::new();
    let scan = env.input("letter-scan.png", &scanned_letter());
    let record = one_json_line(&env.run(&["ingest", arg(&scan), "--wait", "--json"]));
    assert_eq!(record["status"], "needs_review", "{record}");
    let id = record["document_id"].as_str().unwrap().to_owned();

    // The page was straightened, and says so.
    let shown = one_json_line(&env.run(&["show", &id, "--with-ocr", "--json"]));
    let page = &shown["ocr"]["pages"][0];
    let skew = page["quality"]["skew_degrees"].as_f64().unwrap();
    assert!((skew.abs() - 3.0).abs() < 0.4, "skew measured {skew}");
    assert!(page["preprocessing"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["stage"] == "deskew" && s["applied"] == true));
    let sig = page["words"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["text"] == "Signature:")
        .expect("OCR read 'Signature:'")
        .clone();

    let pdf = env.inputs.join("letter.pdf");
    let hocr = env.inputs.join("letter.hocr");
    let out = env.run(&[
        "export",
        &id,
        "--pdf",
        arg(&pdf),
        "--hocr",
        arg(&hocr),
        "--json",
    ]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(std::fs::read_to_string(&hocr)
        .unwrap()
        .contains(">Signature:</span>"));

    // pdftotext finds the anchor text …
    let text = tool("pdftotext", &[arg(&pdf), "-"]);
    assert!(text.contains("Signature:"), "{text}");
    // … at the place of the word on the page image (300 dpi: 72/300 pt per pixel) …
    let bbox = tool("pdftotext", &["-bbox", arg(&pdf), "-"]);
    let line = bbox
        .lines()
        .find(|l| l.contains(">Signature:<"))
        .expect("a bbox for Signature:");
    let num = |name: &str| -> f64 {
        let at = line.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        line[at..].split('"').next().unwrap().parse().unwrap()
    };
    let (x_min, y_min, x_max, y_max) = (num("xMin"), num("yMin"), num("xMax"), num("yMax"));
    let px = |v: &serde_json::Value| v.as_f64().unwrap() * 72.0 / 300.0;
    let b = &sig["bbox"];
    for (got, want) in [
        (x_min, px(&b[0])),
        (y_min, px(&b[1])),
        (x_max, px(&b[2])),
        (y_max, px(&b[3])),
    ] {
        assert!((got - want).abs() < 3.0, "{line} vs OCR box {b}");
    }
    // … and that place on the rendered PDF page is ink, not paper.
    let png_base = env.inputs.join("rendered");
    tool(
        "pdftoppm",
        &[
            "-r",
            "72",
            "-gray",
            "-png",
            "-singlefile",
            arg(&pdf),
            arg(&png_base),
        ],
    );
    let page_img = image::open(png_base.with_extension("png"))
        .unwrap()
        .to_luma8();
    let (mut dark, mut all) = (0, 0);
    for y in y_min as u32..(y_max.ceil() as u32).min(page_img.height()) {
        for x in x_min as u32..(x_max.ceil() as u32).min(page_img.width()) {
            all += 1;
            if page_img.get_pixel(x, y).0[0] < 128 {
                dark += 1;
            }
        }
    }
    assert!(
        dark * 10 > all,
        "the anchor box covers ink: {dark} dark of {all} pixels"
    );
}

#[test]
fn reprocessing_reads_the_pages_again_as_a_new_version() {
    let env = Env::new();
    let file = corpus().join("ocr/tesseract-test/phototest.tif");
    let first = one_json_line(&env.run(&["ingest", arg(&file), "--wait", "--json"]));
    let id = first["document_id"].as_str().unwrap().to_owned();
    assert_eq!(first["version"], 1);

    let out = env.run(&["reprocess", &id, "--wait", "--json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let second = one_json_line(&out);
    assert_eq!(second["version"], 2);
    assert_eq!(second["status"], "needs_review");
    assert!(second["ocr_confidence"].as_f64().unwrap() > 0.8);
    // Both versions keep their own words; the audit log says why v2 exists.
    assert_eq!(
        env.sql(&format!(
            "SELECT version, COUNT(*) FROM ocr_pages WHERE document_id = '{id}' GROUP BY version"
        )),
        "1|1\n2|1"
    );
    assert!(env
        .sql(&format!(
            "SELECT action FROM audit_log WHERE document_id = '{id}'"
        ))
        .lines()
        .any(|a| a == "reprocess"));
    assert!(env
        .sql(&format!(
            "SELECT engine FROM ocr_pages WHERE document_id = '{id}' AND version = 2"
        ))
        .starts_with("tesseract 5"));

    // A document that is still being processed cannot be reprocessed.
    let busy = env.input("busy.png", &support::png(64, 48, 3));
    let busy = one_json_line(&env.run(&["ingest", arg(&busy), "--json"]));
    let out = env.run(&["reprocess", busy["document_id"].as_str().unwrap(), "--json"]);
    assert!(!out.status.success());
    let lines = json_lines(&out);
    assert!(
        ["not_ready", "invalid_state"].contains(&lines[0]["error"]["code"].as_str().unwrap()),
        "{lines:?}"
    );
}
