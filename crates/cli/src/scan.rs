//! `countersign scan`: scan a batch of pages into one document (`--wait` as for `ingest`), or
//! `--list` the scanners. Progress goes to stderr — a bar on a terminal, plain lines otherwise —
//! so stdout stays the document record (JSON Lines with `--json`).

use crate::{actor, Output};
use countersign_workflow::scan::{self, ScanMode, ScanProgress, ScanRequest, ScanSource};
use countersign_workflow::worker::{self, Until, WorkerOptions};
use countersign_workflow::{Error, ErrorCode, ShowOptions, Workspace};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

#[derive(clap::Args)]
pub struct ScanArgs {
    /// List the scanners SANE can see (the first is the default) instead of scanning.
    #[arg(long, conflicts_with_all = ["device", "pages", "wait"])]
    list: bool,
    /// The scanner to use, as `scan --list` names it. Default: the first one listed.
    #[arg(long)]
    device: Option<String>,
    /// Resolution in dots per inch.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..=9600))]
    resolution: u32,
    /// color, gray or lineart (black and white).
    #[arg(long, default_value = "gray", value_parser = parse_mode)]
    mode: ScanMode,
    /// flatbed, adf (the document feeder, until it is empty) or duplex (the feeder, both sides).
    #[arg(long, default_value = "flatbed", value_parser = parse_source)]
    source: ScanSource,
    /// At most this many pages. Default: one from the flatbed; from a feeder, all it holds.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pages: Option<u32>,
    /// Return only when processing has settled (routed, needs_review, quarantined or failed).
    #[arg(long)]
    wait: bool,
}

fn parse_mode(s: &str) -> Result<ScanMode, String> {
    ScanMode::parse(s).ok_or_else(|| format!("`{s}` is not one of color, gray, lineart"))
}

fn parse_source(s: &str) -> Result<ScanSource, String> {
    ScanSource::parse(s).ok_or_else(|| format!("`{s}` is not one of flatbed, adf, duplex"))
}

pub async fn run(ws: &Workspace, args: ScanArgs, out: &mut Output) -> Result<(), Error> {
    if args.list {
        let devices = scan::list_scanners(ws).await?;
        if out.json {
            devices.iter().for_each(|d| out.line(d));
        } else if devices.is_empty() {
            eprintln!("no scanners found (is the scanner connected and switched on?)");
        } else {
            for d in &devices {
                println!("{}  {} {} ({})", d.name, d.vendor, d.model, d.kind);
            }
        }
        return Ok(());
    }

    let request = ScanRequest {
        device: args.device,
        resolution_dpi: args.resolution,
        mode: args.mode,
        source: args.source,
        max_pages: args.pages,
    };
    let display = Display::new(&request);
    let on_progress = {
        let display = display.clone();
        move |event| display.show(event)
    };
    // Ctrl-C drops the scan, which stops `scanimage` (the runtime waits for that on exit).
    let actor = actor();
    let scanned = tokio::select! {
        r = scan::scan_document(ws, request, &actor, on_progress) => r,
        _ = tokio::signal::ctrl_c() => Err(Error::new(ErrorCode::ScanCancelled, "the scan was cancelled")),
    };
    display.finish();
    let record = scanned?.record;

    if args.wait {
        let opts = WorkerOptions::new(Until::Settled(vec![record.document_id]));
        worker::run(ws, &opts, &worker::Cancel::new()).await?;
        out.record(
            &countersign_workflow::show(ws, record.document_id, ShowOptions::default()).await?,
        );
    } else {
        out.record(&record);
    }
    Ok(())
}

/// Progress on stderr: a bar when a person is watching, a line per page for logs and pipes.
#[derive(Clone)]
enum Display {
    Bar { bar: ProgressBar, of: String },
    Lines,
}

impl Display {
    fn new(request: &ScanRequest) -> Display {
        if !std::io::stderr().is_terminal() {
            return Display::Lines;
        }
        let bar = ProgressBar::new(100);
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix:<12} [{bar:30}] {pos:>3}%  {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix("scanning");
        bar.set_message("waiting for the scanner…");
        bar.enable_steady_tick(Duration::from_millis(120));
        let of = request
            .max_pages
            .map(|n| format!("/{n}"))
            .unwrap_or_default();
        Display::Bar { bar, of }
    }

    fn show(&self, event: ScanProgress) {
        match (self, event) {
            (Display::Bar { bar, of }, ScanProgress::PageStarted { page }) => {
                bar.set_prefix(format!("page {page}{of}"));
                bar.set_position(0);
                bar.set_message("");
            }
            (Display::Bar { bar, .. }, ScanProgress::PageProgress { percent, .. }) => {
                bar.set_position(percent.clamp(0.0, 100.0) as u64);
            }
            (Display::Bar { bar, .. }, ScanProgress::PageDone { page }) => {
                bar.set_position(100);
                bar.set_message(format!("{page} page(s) scanned"));
            }
            (Display::Lines, ScanProgress::PageStarted { page }) => {
                eprintln!("scanning page {page}")
            }
            (Display::Lines, ScanProgress::PageDone { page }) => eprintln!("page {page} scanned"),
            (Display::Lines, ScanProgress::PageProgress { .. }) => {}
        }
    }

    fn finish(&self) {
        if let Display::Bar { bar, .. } = self {
            bar.finish_and_clear();
        }
    }
}
