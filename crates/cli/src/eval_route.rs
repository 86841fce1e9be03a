//! `countersign eval route DIR`: routing measured on labelled documents — type accuracy per type
//! and overall, the confusion matrix, required-field recall, the share auto-routed, documents
//! auto-routed with the wrong type (must be none), whether every unclassified document was
//! flagged, and the share of clean, correctly typed documents that were auto-routed.
//!
//! Two layouts of DIR are understood:
//! - **labelled**: `<name>.label.json` beside each document (what `eval generate-docs` writes):
//!   `{"document_type", "fields": {name: value}, "degradation"?}`;
//! - **by folder** (like `shared/corpus/doctypes`): one folder per type, files anywhere below it;
//!   `other` means unclassified, `mixed` (bundles of several documents) is skipped. Expected
//!   fields come from sibling JSON where there is some: invoice2data's `<stem>.json`
//!   (`invoice_number`, `amount`, `date_due`) and `<file>.labels.json` of labelled forms
//!   (`PurchaseOrderNumber`, `VendorName`, `Total`). Word documents (DOCX: the text of
//!   `word/document.xml`) and Markdown/text files are typeset onto page images first, so they are
//!   read as a scanner would see them.
//!
//! Each document is read by `countersign_workflow::ocr_file` (the import's OCR) and routed by
//! `countersign_route::route` with the policy (the default, or `--policy FILE`). By default no
//! classifier is trained — a new installation's behaviour. `--train-on DIR2` trains one on
//! another labelled set (as if reviewers had confirmed those documents; a file also evaluated is
//! left out), `--cross-validate K` routes each document with a classifier trained on the other
//! folds (copies of one document in two formats share a fold); both together add DIR2 to every
//! fold's training set. Training uses the workflow's minimum (four documents of two types) and
//! the same text (the pages' OCR text).
//!
//! `--ocr-cache DIR3` (development): each document's OCR is kept in DIR3 under the sha256 of the
//! file and read back on the next run, so rules can be iterated on in seconds. The OCR itself is
//! the real one; delete DIR3 when the OCR changes.

use crate::gen_docs::{self, Label};
use crate::Output;
use countersign_core::DecisionAction;
use countersign_ocr::synth::{Font, SynthError};
use countersign_ocr::typeset::{Paragraph, Style, Typesetter};
use countersign_route::{normalize, route, ClassificationBasis, Model, Policy, UNCLASSIFIED};
use countersign_workflow::{ApiError, Error, ErrorCode};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Pages a typeset text source is cut to (long contracts: the first pages carry the title,
/// parties and dates; a scan of 20 pages would only cost time here).
const MAX_TEXT_PAGES: usize = 4;

/// How a document reaches OCR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum SourceKind {
    /// An image or PDF, read as it is.
    Scan,
    /// A DOCX, its text typeset onto pages first.
    Docx,
    /// Markdown or plain text, typeset onto pages first.
    Text,
}

/// One document to evaluate.
#[derive(Debug, Clone)]
struct Case {
    path: PathBuf,
    kind: SourceKind,
    expected_type: String,
    expected_fields: BTreeMap<String, String>,
    /// The label's degradation (`clean`, `skew`, …); `None` for real documents.
    degradation: Option<String>,
}

#[derive(Debug, Serialize)]
struct Skipped {
    file: String,
    reason: String,
}

/// What routing made of one document.
#[derive(Debug)]
struct Outcome {
    document_type: String,
    confidence: f64,
    classified_by: ClassificationBasis,
    /// Every type whose rules found evidence: (type, points, evidence).
    rules: Vec<serde_json::Value>,
    /// The classifier's best guess, if a classifier was used.
    classifier_top: Option<(String, f64)>,
    action: DecisionAction,
    reasons: Vec<String>,
    fields: BTreeMap<String, String>,
    pages: usize,
    seconds: f64,
}

