//! `countersign eval`: measuring OCR accuracy against ground truth (no data dir is touched).
//!
//! - `eval ocr DIR [--text-from DIR2]`: every image in DIR with ground truth (see
//!   `countersign_ocr::eval::discover`) is read with `countersign_workflow::ocr_file` — the same
//!   validation, rendering and engines as an import — and scored (CER, WER); or, with
//!   `--text-from`, scored on the text in `DIR2/<image stem>.txt` instead, so other OCR tools'
//!   output is judged by the same code. A table per file and the totals, or with `--json` one line
//!   per file and a last line with `"summary": true`. With the `MANIFEST.tsv` of `eval generate`
//!   in DIR, the mean CER per degradation too.
//! - `eval generate OUT_DIR [--scan12]`: writes the synthetic evaluation set (or the 12-page scan
//!   for benchmarks) of `countersign_ocr::synth`.

use crate::Output;
use countersign_ocr::eval::{self, FileResult, ManifestRow, Sample, Score};
use countersign_ocr::synth::{self, SynthError};
use countersign_workflow::{ApiError, Error, ErrorCode};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

#[derive(clap::Subcommand)]
pub enum EvalCommand {
    /// Score OCR on every image of DIR that has ground truth (`<stem>.gt.txt`, `<stem>.txt`, or
    /// the .txt whose stem is the longest prefix of the image's); the others are listed as skipped.
    Ocr {
        dir: PathBuf,
        /// Do not run OCR: read each image's recognised text from DIR2/<image stem>.txt.
        #[arg(long, value_name = "DIR2")]
        text_from: Option<PathBuf>,
        /// Give up on a file whose OCR takes longer than this (it is reported as that file's
        /// error, `decode_timeout`, and the run exits non-zero).
        #[arg(long, value_name = "SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
        timeout: u64,
    },
    /// Write a synthetic evaluation set with known text: pages in 3 fonts, clean and degraded
    /// (skew, rotation, noise, blur, low contrast, low dpi), as PNG + .gt.txt and MANIFEST.tsv.
    Generate {
        out_dir: PathBuf,
        /// Instead: a 12-page mildly degraded scan (PNG pages + .gt.txt, and scan12.pdf).
        #[arg(long)]
        scan12: bool,
    },
    /// Write a labelled set for routing evaluation: synthetic documents of the five default
    /// types and unclassified ones, varied in wording, fonts, layout and degradation, each as
    /// `<name>.png` (or `.pdf`) + `<name>.label.json`.
    GenerateDocs {
        out_dir: PathBuf,
        /// Documents per class (six classes).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=500))]
        count: u64,
        /// Seed of the random names, numbers, dates and amounts.
        #[arg(long, default_value_t = 2025)]
        seed: u64,
    },
    /// Route every labelled document of DIR (`<name>.label.json` beside it, or one folder per
    /// type) and report type accuracy, the confusion matrix, field recall and decisions.
    Route {
        dir: PathBuf,
        /// A routing policy file instead of the embedded default.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// Development aid: keep each document's OCR in DIR (keyed by the file's sha256) and
        /// reuse it on the next run. Delete the directory when the OCR changes.
        #[arg(long, value_name = "DIR")]
        ocr_cache: Option<PathBuf>,
        /// Route with a classifier trained on the labelled documents of DIR2 (as if reviewers
        /// had confirmed them). Files that are also evaluated are left out of training.
        #[arg(long, value_name = "DIR2")]
        train_on: Option<PathBuf>,
        /// k-fold cross-validation: each document of DIR is routed by a classifier trained on
        /// the other folds (and on --train-on), never on itself.
        #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(2..=100))]
        cross_validate: Option<u64>,
    },
}

pub async fn run(command: EvalCommand, out: &mut Output) -> Result<(), Error> {
    match command {
        EvalCommand::Ocr {
            dir,
            text_from,
            timeout,
        } => ocr(&dir, text_from.as_deref(), timeout, out).await,
        EvalCommand::Generate { out_dir, scan12 } => generate(out_dir, scan12, out).await,
        EvalCommand::GenerateDocs {
            out_dir,
            count,
            seed,
        } => generate_docs(out_dir, count as usize, seed, out).await,
        EvalCommand::Route {
            dir,
            policy,
            ocr_cache,
            train_on,
            cross_validate,
        } => {
            let options = crate::eval_route::RouteOptions {
                policy,
                ocr_cache,
                train_on,
                cross_validate: cross_validate.map(|k| k as usize),
            };
            crate::eval_route::run(&dir, &options, out).await
        }
    }
}

