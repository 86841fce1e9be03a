//! Real Tesseract on Tesseract's own test page: words, boxes and a low character error rate.

use countersign_ocr::engine::{Engine, PageJob, Pool};
use countersign_ocr::lept::Pix;
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

fn tesseract_test(name: &str) -> Vec<u8> {
    std::fs::read(corpus().join("ocr/tesseract-test").join(name)).unwrap()
}

fn phototest_truth() -> String {
    std::fs::read_to_string(corpus().join("ocr/tesseract-test/phototest.txt")).unwrap()
}

fn applied(page: &countersign_core::OcrPage, stage: &str) -> bool {
    page.preprocessing
        .iter()
        .any(|s| s.stage == stage && s.applied)
}

#[test]
fn phototest_reads_with_low_error_and_boxed_words_on_lines() {
    let out = Engine::new()
        .unwrap()
        .recognize(0, &tesseract_test("phototest.tif"), None, true)
        .unwrap();
    let page = out.page;
    let err = cer(&phototest_truth(), &page.text);
    assert!(err < 0.03, "CER {err:.3}\n{}", page.text);
    assert_eq!((page.width, page.height), (640, 480));
    assert!(
        out.straightened.is_none(),
        "an upright, straight page is kept as it is"
    );
    let quick = page
        .words
        .iter()
        .find(|w| w.text == "quick")
        .expect("the word 'quick'");
    assert!(quick.bbox[0] < quick.bbox[2] && quick.bbox[1] < quick.bbox[3] && quick.bbox[2] <= 640);
    assert!(quick.confidence > 0.8, "{quick:?}");
    assert!(page.mean_confidence > 0.8);
    // Lines: the first line's words share a line id, the next line has the next id, and a line's
    // words are left to right.
    let first: Vec<&str> = page
        .words
        .iter()
        .filter(|w| w.line == 0)
        .map(|w| w.text.as_str())
        .collect();
    assert_eq!(
        first.join(" "),
        "This is a lot of 12 point text to test the"
    );
    assert!(page.words.iter().any(|w| w.line == 1));
    assert!(page.words.windows(2).all(|p| p[0].line <= p[1].line));
    // Quality measured and every stage recorded with its reason.
    let q = page.quality.as_ref().expect("quality metrics");
    assert!(q.contrast > 0.9 && q.background_variation < 0.02, "{q:?}");
    assert!(q.skew_degrees.abs() < 0.5, "{q:?}");
    for stage in [
        "measure",
        "deskew",
        "contrast",
        "denoise",
        "upscale",
        "binarise",
        "orientation",
    ] {
        let step = page
            .preprocessing
            .iter()
            .find(|s| s.stage == stage)
            .unwrap_or_else(|| panic!("stage {stage} recorded"));
        assert!(!step.reason.is_empty());
    }
    assert!(!applied(&page, "deskew") && !applied(&page, "orientation"));
}

#[test]
fn rotated_pages_read_as_well_as_the_upright_one() {
    let mut engine = Engine::new().unwrap();
    let truth = phototest_truth();
    let upright = engine
        .recognize(0, &tesseract_test("phototest.tif"), None, true)
        .unwrap()
        .page;
    let base = cer(&truth, &upright.text);
    for (file, degrees) in [
        ("phototest-rotated-180.png", 180),
        ("phototest-rotated-L.png", 270),
        ("phototest-rotated-R.png", 90),
    ] {
        let out = engine
            .recognize(0, &tesseract_test(file), None, true)
            .unwrap();
        let page = &out.page;
        let err = cer(&truth, &page.text);
        assert!(
            err <= base + 0.01,
            "{file}: CER {err:.3} vs upright {base:.3}\n{}",
            page.text
        );
        assert!(
            applied(page, "orientation"),
            "{file}: {:?}",
            page.preprocessing
        );
        assert_eq!(
            page.quality.as_ref().unwrap().orientation_degrees,
            degrees,
            "{file}"
        );
        // The page image is turned upright, and the words are placed on that image.
        assert_eq!((page.width, page.height), (640, 480), "{file}");
        let straightened = out.straightened.as_ref().expect("the upright page image");
        let img = image::load_from_memory(&straightened.png).unwrap();
        assert_eq!((img.width(), img.height()), (640, 480));
        let thumb = image::load_from_memory(&straightened.thumbnail_png).unwrap();
        assert!(thumb.width() <= 240 && thumb.height() <= 240);
    }
}