fn is_label_file(name: &str) -> bool {
    name.ends_with(".label.json")
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn rel(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

const SCAN_EXTENSIONS: [&str; 8] = ["png", "jpg", "jpeg", "tif", "tiff", "pdf", "webp", "bmp"];

fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default()
}

/// The documents of DIR and what was skipped (with why).
fn discover(dir: &Path) -> std::io::Result<(Vec<Case>, Vec<Skipped>)> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    let labelled: Vec<&PathBuf> = entries
        .iter()
        .filter(|p| p.is_file() && is_label_file(&file_name(p)))
        .collect();
    let mut cases = Vec::new();
    let mut skipped = Vec::new();
    if !labelled.is_empty() {
        for label_path in labelled {
            let name = file_name(label_path);
            let stem = name.trim_end_matches(".label.json");
            let label: Label = match std::fs::read(label_path)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
            {
                Ok(l) => l,
                Err(e) => {
                    skipped.push(Skipped {
                        file: name.clone(),
                        reason: format!("unreadable label: {e}"),
                    });
                    continue;
                }
            };
            let doc = SCAN_EXTENSIONS
                .iter()
                .map(|ext| dir.join(format!("{stem}.{ext}")))
                .find(|p| p.is_file());
            match doc {
                Some(path) => cases.push(Case {
                    path,
                    kind: SourceKind::Scan,
                    expected_type: label.document_type,
                    expected_fields: label.fields,
                    degradation: label.degradation,
                }),
                None => skipped.push(Skipped {
                    file: name,
                    reason: "no document beside the label".into(),
                }),
            }
        }
        // Documents without a label are listed, not guessed at.
        for p in &entries {
            let name = file_name(p);
            if p.is_file()
                && SCAN_EXTENSIONS.contains(&extension(p).as_str())
                && !cases.iter().any(|c| &c.path == p)
            {
                skipped.push(Skipped {
                    file: name,
                    reason: "no label file".into(),
                });
            }
        }
        return Ok((cases, skipped));
    }
    for folder in entries.iter().filter(|p| p.is_dir()) {
        let name = file_name(folder);
        let expected = match name.as_str() {
            "mixed" => {
                for f in walk(folder)? {
                    skipped.push(Skipped {
                        file: rel(dir, &f),
                        reason: "a bundle of several documents (mixed)".into(),
                    });
                }
                continue;
            }
            "other" | "unclassified" => UNCLASSIFIED.to_string(),
            t => t.to_string(),
        };
        for f in walk(folder)? {
            let fname = file_name(&f);
            let ext = extension(&f);
            if ext == "json" {
                continue; // expected fields, read beside their document
            }
            let kind = if SCAN_EXTENSIONS.contains(&ext.as_str()) {
                SourceKind::Scan
            } else if ext == "docx" {
                SourceKind::Docx
            } else if ext == "md" || ext == "txt" {
                SourceKind::Text
            } else {
                skipped.push(Skipped {
                    file: rel(dir, &f),
                    reason: format!("not a document this evaluation reads (.{ext})"),
                });
                continue;
            };
            let _ = fname;
            cases.push(Case {
                expected_fields: expected_fields(&f),
                path: f,
                kind,
                expected_type: expected.clone(),
                degradation: None,
            });
        }
    }
    Ok((cases, skipped))
}

fn walk(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            out.extend(walk(&p)?);
        } else if p.is_file() {
            out.push(p);
        }
    }
    Ok(out)
}

/// Expected fields from sibling JSON files, in the policy's field names and normal forms.
fn expected_fields(doc: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let read = |p: PathBuf| -> Option<serde_json::Value> {
        serde_json::from_slice(&std::fs::read(p).ok()?).ok()
    };
    // invoice2data: <stem>.json, a list with one object.
    if let Some(v) = read(doc.with_extension("json")) {
        let obj = v.as_array().and_then(|a| a.first()).unwrap_or(&v);
        if let Some(n) = obj.get("invoice_number").and_then(|x| x.as_str()) {
            out.insert("invoice_number".into(), n.to_string());
        }
        if let Some(a) = obj.get("amount") {
            let text = match a {
                serde_json::Value::Number(n) => n.as_f64().map(|f| format!("{f:.2}")),
                serde_json::Value::String(s) => normalize::amount(s),
                _ => None,
            };
            if let Some(t) = text {
                out.insert("total_amount".into(), t);
            }
        }
        if let Some(d) = obj.get("date_due").and_then(|x| x.as_str()) {
            out.insert("due_date".into(), d.to_string());
        }
    }
    // Labelled forms: <file>.labels.json with {labels: [{label, value: [{text}]}]}.
    let mut labels = doc.as_os_str().to_owned();
    labels.push(".labels.json");
    if let Some(v) = read(PathBuf::from(labels)) {
        for l in v["labels"].as_array().into_iter().flatten() {
            let text: Vec<&str> = l["value"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|w| w["text"].as_str())
                .collect();
            let text = text.join(" ");
            let field = match l["label"].as_str() {
                Some("PurchaseOrderNumber") => "po_number",
                Some("VendorName") => "vendor_name",
                Some("Total") => "total_amount",
                _ => continue,
            };
            let value = if field == "total_amount" {
                normalize::amount(&text).unwrap_or(text)
            } else {
                text
            };
            out.insert(field.into(), value);
        }
    }
    out
}

/// Whether an extracted value is the labelled one, after normalisation.
fn same_value(field: &str, expected: &str, got: &str) -> bool {
    let amount = |s: &str| normalize::amount(s).and_then(|a| a.parse::<f64>().ok());
    if field.ends_with("amount") {
        return matches!((amount(expected), amount(got)), (Some(a), Some(b)) if (a - b).abs() < 0.005);
    }
    if field.ends_with("date") {
        let order = normalize::DateOrder::Mdy;
        let e = normalize::date(expected, order).unwrap_or_else(|| expected.to_string());
        let g = normalize::date(got, order).unwrap_or_else(|| got.to_string());
        return e == g;
    }
    if field.ends_with("number") {
        let id = |s: &str| -> String {
            s.trim()
                .trim_start_matches('#')
                .chars()
                .filter(|c| !c.is_whitespace())
                .flat_map(char::to_lowercase)
                .collect()
        };
        return id(expected) == id(got);
    }
    normalize::tokens(expected) == normalize::tokens(got)
}

// --- Text sources → page images --------------------------------------------------------------

fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let Some(end) = tail.find(';').filter(|&e| e <= 10) else {
            out.push('&');
            rest = &tail[1..];
            continue;
        };
        let entity = &tail[1..end];
        let c = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match c {
            Some(c) => out.push(c),
            None => out.push_str(&tail[..=end]),
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The paragraphs of a DOCX's `word/document.xml`: text runs (`w:t`), tabs and breaks; headings
/// and titles (paragraph style `Heading*` / `Title`) marked.
fn docx_paragraphs(path: &Path) -> Result<Vec<(String, bool)>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| format!("not a DOCX (zip): {e}"))?;
    let mut xml = String::new();
    {
        use std::io::Read;
        let mut part = zip
            .by_name("word/document.xml")
            .map_err(|e| format!("no word/document.xml: {e}"))?;
        part.read_to_string(&mut xml).map_err(|e| e.to_string())?;
    }
    let mut paragraphs = Vec::new();
    let mut current = String::new();
    let mut heading = false;
    let mut in_text = false;
    let mut rest = xml.as_str();
    while let Some(open) = rest.find('<') {
        if in_text {
            current.push_str(&decode_entities(&rest[..open]));
        }
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let tag = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        let name = tag
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("");
        let closing = tag.starts_with('/');
        match name {
            "w:t" => in_text = !closing && !tag.ends_with('/'),
            "w:tab" if !closing => current.push(' '),
            "w:br" | "w:cr" if !closing => {
                paragraphs.push((std::mem::take(&mut current), heading));
            }
            "w:pStyle" => {
                let val = tag
                    .split("w:val=\"")
                    .nth(1)
                    .and_then(|v| v.split('"').next())
                    .unwrap_or("");
                heading = val.starts_with("Heading") || val == "Title" || val == "Subtitle";
            }
            "w:p" if closing => {
                paragraphs.push((std::mem::take(&mut current), heading));
                heading = false;
            }
            "w:p" if !tag.ends_with('/') => heading = false,
            _ => {}
        }
    }
    Ok(paragraphs
        .into_iter()
        .map(|(t, h)| (t.split_whitespace().collect::<Vec<_>>().join(" "), h))
        .filter(|(t, _)| !t.is_empty())
        .collect())
}

/// Markdown as a reader sees it printed: markup removed, `#` headings marked.
fn markdown_paragraphs(path: &Path) -> Result<Vec<(String, bool)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let link = regex_lite_link();
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with("---") || t.starts_with("|--") {
            if !current.is_empty() {
                out.push((std::mem::take(&mut current), false));
            }
            continue;
        }
        let heading = t.starts_with('#');
        let t = t
            .trim_start_matches('#')
            .trim_start_matches(['-', '*', '>'])
            .trim();
        let t = link(t).replace(['*', '_', '`', '|'], " ");
        let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
        if heading {
            if !current.is_empty() {
                out.push((std::mem::take(&mut current), false));
            }
            out.push((t, true));
        } else {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(&t);
        }
    }
    if !current.is_empty() {
        out.push((current, false));
    }
    Ok(out)
}

/// `[text](url)` → `text`.
fn regex_lite_link() -> impl Fn(&str) -> String {
    |s: &str| {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("](") {
            let Some(open) = rest[..i].rfind('[') else {
                break;
            };
            let Some(close) = rest[i..].find(')') else {
                break;
            };
            out.push_str(&rest[..open]);
            out.push_str(&rest[open + 1..i]);
            rest = &rest[i + close + 1..];
        }
        out.push_str(rest);
        out
    }
}

/// Typesets a text source onto page images in `scratch`; returns the file to read (PNG or PDF).
fn typeset_source(case: &Case, scratch: &Path) -> Result<PathBuf, String> {
    let paragraphs = match case.kind {
        SourceKind::Docx => docx_paragraphs(&case.path)?,
        _ => markdown_paragraphs(&case.path)?,
    };
    if paragraphs.is_empty() {
        return Err("no text in the document".into());
    }
    let body = Style::new(Font::Times, 11.0);
    let laid: Vec<Paragraph> = paragraphs
        .into_iter()
        .map(|(text, heading)| Paragraph {
            text,
            style: if heading {
                body.bold().sized(13.0)
            } else {
                body
            },
            space_before: if heading { 10.0 } else { 5.0 },
        })
        .collect();
    let render = || -> Result<PathBuf, SynthError> {
        let mut ts = Typesetter::new()?;
        let pages = ts.flow(&laid, 72.0, MAX_TEXT_PAGES)?;
        let mut images = Vec::new();
        for p in &pages {
            images.push(ts.render(p)?);
        }
        let stem = case
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "doc".into());
        gen_docs::write_pages(scratch, &stem, &images)
    };
    render().map_err(|e| e.to_string())
}

// --- Running ---------------------------------------------------------------------------------

