//! SANE scanners, driven through the `scanimage` binary (Debian/Ubuntu package `sane-utils`).
//!
//! A subprocess rather than libsane in our address space: SANE backends are USB and network
//! drivers of very uneven quality. One that crashes takes a `scanimage` with it, never the app;
//! one that hangs is killed (SIGTERM first, so `scanimage` can tell the device to stop, then
//! SIGKILL). Every run has a time limit measured from its last sign of life.
//!
//! - [`Sane::list_devices`]: `scanimage -f` with a format whose separators (ASCII unit and record
//!   separators) cannot occur in device names.
//! - [`Sane::device_options`]: `scanimage -d DEV -A`, parsed for resolutions, modes, sources and
//!   bit depths.
//! - [`Sane::scan_batch`]: `scanimage --batch` into a private temp dir as PNG pages (lossless,
//!   carrying the resolution), reading `-p` progress from stderr.
//! - [`assemble_tiff`]: the pages as ONE multi-page TIFF (Deflate, lossless, resolution tags):
//!   the original of a scanned document.
//!
//! Devices name the same things differently ("Flatbed", "FlatBed", "Document Table"; "ADF
//! Duplex", "Automatic Document Feeder(left aligned,Duplex)"; "Lineart", "Black & White").
//! [`ScanMode`] and [`ScanSource`] are ours and are mapped onto what each device offers; when it
//! offers nothing that fits, the error says what it does offer.
//!
//! Tests use SANE's `test` backend: `SANE_CONFIG_DIR` pointing at a directory whose `dll.conf`
//! lists `test` (see [`Sane::env`]).

use image::{DynamicImage, ImageFormat};
use serde::{Deserialize, Serialize};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use tracing::{debug, info, warn};

/// How long a scan may show no sign of life (no progress, no new page) before it is stopped.
/// Generous: some scanners warm their lamp for half a minute before the first line arrives.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long listing devices or reading a device's options may take (network discovery is slow).
pub const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `scanimage` gets to stop after SIGTERM before it is killed.
const TERMINATE_GRACE: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(50);

// SANE_Status values: `scanimage` exits with the status that ended a batch.
const SANE_STATUS_CANCELLED: i32 = 2;
const SANE_STATUS_DEVICE_BUSY: i32 = 3;
const SANE_STATUS_JAMMED: i32 = 6;
const SANE_STATUS_NO_DOCS: i32 = 7;
const SANE_STATUS_COVER_OPEN: i32 = 8;
const SANE_STATUS_IO_ERROR: i32 = 9;
const SANE_STATUS_ACCESS_DENIED: i32 = 11;

/// One scanner SANE can see.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Device {
    /// What `--device` takes, e.g. `epson2:libusb:001:004` or `test:0`.
    pub name: String,
    pub vendor: String,
    pub model: String,
    /// SANE's device type, e.g. `flatbed scanner`, `sheetfed scanner`, `virtual device`.
    pub kind: String,
}

/// Colour mode of a scan, mapped onto the device's own mode names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ScanMode {
    Color,
    Gray,
    /// Black and white, one bit per pixel (stored as 8-bit grey, 0 or 255).
    Lineart,
}

impl ScanMode {
    pub const ALL: [ScanMode; 3] = [ScanMode::Color, ScanMode::Gray, ScanMode::Lineart];

    pub fn as_str(self) -> &'static str {
        match self {
            ScanMode::Color => "color",
            ScanMode::Gray => "gray",
            ScanMode::Lineart => "lineart",
        }
    }

    pub fn parse(s: &str) -> Option<ScanMode> {
        ScanMode::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// Where the paper comes from, mapped onto the device's own source names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ScanSource {
    Flatbed,
    /// The automatic document feeder, one side of each sheet.
    Adf,
    /// The automatic document feeder, both sides of each sheet.
    #[serde(rename = "duplex")]
    AdfDuplex,
}

impl ScanSource {
    pub const ALL: [ScanSource; 3] = [ScanSource::Flatbed, ScanSource::Adf, ScanSource::AdfDuplex];

    pub fn as_str(self) -> &'static str {
        match self {
            ScanSource::Flatbed => "flatbed",
            ScanSource::Adf => "adf",
            ScanSource::AdfDuplex => "duplex",
        }
    }

    pub fn parse(s: &str) -> Option<ScanSource> {
        ScanSource::ALL.into_iter().find(|m| m.as_str() == s)
    }

    fn is_feeder(self) -> bool {
        !matches!(self, ScanSource::Flatbed)
    }
}

/// What to scan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct ScanRequest {
    /// A name from [`Sane::list_devices`]; `None` means the first device listed.
    pub device: Option<String>,
    pub resolution_dpi: u32,
    pub mode: ScanMode,
    pub source: ScanSource,
    /// At most this many pages. `None`: one page from the flatbed; from a feeder, until it is
    /// empty.
    pub max_pages: Option<u32>,
}

impl Default for ScanRequest {
    /// 300 dpi grey from the flatbed of the first scanner: what OCR wants from office paper.
    fn default() -> ScanRequest {
        ScanRequest {
            device: None,
            resolution_dpi: 300,
            mode: ScanMode::Gray,
            source: ScanSource::Flatbed,
            max_pages: None,
        }
    }
}

/// Progress of a batch, in order: for each page `PageStarted`, `PageProgress` with a rising
/// percentage (when the device reports it), then `PageDone`. Pages are numbered from 1.
#[derive(Clone, Debug, PartialEq, Serialize, ts_rs::TS)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ScanProgress {
    PageStarted { page: u32 },
    PageProgress { page: u32, percent: f32 },
    PageDone { page: u32 },
}

/// One scanned page, as the lossless PNG `scanimage` wrote.
#[derive(Clone)]
pub struct ScannedPage {
    /// 1-based position in the batch.
    pub number: u32,
    pub width: u32,
    pub height: u32,
    /// Horizontal and vertical resolution (from the PNG's `pHYs`, else the one requested).
    pub dpi: (u32, u32),
    pub png: Vec<u8>,
}