/// phototest made worse with Leptonica itself: skewed, faded, shrunk.
fn degraded(f: impl Fn(&Pix) -> Pix) -> Vec<u8> {
    let pix = Pix::read(&tesseract_test("phototest.tif"))
        .unwrap()
        .to_gray()
        .unwrap();
    f(&pix).png().unwrap()
}

#[test]
fn a_skewed_page_is_straightened_before_reading() {
    let skewed = degraded(|p| p.rotate(-6.0).unwrap());
    let mut engine = Engine::new().unwrap();
    let out = engine.recognize(0, &skewed, Some(200), true).unwrap();
    let q = out.page.quality.clone().unwrap();
    assert!((q.skew_degrees - 6.0).abs() < 0.5, "skew found: {q:?}");
    assert!(applied(&out.page, "deskew"));
    assert!(
        out.straightened.is_some(),
        "the straightened page replaces the skewed one"
    );
    let err = cer(&phototest_truth(), &out.page.text);
    assert!(err < 0.05, "CER {err:.3}\n{}", out.page.text);
    let how = |page: &countersign_core::OcrPage| {
        page.preprocessing
            .iter()
            .find(|s| s.stage == "deskew")
            .map(|s| s.reason.clone())
            .unwrap()
    };
    assert!(
        how(&out.page).contains("area mapping"),
        "{}",
        how(&out.page)
    );

    // A scanner's usual skew is straightened by shears, and reads as well.
    let slight = degraded(|p| p.rotate(2.0).unwrap());
    let out = engine.recognize(0, &slight, Some(200), true).unwrap();
    assert!(how(&out.page).contains("by shears"), "{}", how(&out.page));
    let straight = Engine::new()
        .unwrap()
        .recognize(0, &tesseract_test("phototest.tif"), Some(200), false)
        .unwrap();
    let (slight_err, straight_err) = (
        cer(&phototest_truth(), &out.page.text),
        cer(&phototest_truth(), &straight.page.text),
    );
    assert!(
        slight_err <= straight_err + 0.005,
        "CER {slight_err:.4} after shears, {straight_err:.4} unskewed\n{}",
        out.page.text
    );
}

#[test]
fn a_faded_page_is_stretched_and_a_tiny_one_enlarged() {
    let mut engine = Engine::new().unwrap();
    // Ink at ~100, paper at ~150.
    let faded = degraded(|p| p.stretch_from(-300, 510).unwrap());
    let out = engine.recognize(0, &faded, Some(200), true).unwrap();
    assert!(out.page.quality.as_ref().unwrap().contrast < 0.45);
    assert!(
        applied(&out.page, "contrast"),
        "{:?}",
        out.page.preprocessing
    );
    let err = cer(&phototest_truth(), &out.page.text);
    assert!(err < 0.05, "faded: CER {err:.3}\n{}", out.page.text);

    let tiny = degraded(|p| p.scale(0.5).unwrap());
    let out = engine.recognize(0, &tiny, Some(100), true).unwrap();
    assert!(
        applied(&out.page, "upscale"),
        "{:?}",
        out.page.preprocessing
    );
    assert_eq!(
        (out.page.width, out.page.height),
        (320, 240),
        "boxes stay on the page image"
    );
    assert!(out
        .page
        .words
        .iter()
        .all(|w| w.bbox[2] <= 320 && w.bbox[3] <= 240));
    let err = cer(&phototest_truth(), &out.page.text);
    assert!(err < 0.08, "tiny: CER {err:.3}\n{}", out.page.text);
}