/// How `eval route` runs: the policy, an optional OCR cache, and whether (and how) a classifier
/// is trained.
#[derive(Debug, Default, Clone)]
pub struct RouteOptions {
    /// A policy file instead of the embedded default.
    pub policy: Option<PathBuf>,
    /// Development aid: each document's OCR is stored in this directory, keyed by the sha256 of
    /// the file (and how it reaches OCR), and read back on the next run instead of running OCR
    /// again. The OCR is the real one; delete the directory when the OCR changes.
    pub ocr_cache: Option<PathBuf>,
    /// Train the classifier on the labelled documents of this directory (as reviewers would
    /// have confirmed them) and route with it.
    pub train_on: Option<PathBuf>,
    /// k-fold cross-validation over DIR itself: each document is routed by a classifier trained
    /// on the other folds (plus `train_on`, if given), never on itself.
    pub cross_validate: Option<usize>,
}

/// A document read by OCR (or from the cache).
struct Read {
    pages: Vec<countersign_core::OcrPage>,
    /// sha256 of the original file: a training document identical to an evaluated one is not
    /// trained on.
    checksum: String,
    seconds: f64,
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The cache file of a document: its sha256 and how it reaches OCR (a typeset DOCX is read from
/// page images made of its text, not from the file).
fn cache_path(cache: &Path, checksum: &str, kind: SourceKind) -> PathBuf {
    let kind = match kind {
        SourceKind::Scan => "scan",
        SourceKind::Docx => "docx",
        SourceKind::Text => "text",
    };
    cache.join(format!("{checksum}.{kind}.ocr.json"))
}

async fn read_case(case: Case, cache: Option<PathBuf>) -> Result<Read, Error> {
    let started = Instant::now();
    let bytes = std::fs::read(&case.path).map_err(|e| {
        Error::new(
            ErrorCode::UnreadableFile,
            format!("cannot read {}: {e}", case.path.display()),
        )
    })?;
    let checksum = sha256_hex(&bytes);
    let cached = cache
        .as_deref()
        .map(|c| cache_path(c, &checksum, case.kind));
    if let Some(doc) = cached
        .as_deref()
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice::<countersign_core::OcrDocument>(&b).ok())
    {
        return Ok(Read {
            pages: doc.pages,
            checksum,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    let scratch = tempfile::tempdir().map_err(|e| Error::internal("making a scratch dir", e))?;
    let path = match case.kind {
        SourceKind::Scan => case.path.clone(),
        _ => {
            let c = case.clone();
            let dir = scratch.path().to_owned();
            tokio::task::spawn_blocking(move || typeset_source(&c, &dir))
                .await
                .map_err(|e| Error::internal("typesetting a document", e))?
                .map_err(|m| Error::new(ErrorCode::UnreadableFile, m))?
        }
    };
    let doc = countersign_workflow::ocr_file(&path).await?;
    if let Some(p) = cached {
        // A cache that cannot be written only costs time on the next run.
        let _ = std::fs::create_dir_all(p.parent().unwrap_or(Path::new(".")));
        let _ = std::fs::write(&p, serde_json::to_vec(&doc).unwrap_or_default());
    }
    Ok(Read {
        pages: doc.pages,
        checksum,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Reads every case (two documents at a time: a one-page document keeps about one core busy).
async fn read_all(
    cases: &[Case],
    cache: Option<&Path>,
    what: &str,
) -> Result<Vec<Result<Read, Error>>, Error> {
    let bar = progress(cases.len(), what);
    let permits = Arc::new(tokio::sync::Semaphore::new(2));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, case) in cases.iter().cloned().enumerate() {
        let permits = permits.clone();
        let cache = cache.map(Path::to_owned);
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("semaphore open");
            (i, read_case(case, cache).await)
        });
    }
    let mut done: Vec<Option<Result<Read, Error>>> = (0..cases.len()).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        let (i, result) = joined.map_err(|e| Error::internal("reading a document", e))?;
        if let Some(bar) = &bar {
            bar.inc(1);
            bar.set_message(file_name(&cases[i].path));
        }
        done[i] = Some(result);
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(done
        .into_iter()
        .map(|r| r.expect("every task reported"))
        .collect())
}

/// A model trained on `examples` when the workflow would train one (its own minimum and text:
/// [`countersign_workflow::classifier::enough_to_train`], `training_text`).
fn train(examples: &[(String, String)]) -> Option<Model> {
    if !countersign_workflow::classifier::enough_to_train(examples) {
        return None;
    }
    Model::train(examples).ok()
}

/// Fold of each case for k-fold cross-validation: stratified by expected type (the n-th document
/// of a type goes to fold n mod k), deterministic. Files of one folder with the same name but
/// another extension (`oyo.pdf`, `oyo.png`: one document in two formats) are one document and
/// share a fold, so a document is never tested against a copy of itself.
fn folds(cases: &[Case], k: usize) -> Vec<usize> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut group_fold: BTreeMap<PathBuf, usize> = BTreeMap::new();
    cases
        .iter()
        .map(|c| {
            let group = c.path.with_extension("");
            if let Some(&fold) = group_fold.get(&group) {
                return fold;
            }
            let n = seen.entry(c.expected_type.as_str()).or_insert(0);
            let fold = *n % k;
            *n += 1;
            group_fold.insert(group, fold);
            fold
        })
        .collect()
}

/// How the classifier was set up, for the report.
#[derive(Debug, Serialize)]
struct ClassifierSetup {
    /// `none` (rules only), `train_on`, `cross_validate` or `train_on+cross_validate`.
    mode: String,
    train_on: Option<PathBuf>,
    folds: Option<usize>,
    /// Training documents from `train_on`.
    external_examples: usize,
    /// Training documents of `train_on` left out because the same file is evaluated.
    excluded_same_file: usize,
    /// Training documents per model (one model, or one per fold).
    examples_per_model: Vec<usize>,
}

/// Tallies for the summary.
#[derive(Default)]
struct Tally {
    documents: usize,
    failed: usize,
    correct: usize,
    per_type: BTreeMap<String, (usize, usize)>,
    confusion: BTreeMap<String, BTreeMap<String, usize>>,
    /// field → (labelled, matched, labelled where required, matched where required)
    fields: BTreeMap<String, (usize, usize, usize, usize)>,
    auto_routed: usize,
    wrong_auto: Vec<String>,
    unclassified: usize,
    unclassified_flagged: usize,
    clean_correct: usize,
    clean_correct_auto: usize,
    correct_typed: usize,
    correct_typed_auto: usize,
}

fn action_str(a: DecisionAction) -> &'static str {
    match a {
        DecisionAction::AutoRoute => "auto_route",
        DecisionAction::Review => "review",
        DecisionAction::Quarantine => "quarantine",
    }
}

pub async fn run(dir: &Path, options: &RouteOptions, out: &mut Output) -> Result<(), Error> {
    let policy = match options.policy.as_deref() {
        Some(p) => Policy::load(p).map_err(|e| {
            let code = if e.code() == "invalid_policy" {
                ErrorCode::InvalidPolicy
            } else {
                ErrorCode::UnreadableFile
            };
            Error::new(code, e.to_string())
        })?,
        None => Policy::embedded_default(),
    };
    if options.cross_validate.is_some_and(|k| k < 2) {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "--cross-validate needs at least 2 folds",
        ));
    }
    let discover_in = |d: &Path| {
        discover(d).map_err(|e| {
            Error::new(
                ErrorCode::UnreadableFile,
                format!("cannot read the directory {}: {e}", d.display()),
            )
        })
    };
    let (cases, skipped) = discover_in(dir)?;
    if cases.is_empty() {
        return Err(Error::new(
            ErrorCode::NotFound,
            format!(
                "no labelled document in {} (neither <name>.label.json files nor one folder per type)",
                dir.display()
            ),
        ));
    }
    let started = Instant::now();
    let cache = options.ocr_cache.as_deref();
    let reads = read_all(&cases, cache, "reading").await?;