async fn generate(dir: PathBuf, scan12: bool, out: &mut Output) -> Result<(), Error> {
    let started = Instant::now();
    let target = dir.clone();
    let rows = tokio::task::spawn_blocking(move || {
        if scan12 {
            synth::generate_scan12(&target)
        } else {
            synth::generate(&target)
        }
    })
    .await
    .map_err(|e| Error::internal("generating the evaluation set", e))?
    .map_err(synth_error)?;
    let pdf = scan12.then(|| dir.join(synth::SCAN12_PDF));
    if out.json {
        for r in &rows {
            out.line(&serde_json::json!({
                "name": r.name,
                "degradation": r.degradation,
                "parameter": r.parameter,
                "image": dir.join(format!("{}.png", r.name)),
                "ground_truth": dir.join(format!("{}.gt.txt", r.name)),
            }));
        }
        out.line(&serde_json::json!({
            "summary": true,
            "dir": dir,
            "pages": rows.len(),
            "manifest": dir.join(eval::MANIFEST),
            "pdf": pdf,
        }));
    } else {
        println!(
            "wrote {} pages with ground truth to {} in {:.1} s{}",
            rows.len(),
            dir.display(),
            started.elapsed().as_secs_f64(),
            pdf.map(|p| format!(" (and {})", p.display()))
                .unwrap_or_default()
        );
    }
    Ok(())
}