impl ScannedPage {
    /// The page's pixels.
    pub fn decode(&self) -> Result<DynamicImage, ScanError> {
        let mut reader = image::ImageReader::with_format(Cursor::new(&self.png), ImageFormat::Png);
        // Our own scanner's output, already measured: a 1200 dpi colour page may exceed the
        // default allocation limit meant for untrusted files.
        reader.no_limits();
        reader.decode().map_err(|e| ScanError::Failed {
            message: format!("page {} of the scan cannot be decoded: {e}", self.number),
        })
    }
}

impl fmt::Debug for ScannedPage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScannedPage")
            .field("number", &self.number)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("dpi", &self.dpi)
            .field("png_bytes", &self.png.len())
            .finish()
    }
}

/// The resolutions a device accepts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Resolutions {
    Range { min: u32, max: u32, step: u32 },
    List { values: Vec<u32> },
}

impl Resolutions {
    // `is_multiple_of` needs Rust 1.87; the workspace supports 1.85.
    #[allow(unknown_lints, clippy::manual_is_multiple_of)]
    pub fn supports(&self, dpi: u32) -> bool {
        match self {
            Resolutions::Range { min, max, step } => {
                (*min..=*max).contains(&dpi) && (*step <= 1 || (dpi - min) % step == 0)
            }
            Resolutions::List { values } => values.contains(&dpi),
        }
    }
}

impl fmt::Display for Resolutions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resolutions::Range { min, max, step } if *step > 1 => {
                write!(f, "{min}–{max} dpi in steps of {step}")
            }
            Resolutions::Range { min, max, .. } => write!(f, "{min}–{max} dpi"),
            Resolutions::List { values } => {
                let v: Vec<String> = values.iter().map(u32::to_string).collect();
                write!(f, "{} dpi", v.join(", "))
            }
        }
    }
}

/// What a device offers, where its backend lists it (empty or `None`: the device has no such
/// option and always scans one way).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceOptions {
    pub resolutions: Option<Resolutions>,
    /// The device's own mode names, e.g. `["Lineart", "Gray", "Color"]`.
    pub modes: Vec<String>,
    /// The device's own source names, e.g. `["Flatbed", "ADF Front", "ADF Duplex"]`.
    pub sources: Vec<String>,
    /// Bits per sample the device offers, e.g. `[1, 8, 16]`.
    pub depths: Vec<u32>,
}

/// Why scanning did not work. [`ScanError::code`] is stable; the messages are for people.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// `scanimage` is not installed (or cannot be run).
    #[error("scanning needs SANE's `scanimage` ({program}), which is not installed here: install the `sane-utils` package")]
    Unavailable { program: String },
    /// The named device is not there, or (no name given) SANE sees no scanner at all.
    #[error("{}", not_found_message(.device.as_deref()))]
    NotFound { device: Option<String> },
    /// Another program (or another scan) is using the device.
    #[error("the scanner {device} is busy (another program is using it); wait for it to finish and scan again")]
    Busy { device: String },
    /// The device offers nothing that fits the request.
    #[error("{message}")]
    Unsupported { message: String },
    /// The batch ended without a single page.
    #[error("{message}")]
    NoPages { message: String },
    /// Stopped on request.
    #[error("the scan was cancelled")]
    Cancelled,
    /// The device or the backend failed (jam, cover open, I/O error, no sign of life...).
    #[error("{message}")]
    Failed { message: String },
}

fn not_found_message(device: Option<&str>) -> String {
    match device {
        Some(d) => format!(
            "no scanner named `{d}` is available; `countersign scan --list` shows the scanners SANE can see"
        ),
        None => "no scanner was found: check that it is connected and switched on, and that SANE sees it (`scanimage -L`)".into(),
    }
}

impl ScanError {
    /// The stable code scripts and the UI branch on.
    pub fn code(&self) -> &'static str {
        match self {
            ScanError::Unavailable { .. } => "scanner_unavailable",
            ScanError::NotFound { .. } => "scanner_not_found",
            ScanError::Busy { .. } => "scanner_busy",
            ScanError::Unsupported { .. } => "unsupported_scan_setting",
            ScanError::NoPages { .. } => "no_pages",
            ScanError::Cancelled => "scan_cancelled",
            ScanError::Failed { .. } => "scan_failed",
        }
    }
}

/// Stops a running scan from another thread (or from the progress callback): the `scanimage`
/// process is terminated and the scan returns [`ScanError::Cancelled`].
#[derive(Clone, Debug, Default)]
pub struct ScanCancel(Arc<AtomicBool>);