    // Training documents from another labelled set, never one identical to an evaluated file.
    let mut external: Vec<(String, String)> = Vec::new();
    let mut excluded_same_file = 0;
    if let Some(train_dir) = options.train_on.as_deref() {
        let (train_cases, _) = discover_in(train_dir)?;
        let evaluated: std::collections::BTreeSet<&str> = reads
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|r| r.checksum.as_str()))
            .collect();
        let train_reads = read_all(&train_cases, cache, "reading training set").await?;
        for (case, read) in train_cases.iter().zip(train_reads) {
            let Ok(read) = read else { continue };
            if evaluated.contains(read.checksum.as_str()) {
                excluded_same_file += 1;
                continue;
            }
            let text = countersign_workflow::classifier::training_text(&read.pages);
            if !text.trim().is_empty() {
                external.push((text, case.expected_type.clone()));
            }
        }
    }

    // One classifier for all documents, or one per fold trained without that fold.
    let fold_of = options.cross_validate.map(|k| folds(&cases, k));
    let mut models: Vec<Option<Model>> = Vec::new();
    let mut examples_per_model = Vec::new();
    match (&fold_of, options.cross_validate) {
        (Some(fold_of), Some(k)) => {
            for fold in 0..k {
                let mut examples = external.clone();
                for ((case, read), f) in cases.iter().zip(&reads).zip(fold_of) {
                    if *f == fold {
                        continue;
                    }
                    if let Ok(read) = read {
                        let text = countersign_workflow::classifier::training_text(&read.pages);
                        if !text.trim().is_empty() {
                            examples.push((text, case.expected_type.clone()));
                        }
                    }
                }
                examples_per_model.push(examples.len());
                models.push(train(&examples));
            }
        }
        _ if options.train_on.is_some() => {
            examples_per_model.push(external.len());
            models.push(train(&external));
        }
        _ => {}
    }
    let setup = ClassifierSetup {
        mode: match (options.train_on.is_some(), options.cross_validate.is_some()) {
            (false, false) => "none",
            (true, false) => "train_on",
            (false, true) => "cross_validate",
            (true, true) => "train_on+cross_validate",
        }
        .to_string(),
        train_on: options.train_on.clone(),
        folds: options.cross_validate,
        external_examples: external.len(),
        excluded_same_file,
        examples_per_model,
    };

    let mut tally = Tally::default();
    if !out.json {
        println!(
            "{:<58} {:<16} {:<16} {:<10} fields (✓ matched / ✗ not)",
            "document", "expected", "got", "decision"
        );
    }
    for (i, (case, read)) in cases.iter().zip(reads).enumerate() {
        let model = match &fold_of {
            Some(f) => models[f[i]].as_ref(),
            None => models.first().and_then(Option::as_ref),
        };
        let result = read.map(|read| {
            let outcome = route(&policy, &read.pages, model);
            Outcome {
                document_type: outcome.document_type,
                confidence: outcome.classification_confidence,
                classified_by: outcome.classified_by,
                rules: outcome
                    .rule_matches
                    .iter()
                    .map(|m| {
                        json!({
                            "document_type": m.document_type,
                            "points": m.points,
                            "clear": m.clear,
                            "evidence": m.evidence,
                        })
                    })
                    .collect(),
                classifier_top: outcome
                    .classifier_scores
                    .first()
                    .map(|s| (s.document_type.clone(), s.probability)),
                action: outcome.decision.action,
                reasons: outcome.decision.reasons,
                fields: outcome
                    .fields
                    .into_iter()
                    .map(|(k, f)| (k, f.value))
                    .collect(),
                pages: read.pages.len(),
                seconds: read.seconds,
            }
        });
        record(dir, case, &result, &policy, &mut tally, out);
    }
    summary(
        dir,
        &tally,
        &skipped,
        &setup,
        started.elapsed().as_secs_f64(),
        out,
    );
    Ok(())
}

