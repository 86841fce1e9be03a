//! Hot folders: which files in a folder are complete and ready to import.
//!
//! [`FolderWatcher::start`] watches one folder (not its subfolders) and yields each file once it
//! is *ready*: its size, modification time and identity were the same at two observations at
//! least [`WatchOptions::settle`] apart. A file still being copied in — however slowly — keeps
//! changing and is not reported; a file is never reported twice while it stays unchanged.
//!
//! Two sources of observations, on purpose:
//! - the OS change events (inotify, FSEvents, ReadDirectoryChangesW via `notify`) for low latency;
//! - a rescan of the whole folder every [`WatchOptions::rescan`]. This is the automatic fallback
//!   where events do not arrive: network shares (NFS, SMB/CIFS) and FUSE mounts accept a watch
//!   but never report changes made by other machines, and a full inotify table refuses the watch
//!   outright. It also picks up the files present before watching started. (notify's
//!   `PollWatcher` would do the same walk a second time, so it is not used.)
//!
//! Ignored: subfolders (including the `processed/` and `failed/` a consumer keeps inside),
//! dotfiles, and the names copy tools and office suites use for work in progress (`*.part`,
//! `*.partial`, `*.crdownload`, `*.download`, `*.tmp`, `~$*`), plus Windows' `Thumbs.db` and
//! `desktop.ini`. Those in-progress files become candidates when they are renamed.
//!
//! This module knows nothing of the store: what happens to a ready file is the caller's business.
//! The watching runs on a thread of its own; dropping the [`FolderWatcher`] stops it.

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

/// How a folder is watched. The defaults suit people dropping or copying files in.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// A file is ready once it has not changed (size, modification time, identity) for this long.
    pub settle: Duration,
    /// The same for an empty file: copy tools often create the file first and fill it later, so
    /// an empty file waits longer before it is reported (and then refused as empty).
    pub empty_settle: Duration,
    /// How often the whole folder is listed again; the fallback where change events do not arrive.
    pub rescan: Duration,
    /// Subscribe to the OS change events. `false` relies on the rescans alone, which is what
    /// happens by itself wherever events do not arrive.
    pub native_events: bool,
}

impl Default for WatchOptions {
    fn default() -> WatchOptions {
        WatchOptions {
            settle: Duration::from_secs(1),
            empty_settle: Duration::from_secs(10),
            rescan: Duration::from_secs(2),
            native_events: true,
        }
    }
}

