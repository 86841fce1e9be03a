//! Hot folders: every file that settles in a watched folder becomes a document once, then leaves
//! the folder.
//!
//! For each file [`countersign_capture::watch`] reports ready, [`watch_folder`] calls
//! [`crate::ingest_path`] and only after it has returned — the original's blob fsynced and its
//! record committed — moves the file:
//! - into `processed/` when it was imported, or when its bytes were already stored (`duplicate`).
//!   That second case is also the crash recovery: a file whose import committed but whose move
//!   never happened is found again at the next start, refused as a duplicate, and moved;
//! - into `failed/` for any other refusal, with `<name>.reason.json` (`{code, message, at}`);
//!   our own trouble (store errors, PDFium missing) leaves the file where it is
//!   beside it.
//!
//! Nothing in `processed/` or `failed/` is ever overwritten: a name already taken gets a numeric
//! suffix (`scan-1.pdf`). A file that disappears before it could be taken (another watcher of the
//! same folder got there first, or someone deleted it) is left to whoever took it.

use crate::{Error, ErrorCode, Workspace};
use countersign_capture::watch::{FolderWatcher, WatchError, WatchEvent};
use countersign_core::{DocumentRecord, Source};
use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

pub use countersign_capture::watch::WatchOptions;

/// Where imported (and already-imported) files go, inside the watched folder.
pub const PROCESSED_DIR: &str = "processed";
/// Where refused files go, inside the watched folder, each with a [`REASON_SUFFIX`] file.
pub const FAILED_DIR: &str = "failed";
/// `failed/<file name>.reason.json` says why `failed/<file name>` was refused.
pub const REASON_SUFFIX: &str = ".reason.json";

/// How often [`watch_configured`] tries again to watch a folder it could not open.
const RETRY_OPEN: Duration = Duration::from_secs(10);

/// What happened in a watched folder.
#[derive(Debug)]
pub enum FolderEvent {
    /// A file was taken in (or refused) and moved out of the folder.
    File(Box<FileOutcome>),
    /// The folder cannot be read at the moment (deleted, unmounted, permission withdrawn); the
    /// watch keeps trying.
    Unavailable { dir: PathBuf, error: Error },
    /// The folder can be read again.
    Resumed { dir: PathBuf },
}

/// One file taken from a watched folder.
#[derive(Debug)]
pub struct FileOutcome {
    /// Where the file was found.
    pub file: PathBuf,
    /// The new document, or why there is none (`duplicate`: the bytes were stored before).
    pub imported: Result<DocumentRecord, Error>,
    /// Where the file is now (in `processed/` or `failed/`), or why it could not be moved. A file
    /// that could not be moved stays in the folder and is not taken again while it is unchanged.
    pub moved_to: Result<PathBuf, Error>,
}

/// Watches `dir` until `cancel` fires, importing each file that settles there and reporting each
/// outcome to `report`. Fails only if the folder cannot be watched at all (missing, not a folder,
/// unreadable); trouble afterwards is reported as [`FolderEvent::Unavailable`].
///
/// A file being imported when `cancel` fires is finished (imported and moved) first.
pub async fn watch_folder(
    ws: &Workspace,
    dir: &Path,
    opts: WatchOptions,
    cancel: &CancellationToken,
    mut report: impl FnMut(FolderEvent) + Send,
) -> Result<(), Error> {
    let mut watcher = FolderWatcher::start(dir, opts).map_err(watch_error)?;
    let dir = watcher.dir().to_owned();
    // Recorded in the audit log: which folder handed the document over.
    let actor = format!("folder:{}", dir.display());
    loop {
        let event = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Ok(()),
            event = watcher.next() => event,
        };
        match event {
            Some(WatchEvent::Ready(file)) => {
                if let Some(outcome) = take_file(ws, &dir, &file, &actor).await {
                    report(FolderEvent::File(Box::new(outcome)));
                }
            }
            Some(WatchEvent::Unavailable(e)) => report(FolderEvent::Unavailable {
                dir: dir.clone(),
                error: watch_error(e),
            }),
            Some(WatchEvent::Resumed) => report(FolderEvent::Resumed { dir: dir.clone() }),
            None => return Err(Error::internal("watching a folder", "the watcher stopped")),
        }
    }
}