impl ScanCancel {
    pub fn new() -> ScanCancel {
        ScanCancel::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The `scanimage` program, how it is run, and its time limits.
#[derive(Clone, Debug)]
pub struct Sane {
    program: PathBuf,
    envs: Vec<(OsString, OsString)>,
    idle_timeout: Duration,
    query_timeout: Duration,
}

impl Default for Sane {
    fn default() -> Sane {
        Sane::new()
    }
}

/// [`Sane::list_devices`] with `scanimage` from `PATH`.
pub fn list_devices() -> Result<Vec<Device>, ScanError> {
    Sane::new().list_devices()
}

/// [`Sane::device_options`] with `scanimage` from `PATH`.
pub fn device_options(device: &str) -> Result<DeviceOptions, ScanError> {
    Sane::new().device_options(device)
}

/// [`Sane::scan_batch`] with `scanimage` from `PATH`.
pub fn scan_batch(
    request: &ScanRequest,
    progress: impl FnMut(ScanProgress),
) -> Result<Vec<ScannedPage>, ScanError> {
    Sane::new().scan_batch(request, progress)
}

impl Sane {
    /// `scanimage` from `PATH`, in the environment of this process.
    pub fn new() -> Sane {
        Sane {
            program: PathBuf::from("scanimage"),
            envs: Vec::new(),
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            query_timeout: DEFAULT_QUERY_TIMEOUT,
        }
    }

    /// Another `scanimage` (a path, or a stand-in in tests).
    pub fn program(mut self, program: impl Into<PathBuf>) -> Sane {
        self.program = program.into();
        self
    }

    /// An environment variable for `scanimage` only, e.g. `SANE_CONFIG_DIR`.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Sane {
        self.envs
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// How long a scan may show no sign of life before it is stopped.
    pub fn idle_timeout(mut self, limit: Duration) -> Sane {
        self.idle_timeout = limit;
        self
    }

    /// The scanners SANE can see, in its order (the first is the default).
    pub fn list_devices(&self) -> Result<Vec<Device>, ScanError> {
        self.query_devices(&ScanCancel::new())
    }

    /// What `device` offers. Opens the device, so a missing or busy one is reported here.
    pub fn device_options(&self, device: &str) -> Result<DeviceOptions, ScanError> {
        self.query_options(device, &ScanCancel::new())
    }

    fn query_devices(&self, cancel: &ScanCancel) -> Result<Vec<Device>, ScanError> {
        // %d vendor model type, separated by US (0x1f), each device ended by RS (0x1e).
        let args = ["-f", "%d\u{1f}%v\u{1f}%m\u{1f}%t\u{1e}"].map(OsString::from);
        let run = self.run(&args, self.query_timeout, cancel, |_| {})?;
        if !run.status.success() {
            return Err(ScanError::Failed {
                message: format!(
                    "listing scanners failed: {}",
                    run.last_error().unwrap_or("scanimage gave no reason")
                ),
            });
        }
        Ok(parse_device_list(&String::from_utf8_lossy(&run.stdout)))
    }

    fn query_options(&self, device: &str, cancel: &ScanCancel) -> Result<DeviceOptions, ScanError> {
        let args = [
            OsString::from("-d"),
            OsString::from(device),
            OsString::from("-A"),
        ];
        let run = self.run(&args, self.query_timeout, cancel, |_| {})?;
        if let Some(e) = open_failure(&run.stderr, device) {
            return Err(e);
        }
        if !run.status.success() {
            return Err(ScanError::Failed {
                message: format!(
                    "reading the options of the scanner {device} failed: {}",
                    run.last_error().unwrap_or("scanimage gave no reason")
                ),
            });
        }
        Ok(parse_options(&String::from_utf8_lossy(&run.stdout)))
    }

    /// Scans a batch: see [`Sane::scan_batch_cancellable`].
    pub fn scan_batch(
        &self,
        request: &ScanRequest,
        progress: impl FnMut(ScanProgress),
    ) -> Result<Vec<ScannedPage>, ScanError> {
        self.scan_batch_cancellable(request, &ScanCancel::new(), progress)
    }

    /// Scans a batch of pages: from a feeder until it is empty (or `max_pages`), from the flatbed
    /// one page (or `max_pages`). Blocks until done; `cancel` stops it from another thread.
    /// Either every page of the batch or an error: a batch that failed half-way (a jam) keeps
    /// nothing, the operator scans it again.
    pub fn scan_batch_cancellable(
        &self,
        request: &ScanRequest,
        cancel: &ScanCancel,
        mut progress: impl FnMut(ScanProgress),
    ) -> Result<Vec<ScannedPage>, ScanError> {
        if request.max_pages == Some(0) {
            return Err(ScanError::Unsupported {
                message: "a scan has at least one page".into(),
            });
        }
        let device = match &request.device {
            Some(d) => d.clone(),
            None => match self.query_devices(cancel)?.into_iter().next() {
                Some(d) => d.name,
                None => return Err(ScanError::NotFound { device: None }),
            },
        };
        let options = self.query_options(&device, cancel)?;
        let settings = options.settings_for(&device, request)?;
        if cancel.is_cancelled() {
            return Err(ScanError::Cancelled);
        }

        let dir = ScratchDir::new().map_err(|e| ScanError::Failed {
            message: format!("cannot create a temporary directory for the scan: {e}"),
        })?;
        // `scanimage` expands the pattern with printf: a `%` in the directory must be doubled.
        let pattern = format!(
            "{}/page-%d.png",
            dir.path().to_string_lossy().replace('%', "%%")
        );
        let count = match (request.max_pages, request.source.is_feeder()) {
            (Some(n), _) => Some(n),
            (None, false) => Some(1),
            (None, true) => None, // until the feeder is empty
        };
        let mut args: Vec<OsString> = vec![
            "-d".into(),
            device.clone().into(),
            "--format=png".into(),
            format!("--batch={pattern}").into(),
            "--batch-start=1".into(),
            "-p".into(),
        ];
        if let Some(n) = count {
            args.push(format!("--batch-count={n}").into());
        }
        args.extend(settings.into_iter().map(OsString::from));
        info!(device, ?args, "scanning");

        let started = Instant::now();
        let mut tracker = ProgressTracker::default();
        let run = self.run(&args, self.idle_timeout, cancel, |line| {
            tracker.feed(line, &mut progress)
        })?;
        let status = run.status.code();
        debug!(
            ?status,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "scanimage finished"
        );

        if let Some(e) = open_failure(&run.stderr, &device) {
            return Err(e);
        }
        let pages = collect_pages(dir.path(), request.resolution_dpi)?;
        let no_pages = || ScanError::NoPages {
            message: if request.source.is_feeder() {
                format!("the document feeder of {device} is empty: load the pages and scan again")
            } else {
                format!("the scanner {device} returned no page")
            },
        };
        match status {
            // The feeder ran out: the normal end of a feeder batch.
            Some(0) | Some(SANE_STATUS_NO_DOCS) if pages.is_empty() => Err(no_pages()),
            Some(0) | Some(SANE_STATUS_NO_DOCS) => {
                info!(device, pages = pages.len(), "scan done");
                Ok(pages)
            }
            Some(SANE_STATUS_DEVICE_BUSY) => Err(ScanError::Busy { device }),
            Some(SANE_STATUS_CANCELLED) => Err(ScanError::Cancelled),
            code => {
                let reason = match code {
                    Some(SANE_STATUS_JAMMED) => "the document feeder jammed; clear it and scan again".to_owned(),
                    Some(SANE_STATUS_COVER_OPEN) => "the scanner's cover is open; close it and scan again".to_owned(),
                    Some(SANE_STATUS_IO_ERROR) => "the scanner stopped with an I/O error; check its cable or network connection and scan again".to_owned(),
                    Some(SANE_STATUS_ACCESS_DENIED) => "access to the scanner was denied; check this user's permissions (e.g. the `scanner` group)".to_owned(),
                    _ => format!(
                        "the scan failed ({})",
                        run.last_error().map(str::to_owned).unwrap_or_else(|| run.status.to_string())
                    ),
                };
                warn!(device, ?code, detail = run.last_error(), "scan failed");
                Err(ScanError::Failed {
                    message: format!("{device}: {reason}"),
                })
            }
        }
    }

    /// Runs `scanimage` with `args`, feeding each stderr line (lines end at `\n` or `\r`) to
    /// `on_line`. Stops it when `cancel` fires or nothing arrives on stderr for `idle`.
    fn run(
        &self,
        args: &[OsString],
        idle: Duration,
        cancel: &ScanCancel,
        mut on_line: impl FnMut(&str),
    ) -> Result<Finished, ScanError> {
        let program = self.program.display().to_string();
        let mut cmd = Command::new(&self.program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // We read scanimage's messages: keep them untranslated.
            .env("LC_ALL", "C")
            .env_remove("LANGUAGE");
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                ScanError::Unavailable {
                    program: program.clone(),
                }
            }
            _ => ScanError::Failed {
                message: format!("cannot start {program}: {e}"),
            },
        })?;

        let (tx, rx) = mpsc::channel::<Event>();
        let mut stdout = child.stdout.take().expect("piped stdout");
        let tx_out = tx.clone();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stdout.read_to_end(&mut buf);
            let _ = tx_out.send(Event::Stdout(buf));
            let _ = tx_out.send(Event::Closed);
        });
        let mut stderr = child.stderr.take().expect("piped stderr");
        std::thread::spawn(move || {
            let mut pending = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let n = match stderr.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                for &b in &chunk[..n] {
                    if b == b'\n' || b == b'\r' {
                        if !pending.is_empty() {
                            let line = String::from_utf8_lossy(&pending).into_owned();
                            pending.clear();
                            if tx.send(Event::Line(line)).is_err() {
                                return;
                            }
                        }
                    } else {
                        pending.push(b);
                    }
                }
            }
            if !pending.is_empty() {
                let _ = tx.send(Event::Line(String::from_utf8_lossy(&pending).into_owned()));
            }
            let _ = tx.send(Event::Closed);
        });

        let mut out = Vec::new();
        let mut lines: Vec<String> = Vec::new();
        let mut open = 2;
        let mut last_sign = Instant::now();
        while open > 0 {
            match rx.recv_timeout(POLL) {
                Ok(Event::Line(line)) => {
                    last_sign = Instant::now();
                    on_line(&line);
                    if !line.starts_with("Progress: ") {
                        lines.push(line);
                    }
                }
                Ok(Event::Stdout(bytes)) => out = bytes,
                Ok(Event::Closed) => open -= 1,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            let stop = if cancel.is_cancelled() {
                Some(ScanError::Cancelled)
            } else if last_sign.elapsed() > idle {
                Some(ScanError::Failed {
                    message: format!(
                        "the scanner showed no sign of life for {} s and was stopped; check it and scan again",
                        idle.as_secs()
                    ),
                })
            } else {
                None
            };
            if let Some(e) = stop {
                terminate(&mut child);
                warn!(error = %e, "scanimage stopped");
                return Err(e);
            }
        }
        let status = child.wait().map_err(|e| ScanError::Failed {
            message: format!("waiting for {program}: {e}"),
        })?;
        Ok(Finished {
            status,
            stdout: out,
            stderr: lines,
        })
    }
}