fn record(
    dir: &Path,
    case: &Case,
    result: &Result<Outcome, Error>,
    policy: &Policy,
    tally: &mut Tally,
    out: &Output,
) {
    let name = rel(dir, &case.path);
    tally.documents += 1;
    let expected = case.expected_type.as_str();
    let entry = tally.per_type.entry(expected.to_string()).or_default();
    entry.0 += 1;
    let outcome = match result {
        Ok(o) => o,
        Err(e) => {
            tally.failed += 1;
            *tally
                .confusion
                .entry(expected.to_string())
                .or_default()
                .entry("(error)".into())
                .or_default() += 1;
            if expected == UNCLASSIFIED {
                // Not routed at all: flagged.
                tally.unclassified += 1;
                tally.unclassified_flagged += 1;
            }
            let api = ApiError::from(Error::new(e.code, e.message.clone()));
            if out.json {
                out.line(&json!({
                    "file": name,
                    "path": case.path,
                    "expected_type": expected,
                    "error": api,
                }));
            } else {
                println!(
                    "{name:<58} {expected:<16} error[{}]: {}",
                    api.code.as_str(),
                    api.message
                );
            }
            return;
        }
    };
    let correct = outcome.document_type == expected;
    if correct {
        tally.correct += 1;
        entry.1 += 1;
    }
    *tally
        .confusion
        .entry(expected.to_string())
        .or_default()
        .entry(outcome.document_type.clone())
        .or_default() += 1;
    let auto = outcome.action == DecisionAction::AutoRoute;
    if auto {
        tally.auto_routed += 1;
        if !correct {
            tally.wrong_auto.push(name.clone());
        }
    }
    if expected == UNCLASSIFIED {
        tally.unclassified += 1;
        if !auto {
            tally.unclassified_flagged += 1;
        }
    } else if correct {
        tally.correct_typed += 1;
        tally.correct_typed_auto += usize::from(auto);
        if case.degradation.as_deref().is_none_or(|d| d == "clean") {
            tally.clean_correct += 1;
            tally.clean_correct_auto += usize::from(auto);
        }
    }
    // Field recall: the labelled fields the expected type extracts.
    let (required, optional): (Vec<String>, Vec<String>) = policy
        .types
        .get(expected)
        .map(|t| (t.required_fields.clone(), t.optional_fields.clone()))
        .unwrap_or_default();
    let mut matches = BTreeMap::new();
    for (field, want) in &case.expected_fields {
        let is_required = required.contains(field);
        if !is_required && !optional.contains(field) {
            continue;
        }
        let got = outcome.fields.get(field);
        let hit = got.is_some_and(|g| same_value(field, want, g));
        let e = tally.fields.entry(field.clone()).or_default();
        e.0 += 1;
        e.1 += usize::from(hit);
        if is_required {
            e.2 += 1;
            e.3 += usize::from(hit);
        }
        matches.insert(field.clone(), hit);
    }
    if out.json {
        out.line(&json!({
            "file": name,
            "path": case.path,
            "source": case.kind,
            "expected_type": expected,
            "document_type": outcome.document_type,
            "correct": correct,
            "classification_confidence": outcome.confidence,
            "classified_by": outcome.classified_by,
            "rules": outcome.rules,
            "classifier_top": outcome.classifier_top,
            "action": action_str(outcome.action),
            "reasons": outcome.reasons,
            "fields": outcome.fields,
            "expected_fields": case.expected_fields,
            "field_matches": matches,
            "degradation": case.degradation,
            "pages": outcome.pages,
            "seconds": outcome.seconds,
        }));
    } else {
        let fields: Vec<String> = matches
            .iter()
            .map(|(f, hit)| {
                let got = outcome.fields.get(f).map(String::as_str).unwrap_or("-");
                if *hit {
                    format!("✓{f}")
                } else {
                    format!("✗{f}={got} (want {})", case.expected_fields[f])
                }
            })
            .collect();
        println!(
            "{:<58} {:<16} {:<16} {:<10} {}",
            name,
            expected,
            if correct {
                outcome.document_type.clone()
            } else {
                format!("{} ✗", outcome.document_type)
            },
            action_str(outcome.action),
            fields.join(" ")
        );
        if !auto && !outcome.reasons.is_empty() {
            println!("    why: {}", outcome.reasons.join("; "));
        }
    }
}