async fn generate_docs(
    dir: PathBuf,
    count: usize,
    seed: u64,
    out: &mut Output,
) -> Result<(), Error> {
    let started = Instant::now();
    let target = dir.clone();
    let bar = progress(count * crate::gen_docs::CLASSES.len());
    let shown = bar.clone();
    let docs = tokio::task::spawn_blocking(move || {
        crate::gen_docs::generate(&target, count, seed, |g| {
            if let Some(bar) = &shown {
                bar.inc(1);
                bar.set_message(g.name.clone());
            }
        })
    })
    .await
    .map_err(|e| Error::internal("generating the labelled set", e))?
    .map_err(synth_error)?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if out.json {
        for g in &docs {
            out.line(&serde_json::json!({
                "name": g.name,
                "file": g.file,
                "label": dir.join(format!("{}.label.json", g.name)),
                "document_type": g.label.document_type,
                "fields": g.label.fields,
                "degradation": g.label.degradation,
                "pages": g.label.pages,
            }));
        }
        out.line(&serde_json::json!({
            "summary": true,
            "dir": dir,
            "documents": docs.len(),
            "seed": seed,
        }));
    } else {
        println!(
            "wrote {} labelled documents ({count} per class) to {} in {:.1} s",
            docs.len(),
            dir.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn synth_error(e: SynthError) -> Error {
    match e {
        SynthError::Unavailable(m) => Error::new(ErrorCode::EngineUnavailable, m),
        SynthError::Write { .. } => Error::new(ErrorCode::UnreadableFile, e.to_string()),
        other => Error::internal("generating the evaluation set", other),
    }
}

/// A file's score, pages and seconds, or why it has none.
type Outcome = Result<(Score, usize, f64), Error>;

/// One file's outcome.
struct Scored {
    sample: Sample,
    manifest: Option<ManifestRow>,
    result: Outcome,
}

async fn ocr(
    dir: &Path,
    text_from: Option<&Path>,
    timeout_secs: u64,
    out: &mut Output,
) -> Result<(), Error> {
    let found = eval::discover(dir).map_err(|e| {
        Error::new(
            ErrorCode::UnreadableFile,
            format!("cannot read the directory {}: {e}", dir.display()),
        )
    })?;
    if let Some(d) = text_from {
        if !d.is_dir() {
            return Err(Error::new(
                ErrorCode::UnreadableFile,
                format!("{} is not a directory", d.display()),
            ));
        }
    }
    if found.samples.is_empty() {
        return Err(Error::new(
            ErrorCode::NotFound,
            format!(
                "no image with ground truth in {} ({} image(s) without)",
                dir.display(),
                found.skipped.len()
            ),
        ));
    }
    let manifest = std::fs::read_to_string(dir.join(eval::MANIFEST))
        .map(|t| eval::parse_manifest(&t))
        .unwrap_or_default();
    let grouped = !manifest.is_empty();

    let bar = progress(found.samples.len());
    if !out.json {
        print_header(grouped);
    }
    let started = Instant::now();
    // OCR: as many files at once as there are cores (a one-page file keeps one core busy).
    // Results are printed in file order as soon as all earlier ones are in.
    let parallel = if text_from.is_some() {
        1
    } else {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    };
    let permits = Arc::new(tokio::sync::Semaphore::new(parallel));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, sample) in found.samples.iter().cloned().enumerate() {
        let permits = permits.clone();
        let text_from = text_from.map(Path::to_owned);
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("semaphore open");
            let limit = std::time::Duration::from_secs(timeout_secs);
            let result = tokio::time::timeout(limit, score_one(&sample, text_from.as_deref()))
                .await
                .unwrap_or_else(|_| {
                    Err(Error::new(
                        ErrorCode::DecodeTimeout,
                        format!("OCR did not finish within {timeout_secs} s"),
                    ))
                });
            (i, result)
        });
    }
    let mut done: Vec<Option<Outcome>> = (0..found.samples.len()).map(|_| None).collect();
    let mut next = 0;
    let mut results = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (i, result) = joined.map_err(|e| Error::internal("scoring a file", e))?;
        done[i] = Some(result);
        if let Some(bar) = &bar {
            bar.inc(1);
            bar.set_message(file_name(&found.samples[i].image));
        }
        while next < done.len() && done[next].is_some() {
            let sample = found.samples[next].clone();
            let scored = Scored {
                manifest: manifest.get(&sample.stem()).cloned(),
                result: done[next].take().expect("checked"),
                sample,
            };
            if let Some(bar) = &bar {
                bar.suspend(|| report(&scored, grouped, out));
            } else {
                report(&scored, grouped, out);
            }
            results.push(scored);
            next += 1;
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let wall = started.elapsed().as_secs_f64();

    let ok: Vec<FileResult> = results
        .iter()
        .filter_map(|s| {
            let (score, pages, seconds) = s.result.as_ref().ok()?;
            Some(FileResult {
                score: *score,
                pages: *pages,
                seconds: *seconds,
                degradation: s.manifest.as_ref().map(|m| m.degradation.clone()),
            })
        })
        .collect();
    let failed = results.len() - ok.len();
    let totals = eval::totals(&ok);
    let ran_ocr = text_from.is_none();
    let pages_per_minute = (ran_ocr && wall > 0.0).then(|| totals.pages as f64 * 60.0 / wall);
    let skipped: Vec<String> = found.skipped.iter().map(|p| file_name(p)).collect();
    if out.json {
        out.line(&serde_json::json!({
            "summary": true,
            "dir": dir,
            "text_from": text_from,
            "files": totals.files,
            "failed": failed,
            "skipped": skipped,
            "pages": totals.pages,
            "mean_cer": totals.mean_cer,
            "weighted_cer": totals.weighted_cer,
            "mean_wer": totals.mean_wer,
            "weighted_wer": totals.weighted_wer,
            "seconds": if ran_ocr { Some(wall) } else { None },
            "pages_per_minute": pages_per_minute,
            "by_degradation": totals.by_degradation,
        }));
    } else {
        println!();
        println!(
            "{} file(s), {} page(s){}: mean CER {:.4}, weighted CER {:.4} (all edits ÷ all reference characters); mean WER {:.4}, weighted WER {:.4}",
            totals.files,
            totals.pages,
            if failed > 0 { format!(", {failed} failed") } else { String::new() },
            totals.mean_cer,
            totals.weighted_cer,
            totals.mean_wer,
            totals.weighted_wer,
        );
        if let Some(ppm) = pages_per_minute {
            println!("{wall:.1} s wall, {ppm:.1} pages/min ({parallel} file(s) at a time)");
        }
        if !totals.by_degradation.is_empty() {
            println!(
                "\n{:<20} {:>5} {:>8} {:>8}",
                "degradation", "files", "mean CER", "mean WER"
            );
            for (d, g) in &totals.by_degradation {
                println!(
                    "{:<20} {:>5} {:>8.4} {:>8.4}",
                    d, g.files, g.mean_cer, g.mean_wer
                );
            }
        }
        if !skipped.is_empty() {
            println!("\nskipped (no ground truth): {}", skipped.join(", "));
        }
    }
    out.failed |= failed > 0;
    let timed_out = results.iter().any(|s| {
        s.result
            .as_ref()
            .is_err_and(|e| e.code == ErrorCode::DecodeTimeout)
    });
    if timed_out {
        // A page still being read cannot be stopped, and the runtime would wait for it on exit.
        std::process::exit(1);
    }
    Ok(())
}

/// Scores one image: its hypothesis from OCR (timed) or from `DIR2/<stem>.txt`.
async fn score_one(sample: &Sample, text_from: Option<&Path>) -> Outcome {
    let reference = read_text(&sample.ground_truth)?;
    let (hypothesis, pages, seconds) = match text_from {
        Some(d) => {
            let text = read_text(&d.join(format!("{}.txt", sample.stem())))?;
            // Tesseract ends every page with a form feed; count the pages that have text.
            let pages = text.split('\u{c}').filter(|p| !p.trim().is_empty()).count();
            (text, pages.max(1), 0.0)
        }
        None => {
            let started = Instant::now();
            let doc = countersign_workflow::ocr_file(&sample.image).await?;
            let text = doc
                .pages
                .iter()
                .map(|p| p.text.as_str())
                .collect::<Vec<_>>()
                .join("\n");
            (text, doc.pages.len(), started.elapsed().as_secs_f64())
        }
    };
    Ok((eval::score(&reference, &hypothesis), pages, seconds))
}

fn read_text(path: &Path) -> Result<String, Error> {
    let bytes = std::fs::read(path).map_err(|e| {
        Error::new(
            ErrorCode::UnreadableFile,
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn print_header(grouped: bool) {
    if grouped {
        println!(
            "{:<44} {:<18} {:>7} {:>7} {:>5} {:>7}",
            "file", "degradation", "CER", "WER", "pages", "seconds"
        );
    } else {
        println!(
            "{:<44} {:>7} {:>7} {:>5} {:>7}",
            "file", "CER", "WER", "pages", "seconds"
        );
    }
}

fn report(scored: &Scored, grouped: bool, out: &mut Output) {
    let name = file_name(&scored.sample.image);
    match &scored.result {
        Ok((score, pages, seconds)) => {
            if out.json {
                let mut line = serde_json::json!({
                    "file": name,
                    "path": scored.sample.image,
                    "ground_truth": scored.sample.ground_truth,
                    "cer": score.cer,
                    "wer": score.wer,
                    "ref_chars": score.ref_chars,
                    "char_edits": score.char_edits,
                    "ref_words": score.ref_words,
                    "word_edits": score.word_edits,
                    "pages": pages,
                    "seconds": seconds,
                });
                if let Some(m) = &scored.manifest {
                    line["degradation"] = m.degradation.clone().into();
                    line["parameter"] = m.parameter.clone().into();
                }
                out.line(&line);
            } else if grouped {
                let d = scored
                    .manifest
                    .as_ref()
                    .map(|m| m.degradation.as_str())
                    .unwrap_or("-");
                println!(
                    "{:<44} {:<18} {:>7.4} {:>7.4} {:>5} {:>7.2}",
                    name, d, score.cer, score.wer, pages, seconds
                );
            } else {
                println!(
                    "{:<44} {:>7.4} {:>7.4} {:>5} {:>7.2}",
                    name, score.cer, score.wer, pages, seconds
                );
            }
        }
        Err(e) => {
            let api = ApiError::from(Error::new(e.code, e.message.clone()));
            if out.json {
                out.line(
                    &serde_json::json!({ "file": name, "path": scored.sample.image, "error": api }),
                );
            } else {
                println!("{name:<44} error[{}]: {}", api.code.as_str(), api.message);
            }
        }
    }
}

/// A bar on stderr when a person is watching; nothing otherwise.
fn progress(len: usize) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} eval [{bar:30}] {pos}/{len} {elapsed}  {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}