/// What a [`FolderWatcher`] reports.
#[derive(Debug)]
pub enum WatchEvent {
    /// This file (in the watched folder) has stopped changing.
    Ready(PathBuf),
    /// The folder cannot be read any more (deleted, unmounted, permission withdrawn). The watcher
    /// keeps trying at every rescan and reports [`WatchEvent::Resumed`] when it can again.
    Unavailable(WatchError),
    /// The folder can be read again after [`WatchEvent::Unavailable`].
    Resumed,
}

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("the folder {0} does not exist")]
    NotFound(PathBuf),
    #[error("{0} is not a folder")]
    NotADirectory(PathBuf),
    #[error("cannot read the folder {dir}: {source}")]
    Unreadable {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl WatchError {
    fn from_io(dir: &Path, e: io::Error) -> WatchError {
        match e.kind() {
            io::ErrorKind::NotFound => WatchError::NotFound(dir.to_owned()),
            io::ErrorKind::NotADirectory => WatchError::NotADirectory(dir.to_owned()),
            _ => WatchError::Unreadable {
                dir: dir.to_owned(),
                source: e,
            },
        }
    }
}

/// A running watch of one folder. Ready files arrive through [`FolderWatcher::next`]; dropping
/// the watcher stops the watching thread.
#[derive(Debug)]
pub struct FolderWatcher {
    dir: PathBuf,
    events: mpsc::UnboundedReceiver<WatchEvent>,
    control: std_mpsc::Sender<Msg>,
}

impl FolderWatcher {
    /// Starts watching `dir`, which must be a readable folder. The files already in it are
    /// reported too, once they have settled.
    pub fn start(dir: &Path, opts: WatchOptions) -> Result<FolderWatcher, WatchError> {
        let dir = std::fs::canonicalize(dir).map_err(|e| WatchError::from_io(dir, e))?;
        let meta = std::fs::metadata(&dir).map_err(|e| WatchError::from_io(&dir, e))?;
        if !meta.is_dir() {
            return Err(WatchError::NotADirectory(dir));
        }
        std::fs::read_dir(&dir).map_err(|e| WatchError::from_io(&dir, e))?;

        let (control, inbox) = std_mpsc::channel();
        let (out, events) = mpsc::unbounded_channel();
        let watch = Watch {
            dir: dir.clone(),
            opts,
            inbox,
            control: control.clone(),
            out,
            files: HashMap::new(),
            native: None,
            dir_identity: None,
            available: true,
        };
        std::thread::Builder::new()
            .name("countersign-watch".into())
            .spawn(move || watch.run())
            .map_err(|e| WatchError::Unreadable {
                dir: dir.clone(),
                source: e,
            })?;
        Ok(FolderWatcher {
            dir,
            events,
            control,
        })
    }

    /// The watched folder, as an absolute canonical path; the ready paths are inside it.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The next event; `None` only if the watching thread has ended (it does not on its own).
    pub async fn next(&mut self) -> Option<WatchEvent> {
        self.events.recv().await
    }
}

impl Drop for FolderWatcher {
    fn drop(&mut self) {
        let _ = self.control.send(Msg::Stop);
    }
}

/// Whether a file name is never a candidate: hidden files and the names of work in progress.
pub fn is_ignored_name(name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    let lower = name.to_lowercase();
    const IN_PROGRESS: [&str; 6] = [
        ".part",
        ".partial",
        ".crdownload",
        ".download",
        ".tmp",
        ".temp",
    ];
    name.starts_with('.')
        || name.starts_with("~$")
        || IN_PROGRESS.iter().any(|suffix| lower.ends_with(suffix))
        || lower == "thumbs.db"
        || lower == "desktop.ini"
}

/// Messages to the watching thread: from notify's callback and from the handle.
enum Msg {
    Changed(Vec<PathBuf>),
    Rescan,
    Stop,
}

/// What a file looked like at one observation. Equal snapshots a settle interval apart make a
/// file ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Snapshot {
    len: u64,
    modified: Option<SystemTime>,
    /// (device, inode) where the platform has them: a file replaced by another of the same size
    /// is a new file.
    identity: Option<(u64, u64)>,
}

struct Tracked {
    seen: Snapshot,
    /// When `seen` was first observed.
    since: Instant,
    reported: bool,
}

/// The state of the watching thread.
struct Watch {
    dir: PathBuf,
    opts: WatchOptions,
    inbox: std_mpsc::Receiver<Msg>,
    /// Given to notify's callback.
    control: std_mpsc::Sender<Msg>,
    out: mpsc::UnboundedSender<WatchEvent>,
    files: HashMap<OsString, Tracked>,
    native: Option<notify::RecommendedWatcher>,
    /// The folder's identity when the native watch was set up: a folder deleted and created
    /// again between two rescans needs a new watch.
    dir_identity: Option<(u64, u64)>,
    available: bool,
}