#[test]
fn the_pool_recognises_pages_in_parallel_and_returns_each_once() {
    let image = tesseract_test("phototest.tif");
    let pool = Pool::new(2);
    let jobs = (0..4)
        .map(|index| PageJob {
            index,
            image: image.clone(),
            dpi: Some(200),
            keep_straightened: false,
        })
        .collect();
    let mut seen: Vec<u32> = pool
        .recognize(jobs)
        .iter()
        .map(|r| r.unwrap().page.index)
        .collect();
    seen.sort();
    assert_eq!(seen, vec![0, 1, 2, 3]);
    pool.shutdown();
}

#[test]
fn a_page_of_noise_is_not_taken_for_tiny_glyphs_and_enlarged() {
    // Regression: specks measured as 5-pixel glyphs once made a noise page 16× larger, and
    // Tesseract spent more than ten minutes on it.
    let (w, h) = (900u32, 900u32);
    let mut state = 0x2545_f491_u32;
    let noise = image::GrayImage::from_fn(w, h, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        image::Luma([if state % 100 < 18 { 20 } else { 235 }])
    });
    let mut png = Vec::new();
    noise
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let out = Engine::new()
        .unwrap()
        .recognize(0, &png, None, false)
        .unwrap();
    let upscale = out
        .page
        .preprocessing
        .iter()
        .find(|s| s.stage == "upscale")
        .expect("the upscale stage is recorded");
    assert!(!upscale.applied, "{upscale:?}");
    assert!(out.page.quality.unwrap().noise > 0.08);
}

#[test]
fn raw_pnm_pages_become_the_same_pixels_as_png_ones() {
    let gray = image::GrayImage::from_fn(37, 11, |x, y| image::Luma([(x * 7 + y * 3) as u8]));
    let rgb = image::RgbImage::from_fn(5, 3, |x, y| image::Rgb([x as u8 * 40, y as u8 * 80, 200]));
    let mut pgm = b"P5\n37 11\n255\n".to_vec();
    pgm.extend_from_slice(gray.as_raw());
    let mut ppm = b"P6\n5 3\n255\n".to_vec();
    ppm.extend_from_slice(rgb.as_raw());
    let from_pgm = Pix::read(&pgm).unwrap();
    assert_eq!(
        (from_pgm.width(), from_pgm.height(), from_pgm.depth()),
        (37, 11, 8)
    );
    assert_eq!(from_pgm.gray_bytes(), gray.as_raw().as_slice());
    let from_ppm = Pix::read(&ppm).unwrap().to_image().unwrap();
    assert_eq!(from_ppm.to_rgb8().as_raw(), rgb.as_raw());
    // A truncated file is an error, not a crash.
    assert!(Pix::read(&pgm[..pgm.len() - 5]).is_err());
}

/// Small print (5.8 pt at 300 dpi, glyphs ~11 px): Leptonica's glyph shapes on the page reduced to
/// half size took an upright page of it for one on its side, turned it and read nothing right.
#[test]
fn small_print_is_judged_upright_and_turned_when_sideways() {
    use countersign_ocr::synth::{encode_png, small_print_page, DPI};
    let upright = small_print_page(3).unwrap();
    let mut engine = Engine::new().unwrap();
    let orientation = |page: &countersign_core::OcrPage| {
        page.preprocessing
            .iter()
            .find(|s| s.stage == "orientation")
            .map(|s| (s.applied, s.reason.clone()))
            .unwrap()
    };
    let read = engine
        .recognize(0, &encode_png(&upright, DPI).unwrap(), Some(DPI), false)
        .unwrap()
        .page;
    assert!(!orientation(&read).0, "{:?}", orientation(&read));
    assert!(read.mean_confidence > 0.85, "{}", read.mean_confidence);
    assert!(read.words.len() > 300, "{} words", read.words.len());
    let sideways = image::imageops::rotate90(&upright);
    let turned = engine
        .recognize(0, &encode_png(&sideways, DPI).unwrap(), Some(DPI), false)
        .unwrap()
        .page;
    assert!(orientation(&turned).0, "{:?}", orientation(&turned));
    assert_eq!(turned.quality.as_ref().unwrap().orientation_degrees, 90);
    assert!(
        turned.mean_confidence > read.mean_confidence - 0.02,
        "{} turned vs {} upright",
        turned.mean_confidence,
        read.mean_confidence
    );
}
