//! Evaluating OCR against ground truth: character and word error rates, finding the ground truth
//! of each image in a directory, and the totals of a run.
//!
//! Both texts are normalised before they are compared: every run of whitespace (spaces, tabs, line
//! breaks, form feeds) becomes one space and the ends are trimmed. Case and punctuation are kept,
//! so a misread capital or comma counts. The character error rate (CER) is the Levenshtein edit
//! distance over Unicode scalar values (insertions, deletions and substitutions all cost 1)
//! divided by the reference's length in characters; the word error rate (WER) is the same over
//! words. Both can exceed 1 when the hypothesis is much longer than the reference.
//!
//! Ground truth for `DIR/<stem>.<image ext>` is `DIR/<stem>.gt.txt`, else `DIR/<stem>.txt`, else
//! the ground-truth file whose stem is the longest prefix of the image's stem (so `phototest.txt`
//! covers `phototest_2.tif` and `phototest-rotated-180.png`). Images with none are skipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// File name extensions read as images (compared without regard to case).
pub const IMAGE_EXTENSIONS: [&str; 6] = ["png", "tif", "tiff", "jpg", "jpeg", "pdf"];

/// The manifest `eval generate` writes beside its images: `name`, `degradation`, `parameter`.
pub const MANIFEST: &str = "MANIFEST.tsv";

/// Whitespace runs become one space; the ends are trimmed. Case and punctuation are kept.
pub fn normalize(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Levenshtein distance: the fewest insertions, deletions and substitutions turning `a` into `b`.
pub fn levenshtein<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    if a.is_empty() {
        return b.len();
    }
    if b.is_empty() {
        return a.len();
    }
    // Two rows over the shorter sequence.
    let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    let mut prev: Vec<usize> = (0..=short.len()).collect();
    let mut cur = vec![0usize; short.len() + 1];
    for (i, x) in long.iter().enumerate() {
        cur[0] = i + 1;
        for (j, y) in short.iter().enumerate() {
            let substitute = prev[j] + usize::from(x != y);
            cur[j + 1] = substitute.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[short.len()]
}

/// Edit counts and rates of one hypothesis against its reference (both normalised first).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Score {
    /// Characters in the normalised reference.
    pub ref_chars: usize,
    /// Character edits from the reference to the hypothesis.
    pub char_edits: usize,
    pub cer: f64,
    /// Words in the reference.
    pub ref_words: usize,
    pub word_edits: usize,
    pub wer: f64,
}

/// Edits ÷ reference length; an empty reference scores 0 against an empty hypothesis, else 1.
fn rate(edits: usize, reference_len: usize) -> f64 {
    match (edits, reference_len) {
        (0, _) => 0.0,
        (_, 0) => 1.0,
        (e, n) => e as f64 / n as f64,
    }
}

/// Scores `hypothesis` against `reference`.
pub fn score(reference: &str, hypothesis: &str) -> Score {
    let (reference, hypothesis) = (normalize(reference), normalize(hypothesis));
    let r: Vec<char> = reference.chars().collect();
    let h: Vec<char> = hypothesis.chars().collect();
    let char_edits = levenshtein(&r, &h);
    let rw: Vec<&str> = reference.split(' ').filter(|w| !w.is_empty()).collect();
    let hw: Vec<&str> = hypothesis.split(' ').filter(|w| !w.is_empty()).collect();
    let word_edits = levenshtein(&rw, &hw);
    Score {
        ref_chars: r.len(),
        char_edits,
        cer: rate(char_edits, r.len()),
        ref_words: rw.len(),
        word_edits,
        wer: rate(word_edits, rw.len()),
    }
}

/// Character error rate of `hypothesis` against `reference`.
pub fn cer(reference: &str, hypothesis: &str) -> f64 {
    score(reference, hypothesis).cer
}

/// Word error rate of `hypothesis` against `reference`.
pub fn wer(reference: &str, hypothesis: &str) -> f64 {
    score(reference, hypothesis).wer
}

/// An image and the file holding its ground truth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub image: PathBuf,
    pub ground_truth: PathBuf,
}

impl Sample {
    /// The image's file name without its last extension (`phototest.tif` → `phototest`).
    pub fn stem(&self) -> String {
        file_stem(&self.image)
    }
}

/// What a directory holds: images with ground truth, and images without (skipped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    pub samples: Vec<Sample>,
    pub skipped: Vec<PathBuf>,
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Whether a file name is an image we evaluate (by extension, any case).
pub fn is_image(name: &str) -> bool {
    name.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty() && IMAGE_EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(ext))
    })
}