fn share(n: usize, d: usize) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

fn summary(
    dir: &Path,
    t: &Tally,
    skipped: &[Skipped],
    classifier: &ClassifierSetup,
    seconds: f64,
    out: &Output,
) {
    let accuracy = share(t.correct, t.documents);
    let (req_labelled, req_matched) = t
        .fields
        .values()
        .fold((0, 0), |(a, b), (_, _, l, m)| (a + l, b + m));
    let required_recall = share(req_matched, req_labelled);
    let all_flagged = t.unclassified_flagged == t.unclassified;
    let clean_share = share(t.clean_correct_auto, t.clean_correct);
    let targets = json!({
        "type_accuracy_at_least_0_97": accuracy.is_some_and(|a| a >= 0.97),
        "no_wrong_type_auto_routed": t.wrong_auto.is_empty(),
        "every_unclassified_flagged": all_flagged,
        "required_field_recall_at_least_0_90": required_recall.is_none_or(|r| r >= 0.90),
        "clean_correct_auto_routed_at_least_0_80": clean_share.is_none_or(|s| s >= 0.80),
    });
    if out.json {
        let per_type: BTreeMap<&String, serde_json::Value> = t
            .per_type
            .iter()
            .map(|(k, (n, c))| {
                (
                    k,
                    json!({"documents": n, "correct": c, "accuracy": share(*c, *n)}),
                )
            })
            .collect();
        let fields: BTreeMap<&String, serde_json::Value> = t
            .fields
            .iter()
            .map(|(k, (l, m, rl, rm))| {
                (
                    k,
                    json!({
                        "labelled": l,
                        "matched": m,
                        "recall": share(*m, *l),
                        "required": *rl > 0,
                        "required_labelled": rl,
                        "required_matched": rm,
                    }),
                )
            })
            .collect();
        out.line(&json!({
            "summary": true,
            "dir": dir,
            "documents": t.documents,
            "failed": t.failed,
            "skipped": skipped,
            "correct": t.correct,
            "accuracy": accuracy,
            "per_type": per_type,
            "confusion": t.confusion,
            "field_recall": fields,
            "required_field_recall": required_recall,
            "auto_routed": t.auto_routed,
            "auto_routed_share": share(t.auto_routed, t.documents),
            "auto_routed_wrong_type": t.wrong_auto.len(),
            "wrong_type_auto_routed_files": t.wrong_auto,
            "unclassified_documents": t.unclassified,
            "unclassified_flagged": t.unclassified_flagged,
            "all_unclassified_flagged": all_flagged,
            "correct_typed": t.correct_typed,
            "correct_typed_auto_routed": t.correct_typed_auto,
            "clean_correct_typed": t.clean_correct,
            "clean_correct_typed_auto_routed": t.clean_correct_auto,
            "clean_correct_typed_auto_routed_share": clean_share,
            "targets": targets,
            "classifier": classifier,
            "seconds": seconds,
        }));
        return;
    }
    let pct = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{:.1} %", v * 100.0));
    println!();
    println!(
        "classifier: {}",
        match classifier.mode.as_str() {
            "none" => "none (rules only)".to_string(),
            m => format!(
                "{m}{}{}, training documents per model {:?}{}",
                classifier
                    .train_on
                    .as_ref()
                    .map_or(String::new(), |p| format!(", trained on {}", p.display())),
                classifier
                    .folds
                    .map_or(String::new(), |k| format!(", {k} folds")),
                classifier.examples_per_model,
                if classifier.excluded_same_file > 0 {
                    format!(
                        " ({} training files left out: also evaluated)",
                        classifier.excluded_same_file
                    )
                } else {
                    String::new()
                }
            ),
        }
    );
    println!(
        "{} document(s){}: type accuracy {} ({} correct)",
        t.documents,
        if t.failed > 0 {
            format!(", {} failed", t.failed)
        } else {
            String::new()
        },
        pct(accuracy),
        t.correct
    );
    println!(
        "\n{:<18} {:>5} {:>8} {:>9}",
        "type", "docs", "correct", "accuracy"
    );
    for (k, (n, c)) in &t.per_type {
        println!("{k:<18} {n:>5} {c:>8} {:>9}", pct(share(*c, *n)));
    }
    // Confusion matrix: rows expected, columns predicted.
    let mut cols: Vec<String> = t
        .confusion
        .values()
        .flat_map(|m| m.keys().cloned())
        .chain(t.per_type.keys().cloned())
        .collect();
    cols.sort();
    cols.dedup();
    let abbrev = |s: &str| -> String { s.chars().take(12).collect() };
    println!("\nconfusion matrix (rows: expected, columns: predicted)");
    print!("{:<18}", "");
    for c in &cols {
        print!(" {:>12}", abbrev(c));
    }
    println!();
    for k in t.per_type.keys() {
        print!("{:<18}", abbrev(k));
        for c in &cols {
            let n = t
                .confusion
                .get(k)
                .and_then(|m| m.get(c))
                .copied()
                .unwrap_or(0);
            print!(
                " {:>12}",
                if n == 0 {
                    ".".to_string()
                } else {
                    n.to_string()
                }
            );
        }
        println!();
    }
    println!(
        "\n{:<20} {:>9} {:>8} {:>8}",
        "field", "labelled", "matched", "recall"
    );
    for (k, (l, m, rl, rm)) in &t.fields {
        println!(
            "{:<20} {l:>9} {m:>8} {:>8}{}",
            format!("{k}{}", if *rl > 0 { " *" } else { "" }),
            pct(share(*m, *l)),
            if *rl > 0 && rl != l {
                format!("   (where required: {rm}/{rl})")
            } else {
                String::new()
            }
        );
    }
    println!(
        "(* required) required-field recall: {} ({req_matched}/{req_labelled})",
        pct(required_recall)
    );
    println!();
    println!(
        "auto-routed: {} of {} ({})",
        t.auto_routed,
        t.documents,
        pct(share(t.auto_routed, t.documents))
    );
    println!(
        "auto-routed with the WRONG type: {}{}",
        t.wrong_auto.len(),
        if t.wrong_auto.is_empty() {
            String::new()
        } else {
            format!(" ({})", t.wrong_auto.join(", "))
        }
    );
    println!(
        "unclassified documents flagged (not auto-routed): {} of {}{}",
        t.unclassified_flagged,
        t.unclassified,
        if all_flagged {
            " — all"
        } else {
            " — NOT all"
        }
    );
    println!(
        "clean, correctly typed documents auto-routed: {} of {} ({}); all correctly typed: {} of {} ({})",
        t.clean_correct_auto,
        t.clean_correct,
        pct(clean_share),
        t.correct_typed_auto,
        t.correct_typed,
        pct(share(t.correct_typed_auto, t.correct_typed))
    );
    println!("{seconds:.1} s");
    if !skipped.is_empty() {
        println!("\nskipped:");
        for s in skipped {
            println!("  {}: {}", s.file, s.reason);
        }
    }
}

