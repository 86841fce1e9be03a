//! `countersign`: the headless shell. Each subcommand parses its flags, calls one `workflow`
//! function and prints the result — as text, or with `--json` as JSON Lines on stdout (one object
//! per line, nothing else; logs go to stderr).

use clap::{Parser, Subcommand};
use countersign_core::{DocumentId, DocumentRecord, Source, Status};
use countersign_workflow::worker::{self, Until, WorkerOptions};
use countersign_workflow::{ApiError, Error, ErrorCode, ShowOptions, Workspace};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

mod eval;
mod eval_route;
mod gen_docs;
mod progress;
mod scan;
mod watch;

#[derive(Parser)]
#[command(
    name = "countersign",
    version,
    about = "Countersign: scan, review and send documents for signature (headless)"
)]
struct Cli {
    /// Data dir (database, files, settings, logs). Default: the OS data dir.
    #[arg(long, global = true, env = "COUNTERSIGN_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Print results as JSON Lines on stdout; errors as {"error": {"code", "message"}}.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Import files (PDF, TIFF, PNG, JPEG, WebP) and queue them for processing.
    Ingest {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, default_value = "upload", value_parser = parse_source)]
        source: Source,
        /// Return only when processing has settled (routed, needs_review, quarantined or failed).
        #[arg(long)]
        wait: bool,
        /// Password of an encrypted PDF (used once to make an unencrypted working copy; never stored).
        #[arg(long)]
        password: Option<String>,
    },
    /// Files refused at import, kept with their reason; `--retry ID [--password PW]` imports one again.
    Rejected {
        #[arg(long)]
        retry: Option<String>,
        #[arg(long, requires = "retry")]
        password: Option<String>,
    },
    /// List documents, newest first.
    List {
        #[arg(long, value_parser = parse_status)]
        status: Option<Status>,
    },
    /// Show one document.
    Show {
        id: String,
        /// Include OCR words, boxes and confidences.
        #[arg(long)]
        with_ocr: bool,
    },
    /// Write the searchable PDF of a document (page images with the recognised text layer),
    /// and/or its OCR as hOCR.
    #[command(group(clap::ArgGroup::new("format").required(true).multiple(true).args(["pdf", "hocr"])))]
    Export {
        id: String,
        #[arg(long)]
        pdf: Option<PathBuf>,
        /// Write the recognised words as hOCR (pages, blocks, lines, words with boxes and confidence).
        #[arg(long)]
        hocr: Option<PathBuf>,
    },
    /// Read a document's pages again with the current OCR pipeline, as a new version.
    Reprocess {
        id: String,
        /// Keep the words; only decide the routing again (e.g. after a policy change).
        #[arg(long)]
        route_only: bool,
        /// Return only when processing has settled.
        #[arg(long)]
        wait: bool,
    },
    /// Correct and decide a document in review: each correction and the decision is a new
    /// version with an audit entry naming the reviewer and the old and new value.
    #[command(group(clap::ArgGroup::new("decision").required(true).args(["approve", "reject", "quarantine"])))]
    Review {
        id: String,
        /// A field's value (repeatable): dates are stored ISO 8601, amounts as decimals.
        #[arg(long = "set", value_name = "FIELD=VALUE")]
        set: Vec<String>,
        /// The document type (a policy type or `unclassified`); routed by it.
        #[arg(long = "type", value_name = "T")]
        document_type: Option<String>,
        /// A recognised word's text (repeatable): PAGE:WORD=TEXT, page 1-based, word 0-based as
        /// `show --with-ocr` lists them.
        #[arg(long = "word", value_name = "PAGE:WORD=TEXT")]
        words: Vec<String>,
        #[arg(long)]
        approve: bool,
        #[arg(long, requires = "reason")]
        reject: bool,
        #[arg(long, requires = "reason")]
        quarantine: bool,
        /// Why the document is rejected or quarantined (required for those).
        #[arg(long)]
        reason: Option<String>,
        /// Who is reviewing (recorded in the audit log).
        #[arg(long, required = true)]
        reviewer: String,
    },
    /// Send approved (or auto-routed) documents for signature through the outbox: one attempt
    /// now; a document the provider cannot take yet waits in the outbox (`countersign work` or the
    /// app sends it when the provider answers again).
    Send {
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// A sent document's envelope: ask the provider where it stands (`--refresh`, storing the
    /// signed PDF and certificate once completed), void it, send it again after a decline, void
    /// or expiry (a new version), or write its certificate.
    #[command(group(clap::ArgGroup::new("action").required(true).args(["refresh", "void", "resend", "certificate"])))]
    Envelope {
        id: String,
        #[arg(long)]
        refresh: bool,
        /// Void the envelope, with this reason.
        #[arg(long, value_name = "REASON")]
        void: Option<String>,
        #[arg(long)]
        resend: bool,
        /// Write the provider's certificate of completion here.
        #[arg(long, value_name = "OUT")]
        certificate: Option<PathBuf>,
    },
    /// Bring signature status up to date: send what waits in the outbox, pull the webhook
    /// relay's events (COUNTERSIGN_RELAY_URL, token from the keychain or
    /// COUNTERSIGN_RELAY_TOKEN), and ask the provider about envelopes nothing was heard of for
    /// 15 minutes. With `--once`, one pass and exit; otherwise keep going (long-polling the
    /// relay) until Ctrl-C.
    Sync {
        #[arg(long)]
        once: bool,
    },
    /// Read a file's text (words, boxes, confidences) without storing anything.
    Ocr {
        file: PathBuf,
        /// Print hOCR instead of text or JSON.
        #[arg(long)]
        hocr: bool,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The document classifier (learns from documents whose type a person confirmed).
    Classifier {
        #[command(subcommand)]
        command: ClassifierCommand,
    },
    /// The routing policy.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Run background jobs (processing) in this process.
    Work {
        /// Stop once no job is queued or running.
        #[arg(long)]
        until_idle: bool,
        /// Seconds a claimed job stays ours without renewal; another worker takes over after that.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
        lease_secs: u64,
    },
    /// Watch a hot folder until Ctrl-C: import each file once it stops changing, then move it to
    /// DIR/processed/ (or DIR/failed/ with a .reason.json); processing runs alongside.
    Watch { dir: PathBuf },
    /// Scan a batch of pages from a SANE scanner into one document; `--list` shows the scanners.
    Scan(scan::ScanArgs),
    /// Measure OCR accuracy against ground truth, or generate a synthetic evaluation set.
    Eval {
        #[command(subcommand)]
        command: eval::EvalCommand,
    },
}

#[derive(Subcommand)]
enum ClassifierCommand {
    /// Train it again from every confirmed document and use the new model from now on.
    Retrain,
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Validate a policy file (default: the configured one, which is installed if valid) and say
    /// which policy is in force; exits non-zero naming the file and line of the first problem.
    Check { file: Option<PathBuf> },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain; exits non-zero naming the first broken entry.
    Verify,
}

fn parse_source(s: &str) -> Result<Source, String> {
    Source::parse(s).ok_or_else(|| format!("`{s}` is not one of upload, scanner, folder, photo"))
}

fn parse_status(s: &str) -> Result<Status, String> {
    s.parse()
        .map_err(|e: countersign_core::ParseStatusError| e.to_string())
}

/// What each command reports: JSON lines, or text for people.
struct Output {
    json: bool,
    failed: bool,
}

impl Output {
    fn record(&self, r: &DocumentRecord) {
        if self.json {
            self.line(r);
        } else {
            let pages = r
                .page_count
                .map(|n| n.to_string())
                .unwrap_or_else(|| "-".into());
            println!(
                "{}  {:<12}  {:>5}p  {:<8}  {}",
                r.document_id,
                r.status.as_str(),
                pages,
                r.source.as_str(),
                r.file_name
            );
            if let Some(f) = &r.failure {
                println!("    failed at {}: {} ({})", f.stage, f.message, f.code);
            }
        }
    }

    fn error(&mut self, e: Error) {
        self.failed = true;
        let api = ApiError::from(e);
        if self.json {
            self.line(&serde_json::json!({ "error": api }));
        } else {
            eprintln!("error[{}]: {}", api.code.as_str(), api.message);
        }
    }

    fn line(&self, v: &impl Serialize) {
        use std::io::Write;
        let text = serde_json::to_string(v).expect("output serializes");
        if let Err(e) = writeln!(std::io::stdout().lock(), "{text}") {
            // The reader went away (`| head`): nothing more to say to it.
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }
}

fn main() -> ExitCode {
    // Tesseract needs OMP_THREAD_LIMIT=1 before the process starts (re-executes once if missing).
    countersign_ocr::omp::ensure_single_threaded_openmp();
    // Page-sized buffers stay in the heap between pages (see the function).
    countersign_ocr::omp::keep_page_buffers();
    // Started as an isolated decoder by ourselves? Then do only that.
    countersign_capture::isolate::run_worker_if_requested();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut out = Output {
        json: cli.json,
        failed: false,
    };
    let result = runtime.block_on(run(cli.data_dir, cli.command, &mut out));
    if let Err(e) = result {
        out.error(e);
    }
    if out.failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Bad flags: with `--json` anywhere on the line, the error is JSON on stdout like every other
/// error; otherwise clap's own message (and `--help` / `--version` as usual).
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let wants_json = std::env::args().any(|a| a == "--json");
    if !wants_json || matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        e.exit();
    }
    let message = e.render().to_string();
    let first_line = message.lines().next().unwrap_or("invalid arguments");
    let api = ApiError::from(Error::new(
        ErrorCode::InvalidArgument,
        first_line.trim_start_matches("error: ").to_owned(),
    ));
    println!("{}", serde_json::json!({ "error": api }));
    ExitCode::from(2)
}

/// Writes beside the target and renames, so a reader never sees half a file.
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<(), Error> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".part");
    std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| {
            Error::new(
                ErrorCode::UnreadableFile,
                format!("cannot write {}: {e}", path.display()),
            )
        })
}

