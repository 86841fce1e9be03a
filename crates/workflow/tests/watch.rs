//! Hot folders against real files, real change events and a real store: a file that settles in a
//! watched folder becomes exactly one document and leaves the folder — into `processed/`, or into
//! `failed/` with a reason — including when it is copied in slowly.
//!
//! Waits are generous (30 s) and end as soon as the condition holds, so a loaded machine is slow
//! rather than flaky.

use countersign_core::{DocumentRecord, Source};
use countersign_workflow::watch::{self, FileOutcome, FolderEvent, WatchOptions};
use countersign_workflow::{Error, ErrorCode, Workspace};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const PATIENCE: Duration = Duration::from_secs(30);

/// Short intervals so the tests are quick; still several times what one observation takes.
fn quick() -> WatchOptions {
    WatchOptions {
        settle: Duration::from_millis(300),
        empty_settle: Duration::from_millis(300),
        rescan: Duration::from_secs(1),
        native_events: true,
    }
}

/// A data dir and a hot folder in a tempdir.
struct Setup {
    root: tempfile::TempDir,
    ws: Workspace,
    dir: PathBuf,
}

impl Setup {
    async fn new() -> Setup {
        let root = tempfile::tempdir().unwrap();
        let ws = Workspace::open(&root.path().join("data")).await.unwrap();
        let dir = root.path().join("hot");
        std::fs::create_dir(&dir).unwrap();
        Setup { root, ws, dir }
    }

    fn drop_file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn start(&self, opts: WatchOptions) -> Watching {
        let (tx, events) = mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let (ws, dir, stop) = (self.ws.clone(), self.dir.clone(), cancel.clone());
        let task = tokio::spawn(async move {
            watch::watch_folder(&ws, &dir, opts, &stop, move |e| {
                let _ = tx.send(e);
            })
            .await
        });
        Watching {
            events,
            cancel,
            task,
        }
    }

    async fn documents(&self) -> Vec<DocumentRecord> {
        countersign_workflow::list(&self.ws, None).await.unwrap()
    }

    /// The names of the files directly in `sub` of the hot folder ("" for the folder itself).
    fn names_in(&self, sub: &str) -> Vec<String> {
        let mut names: Vec<String> = match std::fs::read_dir(self.dir.join(sub)) {
            Ok(entries) => entries
                .map(|e| e.unwrap())
                .filter(|e| e.file_type().unwrap().is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => vec![],
        };
        names.sort();
        names
    }
}

struct Watching {
    events: mpsc::UnboundedReceiver<FolderEvent>,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), Error>>,
}

impl Watching {
    /// The next file outcome; panics after [`PATIENCE`].
    async fn next_file(&mut self) -> FileOutcome {
        match tokio::time::timeout(PATIENCE, self.events.recv()).await {
            Ok(Some(FolderEvent::File(f))) => *f,
            Ok(Some(other)) => panic!("unexpected folder event {other:?}"),
            Ok(None) => panic!("the watch ended: {:?}", self.stop_now().await),
            Err(_) => panic!("no file was taken within {PATIENCE:?}"),
        }
    }

    /// Asserts that nothing more happens for a while (several settle and rescan intervals).
    async fn assert_quiet(&mut self) {
        if let Ok(event) =
            tokio::time::timeout(Duration::from_millis(2500), self.events.recv()).await
        {
            panic!("expected nothing more, got {event:?}");
        }
    }

    async fn stop_now(&mut self) -> Result<(), Error> {
        self.cancel.cancel();
        (&mut self.task).await.unwrap()
    }