enum Event {
    Line(String),
    Stdout(Vec<u8>),
    Closed,
}

struct Finished {
    status: ExitStatus,
    stdout: Vec<u8>,
    /// stderr lines other than progress.
    stderr: Vec<String>,
}

impl Finished {
    /// The last complaint `scanimage` made, without its `scanimage: ` prefix.
    fn last_error(&self) -> Option<&str> {
        self.stderr
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix("scanimage: "))
    }
}

/// SIGTERM (scanimage then cancels the scan on the device), SIGKILL after a grace period; reaps.
fn terminate(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) on our own child's pid, which stays ours until we reap it below.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
    let deadline = Instant::now() + TERMINATE_GRACE;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(POLL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Turns `scanimage -p` stderr into [`ScanProgress`] events, in order. `Scanning page N` is
/// printed before the device is asked for the page (also for the one a feeder no longer has),
/// so a page counts as started once data arrives for it.
#[derive(Default)]
struct ProgressTracker {
    page: Option<u32>,
    started: bool,
    percent: f32,
}

impl ProgressTracker {
    fn feed(&mut self, line: &str, emit: &mut impl FnMut(ScanProgress)) {
        let mut rest = line.trim();
        if let Some(n) = rest
            .strip_prefix("Scanning page ")
            .and_then(|n| n.trim().parse::<u32>().ok())
        {
            self.page = Some(n);
            self.started = false;
            self.percent = -1.0;
            return;
        }
        // A failure message may follow a progress figure on the same line.
        while let Some(after) = rest.strip_prefix("Progress: ") {
            let (number, tail) = after.split_once('%').unwrap_or((after, ""));
            if let (Some(page), Ok(percent)) = (self.page, number.trim().parse::<f32>()) {
                self.start(page, emit);
                if percent > self.percent {
                    self.percent = percent;
                    emit(ScanProgress::PageProgress { page, percent });
                }
            }
            rest = tail.trim_start();
        }
        // "Scanned page 3. (scanner status = 5)": 5 is SANE_STATUS_EOF, a complete page.
        if let Some(after) = rest.strip_prefix("Scanned page ") {
            let number = after
                .split('.')
                .next()
                .and_then(|n| n.trim().parse::<u32>().ok());
            if let Some(page) = number {
                if after.contains("status = 5)") {
                    self.start(page, emit);
                    emit(ScanProgress::PageDone { page });
                }
            }
        }
    }

    fn start(&mut self, page: u32, emit: &mut impl FnMut(ScanProgress)) {
        if !self.started {
            self.started = true;
            emit(ScanProgress::PageStarted { page });
        }
    }
}

/// `open of device X failed: REASON` → not found, busy, or denied.
fn open_failure(stderr: &[String], device: &str) -> Option<ScanError> {
    let reason = stderr.iter().find_map(|l| {
        l.strip_prefix("scanimage: open of device ").and_then(|r| {
            r.split_once(" failed: ")
                .map(|(_, reason)| reason.to_owned())
        })
    })?;
    let lower = reason.to_ascii_lowercase();
    Some(if lower.contains("busy") {
        ScanError::Busy {
            device: device.to_owned(),
        }
    } else if lower.contains("denied") {
        ScanError::Failed {
            message: format!(
                "access to the scanner {device} was denied; check this user's permissions (e.g. the `scanner` group)"
            ),
        }
    } else {
        // SANE's dll backend answers "Invalid argument" for a name no backend knows.
        ScanError::NotFound {
            device: Some(device.to_owned()),
        }
    })
}

fn parse_device_list(out: &str) -> Vec<Device> {
    out.split('\u{1e}')
        .filter_map(|record| {
            let record = record.trim_matches(|c: char| c == '\n' || c == '\r');
            let mut f = record.split('\u{1f}');
            let name = f.next()?.trim();
            if name.is_empty() {
                return None;
            }
            let mut next = || f.next().unwrap_or("").trim().to_owned();
            Some(Device {
                name: name.to_owned(),
                vendor: next(),
                model: next(),
                kind: next(),
            })
        })
        .collect()
}

/// Parses `scanimage -A`: option lines look like
/// `    --mode Lineart|Gray|Color [Gray]`, `    --resolution 75..1200dpi (in steps of 1) [300]`,
/// `    --source Flatbed|ADF [inactive]`; descriptions follow, indented further.
fn parse_options(out: &str) -> DeviceOptions {
    let mut options = DeviceOptions::default();
    for line in out.lines() {
        let Some(option) = line.strip_prefix("    -") else {
            continue;
        };
        let option = format!("-{option}");
        let Some((name, spec)) = option.split_once(' ') else {
            continue;
        };
        // The current value is the last " [..]"; values themselves may contain brackets
        // ("Gray[Error Diffusion]").
        let spec = match spec.rfind(" [") {
            Some(i) if spec.ends_with(']') => &spec[..i],
            _ => spec,
        };
        let spec = match spec.find(" (in steps of") {
            Some(i) => &spec[..i],
            None => spec,
        };
        match name {
            "--mode" => options.modes = split_list(spec),
            "--source" => options.sources = split_list(spec),
            "--depth" => {
                options.depths = split_list(spec).iter().filter_map(|v| number(v)).collect()
            }
            "--resolution" => {
                let step = option
                    .split_once(" (in steps of ")
                    .and_then(|(_, s)| number(s))
                    .unwrap_or(1)
                    .max(1);
                options.resolutions = parse_resolutions(spec, step);
            }
            _ => {}
        }
    }
    options
}

fn split_list(spec: &str) -> Vec<String> {
    if spec.starts_with('<') {
        return Vec::new(); // free-form (`<string>`, `<int>`)
    }
    spec.split('|')
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect()
}

/// A number at the start of `s`, ignoring a unit after it ("1200dpi", "0.5"), rounded.
fn number(s: &str) -> Option<u32> {
    let s = s.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let v: f64 = s[..end].parse().ok()?;
    (v >= 0.0 && v < f64::from(u32::MAX)).then(|| v.round() as u32)
}

fn parse_resolutions(spec: &str, step: u32) -> Option<Resolutions> {
    if let Some((min, max)) = spec.split_once("..") {
        return Some(Resolutions::Range {
            min: number(min)?.max(1),
            max: number(max)?,
            step,
        });
    }
    let values: Vec<u32> = split_list(spec).iter().filter_map(|v| number(v)).collect();
    (!values.is_empty()).then_some(Resolutions::List { values })
}

/// The first of `offered` that is one of `exact` (ignoring case), else the first that contains
/// one of `contains` and none of `avoid`.
fn pick<'a>(
    offered: &'a [String],
    exact: &[&str],
    contains: &[&str],
    avoid: &[&str],
) -> Option<&'a str> {
    let lower: Vec<String> = offered.iter().map(|o| o.to_lowercase()).collect();
    for e in exact {
        if let Some(i) = lower.iter().position(|o| o == e) {
            return Some(&offered[i]);
        }
    }
    lower
        .iter()
        .position(|o| {
            contains.iter().any(|c| o.contains(c)) && !avoid.iter().any(|a| o.contains(a))
        })
        .map(|i| offered[i].as_str())
}