/// `countersign sync`: the outbox, the relay, reconciliation; one pass or until Ctrl-C.
async fn sync(ws: &Workspace, once: bool, out: &Output) -> Result<(), Error> {
    use countersign_workflow::{send, sync};
    let link = sync::configured_relay(ws).await?;
    if link.is_none() && !out.json {
        eprintln!(
            "no relay configured (COUNTERSIGN_RELAY_URL): status comes from polling the provider only"
        );
    }
    // The outbox: every waiting send gets an attempt now.
    send::wake_outbox(ws).await?;
    let waiting: Vec<DocumentId> = send::outbox_documents(ws).await?;
    if !waiting.is_empty() {
        let opts = WorkerOptions::new(Until::SendTried(waiting));
        worker::run(ws, &opts, &worker::Cancel::new()).await?;
    }
    let pulled = match &link {
        Some(link) => Some(sync::catch_up(ws, link).await?),
        None => None,
    };
    let reconciled = sync::reconcile(ws, &sync::Reconcile::default()).await?;
    let outbox = send::outbox(ws).await?;
    if out.json {
        out.line(&serde_json::json!({
            "relay_url": link.as_ref().map(|l| l.url().to_owned()),
            "pulled": pulled,
            "reconciled": reconciled,
            "outbox": outbox,
        }));
    } else {
        if let Some(p) = &pulled {
            eprintln!(
                "relay: {} events, {} changed a status (cursor {})",
                p.fetched, p.applied, p.cursor
            );
        }
        eprintln!(
            "reconciled: {} envelopes polled, {} changed, {} evidence fetched; outbox: {} waiting",
            reconciled.polled, reconciled.applied, reconciled.evidence_fetched, outbox.waiting
        );
    }
    if once {
        return Ok(());
    }
    let cancel = worker::Cancel::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        on_signal.cancel();
    });
    let (status, mut seen) = tokio::sync::watch::channel(sync::SyncStatus::default());
    let worker_ws = ws.clone();
    let worker_cancel = cancel.clone();
    let worker = tokio::spawn(async move {
        let opts = WorkerOptions::new(Until::Cancelled);
        worker::run(&worker_ws, &opts, &worker_cancel).await
    });
    let json = out.json;
    let reporter = tokio::spawn(async move {
        while seen.changed().await.is_ok() {
            let s = seen.borrow_and_update().clone();
            if json {
                if let Ok(line) = serde_json::to_string(&s) {
                    println!("{line}");
                }
            } else if s.online {
                let lag = s
                    .lag_ms
                    .map(|l| format!(", last event applied {l} ms after the relay got it"))
                    .unwrap_or_default();
                eprintln!("relay online{lag}");
            } else if let Some(e) = &s.error {
                eprintln!("offline: {e}");
            }
        }
    });
    sync::run(
        ws,
        link,
        std::time::Duration::from_secs(60),
        status,
        &cancel,
    )
    .await;
    cancel.cancel();
    let _ = worker.await;
    reporter.abort();
    Ok(())
}