    /// Stops the watch; it must end cleanly.
    async fn stop(mut self) {
        tokio::time::timeout(PATIENCE, self.stop_now())
            .await
            .expect("the watch stops when cancelled")
            .expect("the watch ends without error");
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_file_becomes_one_document_and_moves_to_processed() {
    let s = Setup::new().await;
    let mut w = s.start(quick());
    let bytes = png(64, 48, 1);
    s.drop_file("scan.png", &bytes);

    let taken = w.next_file().await;
    let record = taken.imported.expect("imported");
    assert_eq!(record.file_name, "scan.png");
    assert_eq!(record.source, Source::Folder);
    assert_eq!(record.checksum, sha256_hex(&bytes));
    let moved_to = taken.moved_to.expect("moved");
    assert_eq!(
        moved_to,
        s.dir.canonicalize().unwrap().join("processed/scan.png")
    );
    assert_eq!(std::fs::read(&moved_to).unwrap(), bytes);

    w.assert_quiet().await;
    let docs = s.documents().await;
    assert_eq!(docs.len(), 1, "one document, not two");
    assert_eq!(docs[0].document_id, record.document_id);
    assert_eq!(
        s.names_in(""),
        Vec::<String>::new(),
        "the folder is empty again"
    );
    assert_eq!(s.names_in("processed"), ["scan.png"]);
    assert_eq!(s.names_in("failed"), Vec::<String>::new());
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_copied_in_slowly_is_imported_once_and_whole() {
    let s = Setup::new().await;
    // Chunks 100 ms apart against a settle of 1 s: a copy that merely pauses is not "done".
    let mut w = s.start(WatchOptions {
        settle: Duration::from_secs(1),
        ..quick()
    });
    let bytes = png(200, 150, 2);
    let path = s.dir.join("slow.png");
    let writer = {
        let (bytes, path) = (bytes.clone(), path.clone());
        tokio::task::spawn_blocking(move || {
            let mut file = std::fs::File::create(&path).unwrap();
            for chunk in bytes.chunks(bytes.len().div_ceil(30)) {
                file.write_all(chunk).unwrap();
                file.sync_all().unwrap();
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };

    let taken = w.next_file().await;
    writer.await.unwrap();
    let record = taken.imported.expect("imported");
    assert_eq!(
        record.checksum,
        sha256_hex(&bytes),
        "the whole file, not a prefix"
    );
    assert_eq!(std::fs::read(taken.moved_to.unwrap()).unwrap(), bytes);

    w.assert_quiet().await;
    let docs = s.documents().await;
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].checksum, sha256_hex(&bytes));
    assert_eq!(s.names_in("processed"), ["slow.png"]);
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_bytes_under_another_name_stay_one_document() {
    let s = Setup::new().await;
    let mut w = s.start(quick());
    let bytes = png(64, 48, 3);
    s.drop_file("first.png", &bytes);
    let first = w.next_file().await.imported.expect("imported");

    s.drop_file("again.png", &bytes);
    let second = w.next_file().await;
    let err = second
        .imported
        .expect_err("the same bytes are not a second document");
    assert_eq!(err.code, ErrorCode::Duplicate);
    assert_eq!(err.document_id, Some(first.document_id));
    assert_eq!(file_name(&second.moved_to.unwrap()), "again.png");

    w.assert_quiet().await;
    assert_eq!(s.documents().await.len(), 1);
    assert_eq!(s.names_in("processed"), ["again.png", "first.png"]);
    assert_eq!(s.names_in(""), Vec::<String>::new());
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsupported_file_goes_to_failed_with_its_reason() {
    let s = Setup::new().await;
    let mut w = s.start(quick());
    s.drop_file("notes.txt", b"a text file is not a document\n");

    let taken = w.next_file().await;
    assert_eq!(taken.imported.unwrap_err().code, ErrorCode::UnsupportedType);
    let moved_to = taken.moved_to.expect("moved");
    assert_eq!(
        moved_to,
        s.dir.canonicalize().unwrap().join("failed/notes.txt")
    );

    let reason: serde_json::Value = serde_json::from_slice(
        &std::fs::read(s.dir.join("failed/notes.txt.reason.json")).expect("a reason file"),
    )
    .expect("the reason is JSON");
    assert_eq!(reason["code"], "unsupported_type");
    assert!(
        reason["message"].as_str().unwrap().starts_with("Text"),
        "{reason}"
    );
    let at = reason["at"].as_str().expect("at");
    chrono::DateTime::parse_from_rfc3339(at).expect("at is an RFC 3339 time");

    w.assert_quiet().await;
    assert!(s.documents().await.is_empty());
    assert_eq!(s.names_in(""), Vec::<String>::new());
    assert_eq!(s.names_in("failed"), ["notes.txt", "notes.txt.reason.json"]);
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_present_before_watching_starts_is_picked_up() {
    let s = Setup::new().await;
    let bytes = png(64, 48, 4);
    s.drop_file("waiting.png", &bytes);
    let mut w = s.start(quick());

    let record = w.next_file().await.imported.expect("imported");
    assert_eq!(record.checksum, sha256_hex(&bytes));
    w.assert_quiet().await;
    assert_eq!(s.documents().await.len(), 1);
    assert_eq!(s.names_in("processed"), ["waiting.png"]);
    w.stop().await;
}

/// The crash window: the import committed, the move did not happen. On the next start the file
/// is refused as a duplicate and moved; there is still one document.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_imported_before_a_crash_is_moved_on_restart() {
    let s = Setup::new().await;
    let bytes = png(64, 48, 5);
    let path = s.drop_file("crashed.png", &bytes);
    let before = countersign_workflow::ingest_path(&s.ws, &path, Source::Folder, "test")
        .await
        .unwrap()
        .record;

    let mut w = s.start(quick());
    let taken = w.next_file().await;
    assert_eq!(
        taken.imported.unwrap_err().document_id,
        Some(before.document_id)
    );
    assert_eq!(file_name(&taken.moved_to.unwrap()), "crashed.png");
    assert_eq!(s.documents().await.len(), 1);
    assert_eq!(s.names_in("processed"), ["crashed.png"]);
    assert_eq!(s.names_in(""), Vec::<String>::new());
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_temp_named_file_waits_until_it_is_renamed() {
    let s = Setup::new().await;
    let mut w = s.start(quick());
    let bytes = png(64, 48, 6);
    let part = s.drop_file("x.png.part", &bytes);
    s.drop_file(".hidden.png", &png(64, 48, 7));

    w.assert_quiet().await;
    assert!(s.documents().await.is_empty());
    assert_eq!(s.names_in(""), [".hidden.png", "x.png.part"]);

    std::fs::rename(&part, s.dir.join("x.png")).unwrap();
    let record = w.next_file().await.imported.expect("imported once renamed");
    assert_eq!(record.file_name, "x.png");
    assert_eq!(record.checksum, sha256_hex(&bytes));
    w.assert_quiet().await;
    assert_eq!(s.documents().await.len(), 1);
    assert_eq!(s.names_in(""), [".hidden.png"], "dotfiles are left alone");
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_already_in_processed_gets_a_suffix_instead_of_being_overwritten() {
    let s = Setup::new().await;
    let mut w = s.start(quick());
    let (one, two) = (png(64, 48, 8), png(64, 48, 9));
    s.drop_file("a.png", &one);
    w.next_file().await.imported.expect("imported");
    s.drop_file("a.png", &two);
    let taken = w.next_file().await;
    taken.imported.expect("different bytes: a second document");

    assert_eq!(file_name(&taken.moved_to.unwrap()), "a-1.png");
    assert_eq!(std::fs::read(s.dir.join("processed/a.png")).unwrap(), one);
    assert_eq!(std::fs::read(s.dir.join("processed/a-1.png")).unwrap(), two);
    assert_eq!(s.documents().await.len(), 2);
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_folder_is_an_error_not_a_silent_wait() {
    let s = Setup::new().await;
    let err = watch::watch_folder(
        &s.ws,
        &s.root.path().join("nope"),
        quick(),
        &CancellationToken::new(),
        |_| {},
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    assert!(err.message.contains("nope"), "{}", err.message);
}

/// `watch_folders` in countersign.toml: what the desktop app watches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_folders_are_watched() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let hot = root.path().join("configured");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir(&hot).unwrap();
    std::fs::write(
        data.join(countersign_workflow::CONFIG_FILE),
        format!("watch_folders = [{:?}]\n", hot.to_str().unwrap()),
    )
    .unwrap();
    let ws = Workspace::open(&data).await.unwrap();
    assert_eq!(ws.config().watch_folders, std::slice::from_ref(&hot));

    let cancel = CancellationToken::new();
    let task = tokio::spawn({
        let (ws, cancel) = (ws.clone(), cancel.clone());
        async move { watch::watch_configured(&ws, cancel).await }
    });
    let bytes = png(64, 48, 10);
    std::fs::write(hot.join("configured.png"), &bytes).unwrap();

    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !hot.join("processed/configured.png").exists() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the configured folder was not watched"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let docs = countersign_workflow::list(&ws, None).await.unwrap();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].checksum, sha256_hex(&bytes));
    cancel.cancel();
    tokio::time::timeout(PATIENCE, task)
        .await
        .expect("stops when cancelled")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folders_added_in_the_app_are_watched_at_once_and_kept_in_the_config_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let hot = tmp.path().join("added");
    std::fs::create_dir_all(&hot).unwrap();
    let ws = Workspace::open(&data_dir).await.unwrap();
    let cancel = CancellationToken::new();
    let folders = watch::HotFolders::start(&ws, cancel.clone());
    assert!(folders.list().is_empty());

    assert_eq!(folders.add(&hot).unwrap(), vec![hot.clone()]);
    // Kept in countersign.toml, comments and all, and read back by a fresh load.
    let text = std::fs::read_to_string(data_dir.join("countersign.toml")).unwrap();
    assert!(
        text.contains("# Countersign settings"),
        "comments kept:\n{text}"
    );
    assert_eq!(
        countersign_workflow::Config::load(&data_dir)
            .unwrap()
            .watch_folders,
        vec![hot.clone()]
    );
    // Refused: a relative path, a folder that does not exist.
    assert_eq!(
        folders.add(Path::new("relative/dir")).unwrap_err().code,
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        folders.add(&tmp.path().join("nope")).unwrap_err().code,
        ErrorCode::NotFound
    );

    let bytes = png(40, 30, 77);
    std::fs::write(hot.join("added.png"), &bytes).unwrap();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !hot.join("processed/added.png").exists() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the added folder was not watched"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Removed: out of the file, and no longer watched.
    assert!(folders.remove(&hot).unwrap().is_empty());
    assert!(countersign_workflow::Config::load(&data_dir)
        .unwrap()
        .watch_folders
        .is_empty());
    std::fs::write(hot.join("after-removal.png"), png(40, 30, 78)).unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        hot.join("after-removal.png").exists(),
        "a removed folder is left alone"
    );
    assert_eq!(
        countersign_workflow::list(&ws, None).await.unwrap().len(),
        1
    );
    cancel.cancel();
}

/// A valid 8-bit greyscale PNG whose pixels depend on `seed` (so each seed has its own checksum),
/// stored uncompressed so its size is predictable (the slow-copy test writes it in chunks).
fn png(width: u32, height: u32, seed: u8) -> Vec<u8> {
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    let img = image::GrayImage::from_fn(width, height, |x, y| {
        image::Luma([(x as u8).wrapping_mul(7) ^ (y as u8).wrapping_mul(13) ^ seed])
    });
    let mut out = Vec::new();
    let encoder = PngEncoder::new_with_quality(
        &mut out,
        CompressionType::Uncompressed,
        FilterType::NoFilter,
    );
    img.write_with_encoder(encoder).unwrap();
    out
}