impl Watch {
    fn run(mut self) {
        info!(dir = %self.dir.display(), "watching the folder");
        self.connect_events();
        let mut next_rescan = Instant::now();
        loop {
            if Instant::now() >= next_rescan {
                self.rescan();
                next_rescan = Instant::now() + self.opts.rescan;
            }
            self.check_due();
            if self.out.is_closed() {
                break;
            }
            let wake = self
                .next_due()
                .map_or(next_rescan, |due| due.min(next_rescan));
            // A little slack so a due check lands after the deadline, not a hair before it.
            let timeout = wake.saturating_duration_since(Instant::now()) + Duration::from_millis(5);
            match self.inbox.recv_timeout(timeout) {
                Ok(Msg::Changed(paths)) => {
                    for path in paths {
                        self.on_changed(&path);
                    }
                }
                Ok(Msg::Rescan) => next_rescan = Instant::now(),
                Ok(Msg::Stop) | Err(std_mpsc::RecvTimeoutError::Disconnected) => break,
                Err(std_mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
        debug!(dir = %self.dir.display(), "stopped watching the folder");
    }

    /// (Re)subscribes to the OS change events for the folder. Failing that, the rescans carry on
    /// alone: slower, never blind.
    fn connect_events(&mut self) {
        self.native = None;
        self.dir_identity = std::fs::metadata(&self.dir).ok().and_then(|m| identity(&m));
        if !self.opts.native_events {
            return;
        }
        use notify::Watcher;
        let tx = self.control.clone();
        let handler = move |res: notify::Result<notify::Event>| {
            use notify::event::{AccessKind, AccessMode, EventKind};
            let msg = match res {
                Ok(ev) if ev.need_rescan() => Msg::Rescan,
                // Opening and reading (our own import reads the file) change nothing.
                Ok(ev)
                    if matches!(ev.kind, EventKind::Access(a)
                        if a != AccessKind::Close(AccessMode::Write)) =>
                {
                    return
                }
                Ok(ev) => Msg::Changed(ev.paths),
                Err(e) => {
                    warn!(error = %e, "folder change events reported an error; rescanning");
                    Msg::Rescan
                }
            };
            let _ = tx.send(msg);
        };
        let watcher = notify::recommended_watcher(handler).and_then(|mut w| {
            w.watch(&self.dir, notify::RecursiveMode::NonRecursive)
                .map(|()| w)
        });
        match watcher {
            Ok(w) => self.native = Some(w),
            Err(e) => warn!(dir = %self.dir.display(), error = %e,
                "no change events for this folder; relying on rescans every {:?}", self.opts.rescan),
        }
    }

    fn on_changed(&mut self, path: &Path) {
        if path == self.dir {
            // The folder itself was deleted, moved or changed: look at it now.
            let _ = self.control.send(Msg::Rescan);
            return;
        }
        if path.parent() != Some(self.dir.as_path()) {
            return;
        }
        if let Some(name) = path.file_name() {
            if !is_ignored_name(name) {
                let name = name.to_owned();
                self.observe(&name);
            }
        }
    }

    /// Lists the folder: new files are tracked, vanished ones forgotten, settled ones reported.
    fn rescan(&mut self) {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) => return self.unavailable(e),
        };
        if !self.available {
            self.available = true;
            info!(dir = %self.dir.display(), "the folder is readable again");
            let _ = self.out.send(WatchEvent::Resumed);
            self.connect_events();
        } else if self.opts.native_events {
            let now = std::fs::metadata(&self.dir).ok().and_then(|m| identity(&m));
            if now != self.dir_identity {
                self.connect_events();
            }
        }
        let mut present = HashSet::new();
        let mut complete = true;
        for entry in entries {
            match entry {
                Ok(entry) => {
                    let name = entry.file_name();
                    if !is_ignored_name(&name) {
                        self.observe(&name);
                        present.insert(name);
                    }
                }
                // A listing cut short (a network hiccup) must not make us forget files: they would
                // be reported again once they come back.
                Err(_) => complete = false,
            }
        }
        if complete {
            self.files.retain(|name, _| present.contains(name));
        }
    }

    fn unavailable(&mut self, e: io::Error) {
        if self.available {
            self.available = false;
            self.native = None;
            let error = WatchError::from_io(&self.dir, e);
            warn!(error = %error, "the watched folder is unavailable; retrying");
            let _ = self.out.send(WatchEvent::Unavailable(error));
        }
    }

    /// Looks at one file and updates what we know; reports it if it has just settled.
    fn observe(&mut self, name: &OsStr) {
        let path = self.dir.join(name);
        let snapshot = match snapshot(&path) {
            Ok(Some(s)) => s,
            Ok(None) => {
                self.files.remove(name);
                return;
            }
            // Not "gone": keep what we knew, so an unchanged file is not reported twice.
            Err(e) => {
                debug!(path = %path.display(), error = %e, "cannot look at the file now");
                return;
            }
        };
        let now = Instant::now();
        let settle = self.settle_for(&snapshot);
        match self.files.get_mut(name) {
            Some(t) if t.seen == snapshot => {
                if !t.reported && now.duration_since(t.since) >= settle {
                    t.reported = true;
                    debug!(path = %path.display(), size = snapshot.len, "file is ready");
                    let _ = self.out.send(WatchEvent::Ready(path));
                }
            }
            Some(t) => {
                *t = Tracked {
                    seen: snapshot,
                    since: now,
                    reported: false,
                }
            }
            None => {
                self.files.insert(
                    name.to_owned(),
                    Tracked {
                        seen: snapshot,
                        since: now,
                        reported: false,
                    },
                );
            }
        }
    }

    fn settle_for(&self, s: &Snapshot) -> Duration {
        if s.len == 0 {
            self.opts.empty_settle.max(self.opts.settle)
        } else {
            self.opts.settle
        }
    }

    /// When the next unreported file should be looked at again.
    fn next_due(&self) -> Option<Instant> {
        self.files
            .values()
            .filter(|t| !t.reported)
            .map(|t| t.since + self.settle_for(&t.seen))
            .min()
    }

    /// Looks again at the files whose settle interval has passed.
    fn check_due(&mut self) {
        let now = Instant::now();
        let due: Vec<OsString> = self
            .files
            .iter()
            .filter(|(_, t)| !t.reported && t.since + self.settle_for(&t.seen) <= now)
            .map(|(name, _)| name.clone())
            .collect();
        for name in due {
            self.observe(&name);
        }
    }
}

/// `Ok(None)`: not there, or not a regular file (folders are never candidates).
fn snapshot(path: &Path) -> io::Result<Option<Snapshot>> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(Some(Snapshot {
            len: m.len(),
            modified: m.modified().ok(),
            identity: identity(&m),
        })),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(unix)]