/// The workstation's hot folders (`watch_folders` in countersign.toml), each watched until it is
/// removed or the app stops. Adding or removing one updates the file and takes effect at once.
#[derive(Clone)]
pub struct HotFolders {
    ws: Workspace,
    cancel: CancellationToken,
    running:
        std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<PathBuf, CancellationToken>>>,
}

impl HotFolders {
    /// Starts watching every configured folder.
    pub fn start(ws: &Workspace, cancel: CancellationToken) -> HotFolders {
        let folders = HotFolders {
            ws: ws.clone(),
            cancel,
            running: Default::default(),
        };
        for dir in ws.config().watch_folders.clone() {
            folders.spawn(dir);
        }
        folders
    }

    fn spawn(&self, dir: PathBuf) {
        let token = self.cancel.child_token();
        let mut running = self.running.lock().expect("hot folder registry");
        if running.contains_key(&dir) {
            return;
        }
        running.insert(dir.clone(), token.clone());
        let ws = self.ws.clone();
        tokio::spawn(async move { keep_watching(&ws, &dir, &token).await });
    }

    /// The folders being watched, in path order.
    pub fn list(&self) -> Vec<PathBuf> {
        self.running
            .lock()
            .expect("hot folder registry")
            .keys()
            .cloned()
            .collect()
    }

    /// Watches `dir` from now on and records it in countersign.toml.
    pub fn add(&self, dir: &Path) -> Result<Vec<PathBuf>, Error> {
        if !dir.is_absolute() {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                format!("`{}` is not an absolute path", dir.display()),
            ));
        }
        if !dir.is_dir() {
            return Err(Error::new(
                ErrorCode::NotFound,
                format!("{} is not a folder", dir.display()),
            ));
        }
        let mut folders = crate::config::read_watch_folders(self.ws.data_dir())?;
        if !folders.iter().any(|f| f == dir) {
            folders.push(dir.to_owned());
            crate::config::write_watch_folders(self.ws.data_dir(), &folders)?;
        }
        self.spawn(dir.to_owned());
        Ok(self.list())
    }

    /// Stops watching `dir` and removes it from countersign.toml. Files already in it stay.
    pub fn remove(&self, dir: &Path) -> Result<Vec<PathBuf>, Error> {
        let mut folders = crate::config::read_watch_folders(self.ws.data_dir())?;
        folders.retain(|f| f != dir);
        crate::config::write_watch_folders(self.ws.data_dir(), &folders)?;
        if let Some(token) = self
            .running
            .lock()
            .expect("hot folder registry")
            .remove(dir)
        {
            token.cancel();
        }
        Ok(self.list())
    }
}

/// Watches every folder in the configuration's `watch_folders` until `cancel` fires, logging
/// what happens. A folder that cannot be opened (a share not mounted yet) is tried again every
/// few seconds.
pub async fn watch_configured(ws: &Workspace, cancel: CancellationToken) {
    let mut watches = tokio::task::JoinSet::new();
    for dir in ws.config().watch_folders.clone() {
        let ws = ws.clone();
        let cancel = cancel.clone();
        watches.spawn(async move { keep_watching(&ws, &dir, &cancel).await });
    }
    while watches.join_next().await.is_some() {}
}

async fn keep_watching(ws: &Workspace, dir: &Path, cancel: &CancellationToken) {
    let mut warned = false;
    loop {
        match watch_folder(ws, dir, WatchOptions::default(), cancel, log_event).await {
            Ok(()) => return,
            Err(e) if !warned => {
                warned = true;
                warn!(dir = %dir.display(), code = e.code.as_str(), error = %e,
                    "cannot watch the folder; trying again every {RETRY_OPEN:?}");
            }
            Err(e) => debug!(dir = %dir.display(), error = %e, "still cannot watch the folder"),
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(RETRY_OPEN) => {}
        }
    }
}

