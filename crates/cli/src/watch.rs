//! `countersign watch DIR`: one hot folder in the foreground until Ctrl-C, with the processing
//! worker alongside so the files taken in are processed too. One line per file: the document
//! record, or `{"error": {"code", "message", "file"}}` (with `--json`, JSON Lines on stdout).

use crate::Output;
use countersign_workflow::watch::{self, FolderEvent, WatchOptions};
use countersign_workflow::worker::{self, Until, WorkerOptions};
use countersign_workflow::{ApiError, Error, Workspace};
use std::path::Path;

pub async fn watch_dir(ws: &Workspace, dir: &Path, out: &Output) -> Result<(), Error> {
    let cancel = worker::Cancel::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        on_signal.cancel();
    });
    let worker = tokio::spawn({
        let (ws, cancel) = (ws.clone(), cancel.clone());
        async move { worker::run(&ws, &WorkerOptions::new(Until::Cancelled), &cancel).await }
    });
    if !out.json {
        eprintln!(
            "watching {}; files go to processed/ or failed/ inside it (Ctrl-C to stop)",
            dir.display()
        );
    }
    let watched = watch::watch_folder(ws, dir, WatchOptions::default(), &cancel, |event| {
        print_event(out, event)
    })
    .await;
    // The worker stops with the watch, whether it ended by Ctrl-C or could not start.
    cancel.cancel();
    let worked = worker
        .await
        .map_err(|e| Error::internal("running the worker", e))?;
    watched?;
    worked.map(|_| ())
}

fn print_event(out: &Output, event: FolderEvent) {
    match event {
        FolderEvent::File(f) => {
            let f = *f;
            match f.imported {
                Ok(record) => out.record(&record),
                Err(e) => print_error(out, "file", &f.file, e),
            }
            if let Err(e) = f.moved_to {
                print_error(out, "file", &f.file, e);
            }
        }
        FolderEvent::Unavailable { dir, error } => print_error(out, "folder", &dir, error),
        FolderEvent::Resumed { dir } => eprintln!("watching {} again", dir.display()),
    }
}

/// `{"error": {"code", "message", "<key>": path}}`, or a line on stderr for people. Unlike other
/// commands' errors these do not make the exit code non-zero: the watch goes on.
fn print_error(out: &Output, key: &str, path: &Path, e: Error) {
    let api = ApiError::from(e);
    if out.json {
        let mut error = serde_json::to_value(&api).expect("errors serialize");
        error[key] = path.to_string_lossy().into();
        out.line(&serde_json::json!({ "error": error }));
    } else {
        eprintln!(
            "error[{}]: {}: {}",
            api.code.as_str(),
            path.display(),
            api.message
        );
    }
}
