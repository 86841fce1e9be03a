//! Decoding untrusted files in a child process, with a time limit and a memory ceiling, so a file
//! that hangs or crashes PDFium or an image decoder costs that file, never the app.
//!
//! The child is our own executable started with [`WORKER_ARG`] (both `countersign` and
//! `countersign-desktop` call [`run_worker_if_requested`] first thing in `main`). The request
//! (including any password) goes over stdin, never the command line; results come back as JSON
//! lines on stdout, page images as files in a directory the parent chose. Where no such executable
//! is at hand (library tests), the same code runs in-process.

use crate::decode::{self, CaptureError, Inspection, PageGeometry};
use crate::limits::Limits;
use crate::reject::{RejectCode, Rejection};
use countersign_core::MimeType;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const WORKER_ARG: &str = "--countersign-capture-worker";

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Request {
    Inspect {
        input: PathBuf,
        mime: MimeType,
        password: Option<String>,
        limits: Limits,
    },
    Render {
        input: PathBuf,
        mime: MimeType,
        password: Option<String>,
        limits: Limits,
        from: u32,
        out_dir: PathBuf,
        #[serde(default)]
        encoding: decode::PageEncoding,
    },
    Unlock {
        input: PathBuf,
        password: String,
        output: PathBuf,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Reply {
    Inspection(Inspection),
    Page {
        geometry: PageGeometry,
        png: PathBuf,
        thumbnail: PathBuf,
    },
    Unlocked,
    Error {
        kind: String,
        code: Option<RejectCode>,
        message: String,
    },
    Done,
}

/// A rendered page as files in the directory given to [`Isolation::render`].
#[derive(Clone, Debug)]
pub struct PageFiles {
    pub geometry: PageGeometry,
    pub png: PathBuf,
    pub thumbnail: PathBuf,
}

/// How decoding is isolated: a child process of `exe`, or (without one) this process.
#[derive(Clone, Debug)]
pub struct Isolation {
    exe: Option<PathBuf>,
}

impl Isolation {
    /// Our own binary if it is one of Countersign's (or `COUNTERSIGN_CAPTURE_EXE`), else the
    /// `countersign` binary beside a test executable, else in-process.
    pub fn detect() -> Isolation {
        if let Some(p) = std::env::var_os("COUNTERSIGN_CAPTURE_EXE") {
            return Isolation {
                exe: Some(PathBuf::from(p)),
            };
        }
        let Ok(exe) = std::env::current_exe() else {
            return Isolation::in_process();
        };
        let name = exe.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name == "countersign" || name == "countersign-desktop" {
            return Isolation { exe: Some(exe) };
        }
        Isolation::in_process()
    }

    pub fn in_process() -> Isolation {
        Isolation { exe: None }
    }

    pub fn is_isolated(&self) -> bool {
        self.exe.is_some()
    }

    pub fn inspect(
        &self,
        input: &Path,
        mime: MimeType,
        password: Option<&str>,
        limits: &Limits,
    ) -> Result<Inspection, CaptureError> {
        let request = Request::Inspect {
            input: input.into(),
            mime,
            password: password.map(Into::into),
            limits: *limits,
        };
        let mut found = None;
        self.run(request, mime, limits, |reply| {
            if let Reply::Inspection(i) = reply {
                found = Some(i);
            }
            Ok(())
        })?;
        found.ok_or_else(|| {
            CaptureError::Internal("the decoder answered without an inspection".into())
        })
    }

    /// Renders pages `from..` into `out_dir`, calling `on_page` as each one is ready.
    #[allow(clippy::too_many_arguments)]
    pub fn render(
        &self,
        input: &Path,
        mime: MimeType,
        password: Option<&str>,
        limits: &Limits,
        from: u32,
        out_dir: &Path,
        on_page: impl FnMut(PageFiles) -> Result<(), CaptureError>,
    ) -> Result<(), CaptureError> {
        self.render_encoded(
            input,
            mime,
            password,
            limits,
            from,
            out_dir,
            decode::PageEncoding::Png,
            on_page,
        )
    }

    /// [`Isolation::render`] with the page files encoded as `encoding` says (raw: PGM/PPM, no
    /// thumbnail).
    #[allow(clippy::too_many_arguments)]
    pub fn render_encoded(
        &self,
        input: &Path,
        mime: MimeType,
        password: Option<&str>,
        limits: &Limits,
        from: u32,
        out_dir: &Path,
        encoding: decode::PageEncoding,
        mut on_page: impl FnMut(PageFiles) -> Result<(), CaptureError>,
    ) -> Result<(), CaptureError> {
        let request = Request::Render {
            input: input.into(),
            mime,
            password: password.map(Into::into),
            limits: *limits,
            from,
            out_dir: out_dir.into(),
            encoding,
        };
        self.run(request, mime, limits, |reply| match reply {
            Reply::Page {
                geometry,
                png,
                thumbnail,
            } => on_page(PageFiles {
                geometry,
                png,
                thumbnail,
            }),
            _ => Ok(()),
        })
    }

    /// Writes an unencrypted copy of the PDF at `input` to `output`.
    pub fn unlock(
        &self,
        input: &Path,
        password: &str,
        output: &Path,
        limits: &Limits,
    ) -> Result<(), CaptureError> {
        let request = Request::Unlock {
            input: input.into(),
            password: password.into(),
            output: output.into(),
        };
        self.run(request, MimeType::Pdf, limits, |_| Ok(()))
    }

    fn run(
        &self,
        request: Request,
        mime: MimeType,
        limits: &Limits,
        mut on_reply: impl FnMut(Reply) -> Result<(), CaptureError>,
    ) -> Result<(), CaptureError> {
        let Some(exe) = &self.exe else {
            return serve(request, &mut |reply| match reply {
                Reply::Error {
                    kind,
                    code,
                    message,
                } => Err(error_from(kind, code, message)),
                other => on_reply(other),
            });
        };
        let mut child = unsafe {
            Command::new(exe)
                .arg(WORKER_ARG)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                // Stay out of the app's tracing file and keep PDFium's threads to one.
                .env("RUST_LOG", "error")
                .env("OMP_THREAD_LIMIT", "1")
                .pre_exec(move || {
                    // A memory ceiling: a hostile file fails to allocate instead of swapping the machine.
                    let limit = libc::rlimit {
                        rlim_cur: 8 << 30,
                        rlim_max: 8 << 30,
                    };
                    libc::setrlimit(libc::RLIMIT_AS, &limit);
                    Ok(())
                })
                .spawn()
        }
        .map_err(|e| {
            CaptureError::Internal(format!(
                "cannot start the decoder process {}: {e}",
                exe.display()
            ))
        })?;
        {
            let mut stdin = child.stdin.take().expect("piped stdin");
            let body = serde_json::to_vec(&request).expect("request serializes");
            stdin
                .write_all(&body)
                .map_err(|e| CaptureError::Internal(format!("talking to the decoder: {e}")))?;
        }
        // The watchdog kills the child when no progress arrives within the limit; each reply
        // (one per page when rendering) moves the deadline.
        let timeout_ms = limits.decode_timeout_secs.saturating_mul(1000);
        let deadline = Arc::new(AtomicU64::new(now_ms() + timeout_ms));
        let timed_out = Arc::new(AtomicBool::new(false));
        let pid = child.id() as i32;
        // Dropping `done` (when the child has been waited for) wakes the watchdog at once.
        let (done, wake) = std::sync::mpsc::channel::<()>();
        let watchdog = {
            let (deadline, timed_out) = (deadline.clone(), timed_out.clone());
            std::thread::spawn(move || loop {
                let left = deadline.load(Ordering::SeqCst).saturating_sub(now_ms());
                match wake.recv_timeout(Duration::from_millis(left.clamp(1, 250))) {
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                        if now_ms() > deadline.load(Ordering::SeqCst) {
                            timed_out.store(true, Ordering::SeqCst);
                            unsafe { libc::kill(pid, libc::SIGKILL) };
                            return;
                        }
                    }
                    _ => return,
                }
            })
        };
        let stdout = child.stdout.take().expect("piped stdout");
        let mut outcome: Option<Result<(), CaptureError>> = None;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            deadline.store(now_ms() + timeout_ms, Ordering::SeqCst);
            let reply: Reply = match serde_json::from_str(&line) {
                Ok(r) => r,
                Err(_) => continue, // a stray line from a library; replies are whole JSON lines
            };
            match reply {
                Reply::Done => {
                    outcome = Some(Ok(()));
                    break;
                }
                Reply::Error {
                    kind,
                    code,
                    message,
                } => {
                    outcome = Some(Err(error_from(kind, code, message)));
                    break;
                }
                other => {
                    if let Err(e) = on_reply(other) {
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                        outcome = Some(Err(e));
                        break;
                    }
                }
            }
        }
        let status = child.wait();
        drop(done);
        let _ = watchdog.join();
        if let Some(result) = outcome {
            return result;
        }
        let corrupt = if mime == MimeType::Pdf {
            RejectCode::CorruptPdf
        } else {
            RejectCode::CorruptImage
        };
        if timed_out.load(Ordering::SeqCst) {
            return Err(Rejection::new(
                RejectCode::DecodeTimeout,
                format!(
                    "decoding the file took longer than {} s and was stopped",
                    limits.decode_timeout_secs
                ),
            )
            .into());
        }
        Err(Rejection::new(
            corrupt,
            format!(
                "the decoder stopped on this file ({}); it is damaged or hostile",
                status.map(|s| s.to_string()).unwrap_or_default()
            ),
        )
        .into())
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn error_from(kind: String, code: Option<RejectCode>, message: String) -> CaptureError {
    match (kind.as_str(), code) {
        ("rejected", Some(code)) => Rejection::new(code, message).into(),
        ("unavailable", _) => CaptureError::Unavailable(message),
        _ => CaptureError::Internal(message),
    }
}

fn error_reply(e: CaptureError) -> Reply {
    match e {
        CaptureError::Rejected(r) => Reply::Error {
            kind: "rejected".into(),
            code: Some(r.code),
            message: r.message,
        },
        CaptureError::Unavailable(m) => Reply::Error {
            kind: "unavailable".into(),
            code: None,
            message: m,
        },
        CaptureError::Internal(m) => Reply::Error {
            kind: "internal".into(),
            code: None,
            message: m,
        },
    }
}

/// Does the work of one request, replying through `reply` (in the child, or in-process).
fn serve(
    request: Request,
    reply: &mut dyn FnMut(Reply) -> Result<(), CaptureError>,
) -> Result<(), CaptureError> {
    let read = |p: &Path| {
        std::fs::read(p)
            .map_err(|e| CaptureError::Internal(format!("reading {}: {e}", p.display())))
    };
    let result = (|| match request {
        Request::Inspect {
            input,
            mime,
            password,
            limits,
        } => {
            let inspection = decode::inspect_file(&input, mime, password.as_deref(), &limits)?;
            reply(Reply::Inspection(inspection))
        }
        Request::Render {
            input,
            mime,
            password,
            limits,
            from,
            out_dir,
            encoding,
        } => {
            let bytes = read(&input)?;
            let ext = match encoding {
                decode::PageEncoding::Png => "png",
                decode::PageEncoding::Raw => "pnm",
            };
            decode::render_encoded(
                &bytes,
                mime,
                password.as_deref(),
                &limits,
                from,
                encoding,
                |page| {
                    let png = out_dir.join(format!("page-{:05}.{ext}", page.geometry.index));
                    let thumbnail = out_dir.join(format!("thumb-{:05}.png", page.geometry.index));
                    let write = |p: &Path, b: &[u8]| {
                        std::fs::write(p, b).map_err(|e| {
                            CaptureError::Internal(format!("writing {}: {e}", p.display()))
                        })
                    };
                    write(&png, &page.png)?;
                    if !page.thumbnail_png.is_empty() {
                        write(&thumbnail, &page.thumbnail_png)?;
                    }
                    reply(Reply::Page {
                        geometry: page.geometry,
                        png,
                        thumbnail,
                    })
                },
            )
        }
        Request::Unlock {
            input,
            password,
            output,
        } => {
            let unlocked = decode::unlock_pdf(&read(&input)?, &password)?;
            std::fs::write(&output, unlocked).map_err(|e| {
                CaptureError::Internal(format!("writing {}: {e}", output.display()))
            })?;
            reply(Reply::Unlocked)
        }
    })();
    match result {
        Ok(()) => reply(Reply::Done),
        Err(e) => reply(error_reply(e)),
    }
}

/// Keeps freed memory in this process's heap instead of returning it to the system.
///
/// A decoder makes and frees a few buffers of tens of megabytes per page (PDFium's bitmap, our
/// copy, the page file's bytes). glibc maps allocations that large afresh each time and unmaps
/// them on free, so every page paid for faulting in the same memory again: a third of the child's
/// CPU on a 12-page scan. A decoder lives for one file, so its heap may as well stay at its peak.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator settings; called before any threads exist.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

/// In `main` of every Countersign binary, before anything else: if this process was started as a
/// decoder, serve the request on stdin and exit.
pub fn run_worker_if_requested() {
    if std::env::args_os().nth(1).as_deref() != Some(std::ffi::OsStr::new(WORKER_ARG)) {
        return;
    }
    keep_freed_memory();
    let mut body = Vec::new();
    let code = match std::io::Read::read_to_end(&mut std::io::stdin(), &mut body)
        .map_err(|e| e.to_string())
        .and_then(|_| serde_json::from_slice::<Request>(&body).map_err(|e| e.to_string()))
    {
        Ok(request) => {
            let stdout = std::io::stdout();
            let mut emit = |r: Reply| -> Result<(), CaptureError> {
                let mut out = stdout.lock();
                serde_json::to_writer(&mut out, &r)
                    .map_err(|e| CaptureError::Internal(e.to_string()))?;
                out.write_all(b"\n")
                    .and_then(|_| out.flush())
                    .map_err(|e| CaptureError::Internal(e.to_string()))
            };
            match serve(request, &mut emit) {
                Ok(()) => 0,
                Err(_) => 1,
            }
        }
        Err(e) => {
            eprintln!("countersign decoder: bad request: {e}");
            2
        }
    };
    std::process::exit(code);
}
