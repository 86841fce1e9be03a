//! `countersign eval`: the synthetic set is written with its ground truth and manifest; `eval ocr`
//! scores real OCR on the shared corpus's Tesseract test pages and skips images with no ground
//! truth; `--text-from` scores a given text with exactly the expected error rates.

mod support;

use std::path::Path;
use support::{corpus, Env};

fn names_with(dir: &Path, suffix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(suffix))
        .collect();
    names.sort();
    names
}

#[test]
fn eval_generate_writes_pages_with_ground_truth_and_a_manifest() {
    let env = Env::new();
    let out_dir = env.inputs.join("set");
    let out = env.run(&["--json", "eval", "generate", support::arg(&out_dir)]);
    assert!(out.status.success(), "{}", support::describe(&out));
    let lines = support::json_lines(&out);
    let summary = lines.last().unwrap();
    assert_eq!(summary["summary"], true);
    assert_eq!(summary["pages"], 42, "3 texts × 14 variants");

    let pngs = names_with(&out_dir, ".png");
    assert_eq!(pngs.len(), 42);
    for png in &pngs {
        let stem = png.trim_end_matches(".png");
        let bytes = std::fs::read(out_dir.join(png)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{png} is a PNG");
        assert!(
            bytes.windows(4).any(|w| w == b"pHYs"),
            "{png} carries its resolution"
        );
        let truth = std::fs::read_to_string(out_dir.join(format!("{stem}.gt.txt"))).unwrap();
        assert!(
            truth.contains("Signature: ____"),
            "{stem}: ground truth is the page's text"
        );
        assert!(truth.split_whitespace().count() >= 150, "{stem}");
    }
    let manifest = std::fs::read_to_string(out_dir.join("MANIFEST.tsv")).unwrap();
    let rows: Vec<Vec<&str>> = manifest.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows[0], ["name", "degradation", "parameter"]);
    assert_eq!(rows.len(), 43);
    for row in &rows[1..] {
        assert!(pngs.contains(&format!("{}.png", row[0])), "{row:?}");
    }
    for kind in [
        "clean",
        "skew",
        "rotated",
        "gaussian_noise",
        "salt_and_pepper",
        "blur",
        "low_contrast",
        "uneven_background",
        "low_dpi",
    ] {
        assert!(rows.iter().any(|r| r[1] == kind), "a {kind} page");
    }

    // Deterministic: a second run writes the same bytes.
    let again = env.inputs.join("again");
    let out = env.run(&["eval", "generate", support::arg(&again)]);
    assert!(out.status.success(), "{}", support::describe(&out));
    for name in ["letter-times-skew+2.png", "invoice-helvetica-noise.png"] {
        assert_eq!(
            std::fs::read(out_dir.join(name)).unwrap(),
            std::fs::read(again.join(name)).unwrap(),
            "{name} is the same every time"
        );
    }

    // The 12-page scan: pages with ground truth, one upside down, and the same pages as a PDF.
    let scan = env.inputs.join("scan12");
    let out = env.run(&[
        "--json",
        "eval",
        "generate",
        "--scan12",
        support::arg(&scan),
    ]);
    assert!(out.status.success(), "{}", support::describe(&out));
    assert_eq!(names_with(&scan, ".png").len(), 12);
    assert_eq!(names_with(&scan, ".gt.txt").len(), 12);
    let manifest = std::fs::read_to_string(scan.join("MANIFEST.tsv")).unwrap();
    assert_eq!(manifest.matches("\tscan_rotated\t").count(), 1);
    let pdf = std::fs::read(scan.join("scan12.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    let info = std::process::Command::new("pdfinfo")
        .arg(scan.join("scan12.pdf"))
        .output()
        .expect("pdfinfo (poppler-utils) is installed");
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.lines()
            .any(|l| l.starts_with("Pages:") && l.trim_end().ends_with(" 12")),
        "12 pages in the PDF:\n{info}"
    );
}

#[test]
fn eval_ocr_scores_the_tesseract_test_pages_and_skips_those_without_ground_truth() {
    let env = Env::new();
    let dir = corpus().join("ocr/tesseract-test");
    let out = env.run(&["--json", "eval", "ocr", support::arg(&dir)]);
    assert!(out.status.success(), "{}", support::describe(&out));
    let lines = support::json_lines(&out);
    let (summary, files) = lines.split_last().unwrap();
    assert_eq!(summary["summary"], true);
    let names: Vec<&str> = files.iter().map(|f| f["file"].as_str().unwrap()).collect();
    for f in files {
        assert!(f.get("error").is_none(), "{f}");
        assert!(f["cer"].as_f64().unwrap() >= 0.0, "{f}");
        assert_eq!(f["pages"], 1, "{f}");
    }
    let phototest = files.iter().find(|f| f["file"] == "phototest.tif").unwrap();
    let cer = phototest["cer"].as_f64().unwrap();
    assert!(cer < 0.05, "phototest.tif CER {cer}");
    assert!(phototest["ground_truth"]
        .as_str()
        .unwrap()
        .ends_with("phototest.txt"));
    // Its rotated and re-encoded variants use the same ground truth.
    for variant in [
        "phototest-rotated-180.png",
        "phototest_2.tif",
        "phototestrot.tif",
    ] {
        assert!(names.contains(&variant), "{variant} in {names:?}");
    }
    assert!(!names.contains(&"HelloGoogle.tif"));
    let skipped: Vec<&str> = summary["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(skipped, ["HelloGoogle.tif", "trainingtimes.tif"]);
    assert_eq!(summary["files"], files.len());
    assert!(summary["pages_per_minute"].as_f64().unwrap() > 0.0);
}

#[test]
fn eval_ocr_text_from_scores_a_given_text_exactly() {
    let env = Env::new();
    let images = env.inputs.join("images");
    let texts = env.inputs.join("texts");
    std::fs::create_dir_all(&images).unwrap();
    std::fs::create_dir_all(&texts).unwrap();
    // The image is never read with --text-from; only its name counts.
    std::fs::write(images.join("invoice.png"), support::png(8, 8, 1)).unwrap();
    std::fs::write(
        images.join("invoice.gt.txt"),
        "Invoice No. 4821\nTotal:  $1,250.00\n",
    )
    .unwrap();
    std::fs::write(
        images.join("MANIFEST.tsv"),
        "name\tdegradation\tparameter\ninvoice\tskew\t+2deg\n",
    )
    .unwrap();
    // One deletion (the dot) and whitespace that normalisation removes; a form feed ends the page.
    std::fs::write(
        texts.join("invoice.txt"),
        "Invoice No 4821\n\n Total: $1,250.00\n\u{c}",
    )
    .unwrap();

    let out = env.run(&[
        "--json",
        "eval",
        "ocr",
        support::arg(&images),
        "--text-from",
        support::arg(&texts),
    ]);
    assert!(out.status.success(), "{}", support::describe(&out));
    let lines = support::json_lines(&out);
    assert_eq!(lines.len(), 2);
    let file = &lines[0];
    assert_eq!(file["file"], "invoice.png");
    assert_eq!(
        file["ref_chars"], 33,
        "\"Invoice No. 4821 Total: $1,250.00\""
    );
    assert_eq!(file["char_edits"], 1);
    assert_eq!(file["cer"].as_f64().unwrap(), 1.0 / 33.0);
    assert_eq!(file["wer"].as_f64().unwrap(), 1.0 / 5.0);
    assert_eq!(file["pages"], 1);
    assert_eq!(file["degradation"], "skew");
    let summary = &lines[1];
    assert_eq!(summary["summary"], true);
    assert_eq!(summary["mean_cer"].as_f64().unwrap(), 1.0 / 33.0);
    assert_eq!(summary["weighted_cer"].as_f64().unwrap(), 1.0 / 33.0);
    assert_eq!(summary["by_degradation"]["skew"]["files"], 1);
    assert!(summary["pages_per_minute"].is_null(), "no OCR was timed");

    // A missing hypothesis is that file's error, and the run fails.
    std::fs::write(images.join("letter.png"), support::png(8, 8, 2)).unwrap();
    std::fs::write(images.join("letter.gt.txt"), "Dear Sir").unwrap();
    let out = env.run(&[
        "--json",
        "eval",
        "ocr",
        support::arg(&images),
        "--text-from",
        support::arg(&texts),
    ]);
    assert!(!out.status.success(), "{}", support::describe(&out));
    let lines = support::json_lines(&out);
    assert_eq!(lines[1]["file"], "letter.png");
    assert_eq!(lines[1]["error"]["code"], "unreadable_file");
    assert_eq!(lines[2]["failed"], 1);

    // No such directory: a JSON error and a non-zero exit.
    let out = env.run(&["--json", "eval", "ocr", "/nonexistent/countersign-eval"]);
    assert!(!out.status.success());
    let error = support::one_json_line(&out);
    assert_eq!(error["error"]["code"], "unreadable_file", "{error}");
}