fn log_event(event: FolderEvent) {
    match event {
        FolderEvent::File(f) => {
            match &f.imported {
                Ok(r) => info!(file = %f.file.display(), document_id = %r.document_id,
                    "imported from a hot folder"),
                Err(e) => warn!(file = %f.file.display(), code = e.code.as_str(), error = %e,
                    "a file in a hot folder was not imported"),
            }
            if let Err(e) = &f.moved_to {
                warn!(file = %f.file.display(), error = %e, "could not move the file out of the hot folder");
            }
        }
        FolderEvent::Unavailable { dir, error } => {
            warn!(dir = %dir.display(), error = %error, "hot folder unavailable")
        }
        FolderEvent::Resumed { dir } => info!(dir = %dir.display(), "hot folder available again"),
    }
}

fn watch_error(e: WatchError) -> Error {
    let code = match &e {
        WatchError::NotFound(_) => ErrorCode::NotFound,
        WatchError::NotADirectory(_) => ErrorCode::InvalidArgument,
        WatchError::Unreadable { .. } => ErrorCode::UnreadableFile,
    };
    Error::new(code, e.to_string())
}

/// Imports one ready file and moves it aside. `None`: the file was gone before it could be taken.
async fn take_file(ws: &Workspace, dir: &Path, file: &Path, actor: &str) -> Option<FileOutcome> {
    let imported = crate::ingest_path(ws, file, Source::Folder, actor)
        .await
        .map(|o| o.record);
    let refusal = match &imported {
        Ok(_) => None,
        Err(e) if e.code == ErrorCode::Duplicate => None,
        Err(e) => Some(e),
    };
    // Our own trouble (the store, a missing PDFium) says nothing about the file: it stays where it
    // is, to be taken again when the watcher restarts, instead of being filed as refused.
    if let Some(e) = refusal.filter(|e| {
        matches!(
            e.code,
            ErrorCode::Internal | ErrorCode::EngineUnavailable | ErrorCode::DataDirUnusable
        )
    }) {
        let left = Error::new(
            e.code,
            format!(
                "{} stays in the folder and is tried again when watching restarts ({})",
                file.display(),
                e.message
            ),
        );
        return Some(FileOutcome {
            file: file.to_owned(),
            imported,
            moved_to: Err(left),
        });
    }
    let (sub, reason) = match refusal {
        None => (PROCESSED_DIR, None),
        Some(e) => {
            if !file.exists() {
                debug!(file = %file.display(), "the file vanished before it could be imported");
                return None;
            }
            let reason = serde_json::json!({
                "code": e.code,
                "message": e.message,
                "at": chrono::Utc::now(),
            });
            (FAILED_DIR, Some(reason.to_string()))
        }
    };
    let (from, to_dir) = (file.to_owned(), dir.join(sub));
    let moved = tokio::task::spawn_blocking(move || move_aside(&from, &to_dir, reason.as_deref()))
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)));
    let moved_to = match moved {
        Ok(Some(to)) => Ok(to),
        // Someone else took it: after a duplicate that is another watcher of this folder.
        Ok(None) if imported.is_err() => return None,
        Ok(None) => Err(Error::new(
            ErrorCode::NotFound,
            format!(
                "{} was imported but removed from the folder before it could be moved to {sub}/",
                file.display()
            ),
        )),
        Err(e) => Err(Error::new(
            ErrorCode::UnreadableFile,
            format!("cannot move {} into {sub}/: {e}", file.display()),
        )),
    };
    Some(FileOutcome {
        file: file.to_owned(),
        imported,
        moved_to,
    })
}