fn identity(m: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn identity(_: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn quick(native_events: bool) -> WatchOptions {
        WatchOptions {
            settle: Duration::from_millis(300),
            empty_settle: Duration::from_millis(300),
            rescan: Duration::from_millis(500),
            native_events,
        }
    }

    /// The next event within `secs`, or `None`.
    async fn next_within(w: &mut FolderWatcher, secs: u64) -> Option<WatchEvent> {
        tokio::time::timeout(Duration::from_secs(secs), w.next())
            .await
            .ok()
            .flatten()
    }

    fn ready_name(event: Option<WatchEvent>) -> String {
        match event {
            Some(WatchEvent::Ready(p)) => p.file_name().unwrap().to_string_lossy().into_owned(),
            other => panic!("expected a ready file, got {other:?}"),
        }
    }

    #[test]
    fn work_in_progress_and_hidden_names_are_ignored() {
        for name in [
            ".hidden.pdf",
            ".~lock.x#",
            "x.pdf.part",
            "x.PDF.PART",
            "x.pdf.partial",
            "x.pdf.crdownload",
            "x.pdf.download",
            "x.tmp",
            "~$contract.docx",
            "Thumbs.db",
            "desktop.ini",
        ] {
            assert!(is_ignored_name(OsStr::new(name)), "{name} is ignored");
        }
        for name in [
            "scan.pdf",
            "x.part.pdf",
            "partial.png",
            "tmp.tiff",
            "~scan.jpg",
        ] {
            assert!(!is_ignored_name(OsStr::new(name)), "{name} is a candidate");
        }
    }

    #[tokio::test]
    async fn a_file_present_before_start_is_reported_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("old.png"), b"bytes").unwrap();
        std::fs::create_dir(dir.path().join("processed")).unwrap();
        std::fs::write(dir.path().join("processed").join("done.png"), b"x").unwrap();
        std::fs::write(dir.path().join(".hidden"), b"x").unwrap();
        let mut w = FolderWatcher::start(dir.path(), quick(true)).unwrap();
        assert_eq!(ready_name(next_within(&mut w, 30).await), "old.png");
        // Several rescans later, nothing more: not the same file again, not the subfolder's.
        assert!(next_within(&mut w, 2).await.is_none());
    }

    #[tokio::test]
    async fn a_growing_file_is_reported_only_after_it_stops_growing() {
        for native_events in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            // Writes 100 ms apart against a settle of 1 s: only a stall of most of a second
            // between two writes could make a half-written file look settled.
            let opts = WatchOptions {
                settle: Duration::from_secs(1),
                ..quick(native_events)
            };
            let mut w = FolderWatcher::start(dir.path(), opts).unwrap();
            let path = dir.path().join("slow.pdf");
            let mut file = std::fs::File::create(&path).unwrap();
            for _ in 0..12 {
                file.write_all(&[7u8; 512]).unwrap();
                file.sync_all().unwrap();
                tokio::time::sleep(Duration::from_millis(100)).await;
                assert!(
                    w.events.try_recv().is_err(),
                    "nothing is ready while it grows (native_events {native_events})"
                );
            }
            drop(file);
            let written = Instant::now();
            assert_eq!(ready_name(next_within(&mut w, 30).await), "slow.pdf");
            assert!(written.elapsed() >= Duration::from_millis(500));
        }
    }

    #[tokio::test]
    async fn rescans_alone_find_new_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = FolderWatcher::start(dir.path(), quick(false)).unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        std::fs::write(dir.path().join("new.tiff"), b"bytes").unwrap();
        assert_eq!(ready_name(next_within(&mut w, 30).await), "new.tiff");
    }

    #[tokio::test]
    async fn a_renamed_temp_file_becomes_a_candidate() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = FolderWatcher::start(dir.path(), quick(true)).unwrap();
        let part = dir.path().join("x.pdf.part");
        std::fs::write(&part, b"bytes").unwrap();
        assert!(
            next_within(&mut w, 2).await.is_none(),
            "a .part file is ignored"
        );
        std::fs::rename(&part, dir.path().join("x.pdf")).unwrap();
        assert_eq!(ready_name(next_within(&mut w, 30).await), "x.pdf");
    }

    #[tokio::test]
    async fn a_deleted_folder_is_reported_and_its_return_noticed() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("inbox");
        std::fs::create_dir(&dir).unwrap();
        let mut w = FolderWatcher::start(&dir, quick(true)).unwrap();
        std::fs::remove_dir(&dir).unwrap();
        match next_within(&mut w, 30).await {
            Some(WatchEvent::Unavailable(WatchError::NotFound(p))) => assert!(p.ends_with("inbox")),
            other => panic!("expected the folder to be reported missing, got {other:?}"),
        }
        std::fs::create_dir(&dir).unwrap();
        assert!(matches!(
            next_within(&mut w, 30).await,
            Some(WatchEvent::Resumed)
        ));
        std::fs::write(dir.join("back.png"), b"bytes").unwrap();
        assert_eq!(ready_name(next_within(&mut w, 30).await), "back.png");
    }

    #[test]
    fn a_missing_folder_cannot_be_watched() {
        let root = tempfile::tempdir().unwrap();
        let err = FolderWatcher::start(&root.path().join("nope"), quick(true)).unwrap_err();
        assert!(matches!(err, WatchError::NotFound(_)), "{err:?}");
        let file = root.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        let err = FolderWatcher::start(&file, quick(true)).unwrap_err();
        assert!(matches!(err, WatchError::NotADirectory(_)), "{err:?}");
    }
}
