//! Real Tesseract on Tesseract's own test page: words, boxes and a low character error rate.

use countersign_ocr::engine::{Engine, PageJob, Pool};
use std::path::PathBuf;

fn corpus() -> PathBuf {
    [
        std::env::var_os("COUNTERSIGN_CORPUS").map(PathBuf::from),
        Some(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/corpus"
        ))),
        Some(PathBuf::from("/work/shared/corpus")),
    ]
    .into_iter()
    .flatten()
    .find(|p| p.join("MANIFEST.tsv").is_file())
    .expect("the shared test corpus (set COUNTERSIGN_CORPUS)")
}

/// Levenshtein distance over characters ÷ length of the truth (whitespace runs collapsed).
fn cer(truth: &str, got: &str) -> f64 {
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let (a, b): (Vec<char>, Vec<char>) =
        (norm(truth).chars().collect(), norm(got).chars().collect());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()] as f64 / a.len().max(1) as f64
}

#[test]
fn phototest_reads_with_low_error_and_boxed_words() {
    let dir = corpus().join("ocr/tesseract-test");
    let image = std::fs::read(dir.join("phototest.tif")).unwrap();
    let truth = std::fs::read_to_string(dir.join("phototest.txt")).unwrap();
    let page = Engine::new().unwrap().recognize(0, &image, None).unwrap();
    let err = cer(&truth, &page.text);
    assert!(err < 0.03, "CER {err:.3}\n{}", page.text);
    assert_eq!((page.width, page.height), (640, 480));
    let quick = page
        .words
        .iter()
        .find(|w| w.text == "quick")
        .expect("the word 'quick'");
    assert!(quick.bbox[0] < quick.bbox[2] && quick.bbox[1] < quick.bbox[3] && quick.bbox[2] <= 640);
    assert!(quick.confidence > 0.8, "{quick:?}");
    assert!(page.mean_confidence > 0.8);
}

#[test]
fn the_pool_recognises_pages_in_parallel_and_returns_each_once() {
    let dir = corpus().join("ocr/tesseract-test");
    let image = std::fs::read(dir.join("phototest.tif")).unwrap();
    let pool = Pool::new(2);
    let jobs = (0..4)
        .map(|index| PageJob {
            index,
            image: image.clone(),
            dpi: Some(200),
        })
        .collect();
    let mut seen: Vec<u32> = pool
        .recognize(jobs)
        .iter()
        .map(|r| r.unwrap().index)
        .collect();
    seen.sort();
    assert_eq!(seen, vec![0, 1, 2, 3]);
}