/// Moves `file` into `to_dir` under its own name or, if that is taken, the first free numbered
/// variant; with a `reason`, writes `<final name>.reason.json` beside it first. Never overwrites.
/// `Ok(None)`: `file` no longer exists.
fn move_aside(file: &Path, to_dir: &Path, reason: Option<&str>) -> io::Result<Option<PathBuf>> {
    std::fs::create_dir_all(to_dir)?;
    let name = file
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    for n in 0..10_000u32 {
        let target = to_dir.join(numbered(name, n));
        if target.symlink_metadata().is_ok() {
            continue;
        }
        let reason_path = reason.map(|_| {
            let mut p = target.clone().into_os_string();
            p.push(REASON_SUFFIX);
            PathBuf::from(p)
        });
        if let (Some(reason), Some(path)) = (reason, &reason_path) {
            match write_new(path, reason) {
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                other => other?,
            }
        }
        let placed = place(file, &target);
        if placed.is_err() {
            if let Some(path) = &reason_path {
                let _ = std::fs::remove_file(path);
            }
        }
        match placed {
            Ok(()) => return Ok(Some(target)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) if e.kind() == io::ErrorKind::NotFound && !file.exists() => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(format!(
        "too many files named {} already",
        name.to_string_lossy()
    )))
}

/// `scan.pdf`, `scan-1.pdf`, `scan-2.pdf`, …
fn numbered(name: &std::ffi::OsStr, n: u32) -> OsString {
    if n == 0 {
        return name.to_owned();
    }
    let path = Path::new(name);
    let mut out = path.file_stem().unwrap_or(name).to_owned();
    out.push(format!("-{n}"));
    if let Some(ext) = path.extension() {
        out.push(".");
        out.push(ext);
    }
    out
}

fn write_new(path: &Path, text: &str) -> io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

/// Moves `from` to `to` unless `to` exists (`AlreadyExists`). A hard link is the atomic
/// "create only if absent"; where links are not possible (FAT, some shares) it checks first and
/// renames, which only another process moving a same-named file at the same instant could race.
fn place(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::hard_link(from, to) {
        Ok(()) => std::fs::remove_file(from).inspect_err(|_| {
            let _ = std::fs::remove_file(to);
        }),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::AlreadyExists | io::ErrorKind::NotFound
            ) =>
        {
            Err(e)
        }
        Err(_) => {
            if to.symlink_metadata().is_ok() {
                return Err(io::ErrorKind::AlreadyExists.into());
            }
            std::fs::rename(from, to)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taken_names_get_a_numeric_suffix() {
        let n = |s: &str, i| numbered(std::ffi::OsStr::new(s), i);
        assert_eq!(n("scan.pdf", 0), "scan.pdf");
        assert_eq!(n("scan.pdf", 2), "scan-2.pdf");
        assert_eq!(n("README", 1), "README-1");
        assert_eq!(n("a.b.png", 1), "a.b-1.png");
    }

    #[test]
    fn moving_aside_never_overwrites() {
        let root = tempfile::tempdir().unwrap();
        let to = root.path().join("failed");
        std::fs::create_dir(&to).unwrap();
        std::fs::write(to.join("a.png"), b"older").unwrap();
        // A reason file left without its file still blocks that name.
        std::fs::write(to.join("a-1.png.reason.json"), b"{}").unwrap();
        let file = root.path().join("a.png");
        std::fs::write(&file, b"newer").unwrap();
        let moved = move_aside(&file, &to, Some("{\"code\":\"x\"}"))
            .unwrap()
            .unwrap();
        assert_eq!(moved, to.join("a-2.png"));
        assert_eq!(std::fs::read(to.join("a.png")).unwrap(), b"older");
        assert_eq!(
            std::fs::read(to.join("a-1.png.reason.json")).unwrap(),
            b"{}"
        );
        assert_eq!(std::fs::read(&moved).unwrap(), b"newer");
        assert_eq!(
            std::fs::read(to.join("a-2.png.reason.json")).unwrap(),
            b"{\"code\":\"x\"}"
        );
        assert!(!file.exists());
        // A file that is gone is not an error: someone else took it.
        assert_eq!(move_aside(&file, &to, None).unwrap(), None);
    }
}