/// A ground-truth file name's stem and whether it is the explicit `.gt.txt` kind:
/// `a.gt.txt` → (`a`, true), `a.txt` → (`a`, false), anything else → None.
pub fn ground_truth_stem(name: &str) -> Option<(&str, bool)> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".gt.txt") && name.len() > ".gt.txt".len() {
        Some((&name[..name.len() - ".gt.txt".len()], true))
    } else if lower.ends_with(".txt") && name.len() > ".txt".len() {
        Some((&name[..name.len() - ".txt".len()], false))
    } else {
        None
    }
}

/// Which ground-truth file an image uses, from the image's stem and the ground-truth file names
/// of its directory: `<stem>.gt.txt`, else `<stem>.txt`, else the file whose stem is the longest
/// prefix of `image_stem` (`.gt.txt` first on equal stems).
pub fn match_ground_truth<'a>(image_stem: &str, gt_names: &[&'a str]) -> Option<&'a str> {
    let stems: Vec<(&str, bool, &'a str)> = gt_names
        .iter()
        .filter_map(|name| ground_truth_stem(name).map(|(stem, gt)| (stem, gt, *name)))
        .collect();
    let exact = |explicit: bool| {
        stems
            .iter()
            .find(|(stem, gt, _)| *stem == image_stem && *gt == explicit)
            .map(|(_, _, name)| *name)
    };
    exact(true).or_else(|| exact(false)).or_else(|| {
        stems
            .iter()
            .filter(|(stem, _, _)| image_stem.starts_with(stem))
            .max_by_key(|(stem, gt, _)| (stem.len(), *gt))
            .map(|(_, _, name)| *name)
    })
}

/// The images of `dir` (not its subdirectories), each with its ground truth or listed as skipped;
/// both sorted by file name. The manifest and other text files are never images.
pub fn discover(dir: &Path) -> std::io::Result<Discovery> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            continue;
        }
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    let gt_names: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| ground_truth_stem(n).is_some())
        .collect();
    let mut found = Discovery::default();
    for name in names.iter().filter(|n| is_image(n)) {
        let image = dir.join(name);
        match match_ground_truth(&file_stem(&image), &gt_names) {
            Some(gt) => found.samples.push(Sample {
                image,
                ground_truth: dir.join(gt),
            }),
            None => found.skipped.push(image),
        }
    }
    Ok(found)
}

/// One row of `MANIFEST.tsv`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ManifestRow {
    /// The image's file stem (`letter-times-skew-5`).
    pub name: String,
    pub degradation: String,
    pub parameter: String,
}

/// Writes a manifest: a header line, then one tab-separated row per image.
pub fn manifest_tsv(rows: &[ManifestRow]) -> String {
    let mut out = String::from("name\tdegradation\tparameter\n");
    for r in rows {
        out.push_str(&format!("{}\t{}\t{}\n", r.name, r.degradation, r.parameter));
    }
    out
}

/// Reads a manifest (the header line, if any, and malformed lines are ignored): name → row.
pub fn parse_manifest(text: &str) -> BTreeMap<String, ManifestRow> {
    text.lines()
        .filter_map(|line| {
            let mut cols = line.split('\t');
            let name = cols.next()?.trim();
            let degradation = cols.next()?.trim();
            let parameter = cols.next().unwrap_or("").trim();
            (!name.is_empty() && name != "name").then(|| {
                (
                    name.to_owned(),
                    ManifestRow {
                        name: name.to_owned(),
                        degradation: degradation.to_owned(),
                        parameter: parameter.to_owned(),
                    },
                )
            })
        })
        .collect()
}

/// One evaluated file, for the totals.
#[derive(Debug, Clone, PartialEq)]
pub struct FileResult {
    pub score: Score,
    pub pages: usize,
    pub seconds: f64,
    /// The degradation the manifest names for it, if there is a manifest.
    pub degradation: Option<String>,
}

/// The mean CER and WER of a group of files.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GroupTotals {
    pub files: usize,
    pub mean_cer: f64,
    pub mean_wer: f64,
}