impl DeviceOptions {
    /// The device's name for `mode`, if it has one.
    pub fn mode_name(&self, mode: ScanMode) -> Option<&str> {
        match mode {
            ScanMode::Color => pick(
                &self.modes,
                &["color", "colour", "24bit color", "color24"],
                &["color", "colour"],
                &["halftone", "fast"],
            ),
            ScanMode::Gray => pick(
                &self.modes,
                &[
                    "gray",
                    "grey",
                    "grayscale",
                    "greyscale",
                    "true gray",
                    "gray8",
                ],
                &["gray", "grey"],
                &["diffusion", "halftone", "dither"],
            ),
            ScanMode::Lineart => pick(
                &self.modes,
                &[
                    "lineart",
                    "line art",
                    "binary",
                    "black & white",
                    "black and white",
                    "monochrome",
                    "mono",
                    "bw",
                ],
                &[
                    "lineart",
                    "line art",
                    "binary",
                    "black & white",
                    "black and white",
                ],
                &["halftone", "dither", "diffusion"],
            ),
        }
    }

    /// The device's name for `source`, if it has one.
    pub fn source_name(&self, source: ScanSource) -> Option<&str> {
        match source {
            ScanSource::Flatbed => pick(
                &self.sources,
                &["flatbed", "flat bed", "normal", "document table", "platen"],
                &["flatbed", "flat bed", "table", "platen", "glass"],
                &[],
            ),
            ScanSource::Adf => pick(
                &self.sources,
                &[
                    "adf",
                    "automatic document feeder",
                    "adf front",
                    "adf simplex",
                    "feeder",
                    "adf (simplex)",
                ],
                &["adf", "feeder", "automatic document"],
                &["duplex", "back", "rear"],
            ),
            ScanSource::AdfDuplex => pick(
                &self.sources,
                &["adf duplex", "duplex", "adf (duplex)"],
                &["duplex"],
                &[],
            ),
        }
    }

