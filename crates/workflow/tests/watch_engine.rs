//! A hot-folder file that fails for our own reasons (here: PDFium cannot be loaded) stays in the
//! folder instead of being filed under failed/ as if the file were bad. (Own test binary: it breaks
//! PDFium for the whole process.)

use countersign_workflow::watch::{self, FolderEvent, WatchOptions};
use countersign_workflow::{ErrorCode, Workspace};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_fails_for_our_own_reasons_stays_in_the_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let not_a_library = tmp.path().join("libpdfium.so");
    std::fs::write(&not_a_library, b"not a shared library").unwrap();
    std::env::set_var("COUNTERSIGN_PDFIUM", &not_a_library);

    let hot = tmp.path().join("hot");
    std::fs::create_dir_all(&hot).unwrap();
    let pdf = hot.join("contract.pdf");
    std::fs::write(
        &pdf,
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
    )
    .unwrap();
    let ws = Workspace::open(&tmp.path().join("data")).await.unwrap();

    let cancel = CancellationToken::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let opts = WatchOptions {
        settle: Duration::from_millis(300),
        rescan: Duration::from_millis(300),
        ..Default::default()
    };
    let task = tokio::spawn({
        let (ws, hot, cancel) = (ws.clone(), hot.clone(), cancel.clone());
        async move {
            watch::watch_folder(&ws, &hot, opts, &cancel, move |e| {
                let _ = tx.send(e);
            })
            .await
        }
    });
    let outcome = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Some(FolderEvent::File(f)) = rx.recv().await {
                return f;
            }
        }
    })
    .await
    .expect("an outcome for the file");
    assert_eq!(
        outcome.imported.unwrap_err().code,
        ErrorCode::EngineUnavailable
    );
    assert_eq!(
        outcome.moved_to.unwrap_err().code,
        ErrorCode::EngineUnavailable
    );
    assert!(pdf.exists(), "the file stays in the folder");
    assert!(!hot.join("failed").exists(), "nothing is filed as refused");
    cancel.cancel();
    let _ = task.await;
}