/// A bar on stderr when a person is watching; nothing otherwise.
fn progress(len: usize, what: &str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {what} [{{bar:30}}] {{pos}}/{{len}} {{elapsed}}  {{msg}}"
        ))
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_compare_after_normalisation() {
        assert!(same_value("total_amount", "1234.50", "1234.5"));
        assert!(same_value("total_amount", "4.11", "$4.11"));
        assert!(!same_value("total_amount", "4.11", "4.12"));
        assert!(same_value("invoice_number", "#BLR_1", "BLR_1"));
        assert!(same_value("due_date", "2025-03-01", "2025-03-01"));
        assert!(same_value("vendor_name", "Acme, Inc.", "ACME Inc"));
        assert!(!same_value("party_b", "Acme Inc.", "Beta LLC"));
    }

    fn case(path: &str, ty: &str) -> Case {
        Case {
            path: PathBuf::from(path),
            kind: SourceKind::Scan,
            expected_type: ty.into(),
            expected_fields: BTreeMap::new(),
            degradation: None,
        }
    }

    #[test]
    fn folds_are_stratified_and_keep_copies_of_a_document_together() {
        let cases = [
            case("invoice/a.pdf", "invoice"),
            case("invoice/a.png", "invoice"),
            case("invoice/b.pdf", "invoice"),
            case("invoice/c.pdf", "invoice"),
            case("nda/x.docx", "nda"),
            case("nda/y.docx", "nda"),
            case("other/a.pdf", "unclassified"),
            case("nda/a.pdf", "nda"),
        ];
        assert_eq!(folds(&cases, 2), [0, 0, 1, 0, 0, 1, 0, 0]);
        // The same name in another folder is another document (nda/a.pdf: the third NDA).
        assert_eq!(folds(&cases, 3), [0, 0, 1, 2, 0, 1, 0, 2]);
    }

    #[test]
    fn training_needs_four_documents_of_two_types() {
        let ex = |n: usize, types: &[&str]| -> Vec<(String, String)> {
            (0..n)
                .map(|i| {
                    let t = types[i % types.len()];
                    (format!("{t} document number {i}"), t.to_string())
                })
                .collect()
        };
        assert!(train(&ex(3, &["invoice", "nda"])).is_none());
        assert!(train(&ex(6, &["invoice"])).is_none());
        assert!(train(&ex(4, &["invoice", "nda"])).is_some());
    }

    #[test]
    fn entities_and_links_are_decoded() {
        assert_eq!(
            decode_entities("A &amp; B &#8220;x&#x201D; &lt;"),
            "A & B \u{201c}x\u{201d} <"
        );
        assert_eq!(
            regex_lite_link()("see [the terms](https://x.y/z) now"),
            "see the terms now"
        );
    }
}