    /// The `scanimage` options that ask the device for `request`, or what it cannot do.
    fn settings_for(&self, device: &str, request: &ScanRequest) -> Result<Vec<String>, ScanError> {
        let unsupported = |what: String| ScanError::Unsupported { message: what };
        let offers = |v: &[String]| v.join(", ");
        let mut args = Vec::new();

        if !self.modes.is_empty() {
            match (self.mode_name(request.mode), request.mode) {
                (Some(name), mode) => {
                    args.push(format!("--mode={name}"));
                    // 8 bits for documents, where offered: a device defaulting to 16 bits
                    // doubles the size for nothing. (--depth after --mode: it depends on it.)
                    if mode != ScanMode::Lineart && self.depths.contains(&8) {
                        args.push("--depth=8".into());
                    }
                }
                // No black-and-white mode but 1-bit grey: the same thing by another name.
                (None, ScanMode::Lineart)
                    if self.depths.contains(&1) && self.mode_name(ScanMode::Gray).is_some() =>
                {
                    args.push(format!(
                        "--mode={}",
                        self.mode_name(ScanMode::Gray).unwrap_or_default()
                    ));
                    args.push("--depth=1".into());
                }
                (None, mode) => {
                    return Err(unsupported(format!(
                        "the scanner {device} has no {} mode; it offers: {}",
                        mode.as_str(),
                        offers(&self.modes)
                    )))
                }
            }
        }

        match (self.source_name(request.source), request.source) {
            (Some(name), _) => args.push(format!("--source={name}")),
            (None, ScanSource::Flatbed) if self.sources.is_empty() => {}
            (None, source) if self.sources.is_empty() => {
                return Err(unsupported(format!(
                    "the scanner {device} has no {}; it scans from its flatbed only",
                    if source == ScanSource::AdfDuplex {
                        "duplex document feeder"
                    } else {
                        "document feeder"
                    }
                )))
            }
            (None, source) => {
                return Err(unsupported(format!(
                    "the scanner {device} has no {} source; it offers: {}",
                    source.as_str(),
                    offers(&self.sources)
                )))
            }
        }

        match &self.resolutions {
            Some(r) if !r.supports(request.resolution_dpi) => {
                return Err(unsupported(format!(
                    "the scanner {device} cannot scan at {} dpi; it offers {r}",
                    request.resolution_dpi
                )))
            }
            Some(_) => args.push(format!("--resolution={}", request.resolution_dpi)),
            None => warn!(
                device,
                "the scanner has no resolution option; scanning at its own"
            ),
        }
        Ok(args)
    }
}

/// The complete pages `scanimage` left in `dir` (`page-N.png`; a page still being written is
/// `page-N.png.part`), in order.
fn collect_pages(dir: &Path, requested_dpi: u32) -> Result<Vec<ScannedPage>, ScanError> {
    let io = |e: std::io::Error| ScanError::Failed {
        message: format!("reading the scanned pages: {e}"),
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        let number = name
            .to_str()
            .and_then(|n| n.strip_prefix("page-"))
            .and_then(|n| n.strip_suffix(".png"))
            .and_then(|n| n.parse::<u32>().ok());
        if let Some(number) = number {
            found.push((number, entry.path()));
        }
    }
    found.sort();
    let mut pages = Vec::with_capacity(found.len());
    for (number, path) in found {
        let png = std::fs::read(&path).map_err(io)?;
        let (width, height) = image::ImageReader::with_format(Cursor::new(&png), ImageFormat::Png)
            .into_dimensions()
            .map_err(|e| ScanError::Failed {
                message: format!("page {number} of the scan is not a readable image: {e}"),
            })?;
        let dpi = png_dpi(&png).unwrap_or((requested_dpi, requested_dpi));
        pages.push(ScannedPage {
            number,
            width,
            height,
            dpi,
            png,
        });
    }
    Ok(pages)
}

/// The resolution in a PNG's `pHYs` chunk (pixels per metre), in dots per inch.
fn png_dpi(png: &[u8]) -> Option<(u32, u32)> {
    let mut at = 8; // signature
    while at + 8 <= png.len() {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().ok()?) as usize;
        let kind = &png[at + 4..at + 8];
        let data = png.get(at + 8..at + 8 + len)?;
        match kind {
            b"pHYs" if len == 9 && data[8] == 1 => {
                let ppm = |b: &[u8]| f64::from(u32::from_be_bytes(b.try_into().unwrap_or([0; 4])));
                let dpi = |v: f64| (v * 0.0254).round() as u32;
                let (x, y) = (dpi(ppm(&data[0..4])), dpi(ppm(&data[4..8])));
                return (x > 0 && y > 0).then_some((x, y));
            }
            b"IDAT" | b"IEND" => return None, // pHYs comes before the image data
            _ => at += 12 + len,
        }
    }
    None
}