fn actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

async fn run(data_dir: Option<PathBuf>, command: Command, out: &mut Output) -> Result<(), Error> {
    // Evaluation: no data dir is opened or created.
    let command = match command {
        Command::Eval { command } => return eval::run(command, out).await,
        other => other,
    };
    // OCR only: no data dir is opened or created.
    if let Command::Ocr { file, hocr } = &command {
        let bar = std::sync::Arc::new(std::sync::Mutex::new(None::<indicatif::ProgressBar>));
        let shown = bar.clone();
        let doc = countersign_workflow::ocr_file_with_progress(file, move |done, total| {
            let mut bar = shown.lock().expect("progress bar");
            let bar = bar.get_or_insert_with(|| progress::pages_bar("reading", total));
            bar.set_position(done as u64);
        })
        .await;
        if let Some(bar) = bar.lock().expect("progress bar").take() {
            bar.finish_and_clear();
        }
        let doc = doc?;
        if *hocr {
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
            print!(
                "{}",
                countersign_ocr::hocr::hocr(&doc, name.as_deref().unwrap_or("page"))
            );
        } else if out.json {
            out.line(&doc);
        } else {
            for page in &doc.pages {
                println!(
                    "--- page {} ({:.0}% mean confidence)\n{}",
                    page.index + 1,
                    page.mean_confidence * 100.0,
                    page.text
                );
            }
        }
        return Ok(());
    }
    let data_dir = countersign_workflow::resolve_data_dir(data_dir)?;
    let _log = countersign_workflow::logging::init(&data_dir, "countersign", "warn");
    let ws = Workspace::open(&data_dir).await?;
    match command {
        Command::Ingest {
            files,
            source,
            wait,
            password,
        } => {
            let mut created = Vec::new();
            for file in &files {
                let pw = password.clone();
                match countersign_workflow::ingest_path_with_password(
                    &ws,
                    file,
                    source,
                    &actor(),
                    pw,
                )
                .await
                {
                    Ok(outcome) if wait => created.push(outcome.record.document_id),
                    Ok(outcome) => out.record(&outcome.record),
                    Err(e) => out.error(e),
                }
            }
            if wait && !created.is_empty() {
                let opts = WorkerOptions::new(Until::Settled(created.clone()));
                let stop = worker::Cancel::new();
                let bars = tokio::spawn(progress::follow_documents(
                    ws.clone(),
                    created.clone(),
                    stop.clone(),
                ));
                let ran = worker::run(&ws, &opts, &worker::Cancel::new()).await;
                stop.cancel();
                let _ = bars.await;
                ran?;
                for id in created {
                    out.record(&countersign_workflow::show(&ws, id, ShowOptions::default()).await?);
                }
            }
        }
        Command::Rejected { retry: None, .. } => {
            for r in countersign_workflow::rejected::list(&ws).await? {
                if out.json {
                    out.line(&r);
                } else {
                    println!(
                        "{}  {:<16}  {}  ({})",
                        r.at,
                        r.code.as_str(),
                        r.file_name,
                        r.message
                    );
                    println!("    id: {}", r.rejected_id);
                }
            }
        }
        Command::Rejected {
            retry: Some(id),
            password,
        } => {
            let outcome =
                countersign_workflow::rejected::retry(&ws, &id, password, &actor()).await?;
            out.record(&outcome.record);
        }
        Command::List { status } => {
            for r in countersign_workflow::list(&ws, status).await? {
                out.record(&r);
            }
        }
        Command::Show { id, with_ocr } => {
            let id: DocumentId = id.parse().map_err(|e: countersign_core::ParseIdError| {
                Error::new(ErrorCode::InvalidArgument, e.to_string())
            })?;
            let record = countersign_workflow::show(&ws, id, ShowOptions { with_ocr }).await?;
            if out.json {
                out.line(&record);
            } else {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&record).expect("record serializes")
                );
            }
        }
        Command::Ocr { .. } | Command::Eval { .. } => {
            unreachable!("handled before the data dir is opened")
        }
        Command::Reprocess {
            id,
            route_only,
            wait,
        } => {
            let id: DocumentId = id.parse().map_err(|e: countersign_core::ParseIdError| {
                Error::new(ErrorCode::InvalidArgument, e.to_string())
            })?;
            let record =
                countersign_workflow::pages::reprocess(&ws, id, route_only, &actor()).await?;
            let record = if wait {
                let opts = WorkerOptions::new(Until::Settled(vec![id]));
                let stop = worker::Cancel::new();
                let bars = tokio::spawn(progress::follow_documents(
                    ws.clone(),
                    vec![id],
                    stop.clone(),
                ));
                let ran = worker::run(&ws, &opts, &worker::Cancel::new()).await;
                stop.cancel();
                let _ = bars.await;
                ran?;
                countersign_workflow::show(&ws, id, ShowOptions::default()).await?
            } else {
                record
            };
            out.record(&record);
        }
        Command::Review {
            id,
            set,
            document_type,
            words,
            approve,
            reject,
            quarantine,
            reason,
            reviewer,
        } => {
            use countersign_workflow::review::{self, ReviewChange, ReviewDecision};
            let id: DocumentId = id.parse().map_err(|e: countersign_core::ParseIdError| {
                Error::new(ErrorCode::InvalidArgument, e.to_string())
            })?;
            // Everything is checked before anything is stored.
            let mut changes = Vec::new();
            if let Some(t) = document_type {
                changes.push(ReviewChange::SetType { document_type: t });
            }
            for pair in &set {
                let (field, value) = pair.split_once('=').ok_or_else(|| {
                    Error::new(
                        ErrorCode::InvalidArgument,
                        format!("--set {pair:?}: expected FIELD=VALUE"),
                    )
                })?;
                changes.push(ReviewChange::SetField {
                    field: field.trim().to_owned(),
                    value: value.to_owned(),
                });
            }
            for w in &words {
                changes.push(parse_word_correction(w)?);
            }
            let decision = match (approve, reject, quarantine) {
                (true, _, _) => ReviewDecision::Approve,
                (_, true, _) => ReviewDecision::Reject {
                    reason: reason.unwrap_or_default(),
                },
                _ => ReviewDecision::Quarantine {
                    reason: reason.unwrap_or_default(),
                },
            };
            for change in changes {
                review::change_document(&ws, id, None, change, &reviewer).await?;
            }
            let record = review::decide_document(&ws, id, None, decision, &reviewer).await?;
            out.record(&record);
        }
        Command::Send { ids } => {
            let mut parsed = Vec::with_capacity(ids.len());
            for id in &ids {
                parsed.push(id.parse::<DocumentId>().map_err(
                    |e: countersign_core::ParseIdError| {
                        Error::new(ErrorCode::InvalidArgument, e.to_string())
                    },
                )?);
            }
            for id in &parsed {
                countersign_workflow::send::queue_for_signature(&ws, *id, &actor()).await?;
            }
            let opts = WorkerOptions::new(Until::SendTried(parsed.clone()));
            worker::run(&ws, &opts, &worker::Cancel::new()).await?;
            let outbox = countersign_workflow::send::outbox(&ws).await?;
            for id in parsed {
                let record = countersign_workflow::show(&ws, id, ShowOptions::default()).await?;
                if record.status == Status::QueuedForSignature && !out.json {
                    eprintln!(
                        "{id}: waiting in the outbox ({})",
                        outbox
                            .reasons
                            .first()
                            .map(String::as_str)
                            .unwrap_or("provider not reached yet")
                    );
                }
                out.record(&record);
            }
        }
        Command::Envelope {
            id,
            refresh,
            void,
            resend,
            certificate,
        } => {
            use countersign_workflow::send;
            let id: DocumentId = id.parse().map_err(|e: countersign_core::ParseIdError| {
                Error::new(ErrorCode::InvalidArgument, e.to_string())
            })?;
            let record = if refresh {
                send::refresh_envelope(&ws, id, &actor()).await?
            } else if let Some(reason) = void {
                send::void_envelope(&ws, id, &reason, &actor()).await?
            } else if resend {
                send::resend(&ws, id, &actor()).await?;
                let opts = WorkerOptions::new(Until::SendTried(vec![id]));
                worker::run(&ws, &opts, &worker::Cancel::new()).await?;
                countersign_workflow::show(&ws, id, ShowOptions::default()).await?
            } else {
                let out_path = certificate.expect("clap requires one action");
                let bytes = send::evidence_bytes(&ws, id, "certificate").await?;
                write_atomically(&out_path, &bytes)?;
                countersign_workflow::show(&ws, id, ShowOptions::default()).await?
            };
            out.record(&record);
        }
        Command::Sync { once } => sync(&ws, once, out).await?,
        Command::Export { id, pdf, hocr } => {
            let id: DocumentId = id.parse().map_err(|e: countersign_core::ParseIdError| {
                Error::new(ErrorCode::InvalidArgument, e.to_string())
            })?;
            let mut written = serde_json::Map::new();
            written.insert("document_id".into(), serde_json::json!(id));
            if let Some(pdf) = pdf {
                let (bytes, signed) = countersign_workflow::export::document_pdf(&ws, id).await?;
                write_atomically(&pdf, &bytes)?;
                written.insert("pdf".into(), serde_json::json!(pdf));
                written.insert("signed".into(), serde_json::json!(signed));
                written.insert("bytes".into(), serde_json::json!(bytes.len()));
                if !out.json {
                    eprintln!("wrote {} ({} bytes)", pdf.display(), bytes.len());
                }
            }
            if let Some(hocr) = hocr {
                let html = countersign_workflow::export::export_hocr(&ws, id).await?;
                write_atomically(&hocr, html.as_bytes())?;
                written.insert("hocr".into(), serde_json::json!(hocr));
                if !out.json {
                    eprintln!("wrote {} ({} bytes)", hocr.display(), html.len());
                }
            }
            if out.json {
                out.line(&written);
            }
        }
        Command::Classifier {
            command: ClassifierCommand::Retrain,
        } => {
            let summary = countersign_workflow::classifier::retrain(&ws).await?;
            if out.json {
                out.line(&summary);
            } else if summary.trained {
                println!(
                    "trained on {} confirmed documents: {:?}",
                    summary.examples, summary.per_type
                );
            } else {
                println!("not trained: {}", summary.reason.unwrap_or_default());
            }
        }
        Command::Policy {
            command: PolicyCommand::Check { file },
        } => {
            if let Some(file) = file {
                let policy = countersign_workflow::policy::check_file(&file)?;
                let summary = serde_json::json!({
                    "ok": true,
                    "origin": policy.origin(),
                    "fingerprint": policy.fingerprint(),
                    "types": policy.types.keys().collect::<Vec<_>>(),
                });
                if out.json {
                    out.line(&summary);
                } else {
                    println!("{} is valid ({} types)", file.display(), policy.types.len());
                }
            } else {
                let state = countersign_workflow::policy::load(&ws).await?;
                if let Some(problem) = state.problem {
                    return Err(problem);
                }
                let summary = serde_json::json!({
                    "ok": true,
                    "origin": state.origin,
                    "fingerprint": state.fingerprint,
                    "types": state.policy.types.keys().collect::<Vec<_>>(),
                });
                if out.json {
                    out.line(&summary);
                } else {
                    println!(
                        "policy in force: {} ({})",
                        state.origin,
                        &state.fingerprint[..12]
                    );
                }
            }
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let report = countersign_workflow::verify_audit(&ws).await?;
            if out.json {
                out.line(&report);
            } else if let Some(b) = &report.first_break {
                eprintln!(
                    "audit log BROKEN after {} good entries: {}",
                    report.entries, b.message
                );
            } else {
                println!(
                    "audit log intact: {} entries, head {}",
                    report.entries, report.head_hash
                );
            }
            out.failed |= !report.ok;
        }
        Command::Work {
            until_idle,
            lease_secs,
        } => {
            let mut opts = WorkerOptions::new(if until_idle {
                Until::Idle
            } else {
                Until::Cancelled
            });
            opts.lease = Duration::from_secs(lease_secs);
            let cancel = worker::Cancel::new();
            let on_signal = cancel.clone();
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                on_signal.cancel();
            });
            let ran = worker::run(&ws, &opts, &cancel).await?;
            if !out.json {
                eprintln!("ran {ran} job(s)");
            }
        }
        Command::Watch { dir } => watch::watch_dir(&ws, &dir, out).await?,
        Command::Scan(args) => scan::run(&ws, args, out).await?,
    }
    ws.close().await;
    Ok(())
}

/// `PAGE:WORD=TEXT` (page 1-based as people count, word 0-based as `show --with-ocr` lists).
fn parse_word_correction(arg: &str) -> Result<countersign_workflow::review::ReviewChange, Error> {
    let bad = || {
        Error::new(
            ErrorCode::InvalidArgument,
            format!("--word {arg:?}: expected PAGE:WORD=TEXT, e.g. 1:17=Total"),
        )
    };
    let (pos, text) = arg.split_once('=').ok_or_else(bad)?;
    let (page, word) = pos.split_once(':').ok_or_else(bad)?;
    let page: u32 = page.trim().parse().map_err(|_| bad())?;
    let word: u32 = word.trim().parse().map_err(|_| bad())?;
    if page == 0 {
        return Err(bad());
    }
    Ok(countersign_workflow::review::ReviewChange::CorrectWord {
        page: page - 1,
        word,
        text: text.to_owned(),
    })
}