/// The totals of a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Totals {
    pub files: usize,
    pub pages: usize,
    /// Mean of the files' CERs (each file counts the same).
    pub mean_cer: f64,
    /// All edits ÷ all reference characters (each character counts the same).
    pub weighted_cer: f64,
    pub mean_wer: f64,
    pub weighted_wer: f64,
    /// Sum of the files' recognition times.
    pub seconds: f64,
    /// Per degradation named by the manifest (empty without one).
    pub by_degradation: BTreeMap<String, GroupTotals>,
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

/// Totals over the evaluated files.
pub fn totals(results: &[FileResult]) -> Totals {
    let edits: usize = results.iter().map(|r| r.score.char_edits).sum();
    let chars: usize = results.iter().map(|r| r.score.ref_chars).sum();
    let word_edits: usize = results.iter().map(|r| r.score.word_edits).sum();
    let words: usize = results.iter().map(|r| r.score.ref_words).sum();
    let mut groups: BTreeMap<String, Vec<&FileResult>> = BTreeMap::new();
    for r in results {
        if let Some(d) = &r.degradation {
            groups.entry(d.clone()).or_default().push(r);
        }
    }
    Totals {
        files: results.len(),
        pages: results.iter().map(|r| r.pages).sum(),
        mean_cer: mean(results.iter().map(|r| r.score.cer)),
        weighted_cer: rate(edits, chars),
        mean_wer: mean(results.iter().map(|r| r.score.wer)),
        weighted_wer: rate(word_edits, words),
        seconds: results.iter().map(|r| r.seconds).sum(),
        by_degradation: groups
            .into_iter()
            .map(|(d, rs)| {
                let group = GroupTotals {
                    files: rs.len(),
                    mean_cer: mean(rs.iter().map(|r| r.score.cer)),
                    mean_wer: mean(rs.iter().map(|r| r.score.wer)),
                };
                (d, group)
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn levenshtein_counts_insertions_deletions_and_substitutions() {
        let d = |a: &str, b: &str| {
            levenshtein(
                &a.chars().collect::<Vec<_>>(),
                &b.chars().collect::<Vec<_>>(),
            )
        };
        assert_eq!(d("", ""), 0);
        assert_eq!(d("abc", ""), 3);
        assert_eq!(d("", "abc"), 3);
        assert_eq!(d("kitten", "sitting"), 3);
        assert_eq!(d("sitting", "kitten"), 3);
        assert_eq!(d("flaw", "lawn"), 2);
        assert_eq!(d("same", "same"), 0);
    }

    #[test]
    fn cer_counts_unicode_characters_not_bytes() {
        // One substitution (é → e) in a 5-character reference, though é is 2 bytes.
        assert!(close(cer("café!", "cafe!"), 1.0 / 5.0));
        assert!(close(cer("€100", "E100"), 0.25));
    }

    #[test]
    fn cer_normalises_whitespace_but_keeps_case_and_punctuation() {
        assert_eq!(
            cer("Total:  $1,250.00\n\nDue", " Total: $1,250.00 Due\n"),
            0.0
        );
        assert_eq!(cer("a\tb\r\nc\u{c}d", "a b c d"), 0.0);
        // Case counts: 1 edit in 5 characters.
        assert!(close(cer("Hello", "hello"), 0.2));
        // Punctuation counts: "No." vs "No" is one deletion in 3.
        assert!(close(cer("No.", "No"), 1.0 / 3.0));
    }

    #[test]
    fn score_gives_edits_lengths_and_word_error_rate() {
        let s = score("the quick brown fox", "the quack brown fox jumps");
        assert_eq!(s.ref_chars, 19);
        // u→a, then " jumps" inserted (6).
        assert_eq!(s.char_edits, 7);
        assert!(close(s.cer, 7.0 / 19.0));
        assert_eq!(s.ref_words, 4);
        assert_eq!(s.word_edits, 2);
        assert!(close(s.wer, 0.5));
        assert!(close(wer("a b c", "a b c"), 0.0));
    }

    #[test]
    fn empty_references() {
        assert_eq!(cer("", ""), 0.0);
        assert_eq!(cer("  \n", ""), 0.0);
        assert_eq!(cer("", "x"), 1.0);
        assert_eq!(cer("abc", ""), 1.0);
    }

    #[test]
    fn ground_truth_matching_prefers_exact_then_longest_prefix() {
        let gts = [
            "phototest.txt",
            "eurotext.txt",
            "photo.txt",
            "page.gt.txt",
            "page.txt",
        ];
        assert_eq!(match_ground_truth("phototest", &gts), Some("phototest.txt"));
        assert_eq!(
            match_ground_truth("phototest-rotated-180", &gts),
            Some("phototest.txt")
        );
        assert_eq!(
            match_ground_truth("phototest_2", &gts),
            Some("phototest.txt")
        );
        assert_eq!(
            match_ground_truth("phototestrot", &gts),
            Some("phototest.txt")
        );
        assert_eq!(match_ground_truth("photograph", &gts), Some("photo.txt"));
        assert_eq!(match_ground_truth("page", &gts), Some("page.gt.txt"));
        assert_eq!(match_ground_truth("page-2", &gts), Some("page.gt.txt"));
        assert_eq!(match_ground_truth("HelloGoogle", &gts), None);
        assert_eq!(match_ground_truth("euro", &gts), None);
    }

    #[test]
    fn ground_truth_stems() {
        assert_eq!(ground_truth_stem("a.gt.txt"), Some(("a", true)));
        assert_eq!(ground_truth_stem("a.b.txt"), Some(("a.b", false)));
        assert_eq!(ground_truth_stem("A.TXT"), Some(("A", false)));
        assert_eq!(ground_truth_stem(".txt"), None);
        assert_eq!(ground_truth_stem("a.box"), None);
        assert!(is_image("x.TIF") && is_image("x.jpeg") && is_image("x.pdf"));
        assert!(!is_image("x.txt") && !is_image("x.uzn") && !is_image(".png") && !is_image("png"));
    }

    #[test]
    fn discover_pairs_images_with_ground_truth_and_lists_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        for name in [
            "phototest.tif",
            "phototest.txt",
            "phototest-rotated-180.png",
            "phototest_2.tif",
            "8071_093.3B.tif",
            "8071_093.3B.txt",
            "8071_093.3B.uzn",
            "HelloGoogle.tif",
            "trainingtimes.tif",
            "trainingtimes.box",
            "scan.PDF",
            "scan.gt.txt",
            "scan.txt",
            "notes.md",
            MANIFEST,
        ] {
            std::fs::write(p.join(name), b"x").unwrap();
        }
        std::fs::create_dir(p.join("sub.png")).unwrap();
        let found = discover(p).unwrap();
        let pairs: Vec<(String, String)> = found
            .samples
            .iter()
            .map(|s| {
                (
                    s.image.file_name().unwrap().to_string_lossy().into_owned(),
                    s.ground_truth
                        .file_name()
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                )
            })
            .collect();
        let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(
            pairs,
            vec![
                pair("8071_093.3B.tif", "8071_093.3B.txt"),
                pair("phototest-rotated-180.png", "phototest.txt"),
                pair("phototest.tif", "phototest.txt"),
                pair("phototest_2.tif", "phototest.txt"),
                pair("scan.PDF", "scan.gt.txt"),
            ]
        );
        let skipped: Vec<_> = found
            .skipped
            .iter()
            .map(|s| s.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(skipped, ["HelloGoogle.tif", "trainingtimes.tif"]);
        assert_eq!(found.samples[0].stem(), "8071_093.3B");
    }

    #[test]
    fn manifest_round_trips_and_totals_group_by_degradation() {
        let rows = vec![
            ManifestRow {
                name: "a-clean".into(),
                degradation: "clean".into(),
                parameter: "".into(),
            },
            ManifestRow {
                name: "a-skew-5".into(),
                degradation: "skew".into(),
                parameter: "+5°".into(),
            },
        ];
        let parsed = parse_manifest(&manifest_tsv(&rows));
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed["a-skew-5"], rows[1]);

        let result = |reference: &str, hyp: &str, d: &str| FileResult {
            score: score(reference, hyp),
            pages: 1,
            seconds: 2.0,
            degradation: Some(d.to_owned()),
        };
        let results = [
            result("abcd", "abcd", "clean"),
            result("ab", "xb", "skew"),
            result("abcdefgh", "abcdefgx", "skew"),
        ];
        let t = totals(&results);
        assert_eq!((t.files, t.pages), (3, 3));
        assert!(close(t.mean_cer, (0.0 + 0.5 + 0.125) / 3.0));
        assert!(close(t.weighted_cer, 2.0 / 14.0));
        assert!(close(t.seconds, 6.0));
        assert_eq!(t.by_degradation["clean"].files, 1);
        assert!(close(
            t.by_degradation["skew"].mean_cer,
            (0.5 + 0.125) / 2.0
        ));
        assert!(totals(&[]).by_degradation.is_empty());
    }
}