/// The pages as one multi-page TIFF, one IFD per page in order: lossless (Deflate with the
/// horizontal predictor), each page at its own size, bit depth and resolution. Black-and-white
/// pages are stored as 8-bit grey (the encoder writes no 1-bit images).
pub fn assemble_tiff(pages: &[ScannedPage]) -> Result<Vec<u8>, ScanError> {
    use tiff::encoder::{
        colortype, compression::DeflateLevel, Compression, Predictor, TiffEncoder,
    };
    if pages.is_empty() {
        return Err(ScanError::NoPages {
            message: "there are no scanned pages to put into a document".into(),
        });
    }
    let failed = |e: tiff::TiffError| ScanError::Failed {
        message: format!("writing the scanned pages as TIFF failed: {e}"),
    };
    let mut out = Cursor::new(Vec::new());
    let mut encoder = TiffEncoder::new(&mut out)
        .map_err(failed)?
        .with_compression(Compression::Deflate(DeflateLevel::Balanced))
        .with_predictor(Predictor::Horizontal);
    for page in pages {
        let dpi = page.dpi;
        let img = page.decode()?;
        let (w, h) = (img.width(), img.height());
        match &img {
            DynamicImage::ImageLuma8(i) => {
                write_page::<colortype::Gray8, _>(&mut encoder, w, h, dpi, i.as_raw())
            }
            DynamicImage::ImageLuma16(i) => {
                write_page::<colortype::Gray16, _>(&mut encoder, w, h, dpi, i.as_raw())
            }
            DynamicImage::ImageRgb8(i) => {
                write_page::<colortype::RGB8, _>(&mut encoder, w, h, dpi, i.as_raw())
            }
            DynamicImage::ImageRgb16(i) => {
                write_page::<colortype::RGB16, _>(&mut encoder, w, h, dpi, i.as_raw())
            }
            // Scanners send no alpha; should one appear, it carries nothing worth keeping.
            DynamicImage::ImageLumaA8(_) => {
                write_page::<colortype::Gray8, _>(&mut encoder, w, h, dpi, img.to_luma8().as_raw())
            }
            DynamicImage::ImageLumaA16(_) => write_page::<colortype::Gray16, _>(
                &mut encoder,
                w,
                h,
                dpi,
                img.to_luma16().as_raw(),
            ),
            DynamicImage::ImageRgba16(_) => {
                write_page::<colortype::RGB16, _>(&mut encoder, w, h, dpi, img.to_rgb16().as_raw())
            }
            _ => write_page::<colortype::RGB8, _>(&mut encoder, w, h, dpi, img.to_rgb8().as_raw()),
        }
        .map_err(failed)?;
    }
    Ok(out.into_inner())
}

fn write_page<C, W>(
    encoder: &mut tiff::encoder::TiffEncoder<W>,
    width: u32,
    height: u32,
    (dpi_x, dpi_y): (u32, u32),
    data: &[C::Inner],
) -> Result<(), tiff::TiffError>
where
    C: tiff::encoder::colortype::ColorType,
    W: std::io::Write + std::io::Seek,
    [C::Inner]: tiff::encoder::TiffValue,
{
    use tiff::encoder::Rational;
    use tiff::tags::ResolutionUnit;
    let mut image = encoder.new_image::<C>(width, height)?;
    image.resolution_unit(ResolutionUnit::Inch);
    image.x_resolution(Rational { n: dpi_x, d: 1 });
    image.y_resolution(Rational { n: dpi_y, d: 1 });
    image.write_data(data)
}

/// A private (mode 0700: scans are confidential) temporary directory, removed on drop.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> std::io::Result<ScratchDir> {
        use std::os::unix::fs::DirBuilderExt;
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        loop {
            let path = std::env::temp_dir().join(format!(
                "countersign-scan-{}-{nanos}-{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(ScratchDir(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `scanimage -d test:0 -A` (sane-backends 1.1.1), abridged.
    const TEST_DEVICE: &str = "
All options specific to device `test:0':
  Scan Mode:
    --mode Gray|Color [Gray]
        Selects the scan mode (e.g., lineart, monochrome, or color).
    --depth 1|8|16 [8]
        Number of bits per sample, typical values are 1 for \"line-art\" and 8
        for multibit scans.
    --hand-scanner[=(yes|no)] [no]
        Simulate a hand-scanner.
    --resolution 1..1200dpi (in steps of 1) [0.000762939]
        Sets the resolution of the scanned image.
    --source Flatbed|Automatic Document Feeder [Flatbed]
        If Automatic Document Feeder is selected, the feeder will be 'empty'
        after 10 scans.
  Geometry:
    -l 0..200mm (in steps of 1) [0]
        Top-left x position of scan area.
    --string-constraint-string-list First entry|Second entry [inactive]
";

    /// A Brother-style device: brackets inside values, feeder names with alignment.
    const BROTHER: &str = "
    --mode Black & White|Gray[Error Diffusion]|True Gray|24bit Color|24bit Color[Fast] [24bit Color]
        Select the scan mode
    --resolution 100|150|200|300|400|600|1200|2400|4800|9600dpi [200]
        Sets the resolution of the scanned image.
    --source FlatBed|Automatic Document Feeder(left aligned)|Automatic Document Feeder(left aligned,Duplex)|Automatic Document Feeder(centrally aligned)|Automatic Document Feeder(centrally aligned,Duplex) [Automatic Document Feeder(left aligned)]
        Selects the scan source (such as a document-feeder).
";

    fn req(mode: ScanMode, source: ScanSource, dpi: u32) -> ScanRequest {
        ScanRequest {
            device: Some("d".into()),
            resolution_dpi: dpi,
            mode,
            source,
            max_pages: None,
        }
    }

    #[test]
    fn the_test_devices_options_are_parsed() {
        let o = parse_options(TEST_DEVICE);
        assert_eq!(o.modes, ["Gray", "Color"]);
        assert_eq!(o.sources, ["Flatbed", "Automatic Document Feeder"]);
        assert_eq!(o.depths, [1, 8, 16]);
        assert_eq!(
            o.resolutions,
            Some(Resolutions::Range {
                min: 1,
                max: 1200,
                step: 1
            })
        );
        assert_eq!(
            o.source_name(ScanSource::Adf),
            Some("Automatic Document Feeder")
        );
        assert_eq!(o.source_name(ScanSource::AdfDuplex), None);
        // No lineart mode, but 1-bit grey.
        assert_eq!(
            o.settings_for("test:0", &req(ScanMode::Lineart, ScanSource::Flatbed, 75))
                .unwrap(),
            [
                "--mode=Gray",
                "--depth=1",
                "--source=Flatbed",
                "--resolution=75"
            ]
        );
        assert_eq!(
            o.settings_for("test:0", &req(ScanMode::Color, ScanSource::Adf, 150))
                .unwrap(),
            [
                "--mode=Color",
                "--depth=8",
                "--source=Automatic Document Feeder",
                "--resolution=150"
            ]
        );
        let e = o
            .settings_for("test:0", &req(ScanMode::Gray, ScanSource::AdfDuplex, 75))
            .unwrap_err();
        assert_eq!(e.code(), "unsupported_scan_setting");
        assert!(
            e.to_string().contains("Flatbed, Automatic Document Feeder"),
            "{e}"
        );
        let e = o
            .settings_for("test:0", &req(ScanMode::Gray, ScanSource::Flatbed, 2400))
            .unwrap_err();
        assert!(e.to_string().contains("1–1200 dpi"), "{e}");
    }

    #[test]
    fn device_vocabularies_map_onto_ours() {
        let o = parse_options(BROTHER);
        assert_eq!(o.modes.len(), 5);
        assert_eq!(o.mode_name(ScanMode::Gray), Some("True Gray"));
        assert_eq!(o.mode_name(ScanMode::Color), Some("24bit Color"));
        assert_eq!(o.mode_name(ScanMode::Lineart), Some("Black & White"));
        assert_eq!(o.source_name(ScanSource::Flatbed), Some("FlatBed"));
        assert_eq!(
            o.source_name(ScanSource::Adf),
            Some("Automatic Document Feeder(left aligned)")
        );
        assert_eq!(
            o.source_name(ScanSource::AdfDuplex),
            Some("Automatic Document Feeder(left aligned,Duplex)")
        );
        let r = o.resolutions.clone().unwrap();
        assert!(r.supports(300) && !r.supports(250));
        let e = o
            .settings_for("brother", &req(ScanMode::Gray, ScanSource::Flatbed, 250))
            .unwrap_err();
        assert!(e.to_string().contains("100, 150, 200, 300"), "{e}");

        let plain = DeviceOptions::default();
        assert_eq!(
            plain
                .settings_for("cam", &req(ScanMode::Gray, ScanSource::Flatbed, 300))
                .unwrap(),
            Vec::<String>::new()
        );
        let e = plain
            .settings_for("cam", &req(ScanMode::Gray, ScanSource::Adf, 300))
            .unwrap_err();
        assert!(e.to_string().contains("no document feeder"), "{e}");
    }

    #[test]
    fn device_lists_split_only_on_the_separators() {
        let out = "test:0\u{1f}Noname\u{1f}frontend-tester\u{1f}virtual device\u{1e}\
                   net:host:x\u{1f}A|B %d\u{1f}Model\nTwo\u{1f}flatbed scanner\u{1e}";
        let devices = parse_device_list(out);
        assert_eq!(devices.len(), 2);
        assert_eq!(devices[0].name, "test:0");
        assert_eq!(devices[0].kind, "virtual device");
        assert_eq!(devices[1].vendor, "A|B %d");
        assert_eq!(devices[1].model, "Model\nTwo");
        assert!(parse_device_list("").is_empty());
    }

    #[test]
    fn progress_is_reported_in_order_and_a_page_the_feeder_no_longer_has_never_starts() {
        let mut events = Vec::new();
        let mut t = ProgressTracker::default();
        for line in [
            "Scanning 3 pages, incrementing by 1, numbering from 1",
            "Scanning page 1",
            "Progress: 44.1%",
            "Progress: 100.0%",
            "Progress: 100.0%",
            "Scanned page 1. (scanner status = 5)",
            "Scanning page 2",
            "Progress: 0.0%scanimage: sane_read: Device busy",
            "Scanned page 2. (scanner status = 3)",
            "Scanning page 3",
            "scanimage: sane_start: Document feeder out of documents",
        ] {
            t.feed(line, &mut |e| events.push(e));
        }
        use ScanProgress::*;
        assert_eq!(
            events,
            [
                PageStarted { page: 1 },
                PageProgress {
                    page: 1,
                    percent: 44.1
                },
                PageProgress {
                    page: 1,
                    percent: 100.0
                },
                PageDone { page: 1 },
                PageStarted { page: 2 },
                PageProgress {
                    page: 2,
                    percent: 0.0
                },
            ]
        );
    }

    #[test]
    fn open_failures_are_told_apart() {
        let lines = |l: &str| vec![l.to_owned()];
        let e = open_failure(
            &lines("scanimage: open of device x:1 failed: Invalid argument"),
            "x:1",
        );
        assert_eq!(e.unwrap().code(), "scanner_not_found");
        let e = open_failure(
            &lines("scanimage: open of device x:1 failed: Device busy"),
            "x:1",
        );
        assert_eq!(e.unwrap().code(), "scanner_busy");
        assert!(open_failure(&lines("scanimage: sane_read: Device busy"), "x:1").is_none());
    }
}
